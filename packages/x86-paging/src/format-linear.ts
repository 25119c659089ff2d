// A linear address printed in the natural form of the paging mode in force: 8 hex digits in
// 32-bit / PAE paging (`0xc000_0000`), canonical 48-bit form in 4-level (`0xffff_8000_0000_1000`),
// canonical 57-bit form in 5-level (`0xff11_0000_0000_1000`). For messages and reports only.
import { formatVa } from './api';
import { formatVa32 } from './address-32bit';
import { formatVa57 } from './address-57';
import { PagingMode } from './paging-mode';

/**
 * Formats the linear address `vaHi:vaLo` (bits 56:32 and 31:0) as `pagingMode` shows addresses.
 * Out-of-range halves are shown as `<invalid va …>`, never thrown.
 */
export function formatLinear(pagingMode: PagingMode, vaHi: number, vaLo: number): string {
  const lo = vaLo >>> 0;
  if (pagingMode === PagingMode.ThirtyTwoBit || pagingMode === PagingMode.Pae) return vaHi === 0 ? formatVa32(lo) : `<invalid va ${vaHi}:${lo}>`;
  if (pagingMode === PagingMode.FiveLevel) return Number.isInteger(vaHi) && vaHi >= 0 && vaHi < 0x200_0000 ? formatVa57(vaHi, lo) : `<invalid va ${vaHi}:${lo}>`;
  return formatVa(vaHi * 4294967296 + lo);
}
