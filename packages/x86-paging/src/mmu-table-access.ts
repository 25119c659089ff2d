// Shared machinery of the table-access strategies that reach page tables the way a running
// kernel must: through virtual addresses, i.e. through the MMU and TLB, in supervisor mode.
// A bad mapping then faults exactly as it would on hardware; here the fault becomes a typed
// TableAccessFaultError (the kernel's own #PF handler is not involved: a fault while editing
// page tables is a kernel bug, the analogue of an oops).
import { Access, Mode } from './access-mode';
import type { Cpu } from './cpu';
import { TableAccessFaultError } from './faults';

const TWO_53 = 9007199254740992;
import { geometryOf } from './paging-geometries';
import type { PagingGeometry } from './paging-geometry';
import { PagingMode } from './paging-mode';
import type { TableAccess } from './table-access';

/**
 * Base of strategies (b)-(d): a subclass says at which linear address a table can be reached
 * (`tableVa`); this class reads, writes and zeroes entries there through `cpu`.
 * On a fault it records CR2 and the error code in `cpu`, then throws {@link TableAccessFaultError}.
 */
export abstract class MmuTableAccess implements TableAccess {
  /** Low half of the entry read last (u32). */
  lo = 0;
  /** High half of the entry read last (u32). */
  hi = 0;
  /** Table-entry accesses made (reads + writes + zeroings), for teaching and benches. */
  accessCount = 0;
  /** Table layout of the paging mode the tables belong to. */
  readonly geometry: PagingGeometry;
  /** 8, or 4 in 32-bit paging (then `hi` reads as 0 and is never written). */
  readonly entryBytes: number;

  /**
   * @param cpu the processor whose MMU/TLB and CR3 the accesses use
   * @param strategy name shown in error messages
   * @param mode paging mode of the tables (default 4-level); `cpu` must be running in it
   * @throws PagingModeError for `PagingMode.None`
   */
  constructor(
    readonly cpu: Cpu,
    readonly strategy: string,
    mode: PagingMode = PagingMode.FourLevel,
  ) {
    this.geometry = geometryOf(mode);
    this.entryBytes = this.geometry.entryBytes;
  }

  /**
   * Linear address (page aligned) at which the table of `level` serving `va`, held in frame
   * `tableFrame`, is reachable right now. May remap something first (the window strategy).
   */
  protected abstract tableVa(level: number, va: number, tableFrame: number): number;

  /** Hook run after an entry was written (the recursive strategy invalidates there). */
  protected afterWrite(_level: number, _va: number, _index: number, _lo: number): void {}

  /**
   * Physical address behind `va + byteOffset` for a supervisor access, or a thrown fault. `va` is a
   * page address; above 2^53 (5-level paging) the Cpu gets the exact canonical bigint, since
   * `va + byteOffset` would round.
   * @throws TableAccessFaultError when the MMU faults
   */
  protected physical(va: number, access: Access, byteOffset = 0): number {
    const linear = va + byteOffset;
    const exact = linear < TWO_53;
    const address = exact ? linear : BigInt(this.geometry.cpuAddress(va)) + BigInt(byteOffset);
    const r = this.cpu.translate(address, access, Mode.Supervisor);
    if (r.fault) {
      this.cpu.cr2 = exact ? linear : NaN; // as the Cpu records a 5-level CR2 above 2^53
      this.cpu.lastErrorCode = r.errorCode;
      throw new TableAccessFaultError(exact ? linear : va, r.errorCode, r.level, this.strategy);
    }
    return r.pa;
  }

  /** @throws TableAccessFaultError if the table is not reachable */
  readEntry(level: number, va: number, tableFrame: number, index: number): void {
    this.accessCount++;
    const bytes = this.entryBytes;
    const pa = this.physical(this.tableVa(level, va, tableFrame), Access.Read, index * bytes);
    this.lo = this.cpu.memory.read32(pa);
    this.hi = bytes === 8 ? this.cpu.memory.read32(pa + 4) : 0;
  }

  /** @throws TableAccessFaultError if the table is not reachable (nothing is written then) */
  writeEntry(level: number, va: number, tableFrame: number, index: number, lo: number, hi: number): void {
    this.accessCount++;
    const bytes = this.entryBytes;
    const pa = this.physical(this.tableVa(level, va, tableFrame), Access.Write, index * bytes);
    this.cpu.memory.write32(pa, lo >>> 0);
    if (bytes === 8) this.cpu.memory.write32(pa + 4, hi >>> 0);
    this.afterWrite(level, va, index, lo);
  }

  /** @throws TableAccessFaultError if the table is not reachable */
  zeroTable(level: number, va: number, tableFrame: number): void {
    this.accessCount++;
    const pa = this.physical(this.tableVa(level, va, tableFrame), Access.Write);
    this.cpu.memory.zeroFrame(pa);
  }
}

/** Linear address built from four table indices (PML4, PDPT, PD, PT), offset 0. */
export function linearFromIndices(p4: number, p3: number, p2: number, p1: number): number {
  return p4 * 549755813888 + p3 * 1073741824 + p2 * 2097152 + p1 * 4096;
}
