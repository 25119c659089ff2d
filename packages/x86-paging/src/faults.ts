// What a fault looks like once the Cpu has delivered it, and the typed errors that carry a fault
// out to JS code when nobody handles it (or the handler gives up). The Mmu itself never throws
// for a fault: it returns a result (DESIGN.md "Errors").
import { formatVa, KmemError } from './api';
import { formatLinear } from './format-linear';
import { type Access, accessName, type Mode, modeName } from './access-mode';
import type { DecodedPageFaultErrorCode } from './page-fault-error-code';
import { PagingMode } from './paging-mode';

/** What a fault handler answers: re-execute the access (as IRETQ would), or give it up. */
export type FaultAnswer = 'retry' | 'abort';

/** Everything a #PF handler gets (vector 14): CR2, the error code and where the walk stopped. */
export interface PageFaultInfo {
  /** Always 14. */
  readonly vector: 14;
  /**
   * Faulting linear address (what CR2 now holds) as a number: the 48-bit linear form in 4-level
   * paging, the 32-bit address in 32-bit / PAE paging, the 57-bit linear form in 5-level paging —
   * there NaN at or above 2^53 (never rounded): use `cr2Hi` / `cr2Lo`.
   */
  readonly cr2: number;
  /** Linear bits 56:32 of the faulting address (0 in 32-bit and PAE paging). */
  readonly cr2Hi: number;
  /** Linear bits 31:0 of the faulting address (unsigned). */
  readonly cr2Lo: number;
  /** The paging mode the fault happened in (it decides how `cr2` is printed). */
  readonly pagingMode: PagingMode;
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

/**
 * Everything a #GP handler gets (vector 13): for a non-canonical address (long modes), an access
 * past the 4 GiB segment limit (32-bit modes), or an illegal control-register write (`register`
 * and `reason` set).
 */
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
  /** For a #GP raised by MOV to CR0/CR3/CR4 or WRMSR EFER: the register (`'CR4'` …). */
  readonly register?: string;
  /** Why the processor raised #GP, in words. */
  readonly reason?: string;
}

/** Base of the errors that carry an undelivered or abandoned page fault out of the Cpu. */
export abstract class PageFaultError extends KmemError {
  /** @param fault The page fault, as the Cpu would have delivered it. */
  constructor(
    readonly fault: PageFaultInfo,
    what: string,
  ) {
    super(`#PF at ${formatLinear(fault.pagingMode ?? PagingMode.FourLevel, fault.cr2Hi ?? Math.floor(fault.cr2 / 4294967296), fault.cr2Lo ?? fault.cr2 % 4294967296)} (error code 0x${fault.errorCode.toString(16)}, level ${fault.level}): ${fault.decoded.description}; ${what}`);
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
  /** @param limit Retries allowed. */
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
  /**
   * @param fault The innermost page fault.
   * @param depth Handlers already running.
   */
  constructor(
    readonly fault: PageFaultInfo,
    readonly depth: number,
  ) {
    super(`#PF at ${formatLinear(fault.pagingMode ?? PagingMode.FourLevel, fault.cr2Hi ?? Math.floor(fault.cr2 / 4294967296), fault.cr2Lo ?? fault.cr2 % 4294967296)} while ${depth} fault handlers were already running: runaway nested faults`);
  }
}

/**
 * #GP: a non-canonical address (bits 63:48 not all equal to bit 47; 63:57 and bit 56 in 5-level
 * paging), which raises a general-protection exception, never a page fault (SDM vol. 3A 3.3.7.1,
 * 6.15), or an access past the 4 GiB limit of a flat 32-bit segment (SDM 5.3). Thrown when no
 * vector-13 handler is registered, or the handler aborts.
 */
export class GeneralProtectionFault extends KmemError {
  readonly code = 'E_GENERAL_PROTECTION';
  /** @param fault The #GP, as the Cpu would have delivered it. */
  constructor(readonly fault: GeneralProtectionInfo) {
    super(`#GP(0): ${modeName(fault.mode)} ${accessName(fault.access)} at ${fault.reason ?? 'non-canonical address'} ${fault.address}`);
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
