// The error code the CPU pushes with #PF (vector 14). SDM vol. 3A 4.7, Figure 4-12.
import { show } from './show-value';
import { KmemError } from './api';

/**
 * Bits of the page-fault error code (SDM 4.7, Figure 4-12 "Page-Fault Error Code").
 * Test a bit with `(errorCode & PageFaultErrorCode.Write) !== 0`.
 */
export const PageFaultErrorCode = {
  /** P (bit 0): 0 = the page was not present; 1 = a protection violation (or a reserved bit) on a present page. */
  Present: 1 << 0,
  /** W/R (bit 1): the access was a write. */
  Write: 1 << 1,
  /** U/S (bit 2): the access was made in user mode (CPL 3). It describes the access, not the page. */
  User: 1 << 2,
  /** RSVD (bit 3): a reserved bit was set in a paging-structure entry (only ever with P = 1). */
  ReservedBit: 1 << 3,
  /** I/D (bit 4): the access was an instruction fetch (reported only when EFER.NXE or CR4.SMEP is 1). */
  InstructionFetch: 1 << 4,
  /** PK (bit 5): the protection key (PKRU, CR4.PKE) denied the data access. */
  ProtectionKey: 1 << 5,
  /** SS (bit 6): the access was a shadow-stack access (CET). This package never sets it. */
  ShadowStack: 1 << 6,
  /** HLAT (bit 7): HLAT paging. Never set by this package; decoded for completeness. */
  Hlat: 1 << 7,
  /** SGX (bit 15): an SGX access-control violation. Never set by this package; decoded for completeness. */
  Sgx: 1 << 15,
} as const;

/** The page-fault error code split into named booleans, plus a sentence for a person. */
export interface DecodedPageFaultErrorCode {
  /** The raw error code. */
  readonly errorCode: number;
  /** P: true for a protection violation / reserved bit on a present page, false for a non-present page. */
  readonly present: boolean;
  /** W/R: the faulting access was a write. */
  readonly write: boolean;
  /** U/S: the faulting access was made in user mode. */
  readonly user: boolean;
  /** RSVD: a reserved bit was set in a paging-structure entry. */
  readonly reservedBit: boolean;
  /** I/D: the faulting access was an instruction fetch. */
  readonly instructionFetch: boolean;
  /** PK: a protection-key violation. */
  readonly protectionKey: boolean;
  /** SS: a shadow-stack access. */
  readonly shadowStack: boolean;
  /** SGX: an SGX-specific violation. */
  readonly sgx: boolean;
  /** One readable line, e.g. `user-mode write to a present page denied: protection violation [P W/R U/S]`. */
  readonly description: string;
}

/** An error code that is not an unsigned 32-bit integer. */
export class InvalidErrorCodeError extends KmemError {
  readonly code = 'E_INVALID_ERROR_CODE';
  /** @param errorCode The value given. */
  constructor(readonly errorCode: number) {
    super(`page-fault error code ${show(errorCode)} is not an unsigned 32-bit integer`);
  }
}

const BIT_NAMES: ReadonlyArray<readonly [number, string]> = [
  [PageFaultErrorCode.Present, 'P'],
  [PageFaultErrorCode.Write, 'W/R'],
  [PageFaultErrorCode.User, 'U/S'],
  [PageFaultErrorCode.ReservedBit, 'RSVD'],
  [PageFaultErrorCode.InstructionFetch, 'I/D'],
  [PageFaultErrorCode.ProtectionKey, 'PK'],
  [PageFaultErrorCode.ShadowStack, 'SS'],
  [PageFaultErrorCode.Hlat, 'HLAT'],
  [PageFaultErrorCode.Sgx, 'SGX'],
];

function assertErrorCode(errorCode: number): void {
  if (!Number.isInteger(errorCode) || errorCode < 0 || errorCode > 0xffff_ffff) throw new InvalidErrorCodeError(errorCode);
}

/**
 * Names of the bits set in `errorCode`, in bit order, e.g. `['P', 'W/R', 'U/S']`.
 * @throws InvalidErrorCodeError if `errorCode` is not an unsigned 32-bit integer
 */
export function pageFaultErrorCodeBits(errorCode: number): string[] {
  assertErrorCode(errorCode);
  const names: string[] = [];
  for (const [bit, name] of BIT_NAMES) if ((errorCode & bit) !== 0) names.push(name);
  return names;
}

/**
 * A readable sentence for a page-fault error code, e.g.
 * `supervisor-mode read of a non-present page [-]` or
 * `user-mode write to a present page denied: protection violation [P W/R U/S]`.
 * The mode and kind of access describe the faulting access, not the page's rights (SDM 4.7).
 * @throws InvalidErrorCodeError if `errorCode` is not an unsigned 32-bit integer
 */
export function describePageFaultErrorCode(errorCode: number): string {
  const bits = pageFaultErrorCodeBits(errorCode);
  const who = (errorCode & PageFaultErrorCode.User) !== 0 ? 'user-mode' : 'supervisor-mode';
  // I/D wins over W/R: a fetch is never a write; a W/R without I/D is a write.
  const what =
    (errorCode & PageFaultErrorCode.InstructionFetch) !== 0
      ? 'instruction fetch'
      : (errorCode & PageFaultErrorCode.Write) !== 0
        ? 'write'
        : 'read';
  const prep = what === 'write' ? 'to' : 'from';
  let why: string;
  if ((errorCode & PageFaultErrorCode.Present) === 0) {
    why = `${who} ${what} ${prep} a non-present page`;
  } else if ((errorCode & PageFaultErrorCode.ReservedBit) !== 0) {
    why = `${who} ${what}: reserved bit set in a paging-structure entry`;
  } else if ((errorCode & PageFaultErrorCode.ProtectionKey) !== 0) {
    why = `${who} ${what} ${prep} a present page denied: protection-key violation`;
  } else if ((errorCode & PageFaultErrorCode.Sgx) !== 0) {
    why = `${who} ${what}: SGX access-control violation`;
  } else {
    why = `${who} ${what} ${prep} a present page denied: protection violation`;
  }
  if ((errorCode & PageFaultErrorCode.ShadowStack) !== 0) why += ' (shadow-stack access)';
  return `${why} [${bits.length === 0 ? '-' : bits.join(' ')}]`;
}

/**
 * Splits a page-fault error code into named booleans plus a readable description.
 * Allocates one object: meant for handlers and logs, not for the translation hot path.
 * @throws InvalidErrorCodeError if `errorCode` is not an unsigned 32-bit integer
 */
export function decodePageFaultErrorCode(errorCode: number): DecodedPageFaultErrorCode {
  const description = describePageFaultErrorCode(errorCode);
  return {
    errorCode,
    present: (errorCode & PageFaultErrorCode.Present) !== 0,
    write: (errorCode & PageFaultErrorCode.Write) !== 0,
    user: (errorCode & PageFaultErrorCode.User) !== 0,
    reservedBit: (errorCode & PageFaultErrorCode.ReservedBit) !== 0,
    instructionFetch: (errorCode & PageFaultErrorCode.InstructionFetch) !== 0,
    protectionKey: (errorCode & PageFaultErrorCode.ProtectionKey) !== 0,
    shadowStack: (errorCode & PageFaultErrorCode.ShadowStack) !== 0,
    sgx: (errorCode & PageFaultErrorCode.Sgx) !== 0,
    description,
  };
}
