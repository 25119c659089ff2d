// @kmem/pmm-bitmap (the built dist) behind the workload adapter.
import { BitmapFrameAllocator } from '@kmem/pmm-bitmap';
import { MAP_64G, runAll } from './workloads';
import type { Impl } from './workloads';

let pmm = new BitmapFrameAllocator(1);
const F = 4096;
const impl: Impl = {
  name: '@kmem/pmm-bitmap',
  create(n) {
    pmm = new BitmapFrameAllocator(n);
  },
  alloc() {
    const pa = pmm.allocFrame();
    return pa === null ? -1 : pa / F;
  },
  free(f) {
    pmm.freeFrame(f * F);
  },
  markUsed(f) {
    pmm.reserve(f * F, 1);
  },
  allocRun(n, a, maxFrame) {
    const pa = pmm.allocContiguous(n, { alignBytes: a * F, maxAddr: maxFrame * F });
    return pa === null ? -1 : pa / F;
  },
  freeRun(f, n) {
    pmm.freeContiguous(f * F, n);
  },
  fromMap() {
    return BitmapFrameAllocator.fromMemoryMap(MAP_64G, { reserveLowBytes: 0 }).freeFrames;
  },
};
console.log(JSON.stringify(runAll(impl, process.argv.slice(2))));
