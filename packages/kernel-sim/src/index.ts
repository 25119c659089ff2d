export * from './api';
export * from './elf/elf-errors';
export * from './elf/elf-class';
export * from './elf/parse-elf';
export * from './elf/load-plan';
export * from './elf/stack-image';
export * from './hex';
export * from './sparse-physical-memory';
export * from './memory-image';
export * from './memory-map/kinds';
export * from './memory-map/e820-text';
export * from './memory-map/sysfs-text';
export * from './memory-map/multiboot';
export * from './memory-map/multiboot1-boot';
export * from './memory-map/uefi';
export * from './memory-map/limine';
export * from './memory-map/detect';
export * from './memory-map/normalize';
export * from './layout';
export * from './layouts';
// Machine, boot and the kernel memory API (helper BOOT).
export * from './events';
export * from './kernel-errors';
export * from './frame-owners';
export * from './machine';
export * from './heap-backing';
export * from './boot/table-access';
export * from './boot/kernel-image';
export * from './kernel-services';
export * from './kernel/kernel-options';
export type { PhysicalMapping } from './kernel/kernel-mappings';
export type { KernelStack } from './kernel/kernel-stacks';
export * from './kernel';
export * from './comus';
export * from './highest-allocation';
// Processes and the page-fault policy (helper PROC).
export * from './process/regions';
export * from './process/process-errors';
export * from './process/process';
export * from './process/user-pages';
export { DEFAULT_PROCESS_LIMITS, type CreateProcessOptions, type ExecOptions } from './process/process-limits';
export * from './process/user-access';
export * from './process/fault-context';
export * from './process/process-manager';
export * from './process/shm-errors';
export { SharedMemoryObject, type SharedBacking, type SharedMemoryKind } from './process/shared-memory-object';
export { SharedMemory, MAX_SHM_BYTES, SHARED_FRAME_OWNER, type ShmOpenOptions, type HeldFrame } from './process/shared-memory';
export { PageCache, cacheableFileOffset, type PageCacheKey } from './process/page-cache';
export * from './fault-policy';
// Swap and page replacement.
export * from './swap/index';
// Trace-driven simulation (readers, replay, analyses).
export * from './trace/index';
// Inspecting real kernels' page tables from QEMU memory dumps.
export * from './inspect/index';
// Seed 002's 32-bit higher-half kernel.
export * from './i386/kernel-image-32';
export * from './i386/kernel32';
export * from './i386/layout-paging-mode';
export * from './i386/sysinit-32';
export { RegionListFrameAllocator, RegionState, REGION_NODE_BYTES, type FrameRegion } from './pmm-region-list/region-list-frame-allocator';
export type { RegionListMapOptions } from './pmm-region-list/region-list-map';
export { KernelHeapArenas, HEAP_ARENA_BYTES, type HeapArenaStats } from './heap-arenas';
export { PageSlab, type PageSlabStats } from './slab/page-slab';
// Types that public signatures name (Kernel options, FrameOwners.pmm, Kernel32).
export type { FrameAllocatorKind, KernelFrameAllocator } from './kernel/frame-allocator-choice';
export type { ProcessKernelStack32 } from './i386/process-kernel-stacks-32';
