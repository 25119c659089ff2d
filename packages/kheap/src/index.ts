export * from './api';
export { ArrayBufferBacking, type ArrayBufferBackingOptions } from './array-buffer-backing';
export { KernelHeap, KmemCache, KMALLOC_CLASSES, SLAB_MAX_BYTES, LARGE_MIN_BYTES } from './kernel-heap';
export { POISON_FREE, POISON_END, RED_ACTIVE, RED_INACTIVE } from './debug-patterns';
export { hex } from './hex';
