// The flat bitmap with one hint (bench/flat-bitmap.ts) behind the workload adapter.
import { FlatBitmap } from './flat-bitmap';
import { MAP_64G, runAll } from './workloads';
import type { Impl } from './workloads';

let bm = new FlatBitmap(1);
const F = 4096;
const impl: Impl = {
  name: 'flat bitmap + hint',
  create(n) {
    bm = new FlatBitmap(n);
    bm.set(0);
  },
  alloc: () => bm.alloc(),
  free: (f) => bm.free(f),
  markUsed: (f) => bm.set(f),
  allocRun: (n, a, maxFrame) => bm.allocRun(n, a, maxFrame),
  freeRun: (f, n) => bm.freeRun(f, n),
  fromMap() {
    // Same rounding as the allocator: usable inward, everything else outward; frame 0 used.
    const free: [number, number][] = [];
    const used: [number, number][] = [[0, 1]];
    let top = 0;
    for (const r of MAP_64G) {
      if (r.kind === 'usable') {
        const s = Math.ceil(r.base / F);
        const e = Math.floor((r.base + r.lengthBytes) / F);
        free.push([s, e]);
        top = Math.max(top, e);
      } else used.push([Math.floor(r.base / F), Math.ceil((r.base + r.lengthBytes) / F)]);
    }
    const m = new FlatBitmap(top);
    m.paint(free, used);
    let n = 0;
    for (let w = 0; w < m.words.length; w++) n += 32 - popcount(m.words[w]!);
    return n;
  },
};

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

console.log(JSON.stringify(runAll(impl, process.argv.slice(2))));
