// Strategy (c): one PML4 slot points back at the PML4 itself (the "recursive" or "self-map"
// trick of Windows and early x86_64 hobby kernels). Walking through that slot k times makes the
// MMU stop one level early, so every table is visible at an address built from the slot and the
// indices of the addresses it serves (SDM 4.10.3.1 discusses exactly this self-referencing case).
import { InvalidOptionError } from './api';
import type { Cpu } from './cpu';
import { PTE, encodeHi, encodeLo } from './entry';
import { linearFromIndices, MmuTableAccess } from './mmu-table-access';
import type { TableAccess } from './table-access';

/** Options of {@link RecursiveTableAccess}. */
export interface RecursiveTableAccessOptions {
  /** The recursive PML4 slot, 0..511; default 510 (linear 0xff00_0000_0000, canonical 0xffff_ff00_0000_0000). */
  readonly slot?: number;
}

function idx(va: number, level: number): number {
  return Math.floor(va / 2 ** (12 + 9 * (level - 1))) % 512;
}

/**
 * Reaches tables through a recursive PML4 slot `s`, in supervisor mode through the MMU:
 * PML4 at (s,s,s,s), the PDPT serving va at (s,s,s,i4), the PD at (s,s,i4,i3), the PT at
 * (s,i4,i3,i2). Install the slot with {@link RecursiveTableAccess.install} and give the Mapper
 * `reservedPml4Slots: [slot]`; a missing or broken recursive entry faults ({@link TableAccessFaultError}).
 *
 * TLB: the recursive address of a table is cached like any other page. Whenever this strategy
 * writes a table pointer (or clears one), it INVLPGs the recursive address of the child table,
 * so a new table installed where an old one was freed is not reached through the old
 * translation (the same flush rust-osdev/x86_64's RecursivePageTable does after creating a
 * table). Replacing a whole subtree in one step (tables below the child too) needs a CR3
 * reload, which this strategy cannot know about.
 */
export class RecursiveTableAccess extends MmuTableAccess {
  /** The recursive PML4 slot. */
  readonly slot: number;

  /** @throws InvalidOptionError for a slot outside 0..511 */
  constructor(cpu: Cpu, options: RecursiveTableAccessOptions = {}) {
    super(cpu, 'recursive slot');
    const slot = options.slot ?? 510;
    if (!Number.isInteger(slot) || slot < 0 || slot > 511) throw new InvalidOptionError('slot', slot, 'a PML4 slot is an integer in 0..511');
    this.slot = slot;
  }

  /**
   * Writes the recursive entry: PML4[slot] = the PML4's own frame, present, writable,
   * supervisor-only (through `access`, e.g. a PhysicalTableAccess while booting).
   * @throws InvalidOptionError for a slot outside 0..511
   */
  static install(access: TableAccess, pml4Frame: number, slot = 510): void {
    if (!Number.isInteger(slot) || slot < 0 || slot > 511) throw new InvalidOptionError('slot', slot, 'a PML4 slot is an integer in 0..511');
    const flags = PTE.Present | PTE.Writable;
    access.writeEntry(4, 0, pml4Frame, slot, encodeLo(pml4Frame, flags), encodeHi(pml4Frame, flags));
  }

  /**
   * Linear address at which the table of `level` (4 = PML4 .. 1 = PT) serving `va` is visible.
   */
  recursiveAddress(level: number, va: number): number {
    const s = this.slot;
    if (level === 4) return linearFromIndices(s, s, s, s);
    if (level === 3) return linearFromIndices(s, s, s, idx(va, 4));
    if (level === 2) return linearFromIndices(s, s, idx(va, 4), idx(va, 3));
    return linearFromIndices(s, idx(va, 4), idx(va, 3), idx(va, 2));
  }

  protected tableVa(level: number, va: number): number {
    return this.recursiveAddress(level, va);
  }

  protected override afterWrite(level: number, va: number, index: number, lo: number): void {
    if (level === 1) return;
    if ((lo & PTE.Present) !== 0 && (lo & PTE.HugePage) !== 0) return; // a huge leaf: no child table
    if (level === 4 && index === this.slot) return;
    // The child table (level - 1) sits at entry `index` of this table: the va range it serves
    // starts at this table's base plus index × the span of one entry.
    const entrySpan = 2 ** (12 + 9 * (level - 1));
    const tableSpan = entrySpan * 512;
    const childVa = Math.floor(va / tableSpan) * tableSpan + index * entrySpan;
    this.cpu.invlpg(this.recursiveAddress(level - 1, childVa));
  }
}
