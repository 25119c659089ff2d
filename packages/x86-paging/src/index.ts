// Public API of @kmem/x86-paging: re-exports only.
export * from './api';
export * from './address';
export * from './entry';
export * from './physical-memory';
export * from './simple-frame-allocator';
export * from './table-access';
// MMU, TLB and the page-fault trap (helper B).
export * from './access-mode';
export * from './control-registers';
export * from './page-fault-error-code';
export * from './faults';
export * from './tlb';
export * from './mmu';
export * from './cpu';
export * from './mmu-table-access';
export * from './direct-map-table-access';
export * from './recursive-table-access';
export * from './window-table-access';
export * from './paging-geometry';
export * from './four-level-geometry';
export * from './thirty-two-bit-geometry';
export * from './pae-geometry';
export * from './five-level-geometry';
export * from './paging-geometries';
export * from './mapper-types';
export * from './mapper';
export * from './walk';
export * from './bootstrap';
export * from './bootstrap-32bit';
// Paging modes other than 4-level (32-bit, PAE, 5-level): mode, entries, addresses.
export * from './paging-mode';
export * from './entry-32bit';
export * from './entry-pae';
export * from './address-32bit';
export * from './address-57';
