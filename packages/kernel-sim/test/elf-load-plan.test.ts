import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_USER_END_VA,
  ElfLoadError,
  ElfPageError,
  defaultPieLoadBias,
  elfLoadPlan,
  findSegment,
  pageContents,
  parseElf64,
  type ElfLoadPlan,
} from '../src/index';
import { ELF_FIXTURE_DIR, ELF_FIXTURES, loadElfFixture } from './elf-fixtures';

const plan = (name: string, options = {}): ElfLoadPlan =>
  elfLoadPlan(parseElf64(loadElfFixture(name)), { allowInterpreter: name === 'hello-dynamic', ...options });

function page(p: ElfLoadPlan, segmentIndex: number, pageVa: number): { bytes: Uint8Array; fromFile: number } {
  const bytes = new Uint8Array(4096).fill(0xaa);
  const fromFile = pageContents(p, segmentIndex, pageVa, bytes);
  return { bytes, fromFile };
}

describe('elfLoadPlan', () => {
  it('plans a static executable at its link addresses: R, R-X, R-- pages and AT_PHDR in the first', () => {
    const p = plan('hello-static');
    expect(p.loadBias).toBe(0);
    expect(p.entry).toBe(0x401000);
    expect(p.phdrVa).toBe(0x400040);
    expect(p.phnum).toBe(4);
    expect(p.phentBytes).toBe(56);
    expect(p.stackExecutable).toBe(false);
    expect(p.segments.map((s) => [s.start, s.end, s.permissions])).toEqual([
      [0x400000, 0x401000, { read: true, write: false, execute: false }],
      [0x401000, 0x402000, { read: true, write: false, execute: true }],
      [0x402000, 0x403000, { read: true, write: false, execute: false }],
    ]);
    expect([p.imageStart, p.imageEnd]).toEqual([0x400000, 0x403000]);
  });

  it('maps busybox as Linux did: the same file pages at the same offsets, and the same bss pages', () => {
    // busybox-static.linux-maps.txt: /proc/PID/maps of the running fixture (see build.sh). Linux
    // splits the RW segment in two (glibc mprotects its RELRO part read-only after start-up), so
    // adjacent file mappings with contiguous offsets are merged before comparing.
    const lines = readFileSync(join(ELF_FIXTURE_DIR, 'busybox-static.linux-maps.txt'), 'utf8').trim().split('\n');
    const maps = lines.map((line) => {
      const [range, perms, offset, , inode] = line.split(/\s+/);
      const [start, end] = range!.split('-').map((h) => parseInt(h, 16));
      return { start: start!, end: end!, perms: perms!.slice(0, 3), offset: parseInt(offset!, 16), file: inode !== '0' };
    });
    const merged: typeof maps = [];
    for (const m of maps) {
      const last = merged.at(-1);
      const relroSplit = last?.perms === 'r--' && m.perms === 'rw-' && m.file && last.file && last.end === m.start && last.offset + (last.end - last.start) === m.offset;
      if (relroSplit) Object.assign(last, { end: m.end, perms: 'rw-' });
      else merged.push({ ...m });
    }
    const p = plan('busybox-static');
    const ours = p.segments.flatMap((s) => {
      const perms = (s.permissions.read ? 'r' : '-') + (s.permissions.write ? 'w' : '-') + (s.permissions.execute ? 'x' : '-');
      return [
        { start: s.filePages.start, end: s.filePages.end, perms, offset: s.filePages.fileOffset, file: true },
        ...(s.zeroPages.end > s.zeroPages.start ? [{ start: s.zeroPages.start, end: s.zeroPages.end, perms, offset: 0, file: false }] : []),
      ];
    });
    expect(merged).toHaveLength(5);
    expect(ours).toEqual(merged);
  });

  it('splits a segment with a large bss into file pages, a zeroed tail and zero pages', () => {
    const s = plan('big-bss').segments[2]!;
    expect(s).toMatchObject({
      start: 0x402000,
      end: 0xc03000,
      pageCount: 0x801,
      permissions: { read: true, write: true, execute: false },
      file: { offset: 0x2000, va: 0x402000, sizeBytes: 0x94 },
      filePages: { start: 0x402000, end: 0x403000, fileOffset: 0x2000 },
      bss: { start: 0x402094, end: 0xc020a0 },
      zeroPages: { start: 0x403000, end: 0xc03000 },
    });
  });

  it('loads a static PIE at 0x0000_5555_5555_4000 by default, as Linux does without ASLR', () => {
    const p = plan('hello-static-pie');
    expect(p.loadBias).toBe(0x5555_5555_4000);
    expect(p.entry).toBe(0x5555_5555_5000);
    expect(p.phdrVa).toBe(0x5555_5555_4040);
    expect(p.segments[3]).toMatchObject({
      start: 0x5555_5555_7000,
      end: 0x5555_5555_9000, // 0x3f30 + 0xd4 = 0x4004 spills into a second page
      file: { offset: 0x2f30, va: 0x5555_5555_7f30, sizeBytes: 0xd4 },
      filePages: { fileOffset: 0x2000 },
    });
  });

  it('scales the default PIE bias to the layout: two thirds of its user space', () => {
    expect(plan('hello-static-pie', { userEndVa: 0x40_0000_0000 }).loadBias).toBe(0x2a_aaaa_a000);
  });

  it('aligns the default PIE bias to the largest p_align', () => {
    const bytes = loadElfFixture('hello-static-pie').slice();
    new DataView(bytes.buffer).setUint32(64 + 48, 0x20_0000, true); // PT_LOAD 0 p_align = 2 MiB
    expect(defaultPieLoadBias(parseElf64(bytes))).toBe(0x5555_5540_0000);
  });

  it('subtracts the first p_vaddr, so a PIE linked above 0 still starts at ELF_ET_DYN_BASE', () => {
    const bytes = loadElfFixture('hello-static-pie').slice();
    const view = new DataView(bytes.buffer);
    view.setUint32(24, view.getUint32(24, true) + 0x10000, true); // e_entry
    for (let i = 0; i < 4; i++) view.setUint32(64 + 56 * i + 16, view.getUint32(64 + 56 * i + 16, true) + 0x10000, true);
    const p = elfLoadPlan(parseElf64(bytes));
    expect(p.loadBias).toBe(0x5555_5554_4000);
    expect(p.imageStart).toBe(0x5555_5555_4000);
    expect(p.entry).toBe(plan('hello-static-pie').entry);
  });

  it('uses a caller-provided bias for a PIE', () => {
    const p = plan('hello-static-pie', { loadBias: 0x1000_0000 });
    expect(p.entry).toBe(0x1000_1000);
    expect(p.segments.map((s) => s.start)).toEqual([0x1000_0000, 0x1000_1000, 0x1000_2000, 0x1000_3000]);
  });

  it('refuses a dynamically linked program, naming its interpreter', () => {
    const elf = parseElf64(loadElfFixture('hello-dynamic'));
    expect(() => elfLoadPlan(elf)).toThrow(/needs the interpreter \/lib64\/ld-linux-x86-64.so.2/);
    expect(() => elfLoadPlan(elf)).toThrow(ElfLoadError);
    expect(elfLoadPlan(elf, { allowInterpreter: true }).interpreter).toBe('/lib64/ld-linux-x86-64.so.2');
  });

  const misuse: [string, string, object, RegExp][] = [
    ['a bias for an ET_EXEC', 'hello-static', { loadBias: 0x1000 }, /given for an ET_EXEC/],
    ['a misaligned bias', 'hello-static-pie', { loadBias: 0x1234 }, /not a non-negative multiple of 4096/],
    ['a negative bias', 'hello-static-pie', { loadBias: -4096 }, /not a non-negative multiple of 4096/],
    ['a bias past user space', 'hello-static-pie', { loadBias: DEFAULT_USER_END_VA }, /past the end of user space/],
    ['a bias that pushes the image out', 'hello-static-pie', { loadBias: DEFAULT_USER_END_VA - 0x2000 }, /outside user space/],
    ['an image below the layout', 'hello-static', { userStartVa: 0x4000_0000 }, /PT_LOAD 0 would occupy \[0x0000_0000_0040_0000/],
    ['a PIE at 0 under the default mmap_min_addr', 'hello-static-pie', { loadBias: 0 }, /outside user space/],
    ['a misaligned user range', 'hello-static', { userEndVa: 0x7fff_ffff_ffff }, /page aligned/],
    ['a user range past 2^47', 'hello-static', { userEndVa: 0x8000_0000_1000 }, /below 2\^47/],
  ];
  for (const [what, name, options, message] of misuse) {
    it(`rejects ${what} with E_ELF_LOAD`, () => {
      const elf = parseElf64(loadElfFixture(name));
      let error: unknown;
      try {
        elfLoadPlan(elf, options);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ElfLoadError);
      expect((error as ElfLoadError).code).toBe('E_ELF_LOAD');
      expect((error as Error).message).toMatch(message);
    });
  }
});

describe('findSegment', () => {
  it('finds the segment holding an address, or -1 between and outside segments', () => {
    const p = plan('busybox-static');
    expect(findSegment(p, 0x400000)).toBe(0);
    expect(findSegment(p, 0x40ebf0)).toBe(1);
    expect(findSegment(p, 0x585000)).toBe(2);
    expect(findSegment(p, 0x5ebfff)).toBe(3);
    expect(findSegment(p, 0x5ec000)).toBe(-1);
    expect(findSegment(p, 0x3fffff)).toBe(-1);
    expect(findSegment(plan('hello-static'), 0x403000)).toBe(-1);
  });
});

describe('pageContents', () => {
  it('zeroes the tail of the last file page of a segment with a bss (padzero)', () => {
    const file = loadElfFixture('big-bss');
    // The file goes on after the segment's 0x94 bytes, so a copy of the whole file page would not be zero.
    expect(file.subarray(0x2094, 0x3000).some((b) => b !== 0)).toBe(true);
    const { bytes, fromFile } = page(plan('big-bss'), 2, 0x402000);
    expect(fromFile).toBe(0x94);
    expect(bytes.subarray(0, 0x94)).toEqual(file.subarray(0x2000, 0x2094));
    expect(bytes.subarray(0x94).every((b) => b === 0)).toBe(true);
  });

  it('gives an all-zero page in the bss', () => {
    const { bytes, fromFile } = page(plan('big-bss'), 2, 0x803000);
    expect(fromFile).toBe(0);
    expect(bytes.every((b) => b === 0)).toBe(true);
  });

  it('maps whole file pages: the first page holds the file bytes before p_vaddr', () => {
    // busybox's RW segment starts at 0x5db708 (file 0x1da708); its first page shows file 0x1da000...
    const file = loadElfFixture('busybox-static');
    const { bytes, fromFile } = page(plan('busybox-static'), 3, 0x5db000);
    expect(fromFile).toBe(4096);
    expect(bytes).toEqual(file.subarray(0x1da000, 0x1db000));
  });

  it('stops file bytes at p_filesz in busybox data and zero-fills the rest of the page', () => {
    const file = loadElfFixture('busybox-static');
    expect(file.subarray(0x1e3710, 0x1e4000).some((b) => b !== 0)).toBe(true);
    const { bytes, fromFile } = page(plan('busybox-static'), 3, 0x5e4000);
    expect(fromFile).toBe(0x710);
    expect(bytes.subarray(0, 0x710)).toEqual(file.subarray(0x1e3000, 0x1e3710));
    expect(bytes.subarray(0x710).every((b) => b === 0)).toBe(true);
  });

  it('keeps file bytes past p_filesz in the last page of a segment without bss, as mmap does', () => {
    const file = loadElfFixture('busybox-static');
    const { bytes, fromFile } = page(plan('busybox-static'), 1, 0x584000);
    expect(fromFile).toBe(4096);
    expect(bytes).toEqual(file.subarray(0x184000, 0x185000));
  });

  it('reads zero past the end of the file', () => {
    // hello-static's rodata page: file offset 0x2000.., the file ends at 8504 = 0x2138.
    const file = loadElfFixture('hello-static');
    const { bytes, fromFile } = page(plan('hello-static'), 2, 0x402000);
    expect(fromFile).toBe(file.length - 0x2000);
    expect(bytes.subarray(0, fromFile)).toEqual(file.subarray(0x2000));
    expect(bytes.subarray(fromFile).every((b) => b === 0)).toBe(true);
    expect(new TextDecoder().decode(bytes.subarray(0, 26))).toBe('hello from a kmem fixture\n');
  });

  it('shows the ELF header and program headers at AT_PHDR in the first page', () => {
    const p = plan('hello-static-pie');
    const { bytes } = page(p, 0, p.segments[0]!.start);
    expect([...bytes.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    const at = p.phdrVa! - p.segments[0]!.start;
    expect(new DataView(bytes.buffer).getUint32(at, true)).toBe(1); // program header 0 is PT_LOAD
  });

  for (const name of ELF_FIXTURES) {
    it(`reconstructs every byte of every segment of ${name}: file bytes, then zeros to p_memsz`, () => {
      const p = plan(name);
      const file = p.elf.bytes;
      const out = new Uint8Array(4096);
      for (let i = 0; i < p.segments.length; i++) {
        const s = p.segments[i]!;
        let mismatches = 0;
        for (let va = s.start; va < s.end; va += 4096) {
          pageContents(p, i, va, out);
          const fileLo = Math.max(va, s.file.va);
          const fileHi = Math.min(va + 4096, s.file.va + s.file.sizeBytes);
          for (let x = fileLo; x < fileHi; x++) if (out[x - va] !== file[s.file.offset + (x - s.file.va)]) mismatches++;
          const zeroLo = Math.max(va, s.bss.start);
          const zeroHi = Math.min(va + 4096, s.bss.end);
          for (let x = zeroLo; x < zeroHi; x++) if (out[x - va] !== 0) mismatches++;
        }
        expect(mismatches, `segment ${i}`).toBe(0);
      }
    });
  }

  const misuse: [string, number, number, number, RegExp][] = [
    ['a segment that does not exist', 3, 0x402000, 4096, /segment 3 does not exist/],
    ['a fractional segment index', 0.5, 0x400000, 4096, /segment 0.5 does not exist/],
    ['a page that is not aligned', 1, 0x401008, 4096, /not a page of segment 1/],
    ['a page outside the segment', 1, 0x402000, 4096, /0x0000_0000_0040_2000 is not a page of segment 1/],
    ['a negative page', 1, -4096, 4096, /-4096 is not a page/],
    ['a short output buffer', 1, 0x401000, 100, /100 bytes is shorter/],
  ];
  for (const [what, segmentIndex, pageVa, outBytes, message] of misuse) {
    it(`rejects ${what} with E_ELF_PAGE and writes nothing`, () => {
      const out = new Uint8Array(outBytes).fill(0xaa);
      let error: unknown;
      try {
        pageContents(plan('hello-static'), segmentIndex, pageVa, out);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ElfPageError);
      expect((error as ElfPageError).code).toBe('E_ELF_PAGE');
      expect((error as Error).message).toMatch(message);
      expect(out.every((b) => b === 0xaa)).toBe(true);
    });
  }
});
