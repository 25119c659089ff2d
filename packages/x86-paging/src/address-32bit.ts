// Linear addresses of 32-bit and PAE paging (SDM vol. 3A 4.3, 4.4): every 32-bit number is a valid
// linear address (there is no canonical check below 64-bit mode), held as a number in [0, 2^32).
import { show } from './show-value';
import { InvalidAddressError } from './api';

/** 2^32: the size of the linear address space in 32-bit and PAE paging. */
export const LINEAR_LIMIT_32 = 4294967296;

/** True when `va` is a 32-bit linear address: an integer in [0, 2^32). */
export function isLinear32(va: number): boolean {
  return typeof va === 'number' && Number.isInteger(va) && va >= 0 && va < LINEAR_LIMIT_32;
}

/**
 * Throws unless `va` is an integer in [0, 2^32).
 * @throws InvalidAddressError
 */
export function assertLinear32(va: number): void {
  if (!isLinear32(va)) throw new InvalidAddressError(show(va), 'a 32-bit linear address must be an integer in [0, 2^32)');
}

/** 32-bit paging: page-directory index of `va`, linear bits 31:22 (SDM 4.3, Figure 4-2). */
export function pd32Index(va: number): number {
  return va >>> 22;
}

/** 32-bit paging: page-table index of `va`, linear bits 21:12 (SDM 4.3, Figure 4-2). */
export function pt32Index(va: number): number {
  return (va >>> 12) & 1023;
}

/** PAE paging: PDPTE index of `va`, linear bits 31:30 (SDM 4.4.1, Figure 4-5). */
export function pdptPaeIndex(va: number): number {
  return va >>> 30;
}

/**
 * A 32-bit linear address in hex grouped by four digits, eight digits always: `0xc000_0000`,
 * `0x0000_1000`. Values outside [0, 2^32) are shown as `<invalid va …>`.
 */
export function formatVa32(va: number): string {
  if (!isLinear32(va)) return `<invalid va ${show(va)}>`;
  const hex = va.toString(16).padStart(8, '0');
  return `0x${hex.slice(0, 4)}_${hex.slice(4)}`;
}
