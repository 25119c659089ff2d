// @kmem/virt-alloc (the built package, or VIRT_MODULE=<path> for an A/B build): addresses in
// bytes over the lower half of a 48-bit space, 4 KiB granularity.
import { report } from '../../../../test-support/alternating-runs';
import { runWorkloads } from '../mix';

import type * as VirtModule from '@kmem/virt-alloc';

type Virt = typeof VirtModule;
const mod = (await import(process.env.VIRT_MODULE ?? '@kmem/virt-alloc')) as Virt;
report(
  runWorkloads(() => {
    const va = new mod.VirtualAllocator({ start: 0, end: 2 ** 47 });
    return {
      alloc: (pageCount) => va.alloc(pageCount * 4096) ?? -1,
      free: (start) => void va.free(start),
    };
  }, true),
);
