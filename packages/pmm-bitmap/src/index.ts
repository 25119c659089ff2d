export * from './api';
export { BitmapFrameAllocator } from './bitmap-frame-allocator';
export { Zone, ZONE_LIMITS } from './zone';
export { SummaryBitmap } from './summary-bitmap';
export { hex } from './hex';
