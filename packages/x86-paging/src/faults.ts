// What a fault looks like once the Cpu has delivered it, and the typed errors that carry a fault
// out to JS code when nobody handles it (or the handler gives up). The Mmu itself never throws
// for a fault: it returns a result (DESIGN.md "Errors").
import { formatVa, KmemError } from './api';
import { type Access, accessName, type Mode, modeName } from './access-mode';
import type { DecodedPageFaultErrorCode } from './page-fault-error-code';

/** What a fault handler answers: re-execute the access (as IRETQ would), or give it up. */
export type FaultAnswer = 'retry' | 'abort';

/** Everything a #PF handler gets (vector 14): CR2, the error code and where the walk stopped. */
export interface PageFaultInfo {
  /** Always 14. */
  readonly vector: 14;
  /** Faulting linear address (what CR2 now holds), in the 48-bit linear form. */
  readonly cr2: number;
  /** The page-fault error code (`PageFaultErrorCode` bits). */
  readonly errorCode: number;
  /**
   * The error code decoded, with a readable `description`. Built once per distinct error code and
   * shared, frozen, by every fault with that code (delivering a fault builds no strings).
   */
  readonly decoded: DecodedPageFaultErrorCode;
  /** Level of the entry that stopped the walk (4 = PML4 .. 1 = PT), see `TranslationResult.level`. */
  readonly level: number;
  /** The access that faulted. */
  readonly access: Access;
  /** Its mode. */
  readonly mode: Mode;
  /** 1 for the first fault of this access, 2 for the fault after the first retry, and so on. */
  readonly attempt: number;
}

/** Everything a #GP handler gets (vector 13) for a non-canonical address. */
export interface GeneralProtectionInfo {
  /** Always 13. */
  readonly vector: 13;
  /** #GP(0): the error code is 0 for a non-canonical address (SDM vol. 3A 6.15). */
  readonly errorCode: 0;
  /** The offending address as given, in hex (64-bit form). */
  readonly address: string;
  /** The access that was attempted. */
  readonly access: Access;
  /** Its mode. */
  readonly mode: Mode;
  /** 1 for the first #GP of this access, 2 after the first retry, and so on. */
  readonly attempt: number;
}

/** Base of the errors that carry an undelivered or abandoned page fault out of the Cpu. */
export abstract class PageFaultError extends KmemError {
  constructor(
    readonly fault: PageFaultInfo,
    what: string,
  ) {
    super(`#PF at ${formatVa(fault.cr2)} (error code 0x${fault.errorCode.toString(16)}, level ${fault.level}): ${fault.decoded.description}; ${what}`);
  }
}

/** A page fault with no handler registered for vector 14. */
export class UnhandledPageFaultError extends PageFaultError {
  readonly code = 'E_PAGE_FAULT_UNHANDLED';
  constructor(fault: PageFaultInfo) {
    super(fault, 'no handler registered for vector 14');
  }
}

/** The #PF handler answered `'abort'`: the access was abandoned (nothing was read or written). */
export class PageFaultAbortedError extends PageFaultError {
  readonly code = 'E_PAGE_FAULT_ABORTED';
  constructor(fault: PageFaultInfo) {
    super(fault, 'the handler aborted the access');
  }
}

/**
 * The same access kept faulting after the handler answered `'retry'` (a handler that does not
 * fix what faulted would loop forever on hardware).
 */
export class RepeatedPageFaultError extends PageFaultError {
  readonly code = 'E_PAGE_FAULT_LOOP';
  constructor(
    fault: PageFaultInfo,
    readonly limit: number,
  ) {
    super(fault, `still faulting after ${limit} retries: the handler does not fix this fault`);
  }
}

/** Fault handlers nested deeper than the Cpu's limit (each one faulting inside the previous). */
export class FaultNestingError extends KmemError {
  readonly code = 'E_FAULT_NESTING';
  constructor(
    readonly fault: PageFaultInfo,
    readonly depth: number,
  ) {
    super(`#PF at ${formatVa(fault.cr2)} while ${depth} fault handlers were already running: runaway nested faults`);
  }
}

/**
 * #GP: a non-canonical address (bits 63:48 not all equal to bit 47), which raises a
 * general-protection exception, never a page fault (SDM vol. 3A 3.3.7.1, 6.15). Thrown when no
 * vector-13 handler is registered, or the handler aborts.
 */
export class GeneralProtectionFault extends KmemError {
  readonly code = 'E_GENERAL_PROTECTION';
  constructor(readonly fault: GeneralProtectionInfo) {
    super(`#GP(0): ${modeName(fault.mode)} ${accessName(fault.access)} at non-canonical address ${fault.address}`);
  }
}

/**
 * A page-table access made by a TableAccess strategy through the MMU faulted (a broken recursive
 * entry, a missing direct-map or window mapping), as it would on hardware.
 */
export class TableAccessFaultError extends KmemError {
  readonly code = 'E_TABLE_ACCESS_FAULT';
  /**
   * @param va linear address the strategy used to reach the table entry
   * @param errorCode page-fault error code of the failed access
   * @param level level at which the MMU's walk stopped
   * @param strategy name of the strategy
   */
  constructor(
    readonly va: number,
    readonly errorCode: number,
    readonly level: number,
    readonly strategy: string,
  ) {
    super(`${strategy}: page-table access at ${formatVa(va)} faulted (error code 0x${errorCode.toString(16)}, level ${level})`);
  }
}
