// @kmem/pmm-bitmap (the built package, or PMM_MODULE=<path> for an A/B build) on fill and churn,
// through allocFrame/freeFrame (physical addresses), or with PMM_API=pfn through
// allocPfn/freePfn (frame numbers: no heap number per call above 1 GiB).
import type * as PmmModule from '@kmem/pmm-bitmap';
import { report } from '../../../../test-support/alternating-runs';
import { runWorkloads, type Contender } from '../churn-fill';
import { importBuild } from '../../../../test-support/import-build';

const mod = process.env.PMM_MODULE === undefined ? await import('@kmem/pmm-bitmap') : await importBuild<typeof PmmModule>(process.env.PMM_MODULE);
let pmm = new mod.BitmapFrameAllocator(1);
const create = (n: number): void => {
  pmm = new mod.BitmapFrameAllocator(n);
};
const byAddress: Contender = {
  create,
  alloc() {
    const pa = pmm.allocFrame();
    return pa === null ? -1 : pa / 4096;
  },
  free(f) {
    pmm.freeFrame(f * 4096);
  },
};
const byPfn: Contender = { create, alloc: () => pmm.allocPfn(), free: (f) => pmm.freePfn(f) };
report(runWorkloads(process.env.PMM_API === 'pfn' ? byPfn : byAddress));
