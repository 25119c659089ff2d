import { describe, expect, it } from 'vitest';
import { ElfParseError, ElfType, MAX_PROGRAM_HEADERS, PT, parseElf64 } from '../src/index';
import { ELF_FIXTURES, loadElfFixture, loadReadelf } from './elf-fixtures';

const PH0 = 64; // e_phoff of every gcc-built fixture
const ph = (i: number): number => PH0 + 56 * i;

/** A copy of a fixture with some little-endian fields changed: [offset, value, width]. */
function mutated(name: string, ...edits: [number, number, 1 | 2 | 4 | 8][]): Uint8Array {
  const bytes = loadElfFixture(name).slice();
  const view = new DataView(bytes.buffer);
  for (const [at, value, width] of edits) {
    if (width === 1) view.setUint8(at, value);
    else if (width === 2) view.setUint16(at, value, true);
    else if (width === 4) view.setUint32(at, value, true);
    else {
      view.setUint32(at, value % 0x1_0000_0000, true);
      view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
    }
  }
  return bytes;
}

function parseError(bytes: Uint8Array): ElfParseError {
  try {
    parseElf64(bytes);
  } catch (e) {
    if (e instanceof ElfParseError) return e;
    throw e;
  }
  throw new Error('expected an ElfParseError');
}

describe('parseElf64', () => {
  for (const name of ELF_FIXTURES) {
    it(`reads the program headers of ${name} exactly as readelf -lW lists them`, () => {
      const elf = parseElf64(loadElfFixture(name));
      const listing = loadReadelf(name);
      expect(elf.type).toBe(listing.fileType === 'EXEC' ? ElfType.Exec : ElfType.Dyn);
      expect(elf.positionIndependent).toBe(listing.fileType === 'DYN');
      expect(elf.entry).toBe(listing.entry);
      expect(elf.phnum).toBe(listing.phnum);
      expect(elf.phoff).toBe(listing.phoff);
      expect(elf.interpreter).toBe(listing.interpreter);
      expect(elf.programHeaders.map(({ type, offset, vaddr, paddr, fileSizeBytes, memSizeBytes, read, write, execute, alignBytes }) => ({
        type, offset, vaddr, paddr, fileSizeBytes, memSizeBytes, read, write, execute, alignBytes,
      }))).toEqual(listing.headers.map(({ typeName: _, ...h }) => h));
      expect(elf.loadSegments.map((s) => s.index)).toEqual(
        listing.headers.flatMap((h, i) => (h.type === PT.Load ? [i] : [])),
      );
      const stack = listing.headers.find((h) => h.type === PT.GnuStack);
      expect(elf.hasGnuStack).toBe(stack !== undefined);
      expect(elf.stackExecutable).toBe(stack?.execute ?? false);
      expect(elf.tls?.memSizeBytes).toBe(listing.headers.find((h) => h.type === PT.Tls)?.memSizeBytes);
    });
  }

  it('reports the dynamic linker a dynamically linked PIE asks for', () => {
    const elf = parseElf64(loadElfFixture('hello-dynamic'));
    expect(elf.interpreter).toBe('/lib64/ld-linux-x86-64.so.2');
    expect(elf.positionIndependent).toBe(true);
    expect(elf.dynamic).not.toBeNull();
  });

  it('notes the TLS template of busybox and that its stack is NX', () => {
    const elf = parseElf64(loadElfFixture('busybox-static'));
    expect(elf.tls).toMatchObject({ vaddr: 0x5db708, fileSizeBytes: 0x28, memSizeBytes: 0x8a });
    expect(elf.stackExecutable).toBe(false);
    expect(elf.interpreter).toBeNull();
  });

  it('sees an executable stack when PT_GNU_STACK carries PF_X', () => {
    // hello-static's header 3 is GNU_STACK RW; make it RWX.
    const elf = parseElf64(mutated('hello-static', [ph(3) + 4, 7, 4]));
    expect(elf.stackExecutable).toBe(true);
  });

  it('gives an NX stack to an x86_64 program without PT_GNU_STACK (Linux >= 5.8)', () => {
    const elf = parseElf64(mutated('hello-static', [ph(3), PT.Null, 4]));
    expect(elf.hasGnuStack).toBe(false);
    expect(elf.stackExecutable).toBe(false);
  });

  it('resolves PN_XNUM through sh_info of section header 0', () => {
    const original = loadElfFixture('hello-static');
    const shoff = new DataView(original.buffer).getUint32(40, true);
    const elf = parseElf64(mutated('hello-static', [56, 0xffff, 2], [shoff + 44, 4, 4]));
    expect(elf.phnum).toBe(4);
    expect(elf.programHeaders).toEqual(parseElf64(original).programHeaders);
  });

  it('does not copy the file: the view keeps the same bytes', () => {
    const bytes = loadElfFixture('hello-static');
    expect(parseElf64(bytes).bytes).toBe(bytes);
  });

  it('reads a file that is a view into a larger buffer at an odd offset', () => {
    const file = loadElfFixture('hello-static');
    const big = new Uint8Array(file.length + 7);
    big.set(file, 3);
    const elf = parseElf64(big.subarray(3, 3 + file.length));
    expect(elf.entry).toBe(0x401000);
    expect(elf.loadSegments).toHaveLength(3);
  });
});

describe('ElfParseError', () => {
  const bad: [string, () => Uint8Array, number, RegExp][] = [
    ['an empty file', () => new Uint8Array(0), 0, /truncated header/],
    ['a truncated header', () => loadElfFixture('hello-static').slice(0, 40), 40, /truncated header: the file is 40 bytes/],
    ['bad magic', () => mutated('hello-static', [1, 0x41, 1]), 0, /bad magic/],
    ['bad magic in a short file', () => new TextEncoder().encode('#!/bin/sh\n'), 0, /bad magic/],
    ['a 32-bit file', () => mutated('hello-static', [4, 1, 1]), 4, /ELFCLASS32/],
    ['a big-endian file', () => mutated('hello-static', [5, 2, 1]), 5, /big-endian/],
    ['a bad EI_VERSION', () => mutated('hello-static', [6, 0, 1]), 6, /EI_VERSION/],
    ['a relocatable object', () => mutated('hello-static', [16, 1, 2]), 16, /ET_REL/],
    ['a core dump', () => mutated('hello-static', [16, 4, 2]), 16, /ET_CORE/],
    ['an i386 file', () => mutated('hello-static', [18, 3, 2]), 18, /e_machine 3 is not x86_64/],
    ['a bad e_version', () => mutated('hello-static', [20, 2, 4]), 20, /e_version/],
    ['a non-canonical entry point', () => mutated('hello-static', [28, 0x0001_0000, 4]), 24, /entry point 0x0001_0000_0040_1000 is not canonical/],
    ['a kernel-half entry point', () => mutated('hello-static', [28, 0xffff_8000, 4]), 24, /kernel half/],
    ['a phentsize mismatch', () => mutated('hello-static', [54, 32, 2]), 54, /e_phentsize 32/],
    ['a program header table past the end', () => mutated('hello-static', [32, 8400, 8]), 32, /program header table .* outside/],
    ['an e_phoff of 2^53 or more', () => mutated('hello-static', [36, 0x0020_0000, 4]), 32, /2\^53 or more/],
    ['no program headers', () => mutated('hello-static', [56, 0, 2]), 56, /no program headers/],
    ['too many program headers', () => mutated('hello-static', [56, MAX_PROGRAM_HEADERS + 1, 2]), 56, /more than the 1170/],
    ['PN_XNUM without section headers', () => mutated('hello-static', [56, 0xffff, 2], [40, 0, 8]), 56, /PN_XNUM/],
    ['a PT_LOAD file range past the end', () => mutated('hello-static', [ph(1) + 32, 0x2000, 8], [ph(1) + 40, 0x2000, 8]), ph(1) + 8, /PT_LOAD 1 file range .* outside/],
    ['p_filesz > p_memsz', () => mutated('hello-static', [ph(1) + 40, 0x10, 8]), ph(1) + 32, /p_filesz 0x25 exceeds p_memsz 0x10/],
    ['a p_filesz of 2^53 or more', () => mutated('hello-static', [ph(1) + 36, 0x0020_0000, 4]), ph(1) + 32, /p_filesz of program header 1 0x0020_0000_0000_0025 is 2\^53/],
    ['a segment past the end of user space', () => mutated('hello-static', [ph(2) + 40, 0x8000_0000_0000 - 0x402000 + 1, 8]), ph(2) + 40, /runs past the end of user space/],
    ['a non-canonical p_vaddr', () => mutated('hello-static', [ph(2) + 20, 0x8000, 4]), ph(2) + 16, /p_vaddr of PT_LOAD 2 0x0000_8000_0040_2000 is not canonical/],
    ['p_offset ≢ p_vaddr mod 4096', () => mutated('hello-static', [ph(1) + 8, 0x1008, 8]), ph(1) + 8, /differ modulo the 4096-byte page/],
    ['overlapping PT_LOAD segments', () => mutated('hello-static', [ph(2) + 8, 0x1010, 8], [ph(2) + 16, 0x401010, 8]), ph(2) + 16, /overlaps PT_LOAD 1/],
    ['PT_LOAD segments sharing a page', () => mutated('hello-static', [ph(2) + 8, 0x1100, 8], [ph(2) + 16, 0x401100, 8]), ph(2) + 16, /shares the page 0x0000_0000_0040_1000 with PT_LOAD 1/],
    ['unsorted PT_LOAD segments', () => mutated('hello-static', [ph(2) + 16, 0x3ff000, 8]), ph(2) + 16, /must be sorted/],
    ['no PT_LOAD at all', () => mutated('hello-static', [ph(0), PT.Note, 4], [ph(1), PT.Note, 4], [ph(2), PT.Note, 4]), 32, /no PT_LOAD/],
    ['a PT_INTERP without its NUL', () => mutated('hello-dynamic', [0x318 + 0x1b, 0x78, 1]), 0x318 + 0x1b, /not NUL-terminated/],
    ['a PT_INTERP past the end', () => mutated('hello-dynamic', [ph(1) + 8, 0x10_0000, 8]), ph(1) + 8, /PT_INTERP .* outside/],
  ];
  for (const [what, make, offset, message] of bad) {
    it(`rejects ${what} with the byte offset ${offset}`, () => {
      const e = parseError(make());
      expect(e.code).toBe('E_ELF_PARSE');
      expect(e.offset).toBe(offset);
      expect(e.message).toMatch(message);
      expect(e.message).toContain(`byte offset 0x${offset.toString(16)}:`);
    });
  }
});
