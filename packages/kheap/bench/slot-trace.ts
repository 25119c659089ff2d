// Issue 19's kheap workload: 1,000,000 ops; each op picks a random slot in [0, SLOTS) (seeded
// mulberry32): an empty slot gets an allocation of 16..4096 bytes (uniform), a full one is freed.
// SLOTS 256 / 2,048 / 16,384 hold about 160 / 1,100 / 8,400 live blocks. The trace is generated
// before timing (it depends only on the seed, not on the allocator), so a timed loop is a replay:
// `size[i] > 0` allocates that many bytes into `slot[i]`, `size[i] === 0` frees `slot[i]`.
// peers/glibc-trace.c generates the very same trace in C (same mulberry32, same arithmetic).
import { mulberry32 } from '../../../test-support/mulberry32';

/** A replayable slot trace. */
export interface SlotTrace {
  slots: number;
  slot: Int32Array;
  size: Int32Array;
  /** Peak of the sum of live requested bytes. */
  peakLiveBytes: number;
  /** Mean live blocks over the trace. */
  meanLive: number;
}

export const OPS = 1_000_000;
export const SLOT_COUNTS = [256, 2048, 16_384] as const;
export const SEED = 19;

export function slotTrace(slots: number, ops = OPS, seed = SEED): SlotTrace {
  const rand = mulberry32(seed);
  const held = new Int32Array(slots);
  const slot = new Int32Array(ops);
  const size = new Int32Array(ops);
  let live = 0;
  let liveBytes = 0;
  let peak = 0;
  let liveSum = 0;
  for (let i = 0; i < ops; i++) {
    const s = Math.floor(rand() * slots);
    slot[i] = s;
    if (held[s] === 0) {
      const n = 16 + Math.floor(rand() * (4096 - 16 + 1));
      size[i] = n;
      held[s] = n;
      live++;
      liveBytes += n;
      if (liveBytes > peak) peak = liveBytes;
    } else {
      liveBytes -= held[s]!;
      held[s] = 0;
      live--;
    }
    liveSum += live;
  }
  return { slots, slot, size, peakLiveBytes: peak, meanLive: liveSum / ops };
}

/** Workload name of a slot count: `slots256`. */
export function workloadName(slots: number): string {
  return `slots${slots}`;
}

/** What {@link footprintOf} drives: kheap's kmalloc and kfree. */
export interface TraceHeap {
  kmalloc(sizeBytes: number): number | null;
  kfree(ptr: number | null): void;
}

/** Replays `t` once on `heap` (untimed): peak pages held (`pagesHeld()` after each op) × 4096 ÷ peak live requested bytes. */
export function footprintOf(t: SlotTrace, heap: TraceHeap, pagesHeld: () => number): number {
  const ptrs = new Float64Array(t.slots);
  let peak = 0;
  for (let i = 0; i < t.slot.length; i++) {
    const n = t.size[i]!;
    if (n !== 0) ptrs[t.slot[i]!] = heap.kmalloc(n)!;
    else heap.kfree(ptrs[t.slot[i]!]!);
    const held = pagesHeld();
    if (held > peak) peak = held;
  }
  return (peak * 4096) / t.peakLiveBytes;
}
