// Virtual addresses: the 48-bit linear form used everywhere inside (a number in [0, 2^48)) and
// conversions from and to the canonical 64-bit form people write (SDM vol. 3A 3.3.7.1, 4.5).
// BigInt appears only in the conversion helpers below, never in a walk.
import { show } from './show-value';
import { CanonicalHoleError, InvalidAddressError, InvalidSizeError, NonCanonicalAddressError, formatVa } from './api';

export { formatVa, formatPa } from './api';

/** 4 KiB: the size of a frame and of the smallest page. */
export const PAGE_SIZE_4K = 4096;
/** 2 MiB: the page a PDE with PS = 1 maps (SDM 4.5, Table 4-17). */
export const PAGE_SIZE_2M = 2097152;
/** 1 GiB: the page a PDPTE with PS = 1 maps (SDM 4.5, Table 4-15). */
export const PAGE_SIZE_1G = 1073741824;
/** 512 GiB: the region one PML4 entry covers. */
export const PML4_ENTRY_SPAN = 549755813888;
/** 2^48: the size of the linear address space in 4-level paging. */
export const LINEAR_LIMIT = 281474976710656;
/** 2^47: linear address of the first higher-half byte (canonical 0xffff_8000_0000_0000). */
export const HIGHER_HALF_START = 140737488355328;

/** Number of entries in every paging structure (4 KiB / 8 bytes). */
export const ENTRIES_PER_TABLE = 512;

const BIG_TWO_48 = 1n << 48n;
const BIG_TWO_47 = 1n << 47n;
const BIG_TWO_64 = 1n << 64n;
const BIG_SIGN_EXT = 0xffff_0000_0000_0000n;
const TWO_53 = 9007199254740992;

function describe(input: unknown): string {
  if (typeof input === 'bigint') return `0x${input.toString(16)}`;
  if (typeof input === 'string' || typeof input === 'number') return String(input);
  return `<${input === null ? 'null' : typeof input}>`;
}

/**
 * Parses a 64-bit address into a bigint in [0, 2^64), or throws InvalidAddressError. Hex strings may carry
 * `_` separators (`0xffff_8000_0000_1000`); a number must be a safe integer (numbers at or
 * above 2^53 are rejected, never rounded); a negative number or bigint is read as the
 * sign-extended two's complement value (−4096 is 0xffff_ffff_ffff_f000).
 */
export function parseAddress64(input: bigint | string | number): bigint {
  let v: bigint;
  if (typeof input === 'bigint') {
    v = input;
  } else if (typeof input === 'number') {
    if (!Number.isSafeInteger(input)) {
      throw new InvalidAddressError(describe(input), Math.abs(input) >= TWO_53 ? 'numbers at or above 2^53 cannot hold an exact address; pass a bigint or a hex string' : 'not an integer');
    }
    v = BigInt(input);
  } else if (typeof input === 'string') {
    const text = input.trim().replace(/_/g, '');
    if (!/^-?(0x[0-9a-fA-F]+|[0-9]+)$/.test(text)) throw new InvalidAddressError(JSON.stringify(input), 'not a hex (0x…) or decimal integer');
    v = text.startsWith('-') ? -BigInt(text.slice(1)) : BigInt(text);
  } else {
    throw new InvalidAddressError(describe(input), 'an address is a bigint, a hex or decimal string, or a safe integer');
  }
  if (v < 0n) {
    if (v < -(1n << 63n)) throw new InvalidAddressError(describe(input), 'below -2^63');
    v += BIG_TWO_64;
  }
  if (v >= BIG_TWO_64) throw new InvalidAddressError(describe(input), 'does not fit in 64 bits');
  return v;
}

function isCanonicalU64(v: bigint): boolean {
  const top = v & BIG_SIGN_EXT;
  return (v & BIG_TWO_47) === 0n ? top === 0n : top === BIG_SIGN_EXT;
}

/**
 * Converts a canonical 64-bit virtual address to the 48-bit linear form used by this package.
 * `virt('0xffff_8000_0000_1000') === 0x8000_0000_1000`, `virt(0x1000n) === 0x1000`.
 * @param input canonical address as bigint, hex/decimal string, or safe integer
 * @returns linear address in [0, 2^48)
 * @throws NonCanonicalAddressError if bits 63:48 differ from bit 47 (SDM 3.3.7.1)
 * @throws InvalidAddressError if the input is not an integer, is ≥ 2^53 as a number, or does not fit in 64 bits
 */
export function virt(input: bigint | string | number): number {
  const v = parseAddress64(input);
  if (!isCanonicalU64(v)) throw new NonCanonicalAddressError(describe(input));
  return Number(v & (BIG_TWO_48 - 1n));
}

/**
 * Converts a 48-bit linear address back to its canonical 64-bit form (bit 47 sign-extended).
 * @param va linear address in [0, 2^48)
 * @returns the canonical address as an unsigned bigint in [0, 2^64)
 * @throws InvalidAddressError if `va` is not an integer in [0, 2^48)
 */
export function canonical(va: number): bigint {
  assertLinear(va);
  const v = BigInt(va);
  return va >= HIGHER_HALF_START ? v | BIG_SIGN_EXT : v;
}

/**
 * Canonical hex string of a linear address, grouped by four digits, e.g. `0xffff_8000_0000_1000`.
 * @throws InvalidAddressError if `va` is not an integer in [0, 2^48)
 */
export function canonicalHex(va: number): string {
  assertLinear(va);
  return formatVa(va);
}

/**
 * True when `input` (a 64-bit address as bigint, string or safe integer) is canonical: bits 63:48
 * all equal bit 47. Inputs that are not addresses at all are not canonical.
 */
export function isCanonical(input: bigint | string | number): boolean {
  try {
    return isCanonicalU64(parseAddress64(input));
  } catch {
    return false;
  }
}

/** True when `va` is a valid linear address: an integer in [0, 2^48). */
export function isLinear(va: number): boolean {
  return typeof va === 'number' && Number.isSafeInteger(va) && va >= 0 && va < LINEAR_LIMIT;
}

/**
 * Throws unless `va` is an integer in [0, 2^48).
 * @throws InvalidAddressError
 */
export function assertLinear(va: number): void {
  if (!isLinear(va)) throw new InvalidAddressError(show(va), 'a linear virtual address must be an integer in [0, 2^48)');
}

/**
 * Throws unless `[va, va + sizeBytes)` lies inside one canonical half: it may not cross linear
 * 0x8000_0000_0000 (the non-canonical hole) nor run past 2^48.
 * @throws CanonicalHoleError
 * @throws InvalidAddressError if `va` is not a linear address; InvalidSizeError if `sizeBytes` is not a non-negative safe integer
 */
export function assertRangeInOneHalf(va: number, sizeBytes: number): void {
  assertLinear(va);
  if (!(typeof sizeBytes === 'number' && Number.isSafeInteger(sizeBytes) && sizeBytes >= 0)) throw new InvalidSizeError('sizeBytes', sizeBytes, 'must be a non-negative safe integer');
  const end = va + sizeBytes;
  if (end > LINEAR_LIMIT || (va < HIGHER_HALF_START && end > HIGHER_HALF_START)) throw new CanonicalHoleError(va, sizeBytes);
}

/** True when `va` is in the canonical higher half (kernel half, linear ≥ 2^47). */
export function isHigherHalf(va: number): boolean {
  return va >= HIGHER_HALF_START;
}

/** PML4 index of `va`: linear bits 47:39 (SDM 4.5, Figure 4-8). */
export function pml4Index(va: number): number {
  return (va / PML4_ENTRY_SPAN) & 511;
}

/** PDPT index of `va`: bits 38:30. */
export function pdptIndex(va: number): number {
  return (va / PAGE_SIZE_1G) & 511;
}

/** PD index of `va`: bits 29:21 (all within the low 32 bits, so a shift is exact). */
export function pdIndex(va: number): number {
  return (va >>> 21) & 511;
}

/** PT index of `va`: bits 20:12. */
export function ptIndex(va: number): number {
  return (va >>> 12) & 511;
}

/** Byte offset of `va` within its 4 KiB page: bits 11:0. */
export function pageOffset(va: number): number {
  return va & 0xfff;
}

/**
 * Index of `va` in the paging structure of `level` (4 = PML4, 3 = PDPT, 2 = PD, 1 = PT).
 */
export function tableIndex(va: number, level: number): number {
  return level === 1 ? (va >>> 12) & 511 : level === 2 ? (va >>> 21) & 511 : level === 3 ? (va / PAGE_SIZE_1G) & 511 : (va / PML4_ENTRY_SPAN) & 511;
}

/**
 * Bytes one entry of a `level` table maps (level 1: 4 KiB, 2: 2 MiB, 3: 1 GiB, 4: 512 GiB).
 */
export function levelSpan(level: number): number {
  return level === 1 ? PAGE_SIZE_4K : level === 2 ? PAGE_SIZE_2M : level === 3 ? PAGE_SIZE_1G : PML4_ENTRY_SPAN;
}

/** Human name of a paging level: PML4, PDPT, PD, PT. */
export function levelName(level: number): string {
  return level === 4 ? 'PML4' : level === 3 ? 'PDPT' : level === 2 ? 'PD' : level === 1 ? 'PT' : `level ${level}`;
}

/** Rounds `value` down to a multiple of `alignBytes` (a power of two up to 2^52). */
export function alignDown(value: number, alignBytes: number): number {
  return value - (value % alignBytes);
}

/** Rounds `value` up to a multiple of `alignBytes`. */
export function alignUp(value: number, alignBytes: number): number {
  const r = value % alignBytes;
  return r === 0 ? value : value + alignBytes - r;
}
