// @thi.ng/malloc's MemPool (first fit over an address-sorted free list) on the same trace.
// It is ~100x slower, so by default it replays a prefix of the trace (all of it with KHEAP_BENCH_FULL=1).
import { writeFileSync } from 'node:fs';
import { MemPool } from '@thi.ng/malloc';
import { BUFFER_BYTES, LIVE_TARGETS, OPS, makeTrace, resultsFile, touchedBuffer } from './trace';

const buffer = touchedBuffer(BUFFER_BYTES);
const results: Record<string, { opsPerSec: number; cpuOpsPerSec: number; peakBytesHeld: number; peakLiveBytes: number; ops: number }> = {};
const full = process.env.KHEAP_BENCH_FULL === '1';
/** MemPool's `top` (one past the highest block ever carved) is a public accessor typed protected. */
const topOf = (pool: MemPool): number => (pool as unknown as { top: number }).top;

for (const live of LIVE_TARGETS) {
  const t = makeTrace(OPS, live);
  const ops = full ? OPS : live <= 1000 ? 200_000 : 20_000;
  const ptrs = new Float64Array(t.slotCount);
  let best = 0;
  let bestCpu = 0;
  let peakTop = 0;
  let peakLive = 0;
  for (let run = 0; run < 3; run++) {
    const pool = new MemPool({ buf: buffer, align: 16 });
    const start = topOf(pool);
    for (let i = 0; i < t.warmSize.length; i++) ptrs[t.warmSlot[i]!] = pool.malloc(t.warmSize[i]!);
    const size = t.size;
    const slot = t.slot;
    if (run === 0) {
      // Untimed pass: footprint = highest address ever handed out, and live bytes over the prefix.
      const liveSize = new Float64Array(t.slotCount);
      let liveBytes = 0;
      for (let i = 0; i < t.warmSize.length; i++) {
        liveSize[t.warmSlot[i]!] = t.warmSize[i]!;
        liveBytes += t.warmSize[i]!;
      }
      peakLive = liveBytes;
      peakTop = topOf(pool) - start;
      for (let i = 0; i < ops; i++) {
        const sz = size[i]!;
        if (sz !== 0) {
          const p = pool.malloc(sz);
          if (p === 0) throw new Error('MemPool out of memory');
          ptrs[slot[i]!] = p;
          liveSize[slot[i]!] = sz;
          liveBytes += sz;
          if (liveBytes > peakLive) peakLive = liveBytes;
        } else {
          pool.free(ptrs[slot[i]!]!);
          liveBytes -= liveSize[slot[i]!]!;
        }
        if (topOf(pool) - start > peakTop) peakTop = topOf(pool) - start;
      }
      continue;
    }
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < ops; i++) {
      const sz = size[i]!;
      if (sz !== 0) ptrs[slot[i]!] = pool.malloc(sz);
      else pool.free(ptrs[slot[i]!]!);
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    best = Math.max(best, ops / (ms / 1000));
    bestCpu = Math.max(bestCpu, ops / ((cpu.user + cpu.system) / 1e6));
  }
  results[live] = { opsPerSec: best, cpuOpsPerSec: bestCpu, peakBytesHeld: peakTop, peakLiveBytes: peakLive, ops };
  console.log(
    `@thi.ng/malloc ~${live} live: ${(best / 1e3).toFixed(1)}k ops/s wall, ${(bestCpu / 1e3).toFixed(1)}k ops/s of CPU time (best of 2 x first ${ops} ops); peak footprint ${(peakTop / 1024).toFixed(0)} KiB = ${(peakTop / peakLive).toFixed(3)}x peak live requested (${(peakLive / 1024).toFixed(0)} KiB)`,
  );
}
writeFileSync(resultsFile('thing-malloc'), JSON.stringify(results));
