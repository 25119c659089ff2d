// Issue 19: the TLSF's quick lists — freed blocks kept unmerged per size class and handed straight
// back to the next request of that class. What must hold: a cached block is still "free" to every
// misuse check (double free, interior pointer), it never costs an arena of its own (the lists are
// given back before the TLSF grows — first the blocks that merge with a neighbour, then, if that
// is not enough, all — and when its last block is freed), trim() returns what they
// held, debug mode does without them, and over any sequence the heap stays consistent with a Map
// of live blocks (checkInvariants after every step, with and without the words32 view).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DoubleFreeError, InteriorPointerError, type ArrayBufferBacking, type KernelHeap } from '../src/index';
import { DEEP_QUICK_DEPTH, QUICK_DEPTH } from '../src/tlsf';
import { checkPattern, makeHeap, writePattern } from './helpers';

const tlsfBlocks = (heap: KernelHeap) => heap.blocks().filter((b) => b.kind === 'tlsf');

/** A heap whose TLSF holds 24 arenas: one 600-byte block (`keep`), the rest 6,000-byte ones (`fill`, a class none of the tests asks for). */
function heapOf24Arenas(): { heap: KernelHeap; keep: number; fill: number[] } {
  const { heap } = makeHeap();
  const keep = heap.kmalloc(600)!;
  const fill: number[] = [];
  while (heap.stats().tlsf.arenaCount < 24) fill.push(heap.kmalloc(6000)!);
  return { heap, keep, fill };
}

describe('TLSF quick lists', () => {
  it('hand a freed block, unmerged, to the next request of its size class (last freed first)', () => {
    const { heap } = makeHeap();
    const [a, b, c] = [1000, 1000, 1000].map((s) => heap.kmalloc(s)!);
    heap.kfree(a!);
    heap.kfree(b!);
    // a and b are neighbours, yet both stay blocks of their own, free to callers.
    const free = tlsfBlocks(heap).filter((x) => !x.used);
    expect(free.map((x) => x.ptr)).toEqual(expect.arrayContaining([a, b]));
    heap.checkInvariants();
    expect(heap.kmalloc(990)).toBe(b); // same class (a 1,024-byte block)
    expect(heap.kmalloc(1000)).toBe(a);
    heap.kfree(c!);
    heap.checkInvariants();
  });

  it('in a heap of fewer than 24 arenas, hand a cached block to a request of the class two below its own, not three', () => {
    const { heap } = makeHeap();
    const keep = heap.kmalloc(600)!;
    const p = heap.kmalloc(1000)!; // a 1,024-byte block (TLSF list 2·32 + 0)
    heap.kfree(p);
    const q = heap.kmalloc(960)!; // a 976-byte block (list 1·32 + 29): three classes below
    expect(q).not.toBe(p);
    expect(heap.kmalloc(976)).toBe(p); // a 992-byte block (list 1·32 + 30): two classes below
    heap.checkInvariants();
    for (const x of [p, q, keep]) heap.kfree(x);
    heap.checkInvariants();
  });

  it('from 24 arenas on, hand a cached block of 4 KiB or more only to its class and the class below, and again below 24', () => {
    const { heap, keep, fill } = heapOf24Arenas();
    const p = heap.kmalloc(4200)!; // a 4,224-byte block (TLSF list 4·32 + 1)
    heap.kfree(p);
    const q = heap.kmalloc(4016)!; // a 4,032-byte block: two classes below, not served from p any more
    expect(q).not.toBe(p);
    heap.checkInvariants();
    expect(heap.kmalloc(4080)).toBe(p); // a 4,096-byte block: the class below
    heap.kfree(p);
    // Back under 24 arenas (the whole arenas of 6,000-byte blocks freed go back): two classes again.
    for (const x of fill.splice(0)) heap.kfree(x);
    expect(heap.stats().tlsf.arenaCount).toBeLessThan(24);
    heap.kfree(q);
    expect(heap.kmalloc(4016)).toBe(q); // q's own class: still cached
    expect(heap.kmalloc(4016)).toBe(p); // two classes below p's
    heap.checkInvariants();
    for (const x of [p, q, keep]) heap.kfree(x);
  });

  it('from 24 arenas on, still hand a cached block under 4 KiB to a request of the class two below its own', () => {
    const { heap, keep, fill } = heapOf24Arenas();
    const p = heap.kmalloc(1000)!; // a 1,024-byte block (TLSF list 2·32 + 0)
    const r = heap.kmalloc(4016)!; // a 4,032-byte block (list 3·32 + 31), the last class under 4 KiB
    const s = heap.kmalloc(4080)!; // a 4,096-byte block (list 4·32 + 0), the first of 4 KiB
    for (const x of [p, r, s]) heap.kfree(x);
    expect(heap.kmalloc(960)).not.toBe(p); // a 976-byte block: three classes below
    expect(heap.kmalloc(976)).toBe(p); // a 992-byte block: two classes below
    expect(heap.kmalloc(3888)).toBe(r); // a 3,904-byte block (list 3·32 + 29): two classes below r's
    expect(heap.kmalloc(3952)).not.toBe(s); // a 3,968-byte block (list 3·32 + 30): two classes below s's
    heap.checkInvariants();
    expect(heap.stats().tlsf.arenaCount).toBeGreaterThanOrEqual(24);
    for (const x of [...fill, keep]) heap.kfree(x);
    heap.checkInvariants();
  });

  it('still report a double free and an interior pointer of a cached block, changing nothing', () => {
    const { heap } = makeHeap();
    const keep = heap.kmalloc(2000)!;
    const p = heap.kmalloc(3000)!;
    heap.kfree(p);
    const before = JSON.stringify(heap.stats());
    expect(() => heap.kfree(p)).toThrow(DoubleFreeError);
    expect(() => heap.kfree(p + 16)).toThrow(DoubleFreeError); // inside free memory: freed before
    expect(JSON.stringify(heap.stats())).toBe(before);
    expect(() => heap.kfree(keep + 16)).toThrow(InteriorPointerError);
    heap.checkInvariants();
  });

  it.each([
    [1500, 1536, QUICK_DEPTH],
    [2990, 3008, QUICK_DEPTH],
    [3100, 3136, DEEP_QUICK_DEPTH],
    [3500, 3520, DEEP_QUICK_DEPTH],
  ])('hold at most as many blocks of %i bytes (%i-byte blocks) as their depth, %i; the frees beyond merge at once', (req, block, depth) => {
    const { heap } = makeHeap();
    const keep = heap.kmalloc(600)!;
    const ps = Array.from({ length: depth + 8 }, () => heap.kmalloc(req)!);
    for (const p of ps) heap.kfree(p);
    heap.checkInvariants();
    const free = tlsfBlocks(heap).filter((x) => !x.used);
    // `depth` cached blocks of the class, the rest merged into the arenas' free space.
    expect(free.filter((x) => x.sizeBytes === block)).toHaveLength(depth);
    expect(free.filter((x) => x.sizeBytes !== block).length).toBeGreaterThan(0);
    heap.kfree(keep);
  });

  it('are given back (merged) before the TLSF would take a new arena', () => {
    // Room for one 32 KiB arena and no second: a request that fits only once the cached blocks
    // merge must still succeed.
    const { heap } = makeHeap(40 * 1024);
    const ps: number[] = [];
    for (let p = heap.kmalloc(1000); p !== null; p = heap.kmalloc(1000)) ps.push(p);
    expect(heap.stats().tlsf.arenaCount).toBe(1);
    const front = ps.splice(0, QUICK_DEPTH);
    for (const p of front) heap.kfree(p); // all cached: QUICK_DEPTH KiB of neighbours, none merged yet
    expect(tlsfBlocks(heap).filter((x) => !x.used).length).toBeGreaterThanOrEqual(QUICK_DEPTH);
    // Fits only once the cached blocks merge: the rest of the arena is in use.
    const big = heap.kmalloc(QUICK_DEPTH * 1024 - 2000);
    expect(big).not.toBeNull();
    expect(front).toContain(big);
    heap.checkInvariants();
    heap.kfree(big);
    for (const p of ps) heap.kfree(p);
    heap.checkInvariants();
  });

  it('give back first the blocks that merge with a neighbour, and keep the others cached', () => {
    // One 32 KiB arena, full of 1,024-byte blocks; two neighbours and one lone block freed (all
    // cached). A request that fits only in the two neighbours merged takes them; the lone block,
    // whose merging would have gained nothing, is still cached for the next request of its class.
    const { heap, backing } = makeHeap(40 * 1024);
    const ps: number[] = [];
    for (let p = heap.kmalloc(1000); p !== null; p = heap.kmalloc(1000)) ps.push(p);
    expect(heap.stats().tlsf.arenaCount).toBe(1);
    const [first, second, lone] = [ps[0]!, ps[1]!, ps[5]!];
    for (const p of [first, second, lone]) heap.kfree(p);
    // The size word of a block's header (README, Memory layout): bit 1 QUICK (cached), bit 0 FREE (on the TLSF's lists).
    const flags = (p: number) => backing.read32(p - 16 + 4) & 3;
    expect([first, second, lone].map(flags)).toEqual([2, 2, 2]);
    expect(heap.kmalloc(2032)).toBe(first); // 2,048 bytes with its header: the two merged, exactly
    heap.checkInvariants();
    expect(tlsfBlocks(heap).find((x) => x.ptr === lone)).toMatchObject({ used: false, sizeBytes: 1024 });
    expect(flags(lone)).toBe(2); // still cached, not merged into the TLSF's lists
    expect(heap.kmalloc(1000)).toBe(lone); // a quick-list hit
    heap.checkInvariants();
  });

  it('are emptied when the last TLSF block is freed, and trim() returns the arenas they held', () => {
    const { heap, backing } = makeHeap();
    const ps = Array.from({ length: 100 }, (_, i) => heap.kmalloc(1000 + 20 * i)!);
    const small = heap.kmalloc(100)!;
    for (const p of ps) heap.kfree(p);
    // Every TLSF block free: one spare arena left, a single free block spanning it.
    expect(heap.stats().tlsf.arenaCount).toBe(1);
    expect(tlsfBlocks(heap)).toHaveLength(1);
    heap.checkInvariants();
    // With one block still in use, cached blocks hold arenas until trim().
    const keep = heap.kmalloc(5000)!;
    const more = Array.from({ length: 60 }, () => heap.kmalloc(3000)!);
    for (const p of more) heap.kfree(p);
    const held = heap.stats().tlsf.arenaCount;
    heap.trim();
    expect(heap.stats().tlsf.arenaCount).toBeLessThan(held);
    heap.checkInvariants();
    heap.kfree(keep);
    heap.kfree(small);
    heap.trim();
    expect(backing.pagesHeld).toBe(0);
  });

  it('are not used in debug mode: a freed block merges at once', () => {
    const { heap } = makeHeap(4 * 1024 * 1024, { debug: true });
    const keep = heap.kmalloc(600)!;
    const [a, b] = [1000, 1000].map((s) => heap.kmalloc(s)!);
    heap.kfree(a!);
    heap.kfree(b!);
    expect(tlsfBlocks(heap).filter((x) => !x.used)).toHaveLength(1);
    heap.checkInvariants();
    heap.kfree(keep);
  });
});

// ------------------------------------------------------------------ model-based

interface Model {
  live: Map<number, { size: number; seed: number }>;
  /** Pointers freed and not handed out again since. */
  freed: Set<number>;
  nextSeed: number;
}
interface Real {
  heap: KernelHeap;
  backing: ArrayBufferBacking;
}
/** Over all runs: allocations that got a pointer freed before (a quick-list hit, or a merged block's start). */
const seen = { reused: 0 };

function settle(m: Model, r: Real): void {
  r.heap.checkInvariants();
  const s = r.heap.stats();
  expect(s.allocations).toBe(m.live.size);
  // TLSF and large blocks record their request exactly.
  expect(s.bytesRequested).toBe([...m.live.values()].reduce((n, l) => n + l.size, 0));
}

class Alloc implements fc.Command<Model, Real> {
  constructor(readonly size: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const p = r.heap.kmalloc(this.size);
    if (p !== null) {
      expect(r.heap.ksize(p)).toBeGreaterThanOrEqual(this.size);
      for (const [q, l] of m.live) expect(p + this.size <= q || q + l.size <= p).toBe(true);
      const seed = m.nextSeed++;
      writePattern(r.backing, p, this.size, seed);
      m.live.set(p, { size: this.size, seed });
      if (m.freed.delete(p)) seen.reused++;
    }
    settle(m, r);
  }
  toString = () => `kmalloc(${this.size})`;
}

class Free implements fc.Command<Model, Real> {
  constructor(readonly index: number) {}
  check = (m: Readonly<Model>) => m.live.size > 0;
  run(m: Model, r: Real): void {
    const [p, l] = [...m.live][this.index % m.live.size]!;
    expect(checkPattern(r.backing, p, l.size, l.seed)).toBe(-1);
    r.heap.kfree(p);
    m.live.delete(p);
    m.freed.add(p);
    settle(m, r);
  }
  toString = () => `kfree(#${this.index})`;
}

/** Frees a pointer already freed (cached, merged or given back): an error, and nothing changes. */
class FreeAgain implements fc.Command<Model, Real> {
  constructor(readonly index: number) {}
  check = (m: Readonly<Model>) => m.freed.size > 0;
  run(m: Model, r: Real): void {
    const p = [...m.freed][this.index % m.freed.size]!;
    if (m.live.has(p)) return;
    const before = JSON.stringify(r.heap.stats());
    expect(() => r.heap.kfree(p)).toThrow();
    expect(JSON.stringify(r.heap.stats())).toBe(before);
    settle(m, r);
  }
  toString = () => `kfree(freed #${this.index})`;
}

class Trim implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real): void {
    r.heap.trim();
    settle(m, r);
  }
  toString = () => 'trim()';
}

// A few size classes (so lists fill past QUICK_DEPTH and hit), sizes spread over the TLSF's range,
// and the odd large block; a 512 KiB region, so drains before growing and out-of-memory both happen.
const size = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(600, 1000, 1024, 2000, 4000, 8192) },
  { weight: 3, arbitrary: fc.integer({ min: 513, max: 12_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 33_000, max: 90_000 }) },
);
const commands = [
  size.map((s) => new Alloc(s)),
  size.map((s) => new Alloc(s)),
  fc.nat().map((i) => new Free(i)),
  fc.nat().map((i) => new Free(i)),
  fc.nat().map((i) => new FreeAgain(i)),
  fc.constant(new Trim()),
];

describe('TLSF quick lists (model-based)', () => {
  // 512 KiB: drains before growing and out-of-memory both happen. With ballast (1.5 MiB, 21 arenas
  // of live 4,000-byte blocks to start from, which the commands free too): the TLSF crosses 24
  // arenas, where a request stops taking blocks of the class two above its own from 3 KiB up, and back.
  for (const [label, port, region, ballast] of [
    ['words32 view', false, 512 * 1024, 0],
    ['port only', true, 512 * 1024, 0],
    ['words32 view, around 24 arenas', false, 1536 * 1024, 21],
  ] as const) {
    it(`keep the heap consistent with a Map of live blocks (${label})`, () => {
      const arenas = { below: 0, above: 0 };
      fc.assert(
        fc.property(fc.commands(commands, { maxCommands: 200, size: 'max' }), (cmds) => {
          const { heap, backing } = makeHeap(region, { port });
          const model: Model = { live: new Map(), freed: new Set(), nextSeed: 1 };
          while (heap.stats().tlsf.arenaCount < ballast) {
            const p = heap.kmalloc(4000)!;
            const seed = model.nextSeed++;
            writePattern(backing, p, 4000, seed);
            model.live.set(p, { size: 4000, seed });
          }
          fc.modelRun(() => ({ model, real: { heap, backing } }), cmds);
          for (const [p, l] of model.live) expect(checkPattern(backing, p, l.size, l.seed)).toBe(-1);
          arenas[heap.stats().tlsf.arenaCount < 24 ? 'below' : 'above']++;
        }),
        { numRuns: Number(process.env.KHEAP_PROP_RUNS ?? 40) },
      );
      expect(seen.reused).toBeGreaterThan(0);
      // The ballast runs end on both sides of 24 arenas (about half each: 40 runs all on one side
      // would have a chance under 1e-10).
      if (ballast > 0) expect(Math.min(arenas.below, arenas.above)).toBeGreaterThan(0);
    });
  }
});
