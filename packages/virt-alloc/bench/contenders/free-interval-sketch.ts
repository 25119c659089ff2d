// The free-interval index sketch (bench/free-interval-sketch.ts) on issue 19's mix, in pages.
// Before timing, it checks on 40,000 random operations of each mix that every allocation returns
// the address VirtualAllocator returns (lowest fit), so the figure is for the same answers.
import { VirtualAllocator } from '@kmem/virt-alloc';
import { report } from '../../../../test-support/alternating-runs';
import { mulberry32 } from '../../../../test-support/mulberry32';
import { FreeIntervalSketch } from '../free-interval-sketch';
import { runWorkloads } from '../mix';

const SPACE = 2 ** 35; // pages: the lower half of a 48-bit space, as the other contenders

for (const sized of [false, true]) {
  const r = mulberry32(sized ? 11 : 13);
  const s = new FreeIntervalSketch(0, SPACE, Number(process.env.SKETCH_DENSE ?? 0));
  const va = new VirtualAllocator({ start: 0, end: SPACE, granularityBytes: 1 });
  const live: number[] = [];
  for (let i = 0; i < 40_000; i++) {
    if (live.length === 0 || r() < (live.length < 5000 ? 0.7 : 0.5)) {
      const n = sized ? 1 + Math.floor(r() * 256) : 1;
      const a = s.alloc(n);
      const b = va.alloc(n);
      if (a !== b) throw new Error(`sketch allocated ${a}, VirtualAllocator ${String(b)} (op ${i})`);
      live.push(a);
    } else {
      const k = Math.floor(r() * live.length);
      s.free(live[k]!);
      va.free(live[k]!);
      live[k] = live[live.length - 1]!;
      live.pop();
    }
  }
}

// SKETCH_DENSE=<pages>: in-use blocks in a flat array indexed by page instead of the hash.
const dense = Number(process.env.SKETCH_DENSE ?? 0);
report(
  runWorkloads(() => {
    const s = new FreeIntervalSketch(0, SPACE, dense);
    return { alloc: (pageCount) => s.alloc(pageCount), free: (start) => s.free(start) };
  }, true),
);
