// Issue 19's pmm-bitmap workloads, written once for every contender (one per process):
//   fill:  16,777,216 frames (64 GiB), empty -> full, one lowest-free allocation at a time;
//   churn: from a seeded random 95 % used bitmap, 300,000 pairs of {free a random used frame;
//          allocate the lowest free}.
// The random choices are drawn before timing (xorshift32, the same seed for everyone).
import { measure, medianFigure, type ChildReport, type Figure } from '../../../test-support/alternating-runs';

export const FRAMES = 16_777_216;
export const PAIRS = 300_000;

/** What a contender provides: a fresh allocator with frame 0 in use, alloc lowest (-1: none), free. */
export interface Contender {
  create(n: number): void;
  alloc(): number;
  free(frame: number): void;
}

function xorshift(seed: number): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** Fill and churn for `c`: fill 1 warm-up + 3 timed (median), churn 1 warm-up + 3 timed rounds of PAIRS (median). */
export function runWorkloads(c: Contender, which: readonly string[] = ['fill', 'churn']): ChildReport {
  const out: ChildReport = {};
  if (which.includes('fill')) {
    // One untimed fill first, as churn has an untimed segment: the first fills of a process run
    // while V8 compiles the caller's loop on background threads, which process.cpuUsage counts.
    const runs: Figure[] = [];
    for (let r = 0; r < 4; r++) {
      c.create(FRAMES);
      let count = 0;
      const f = measure(FRAMES - 1, () => {
        while (c.alloc() >= 0) count++;
      });
      if (count !== FRAMES - 1) throw new Error(`fill got ${count} frames`);
      if (r > 0) runs.push(f);
    }
    out.fill = medianFigure(runs);
  }
  if (which.includes('churn')) {
    const rand = xorshift(0x2545f491);
    c.create(FRAMES);
    while (c.alloc() >= 0);
    const freed = new Uint8Array(FRAMES);
    freed[0] = 1;
    const toFree = Math.round(FRAMES * 0.05);
    for (let k = 0; k < toFree; ) {
      const f = rand() % FRAMES;
      if (freed[f] === 0) {
        freed[f] = 1;
        c.free(f);
        k++;
      }
    }
    const pool = new Int32Array(FRAMES - 1 - toFree);
    for (let f = 1, i = 0; f < FRAMES; f++) if (freed[f] === 0) pool[i++] = f;
    const picks = new Int32Array(PAIRS);
    const runs: Figure[] = [];
    for (let r = 0; r < 4; r++) {
      for (let k = 0; k < PAIRS; k++) picks[k] = rand() % pool.length;
      const f = measure(PAIRS, () => churn(c, pool, picks));
      if (r > 0) runs.push(f);
    }
    out.churn = medianFigure(runs);
  }
  return out;
}

function churn(c: Contender, pool: Int32Array, picks: Int32Array): void {
  for (let k = 0; k < picks.length; k++) {
    const i = picks[k]!;
    c.free(pool[i]!);
    const g = c.alloc();
    if (g < 0) throw new Error('churn ran out of frames');
    pool[i] = g;
  }
}
