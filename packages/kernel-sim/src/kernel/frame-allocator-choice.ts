// Which physical frame allocator a kernel boots with: pmm-bitmap's bitmap (seeds 000, 003, 004)
// or seed 001's list of regions. Both hand out the lowest free frame first and answer the same
// calls; the kernel keeps its ownership records (FrameOwners) beside either.
import type { BitmapFrameAllocator } from '@kmem/pmm-bitmap';
import type { RegionListFrameAllocator } from '../pmm-region-list/region-list-frame-allocator';

/** The `Kernel` option `frameAllocator`: `'bitmap'` (default) or `'region-list'` (seed 001). */
export type FrameAllocatorKind = 'bitmap' | 'region-list';

/** A frame allocator the kernel can boot with. */
export type KernelFrameAllocator = BitmapFrameAllocator | RegionListFrameAllocator;
