// Belady's OPT (MIN): evict the page whose next use is furthest away. The lower bound on faults
// for any demand-paging policy with the same frames (Belady 1966; Mattson et al. 1970 show it
// is a stack algorithm). It needs the future, so it runs after the replay over the recorded
// page-id sequence.
import { growToIndex } from './grow-array';
import { TraceOptionError } from './trace-errors';

/**
 * The page-id sequence of a replay with consecutive repeats collapsed (a repeat hits under every
 * demand-paging policy, so faults are unchanged): 4 bytes per entry, growing by doubling. The
 * one part of a replay whose memory grows with the trace; skip OPT to keep memory constant.
 */
export class PageSequence {
  private ids = new Int32Array(1024);
  /** Entries recorded. */
  length = 0;

  /** Appends a page id. */
  push(id: number): void {
    if (this.length === this.ids.length) this.ids = growToIndex(this.ids, this.length);
    this.ids[this.length++] = id;
  }

  /** The entries (a view, valid until the next push). */
  view(): Int32Array {
    return this.ids.subarray(0, this.length);
  }
}

/**
 * OPT's faults with each of `frameCounts` frames over `sequence` (page ids below `pageCount`).
 * O(n log frames) per frame count, with an indexed max-heap on next use.
 * @throws TraceOptionError for a frame count that is not a positive integer
 */
export function optFaults(sequence: Int32Array, pageCount: number, frameCounts: readonly number[]): number[] {
  for (const f of frameCounts) if (!Number.isSafeInteger(f) || f < 1) throw new TraceOptionError(`frame count ${f} must be a positive integer`);
  const n = sequence.length;
  // nextUse[i]: index of the next reference to sequence[i]'s page after i, or n + i (never: the
  // furthest, ties broken by recency — any choice among never-used pages is optimal).
  const nextUse = new Float64Array(n);
  const seen = new Float64Array(pageCount).fill(-1);
  for (let i = n - 1; i >= 0; i--) {
    const p = sequence[i]!;
    const j = seen[p]!;
    nextUse[i] = j < 0 ? n + i : j;
    seen[p] = i;
  }
  return frameCounts.map((frames) => optFaultsAt(sequence, nextUse, pageCount, frames));
}

function optFaultsAt(sequence: Int32Array, nextUse: Float64Array, pageCount: number, frames: number): number {
  const heapPage = new Int32Array(frames);
  const heapKey = new Float64Array(frames);
  const pos = new Int32Array(pageCount).fill(-1);
  let size = 0;
  let faults = 0;
  const swap = (a: number, b: number): void => {
    const pa = heapPage[a]!;
    const pb = heapPage[b]!;
    const ka = heapKey[a]!;
    heapPage[a] = pb;
    heapKey[a] = heapKey[b]!;
    heapPage[b] = pa;
    heapKey[b] = ka;
    pos[pb] = a;
    pos[pa] = b;
  };
  const up = (i: number): void => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heapKey[parent]! >= heapKey[i]!) break;
      swap(i, parent);
      i = parent;
    }
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const r = l + 1;
      const c = r < size && heapKey[r]! > heapKey[l]! ? r : l;
      if (heapKey[c]! <= heapKey[i]!) break;
      swap(i, c);
      i = c;
    }
  };
  for (let i = 0; i < sequence.length; i++) {
    const p = sequence[i]!;
    const key = nextUse[i]!;
    const at = pos[p]!;
    if (at >= 0) {
      heapKey[at] = key; // the key was i, the smallest possible: it only grows
      up(at);
      continue;
    }
    faults++;
    if (size === frames) {
      // Evict the page used furthest in the future (the root).
      pos[heapPage[0]!] = -1;
      size--;
      if (size > 0) {
        heapPage[0] = heapPage[size]!;
        heapKey[0] = heapKey[size]!;
        pos[heapPage[0]] = 0;
        down(0);
      }
    }
    heapPage[size] = p;
    heapKey[size] = key;
    pos[p] = size;
    size++;
    up(size - 1);
  }
  return faults;
}
