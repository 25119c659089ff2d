// Strategy (b): all of physical memory is mapped at a fixed offset in the kernel half (Linux's
// "direct map" / physmap at 0xffff_8880_0000_0000, here 0xffff_8400_0000_0000 by default), so
// the table in frame F is at linear address offset + F. Simple and fast; costs address space.
import { formatVa, InvalidOptionError } from './api';
import type { Cpu } from './cpu';
import { MmuTableAccess } from './mmu-table-access';

/** Default direct-map base: the linear form of canonical 0xffff_8400_0000_0000. */
export const DIRECT_MAP_BASE = 0x8400_0000_0000;

/** Options of {@link DirectMapTableAccess}. */
export interface DirectMapTableAccessOptions {
  /** Linear address where physical address 0 is mapped (4 KiB aligned); default `DIRECT_MAP_BASE`. */
  readonly offset?: number;
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

  /** @throws InvalidOptionError for an offset that is not a 4 KiB-aligned linear address */
  constructor(cpu: Cpu, options: DirectMapTableAccessOptions = {}) {
    super(cpu, 'direct map');
    const offset = options.offset ?? DIRECT_MAP_BASE;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= 2 ** 48 || offset % 4096 !== 0) {
      throw new InvalidOptionError('offset', Number.isSafeInteger(offset) && offset >= 0 && offset < 2 ** 48 ? formatVa(offset) : offset, 'must be a 4 KiB-aligned linear address');
    }
    this.offset = offset;
  }

  protected tableVa(_level: number, _va: number, tableFrame: number): number {
    return this.offset + tableFrame;
  }
}
