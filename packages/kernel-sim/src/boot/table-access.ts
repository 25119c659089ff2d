// A `SwitchableTableAccess` lets the kernel's one Mapper start on physical access while the
// boot tables are loaded, and move to the layout's mechanism (x86-paging's DirectMapTableAccess,
// RecursiveTableAccess or WindowTableAccess, which reach tables through the MMU) once CR3 holds
// the kernel's own tables.
import type { TableAccess } from '@kmem/x86-paging';

/**
 * Delegates to one TableAccess and can be pointed at another: the kernel's Mapper is created on
 * physical access (boot tables loaded, the direct map not yet live) and switched to the layout's
 * mechanism right after the CR3 write that loads the kernel's own tables.
 */
export class SwitchableTableAccess implements TableAccess {
  lo = 0;
  hi = 0;
  constructor(
    /** The strategy in use. */
    public current: TableAccess,
  ) {}

  readEntry(level: number, va: number, tableFrame: number, index: number): void {
    const c = this.current;
    c.readEntry(level, va, tableFrame, index);
    this.lo = c.lo;
    this.hi = c.hi;
  }

  writeEntry(level: number, va: number, tableFrame: number, index: number, lo: number, hi: number): void {
    this.current.writeEntry(level, va, tableFrame, index, lo, hi);
  }

  zeroTable(level: number, va: number, tableFrame: number): void {
    this.current.zeroTable(level, va, tableFrame);
  }
}
