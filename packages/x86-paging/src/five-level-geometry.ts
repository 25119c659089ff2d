// 5-level paging's table layout (SDM vol. 3A 4.5 with CR4.LA57 = 1): PML5 -> PML4 -> PDPT -> PD ->
// PT, 512 8-byte entries per table, linear bits 56:48 index the PML5, 1 GiB and 2 MiB leaves as in
// 4-level paging, PS reserved in a PML5E as in a PML4E. A canonical address has bits 63:57 equal to
// bit 56, so the linear space is [0, 2^57) with the upper half from 2^56.
//
// Numbers: a 57-bit linear address does not fit a safe integer. The Mapper's API takes numbers only
// below 2^53 (exact) and bigints (the canonical 64-bit form, as the Cpu does) for the rest; inside,
// an address is a number that is exact because every address a range operation handles is a
// multiple of 4096 below 2^57 (at most 45 significant bits). This geometry's checks accept such
// numbers; printing and the Cpu get the exact value through the hardware side's address-57.ts.
import { show } from './show-value';
import { InvalidAddressError, CanonicalHoleError } from './api';
import { levelName, levelSpan, tableIndex } from './address';
import { LINEAR_LIMIT_57, PML5_ENTRY_SPAN, formatVa57, joinVa57, splitVa57 } from './address-57';
import { VALID_FLAGS_MASK, reservedBits } from './entry';
import { EIGHT_BYTE_ENTRIES } from './four-level-geometry';
import { PagingMode } from './paging-mode';
import type { PagingGeometry } from './paging-geometry';

const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;
/** Linear address of the first upper-half byte in 5-level paging (canonical 0xff00_0000_0000_0000). */
export const UPPER_HALF_START_57 = 72057594037927936;

/** True when `va` is a linear 5-level address the Mapper can hold exactly: an integer in [0, 2^57), safe or a multiple of 4096. */
export function isLinear57(va: number): boolean {
  return typeof va === 'number' && Number.isInteger(va) && va >= 0 && va < LINEAR_LIMIT_57 && (va < TWO_53 || va % 4096 === 0);
}

/** Throws InvalidAddressError unless {@link isLinear57}. */
function assertLinear57(va: number): void {
  if (!isLinear57(va)) throw new InvalidAddressError(show(va), 'a 5-level linear address must be an integer in [0, 2^57) (page aligned above 2^53)');
}

/** Linear bits 56:32 and 31:0 of an exact internal number. */
function halves(va: number): [number, number] {
  const hi = Math.floor(va / TWO_32);
  return [hi, va - hi * TWO_32];
}

/** Canonical hex of an internal 5-level linear number, e.g. `0xff11_0000_0000_1000`. */
export function formatVa57Number(va: number): string {
  if (!isLinear57(va)) return `<invalid va ${show(va)}>`;
  const [hi, lo] = halves(va);
  return formatVa57(hi, lo);
}

/** 5-level paging (IA-32e mode with CR4.LA57 = 1). */
export const FIVE_LEVEL_GEOMETRY: PagingGeometry = {
  mode: PagingMode.FiveLevel,
  name: '5-level',
  topLevel: 5,
  entryBytes: 8,
  linearLimit: LINEAR_LIMIT_57,
  upperHalfStart: UPPER_HALF_START_57,
  flagsMask: VALID_FLAGS_MASK,
  hugeLevels: (1 << 2) | (1 << 3),
  entryCount: () => 512,
  span: (level) => (level === 5 ? PML5_ENTRY_SPAN : levelSpan(level)),
  index: (va, level) => (level === 5 ? Math.floor(va / PML5_ENTRY_SPAN) & 511 : tableIndex(va, level)),
  levelName: (level) => (level === 5 ? 'PML5' : levelName(level)),
  ...EIGHT_BYTE_ENTRIES,
  // A PML5E is checked like a PML4E: PS is reserved there (SDM 4.5, Table 4-13 with LA57).
  reservedBits: (lo, hi, level, maskHi) => reservedBits(lo, hi, level === 5 ? 4 : level, maskHi, true),
  tableFlagsMask: () => -1,
  impliedRights: () => 0,
  paLimit: (_level, _huge, maxPhysAddr) => 2 ** maxPhysAddr,
  rootAlignBytes: 4096,
  rootLimit: (maxPhysAddr) => 2 ** maxPhysAddr,
  assertLinear: assertLinear57,
  assertRange: (va, sizeBytes) => {
    assertLinear57(va);
    const end = va + sizeBytes;
    if (!(sizeBytes >= 0) || end > LINEAR_LIMIT_57 || (va < UPPER_HALF_START_57 && end > UPPER_HALF_START_57)) throw new CanonicalHoleError(va, sizeBytes);
  },
  fromBigint: (va) => {
    const { hi, lo } = splitVa57(va); // NonCanonical57AddressError for a non-canonical one
    const n = hi * TWO_32 + lo;
    // Exact below 2^53, and above it for multiples of 16 (every page address): anything else would round.
    if (n >= TWO_53 && lo % 16 !== 0) throw new InvalidAddressError(`0x${BigInt.asUintN(64, va).toString(16)}`, 'a byte address above 2^53 is not exact as a number: only page-aligned addresses there (translate, walk and leafEntry take any byte)');
    return n;
  },
  cpuAddress: (va) => {
    if (va < TWO_53) return va;
    const [hi, lo] = halves(va);
    return joinVa57(hi, lo);
  },
  formatVa: formatVa57Number,
  formatEnd: (end) => (end === UPPER_HALF_START_57 ? '0x0100_0000_0000_0000' : end === LINEAR_LIMIT_57 ? '0x1_0000_0000_0000_0000' : formatVa57Number(end)),
};
