// The i386 (ELF32) side of the ELF loader: parseElf32 against readelf -lW on real gcc -m32
// binaries, their load plans, the i386 initial stack against a real exec, and the typed errors
// for a file of the other class.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { thrown } from '../../../test-support/thrown';
import {
  AT,
  ElfLoadError,
  ElfParseError,
  ElfType,
  I386_USER_END_VA,
  PT,
  buildInitialStack,
  elfLoadPlan,
  pageContents,
  parseElf32,
  parseElf64,
} from '../src/index';
import { ELF32_FIXTURES, ELF_FIXTURE_DIR, loadElfFixture, loadReadelf } from './elf-fixtures';


/** A copy of a fixture with little-endian u32 fields changed: [offset, value]. */
function mutated(name: string, ...edits: [number, number][]): Uint8Array {
  const bytes = loadElfFixture(name).slice();
  const view = new DataView(bytes.buffer);
  for (const [at, value] of edits) view.setUint32(at, value, true);
  return bytes;
}

const PH0 = 52; // e_phoff of every gcc -m32 fixture: right after the 52-byte Elf32_Ehdr
const ph = (i: number): number => PH0 + 32 * i;

describe('parseElf32', () => {
  for (const name of ELF32_FIXTURES) {
    it(`reads the program headers of ${name} exactly as readelf -lW lists them`, () => {
      const elf = parseElf32(loadElfFixture(name));
      const listing = loadReadelf(name);
      expect(elf.bits).toBe(32);
      expect(elf.type).toBe(listing.fileType === 'EXEC' ? ElfType.Exec : ElfType.Dyn);
      expect(elf.entry).toBe(listing.entry);
      expect([elf.phnum, elf.phoff, elf.phentsize]).toEqual([listing.phnum, listing.phoff, 32]);
      expect(elf.interpreter).toBe(listing.interpreter);
      expect(elf.programHeaders.map(({ type, offset, vaddr, paddr, fileSizeBytes, memSizeBytes, read, write, execute, alignBytes }) => ({
        type, offset, vaddr, paddr, fileSizeBytes, memSizeBytes, read, write, execute, alignBytes,
      }))).toEqual(listing.headers.map(({ typeName: _, ...h }) => h));
      expect(elf.loadSegments.map((s) => s.index)).toEqual(listing.headers.flatMap((h, i) => (h.type === PT.Load ? [i] : [])));
    });
  }

  it('gives an i386 program without PT_GNU_STACK an executable stack (elf_read_implies_exec for ia32)', () => {
    // i386-hello-static's header 3 is GNU_STACK RW: with it the stack is not executable...
    expect(parseElf32(loadElfFixture('i386-hello-static')).stackExecutable).toBe(false);
    // ...turned into PT_NULL, the program gets the ia32 default.
    const elf = parseElf32(mutated('i386-hello-static', [ph(3), PT.Null]));
    expect([elf.hasGnuStack, elf.stackExecutable]).toEqual([false, true]);
  });

  it('refuses an ELF64 file at EI_CLASS (offset 4), and parseElf64 refuses an ELF32 one there too', () => {
    const e32 = thrown(() => parseElf32(loadElfFixture('hello-static')));
    expect(e32).toBeInstanceOf(ElfParseError);
    expect(e32).toMatchObject({ code: 'E_ELF_PARSE', offset: 4 });
    expect((e32 as Error).message).toMatch(/ELFCLASS64: a 64-bit \(x86_64\) file, this loader reads ELF32 \(i386\) only/);
    const e64 = thrown(() => parseElf64(loadElfFixture('i386-hello-static')));
    expect(e64).toMatchObject({ code: 'E_ELF_PARSE', offset: 4 });
    expect((e64 as Error).message).toMatch(/ELFCLASS32: a 32-bit \(i386\) file, this loader reads ELF64 \(x86_64\) only/);
  });

  it('refuses an ELFCLASS32 file whose e_machine is x86_64 (an x32 object) at offset 18', () => {
    const bytes = loadElfFixture('i386-hello-static').slice();
    bytes[18] = 62;
    expect(thrown(() => parseElf32(bytes))).toMatchObject({ code: 'E_ELF_PARSE', offset: 18 });
  });

  const cases: [string, Uint8Array, number, RegExp][] = [
    ['a header cut at 51 bytes', loadElfFixture('i386-hello-static').slice(0, 51), 51, /an ELF32 header needs 52/],
    ['e_phentsize 56 (an ELF64 size)', (() => { const b = loadElfFixture('i386-hello-static').slice(); b[42] = 56; return b; })(), 42, /sizeof\(Elf32_Phdr\) = 32/],
    ['a program header table past the end', mutated('i386-hello-static', [28, 0x10_0000]), 28, /program header table/],
    ['a PT_LOAD file range past the end', mutated('i386-hello-static', [ph(1) + 16, 0x10_0000]), ph(1) + 4, /file range/],
    ['p_filesz above p_memsz', mutated('i386-big-bss', [ph(2) + 16, 0x900_0000], [ph(2) + 4, 0]), ph(2) + 4, /./],
    ['a segment wrapping past 4 GiB', mutated('i386-hello-static', [ph(1) + 8, 0xffff_f000], [ph(1) + 20, 0x2000]), ph(1) + 20, /past the end of the 32-bit address space 0x1_0000_0000|0x0000_0001_0000_0000/],
    ['p_offset and p_vaddr differing mod 4096', mutated('i386-hello-static', [ph(1) + 8, 0x0804_9010]), ph(1) + 4, /differ modulo/],
  ];
  for (const [what, bytes, offset, message] of cases) {
    it(`rejects ${what} with E_ELF_PARSE at byte offset ${offset}`, () => {
      const e = thrown(() => parseElf32(bytes));
      expect(e).toBeInstanceOf(ElfParseError);
      expect((e as ElfParseError).offset).toBe(offset);
      expect((e as Error).message).toMatch(message);
    });
  }
});

describe('elfLoadPlan (i386)', () => {
  it('plans the static executable at its link address 0x0804_8000 with 32-byte program headers', () => {
    const plan = elfLoadPlan(parseElf32(loadElfFixture('i386-hello-static')));
    expect(plan.loadBias).toBe(0);
    expect(plan.phentBytes).toBe(32);
    expect(plan.phdrVa).toBe(0x0804_8034);
    expect(plan.entry).toBe(parseElf32(loadElfFixture('i386-hello-static')).entry);
    expect(plan.segments.map((s) => [s.start, s.permissions.write, s.permissions.execute])).toEqual(
      loadReadelf('i386-hello-static').headers.filter((h) => h.type === PT.Load).map((h) => [h.vaddr & ~0xfff, h.write, h.execute]),
    );
  });

  for (const name of ELF32_FIXTURES) {
    it(`gives ${name} one region per PT_LOAD of readelf -lW, with the bss beyond p_filesz`, () => {
      const plan = elfLoadPlan(parseElf32(loadElfFixture(name)));
      const loads = loadReadelf(name).headers.filter((h) => h.type === PT.Load && h.memSizeBytes > 0);
      expect(plan.segments.map((s) => ({ va: s.file.va - plan.loadBias, offset: s.file.offset, filesz: s.file.sizeBytes, bssEnd: s.bss.end - plan.loadBias, r: s.permissions.read, w: s.permissions.write, x: s.permissions.execute })))
        .toEqual(loads.map((h) => ({ va: h.vaddr, offset: h.offset, filesz: h.fileSizeBytes, bssEnd: h.vaddr + h.memSizeBytes, r: h.read, w: h.write, x: h.execute })));
      for (const s of plan.segments) expect(s.end).toBeLessThanOrEqual(I386_USER_END_VA);
    });
  }

  it('loads an i386 PIE at 0x8000_0000, two thirds of the 3 GiB user space (Linux i386 ELF_ET_DYN_BASE)', () => {
    const plan = elfLoadPlan(parseElf32(loadElfFixture('i386-hello-static-pie')));
    expect(plan.loadBias).toBe(0x8000_0000);
    expect(plan.entry).toBe(0x8000_1000);
    expect(plan.phdrVa).toBe(0x8000_0034);
  });

  it('zeroes the tail of the last file page of the 8 MiB bss segment and serves its zero pages', () => {
    const plan = elfLoadPlan(parseElf32(loadElfFixture('i386-big-bss')));
    const index = plan.segments.findIndex((s) => s.permissions.write);
    const s = plan.segments[index]!;
    expect(s.bss.end - s.bss.start).toBeGreaterThan(8 << 20);
    const out = new Uint8Array(4096).fill(0xaa);
    const fromFile = pageContents(plan, index, s.filePages.start, out);
    expect(fromFile).toBe(s.bss.start - s.filePages.start);
    expect(out.subarray(fromFile).every((b) => b === 0)).toBe(true);
    expect(pageContents(plan, index, s.end - 4096, out)).toBe(0);
  });

  it('refuses a segment above the 3 GiB split with E_ELF_LOAD naming its program header offset', () => {
    // Move i386-hello-static's last segment (rodata) to 0xc000_2000 (p_offset 0x2000 keeps the mod-4096 rule).
    const elf = parseElf32(mutated('i386-hello-static', [ph(2) + 8, 0xc000_2000], [ph(2) + 12, 0xc000_2000]));
    const e = thrown(() => elfLoadPlan(elf));
    expect(e).toBeInstanceOf(ElfLoadError);
    expect(e).toMatchObject({ code: 'E_ELF_LOAD', offset: ph(2) });
    expect((e as Error).message).toMatch(/outside user space \[0x0001_0000, 0xc000_0000\)/);
  });

  it('refuses a user range beyond 4 GiB for an ELF32 program', () => {
    expect(() => elfLoadPlan(parseElf32(loadElfFixture('i386-hello-static')), { userEndVa: 0x1_0000_1000 })).toThrow(/below 2\^32/);
  });
});

describe('buildInitialStack (i386)', () => {
  it('builds byte for byte the stack a real exec built for the i386 program (setarch -R; env -i A=1 BB=22 ./i386-stack-dump x yy zzz)', () => {
    // i386-stack-dump.linux.bin: 4 bytes of the ESP the program started with, then [ESP, top).
    // The kernel that ran it (i386-stack-dump.linux.txt) is x86_64: it runs i386 programs in compat
    // mode with the stack top at 0xffff_e000 (IA32_PAGE_OFFSET) and an 8-byte end marker
    // (sizeof(void *) of the kernel).
    const dump = new Uint8Array(readFileSync(join(ELF_FIXTURE_DIR, 'i386-stack-dump.linux.bin')));
    const dv = new DataView(dump.buffer);
    const u32 = (at: number): number => dv.getUint32(at, true);
    const realEsp = u32(0);
    const real = dump.subarray(4);
    // Only what depends on the machine is taken from the dump: the vDSO, AT_MINSIGSTKSZ, hwcaps,
    // rseq sizes and the random bytes. argc, argv 4 + NULL, envp 2 + NULL: auxv starts at word 9.
    const auxv = new Map<number, number>();
    for (let at = 4 + 4 * 9; u32(at) !== AT.NULL; at += 8) auxv.set(u32(at), u32(at + 4));
    const randomAt = 4 + auxv.get(AT.RANDOM)! - realEsp;
    const stack = buildInitialStack({
      plan: elfLoadPlan(parseElf32(loadElfFixture('i386-stack-dump'))),
      argv: ['./i386-stack-dump', 'x', 'yy', 'zzz'],
      envp: ['A=1', 'BB=22'],
      random: dump.slice(randomAt, randomAt + 16),
      stackTopVa: 0xffff_e000,
      endMarkerBytes: 8,
      archAuxv: [[AT.SYSINFO, auxv.get(AT.SYSINFO)!], [AT.SYSINFO_EHDR, auxv.get(AT.SYSINFO_EHDR)!], [AT.MINSIGSTKSZ, auxv.get(AT.MINSIGSTKSZ)!]],
      hwcap: auxv.get(AT.HWCAP)!,
      hwcap2: auxv.get(AT.HWCAP2) ?? 0,
      extraAuxv: [[AT.RSEQ_FEATURE_SIZE, auxv.get(AT.RSEQ_FEATURE_SIZE)!], [AT.RSEQ_ALIGN, auxv.get(AT.RSEQ_ALIGN)!]],
    });
    expect(stack.top).toBe(0xffff_e000);
    expect(stack.rsp).toBe(realEsp);
    expect(stack.bytes).toEqual(real);
  });

  it('lays out 4-byte words under 0xc000_0000 with a 4-byte end marker and AT_PLATFORM "i686", as a native i386 kernel does', () => {
    const plan = elfLoadPlan(parseElf32(loadElfFixture('i386-hello-static')));
    const random = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    const stack = buildInitialStack({ plan, argv: ['/bin/x', 'a'], envp: ['K=V'], random });
    const T = 0xc000_0000;
    // Worked by hand: T-4 marker; "/bin/x" T-11; "K=V" T-15; "a" T-17; "/bin/x" T-24; round to
    // 16: T-32; "i686" T-37; random T-53; 42 words (argc, 3 argv, 2 envp, 36 auxv) = 168 bytes
    // below T-53 is T-221, rounded down to 16: esp = T-224.
    expect(stack.rsp).toBe(T - 224);
    expect(stack.argvVa).toEqual([T - 24, T - 17]);
    expect(stack.envpVa).toEqual([T - 15]);
    expect([stack.execFnVa, stack.platformVa, stack.randomVa]).toEqual([T - 11, T - 37, T - 53]);
    const view = new DataView(stack.bytes.buffer);
    const words = Array.from({ length: 42 }, (_, i) => view.getUint32(i * 4, true));
    expect(words.slice(0, 6)).toEqual([2, T - 24, T - 17, 0, T - 15, 0]);
    expect(words.slice(6, 18)).toEqual([AT.HWCAP, 0, AT.PAGESZ, 4096, AT.CLKTCK, 100, AT.PHDR, 0x0804_8034, AT.PHENT, 32, AT.PHNUM, plan.phnum]);
    expect(words.slice(-2)).toEqual([AT.NULL, 0]);
    expect(new TextDecoder().decode(stack.bytes.subarray(T - 37 - stack.rsp, T - 33 - stack.rsp))).toBe('i686');
    expect([...stack.bytes.subarray(stack.bytes.length - 4)]).toEqual([0, 0, 0, 0]);
  });

  it('refuses a stack top above 4 GiB and an auxv value wider than 4 bytes for an i386 program', () => {
    const plan = elfLoadPlan(parseElf32(loadElfFixture('i386-hello-static')));
    const random = new Uint8Array(16);
    expect(() => buildInitialStack({ plan, argv: [], random, stackTopVa: 0x1_0000_0010 })).toThrow(/within \(0, 2\^32\]/);
    expect(() => buildInitialStack({ plan, argv: [], random, extraAuxv: [[99, 0x1_0000_0000]] })).toThrow(/does not fit a 4-byte word/);
  });
});
