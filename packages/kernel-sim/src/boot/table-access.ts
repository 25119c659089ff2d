// How the kernel's software reaches page tables after boot, for the layouts that do not use
// physical addresses: through the direct map (all RAM mapped at an offset, Linux's
// page_offset_base, Limine's HHDM). Every access goes through the MMU as a supervisor access,
// so a table outside the direct map faults (TableAccessFaultError) as it would on hardware.
// A `SwitchableTableAccess` lets the kernel's one Mapper start on physical access while the
// boot tables are loaded and move to the layout's mechanism once CR3 holds the real tables.
import { Access, Mode, TableAccessFaultError, type Mmu, type PhysicalMemory, type TableAccess } from '@kmem/x86-paging';

/**
 * Strategy (b): page tables reached at `base + tableFrame` through the MMU (supervisor reads and
 * writes), `base` being the linear address where the direct map shows physical address 0.
 */
export class DirectMapTableAccess implements TableAccess {
  lo = 0;
  hi = 0;
  /** Name used in fault errors. */
  readonly strategy = 'direct-map';

  /**
   * @param mmu the CPU's MMU (its CR3 must map the direct map when entries are accessed)
   * @param memory physical memory the MMU translates into
   * @param base linear address of physical address 0 in the direct map
   */
  constructor(
    readonly mmu: Mmu,
    readonly memory: PhysicalMemory,
    readonly base: number,
  ) {}

  /** @throws TableAccessFaultError if the entry's direct-map address does not translate */
  readEntry(_level: number, _va: number, tableFrame: number, index: number): void {
    const pa = this.reach(this.base + tableFrame + index * 8, Access.Read);
    this.lo = this.memory.read32(pa);
    this.hi = this.memory.read32(pa + 4);
  }

  /** @throws TableAccessFaultError if the entry's direct-map address does not translate for a write */
  writeEntry(_level: number, _va: number, tableFrame: number, index: number, lo: number, hi: number): void {
    const pa = this.reach(this.base + tableFrame + index * 8, Access.Write);
    this.memory.write32(pa, lo);
    this.memory.write32(pa + 4, hi);
  }

  /** @throws TableAccessFaultError if the table's direct-map page does not translate for a write */
  zeroTable(_level: number, _va: number, tableFrame: number): void {
    const pa = this.reach(this.base + tableFrame, Access.Write);
    this.memory.zeroFrame(pa - (pa % 4096));
  }

  private reach(va: number, access: Access): number {
    const r = this.mmu.translate(va, access, Mode.Supervisor);
    if (r.fault) throw new TableAccessFaultError(va, r.errorCode, r.level, this.strategy);
    return r.pa;
  }
}

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
