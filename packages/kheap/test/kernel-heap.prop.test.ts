import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InteriorPointerError, InvalidPointerError, DoubleFreeError, type ArrayBufferBacking, type KernelHeap, type KmemCache } from '../src/index';
import { checkPattern, makeHeap, writePattern } from './helpers';

interface Live {
  size: number;
  seed: number;
  cache: boolean;
}
interface Model {
  live: Map<number, Live>;
  nextSeed: number;
}
interface Real {
  heap: KernelHeap;
  backing: ArrayBufferBacking;
  cache: KmemCache;
}

const CACHE_OBJECT = 72;
const CACHE_ALIGN = 32;

/** After every command: invariants, and no two live blocks overlap. */
function settle(m: Model, r: Real): void {
  r.heap.checkInvariants();
  const spans = [...m.live].map(([p, l]) => [p, p + Math.max(1, l.size)] as const).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
  expect(r.heap.stats().allocations).toBe(m.live.size);
}

function nth(m: Model, i: number): [number, Live] | undefined {
  if (m.live.size === 0) return undefined;
  return [...m.live][i % m.live.size];
}

function added(m: Model, r: Real, p: number, size: number, align: number, cache: boolean): void {
  expect(p % align).toBe(0);
  expect(r.heap.ksize(p)).toBeGreaterThanOrEqual(size);
  for (const [q, l] of m.live) expect(p + Math.max(1, size) <= q || q + Math.max(1, l.size) <= p).toBe(true);
  const seed = m.nextSeed++;
  writePattern(r.backing, p, size, seed);
  m.live.set(p, { size, seed, cache });
}

class Alloc implements fc.Command<Model, Real> {
  constructor(
    readonly size: number,
    readonly align: number,
    readonly zero: boolean,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const opts = this.align > 1 ? { alignBytes: this.align } : undefined;
    const p = this.zero ? r.heap.kzalloc(this.size, opts) : r.heap.kmalloc(this.size, opts);
    if (p !== null) {
      if (this.zero) for (let i = 0; i < Math.min(this.size, 64); i++) expect(r.backing.read8(p + i)).toBe(0);
      added(m, r, p, this.size, Math.max(8, this.align), false);
    }
    settle(m, r);
  }
  toString = () => `${this.zero ? 'kzalloc' : 'kmalloc'}(${this.size}, align ${this.align})`;
}

class Free implements fc.Command<Model, Real> {
  constructor(readonly index: number) {}
  check = (m: Readonly<Model>) => m.live.size > 0;
  run(m: Model, r: Real): void {
    const [p, l] = nth(m, this.index)!;
    expect(checkPattern(r.backing, p, l.size, l.seed)).toBe(-1);
    if (l.cache) r.cache.free(p);
    else r.heap.kfree(p);
    m.live.delete(p);
    // Freeing it again is a double free, caught before anything changes.
    let caught: unknown;
    try {
      r.heap.kfree(p);
    } catch (e) {
      caught = e;
    }
    expect(caught instanceof DoubleFreeError || caught instanceof InvalidPointerError).toBe(true);
    settle(m, r);
  }
  toString = () => `kfree(#${this.index})`;
}

class Realloc implements fc.Command<Model, Real> {
  constructor(
    readonly index: number,
    readonly size: number,
  ) {}
  check = (m: Readonly<Model>) => [...m.live.values()].some((l) => !l.cache);
  run(m: Model, r: Real): void {
    const entries = [...m.live].filter(([, l]) => !l.cache);
    const [p, l] = entries[this.index % entries.length]!;
    const q = r.heap.krealloc(p, this.size);
    if (q === null) {
      expect(checkPattern(r.backing, p, l.size, l.seed)).toBe(-1);
    } else {
      expect(checkPattern(r.backing, q, Math.min(l.size, this.size), l.seed)).toBe(-1);
      m.live.delete(p);
      added(m, r, q, this.size, 8, false);
    }
    settle(m, r);
  }
  toString = () => `krealloc(#${this.index}, ${this.size})`;
}

class CacheAlloc implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real): void {
    const p = r.cache.alloc();
    if (p !== null) added(m, r, p, CACHE_OBJECT, CACHE_ALIGN, true);
    settle(m, r);
  }
  toString = () => 'cache.alloc()';
}

class BadFree implements fc.Command<Model, Real> {
  constructor(
    readonly index: number,
    readonly delta: number,
  ) {}
  check = (m: Readonly<Model>) => m.live.size > 0;
  run(m: Model, r: Real): void {
    const [p] = nth(m, this.index)!;
    // Stay inside the block (a kmalloc(0) block is 8 bytes, 0 usable in debug mode).
    const delta = this.delta < r.heap.ksize(p) ? this.delta : 4;
    const before = JSON.stringify(r.heap.stats());
    expect(() => r.heap.kfree(p + delta)).toThrow(InteriorPointerError);
    expect(JSON.stringify(r.heap.stats())).toBe(before);
    settle(m, r);
  }
  toString = () => `kfree(#${this.index} + ${this.delta})`;
}

const size = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 600 }) },
  { weight: 4, arbitrary: fc.integer({ min: 500, max: 6000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 20_000, max: 70_000 }) },
);
const commands = [
  fc.tuple(size, fc.constantFrom(1, 1, 1, 16, 64, 512, 4096), fc.boolean()).map(([s, a, z]) => new Alloc(s, a, z)),
  fc.tuple(size, fc.constantFrom(1, 1, 1, 16, 64, 512, 4096), fc.boolean()).map(([s, a, z]) => new Alloc(s, a, z)),
  fc.nat().map((i) => new Free(i)),
  fc.nat().map((i) => new Free(i)),
  fc.tuple(fc.nat(), size).map(([i, s]) => new Realloc(i, s)),
  fc.constant(new CacheAlloc()),
  fc.tuple(fc.nat(), fc.constantFrom(4, 8, 16)).map(([i, d]) => new BadFree(i, d)),
];

describe('KernelHeap (model-based)', () => {
  for (const [label, debug, port] of [
    ['fast path', false, false],
    ['port only', false, true],
    ['debug mode', true, false],
  ] as const) {
    it(`keeps blocks disjoint, aligned and intact against a Map of live blocks (${label})`, () => {
      fc.assert(
        fc.property(fc.commands(commands, { maxCommands: 150, size: 'max' }), (cmds) => {
          const { heap, backing } = makeHeap(1024 * 1024, { debug, port });
          const real: Real = { heap, backing, cache: heap.kmemCacheCreate('obj72', CACHE_OBJECT, { alignBytes: CACHE_ALIGN }) };
          const model: Model = { live: new Map(), nextSeed: 1 };
          fc.modelRun(() => ({ model, real }), cmds);
          for (const [p, l] of model.live) expect(checkPattern(backing, p, l.size, l.seed)).toBe(-1);
        }),
        { numRuns: debug ? 30 : 45 },
      );
    });
  }
});
