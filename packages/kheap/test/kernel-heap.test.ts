import { describe, expect, it } from 'vitest';
import type {
  KmemError} from '../src/index';
import {
  ArrayBufferBacking,
  CacheStateError,
  DoubleFreeError,
  HeapCorruptionError,
  InteriorPointerError,
  InvalidAlignmentError,
  InvalidOptionError,
  InvalidPointerError,
  InvalidSizeError,
  KernelHeap,
  LARGE_MIN_BYTES,
  PAGE_SIZE,
  SLAB_MAX_BYTES,
  WrongCacheError,
  hex,
} from '../src/index';
import { checkPattern, makeHeap, writePattern } from './helpers';

function kindOf(heap: KernelHeap, ptr: number): string | undefined {
  return heap.blocks().find((b) => b.used && b.ptr === ptr)?.kind;
}

/** Runs `f`, expects it to throw `cls`, and checks the heap's observable state did not change. */
function expectUnchanged(heap: KernelHeap, f: () => void, cls: new (...a: never[]) => KmemError): KmemError {
  const before = JSON.stringify([heap.stats(), heap.blocks()]);
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(cls);
  expect(JSON.stringify([heap.stats(), heap.blocks()])).toBe(before);
  return caught as KmemError;
}

describe('KernelHeap.kmalloc', () => {
  it('routes small requests to slab caches, medium to TLSF and large to whole pages', () => {
    const { heap } = makeHeap();
    const small = heap.kmalloc(SLAB_MAX_BYTES)!;
    const medium = heap.kmalloc(SLAB_MAX_BYTES + 1)!;
    const mediumTop = heap.kmalloc(LARGE_MIN_BYTES)!;
    const large = heap.kmalloc(LARGE_MIN_BYTES + 1)!;
    expect(kindOf(heap, small)).toBe('slab');
    expect(kindOf(heap, medium)).toBe('tlsf');
    expect(kindOf(heap, mediumTop)).toBe('tlsf');
    expect(kindOf(heap, large)).toBe('large');
    expect(large % PAGE_SIZE).toBe(0);
    expect(heap.ksize(large)).toBe(9 * PAGE_SIZE);
    heap.checkInvariants();
  });

  it('picks the smallest kmalloc class that fits', () => {
    const { heap } = makeHeap();
    const cases: [number, number][] = [
      [1, 8],
      [9, 16],
      [33, 64],
      [65, 96],
      [97, 128],
      [129, 192],
      [257, 384],
      [385, 512],
    ];
    for (const [req, usable] of cases) expect(heap.ksize(heap.kmalloc(req)!)).toBe(usable);
    expect(heap.stats().caches.find((c) => c.name === 'kmalloc-96')!.objectsInUse).toBe(1);
  });

  it('returns 8-aligned pointers, 16-aligned above 8 bytes, natural alignment for power-of-two classes', () => {
    const { heap } = makeHeap();
    for (let size = 0; size <= 3000; size += 37) {
      const p = heap.kmalloc(size)!;
      expect(p % (size > 8 ? 16 : 8)).toBe(0);
    }
    for (const size of [8, 16, 32, 64, 128, 256, 512]) expect(heap.kmalloc(size)! % size).toBe(0);
  });

  it('honours alignBytes up to a page in every size range', () => {
    for (const debug of [false, true]) {
      const { heap } = makeHeap(8 * 1024 * 1024, { debug });
      for (const align of [1, 2, 8, 16, 32, 64, 128, 256, 1024, 4096]) {
        for (const size of [0, 5, 100, 500, 600, 3000, 20000, 40000]) {
          const p = heap.kmalloc(size, { alignBytes: align })!;
          expect(p % align, `size ${size} align ${align} debug ${debug}`).toBe(0);
          expect(heap.ksize(p)).toBeGreaterThanOrEqual(size);
        }
      }
      heap.checkInvariants();
    }
  });

  it('returns a unique, freeable minimal block for kmalloc(0)', () => {
    const { heap } = makeHeap();
    const a = heap.kmalloc(0)!;
    const b = heap.kmalloc(0)!;
    expect(a).not.toBeNull();
    expect(a).not.toBe(b);
    expect(heap.ksize(a)).toBe(8);
    heap.kfree(a);
    heap.kfree(b);
    expect(heap.stats().allocations).toBe(0);
  });

  it('rejects negative, NaN, fractional, infinite and too-large sizes with E_INVALID_SIZE', () => {
    const { heap } = makeHeap(1024 * 1024);
    for (const bad of [-1, Number.NaN, 1.5, Infinity, -Infinity, 1024 * 1024 + 1, 2 ** 40]) {
      const e = expectUnchanged(heap, () => heap.kmalloc(bad), InvalidSizeError);
      expect(e.code).toBe('E_INVALID_SIZE');
    }
  });

  it('rejects an alignment that is not a power of two up to a page with E_INVALID_ALIGNMENT', () => {
    const { heap } = makeHeap();
    for (const bad of [0, 3, 24, 8192, -8, Number.NaN]) {
      const e = expectUnchanged(heap, () => heap.kmalloc(16, { alignBytes: bad }), InvalidAlignmentError);
      expect(e.code).toBe('E_INVALID_ALIGNMENT');
    }
  });

  it('works on addresses above 2^32 and prints them in canonical hex', () => {
    const { heap } = makeHeap(1024 * 1024, { base: 0x8000_0000_0000 });
    const p = heap.kmalloc(100)!;
    expect(p).toBeGreaterThan(2 ** 32);
    expect(() => heap.kfree(p + 8)).toThrow(/0xffff_8000_0000_/);
    heap.kfree(p);
  });
});

describe('KernelHeap.kfree', () => {
  it('ignores null and 0', () => {
    const { heap } = makeHeap();
    const p = heap.kmalloc(10);
    heap.kfree(null);
    heap.kfree(0);
    expect(heap.stats().allocations).toBe(1);
    heap.kfree(p);
  });

  it('rejects a pointer it never returned, naming the address, and changes nothing', () => {
    const { heap, backing } = makeHeap();
    heap.kmalloc(100);
    heap.kmalloc(1000);
    const wild = backing.base + 1024 * 1024;
    const e = expectUnchanged(heap, () => heap.kfree(wild), InvalidPointerError);
    expect(e.code).toBe('E_INVALID_POINTER');
    expect(e.message).toContain(hex(wild));
    expectUnchanged(heap, () => heap.kfree(12345), InvalidPointerError);
    expectUnchanged(heap, () => heap.kfree(backing.base + 3.5), InvalidPointerError);
    // The descriptor at the start of a slab page is no object.
    const first = heap.blocks().find((b) => b.kind === 'slab')!.start;
    const slabStart = first - (first % PAGE_SIZE);
    expectUnchanged(heap, () => heap.kfree(slabStart), InvalidPointerError);
    heap.checkInvariants();
  });

  it('rejects a pointer into the middle of a slab, TLSF or large block with the block and offset', () => {
    const { heap } = makeHeap();
    for (const size of [100, 2000, 100_000]) {
      const p = heap.kmalloc(size)!;
      const e = expectUnchanged(heap, () => heap.kfree(p + 16), InteriorPointerError) as InteriorPointerError;
      expect(e.code).toBe('E_INTERIOR_POINTER');
      expect(e.blockPtr).toBe(p);
      expect(e.offset).toBe(16);
      expect(e.message).toContain(hex(p + 16));
    }
    heap.checkInvariants();
  });

  it('rejects a pointer into a TLSF header as never returned', () => {
    const { heap } = makeHeap();
    heap.kmalloc(2000);
    const p = heap.kmalloc(2000)!;
    expectUnchanged(heap, () => heap.kfree(p - 8), InvalidPointerError);
  });

  it('detects double frees of slab, TLSF and large blocks', () => {
    const { heap } = makeHeap();
    for (const size of [24, 3000, 50_000]) {
      const keep = heap.kmalloc(size); // keeps the slab / arena alive
      const p = heap.kmalloc(size)!;
      heap.kfree(p);
      const e = expectUnchanged(heap, () => heap.kfree(p), DoubleFreeError);
      expect(e.code).toBe('E_DOUBLE_FREE');
      expect(e.message).toContain(hex(p));
      heap.kfree(keep);
    }
    heap.checkInvariants();
  });

  it('coalesces neighbouring TLSF blocks so freed memory is reused whole', () => {
    const { heap } = makeHeap();
    const ps = [1000, 1000, 1000, 1000].map((s) => heap.kmalloc(s)!);
    for (const p of ps) heap.kfree(p);
    const freeTlsf = heap.blocks().filter((b) => b.kind === 'tlsf');
    expect(freeTlsf).toHaveLength(1);
    expect(freeTlsf[0]!.used).toBe(false);
    heap.checkInvariants();
  });
});

describe('KernelHeap metadata in managed memory', () => {
  it('detects a TLSF overflow into the next block header on kfree and in checkInvariants', () => {
    const { heap, backing } = makeHeap();
    const a = heap.kmalloc(1000)!;
    const b = heap.kmalloc(1000)!;
    const size = heap.ksize(a);
    for (let i = 0; i < size + 16; i++) backing.write8(a + i, 0x41); // 16 bytes past the end: b's header
    expect(() => heap.checkInvariants()).toThrow(HeapCorruptionError);
    const e = expectUnchanged(heap, () => heap.kfree(b), HeapCorruptionError) as HeapCorruptionError;
    expect(e.code).toBe('E_HEAP_CORRUPTION');
    expect(e.report.kind).toBe('header');
  });

  it('detects an overwritten slab descriptor', () => {
    const { heap, backing } = makeHeap();
    const p = heap.kmalloc(64)!;
    const start = heap.blocks().find((b) => b.ptr === p)!.start;
    const slab = start - (start % PAGE_SIZE);
    backing.write32(slab, 0);
    const e = expectUnchanged(heap, () => heap.kfree(p), HeapCorruptionError) as HeapCorruptionError;
    expect(e.report.kind).toBe('slab-descriptor');
    expect(() => heap.checkInvariants()).toThrow(HeapCorruptionError);
  });

  it('detects a corrupted slab free-list link in checkInvariants', () => {
    const { heap, backing } = makeHeap();
    const p = heap.kmalloc(64)!;
    heap.kmalloc(64);
    heap.kfree(p);
    backing.write32(p, 12345); // use-after-free write over the free-list link
    expect(() => heap.checkInvariants()).toThrow(/free-list link/);
  });
});

describe('KernelHeap.krealloc / kzalloc / ksize', () => {
  it('keeps the contents when growing across allocators', () => {
    const { heap, backing } = makeHeap();
    let p = heap.kmalloc(40)!;
    writePattern(backing, p, 40, 3);
    for (const size of [300, 2000, 40_000, 100]) {
      const q = heap.krealloc(p, size)!;
      expect(checkPattern(backing, q, Math.min(40, size), 3)).toBe(-1);
      p = q;
    }
    heap.checkInvariants();
  });

  it('stays in place when the block is big enough', () => {
    const { heap } = makeHeap();
    const p = heap.kmalloc(2000)!;
    expect(heap.krealloc(p, 1500)).toBe(p);
    expect(heap.stats().bytesRequested).toBe(1500);
    heap.checkInvariants();
  });

  it('behaves as kmalloc for null and rejects bad pointers', () => {
    const { heap } = makeHeap();
    const p = heap.krealloc(null, 50)!;
    expect(heap.ksize(p)).toBe(64);
    expectUnchanged(heap, () => heap.krealloc(p + 8, 100), InteriorPointerError);
    expectUnchanged(heap, () => heap.krealloc(p, -5), InvalidSizeError);
  });

  it('returns null and leaves the old block intact when out of memory', () => {
    const { heap, backing } = makeHeap(256 * 1024);
    const p = heap.kmalloc(1000)!;
    writePattern(backing, p, 1000, 9);
    // 250,000 bytes are 62 pages; the region has 64, and the TLSF arena holding p took 8.
    expect(heap.krealloc(p, 250_000)).toBeNull();
    expect(checkPattern(backing, p, 1000, 9)).toBe(-1);
    expect(heap.ksize(p)).toBeGreaterThanOrEqual(1000);
    heap.checkInvariants();
  });

  it('kzalloc zeroes reused memory', () => {
    const { heap, backing } = makeHeap();
    for (const size of [50, 2000, 40_000]) {
      const p = heap.kmalloc(size)!;
      writePattern(backing, p, size, 1);
      heap.kfree(p);
      const q = heap.kzalloc(size)!;
      let nonZero = -1;
      for (let i = 0; i < heap.ksize(q) && nonZero === -1; i++) if (backing.read8(q + i) !== 0) nonZero = i;
      expect(nonZero).toBe(-1);
    }
  });
});

describe('KernelHeap.kmemCacheCreate', () => {
  it('allocates aligned fixed-size objects and frees them', () => {
    const { heap } = makeHeap();
    const cache = heap.kmemCacheCreate('task_struct', 200, { alignBytes: 64 });
    const objs = Array.from({ length: 50 }, () => cache.alloc()!);
    for (const p of objs) expect(p % 64).toBe(0);
    expect(new Set(objs).size).toBe(50);
    expect(cache.stats().objectsInUse).toBe(50);
    expect(heap.blocks().filter((b) => b.cache === 'task_struct' && b.used)).toHaveLength(50);
    for (const p of objs) cache.free(p);
    cache.destroy();
    heap.checkInvariants();
  });

  it('rejects objects of other caches and destroying a busy cache', () => {
    const { heap } = makeHeap();
    const a = heap.kmemCacheCreate('a', 32);
    const b = heap.kmemCacheCreate('b', 32);
    const p = a.alloc()!;
    const e = expectUnchanged(heap, () => b.free(p), WrongCacheError);
    expect(e.code).toBe('E_WRONG_CACHE');
    const big = heap.kmalloc(2000);
    expectUnchanged(heap, () => b.free(big), WrongCacheError);
    expect(() => a.destroy()).toThrow(CacheStateError);
    a.free(p);
    a.destroy();
    expect(() => a.alloc()).toThrow(CacheStateError);
    expect(() => heap.kmemCacheCreate('c', 0)).toThrow(InvalidSizeError);
    expect(() => heap.kmemCacheCreate('c', 9000)).toThrow(InvalidSizeError);
    heap.checkInvariants();
  });
});

describe('KernelHeap out of memory', () => {
  it('returns null, stays consistent, and reuses memory after a free', () => {
    for (const size of [64, 3000, 50_000]) {
      const { heap } = makeHeap(512 * 1024);
      const ps: number[] = [];
      for (;;) {
        const p = heap.kmalloc(size);
        if (p === null) break;
        ps.push(p);
      }
      heap.checkInvariants();
      expect(heap.kmalloc(size)).toBeNull();
      heap.kfree(ps.pop()!);
      expect(heap.kmalloc(size)).not.toBeNull();
      heap.checkInvariants();
    }
  });

  it('gives back kept reserve pages when another allocator needs them', () => {
    const { heap } = makeHeap(256 * 1024);
    const ps: number[] = [];
    for (let p = heap.kmalloc(100); p !== null; p = heap.kmalloc(100)) ps.push(p);
    for (const p of ps) heap.kfree(p);
    // One empty kmalloc-128 slab stays cached; the large request still succeeds.
    expect(heap.kmalloc(252 * 1024)).not.toBeNull();
    heap.checkInvariants();
  });
});

describe('KernelHeap.stats', () => {
  it('counts requested bytes, bytes in use and pages held', () => {
    const { heap, backing } = makeHeap();
    heap.kmalloc(1000);
    heap.kmalloc(40_000);
    const s = heap.stats();
    expect(s.bytesRequested).toBe(41_000);
    expect(s.bytesInUse).toBe(1024 + 10 * PAGE_SIZE);
    expect(s.pagesHeld).toBe(backing.pagesHeld);
    expect(s.allocations).toBe(2);
    expect(s.large).toEqual({ allocations: 1, pageCount: 10 });
    expect(s.tlsf.blocksInUse).toBe(1);
    expect(s.fragmentation).toBeCloseTo(1 - 41_000 / (s.pagesHeld * PAGE_SIZE));
  });

  for (const debug of [false, true]) {
    it(`counts each allocator's blocks as they come and go, quick lists included${debug ? ' (debug mode)' : ''}`, () => {
      // Slab objects count as their class size (their request in debug mode, where each records it),
      // TLSF blocks and large blocks as their request; a TLSF block freed into a quick list and
      // taken from it again is counted out and in like any other.
      const { heap } = makeHeap(1 << 20, { debug });
      const cache = heap.kmemCacheCreate('obj40', 40);
      const small = heap.kmalloc(100)!; // kmalloc-128
      const obj = cache.alloc()!;
      const medium = heap.kmalloc(1000)!;
      const large = heap.kmalloc(40_000)!;
      const requested = (debug ? 100 : 128) + 40 + 1000 + 40_000;
      expect(heap.stats()).toMatchObject({ allocations: 4, bytesRequested: requested });
      heap.kfree(medium);
      expect(heap.stats()).toMatchObject({ allocations: 3, bytesRequested: requested - 1000 });
      const again = heap.kmalloc(990)!; // the same size class: served from the quick list outside debug mode
      if (!debug) expect(again).toBe(medium);
      expect(heap.stats()).toMatchObject({ allocations: 4, bytesRequested: requested - 10 });
      heap.checkInvariants();
      for (const p of [small, again, large]) heap.kfree(p);
      cache.free(obj);
      expect(heap.stats()).toMatchObject({ allocations: 0, bytesRequested: 0, bytesInUse: 0 });
      heap.checkInvariants();
    });
  }
});

describe('KernelHeap constructor', () => {
  it('rejects unusable backings and options', () => {
    const backing = new ArrayBufferBacking({ maxBytes: 1024 * 1024 });
    expect(() => new KernelHeap({ backing, tlsfArenaBytes: 1000 })).toThrow(InvalidOptionError);
    expect(() => new KernelHeap({ backing: new ArrayBufferBacking({ base: 0, maxBytes: 1024 * 1024 }) })).toThrow(/null pointer/);
    expect(() => new KernelHeap({ backing: { ...backing, base: 100, limitBytes: 4096, grow: () => null, shrink: () => {}, read32: () => 0, write32: () => {}, read8: () => 0, write8: () => {} } })).toThrow(/base/);
  });
});

describe('KernelHeap.blocks', () => {
  it('tiles each TLSF arena and lists every slab object, in address order', () => {
    for (const debug of [false, true]) {
      const { heap } = makeHeap(4 * 1024 * 1024, { debug });
      const ps = [10, 700, 3000, 200, 50_000, 1500].map((s) => heap.kmalloc(s)!);
      heap.kfree(ps[2]!);
      const blocks = heap.blocks();
      for (let i = 1; i < blocks.length; i++) expect(blocks[i]!.start).toBeGreaterThanOrEqual(blocks[i - 1]!.start + blocks[i - 1]!.sizeBytes);
      const tlsf = blocks.filter((b) => b.kind === 'tlsf');
      // One 32 KiB arena (the default): blocks cover it except the 16-byte sentinel at its end.
      expect(tlsf.reduce((n, b) => n + b.sizeBytes, 0)).toBe(32 * 1024 - 16);
      for (let i = 1; i < tlsf.length; i++) expect(tlsf[i]!.start).toBe(tlsf[i - 1]!.start + tlsf[i - 1]!.sizeBytes);
      const used = blocks.filter((b) => b.used).map((b) => b.ptr);
      expect(used.sort((a, b) => a - b)).toEqual([ps[0], ps[1], ps[3], ps[4], ps[5]].sort((a, b) => a! - b!));
      expect(blocks.find((b) => b.ptr === ps[3])!.cache).toBe('kmalloc-256');
      expect(blocks.find((b) => b.ptr === ps[1])!.requestedBytes).toBe(700);
    }
  });
});
