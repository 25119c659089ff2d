// Swap entries in not-present PTEs: the layout (drawn in the README beside Linux's), the L1TF
// inversion, and that x86-paging's own markPages writes the same bits.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ArrayBufferPhysicalMemory, Mapper, PTE, PhysicalTableAccess, SimpleFrameAllocator, osBits } from '@kmem/x86-paging';
import {
  MAX_SWAP_SLOTS,
  PTE_SWAP,
  formatSwapEntry,
  isSwapEntry,
  swapEntryHi,
  swapEntryLo,
  swapEntryOffset,
  swapEntryType,
  swapEntryWellFormed,
  swapEntryWouldBeFrame,
} from '../src/index';

describe('swap entry', () => {
  it('round-trips every type and offset, P = 0, marker set, nothing else in the low flags', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: MAX_SWAP_SLOTS - 1 }), (type, offset) => {
        const lo = swapEntryLo(type, offset);
        const hi = swapEntryHi(type, offset);
        expect(lo & PTE.Present).toBe(0); // SDM 4.5: P = 0, the CPU ignores the rest
        expect(isSwapEntry(lo)).toBe(true);
        expect(swapEntryWellFormed(lo, hi)).toBe(true);
        expect(swapEntryType(hi)).toBe(type);
        expect(swapEntryOffset(lo, hi)).toBe(offset);
        // kmem's PROT_NONE (bit 10) and COW (bit 9) markers stay clear; so do A, D and PS.
        expect(lo & (PTE.Avail10 | PTE.Avail9 | PTE.Accessed | PTE.Dirty | PTE.HugePage)).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('stores the offset inverted, so the would-be frame lies above 2^51 (the L1TF mitigation)', () => {
    for (const offset of [0, 1, 4095, 2 ** 20, MAX_SWAP_SLOTS - 1]) {
      const frame = swapEntryWouldBeFrame(swapEntryLo(3, offset), swapEntryHi(3, offset));
      expect(frame).toBeGreaterThanOrEqual(2 ** 51);
      expect(frame).toBe((2 ** 40 - 1 - offset) * 4096);
    }
    expect(formatSwapEntry(swapEntryLo(1, 0), swapEntryHi(1, 0))).toBe('0x040f_ffff_ffff_f800');
  });

  it('puts the type in OS-available bits 62:58 and the marker in bit 11 (x86-paging osBits)', () => {
    const lo = swapEntryLo(5, 7);
    const hi = swapEntryHi(5, 7);
    const flags = (lo & 0xfff) | (hi & 0xfff0_0000);
    expect(osBits(flags)).toBe((5 << 9) | 0b100);
    expect(lo & PTE_SWAP).toBe(PTE_SWAP);
  });

  it('is what x86-paging markPages writes for the same OS bits and address', () => {
    const memory = new ArrayBufferPhysicalMemory(64 * 4096);
    const mapper = Mapper.create({ access: new PhysicalTableAccess(memory), allocator: new SimpleFrameAllocator({ start: 0x1000, frameCount: 32 }) })!;
    const lo = swapEntryLo(2, 12345);
    const hi = swapEntryHi(2, 12345);
    const flags = (lo & 0xfff) | (hi & 0xfff0_0000);
    expect(mapper.markPages(0x40_0000, 1, flags, swapEntryWouldBeFrame(lo, hi))).toBe(true);
    const leaf = mapper.leafEntry(0x40_0000)!;
    expect(leaf.present).toBe(false);
    expect([leaf.lo >>> 0, leaf.hi >>> 0]).toEqual([lo >>> 0, hi >>> 0]);
  });

  it('rejects entries with any other bit set as malformed', () => {
    const lo = swapEntryLo(0, 9);
    const hi = swapEntryHi(0, 9);
    expect(swapEntryWellFormed(lo | PTE.Accessed, hi)).toBe(false);
    expect(swapEntryWellFormed(lo | PTE.Avail10, hi)).toBe(false);
    expect(swapEntryWellFormed(lo, hi | 0x0010_0000)).toBe(false); // bit 52
    expect(swapEntryWellFormed(lo, hi | 0x8000_0000)).toBe(false); // bit 63
    expect(isSwapEntry(lo | PTE.Present)).toBe(false);
  });
});
