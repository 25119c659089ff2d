// How the KERNEL's software reaches its page tables. A real kernel cannot just read physical
// memory: it must map tables somewhere first — by a direct map of all RAM, a recursive PML4 slot,
// or a small window of temporary mappings. The Mapper only ever touches tables through this
// interface, so each of those designs plugs in; strategy (a) below is the simulator's shortcut
// (straight to physical memory). The MMU's own walk never uses this: hardware reads physical memory.
import type { PhysicalMemory } from './api';
import { geometryOf } from './paging-geometries';
import { PagingMode } from './paging-mode';

/** Options every table-access strategy takes. */
export interface TableAccessOptions {
  /** Paging mode of the tables reached (default `PagingMode.FourLevel`); decides the entry size. */
  readonly mode?: PagingMode;
}

/**
 * Access to paging-structure entries, given enough context for any strategy:
 * - `level`: the table's level (4 = PML4, 3 = PDPT, 2 = PD, 1 = PT);
 * - `va`: any linear address the table translates (a recursive mapping derives the table's own
 *   virtual address from it; for the PML4 any value works);
 * - `tableFrame`: the table's physical frame (a direct map or a window needs it).
 *
 * Reads return nothing: the entry's halves land in `lo` / `hi` (u32 each), so a read allocates
 * nothing and boxes nothing. A strategy that reaches tables through the MMU throws a typed error
 * carrying the page fault when its access faults (a broken recursive entry, a missing window).
 */
export interface TableAccess {
  /**
   * Bytes per entry this access reads and writes: 8 (PAE, 4-level, 5-level; the default when
   * absent) or 4 (32-bit paging, where an entry is `lo` alone and `hi` reads as 0).
   */
  readonly entryBytes?: number;
  /** Low half (bits 31:0) of the entry read last, as a u32. */
  lo: number;
  /** High half (bits 63:32) of the entry read last, as a u32. */
  hi: number;
  /** Reads entry `index` (0..511) of the table into `lo` / `hi`. */
  readEntry(level: number, va: number, tableFrame: number, index: number): void;
  /** Writes entry `index` (0..511) of the table. */
  writeEntry(level: number, va: number, tableFrame: number, index: number, lo: number, hi: number): void;
  /**
   * Fills a table with zeros (all 512 entries not present). The Mapper calls it for a new table
   * AFTER linking it into its parent, so a recursive mapping can already reach it.
   */
  zeroTable(level: number, va: number, tableFrame: number): void;
}

/**
 * Strategy (a): tables read and written straight in physical memory — what a simulator (or a
 * kernel with paging off, or firmware) does. Fast and never faults.
 */
export class PhysicalTableAccess implements TableAccess {
  lo = 0;
  hi = 0;
  /** 8, or 4 for 32-bit paging. */
  readonly entryBytes: number;

  /**
   * @param memory The physical memory the tables live in.
   * @param options.mode paging mode of the tables (default 4-level): 32-bit paging has 4-byte entries
   * @throws PagingModeError for `PagingMode.None`
   */
  constructor(
    readonly memory: PhysicalMemory,
    options: TableAccessOptions = {},
  ) {
    this.entryBytes = geometryOf(options.mode ?? PagingMode.FourLevel).entryBytes;
  }

  readEntry(_level: number, _va: number, tableFrame: number, index: number): void {
    if (this.entryBytes === 8) {
      const pa = tableFrame + index * 8;
      this.lo = this.memory.read32(pa);
      this.hi = this.memory.read32(pa + 4);
    } else {
      this.lo = this.memory.read32(tableFrame + index * 4);
      this.hi = 0;
    }
  }

  writeEntry(_level: number, _va: number, tableFrame: number, index: number, lo: number, hi: number): void {
    if (this.entryBytes === 8) {
      const pa = tableFrame + index * 8;
      this.memory.write32(pa, lo);
      this.memory.write32(pa + 4, hi);
    } else {
      this.memory.write32(tableFrame + index * 4, lo);
    }
  }

  zeroTable(_level: number, _va: number, tableFrame: number): void {
    this.memory.zeroFrame(tableFrame);
  }
}
