// The fixed, seeded allocation trace both benchmarks replay (one implementation per process).
import { mulberry32 as rng } from '../../../test-support/mulberry32';

/** A replayable trace: op i allocates `size[i]` bytes into `slot[i]` (size > 0) or frees `slot[i]` (size 0). */
export interface Trace {
  /** Allocations that bring the heap to its live target (replayed untimed first). */
  warmSize: Int32Array;
  warmSlot: Int32Array;
  /** The timed operations. */
  size: Int32Array;
  slot: Int32Array;
  /** Slots needed. */
  slotCount: number;
  /** Peak of the sum of live requested bytes over warm-up and timed ops. */
  peakLiveBytes: number;
}

/**
 * `ops` operations around `live` live blocks, sizes uniform in 16..4096 bytes: each step frees a
 * random live block or allocates, with the probability of allocating falling from 1 to 0 as the
 * live count goes from 0.9·live to 1.1·live.
 */
export function makeTrace(ops: number, live: number, seed = 42): Trace {
  const rand = rng(seed + live);
  const slotCount = Math.ceil(live * 1.2) + 16;
  const liveSlots = new Int32Array(slotCount);
  const liveSize = new Int32Array(slotCount);
  let nLive = 0;
  const freeSlots: number[] = [];
  for (let i = slotCount - 1; i >= 0; i--) freeSlots.push(i);
  let liveBytes = 0;
  let peak = 0;
  const size16 = (): number => 16 + Math.floor(rand() * (4096 - 16 + 1));
  const warmSize = new Int32Array(live);
  const warmSlot = new Int32Array(live);
  for (let i = 0; i < live; i++) {
    const s = freeSlots.pop()!;
    const sz = size16();
    warmSize[i] = sz;
    warmSlot[i] = s;
    liveSlots[nLive++] = s;
    liveSize[s] = sz;
    liveBytes += sz;
  }
  peak = liveBytes;
  const size = new Int32Array(ops);
  const slot = new Int32Array(ops);
  for (let i = 0; i < ops; i++) {
    const pAlloc = Math.min(1, Math.max(0, (1.1 * live - nLive) / (0.2 * live)));
    if (nLive === 0 || (freeSlots.length > 0 && rand() < pAlloc)) {
      const s = freeSlots.pop()!;
      const sz = size16();
      size[i] = sz;
      slot[i] = s;
      liveSlots[nLive++] = s;
      liveSize[s] = sz;
      liveBytes += sz;
      if (liveBytes > peak) peak = liveBytes;
    } else {
      const k = Math.floor(rand() * nLive);
      const s = liveSlots[k]!;
      liveSlots[k] = liveSlots[--nLive]!;
      size[i] = 0;
      slot[i] = s;
      liveBytes -= liveSize[s]!;
      freeSlots.push(s);
    }
  }
  return { warmSize, warmSlot, size, slot, slotCount, peakLiveBytes: peak };
}

/** One pre-touched buffer reused by every run (fresh memory would measure first-touch page faults). */
export function touchedBuffer(bytes: number): ArrayBuffer {
  const buf = new ArrayBuffer(bytes);
  new Uint8Array(buf).fill(1);
  return buf;
}

/** Live targets and op count of the benchmark. */
export const LIVE_TARGETS = [1000, 8000];
export const OPS = 1_000_000;
export const BUFFER_BYTES = 64 * 1024 * 1024;

/** Where each bench process leaves its figures for compare.bench.ts. */
export function resultsFile(name: string): string {
  return `${process.env.TMPDIR ?? '/tmp'}/kmem-kheap-bench-${name}.json`;
}
