// Issue 14 (item 7 and "Also"): every public method given garbage throws a typed KmemError with a
// stable code, or returns what its TSDoc documents, and leaves the allocator as it was.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { expectRejected, garbage, notANumber } from '../../../test-support/garbage-arguments';
import { BitmapFrameAllocator, KmemError } from '../src/index';

const F = 4096;

/** 8,192 frames with some used, some reserved permanently, and a zone view. */
function populated() {
  const pmm = new BitmapFrameAllocator(8192, { reserveLowBytes: 64 * F });
  const used: number[] = [];
  for (let i = 0; i < 40; i++) used.push(pmm.allocFrame()!);
  pmm.freeFrame(used.splice(7, 1)[0]!);
  used.push(pmm.allocContiguous(16, { alignBytes: 16 * F })!);
  pmm.reserve(4000 * F, 8, { permanent: true });
  const snapshot = (): string => {
    pmm.checkInvariants();
    return JSON.stringify({ words: Array.from(pmm.exportWords()), stats: pmm.stats(), free: pmm.freeFrames });
  };
  return { pmm, used, snapshot };
}

/** An address argument that is not a usable frame: garbage, misaligned, past the end. */
function badAddress(used: readonly number[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    garbage(),
    fc.tuple(fc.constantFrom(...used), fc.integer({ min: 1, max: F - 1 })).map(([p, d]) => p + d),
    fc.constantFrom(8192 * F, 2 ** 52, 2 ** 52 - F, -F),
  );
}

type H = ReturnType<typeof populated>;
/** [name, call, argument, returns allowed instead of a throw]. */
const CALLS: [string, (h: H, g: unknown) => unknown, 'address' | 'number' | 'object', unknown[]][] = [
  ['freeFrame(pa)', (h, g) => h.pmm.freeFrame(g as number), 'address', []],
  ['freePfn(pfn)', (h, g) => h.pmm.freePfn(g as number), 'number', []],
  ['isFree(pa)', (h, g) => h.pmm.isFree(g as number), 'address', []],
  ['isReserved(pa)', (h, g) => h.pmm.isReserved(g as number), 'address', []],
  ['zoneOf(pa)', (h, g) => h.pmm.zoneOf(g as number), 'number', []],
  ['freeContiguous(pa, 2)', (h, g) => h.pmm.freeContiguous(g as number, 2), 'address', []],
  ['freeContiguous(used, n)', (h, g) => h.pmm.freeContiguous(h.used[0]!, g as number), 'number', []],
  ['reserve(pa, 1)', (h, g) => h.pmm.reserve(g as number, 1), 'address', []],
  ['reserve(8000 * 4096, n)', (h, g) => h.pmm.reserve(8000 * F, g as number), 'number', []],
  ['allocContiguous(n)', (h, g) => h.pmm.allocContiguous(g as number), 'number', []],
  ['allocContiguous(1, { alignBytes })', (h, g) => h.pmm.allocContiguous(1, { alignBytes: g as number }), 'number', []],
  ['allocContiguous(1, { minAddr })', (h, g) => h.pmm.allocContiguous(1, { minAddr: g as number }), 'number', []],
  ['allocContiguous(1, { maxAddr })', (h, g) => h.pmm.allocContiguous(1, { maxAddr: g as number }), 'number', []],
  ['freeFramesBetween(min, 4096)', (h, g) => h.pmm.freeFramesBetween(g as number, F), 'number', []],
  ['placeBitmap(pa)', (h, g) => h.pmm.placeBitmap(g as number), 'address', []],
  ['importWords(words)', (h, g) => h.pmm.importWords(g as Uint32Array), 'object', []],
  ['zone(name)', (h, g) => h.pmm.zone(g as 'dma'), 'object', []],
  ["zone('dma').allocContiguous(n)", (h, g) => h.pmm.zone('dma').allocContiguous(g as number), 'number', []],
  ["zone('dma').contains(pa)", (h, g) => h.pmm.zone('dma').contains(g as number), 'number', [false]],
  ['new BitmapFrameAllocator(n)', (_h, g) => new BitmapFrameAllocator(g as number), 'number', []],
  ['new BitmapFrameAllocator(64, options)', (_h, g) => new BitmapFrameAllocator(64, g as object), 'object', []],
  ['new BitmapFrameAllocator(64, { reserveLowBytes })', (_h, g) => new BitmapFrameAllocator(64, { reserveLowBytes: g as number }), 'number', []],
  ['fromMemoryMap(regions)', (_h, g) => BitmapFrameAllocator.fromMemoryMap(g as []), 'object', []],
  ['fromMemoryMap([region])', (_h, g) => BitmapFrameAllocator.fromMemoryMap([g as never]), 'object', []],
  ['fromMemoryMap(usable, options)', (_h, g) => BitmapFrameAllocator.fromMemoryMap([{ base: 0, lengthBytes: 1 << 24, kind: 'usable' }], g as object), 'object', []],
];

describe('pmm-bitmap garbage arguments', () => {
  it('every public method given garbage throws a KmemError with a code and changes nothing', () => {
    const h = populated();
    const bad = { address: badAddress(h.used), number: garbage(), object: fc.oneof(notANumber(), fc.constant(undefined)) };
    fc.assert(
      fc.property(
        fc.constantFrom(...CALLS.keys()).chain((i) => fc.tuple(fc.constant(i), bad[CALLS[i]![2]])),
        ([i, g]) => {
          const [name, call, , allowed] = CALLS[i]!;
          // Optional arguments: undefined (and an empty options object) mean "the default".
          fc.pre(!(g === undefined && /options|alignBytes|minAddr|maxAddr|reserveLowBytes/.test(name)));
          // Any object is an options bag (unknown keys are ignored); null and non-objects are garbage.
          fc.pre(!(name.includes('options') && typeof g === 'object' && g !== null));
          expectRejected(KmemError, h.snapshot, () => call(h, g), allowed);
        },
      ),
      { numRuns: 400, examples: [[[0, 4096n]], [[0, 0n]], [[0, '4096']], [[1, 4096n]], [[18, Symbol('s')]]] },
    );
  });
});
