// Reading real kernels' page tables from memory dumps: re-exports only.
export * from './inspect-errors';
export * from './dump-source';
export * from './elf-core';
export * from './dump-memory';
export * from './open-dump';
export * from './paging-state';
export * from './table-scan';
export * from './dump-table-access';
export * from './inspection';
export * from './cache-type';
export * from './mapping-view';
export * from './backing-frames';
export * from './walk-explain';
export * from './lint';
export * from './mapping-diff';
