// Scenarios at the edges of the run searches: word boundaries, tails of block runs, blocks that
// break a multi-block run. Each pins one comparison that a random sequence rarely reaches.
import { describe, expect, it } from 'vitest';
import { BitmapFrameAllocator } from '../src/index';

const F = 4096;
const MiB = 2 ** 20;

describe('allocContiguous at the edges', () => {
  it('does not start a small run whose end would pass maxAddr one frame before a word boundary', () => {
    const pmm = new BitmapFrameAllocator(64);
    pmm.reserve(F, 30); // frames 1..30 used, 31.. free
    expect(pmm.allocContiguous(2, { maxAddr: 32 * F })).toBeNull(); // frames 31+32 would end past 32
    expect(pmm.allocContiguous(2, { maxAddr: 33 * F })).toBe(31 * F);
    pmm.checkInvariants();
  });

  it('does not start a small run below minAddr one frame into a word', () => {
    const pmm = new BitmapFrameAllocator(128);
    pmm.reserve(F, 31); // frames 1..31 used; frame 32 is the first free one
    expect(pmm.allocContiguous(3, { minAddr: 33 * F })).toBe(33 * F);
    expect(pmm.allocContiguous(1)).toBe(32 * F);
  });

  it('moves to the next block when the tail of a 2 MiB-aligned run hits a used frame', () => {
    const pmm = new BitmapFrameAllocator(8 * 512);
    pmm.reserve((2 * 512 + 100) * F, 1); // block 2 is partly used at frame 100
    // 712 frames: one whole block and a 200-frame tail; block 1 + tail in block 2 fails.
    expect(pmm.allocContiguous(712, { alignBytes: 2 * MiB })).toBe(3 * 2 * MiB);
    pmm.checkInvariants();
  });

  it('moves past a partly used block that breaks a multi-block run', () => {
    const pmm = new BitmapFrameAllocator(8 * 512);
    pmm.reserve((2 * 512 + 7) * F, 1);
    expect(pmm.allocContiguous(1024, { alignBytes: 2 * MiB })).toBe(3 * 2 * MiB);
    expect(pmm.allocContiguous(1024, { alignBytes: 4 * MiB })).toBe(6 * 2 * MiB);
    pmm.checkInvariants();
  });

  it('finds an unaligned run spanning many words after first-fit skips', () => {
    const pmm = new BitmapFrameAllocator(4096);
    for (let f = 100; f < 1000; f += 50) pmm.reserve(f * F, 1);
    expect(pmm.allocContiguous(60)).toBe(F); // frames 1..99 are free
    expect(pmm.allocContiguous(49)).toBe(101 * F); // 61..99 is too short; 101..149 fits exactly
    expect(pmm.allocContiguous(50)).toBe(951 * F); // every gap below 950 holds only 49
  });
});
