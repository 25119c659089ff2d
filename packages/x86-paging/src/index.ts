// Public API of @kmem/x86-paging: re-exports only.
export * from './api';
export * from './address';
export * from './entry';
export * from './physical-memory';
export * from './simple-frame-allocator';
export * from './table-access';
