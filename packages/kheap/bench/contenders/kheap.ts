// kheap on issue 19's slot traces, one process (started by compare.bench.ts). Per slot count: an
// untimed pass measuring the footprint (peak pages held ÷ peak live requested bytes), one untimed
// warm-up replay, then 3 timed replays, each on a fresh heap over one pre-touched buffer; reports
// the median by CPU time. KHEAP_MODULE=<path to a built index.js> times another build (A/B).
import { report, measure, medianFigure, type ChildReport, type Figure } from '../../../../test-support/alternating-runs';
import { importBuild } from '../../../../test-support/import-build';
import { SLOT_COUNTS, footprintOf, slotTrace, workloadName, type SlotTrace } from '../slot-trace';

import type * as KheapModule from '@kmem/kheap';

type Kheap = typeof KheapModule;
const mod = process.env.KHEAP_MODULE === undefined ? await import('@kmem/kheap') : await importBuild<Kheap>(process.env.KHEAP_MODULE);
const BUFFER_BYTES = 64 * 1024 * 1024;
const buffer = new ArrayBuffer(BUFFER_BYTES);
new Uint8Array(buffer).fill(1); // touched once: fresh pages would time first-touch faults

function fresh(): { heap: InstanceType<Kheap['KernelHeap']>; backing: InstanceType<Kheap['ArrayBufferBacking']> } {
  const backing = new mod.ArrayBufferBacking({ buffer, maxBytes: BUFFER_BYTES });
  return { heap: new mod.KernelHeap({ backing }), backing };
}

/** The timed loop (its own function, so V8 compiles it as a caller would, not by OSR of module code). */
function replay(heap: InstanceType<Kheap['KernelHeap']>, t: SlotTrace, ptrs: Float64Array): void {
  const { slot, size } = t;
  for (let i = 0; i < slot.length; i++) {
    const n = size[i]!;
    if (n !== 0) ptrs[slot[i]!] = heap.kmalloc(n)!;
    else heap.kfree(ptrs[slot[i]!]!);
  }
}

function footprint(t: SlotTrace): number {
  const { heap, backing } = fresh();
  const fp = footprintOf(t, heap, () => backing.pagesHeld);
  heap.checkInvariants();
  return fp;
}

const out: ChildReport = {};
for (const slots of SLOT_COUNTS) {
  const t = slotTrace(slots);
  const ptrs = new Float64Array(slots);
  const fp = footprint(t);
  const runs: Figure[] = [];
  for (let r = 0; r < 4; r++) {
    const { heap } = fresh();
    const f = measure(t.slot.length, () => replay(heap, t, ptrs));
    if (r > 0) runs.push(f);
  }
  let sizeSum = 0;
  for (let i = 0; i < t.size.length; i++) sizeSum += t.size[i]!;
  out[workloadName(slots)] = { ...medianFigure(runs), extra: { footprint: fp, meanLive: t.meanLive, sizeSum } };
}
report(out);
