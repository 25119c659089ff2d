// kheap on the fixed trace: ops/s at ~1,000 and ~8,000 live blocks, and peak footprint.
import { writeFileSync } from 'node:fs';
import { ArrayBufferBacking, KernelHeap } from '@kmem/kheap';
import { BUFFER_BYTES, LIVE_TARGETS, OPS, makeTrace, resultsFile, touchedBuffer } from './trace';

const buffer = touchedBuffer(BUFFER_BYTES);
const results: Record<string, { opsPerSec: number; cpuOpsPerSec: number; peakBytesHeld: number; peakLiveBytes: number }> = {};
const RUNS = 10;

/** Untimed pass measuring the footprint (pages held) after every op. */
function footprintPass(heap: KernelHeap, backing: ArrayBufferBacking, size: Int32Array, slot: Int32Array, ptrs: Float64Array): number {
  let peakHeld = backing.pagesHeld;
  for (let i = 0; i < OPS; i++) {
    const sz = size[i]!;
    if (sz !== 0) ptrs[slot[i]!] = heap.kmalloc(sz)!;
    else heap.kfree(ptrs[slot[i]!]!);
    if (backing.pagesHeld > peakHeld) peakHeld = backing.pagesHeld;
  }
  return peakHeld;
}

/** The timed loop: replays the trace once. */
function replay(heap: KernelHeap, size: Int32Array, slot: Int32Array, ptrs: Float64Array): void {
  for (let i = 0; i < OPS; i++) {
    const sz = size[i]!;
    if (sz !== 0) ptrs[slot[i]!] = heap.kmalloc(sz)!;
    else heap.kfree(ptrs[slot[i]!]!);
  }
}

for (const live of LIVE_TARGETS) {
  const t = makeTrace(OPS, live);
  const ptrs = new Float64Array(t.slotCount);
  let best = 0;
  let bestCpu = 0;
  let peakHeld = 0;
  for (let run = 0; run <= RUNS; run++) {
    const backing = new ArrayBufferBacking({ buffer, maxBytes: BUFFER_BYTES });
    const heap = new KernelHeap({ backing });
    for (let i = 0; i < t.warmSize.length; i++) ptrs[t.warmSlot[i]!] = heap.kmalloc(t.warmSize[i]!)!;
    const size = t.size;
    const slot = t.slot;
    if (run === 0) {
      peakHeld = footprintPass(heap, backing, size, slot, ptrs);
      continue;
    }
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    replay(heap, size, slot, ptrs);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    best = Math.max(best, OPS / (ms / 1000));
    bestCpu = Math.max(bestCpu, OPS / ((cpu.user + cpu.system) / 1e6));
    if (run === RUNS) heap.checkInvariants();
  }
  const peakBytesHeld = peakHeld * 4096;
  results[live] = { opsPerSec: best, cpuOpsPerSec: bestCpu, peakBytesHeld, peakLiveBytes: t.peakLiveBytes };
  console.log(
    `kheap  ~${live} live: ${(best / 1e6).toFixed(2)}M ops/s wall, ${(bestCpu / 1e6).toFixed(2)}M ops/s of CPU time (best of ${RUNS} x ${OPS} ops); peak held ${(peakBytesHeld / 1024).toFixed(0)} KiB = ${(peakBytesHeld / t.peakLiveBytes).toFixed(3)}x peak live requested (${(t.peakLiveBytes / 1024).toFixed(0)} KiB)`,
  );
}
writeFileSync(resultsFile('kheap'), JSON.stringify(results));
