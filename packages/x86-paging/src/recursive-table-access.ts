// Strategy (c): one slot of the root table (PML4, PML5, or a 32-bit page directory) points back
// at the root itself (the "recursive" or "self-map" trick of Windows, 32-bit Unix kernels and early
// x86_64 hobby kernels). Each walk through that slot makes the MMU stop one level early, so every table is visible at an address built from the slot and the
// indices of the addresses it serves (SDM 4.10.3.1 discusses exactly this self-referencing case).
import { InvalidOptionError } from './api';
import type { Cpu } from './cpu';
import { PTE } from './entry';
import { MmuTableAccess } from './mmu-table-access';
import { geometryOf } from './paging-geometries';
import type { PagingGeometry } from './paging-geometry';
import { PagingMode, PagingModeError } from './paging-mode';
import type { TableAccess } from './table-access';

/** Options of {@link RecursiveTableAccess}. */
export interface RecursiveTableAccessOptions {
  /**
   * The recursive slot in the root table. Default 510 in the long modes (4-level: linear
   * 0xff00_0000_0000, canonical 0xffff_ff00_0000_0000) and 1023 in 32-bit paging (the classic
   * layout: the directory at 0xffff_f000, every page table in 0xffc0_0000-0xffff_ffff).
   */
  readonly slot?: number;
  /** Paging mode of the tables (default 4-level). PAE has no recursive slot (its PDPT is 4 entries of another format). */
  readonly mode?: PagingMode;
}

/** The geometry of `mode`, refusing PAE (a PDPTE pointing back at the PDPT does not make it a page directory). */
function recursiveGeometry(mode: PagingMode): PagingGeometry {
  if (mode === PagingMode.Pae) throw new PagingModeError(mode, 'a recursive slot in the root table', '32-bit, 4-level or 5-level paging (PAE\'s 4-entry PDPT cannot map itself)');
  return geometryOf(mode);
}

function checkSlot(g: PagingGeometry, slot: number): void {
  const n = g.entryCount(g.topLevel);
  if (!Number.isInteger(slot) || slot < 0 || slot >= n) throw new InvalidOptionError('slot', slot, `a ${g.levelName(g.topLevel)} slot is an integer in 0..${n - 1}`);
}

/**
 * Reaches tables through a recursive slot `s` of the root table, in supervisor mode through the
 * MMU. Walking through the slot k times makes the MMU stop k levels early, so the table of level
 * L serving va appears at the linear address whose indices are s repeated (top - L + 1) times,
 * then va's own indices for the levels above L. In 4-level paging: PML4 at (s,s,s,s), the PDPT
 * serving va at (s,s,s,i4), the PD at (s,s,i4,i3), the PT at (s,i4,i3,i2); in 32-bit paging with
 * s = 1023: the directory at 0xffff_f000 and the PT serving va at 0xffc0_0000 + (va >>> 22) * 4096;
 * in 5-level paging five indices, the PML5 at (s,s,s,s,s). Install the slot with
 * {@link RecursiveTableAccess.install} and give the Mapper `reservedPml4Slots: [slot]` (the slot's
 * whole region holds tables, not pages); a missing or broken recursive entry faults
 * ({@link TableAccessFaultError}).
 *
 * TLB: the recursive address of a table is cached like any other page. Whenever this strategy
 * writes a table pointer (or clears one), it INVLPGs the recursive address of the child table,
 * so a new table installed where an old one was freed is not reached through the old
 * translation (the same flush rust-osdev/x86_64's RecursivePageTable does after creating a
 * table). Replacing a whole subtree in one step (tables below the child too) needs a CR3
 * reload, which this strategy cannot know about.
 */
export class RecursiveTableAccess extends MmuTableAccess {
  /** The recursive slot of the root table. */
  readonly slot: number;

  /** @throws InvalidOptionError for a slot outside the root table; PagingModeError for PAE or no paging */
  constructor(cpu: Cpu, options: RecursiveTableAccessOptions = {}) {
    const mode = options.mode ?? PagingMode.FourLevel;
    const g = recursiveGeometry(mode);
    super(cpu, 'recursive slot', mode);
    const slot = options.slot ?? (g.entryCount(g.topLevel) === 1024 ? 1023 : 510);
    checkSlot(g, slot);
    this.slot = slot;
  }

  /**
   * Writes the recursive entry: root[slot] = the root's own frame, present, writable,
   * supervisor-only (through `access`, e.g. a PhysicalTableAccess while booting).
   * @param slot default 510 (1023 in 32-bit paging)
   * @param mode paging mode of the tables (default 4-level)
   * @throws InvalidOptionError for a slot outside the root table; PagingModeError for PAE or no paging
   */
  static install(access: TableAccess, rootFrame: number, slot?: number, mode: PagingMode = PagingMode.FourLevel): void {
    const g = recursiveGeometry(mode);
    const s = slot ?? (g.entryCount(g.topLevel) === 1024 ? 1023 : 510);
    checkSlot(g, s);
    const flags = PTE.Present | PTE.Writable;
    access.writeEntry(g.topLevel, 0, rootFrame, s, g.encodeLo(rootFrame, flags, false), g.encodeHi(rootFrame, flags, 0xfffff));
  }

  /**
   * Linear address at which the table of `level` (the root's level down to 1 = PT) serving `va`
   * is visible.
   */
  recursiveAddress(level: number, va: number): number {
    const g = this.geometry;
    const top = g.topLevel;
    const s = this.slot;
    let address = 0;
    // The first `level` indices (from the top) are the slot; the rest are va's indices `level` levels up.
    for (let l = top; l >= 1; l--) address += (l > top - level ? s : g.index(va, l + level)) * g.span(l);
    return address;
  }

  protected tableVa(level: number, va: number): number {
    return this.recursiveAddress(level, va);
  }

  protected override afterWrite(level: number, va: number, index: number, lo: number): void {
    if (level === 1) return;
    const g = this.geometry;
    if ((lo & PTE.Present) !== 0 && (lo & PTE.HugePage) !== 0 && ((g.hugeLevels >>> level) & 1) !== 0) return; // a huge leaf: no child table
    if (level === g.topLevel && index === this.slot) return;
    // The child table (level - 1) sits at entry `index` of this table: the va range it serves
    // starts at this table's base plus index × the span of one entry.
    const entrySpan = g.span(level);
    const tableSpan = entrySpan * g.entryCount(level);
    const childVa = Math.floor(va / tableSpan) * tableSpan + index * entrySpan;
    this.cpu.invlpg(g.cpuAddress(this.recursiveAddress(level - 1, childVa)));
  }
}
