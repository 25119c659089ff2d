// Do the one-pass analyses agree with the obvious slow way? Mattson's LRU curve against LRU run
// separately at each frame count, OPT against Belady by brute force and below every other policy,
// the working set against counting the window, the TLB hierarchy against a list per set.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPolicy, LruStackDistance, optFaults, POLICY_NAMES, PolicySimulation, simulateReferenceString, TlbHierarchySim, WorkingSetSeries } from '../src/index';

/** LRU with `frames` frames, as a list (most recent first). */
function lruModel(refs: readonly number[], frames: number): number {
  const stack: number[] = [];
  let faults = 0;
  for (const p of refs) {
    const i = stack.indexOf(p);
    if (i >= 0) stack.splice(i, 1);
    else {
      faults++;
      if (stack.length === frames) stack.pop();
    }
    stack.unshift(p);
  }
  return faults;
}

/** FIFO as a queue. */
function fifoModel(refs: readonly number[], frames: number): number {
  const q: number[] = [];
  let faults = 0;
  for (const p of refs) {
    if (q.includes(p)) continue;
    faults++;
    if (q.length === frames) q.shift();
    q.push(p);
  }
  return faults;
}

/** Belady by brute force: evict the resident page whose next use is furthest (never = furthest). */
function optModel(refs: readonly number[], frames: number): number {
  const resident: number[] = [];
  let faults = 0;
  refs.forEach((p, i) => {
    if (resident.includes(p)) return;
    faults++;
    if (resident.length === frames) {
      let victim = 0;
      let furthest = -1;
      resident.forEach((q, k) => {
        const next = refs.indexOf(q, i + 1);
        const d = next < 0 ? Infinity : next;
        if (d > furthest) {
          furthest = d;
          victim = k;
        }
      });
      resident.splice(victim, 1);
    }
    resident.push(p);
  });
  return faults;
}

const refsArb = fc.array(fc.integer({ min: 0, max: 24 }), { minLength: 1, maxLength: 300 });

describe('LruStackDistance', () => {
  it('gives, for every frame count, the faults of LRU run separately with that many frames', () => {
    fc.assert(
      fc.property(refsArb, (refs) => {
        const lru = new LruStackDistance(16); // small: compaction happens many times
        for (const p of refs) lru.reference(p);
        const curve = lru.missCurve();
        const distinct = new Set(refs).size;
        expect(curve.length).toBe(distinct + 1);
        for (let f = 1; f <= distinct + 2; f++) {
          const expected = lruModel(refs, f);
          expect(simulateReferenceString(createPolicy('lru'), refs, f).faults).toBe(expected);
          expect(lru.missesAt(f)).toBe(expected);
          if (f <= distinct) expect(curve[f]).toBe(expected);
        }
        expect(lru.coldMisses).toBe(distinct);
      }),
      { numRuns: 150 },
    );
  });

  it('counts repeats as distance-1 hits', () => {
    const lru = new LruStackDistance();
    lru.reference(1);
    lru.repeat(5);
    lru.reference(2);
    lru.reference(1);
    expect(lru.referenceCount).toBe(8);
    expect(lru.missesAt(1)).toBe(3);
    expect(lru.missesAt(2)).toBe(2);
  });
});

describe('optFaults', () => {
  it('equals Belady by brute force and the swap-layer OPT, and never exceeds any policy at any frame count', () => {
    fc.assert(
      fc.property(refsArb, fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 4 }), (refs, frames) => {
        const seq = Int32Array.from(refs);
        const got = optFaults(seq, 25, frames);
        frames.forEach((f, i) => {
          expect(got[i]).toBe(optModel(refs, f));
          expect(got[i]).toBe(simulateReferenceString(createPolicy('opt', { sequence: refs }), refs, f).faults);
          expect(got[i]).toBeLessThanOrEqual(lruModel(refs, f));
          expect(got[i]).toBeLessThanOrEqual(fifoModel(refs, f));
          for (const name of POLICY_NAMES) {
            if (name === 'opt') continue;
            expect(got[i]).toBeLessThanOrEqual(simulateReferenceString(createPolicy(name), refs, f, { tickEvery: 3 }).faults);
          }
        });
      }),
      { numRuns: 60 },
    );
  });
});

describe('PolicySimulation', () => {
  it('streams runs of one page and gives every swap-layer policy the faults and write-backs of simulateReferenceString', () => {
    const names = POLICY_NAMES.filter((n) => n !== 'opt');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 1, max: 4 }), fc.boolean()), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom(0, 1, 3, 7),
        fc.constantFrom(...names),
        (runs, frames, tickEvery, name) => {
          const pages: number[] = [];
          const writes: boolean[] = [];
          const sim = new PolicySimulation(createPolicy(name), frames, tickEvery);
          let prev = -1;
          for (const [page, length, write] of runs) {
            for (let k = 0; k < length; k++) {
              pages.push(page);
              writes.push(write && k === length - 1);
            }
            if (page === prev) sim.repeat(length, write);
            else {
              sim.reference(page, write && length === 1);
              if (length > 1) sim.repeat(length - 1, write);
            }
            prev = page;
          }
          const expected = simulateReferenceString(createPolicy(name), pages, frames, { writes, tickEvery });
          expect([sim.faults, sim.writeBacks]).toEqual([expected.faults, expected.writeBacks]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('WorkingSetSeries', () => {
  it('samples exactly the distinct pages of the last τ references', () => {
    fc.assert(
      fc.property(refsArb, fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 30 }), (refs, window, interval) => {
        const ws = new WorkingSetSeries(window, { interval, maxPoints: 1000 });
        let prev = -1;
        for (const p of refs) {
          if (p === prev) ws.extend(1);
          else ws.reference(p);
          prev = p;
        }
        const points = ws.points();
        expect(points.length).toBe(Math.floor(refs.length / interval));
        for (const { time, pageCount } of points) expect(pageCount).toBe(new Set(refs.slice(Math.max(0, time - window), time)).size);
      }),
      { numRuns: 150 },
    );
  });

  it('keeps at most maxPoints samples by doubling the interval', () => {
    const ws = new WorkingSetSeries(10, { interval: 1, maxPoints: 8 });
    for (let i = 0; i < 1000; i++) ws.reference(i % 3);
    expect(ws.points().length).toBeLessThanOrEqual(8);
    expect(ws.interval).toBeGreaterThan(1);
    expect(ws.points().every((p) => p.pageCount === 3)).toBe(true);
  });
});

describe('TlbHierarchySim', () => {
  /** Each level a list per set, most recent first; fill the levels that missed. */
  function model(pages: readonly number[], levels: readonly [number, number][]): { hits: number[]; walks: number } {
    const sets = levels.map(([entries, ways]) => Array.from({ length: entries / ways }, () => [] as number[]));
    const hits = levels.map(() => 0);
    let walks = 0;
    for (const p of pages) {
      let hitAt = -1;
      for (let l = 0; l < levels.length; l++) {
        const set = sets[l]![p % sets[l]!.length]!;
        const i = set.indexOf(p);
        if (i >= 0) {
          set.splice(i, 1);
          set.unshift(p);
          hits[l]!++;
          hitAt = l;
          break;
        }
      }
      if (hitAt < 0) walks++;
      const upTo = hitAt < 0 ? levels.length : hitAt;
      for (let l = 0; l < upTo; l++) {
        const set = sets[l]![p % sets[l]!.length]!;
        set.unshift(p);
        if (set.length > levels[l]![1]) set.pop();
      }
    }
    return { hits, walks };
  }

  it('matches per-set LRU lists level by level', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 400 }), (pages) => {
        const levels: [number, number][] = [
          [8, 2],
          [24, 3],
        ];
        const sim = new TlbHierarchySim(levels.map(([entryCount, wayCount]) => ({ entryCount, wayCount })));
        for (const p of pages) sim.access(p, p);
        const m = model(pages, levels);
        expect(Array.from(sim.hits)).toEqual(m.hits);
        expect(sim.walks).toBe(m.walks);
      }),
      { numRuns: 100 },
    );
  });
});
