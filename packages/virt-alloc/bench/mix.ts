// Issue 19's virt-alloc workloads, the same operations for every contender (one per process):
// 100,000 live blocks, then a mix of alloc (the lowest fitting address) and free (a random live
// block), half and half, so the live count random-walks around 100,000.
//   units: every block is one page (the only case number-allocator handles);
//   sized: blocks of 1..256 pages.
// Setup: 100,000 allocations and 200,000 untimed mix operations (a fragmented space); then one
// warm-up and 3 timed segments of 250,000 operations; the median by CPU time. The random numbers
// are drawn before timing (mulberry32, the same seed for everyone).
import { measure, medianFigure, type ChildReport, type Figure } from '../../../test-support/alternating-runs';
import { mulberry32 } from '../../../test-support/mulberry32';

export const LIVE = 100_000;
export const SEGMENT = 250_000;

/** alloc(pages) → start (in pages or bytes, the contender's unit), or -1; free(start). */
export interface Contender {
  alloc(pageCount: number): number;
  free(start: number): void;
}

interface Ops {
  /** Per op: 0 = free, else the page count to allocate. */
  pages: Int32Array;
  /** Per op: which live block a free takes, as a fraction in [0, 1). */
  pick: Float64Array;
}

function ops(n: number, r: () => number, sized: boolean): Ops {
  const pages = new Int32Array(n);
  const pick = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    pages[i] = r() < 0.5 ? (sized ? 1 + Math.floor(r() * 256) : 1) : 0;
    pick[i] = r();
  }
  return { pages, pick };
}

function run(c: Contender, o: Ops, live: Float64Array, count: number): number {
  const { pages, pick } = o;
  for (let i = 0; i < pages.length; i++) {
    const n = pages[i]!;
    if (n !== 0 || count === 0) {
      const a = c.alloc(n === 0 ? 1 : n);
      if (a < 0) throw new Error('space exhausted');
      live[count++] = a;
    } else {
      const k = Math.floor(pick[i]! * count);
      c.free(live[k]!);
      live[k] = live[--count]!;
    }
  }
  return count;
}

/** Runs the workload `sized` (or units) on a fresh contender from `make`. */
export function runMix(make: () => Contender, sized: boolean): Figure {
  const r = mulberry32(sized ? 7 : 5);
  const c = make();
  const live = new Float64Array(LIVE * 4);
  let count = 0;
  for (let i = 0; i < LIVE; i++) live[count++] = c.alloc(sized ? 1 + Math.floor(r() * 256) : 1);
  count = run(c, ops(2 * LIVE, r, sized), live, count);
  const runs: Figure[] = [];
  for (let s = 0; s < 4; s++) {
    const o = ops(SEGMENT, r, sized);
    let after = 0;
    const f = measure(SEGMENT, () => {
      after = run(c, o, live, count);
    });
    count = after;
    if (s > 0) runs.push(f);
  }
  return medianFigure(runs);
}

/** Both workloads (or only units) for a contender factory. */
export function runWorkloads(make: (sized: boolean) => Contender, sizedToo: boolean): ChildReport {
  const out: ChildReport = { units: runMix(() => make(false), false) };
  if (sizedToo) out.sized = runMix(() => make(true), true);
  return out;
}
