// Shared by the A/B benches (pmm-region-list, va-policy): runs of one (variant, workload) each in
// its own process, variants alternating from round to round, and medians; a seeded xorshift32.
import { spawnSync } from 'node:child_process';

/**
 * Runs `script <variant> <workload>` under tsx with the source condition, once per (variant,
 * workload) per round, the variants' order reversed every other round; each run prints its result
 * as the last line of JSON.
 */
export function runAlternating<R>(script: string, variants: readonly string[], workloads: readonly string[], rounds: number): R[] {
  const runs: R[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const w of workloads) {
      for (const v of round % 2 === 0 ? variants : [...variants].reverse()) {
        const r = spawnSync(process.execPath, ['--conditions=@kmem/source', '--import', 'tsx', script, v, w], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(r.stderr);
        runs.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as R);
      }
    }
  }
  return runs;
}

/** The median (the upper one of an even count). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** xorshift32 from a fixed seed: the same pseudo-random sequence for every variant; `rand(n)` is in [0, n). */
export function xorshift(seed = 0x2545f491): (n: number) => number {
  let s = seed;
  return (n: number): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}
