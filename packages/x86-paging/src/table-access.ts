// How the KERNEL's software reaches its page tables. A real kernel cannot just read physical
// memory: it must map tables somewhere first — by a direct map of all RAM, a recursive PML4 slot,
// or a small window of temporary mappings. The Mapper only ever touches tables through this
// interface, so each of those designs plugs in; strategy (a) below is the simulator's shortcut
// (straight to physical memory). The MMU's own walk never uses this: hardware reads physical memory.
import type { PhysicalMemory } from './api';

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
  constructor(readonly memory: PhysicalMemory) {}

  readEntry(_level: number, _va: number, tableFrame: number, index: number): void {
    const pa = tableFrame + index * 8;
    this.lo = this.memory.read32(pa);
    this.hi = this.memory.read32(pa + 4);
  }

  writeEntry(_level: number, _va: number, tableFrame: number, index: number, lo: number, hi: number): void {
    const pa = tableFrame + index * 8;
    this.memory.write32(pa, lo);
    this.memory.write32(pa + 4, hi);
  }

  zeroTable(_level: number, _va: number, tableFrame: number): void {
    this.memory.zeroFrame(tableFrame);
  }
}
