// Placeholder until the demo issue lands: lists what each package exports today.
import * as kernelSim from '@kmem/kernel-sim';
import * as kheap from '@kmem/kheap';
import * as pmm from '@kmem/pmm-bitmap';
import * as virt from '@kmem/virt-alloc';
import * as paging from '@kmem/x86-paging';

const packages: Record<string, object> = {
  '@kmem/pmm-bitmap': pmm,
  '@kmem/virt-alloc': virt,
  '@kmem/x86-paging': paging,
  '@kmem/kheap': kheap,
  '@kmem/kernel-sim': kernelSim,
};
console.log('kmem: what each package exports today');
for (const [name, mod] of Object.entries(packages)) {
  console.log(`  ${name.padEnd(18)} ${Object.keys(mod).sort().join(', ')}`);
}
