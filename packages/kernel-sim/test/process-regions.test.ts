// RegionList: the ordered VMA list — insert, find, split by partial munmap / mprotect, merge back.
import { describe, expect, it } from 'vitest';
import { PROT, RegionList, RegionOverlapError, RegionRangeError, InvalidProtError, canMerge, describeRegion, formatProt, type Region } from '../src/index';

const PAGE = 4096;
const anon = (start: number, end: number, prot: number = PROT.Read | PROT.Write, kind: Region['kind'] = 'mmap'): Region => ({ start, end, prot, kind, backing: null, growsDown: false, name: '' });
const ranges = (l: RegionList): [number, number, number][] => l.all().map((r) => [r.start / PAGE, r.end / PAGE, r.prot]);

describe('RegionList', () => {
  it('keeps regions sorted and finds the one containing an address by binary search', () => {
    const l = new RegionList();
    l.insert(anon(30 * PAGE, 40 * PAGE, PROT.Read));
    l.insert(anon(10 * PAGE, 20 * PAGE));
    l.insert(anon(50 * PAGE, 60 * PAGE, PROT.Exec));
    expect(ranges(l)).toEqual([
      [10, 20, 3],
      [30, 40, 1],
      [50, 60, 4],
    ]);
    expect(l.find(10 * PAGE)?.start).toBe(10 * PAGE);
    expect(l.find(20 * PAGE - 1)?.start).toBe(10 * PAGE);
    expect(l.find(20 * PAGE)).toBeNull();
    expect(l.above(25 * PAGE)?.start).toBe(30 * PAGE);
    expect(l.below(25 * PAGE)?.end).toBe(20 * PAGE);
    expect(l.below(35 * PAGE)?.end).toBe(20 * PAGE);
    expect(l.above(70 * PAGE)).toBeNull();
    l.checkInvariants();
  });

  it('merges a new region with touching neighbours that have the same rights and kind', () => {
    const l = new RegionList();
    l.insert(anon(0, 4 * PAGE));
    l.insert(anon(8 * PAGE, 12 * PAGE));
    l.insert(anon(4 * PAGE, 8 * PAGE));
    expect(ranges(l)).toEqual([[0, 12, 3]]);
    l.insert(anon(12 * PAGE, 13 * PAGE, PROT.Read));
    expect(l.length).toBe(2);
    l.checkInvariants();
  });

  it('refuses an overlapping, empty, misaligned or kernel-half region before changing anything', () => {
    const l = new RegionList();
    l.insert(anon(10 * PAGE, 20 * PAGE));
    expect(() => l.insert(anon(19 * PAGE, 21 * PAGE))).toThrow(RegionOverlapError);
    expect(() => l.insert(anon(5 * PAGE, 5 * PAGE))).toThrow(RegionRangeError);
    expect(() => l.insert(anon(5 * PAGE + 1, 6 * PAGE))).toThrow(RegionRangeError);
    expect(() => l.insert(anon(2 ** 47 - PAGE, 2 ** 47 + PAGE))).toThrow(RegionRangeError);
    expect(() => l.insert(anon(0, PAGE, 8))).toThrow(InvalidProtError);
    expect(ranges(l)).toEqual([[10, 20, 3]]);
  });

  it('cuts a hole in the middle of a region on partial removal (munmap splits a VMA in two)', () => {
    const l = new RegionList();
    l.insert(anon(0, 10 * PAGE));
    const removed = l.remove(3 * PAGE, 5 * PAGE);
    expect(removed.map((r) => [r.start / PAGE, r.end / PAGE])).toEqual([[3, 5]]);
    expect(ranges(l)).toEqual([
      [0, 3, 3],
      [5, 10, 3],
    ]);
    l.checkInvariants();
  });

  it('removes across several regions and holes, returning every piece it took', () => {
    const l = new RegionList();
    l.insert(anon(0, 4 * PAGE));
    l.insert(anon(6 * PAGE, 8 * PAGE, PROT.Read));
    l.insert(anon(10 * PAGE, 14 * PAGE));
    const removed = l.remove(2 * PAGE, 12 * PAGE);
    expect(removed.map((r) => [r.start / PAGE, r.end / PAGE])).toEqual([
      [2, 4],
      [6, 8],
      [10, 12],
    ]);
    expect(ranges(l)).toEqual([
      [0, 2, 3],
      [12, 14, 3],
    ]);
    expect(l.remove(20 * PAGE, 30 * PAGE)).toEqual([]);
  });

  it('splits on mprotect of the middle and merges back when the rights are restored', () => {
    const l = new RegionList();
    l.insert(anon(0, 10 * PAGE));
    l.protect(4 * PAGE, 6 * PAGE, PROT.Read);
    expect(ranges(l)).toEqual([
      [0, 4, 3],
      [4, 6, 1],
      [6, 10, 3],
    ]);
    l.checkInvariants();
    l.protect(4 * PAGE, 6 * PAGE, PROT.Read | PROT.Write);
    expect(ranges(l)).toEqual([[0, 10, 3]]);
    l.checkInvariants();
  });

  it('refuses mprotect over a hole (Linux: ENOMEM) without changing anything', () => {
    const l = new RegionList();
    l.insert(anon(0, 2 * PAGE));
    l.insert(anon(3 * PAGE, 5 * PAGE, PROT.Read));
    expect(() => l.protect(PAGE, 4 * PAGE, PROT.None)).toThrow(RegionRangeError);
    expect(ranges(l)).toEqual([
      [0, 2, 3],
      [3, 5, 1],
    ]);
  });

  it('grows a region into free space with resize and refuses to grow into a neighbour', () => {
    const l = new RegionList();
    l.insert({ ...anon(100 * PAGE, 110 * PAGE, PROT.Read | PROT.Write, 'stack'), growsDown: true, name: '[stack]' });
    l.insert(anon(50 * PAGE, 60 * PAGE));
    const grown = l.resize(105 * PAGE, 90 * PAGE, 110 * PAGE);
    expect([grown.start / PAGE, grown.end / PAGE, grown.growsDown]).toEqual([90, 110, true]);
    expect(() => l.resize(95 * PAGE, 59 * PAGE, 110 * PAGE)).toThrow(RegionOverlapError);
    expect(l.find(92 * PAGE)?.kind).toBe('stack');
  });

  it('does not merge regions of different kinds, backings or names', () => {
    const a = anon(0, PAGE);
    expect(canMerge(a, anon(PAGE, 2 * PAGE))).toBe(true);
    expect(canMerge(a, anon(PAGE, 2 * PAGE, PROT.Read | PROT.Write, 'heap'))).toBe(false);
    expect(canMerge(a, { ...anon(PAGE, 2 * PAGE), name: 'x' })).toBe(false);
    expect(canMerge(a, anon(2 * PAGE, 3 * PAGE))).toBe(false);
  });

  it('describes rights as /proc/PID/maps does', () => {
    expect(formatProt(PROT.Read | PROT.Exec)).toBe('r-xp');
    expect(formatProt(PROT.None)).toBe('---p');
    expect(describeRegion(anon(0x40_0000, 0x40_1000, PROT.Read))).toBe('0x0000_0000_0040_0000-0x0000_0000_0040_1000 r--p mmap');
  });

  it('clones independently (fork copies the list, later changes stay apart)', () => {
    const l = new RegionList();
    l.insert(anon(0, 4 * PAGE));
    const c = l.clone();
    c.remove(0, PAGE);
    expect(ranges(l)).toEqual([[0, 4, 3]]);
    expect(ranges(c)).toEqual([[1, 4, 3]]);
  });
});
