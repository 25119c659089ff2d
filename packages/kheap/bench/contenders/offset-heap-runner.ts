// The protocol of the yardstick contenders (bare-tlsf.ts, ideal-lists.ts), whose heaps take and
// return offsets into one pre-touched buffer: as contenders/kheap.ts, a warm-up replay and 3 timed
// replays per slot count, each on a fresh heap, the median by CPU time. Pointers are the offsets
// plus the vmalloc base, so they are numbers above 2^31 as kheap's are. Each contender process
// runs one heap class, so the loop below stays monomorphic.
import { report, measure, medianFigure, type ChildReport, type Figure } from '../../../../test-support/alternating-runs';
import { SLOT_COUNTS, slotTrace, workloadName, type SlotTrace } from '../slot-trace';

const BASE = 0xc900_0000_0000;

/** A heap over offsets: `alloc` returns one, `free` takes one (and throws on a bad one, if it checks). */
export interface OffsetHeap {
  alloc(sizeBytes: number): number;
  free(off: number): void;
}

/** The timed loop, shaped as contenders/kheap.ts's. */
function replay(heap: OffsetHeap, t: SlotTrace, ptrs: Float64Array): void {
  const { slot, size } = t;
  for (let i = 0; i < slot.length; i++) {
    const n = size[i]!;
    if (n !== 0) ptrs[slot[i]!] = BASE + heap.alloc(n);
    else heap.free(ptrs[slot[i]!]! - BASE);
  }
}

/** Times fresh heaps from `make` on every slot trace and prints the report. */
export function runOffsetHeap(make: () => OffsetHeap): void {
  const out: ChildReport = {};
  for (const slots of SLOT_COUNTS) {
    const t = slotTrace(slots);
    const ptrs = new Float64Array(slots);
    const runs: Figure[] = [];
    for (let r = 0; r < 4; r++) {
      const heap = make();
      const f = measure(t.slot.length, () => replay(heap, t, ptrs));
      if (r > 0) runs.push(f);
    }
    out[workloadName(slots)] = medianFigure(runs);
  }
  report(out);
}
