// 57-bit linear addresses of 5-level paging (SDM vol. 3A 4.5): canonical when bits 63:57 all equal
// bit 56. They do not fit a safe integer (2^53), so:
//
//  - on the hot path (Mmu, Tlb) an address is TWO numbers: `vaHi` = linear bits 56:32
//    (0 .. 2^25 − 1) and `vaLo` = bits 31:0 (as an unsigned or signed 32-bit integer). Every
//    index is a shift of one of them; nothing is ever rounded;
//  - at the edges (Cpu loads and stores, parsing, printing) it is a bigint in the canonical 64-bit
//    form (or a hex string); a plain number is accepted only when it is a safe integer, which is
//    then exact (a linear address below 2^53, in the lower half);
//  - the "linear form" is the 57-bit value: canonical 0xff00_0000_0000_0000 (the first
//    higher-half byte) is linear 2^56, i.e. vaHi = 0x100_0000, vaLo = 0.
//
// BigInt appears in the conversion helpers only.
import { show } from './show-value';
import { InvalidAddressError, KmemError } from './api';
import { parseAddress64 } from './address';

/** 2^57: the size of the linear address space in 5-level paging (exact as a double: a power of two). */
export const LINEAR_LIMIT_57 = 144115188075855872;
/** 2^25: `vaHi` of a 57-bit linear address is below this. */
export const VA57_HI_LIMIT = 33554432;
/** `vaHi` of the first higher-half address, linear 2^56 (canonical 0xff00_0000_0000_0000). */
export const VA57_HIGHER_HALF_HI = 0x100_0000;
/** 256 TiB: the region one PML5 entry covers (2^48). */
export const PML5_ENTRY_SPAN = 281474976710656;

const BIG_MASK_57 = (1n << 57n) - 1n;

/** A 64-bit address whose bits 63:57 are not all copies of bit 56 (SDM 4.5). */
export class NonCanonical57AddressError extends KmemError {
  readonly code = 'E_NON_CANONICAL';
  /** @param input the rejected value as written by the caller */
  constructor(readonly input: string) {
    super(`${input} is not a canonical 57-bit address (bits 63:57 must equal bit 56)`);
  }
}

/** A 57-bit linear address split for the hot path: `hi` = bits 56:32, `lo` = bits 31:0 (unsigned). */
export interface Va57 {
  /** Linear bits 56:32, an integer in [0, 2^25). */
  readonly hi: number;
  /** Linear bits 31:0, an integer in [0, 2^32). */
  readonly lo: number;
}

/** True when the 64-bit value `v` (in [0, 2^64)) is canonical for 5-level paging: bits 63:57 equal bit 56. */
function isCanonical57U64(v: bigint): boolean {
  const top = v >> 56n;
  return top === 0n || top === 0xffn;
}

/**
 * True when `input` (a 64-bit address as bigint, string or safe integer) is canonical under
 * 5-level paging. Inputs that are not addresses at all are not canonical.
 */
export function isCanonical57(input: bigint | string | number): boolean {
  try {
    return isCanonical57U64(parseAddress64(input));
  } catch {
    return false;
  }
}

/**
 * Converts a canonical 64-bit address (5-level paging) to its 57-bit linear form, split.
 * `splitVa57('0xff11_0000_0000_1000')` is `{ hi: 0x111_0000, lo: 0x1000 }`.
 * @throws NonCanonical57AddressError if bits 63:57 differ from bit 56
 * @throws InvalidAddressError if the input is not an address (see `parseAddress64`)
 */
export function splitVa57(input: bigint | string | number): Va57 {
  const v = parseAddress64(input);
  if (!isCanonical57U64(v)) throw new NonCanonical57AddressError(`0x${v.toString(16)}`);
  const linear = v & BIG_MASK_57;
  return { hi: Number(linear >> 32n), lo: Number(linear & 0xffff_ffffn) };
}

/**
 * The canonical 64-bit form (bit 56 sign-extended) of the 57-bit linear address `hi:lo`, as an
 * unsigned bigint in [0, 2^64).
 * @throws InvalidAddressError if `hi` is not an integer in [0, 2^25) or `lo` not a 32-bit integer
 */
export function joinVa57(hi: number, lo: number): bigint {
  checkHalves(hi, lo);
  const v = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
  return hi >= VA57_HIGHER_HALF_HI ? v | 0xfe00_0000_0000_0000n : v;
}

/**
 * The 57-bit linear address `hi:lo` as one number when that is exact (below 2^53), else null.
 */
export function va57ToNumber(hi: number, lo: number): number | null {
  checkHalves(hi, lo);
  return hi < 0x20_0000 ? hi * 4294967296 + (lo >>> 0) : null;
}

/**
 * Canonical hex form of the 57-bit linear address `hi:lo`, grouped by four digits:
 * `0xff11_0000_0000_1000`, `0x0001_0000_0000_0000`.
 * @throws InvalidAddressError for halves out of range
 */
export function formatVa57(hi: number, lo: number): string {
  const hex = joinVa57(hi, lo).toString(16).padStart(16, '0');
  return `0x${hex.slice(0, 4)}_${hex.slice(4, 8)}_${hex.slice(8, 12)}_${hex.slice(12)}`;
}

/** PML5 index: linear bits 56:48, from `vaHi` (SDM 4.5, Figure 4-9). */
export function pml5Index(vaHi: number): number {
  return (vaHi >>> 16) & 511;
}

/** PML4 index: linear bits 47:39, from `vaHi` (4-level and 5-level). */
export function pml4IndexSplit(vaHi: number): number {
  return (vaHi >>> 7) & 511;
}

/** PDPT index: linear bits 38:30, from both halves (4-level and 5-level). */
export function pdptIndexSplit(vaHi: number, vaLo: number): number {
  return ((vaHi & 0x7f) << 2) | (vaLo >>> 30);
}

function checkHalves(hi: number, lo: number): void {
  if (!(Number.isInteger(hi) && hi >= 0 && hi < VA57_HI_LIMIT)) throw new InvalidAddressError(show(hi), 'vaHi (linear bits 56:32) must be an integer in [0, 2^25)');
  if (!(Number.isInteger(lo) && lo >= -0x8000_0000 && lo <= 0xffff_ffff)) throw new InvalidAddressError(show(lo), 'vaLo (linear bits 31:0) must be a 32-bit integer');
}
