// What the swap panel draws, computed from the demo session alone (no DOM): the user frames the
// swap step used and what happened to each (filled by a fresh page, evicted, read back from swap),
// the swap devices' slots with their reference counts, the fault rates over simulated time, and the
// policy table the terminal scenario prints. The Chromium test compares the page with these
// functions run on the same session in Node, and these with the library's own counters.
import { handleOffset, handleType, type KernelEvent, type SwapManager, type SwapSample } from '@kmem/kernel-sim';
import type { DemoSession } from '../../../src/scenarios/index';

/**
 * What happened to a frame during one moment of the run (a stretch of its faults and evictions):
 * its page evicted and another read back from swap into it, evicted and refilled fresh, only
 * evicted (free at the moment's end), only read into from swap, only filled fresh (zero-filled,
 * from the ELF file, a COW copy), or nothing (holding the same page, or free).
 */
export type SwapFrameState = 'replaced-from-swap' | 'replaced-fresh' | 'evicted' | 'swapped-in' | 'filled' | 'resident' | 'free';

/** One moment of the run: the frames' states over it and the totals up to its end. */
export interface SwapMoment {
  /** Faults that mapped a user frame, up to the moment's end. */
  readonly faults: number;
  /** Evictions (written, left in their slot or dropped) up to the moment's end. */
  readonly evictions: number;
  /** Major faults (pages read back from swap) up to the moment's end. */
  readonly swapIns: number;
  /** One state per frame of {@link SwapFrameTimeline.frames}. */
  readonly states: readonly SwapFrameState[];
}

/** The user frames of the swap step (by address) and what happened to them, moment by moment. */
export interface SwapFrameTimeline {
  readonly frames: readonly number[];
  readonly moments: readonly SwapMoment[];
}

const EVICTED = 1;
const SWAPPED_IN = 2;
const FILLED = 4;

function stateOf(flags: number, occupied: boolean): SwapFrameState {
  if ((flags & EVICTED) !== 0) return (flags & SWAPPED_IN) !== 0 && occupied ? 'replaced-from-swap' : (flags & FILLED) !== 0 && occupied ? 'replaced-fresh' : 'evicted';
  if ((flags & SWAPPED_IN) !== 0) return 'swapped-in';
  if ((flags & FILLED) !== 0) return 'filled';
  return occupied ? 'resident' : 'free';
}

/**
 * The swap step's events cut into `momentCount` moments of equally many page faults and
 * evictions: every user frame a fault mapped ('page-fault' with a frame; resolution `swap-in` is
 * a major fault) or reclaim emptied ('swap-out'), with its state in each moment ('frame-free'
 * marks a frame given back without eviction, e.g. the last sharer of a COW page copied it).
 */
export function swapFrameTimeline(events: readonly KernelEvent[], momentCount = 48): SwapFrameTimeline {
  const relevant = events.filter((e) => (e.kind === 'page-fault' && e.frame >= 0 && e.pid > 0) || e.kind === 'swap-out');
  const frames = [...new Set(relevant.map((e) => (e as { frame: number }).frame))].sort((a, b) => a - b);
  const index = new Map(frames.map((f, i) => [f, i]));
  const occupied = new Uint8Array(frames.length);
  const flags = new Uint8Array(frames.length);
  const moments: SwapMoment[] = [];
  const per = Math.max(1, Math.ceil(relevant.length / momentCount));
  let seen = 0;
  let faults = 0;
  let evictions = 0;
  let swapIns = 0;
  for (const e of events) {
    if (e.kind === 'page-fault' && e.frame >= 0 && e.pid > 0) {
      const i = index.get(e.frame)!;
      occupied[i] = 1;
      flags[i]! |= e.resolution === 'swap-in' ? SWAPPED_IN : FILLED;
      faults++;
      if (e.resolution === 'swap-in') swapIns++;
    } else if (e.kind === 'swap-out') {
      const i = index.get(e.frame)!;
      occupied[i] = 0;
      flags[i]! |= EVICTED;
      evictions++;
    } else {
      if (e.kind === 'frame-free' && e.refCount === 0 && index.has(e.frame)) occupied[index.get(e.frame)!] = 0;
      continue;
    }
    if (++seen % per === 0 || seen === relevant.length) {
      moments.push({ faults, evictions, swapIns, states: Array.from(flags, (f, i) => stateOf(f, occupied[i] === 1)) });
      flags.fill(0);
    }
  }
  return { frames, moments };
}

/** One device's slots: reference count of each (0: free; more than 1: copy-on-write sharers). */
export interface SwapSlotRow {
  readonly name: string;
  readonly priority: number;
  readonly counts: readonly number[];
}

/** Fault rates over one stretch of simulated time (several ticks summed). */
export interface FaultRateBucket {
  readonly endMs: number;
  readonly accesses: number;
  readonly majorFaults: number;
  readonly minorFaults: number;
  /** Resident user pages at the stretch's end. */
  readonly residentPages: number;
  /** Whether any tick in it carried the thrashing signal. */
  readonly thrashing: boolean;
}

/** The events of the session's `swap` step (every one: the step record keeps them all), or null before it ran. */
export function swapStepEvents(session: DemoSession): readonly KernelEvent[] | null {
  return session.records.find((r) => r.id === 'swap')?.events ?? null;
}

/** Every device's slots with their reference counts (Linux's swap_map), by swap type. */
export function swapSlotRows(swap: SwapManager): SwapSlotRow[] {
  const used = swap.space.slotCounts();
  return swap.space.areas.map((a) => {
    const counts = new Array<number>(a.slotCount).fill(0);
    for (const [handle, n] of used) if (handleType(handle) === a.type) counts[handleOffset(handle)] = n;
    return { name: a.device.name, priority: a.priority, counts };
  });
}

/** The samples (one per tick) summed into `bucketCount` stretches of equal tick count. */
export function faultRateBuckets(samples: readonly SwapSample[], bucketCount = 60): FaultRateBucket[] {
  const out: FaultRateBucket[] = [];
  const per = Math.max(1, Math.ceil(samples.length / bucketCount));
  for (let i = 0; i < samples.length; i += per) {
    const part = samples.slice(i, i + per);
    const last = part[part.length - 1]!;
    out.push({
      endMs: last.timeNs / 1e6,
      accesses: part.reduce((n, s) => n + s.accesses, 0),
      majorFaults: part.reduce((n, s) => n + s.majorFaults, 0),
      minorFaults: part.reduce((n, s) => n + s.minorFaults, 0),
      residentPages: last.residentPages,
      thrashing: part.some((s) => s.thrashing),
    });
  }
  return out;
}
