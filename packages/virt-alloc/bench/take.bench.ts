// take() of random specific addresses at 100,000 live blocks (about one in ten hits a free range; a hit
// is freed again at once, inside the timed loop, so the state stays put).
//   pnpm --filter @kmem/virt-alloc bench
// The loops live in functions, not at module level: V8 compiles module-level loops by on-stack
// replacement, which made other benches in this repo bimodal between processes.
import type { VirtualAllocator } from '@kmem/virt-alloc';
import { buildState, LIVE_BLOCKS, PAGE, rng } from './workload';

/** Random operands, precomputed so the loop times take() and not the PRNG. */
function operands(va: VirtualAllocator, ops: number): { addrs: Float64Array; sizes: Float64Array } {
  let top = 0;
  for (const b of va.blocks()) if (b.used) top = b.end;
  const pages = top / PAGE;
  const r = rng(7);
  const addrs = new Float64Array(ops);
  const sizes = new Float64Array(ops);
  for (let i = 0; i < ops; i++) {
    addrs[i] = Math.floor(r() * pages) * PAGE;
    sizes[i] = (1 + Math.floor(r() * 4)) * PAGE;
  }
  return { addrs, sizes };
}

/** One timed round; returns the number of takes that succeeded. */
function round(va: VirtualAllocator, addrs: Float64Array, sizes: Float64Array): number {
  let hits = 0;
  for (let i = 0; i < addrs.length; i++) {
    const a = addrs[i]!;
    if (va.take(a, sizes[i]!)) {
      hits++;
      va.free(a);
    }
  }
  return hits;
}

function main(): void {
  const va = buildState().va;
  const ops = 1_000_000;
  const { addrs, sizes } = operands(va, ops);
  let best = 0;
  let bestCpu = 0;
  let hits = 0;
  for (let r = 0; r < 5; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    hits = round(va, addrs, sizes);
    const wallMs = performance.now() - t0;
    const c = process.cpuUsage(c0);
    best = Math.max(best, ops / (wallMs / 1000));
    bestCpu = Math.max(bestCpu, ops / ((c.user + c.system) / 1e6));
  }
  va.checkInvariants();
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`take() at random addresses, ${fmt(LIVE_BLOCKS)} live blocks (${fmt(va.stats().blockCount)} blocks), 4..16 KiB`);
  console.log(
    `  VirtualAllocator.take ${fmt(best).padStart(11)} ops/s wall ${fmt(bestCpu).padStart(11)} ops/CPU-s  (best of 5 x ${fmt(ops)}; ${((hits / ops) * 100).toFixed(0)}% hits, each hit freed again in the loop)`,
  );
}

main();
