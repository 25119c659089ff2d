// Seed 001's region-list physical memory manager, against a tiny reference: one state byte per
// frame (0 free, 1 used, 2 never usable), lowest free frame first. checkInvariants after each step.
// From real firmware maps it must start in exactly the state pmm-bitmap's allocator starts in.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BitmapFrameAllocator, DoubleFreeError, FreeReservedFrameError, MisalignedAddressError, type MemoryRegion } from '@kmem/pmm-bitmap';
import { RegionListFrameAllocator, RegionState } from '../src/index';
import { bigMemoryMap, bootFixtures } from './boot-helpers';

const F = 4096;
const FRAMES = 96;

type Ref = Uint8Array;
const lowestRun = (ref: Ref, n: number, align: number, from: number, limit: number): number => {
  for (let s = Math.ceil(from / align) * align; s + n <= limit; s += align) {
    let ok = true;
    for (let f = s; f < s + n; f++) if (ref[f] !== 0) ok = false;
    if (ok) return s;
  }
  return -1;
};

type Cmd =
  | { op: 'alloc' }
  | { op: 'contig'; n: number; align: number; from: number; limit: number }
  | { op: 'free'; f: number; n: number }
  | { op: 'reserve'; f: number; n: number; permanent: boolean };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.constant<Cmd>({ op: 'alloc' }),
  fc.record({ op: fc.constant('contig' as const), n: fc.integer({ min: 1, max: 12 }), align: fc.constantFrom(1, 2, 4, 8), from: fc.integer({ min: 0, max: FRAMES }), limit: fc.integer({ min: 0, max: FRAMES }) }),
  fc.record({ op: fc.constant('free' as const), f: fc.integer({ min: 0, max: FRAMES - 1 }), n: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ op: fc.constant('reserve' as const), f: fc.integer({ min: 0, max: FRAMES - 1 }), n: fc.integer({ min: 1, max: 6 }), permanent: fc.boolean() }),
);

describe('RegionListFrameAllocator', () => {
  it('matches a per-frame reference under random allocations, frees and reservations', () => {
    fc.assert(
      fc.property(fc.array(cmd, { maxLength: 80 }), (cmds) => {
        const pmm = new RegionListFrameAllocator(FRAMES);
        const ref: Ref = new Uint8Array(FRAMES);
        ref[0] = 2;
        for (const c of cmds) {
          if (c.op === 'alloc') {
            const f = ref.indexOf(0);
            expect(pmm.allocFrame()).toBe(f < 0 ? null : f * F);
            if (f >= 0) ref[f] = 1;
          } else if (c.op === 'contig') {
            const lo = Math.min(c.from, c.limit);
            const hi = Math.max(c.from, c.limit);
            const s = lowestRun(ref, c.n, c.align, lo, hi);
            expect(pmm.allocContiguous(c.n, { alignBytes: c.align * F, minAddr: lo * F, maxAddr: hi * F })).toBe(s < 0 ? null : s * F);
            if (s >= 0) ref.fill(1, s, s + c.n);
          } else if (c.op === 'free') {
            const n = Math.min(c.n, FRAMES - c.f);
            const run = ref.subarray(c.f, c.f + n);
            const never = run.indexOf(2);
            const free = run.indexOf(0);
            if (never >= 0) expect(() => pmm.freeContiguous(c.f * F, n)).toThrow(FreeReservedFrameError);
            else if (free >= 0) expect(() => pmm.freeContiguous(c.f * F, n)).toThrow(DoubleFreeError);
            else {
              pmm.freeContiguous(c.f * F, n);
              run.fill(0);
            }
          } else {
            const n = Math.min(c.n, FRAMES - c.f);
            const run = ref.subarray(c.f, c.f + n);
            let wasFree = 0;
            for (let i = 0; i < n; i++) {
              if (run[i] === 0) wasFree++;
              run[i] = Math.max(run[i]!, c.permanent ? 2 : 1);
            }
            expect(pmm.reserve(c.f * F, n, c.permanent ? { permanent: true } : undefined)).toBe(wasFree);
          }
          pmm.checkInvariants();
          let free = 0;
          for (let f = 0; f < FRAMES; f++) {
            if (ref[f] === 0) free++;
            expect(pmm.isFree(f * F)).toBe(ref[f] === 0);
          }
          expect(pmm.freeFrames).toBe(free);
          // One region per maximal run of one state.
          let runs = 1;
          for (let f = 1; f < FRAMES; f++) if (ref[f] !== ref[f - 1]) runs++;
          expect(pmm.regionCount).toBe(runs);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('starts from every firmware fixture (and a 64 GiB PC map) in the state pmm-bitmap starts in', () => {
    const maps: MemoryRegion[][] = [...bootFixtures().map((f) => f.regions as MemoryRegion[]), bigMemoryMap(64)];
    for (const regions of maps) {
      const a = RegionListFrameAllocator.fromMemoryMap(regions);
      const b = BitmapFrameAllocator.fromMemoryMap(regions);
      a.checkInvariants();
      expect(a.totalFrames).toBe(b.totalFrames);
      expect(a.stats()).toEqual(b.stats());
      const wa = a.exportWords();
      const wb = b.exportWords();
      expect(wa.length).toBe(wb.length);
      expect(wa.findIndex((w, i) => w !== wb[i])).toBe(-1);
      expect(a.regionCount).toBeLessThan(64);
    }
  });

  it('keeps a list whose length follows the fragmentation, with the seed errors of a bad free', () => {
    const pmm = RegionListFrameAllocator.fromMemoryMap(bigMemoryMap(64));
    const before = pmm.regionCount;
    const frames = [pmm.allocFrame()!, pmm.allocFrame()!, pmm.allocFrame()!];
    expect(frames).toEqual([0x10_0000, 0x10_1000, 0x10_2000]);
    expect(pmm.regionCount).toBe(before + 1); // one 'used' region in front of the free one
    pmm.freeFrame(frames[1]!);
    expect(pmm.regionCount).toBe(before + 3); // used, free hole, used
    expect([...pmm.regions()].slice(1, 4).map((r) => r.state)).toEqual([RegionState.Used, RegionState.Free, RegionState.Used]);
    expect(() => pmm.freeFrame(frames[1]!)).toThrow(DoubleFreeError);
    expect(() => pmm.freeFrame(0x1000)).toThrow(FreeReservedFrameError);
    expect(() => pmm.freeFrame(frames[0]! + 1)).toThrow(MisalignedAddressError);
    pmm.freeFrame(frames[0]!);
    pmm.freeFrame(frames[2]!);
    expect(pmm.regionCount).toBe(before);
    expect(pmm.bookkeepingBytes).toBe(before * 32);
    pmm.checkInvariants();
  });
});
