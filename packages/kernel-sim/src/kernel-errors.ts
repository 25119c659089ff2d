// Errors of the Machine and the Kernel (boot, frame ownership, the kernel memory API, panics).
import { KmemError } from './api';
import type { PanicReportData } from './events';
import { formatCanonical, formatPhysical } from './hex';
import { show } from './show-value';

/** Options of `Machine` or `Kernel` that cannot describe a machine or a kernel (nothing was built). */
export class KernelConfigError extends KmemError {
  readonly code = 'E_KERNEL_CONFIG';
}

/**
 * A kernel method called in the wrong state: `boot()` twice, the memory API before boot or after
 * a panic. Nothing changed.
 */
export class KernelStateError extends KmemError {
  readonly code = 'E_KERNEL_STATE';
  constructor(
    /** The state the kernel was in. */
    readonly state: string,
    what: string,
  ) {
    super(`${what} is not allowed while the kernel is ${state}`);
  }
}

/**
 * The simulated kernel panicked: it stops (state `panicked`), the host program does not. The
 * report is also in the `panic` event.
 */
export class KernelPanic extends KmemError {
  readonly code = 'E_KERNEL_PANIC';
  constructor(
    /** What the panic recorded. */
    readonly report: PanicReportData,
  ) {
    super(`kernel panic: ${report.reason}${report.cr2 === undefined ? '' : ` (CR2 ${formatCanonical(report.cr2)}, error code 0x${(report.errorCode ?? 0).toString(16)})`}`);
  }
}

/** A frame operation that does not match the ownership records (double free, freeing an unowned frame). */
export class FrameOwnershipError extends KmemError {
  readonly code = 'E_FRAME_OWNERSHIP';
  constructor(
    /** The frame. */
    readonly frame: number,
    reason: string,
  ) {
    super(`frame ${formatPhysical(frame)}: ${reason}`);
  }
}

/** A virtual range the kernel memory API refuses: misaligned, empty, outside the kernel's space. */
export class KernelAddressError extends KmemError {
  readonly code = 'E_KERNEL_ADDRESS';
  constructor(
    /** The linear address given. */
    readonly va: number,
    reason: string,
  ) {
    super(`${Number.isSafeInteger(va) && va >= 0 ? formatCanonical(va) : show(va)}: ${reason}`);
  }
}

/** A physical range `memMapAddr` refuses (not a safe range, crosses MAXPHYADDR, RAM owned by someone). */
export class KernelPhysicalRangeError extends KmemError {
  readonly code = 'E_KERNEL_PHYSICAL_RANGE';
  constructor(
    /** The physical address given. */
    readonly pa: number,
    reason: string,
  ) {
    super(`physical ${Number.isSafeInteger(pa) && pa >= 0 ? formatPhysical(pa) : show(pa)}: ${reason}`);
  }
}

/** A size or count the kernel memory API refuses (zero, negative, fractional, NaN, too large). */
export class KernelSizeError extends KmemError {
  readonly code = 'E_KERNEL_SIZE';
  constructor(
    /** Parameter name. */
    readonly parameter: string,
    /** The value given. */
    readonly value: number,
    reason = 'must be a positive safe integer',
  ) {
    super(`${parameter} = ${show(value)}: ${reason}`);
  }
}

/** Flags the kernel memory API refuses (e.g. the User bit in a kernel mapping). */
export class KernelFlagsError extends KmemError {
  readonly code = 'E_KERNEL_FLAGS';
  constructor(
    /** The flags word given. */
    readonly flags: number,
    reason: string,
  ) {
    super(`flags 0x${(flags >>> 0).toString(16)}: ${reason}`);
  }
}

/** A `checkInvariants()` of the kernel found an inconsistency. */
export class KernelInvariantError extends KmemError {
  readonly code = 'E_KERNEL_INVARIANT';
}
