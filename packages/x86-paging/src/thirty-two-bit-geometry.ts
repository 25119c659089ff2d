// 32-bit paging's table layout (SDM vol. 3A 4.3): CR3 -> page directory -> page table, 1024
// 4-byte entries per table, linear bits 31:22 (PDE) and 21:12 (PTE), and with CR4.PSE = 1 a PDE
// with PS = 1 maps a 4 MiB page whose physical address bits 39:32 sit in PDE bits 20:13 (PSE-36,
// up to min(MAXPHYADDR, 40) bits; Table 4-5). There is no XD bit and no high half: an entry is one
// u32, which a TableAccess for this mode hands over as `lo` with `hi` = 0. A Mapper in this mode
// assumes CR4.PSE = 1 when it maps 4 MiB pages (with PSE = 0 the CPU would read PS as ignored).
// Entry encoding and address helpers are the hardware side's (entry-32bit.ts, address-32bit.ts).
import { InvalidAddressError } from './api';
import { LINEAR_LIMIT_32, assertLinear32, formatVa32, pd32Index, pt32Index } from './address-32bit';
import {
  FLAGS_MASK_32_LARGE,
  PAGE_SIZE_4M,
  encodeEntry32,
  encodePde4M,
  entry32Address,
  entry32Flags,
  pde4MAddress,
  pde4MReservedMask,
  pse36Bits,
} from './entry-32bit';
import { PagingMode } from './paging-mode';
import type { PagingGeometry } from './paging-geometry';

const PS = 0x80;

/**
 * Throws InvalidAddressError unless `[va, va + sizeBytes)` lies in the 4 GiB linear space of
 * 32-bit and PAE paging (a flat segment's accesses may not run past 0xffff_ffff).
 */
export function assertRange32(va: number, sizeBytes: number): void {
  assertLinear32(va);
  if (!(Number.isSafeInteger(sizeBytes) && sizeBytes >= 0 && va + sizeBytes <= LINEAR_LIMIT_32)) {
    throw new InvalidAddressError(formatVa32(va), `a range of ${sizeBytes} bytes from here runs past 0xffff_ffff, the end of 32-bit linear space`);
  }
}

/** The exclusive end of a range in 4 GiB linear space as printed (`0x1_0000_0000` at the top). */
export function formatEnd32(end: number): string {
  return end === LINEAR_LIMIT_32 ? '0x1_0000_0000' : formatVa32(end);
}

/** A 32-bit linear address given as a bigint, as a number. @throws InvalidAddressError outside [0, 2^32) */
export function fromBigint32(va: bigint): number {
  if (va < 0n || va >= 0x1_0000_0000n) throw new InvalidAddressError(`0x${va.toString(16)}`, 'a 32-bit linear address must be in [0, 2^32)');
  return Number(va);
}

/** MAXPHYADDR from the high-half address mask the Mapper passes around (`2^(M-32) - 1`). */
export function maxPhysAddrOfMask(maskHi: number): number {
  return 32 + Math.log2(maskHi + 1);
}

/**
 * Linear addresses as 32-bit and PAE paging share them (SDM 4.3, 4.4): 32 bits, no canonical
 * rule, printed as `0xc000_0000`. Both geometries spread it in place.
 */
export const THIRTY_TWO_BIT_ADDRESSES = {
  /** {@inheritDoc PagingGeometry.assertLinear} */
  assertLinear: assertLinear32,
  /** {@inheritDoc PagingGeometry.assertRange} */
  assertRange: assertRange32,
  /** {@inheritDoc PagingGeometry.fromBigint} */
  fromBigint: fromBigint32,
  /** {@inheritDoc PagingGeometry.cpuAddress} */
  cpuAddress: (va: number) => va,
  /** {@inheritDoc PagingGeometry.formatVa} */
  formatVa: formatVa32,
  /** {@inheritDoc PagingGeometry.formatEnd} */
  formatEnd: formatEnd32,
} satisfies Partial<PagingGeometry>;

/** 32-bit paging (CR0.PG = 1, CR4.PAE = 0), 4 MiB pages through CR4.PSE = 1 with PSE-36. */
export const THIRTY_TWO_BIT_GEOMETRY: PagingGeometry = {
  mode: PagingMode.ThirtyTwoBit,
  name: '32-bit',
  topLevel: 2,
  entryBytes: 4,
  linearLimit: LINEAR_LIMIT_32,
  upperHalfStart: LINEAR_LIMIT_32,
  flagsMask: FLAGS_MASK_32_LARGE,
  hugeLevels: 1 << 2,
  entryCount: () => 1024,
  span: (level) => (level === 1 ? 4096 : level === 2 ? PAGE_SIZE_4M : LINEAR_LIMIT_32),
  index: (va, level) => (level === 1 ? pt32Index(va) : pd32Index(va)),
  levelName: (level) => (level === 2 ? 'PD' : level === 1 ? 'PT' : `level ${level}`),
  encodeLo: (pa, flags, hugeLeaf) => (hugeLeaf ? encodePde4M(pa, flags) : encodeEntry32(pa, flags)),
  encodeHi: () => 0,
  entryAddress: (lo) => entry32Address(lo),
  leafAddress: (lo, _hi, level, maskHi) => (level === 1 ? entry32Address(lo) : pde4MAddress(lo, maxPhysAddrOfMask(maskHi))),
  // PDE bits 31:22 and the PSE-36 bits 20:13 (bit 21 is reserved, never set here).
  leafLoAddressMask: (level) => (level === 1 ? 0xffff_f000 : 0xffc0_0000 | 0x001f_e000),
  entryFlags: (lo, _hi, hugeLeaf) => entry32Flags(lo, hugeLeaf),
  // SDM 4.3 Table 4-5: only a 4 MiB PDE has reserved bits (21, and 20:(M-19) with M = min(MAXPHYADDR, 40)).
  reservedBits: (lo, _hi, level, maskHi) => (level === 2 && (lo & PS) !== 0 ? lo & pde4MReservedMask(maxPhysAddrOfMask(maskHi)) : 0),
  tableFlagsMask: () => -1,
  impliedRights: () => 0,
  paLimit: (_level, hugeLeaf, maxPhysAddr) => (hugeLeaf ? 2 ** pse36Bits(maxPhysAddr) : LINEAR_LIMIT_32),
  rootAlignBytes: 4096,
  rootLimit: () => LINEAR_LIMIT_32,
  ...THIRTY_TWO_BIT_ADDRESSES,
};
