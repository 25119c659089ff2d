// Strategy (b): all of physical memory is mapped at a fixed offset in the kernel half (Linux's
// "direct map" / physmap at 0xffff_8880_0000_0000, here 0xffff_8400_0000_0000 by default), so
// the table in frame F is at linear address offset + F. Simple and fast; costs address space.
import { InvalidOptionError } from './api';
import type { Cpu } from './cpu';
import { MmuTableAccess } from './mmu-table-access';
import { PagingMode } from './paging-mode';

/** Default direct-map base: the linear form of canonical 0xffff_8400_0000_0000. */
export const DIRECT_MAP_BASE = 0x8400_0000_0000;

/** Options of {@link DirectMapTableAccess}. */
export interface DirectMapTableAccessOptions {
  /** Linear address where physical address 0 is mapped (4 KiB aligned); default `DIRECT_MAP_BASE` in the long modes, required in 32-bit and PAE paging. */
  readonly offset?: number;
  /** Paging mode of the tables (default 4-level). */
  readonly mode?: PagingMode;
}

/**
 * Reaches the table in frame F at linear `offset + F`, through the MMU in supervisor mode.
 * The direct map itself must exist, writable and supervisor-only, e.g.
 * `mapper.mapRange(DIRECT_MAP_BASE, 0, memory.sizeBytes, PTE.Present | PTE.Writable | PTE.Global | PTE.NoExecute)`.
 * A table outside the mapped range faults ({@link TableAccessFaultError}).
 */
export class DirectMapTableAccess extends MmuTableAccess {
  /** Linear address of physical 0. */
  readonly offset: number;

  /** @throws InvalidOptionError for an offset that is not a 4 KiB-aligned linear address of the mode (or none given in a 32-bit mode) */
  constructor(cpu: Cpu, options: DirectMapTableAccessOptions = {}) {
    super(cpu, 'direct map', options.mode ?? PagingMode.FourLevel);
    const g = this.geometry;
    // 32-bit kernels map low memory at their own base (Linux: PAGE_OFFSET 0xc000_0000): no default there.
    const offset = options.offset ?? (g.linearLimit === 2 ** 32 ? NaN : DIRECT_MAP_BASE);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= g.linearLimit || offset % 4096 !== 0) {
      throw new InvalidOptionError('offset', Number.isSafeInteger(offset) && offset >= 0 && offset < g.linearLimit ? g.formatVa(offset) : offset, `must be a 4 KiB-aligned linear address of ${g.name} paging`);
    }
    this.offset = offset;
  }

  protected tableVa(_level: number, _va: number, tableFrame: number): number {
    return this.offset + tableFrame;
  }
}
