import { describe, expect, it } from 'vitest';
import {
  AddressOutOfRangeError,
  DoubleFreeError,
  InvalidAlignmentError,
  InvalidRangeError,
  InvalidSizeError,
  KmemError,
  MisalignedAddressError,
  NotBlockStartError,
  UnalignedSizeError,
  VirtualAllocator,
  hex,
  isPowerOfTwo,
  type BlockInfo,
} from '../src/index';

const K = 4096;
const MiB = 1 << 20;

/** 16 pages at 0x10_0000, a layout small enough to spell out in expectations. */
function small(): VirtualAllocator {
  return new VirtualAllocator({ start: 0x10_0000, end: 0x10_0000 + 16 * K });
}

const used = (start: number, end: number, tag?: string): BlockInfo => ({ start, end, used: true, tag });
const free = (start: number, end: number): BlockInfo => ({ start, end, used: false, tag: undefined });

function expectError(f: () => unknown, cls: new (...args: never[]) => KmemError, code: string): KmemError {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(cls);
  expect(thrown).toBeInstanceOf(KmemError);
  expect((thrown as KmemError).code).toBe(code);
  return thrown as KmemError;
}

/** Runs f, expects a typed error, and that blocks() and stats() did not change. */
function expectRejectedUnchanged(va: VirtualAllocator, f: () => unknown, cls: new (...args: never[]) => KmemError, code: string): void {
  const before = [...va.blocks()];
  const statsBefore = va.stats();
  expectError(f, cls, code);
  expect([...va.blocks()]).toEqual(before);
  expect(va.stats()).toEqual(statsBefore);
  va.checkInvariants();
}

describe('VirtualAllocator constructor', () => {
  it('starts with one free block covering the whole managed range', () => {
    const va = small();
    expect([...va.blocks()]).toEqual([free(0x10_0000, 0x11_0000)]);
    expect(va.stats()).toEqual({ usedBytes: 0, freeBytes: 16 * K, blockCount: 1, usedBlockCount: 0, largestFreeBytes: 16 * K });
    expect(va.granularityBytes).toBe(4096);
    va.checkInvariants();
  });

  it('rejects a granularity that is not a power of two', () => {
    for (const g of [0, 3, 4095, -4096, Number.NaN, 1.5]) {
      expectError(() => new VirtualAllocator({ start: 0, end: 0x10000, granularityBytes: g }), InvalidAlignmentError, 'E_INVALID_ALIGNMENT');
    }
  });

  it('rejects empty, inverted, negative, unsafe or unaligned ranges', () => {
    const bad: [number, number][] = [
      [0, 0],
      [K, 0],
      [-K, K],
      [0, 2 ** 53],
      [0, Number.NaN],
      [100, 2 * K],
      [0, K + 1],
    ];
    for (const [start, end] of bad) {
      expectError(() => new VirtualAllocator({ start, end }), InvalidRangeError, 'E_INVALID_RANGE');
    }
  });

  it('manages a range up to the largest safe granule multiple', () => {
    const end = Math.floor(Number.MAX_SAFE_INTEGER / K) * K;
    const va = new VirtualAllocator({ start: end - 4 * K, end });
    expect(va.alloc(K)).toBe(end - 4 * K);
    expect(va.take(end - K, K)).toBe(true);
    va.checkInvariants();
  });
});

describe('VirtualAllocator.alloc', () => {
  it('returns the lowest free address and splits the free block into in-use and free remainder', () => {
    const va = small();
    expect(va.alloc(2 * K, { tag: 'heap' })).toBe(0x10_0000);
    expect(va.alloc(K)).toBe(0x10_2000);
    expect([...va.blocks()]).toEqual([used(0x10_0000, 0x10_2000, 'heap'), used(0x10_2000, 0x10_3000), free(0x10_3000, 0x11_0000)]);
    va.checkInvariants();
  });

  it('fills the first hole that fits, not the largest or the last', () => {
    const va = small();
    const a = va.alloc(K)!;
    const b = va.alloc(3 * K)!;
    va.alloc(K);
    va.free(a);
    va.free(b);
    // Hole of 4 pages at the start, then an in-use page, then a large free tail.
    expect(va.alloc(2 * K)).toBe(0x10_0000);
    expect(va.alloc(2 * K)).toBe(0x10_2000);
    expect(va.alloc(2 * K)).toBe(0x10_5000);
  });

  it('returns null, changing nothing, when no free range is large enough', () => {
    const va = small();
    va.alloc(10 * K);
    const before = [...va.blocks()];
    expect(va.alloc(7 * K)).toBeNull();
    expect([...va.blocks()]).toEqual(before);
    expect(va.alloc(6 * K)).toBe(0x10_a000);
    expect(va.alloc(K)).toBeNull();
    expect(va.stats().largestFreeBytes).toBe(0);
  });

  it('aligns absolutely (address % alignBytes === 0), leaving the skipped part free', () => {
    const va = new VirtualAllocator({ start: 0x3000, end: 0x40_0000 });
    expect(va.alloc(K, { alignBytes: 0x10000 })).toBe(0x10000);
    expect([...va.blocks()]).toEqual([free(0x3000, 0x10000), used(0x10000, 0x11000), free(0x11000, 0x40_0000)]);
    expect(va.alloc(2 * MiB, { alignBytes: 2 * MiB })).toBe(2 * MiB);
    expect(va.alloc(K)).toBe(0x3000);
    va.checkInvariants();
  });

  it('skips a big-enough hole whose aligned start would not fit, taking a later one', () => {
    const va = new VirtualAllocator({ start: 0, end: 64 * K });
    va.take(0, K);
    va.take(5 * K, 3 * K); // hole [K, 5K): 4 pages, but the first 4-page-aligned start (4K) leaves 1 page
    expect(va.alloc(2 * K, { alignBytes: 4 * K })).toBe(8 * K);
    expect(va.alloc(2 * K, { alignBytes: 2 * K })).toBe(2 * K);
  });

  it('treats an alignment below the granularity as the granularity', () => {
    const va = small();
    expect(va.alloc(K, { alignBytes: 1 })).toBe(0x10_0000);
    expect(va.alloc(K, { alignBytes: 512 })).toBe(0x10_1000);
  });

  it('searches only inside `within`, returning null when that part is full', () => {
    const va = new VirtualAllocator({ start: 0, end: 64 * K });
    const within = { start: 16 * K, end: 20 * K };
    expect(va.alloc(2 * K, { within, tag: 'user' })).toBe(16 * K);
    expect(va.alloc(2 * K, { within })).toBe(18 * K);
    expect(va.alloc(K, { within })).toBeNull();
    expect(va.alloc(K)).toBe(0);
    // Part of a free block overlaps the window: only the overlap counts.
    expect(va.alloc(3 * K, { within: { start: 20 * K, end: 23 * K } })).toBe(20 * K);
    expect(va.alloc(2 * K, { within: { start: 10 * K, end: 17 * K }, alignBytes: 4 * K })).toBe(12 * K);
    va.checkInvariants();
  });

  it('rejects a malformed `within`', () => {
    const va = small();
    const bad = [
      { start: 0, end: 0x10_1000 },
      { start: 0x10_0000, end: 0x11_1000 },
      { start: 0x10_2000, end: 0x10_2000 },
      { start: 0x10_0800, end: 0x10_2000 },
      { start: 0x10_0000, end: Number.NaN },
    ];
    for (const within of bad) expectRejectedUnchanged(va, () => va.alloc(K, { within }), InvalidRangeError, 'E_INVALID_RANGE');
  });

  it('rejects sizes that are 0, negative, NaN, fractional, infinite or larger than the range', () => {
    const va = small();
    for (const size of [0, -K, Number.NaN, 1.5, Number.POSITIVE_INFINITY, 17 * K]) {
      expectRejectedUnchanged(va, () => va.alloc(size), InvalidSizeError, 'E_INVALID_SIZE');
    }
  });

  it('does not round sizes: one that is not a granule multiple is an error', () => {
    const va = small();
    for (const size of [1, K + 1, K / 2]) expectRejectedUnchanged(va, () => va.alloc(size), UnalignedSizeError, 'E_UNALIGNED_SIZE');
  });

  it('rejects an alignment that is not a power of two', () => {
    const va = small();
    for (const alignBytes of [0, 3, 3 * K, -K, Number.NaN, 2 ** 53]) {
      expectRejectedUnchanged(va, () => va.alloc(K, { alignBytes }), InvalidAlignmentError, 'E_INVALID_ALIGNMENT');
    }
  });

  it('handles 48-bit addresses and sizes above 2^32 exactly', () => {
    const va = new VirtualAllocator({ start: 0xffff_8000_0000 - 2 ** 40, end: 2 ** 48 });
    const big = 5 * 2 ** 32; // 20 GiB
    const a = va.alloc(big, { alignBytes: 2 ** 30 })!;
    expect(a % 2 ** 30).toBe(0);
    expect(a).toBe(0xffff_8000_0000 - 2 ** 40);
    const b = va.alloc(big, { alignBytes: 2 ** 39 })!;
    expect(b).toBe(0xff80_0000_0000); // first multiple of 2^39 after the first block
    expect(va.blockAt(b + big - 1)).toEqual(used(b, b + big));
    expect(va.stats().usedBytes).toBe(2 * big);
    va.checkInvariants();
  });

  it('can manage page numbers with granularityBytes 1 (a 57-bit space in 4 KiB pages)', () => {
    const va = new VirtualAllocator({ start: 0, end: 2 ** 45, granularityBytes: 1 });
    expect(va.alloc(3)).toBe(0);
    expect(va.alloc(1, { alignBytes: 2 ** 44 })).toBe(2 ** 44);
    expect(va.take(2 ** 45 - 1, 1)).toBe(true);
    va.checkInvariants();
  });
});

describe('VirtualAllocator.take', () => {
  it('claims exactly the range, splitting a free block into three', () => {
    const va = small();
    expect(va.take(0x10_4000, 2 * K, { tag: 'mmio' })).toBe(true);
    expect([...va.blocks()]).toEqual([free(0x10_0000, 0x10_4000), used(0x10_4000, 0x10_6000, 'mmio'), free(0x10_6000, 0x11_0000)]);
    va.checkInvariants();
  });

  it('says false and changes nothing when any part of the range is in use', () => {
    const va = small();
    va.take(0x10_4000, 2 * K);
    const before = [...va.blocks()];
    expect(va.take(0x10_3000, 2 * K)).toBe(false); // overlaps the start
    expect(va.take(0x10_5000, 2 * K)).toBe(false); // overlaps the end
    expect(va.take(0x10_4000, K)).toBe(false); // inside
    expect(va.take(0x10_0000, 16 * K)).toBe(false); // covers it
    expect([...va.blocks()]).toEqual(before);
    expect(va.take(0x10_6000, K)).toBe(true); // right after it: free
    expect(va.take(0x10_3000, K)).toBe(true); // right before it: free
    va.checkInvariants();
  });

  it('claims a range ending exactly at the end of the managed range', () => {
    const va = small();
    expect(va.take(0x10_f000, K)).toBe(true);
    expect(va.blockAt(0x10_ffff)).toEqual(used(0x10_f000, 0x11_0000));
  });

  it('rejects misaligned, out-of-range and badly sized requests before changing anything', () => {
    const va = small();
    expectRejectedUnchanged(va, () => va.take(0x10_0800, K), MisalignedAddressError, 'E_MISALIGNED_ADDRESS');
    expectRejectedUnchanged(va, () => va.take(0xf_f000, K), AddressOutOfRangeError, 'E_ADDRESS_OUT_OF_RANGE');
    expectRejectedUnchanged(va, () => va.take(0x11_0000, K), AddressOutOfRangeError, 'E_ADDRESS_OUT_OF_RANGE');
    expectRejectedUnchanged(va, () => va.take(0x10_f000, 2 * K), AddressOutOfRangeError, 'E_ADDRESS_OUT_OF_RANGE');
    expectRejectedUnchanged(va, () => va.take(Number.NaN, K), AddressOutOfRangeError, 'E_ADDRESS_OUT_OF_RANGE');
    expectRejectedUnchanged(va, () => va.take(0x10_0000, 0), InvalidSizeError, 'E_INVALID_SIZE');
    expectRejectedUnchanged(va, () => va.take(0x10_0000, 100), UnalignedSizeError, 'E_UNALIGNED_SIZE');
  });
});

describe('VirtualAllocator.free', () => {
  it('frees a whole block by its address, returns its size and merges both free neighbours', () => {
    const va = small();
    const a = va.alloc(K)!;
    const b = va.alloc(2 * K)!;
    const c = va.alloc(K)!;
    va.free(a);
    va.free(c);
    expect(va.stats().blockCount).toBe(3);
    expect(va.free(b)).toBe(2 * K);
    expect([...va.blocks()]).toEqual([free(0x10_0000, 0x11_0000)]);
    va.checkInvariants();
  });

  it('never merges in-use blocks: adjacent allocations stay separate blocks', () => {
    const va = small();
    va.alloc(K, { tag: 'a' });
    const b = va.alloc(K, { tag: 'b' })!;
    va.alloc(K, { tag: 'c' });
    va.free(b);
    expect([...va.blocks()]).toEqual([
      used(0x10_0000, 0x10_1000, 'a'),
      free(0x10_1000, 0x10_2000),
      used(0x10_2000, 0x10_3000, 'c'),
      free(0x10_3000, 0x11_0000),
    ]);
  });

  it('rejects a double free and freeing what was never allocated', () => {
    const va = small();
    const a = va.alloc(K)!;
    va.free(a);
    expectRejectedUnchanged(va, () => va.free(a), DoubleFreeError, 'E_DOUBLE_FREE');
    expectRejectedUnchanged(va, () => va.free(0x10_8000), DoubleFreeError, 'E_DOUBLE_FREE');
  });

  it('rejects free(addr) inside an in-use block that is not its start', () => {
    const va = small();
    va.alloc(4 * K);
    const e = expectError(() => va.free(0x10_1000), NotBlockStartError, 'E_NOT_BLOCK_START') as NotBlockStartError;
    expect(e.blockStart).toBe(0x10_0000);
    expect(va.stats().usedBytes).toBe(4 * K);
  });

  it('frees part of a block with a size: the head, the tail, or the middle (splitting it, tag kept)', () => {
    const va = small();
    va.alloc(8 * K, { tag: 'mmap' });
    expect(va.free(0x10_0000, K)).toBe(K); // head
    expect(va.free(0x10_7000, K)).toBe(K); // tail: merges with the free tail of the range
    expect(va.free(0x10_3000, 2 * K)).toBe(2 * K); // middle
    expect([...va.blocks()]).toEqual([
      free(0x10_0000, 0x10_1000),
      used(0x10_1000, 0x10_3000, 'mmap'),
      free(0x10_3000, 0x10_5000),
      used(0x10_5000, 0x10_7000, 'mmap'),
      free(0x10_7000, 0x11_0000),
    ]);
    expect(va.stats().usedBlockCount).toBe(2);
    va.checkInvariants();
  });

  it('frees a range spanning several adjacent in-use blocks (like munmap across mappings)', () => {
    const va = small();
    va.alloc(2 * K, { tag: 'a' });
    va.alloc(2 * K, { tag: 'b' });
    va.alloc(2 * K, { tag: 'c' });
    expect(va.free(0x10_1000, 4 * K)).toBe(4 * K);
    expect([...va.blocks()]).toEqual([used(0x10_0000, 0x10_1000, 'a'), free(0x10_1000, 0x10_5000), used(0x10_5000, 0x10_6000, 'c'), free(0x10_6000, 0x11_0000)]);
    va.checkInvariants();
  });

  it('rejects a sized free that covers any free byte, changing nothing', () => {
    const va = small();
    va.alloc(2 * K);
    va.take(0x10_3000, K);
    expectRejectedUnchanged(va, () => va.free(0x10_0000, 4 * K), DoubleFreeError, 'E_DOUBLE_FREE');
    expectRejectedUnchanged(va, () => va.free(0x10_1000, 2 * K), DoubleFreeError, 'E_DOUBLE_FREE');
  });

  it('rejects misaligned or out-of-range addresses and bad sizes', () => {
    const va = small();
    va.alloc(2 * K);
    expectRejectedUnchanged(va, () => va.free(0x10_0001), MisalignedAddressError, 'E_MISALIGNED_ADDRESS');
    expectRejectedUnchanged(va, () => va.free(0x11_0000), AddressOutOfRangeError, 'E_ADDRESS_OUT_OF_RANGE');
    expectRejectedUnchanged(va, () => va.free(0x10_0000, 17 * K), InvalidSizeError, 'E_INVALID_SIZE');
    expectRejectedUnchanged(va, () => va.free(0x10_f000, 2 * K), AddressOutOfRangeError, 'E_ADDRESS_OUT_OF_RANGE');
    expectRejectedUnchanged(va, () => va.free(0x10_0000, -K), InvalidSizeError, 'E_INVALID_SIZE');
    expectRejectedUnchanged(va, () => va.free(0x10_0000, 10), UnalignedSizeError, 'E_UNALIGNED_SIZE');
  });

  it('allocating everything, then freeing everything, gets back one free block', () => {
    const va = new VirtualAllocator({ start: 0, end: 512 * K });
    const got: number[] = [];
    for (let a = va.alloc(K); a !== null; a = va.alloc(K)) got.push(a);
    expect(got.length).toBe(512);
    expect(va.stats().freeBytes).toBe(0);
    for (let i = 0; i < got.length; i += 2) va.free(got[i]!);
    for (let i = 1; i < got.length; i += 2) va.free(got[i]!);
    expect([...va.blocks()]).toEqual([free(0, 512 * K)]);
    va.checkInvariants();
  });
});

describe('granule checks on addresses and sizes above 2^31 (doubles, not 32-bit integers)', () => {
  it('rejects an address or size off the granule and accepts one on it, up to the top of the safe range', () => {
    const g = 2 ** 21;
    const top = Math.floor(Number.MAX_SAFE_INTEGER / g) * g; // 2^53 - 2^21
    const start = top - 64 * g;
    const va = new VirtualAllocator({ start, end: top, granularityBytes: g });
    for (const addr of [start + 1, top - g - K, top - g / 2, top - 2 * g + 1]) {
      expectRejectedUnchanged(va, () => va.take(addr, g), MisalignedAddressError, 'E_MISALIGNED_ADDRESS');
      expectRejectedUnchanged(va, () => va.free(addr), MisalignedAddressError, 'E_MISALIGNED_ADDRESS');
    }
    for (const size of [g + 1, 3 * g - K, 40 * g + g / 2]) expectRejectedUnchanged(va, () => va.alloc(size), UnalignedSizeError, 'E_UNALIGNED_SIZE');
    expect(va.take(top - g, g)).toBe(true);
    expect(va.alloc(g, { alignBytes: 8 * g })).toBe(start + g); // the first multiple of 2^24 at or above start
    expect(va.free(top - g)).toBe(g);
    va.checkInvariants();
  });
});

describe('error messages', () => {
  it('print addresses in hex grouped by 4 digits, or with the formatAddress given', () => {
    const va = new VirtualAllocator({ start: 0x7fff_0000_0000, end: 0x8000_0000_0000 });
    const e = expectError(() => va.free(0x7fff_ffff_f000), DoubleFreeError, 'E_DOUBLE_FREE');
    expect(e.message).toContain('0x7fff_ffff_f000');
    const canon = new VirtualAllocator({ start: 0, end: 16 * K, formatAddress: (a) => `<${a.toString(16)}>` });
    expect(expectError(() => canon.free(0x2000), DoubleFreeError, 'E_DOUBLE_FREE').message).toContain('<2000>');
    expect(expectError(() => canon.take(0x2001, K), MisalignedAddressError, 'E_MISALIGNED_ADDRESS').message).toContain('<2001>');
  });
});

describe('VirtualAllocator.blockAt', () => {
  it('returns the block holding any byte address', () => {
    const va = small();
    va.take(0x10_2000, K, { tag: 'stack' });
    expect(va.blockAt(0x10_2fff)).toEqual(used(0x10_2000, 0x10_3000, 'stack'));
    expect(va.blockAt(0x10_1fff)).toEqual(free(0x10_0000, 0x10_2000));
    expect(va.blockAt(0x10_ffff)).toEqual(free(0x10_3000, 0x11_0000));
  });

  it('rejects an address outside the managed range', () => {
    const va = small();
    for (const addr of [0xf_ffff, 0x11_0000, Number.NaN, -1]) {
      expectError(() => va.blockAt(addr), AddressOutOfRangeError, 'E_ADDRESS_OUT_OF_RANGE');
    }
  });
});

describe('in-use blocks far apart (the page radix tree across levels)', () => {
  it('finds the block holding an address whose page is many empty radix nodes above the block start', () => {
    // Pages counted in bytes (granularity 1) over 2^52: the radix tree grows to 7 levels, and the
    // start of a huge block is found from an address 2^44 pages further on.
    const va = new VirtualAllocator({ start: 0, end: 2 ** 52, granularityBytes: 1 });
    expect(va.take(0x10, 2 ** 45, { tag: 'huge' })).toBe(true);
    expect(va.take(2 ** 51, 0x1000, { tag: 'far' })).toBe(true);
    expect(va.blockAt(2 ** 44 + 5)).toEqual({ start: 0x10, end: 0x10 + 2 ** 45, used: true, tag: 'huge' });
    expect(() => va.free(2 ** 44)).toThrow(expect.objectContaining({ code: 'E_NOT_BLOCK_START', blockStart: 0x10 }));
    expect(va.free(2 ** 44, 0x100)).toBe(0x100); // munmap from the middle: the block splits in two
    expect([...va.blocks({ start: 0, end: 2 ** 45 })].map((b) => [b.start, b.end, b.used, b.tag])).toEqual([
      [0, 0x10, false, undefined],
      [0x10, 2 ** 44, true, 'huge'],
      [2 ** 44, 2 ** 44 + 0x100, false, undefined],
      [2 ** 44 + 0x100, 0x10 + 2 ** 45, true, 'huge'],
    ]);
    va.checkInvariants();
    va.free(0x10);
    va.free(2 ** 44 + 0x100);
    va.free(2 ** 51);
    va.checkInvariants(); // every leaf and inner node emptied is gone (checked: none empty is kept)
    expect([...va.blocks()]).toEqual([{ start: 0, end: 2 ** 52, used: false, tag: undefined }]);
  });
});

describe('VirtualAllocator.blocks', () => {
  it('lists only the blocks overlapping a given range, in address order', () => {
    const va = small();
    va.take(0x10_2000, K, { tag: 'a' });
    va.take(0x10_5000, K, { tag: 'b' });
    expect([...va.blocks({ start: 0x10_2800, end: 0x10_5001 })]).toEqual([
      used(0x10_2000, 0x10_3000, 'a'),
      free(0x10_3000, 0x10_5000),
      used(0x10_5000, 0x10_6000, 'b'),
    ]);
    expect([...va.blocks({ start: 0, end: 0x10_0000 })]).toEqual([]);
    expect([...va.blocks({ start: 0, end: 2 ** 60 })].length).toBe(5);
    expectError(() => va.blocks({ start: Number.NaN, end: 1 }), InvalidRangeError, 'E_INVALID_RANGE');
  });
});

describe('VirtualAllocator.stats', () => {
  it('counts used and free bytes, blocks, in-use blocks and the largest free range', () => {
    const va = small();
    va.take(0x10_2000, K);
    va.take(0x10_4000, 3 * K);
    expect(va.stats()).toEqual({ usedBytes: 4 * K, freeBytes: 12 * K, blockCount: 5, usedBlockCount: 2, largestFreeBytes: 9 * K });
  });
});

describe('VirtualAllocator.clone', () => {
  it('copies the blocks and then evolves independently of the original (fork)', () => {
    const parent = small();
    parent.alloc(2 * K, { tag: 'text' });
    const child = parent.clone();
    expect([...child.blocks()]).toEqual([...parent.blocks()]);
    expect(child.stats()).toEqual(parent.stats());
    child.alloc(K, { tag: 'child' });
    parent.free(0x10_0000);
    expect([...parent.blocks()]).toEqual([free(0x10_0000, 0x11_0000)]);
    expect([...child.blocks()]).toEqual([used(0x10_0000, 0x10_2000, 'text'), used(0x10_2000, 0x10_3000, 'child'), free(0x10_3000, 0x11_0000)]);
    parent.checkInvariants();
    child.checkInvariants();
  });

  it('copies a grown allocator (many blocks) exactly', () => {
    const va = new VirtualAllocator({ start: 0, end: 4096 * K });
    for (let i = 0; i < 1000; i++) va.alloc(((i % 7) + 1) * K);
    for (let i = 0; i < 1000; i += 3) va.free(va.blockAt(i * 4 * K).start, K);
    const c = va.clone();
    c.checkInvariants();
    expect([...c.blocks()]).toEqual([...va.blocks()]);
    expect(c.alloc(3 * K)).toBe(va.alloc(3 * K));
  });
});

describe('tags', () => {
  it('are shared between the pieces of a split block and forgotten once no block holds them', () => {
    const va = new VirtualAllocator({ start: 0, end: 4096 * K });
    const addrs: number[] = [];
    for (let i = 0; i < 300; i++) addrs.push(va.alloc(2 * K, { tag: `mapping #${i}` })!);
    va.free(addrs[7]! + K, K); // split: both halves keep the tag
    expect(va.blockAt(addrs[7]!).tag).toBe('mapping #7');
    const internals = (va as unknown as { tags: { ids: Map<string, number> } }).tags;
    expect(internals.ids.size).toBe(300);
    for (const a of addrs) va.free(a, a === addrs[7] ? K : 2 * K);
    expect(internals.ids.size).toBe(0);
    va.checkInvariants();
    expect(va.alloc(K, { tag: 'again' })).toBe(0);
    expect(va.blockAt(0).tag).toBe('again');
  });
});

describe('VirtualAllocator.checkInvariants', () => {
  it('throws when a counter disagrees with the list', () => {
    const va = small();
    va.alloc(K);
    va.checkInvariants();
    (va as unknown as { usedBytesTotal: number }).usedBytesTotal += K;
    expect(() => va.checkInvariants()).toThrow(/usedBytes/);
  });

  it('throws when a max-tree largest-free value is wrong', () => {
    const va = small();
    va.alloc(K);
    const free = (va as unknown as { freeIdx: { tree: Float64Array } }).freeIdx;
    free.tree[0] = 1; // the max-tree's root: the largest free block of all
    expect(() => va.checkInvariants()).toThrow(/maxFree/);
  });

  it("throws when a free leaf's cached largest free block is wrong", () => {
    const va = small();
    va.alloc(K);
    const free = (va as unknown as { freeIdx: { lmax: Float64Array; ord: Int32Array } }).freeIdx;
    free.lmax[free.ord[0]!] = free.lmax[free.ord[0]!]! - K; // the first leaf's own largest free size
    expect(() => va.checkInvariants()).toThrow(/maxFree/);
  });

  it('throws when the free index and the in-use index disagree about a block', () => {
    const va = small();
    va.alloc(K);
    va.alloc(K);
    const free = (va as unknown as { freeIdx: { iv: Float64Array; ord: Int32Array } }).freeIdx;
    const k = free.ord[0]! * 32; // the first leaf (32 intervals): its first free block now starts inside the second in-use block
    free.iv[2 * k] = free.iv[2 * k]! - K; // interval k: start at 2k, length at 2k + 1
    free.iv[2 * k + 1] = free.iv[2 * k + 1]! + K;
    expect(() => va.checkInvariants()).toThrow(/invariant/);
  });

  it('throws when the radix index holds a block the list does not', () => {
    const va = small();
    const a = va.alloc(K)!;
    const used = (va as unknown as { usedIdx: { get(key: number): number; setEndAtSlot(end: number): void } }).usedIdx;
    used.get(a / 4096);
    used.setEndAtSlot(a + 2 * K); // the block's recorded end now runs into free space
    expect(() => va.checkInvariants()).toThrow(/invariant/);
  });

  it("throws when a radix leaf's count is wrong", () => {
    const va = small();
    va.alloc(K);
    va.alloc(K); // two blocks in the same 16 pages: a leaf (one alone is held inline)
    const used = (va as unknown as { usedIdx: { leafCount: Int32Array } }).usedIdx;
    used.leafCount[1] = used.leafCount[1]! + 1;
    expect(() => va.checkInvariants()).toThrow(/radix leaf 1 counts/);
  });
});

describe('isPowerOfTwo', () => {
  it('is exact above 2^32, where 32-bit bit tricks would truncate', () => {
    expect(isPowerOfTwo(1)).toBe(true);
    expect(isPowerOfTwo(2 ** 31)).toBe(true);
    expect(isPowerOfTwo(2 ** 40)).toBe(true);
    expect(isPowerOfTwo(2 ** 52)).toBe(true);
    expect(isPowerOfTwo(2 ** 32 + 2 ** 12)).toBe(false);
    expect(isPowerOfTwo(3 * 2 ** 40)).toBe(false);
    expect(isPowerOfTwo(2 ** 53)).toBe(false); // not a safe integer
    expect(isPowerOfTwo(0)).toBe(false);
    expect(isPowerOfTwo(0.5)).toBe(false);
  });
});

describe('hex', () => {
  it('groups hex digits by four from the right', () => {
    expect(hex(0)).toBe('0x0');
    expect(hex(0x1000)).toBe('0x1000');
    expect(hex(0x1_0000)).toBe('0x1_0000');
    expect(hex(0xffff_8000_0000)).toBe('0xffff_8000_0000');
    expect(hex(-1)).toBe('-1');
  });
});
