// The multiboot1 hand-over read whole - info block, memory map buffer and module list - from real
// loaders: GRUB's captures (no modules) and QEMU's multiboot1 loader with two modules.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { thrown } from '../../../test-support/thrown';
import {
  MB1_INFO_FLAG,
  MAX_MB1_MODULES,
  MemoryMapParseError,
  MultibootModuleError,
  parseMultiboot1Info,
  parseMultiboot1Mmap,
  parseMultiboot1Modules,
  readMultiboot1Boot,
  type ReadPhysical,
} from '../src/index';
import { Bytes, fixture, fixtureNames } from './memory-map-helpers';

const CAPTURES = join(import.meta.dirname, 'fixtures', 'multiboot1');

/** Guest-physical memory as a list of [pa, bytes] chunks; reads must fall inside one chunk. */
function physical(chunks: readonly (readonly [number, Uint8Array])[]): ReadPhysical {
  return (pa, lengthBytes) => {
    for (const [base, bytes] of chunks) {
      if (pa >= base && pa < base + bytes.length) return bytes.subarray(pa - base, Math.min(bytes.length, pa - base + lengthBytes));
    }
    return null;
  };
}

interface Capture {
  readonly lines: Map<string, [number, Uint8Array][]>;
  readonly info: Uint8Array;
  readonly read: ReadPhysical;
}

/** Parses an mb1dump serial log (see fixtures/multiboot1/README.md). */
function loadCapture(name: string): Capture {
  const lines = new Map<string, [number, Uint8Array][]>();
  for (const line of readFileSync(join(CAPTURES, name), 'latin1').split('\n')) {
    const [tag, pa, hex] = line.split(' ');
    if (tag === undefined || pa === undefined || hex === undefined) continue;
    const bytes = Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
    lines.set(tag, [...(lines.get(tag) ?? []), [parseInt(pa, 16), bytes]]);
  }
  const all = [...lines.values()].flat();
  return { lines, info: lines.get('INFO')![0]![1], read: physical(all) };
}

describe('readMultiboot1Boot', () => {
  for (const mem of ['128m', '5g']) {
    it(`reads the two modules QEMU's multiboot1 loader placed after a kernel at 1 MiB (-m ${mem})`, () => {
      const capture = loadCapture(`qemu-mb1-modules-${mem}.serial.txt`);
      const boot = readMultiboot1Boot(capture.info, capture.read);
      expect(boot.info.flags & MB1_INFO_FLAG.Mods).not.toBe(0);
      expect(boot.info.modsAddr).toBe(0x10_2000);
      expect(boot.modules).toEqual([
        { index: 0, startPa: 0x10_3000, endPa: 0x10_3028, sizeBytes: 40, stringPa: 0x10_2020, cmdline: 'mod-one.bin root=/dev/ram0 quiet' },
        { index: 1, startPa: 0x10_4000, endPa: 0x10_4000 + 20000, sizeBytes: 20000, stringPa: 0x10_2041, cmdline: 'mod-two.bin' },
      ]);
      // mod_start really is where the module's bytes are (MODDATA was read there by the kernel).
      const data = capture.lines.get('MODDATA')!;
      expect(new TextDecoder().decode(data[0]![1].subarray(0, 15))).toBe('KMEM-MODULE-ONE');
      expect(data.map(([pa]) => pa)).toEqual([0x10_3000, 0x10_4000]);
      // The map is the buffer at mmap_addr, parsed as parseMultiboot1Mmap does.
      expect(boot.regions).toEqual(parseMultiboot1Mmap(capture.lines.get('MMAP')![0]![1]));
      const aboveFourGiB = boot.regions!.filter((r) => r.kind === 'usable' && r.base >= 2 ** 32);
      expect(aboveFourGiB.length).toBe(mem === '5g' ? 1 : 0);
    });
  }

  for (const name of fixtureNames().filter((n) => n.endsWith('.mb1-info.bin'))) {
    it(`reads GRUB's hand-over ${name}: the map at mmap_addr, no modules`, () => {
      const info = fixture(name);
      const buffer = fixture(name.replace('-info', ''));
      const { mmapAddr } = parseMultiboot1Info(info);
      const boot = readMultiboot1Boot(info, physical([[mmapAddr!, buffer]]));
      expect(boot.regions).toEqual(parseMultiboot1Mmap(buffer));
      expect(boot.modules).toEqual([]);
    });
  }

  /** An info block with flags Mods | Mmap and the given fields. */
  function infoBlock(modsCount: number, modsAddr: number, mmapLength = 24, mmapAddr = 0x9000): Uint8Array {
    return new Bytes().u32(MB1_INFO_FLAG.Mods | MB1_INFO_FLAG.Mmap).zeros(16).u32(modsCount).u32(modsAddr).zeros(16).u32(mmapLength).u32(mmapAddr).zeros(64).build();
  }
  const map = new Bytes().u32(20).u64(0).u64(0x9fc00).u32(1).build();

  it('refuses a memory map buffer reaching beyond 4 GiB with a MemoryMapParseError at mmap_length', () => {
    const e = thrown(() => readMultiboot1Boot(infoBlock(0, 0, 0x2000, 0xffff_f000), physical([])));
    expect(e).toBeInstanceOf(MemoryMapParseError);
    expect(e).toMatchObject({ code: 'E_MEMMAP_PARSE', offset: 44 });
    expect((e as Error).message).toMatch(/reaches beyond 4 GiB/);
  });

  it('refuses a map buffer where the loader wrote nothing', () => {
    expect(thrown(() => readMultiboot1Boot(infoBlock(0, 0), physical([])))).toMatchObject({ code: 'E_MEMMAP_PARSE', offset: 48 });
  });

  const badLists: [string, Uint8Array, ReadPhysical, number, boolean, RegExp][] = [
    ['a module list reaching beyond 4 GiB', infoBlock(2, 0xffff_fff0), physical([[0x9000, map]]), 24, true, /beyond 4 GiB/],
    ['a module list where the loader wrote nothing', infoBlock(1, 0x2_0000), physical([[0x9000, map]]), 24, true, /no memory the loader wrote/],
    ['more modules than are read', infoBlock(MAX_MB1_MODULES + 1, 0x2_0000), physical([[0x9000, map]]), 20, true, /mods_count/],
    ['a module ending below its start', infoBlock(1, 0x2_0000), physical([[0x9000, map], [0x2_0000, new Bytes().u32(0x5000).u32(0x4000).u32(0).u32(0).build()]]), 4, false, /below its start/],
    [
      'two overlapping modules',
      infoBlock(2, 0x2_0000),
      physical([[0x9000, map], [0x2_0000, new Bytes().u32(0x5000).u32(0x7000).u32(0).u32(0).u32(0x6000).u32(0x8000).u32(0).u32(0).build()]]),
      16, false, /module 1 .* overlaps module 0/,
    ],
    [
      'a command line without a NUL',
      infoBlock(1, 0x2_0000),
      physical([[0x9000, map], [0x2_0000, new Bytes().u32(0x5000).u32(0x6000).u32(0x3_0000).u32(0).build()], [0x3_0000, new Uint8Array(5000).fill(0x41)]]),
      8, false, /no NUL within 4096/,
    ],
  ];
  for (const [what, info, read, offset, inInfoBlock, message] of badLists) {
    it(`refuses ${what} with E_MULTIBOOT_MODULE at byte offset ${offset}`, () => {
      const e = thrown(() => readMultiboot1Boot(info, read));
      expect(e).toBeInstanceOf(MultibootModuleError);
      expect(e).toMatchObject({ code: 'E_MULTIBOOT_MODULE', offset, inInfoBlock });
      expect((e as Error).message).toMatch(message);
    });
  }

  it('accepts empty modules and modules that touch, and leaves cmdline null without a string', () => {
    const list = new Bytes().u32(0x5000).u32(0x6000).u32(0).u32(0).u32(0x6000).u32(0x6000).u32(0).u32(0).u32(0x6000).u32(0x7000).u32(0).u32(0).build();
    expect(parseMultiboot1Modules(list, 3).map((m) => [m.sizeBytes, m.cmdline])).toEqual([[0x1000, null], [0, null], [0x1000, null]]);
  });
});

describe('readMultiboot1Boot (fuzz)', () => {
  it('throws only MemoryMapParseError or MultibootModuleError on mutated real hand-overs', () => {
    const capture = loadCapture('qemu-mb1-modules-128m.serial.txt');
    const list = capture.lines.get('MODS')![0]!;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 116 + 32 - 1 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
        const info = capture.info.slice();
        const mods = list[1].slice();
        for (const [at, value] of edits) {
          if (at < 116) info[at] = value;
          else mods[at - 116] = value;
        }
        const read = physical([[list[0], mods], ...[...capture.lines.entries()].filter(([tag]) => tag !== 'MODS').flatMap(([, chunks]) => chunks)]);
        try {
          const boot = readMultiboot1Boot(info, read);
          for (const m of boot.modules) expect(m.endPa).toBeGreaterThanOrEqual(m.startPa);
        } catch (e) {
          if (!(e instanceof MemoryMapParseError || e instanceof MultibootModuleError)) throw e;
        }
      }),
      { numRuns: 400 },
    );
  });
});
