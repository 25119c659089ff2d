// @kmem/virt-alloc (the built package, or VIRT_MODULE=<path> for an A/B build): addresses in
// bytes over the lower half of a 48-bit space, 4 KiB granularity.
import { report } from '../../../../test-support/alternating-runs';
import { importBuild } from '../../../../test-support/import-build';
import { runWorkloads } from '../mix';

import type * as VirtModule from '@kmem/virt-alloc';

type Virt = typeof VirtModule;
const mod = process.env.VIRT_MODULE === undefined ? await import('@kmem/virt-alloc') : await importBuild<Virt>(process.env.VIRT_MODULE);
report(
  runWorkloads(() => {
    const va = new mod.VirtualAllocator({ start: 0, end: 2 ** 47 });
    return {
      alloc: (pageCount) => va.alloc(pageCount * 4096) ?? -1,
      free: (start) => void va.free(start),
    };
  }, true),
);
