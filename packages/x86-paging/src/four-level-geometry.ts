// 4-level paging's table layout (SDM vol. 3A 4.5): PML4 -> PDPT -> PD -> PT, 512 8-byte entries
// per table, linear bits 47:39 / 38:30 / 29:21 / 20:12, 1 GiB leaves in PDPTEs and 2 MiB leaves
// in PDEs. The package's original mode: every helper here is the one address.ts / entry.ts
// always had, so the Mapper's 4-level code runs what it ran before.
import { formatVa } from './api';
import { HIGHER_HALF_START, LINEAR_LIMIT, assertLinear, assertRangeInOneHalf, isCanonical, levelName, levelSpan, tableIndex, virt } from './address';
import { isCanonical57 } from './address-57';
import { VALID_FLAGS_MASK, encodeHi, encodeLo, entryAddress, entryFlags, leafAddress, reservedBits } from './entry';
import { PagingMode, PagingModeError } from './paging-mode';
import type { PagingGeometry } from './paging-geometry';

/** Address bits of a leaf's low half at `level` (bit 12 of a huge leaf is PAT). */
export function longModeLeafLoAddressMask(level: number): number {
  return level === 1 ? 0xffff_f000 : level === 2 ? 0xffe0_0000 : 0xc000_0000;
}

/**
 * The 8-byte entry format PAE, 4-level and 5-level paging share (SDM 4.4.2, 4.5.4): encoding,
 * decoding and a leaf's address bits. Each of those geometries spreads it in place.
 */
export const EIGHT_BYTE_ENTRIES = {
  /** {@inheritDoc PagingGeometry.encodeLo} */
  encodeLo,
  /** {@inheritDoc PagingGeometry.encodeHi} */
  encodeHi,
  /** {@inheritDoc PagingGeometry.entryAddress} */
  entryAddress,
  /** {@inheritDoc PagingGeometry.leafAddress} */
  leafAddress,
  /** {@inheritDoc PagingGeometry.leafLoAddressMask} */
  leafLoAddressMask: longModeLeafLoAddressMask,
  /** {@inheritDoc PagingGeometry.entryFlags} */
  entryFlags,
} satisfies Partial<PagingGeometry>;

/** 4-level paging (IA-32e mode with CR4.LA57 = 0): the Mapper's default. */
export const FOUR_LEVEL_GEOMETRY: PagingGeometry = {
  mode: PagingMode.FourLevel,
  name: '4-level',
  topLevel: 4,
  entryBytes: 8,
  linearLimit: LINEAR_LIMIT,
  upperHalfStart: HIGHER_HALF_START,
  flagsMask: VALID_FLAGS_MASK,
  hugeLevels: (1 << 2) | (1 << 3),
  entryCount: () => 512,
  span: levelSpan,
  index: tableIndex,
  levelName,
  ...EIGHT_BYTE_ENTRIES,
  reservedBits: (lo, hi, level, maskHi) => reservedBits(lo, hi, level, maskHi, true),
  tableFlagsMask: () => -1,
  impliedRights: () => 0,
  paLimit: (_level, _huge, maxPhysAddr) => 2 ** maxPhysAddr,
  rootAlignBytes: 4096,
  rootLimit: (maxPhysAddr) => 2 ** maxPhysAddr,
  assertLinear,
  assertRange: assertRangeInOneHalf,
  fromBigint: (va) => {
    // Canonical only with 57 bits: the address needs 5-level paging (SDM 4.5, 3.3.7.1).
    if (!isCanonical(va) && isCanonical57(va)) throw new PagingModeError(PagingMode.FourLevel, `the 57-bit address 0x${BigInt.asUintN(64, va).toString(16)}`, '5-level paging (CR4.LA57 = 1)');
    return virt(va);
  },
  cpuAddress: (va) => va,
  formatVa,
  formatEnd: (end) => (end === HIGHER_HALF_START ? '0x0000_8000_0000_0000' : end === LINEAR_LIMIT ? '0x1_0000_0000_0000_0000' : formatVa(end)),
};
