import { describe, expect, it } from 'vitest';
import { InvalidMemoryRegionError, MEMORY_KINDS_BY_RESTRICTIVENESS, formatMemoryMap, normalizeMemoryMap, restrictivenessOf, totalBytes, type MemoryRegion } from '../src/index';

const r = (base: number, lengthBytes: number, kind: MemoryRegion['kind']): MemoryRegion => ({ base, lengthBytes, kind });

describe('normalizeMemoryMap', () => {
  it('orders kinds bad-memory > reserved > acpi-nvs > framebuffer > kernel-and-modules > acpi-reclaimable > bootloader-reclaimable > usable', () => {
    expect([...MEMORY_KINDS_BY_RESTRICTIVENESS].reverse()).toEqual(['bad-memory', 'reserved', 'acpi-nvs', 'framebuffer', 'kernel-and-modules', 'acpi-reclaimable', 'bootloader-reclaimable', 'usable']);
    expect(restrictivenessOf('lunch')).toBe(-1);
  });

  it('sorts and reports that it reordered', () => {
    const n = normalizeMemoryMap([r(0x2000, 0x1000, 'reserved'), r(0, 0x1000, 'usable')]);
    expect(n.regions).toEqual([r(0, 0x1000, 'usable'), r(0x2000, 0x1000, 'reserved')]);
    expect(n.changes).toEqual([{ type: 'reordered' }]);
  });

  it('changes nothing in a sorted, disjoint map', () => {
    const map = [r(0, 0x9fc00, 'usable'), r(0x9fc00, 0x400, 'reserved'), r(0x10_0000, 0x7ee_0000, 'usable')];
    expect(normalizeMemoryMap(map)).toEqual({ regions: map, changes: [] });
  });

  it('merges touching neighbours of the same kind and names the sources', () => {
    const n = normalizeMemoryMap([r(0, 0x1000, 'usable'), r(0x1000, 0x1000, 'usable'), r(0x2000, 0x1000, 'usable')]);
    expect(n.regions).toEqual([r(0, 0x3000, 'usable')]);
    expect(n.changes).toEqual([{ type: 'merged', base: 0, lengthBytes: 0x3000, kind: 'usable', sourceIndices: [0, 1, 2] }]);
  });

  it('does not merge across a hole', () => {
    expect(normalizeMemoryMap([r(0, 0x1000, 'usable'), r(0x2000, 0x1000, 'usable')]).regions).toHaveLength(2);
  });

  it('merges overlapping ranges of the same kind without calling it an overlap', () => {
    const n = normalizeMemoryMap([r(0, 0x3000, 'reserved'), r(0x1000, 0x3000, 'reserved')]);
    expect(n.regions).toEqual([r(0, 0x4000, 'reserved')]);
    expect(n.changes.map((c) => c.type)).toEqual(['merged']);
  });

  it('gives an overlap to the most restrictive kind and splits the loser around it', () => {
    const n = normalizeMemoryMap([r(0, 0x10000, 'usable'), r(0x4000, 0x2000, 'acpi-nvs'), r(0x5000, 0x2000, 'bad-memory')]);
    expect(n.regions).toEqual([r(0, 0x4000, 'usable'), r(0x4000, 0x1000, 'acpi-nvs'), r(0x5000, 0x2000, 'bad-memory'), r(0x7000, 0x9000, 'usable')]);
    expect(n.changes).toEqual([
      { type: 'overlap-resolved', base: 0x4000, lengthBytes: 0x1000, kinds: ['usable', 'acpi-nvs'], winner: 'acpi-nvs', sourceIndices: [0, 1] },
      { type: 'overlap-resolved', base: 0x5000, lengthBytes: 0x1000, kinds: ['usable', 'acpi-nvs', 'bad-memory'], winner: 'bad-memory', sourceIndices: [0, 1, 2] },
      { type: 'overlap-resolved', base: 0x6000, lengthBytes: 0x1000, kinds: ['usable', 'bad-memory'], winner: 'bad-memory', sourceIndices: [0, 2] },
    ]);
    expect(n.changes.filter((c) => c.type === 'merged')).toEqual([]);
  });

  it('lets a framebuffer beat kernel-and-modules, and reserved beat the framebuffer', () => {
    expect(normalizeMemoryMap([r(0, 0x2000, 'kernel-and-modules'), r(0, 0x2000, 'framebuffer')]).regions).toEqual([r(0, 0x2000, 'framebuffer')]);
    expect(normalizeMemoryMap([r(0, 0x2000, 'reserved'), r(0, 0x2000, 'framebuffer')]).regions).toEqual([r(0, 0x2000, 'reserved')]);
  });

  it('drops empty entries and says so', () => {
    const n = normalizeMemoryMap([r(0, 0x1000, 'usable'), r(0x5000, 0, 'reserved')]);
    expect(n.regions).toEqual([r(0, 0x1000, 'usable')]);
    expect(n.changes).toEqual([{ type: 'dropped-empty', index: 1, base: 0x5000 }]);
  });

  it('handles ranges up to 2^53 exactly', () => {
    const top = 2 ** 53;
    expect(normalizeMemoryMap([r(top - 0x2000, 0x2000, 'reserved'), r(0, 0x1000, 'usable')]).regions.at(-1)).toEqual(r(top - 0x2000, 0x2000, 'reserved'));
  });

  it('refuses regions that are not regions', () => {
    for (const bad of [r(-1, 1, 'usable'), r(0, 1.5, 'usable'), r(2 ** 53, 1, 'usable'), r(2 ** 53 - 1, 2, 'usable'), { base: 0, lengthBytes: 1, kind: 'lunch' } as unknown as MemoryRegion, r(NaN, 1, 'usable')]) {
      expect(() => normalizeMemoryMap([bad])).toThrow(InvalidMemoryRegionError);
    }
  });

  it('totalBytes sums one kind', () => {
    expect(totalBytes([r(0, 10, 'usable'), r(10, 5, 'reserved'), r(20, 1, 'usable')])).toBe(11);
    expect(totalBytes([r(0, 10, 'usable'), r(10, 5, 'reserved')], 'reserved')).toBe(5);
  });
});

describe('formatMemoryMap', () => {
  it('prints one e820-style line per region with an inclusive end, the size and the firmware type', () => {
    const text = formatMemoryMap([{ base: 0, lengthBytes: 0x9fc00, kind: 'usable', firmwareType: 'available (1)' }, r(0x1_0000_0000, 2 ** 31, 'reserved')]);
    expect(text.split('\n')).toEqual([
      '[mem 0x0000_0000_0000_0000-0x0000_0000_0009_fbff] usable' + ' '.repeat(16) + '    639 KiB [available (1)]',
      '[mem 0x0000_0001_0000_0000-0x0000_0001_7fff_ffff] reserved' + ' '.repeat(14) + '      2 GiB',
    ]);
  });
});
