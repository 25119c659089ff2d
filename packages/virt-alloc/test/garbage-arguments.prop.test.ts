// Issue 14 (item 7 and "Also"): every public method given garbage throws a typed KmemError with a
// stable code, or returns what its TSDoc documents, and leaves the allocator as it was.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { expectRejected, garbage, notANumber } from '../../../test-support/garbage-arguments';
import { KmemError, VirtualAllocator } from '../src/index';

const P = 4096;
const START = 0x1000_0000;
const END = 0x8000_0000_0000; // the lower half of a 48-bit address space

function populated() {
  const va = new VirtualAllocator({ start: START, end: END });
  const used: number[] = [];
  for (let i = 1; i <= 12; i++) used.push(va.alloc(i * P, { tag: `b${i}` })!);
  va.free(used.splice(4, 1)[0]!);
  va.take(END - 4 * P, 4 * P, { tag: 'top' });
  used.push(END - 4 * P);
  const snapshot = (): string => {
    va.checkInvariants();
    return JSON.stringify({ blocks: [...va.blocks()], stats: va.stats() });
  };
  return { va, used, snapshot };
}

/** An address that is not a block start: garbage, misaligned inside a block, at or past the end, interior. */
function badAddress(used: readonly number[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    garbage(),
    fc.tuple(fc.constantFrom(...used), fc.integer({ min: 1, max: P - 1 })).map(([a, d]) => a + d),
    fc.constantFrom(END, END + P, START - P, 0, 2 ** 48, 2 ** 53),
  );
}

type H = ReturnType<typeof populated>;
/** [name, call, kind of argument, returns allowed instead of a throw]. */
const CALLS: [string, (h: H, g: unknown) => unknown, 'address' | 'size' | 'options', unknown[]][] = [
  ['alloc(size)', (h, g) => h.va.alloc(g as number), 'size', []],
  ['alloc(4096, options)', (h, g) => h.va.alloc(P, g as object), 'options', []],
  ['alloc(4096, { alignBytes })', (h, g) => h.va.alloc(P, { alignBytes: g as number }), 'size', []],
  ['alloc(4096, { within })', (h, g) => h.va.alloc(P, { within: g as { start: number; end: number } }), 'options', []],
  ['alloc(4096, { within: { start } })', (h, g) => h.va.alloc(P, { within: { start: g as number, end: END } }), 'size', []],
  ['take(addr, 4096)', (h, g) => h.va.take(g as number, P), 'address', [false]],
  ['take(free, size)', (h, g) => h.va.take(START + 0x1000_0000, g as number), 'size', []],
  ['take(free, 4096, options)', (h, g) => h.va.take(START + 0x1000_0000, P, g as object), 'options', []],
  ['free(addr)', (h, g) => h.va.free(g as number), 'address', []],
  ['free(used, size)', (h, g) => h.va.free(h.used[3]!, g as number), 'size', []],
  ['free(addr, 4096)', (h, g) => h.va.free(g as number, P), 'address', []],
  ['blockAt(addr)', (h, g) => h.va.blockAt(g as number), 'size', []],
  ['blocks(range)', (h, g) => [...h.va.blocks(g as { start: number; end: number })], 'options', []],
  ['blocks({ start })', (h, g) => [...h.va.blocks({ start: g as number, end: END })], 'size', []],
  ['new VirtualAllocator(options)', (_h, g) => new VirtualAllocator(g as { start: number; end: number }), 'options', []],
  ['new VirtualAllocator({ start })', (_h, g) => new VirtualAllocator({ start: g as number, end: END }), 'size', []],
  ['new VirtualAllocator({ end })', (_h, g) => new VirtualAllocator({ start: 0, end: g as number }), 'size', []],
  ['new VirtualAllocator({ granularityBytes })', (_h, g) => new VirtualAllocator({ start: 0, end: END, granularityBytes: g as number }), 'size', []],
  ['new VirtualAllocator({ formatAddress })', (_h, g) => new VirtualAllocator({ start: 0, end: END, formatAddress: g as () => string }), 'options', []],
];

/** Optional arguments, where `undefined` is the documented default. */
const OPTIONAL = /options|alignBytes|within \}|granularityBytes|formatAddress|blocks\(range\)|free\(used, size\)/;

describe('virt-alloc garbage arguments', () => {
  it('every public method given garbage throws a KmemError with a code and changes nothing', () => {
    const h = populated();
    const bad = { address: badAddress(h.used), size: garbage(), options: fc.oneof(notANumber(), fc.constant(undefined)) };
    fc.assert(
      fc.property(
        fc.constantFrom(...CALLS.keys()).chain((i) => fc.tuple(fc.constant(i), bad[CALLS[i]![2]])),
        ([i, g]) => {
          const [name, call, kind, allowed] = CALLS[i]!;
          fc.pre(!(g === undefined && OPTIONAL.test(name)));
          // An options bag may be any object (unknown keys are ignored).
          fc.pre(!(kind === 'options' && !name.includes('within') && !name.startsWith('blocks') && typeof g === 'object' && g !== null));
          fc.pre(!(name === 'new VirtualAllocator({ formatAddress })' && typeof g === 'function'));
          // blocks(range) clamps any numeric bounds to the managed range (documented); only non-numbers are errors.
          fc.pre(!(name === 'blocks({ start })' && typeof g === 'number' && !Number.isNaN(g)));
          expectRejected(KmemError, h.snapshot, () => call(h, g), allowed);
        },
      ),
      { numRuns: 400, examples: [[[0, 4096n]], [[8, BigInt(START)]], [[1, null]], [[3, null]], [[12, null]], [[14, null]], [[18, 'x']]] },
    );
  });
});
