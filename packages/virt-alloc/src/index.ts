export * from './api';
export { hex } from './hex';
export { VirtualAllocator, isPowerOfTwo } from './virtual-allocator';
