// Issue 14 (item 7, item 8 and "Also"): every public method given garbage throws a typed
// KmemError with a stable code, or returns what its TSDoc documents, and leaves the heap as it was.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { expectRejected, garbage, notANumber } from '../../../test-support/garbage-arguments';
import { ArrayBufferBacking, KernelHeap, KmemError } from '../src/index';

/** A heap with a few live blocks of each kind (slab, TLSF, large, a custom cache). */
function populated(debug: boolean) {
  const backing = new ArrayBufferBacking({ maxBytes: 1 << 20 });
  const heap = new KernelHeap({ backing, debug });
  const cache = heap.kmemCacheCreate('obj40', 40);
  const live = [heap.kmalloc(24)!, heap.kmalloc(300)!, heap.kmalloc(2000)!, heap.kmalloc(40_000)!, cache.alloc()!];
  heap.kfree(heap.kmalloc(100)); // a free slab object next to live ones
  const snapshot = (): string => {
    heap.checkInvariants();
    backing.checkInvariants();
    return JSON.stringify({ stats: heap.stats(), blocks: heap.blocks(), pages: backing.pagesHeld });
  };
  return { backing, heap, cache, live, snapshot };
}

/** A pointer argument that is not a live block's start: garbage, a misaligned/interior address of a live block, or one outside the heap. */
function badPointer(live: readonly number[], base: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    garbage().filter((v) => v !== null && v !== 0),
    fc.tuple(fc.constantFrom(...live), fc.integer({ min: 1, max: 7 })).map(([p, d]) => p + d),
    fc.constantFrom(base - 4096, base - 16, base + (1 << 20), 2 ** 48, 8, 4096),
  );
}

type Call = (h: ReturnType<typeof populated>, g: unknown) => unknown;

/** [name, call, returns allowed instead of a throw] */
const CALLS: [string, Call, unknown[]][] = [
  ['kmalloc(size)', (h, g) => h.heap.kmalloc(g as number), []],
  ['kmalloc(8, { alignBytes })', (h, g) => h.heap.kmalloc(8, { alignBytes: g as number }), []],
  ['kzalloc(size)', (h, g) => h.heap.kzalloc(g as number), []],
  ['krealloc(ptr, size)', (h, g) => h.heap.krealloc(h.live[2]!, g as number), []],
  ['krealloc(ptr, 64, { alignBytes })', (h, g) => h.heap.krealloc(h.live[0]!, 64, { alignBytes: g as number }), []],
  ['kmemCacheCreate(name, 8)', (h, g) => h.heap.kmemCacheCreate(g as string, 8), []],
  ['kmemCacheCreate("c", size)', (h, g) => h.heap.kmemCacheCreate('c', g as number), []],
  ['kmemCacheCreate("c", 8, { alignBytes })', (h, g) => h.heap.kmemCacheCreate('c', 8, { alignBytes: g as number }), []],
  ['new KernelHeap({ backing, debug })', (_h, g) => new KernelHeap({ backing: new ArrayBufferBacking({ maxBytes: 1 << 20 }), debug: g as boolean }), []],
  ['new KernelHeap({ backing, tlsfArenaBytes })', (_h, g) => new KernelHeap({ backing: new ArrayBufferBacking({ maxBytes: 1 << 20 }), tlsfArenaBytes: g as number }), []],
  ['new KernelHeap({ backing })', (_h, g) => new KernelHeap({ backing: g as ArrayBufferBacking }), []],
  ['new ArrayBufferBacking({ maxBytes })', (_h, g) => new ArrayBufferBacking({ maxBytes: g as number }), []],
  ['new ArrayBufferBacking({ base })', (_h, g) => new ArrayBufferBacking({ base: g as number }), []],
  ['new ArrayBufferBacking({ buffer })', (_h, g) => new ArrayBufferBacking({ buffer: g as ArrayBuffer }), []],
  ['backing.grow(bytes)', (h, g) => h.backing.grow(g as number), []],
  ['backing.shrink(va, 4096)', (h, g) => h.backing.shrink(g as number, 4096), []],
];

/** Pointer-taking calls: [name, call]. */
const PTR_CALLS: [string, Call][] = [
  ['kfree(ptr)', (h, g) => h.heap.kfree(g as number)],
  ['ksize(ptr)', (h, g) => h.heap.ksize(g as number)],
  ['krealloc(ptr, 64)', (h, g) => h.heap.krealloc(g as number, 64)],
  ['cache.free(ptr)', (h, g) => h.cache.free(g as number)],
];

describe('kheap garbage arguments', () => {
  for (const debug of [false, true]) {
    it(`every public method given garbage throws a KmemError with a code and changes nothing (debug ${debug})`, () => {
      const h = populated(debug);
      const undefinedIsValid = new Set(['kmalloc(8, { alignBytes })', 'krealloc(ptr, 64, { alignBytes })', 'kmemCacheCreate("c", 8, { alignBytes })', 'new KernelHeap({ backing, debug })', 'new KernelHeap({ backing, tlsfArenaBytes })', 'new ArrayBufferBacking({ maxBytes })', 'new ArrayBufferBacking({ base })', 'new ArrayBufferBacking({ buffer })']);
      fc.assert(
        fc.property(fc.constantFrom(...CALLS.keys()), garbage(), notANumber(), (i, g, g2) => {
          const [name, call, allowed] = CALLS[i]!;
          const arg = g === undefined && undefinedIsValid.has(name) ? g2 : g;
          // A string names a cache validly unless it is empty: use a too-long one instead.
          const v = name.startsWith('kmemCacheCreate(name') && typeof arg === 'string' ? (arg === '' ? '' : 'x'.repeat(65)) : arg;
          fc.pre(!(name === 'new KernelHeap({ backing, debug })' && typeof v === 'boolean'));
          expectRejected(KmemError, h.snapshot, () => call(h, v), allowed);
        }),
        { numRuns: 250, examples: [[0, 16n, 0], [5, 42, 0], [11, 4096n, 0], [14, 4096n, 0]] },
      );
      fc.assert(
        fc.property(fc.constantFrom(...PTR_CALLS.keys()), badPointer(h.live, h.backing.base), (i, g) => {
          const [, call] = PTR_CALLS[i]!;
          expectRejected(KmemError, h.snapshot, () => call(h, g));
        }),
        { numRuns: 200, examples: [[0, BigInt(h.live[0]!)], [1, 4096n], [3, String(h.live[4]!)]] },
      );
    });
  }

  it('kfree(null) and kfree(0) are documented no-ops', () => {
    const h = populated(false);
    for (const p of [null, 0]) expectRejected(KmemError, h.snapshot, () => h.heap.kfree(p), [undefined]);
    for (const p of [null, 0]) expectRejected(KmemError, h.snapshot, () => h.cache.free(p), [undefined]);
  });
});
