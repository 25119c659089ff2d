// Errors of the dump inspector: a memory dump or control state that cannot be read as x86_64
// page tables. Each has a stable code; nothing is half-built when one is thrown.
import { KmemError } from '../api';
import { formatPhysical } from '../hex';

/** Base class of every error the dump inspector throws. */
export abstract class DumpError extends KmemError {}

/** The dump ends before a structure it announces (an ELF header, a segment, a note). */
export class DumpTruncatedError extends DumpError {
  readonly code = 'E_DUMP_TRUNCATED';
  constructor(
    /** Byte offset in the file where the missing data starts. */
    readonly offset: number,
    /** Bytes needed from `offset`. */
    readonly neededBytes: number,
    /** Size of the file in bytes. */
    readonly fileBytes: number,
    what: string,
  ) {
    super(`dump truncated: ${what} needs bytes ${formatPhysical(offset)}..${formatPhysical(offset + neededBytes)}, the file has ${formatPhysical(fileBytes)}`);
  }
}

/** The bytes are not a dump this inspector reads (bad ELF header, overlapping segments...). */
export class DumpFormatError extends DumpError {
  readonly code = 'E_DUMP_FORMAT';
  constructor(
    /** Byte offset of the problem in the file. */
    readonly offset: number,
    reason: string,
  ) {
    super(`dump format: ${reason} (at byte offset ${offset})`);
  }
}

/** A dump of another machine: not x86_64 (an i386 or Arm core, a big-endian file). */
export class DumpArchitectureError extends DumpError {
  readonly code = 'E_DUMP_ARCH';
}

/** CR3 (the root table) lies outside the physical memory the dump holds. */
export class RootOutsideDumpError extends DumpError {
  readonly code = 'E_CR3_OUTSIDE_DUMP';
  constructor(
    /** The root table's physical address. */
    readonly rootPa: number,
  ) {
    super(`CR3 points at ${formatPhysical(rootPa)}, which is not in the dump's physical memory`);
  }
}

/** A physical address the dump does not hold was read. */
export class OutsideDumpError extends DumpError {
  readonly code = 'E_PA_OUTSIDE_DUMP';
  constructor(
    /** The physical address read. */
    readonly pa: number,
  ) {
    super(`physical ${formatPhysical(pa)} is not in the dump`);
  }
}

/** A dump is read-only: a write through the PhysicalMemory port was attempted. */
export class DumpReadOnlyError extends DumpError {
  readonly code = 'E_DUMP_READ_ONLY';
  /** @param pa Where the write was attempted. */
  constructor(readonly pa: number) {
    super(`write at physical ${formatPhysical(pa)}: a dump is read-only`);
  }
}

/** The control registers select a paging mode the inspector does not read (off, 32-bit, PAE, 5-level). */
export class PagingModeError extends DumpError {
  readonly code = 'E_PAGING_MODE';
}

/** A control-register value given or read that is not usable (not an integer, too wide). */
export class InvalidRegisterError extends DumpError {
  readonly code = 'E_INVALID_REGISTER';
}

/**
 * The tables loop: an entry points back up the tree at a table used at a higher level (other
 * than a PML4 slot pointing at the PML4 itself, the recursive-mapping design, which is allowed).
 */
export class TableLoopError extends DumpError {
  readonly code = 'E_TABLE_LOOP';
  constructor(
    /** Physical address of the looping entry. */
    readonly entryPa: number,
    /** Level of the table holding it (4 = PML4). */
    readonly level: number,
    /** The table it points at. */
    readonly targetPa: number,
  ) {
    super(`page tables loop: the level-${level} entry at ${formatPhysical(entryPa)} points at ${formatPhysical(targetPa)}, a table already used higher up the tree`);
  }
}

/** The tables share subtrees so much that listing every mapping would read more than the budget allows. */
export class TableBudgetError extends DumpError {
  readonly code = 'E_TABLE_BUDGET';
  constructor(
    /** Table reads a full listing would need. */
    readonly tableVisits: number,
    /** The budget. */
    readonly budget: number,
  ) {
    super(`listing every mapping would read ${tableVisits} tables (shared subtrees reached many times); the budget is ${budget}`);
  }
}
