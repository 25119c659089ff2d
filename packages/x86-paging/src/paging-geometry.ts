// The shape of one paging mode's table tree, as the software that builds and reads tables needs
// it (SDM vol. 3A 4.3-4.5): how many levels, how big an entry is, how many entries a table holds
// at each level, which bits of a linear address index each level, which levels may hold a huge
// leaf (PS = 1), and how an entry encodes an address and flags. The Mapper, the table walk and
// the printing code are written once against this interface; each mode supplies one object
// (four-level-geometry.ts, and one file per other mode).
//
// Levels are numbered from the leaf up: 1 is the page table (PT), 2 the page directory, and so on
// up to `topLevel` (2 for 32-bit paging, 3 for PAE, 4 and 5 for the long modes). The flags word
// is the package's usual one (entry.ts): bits 0-12 the low half's flag bits, bits 20-31 the high
// half's bits 52-63.
import type { PagingMode } from './paging-mode';

/** One paging mode's table layout and entry encoding; see the file header. */
export interface PagingGeometry {
  /** The paging mode this geometry describes. */
  readonly mode: PagingMode;
  /** Name of the mode, as printed: '32-bit', 'PAE', '4-level' or '5-level'. */
  readonly name: string;
  /** Level of the root table (the one CR3 points at): 2, 3, 4 or 5. */
  readonly topLevel: number;
  /** Bytes per entry: 4 (32-bit paging) or 8. */
  readonly entryBytes: number;
  /** Size of the linear address space in bytes (2^32, 2^48 or 2^57). */
  readonly linearLimit: number;
  /**
   * Linear address where the upper canonical half starts (2^47, 2^56), or `linearLimit` in a mode
   * without a canonical hole. No range crosses it.
   */
  readonly upperHalfStart: number;
  /**
   * Bits of the flags word an entry of this mode can hold (32-bit paging: bits 0-12 only, no XD;
   * PAE: also NX, its bits 62:52 being reserved; the long modes: every flags-word bit).
   */
  readonly flagsMask: number;
  /** Bit `l` is set when a present level-`l` entry with PS = 1 maps a page (a huge leaf). */
  readonly hugeLevels: number;
  /** Entries in a table of `level` (1024 in 32-bit paging, 4 in PAE's PDPT, 512 otherwise). */
  entryCount(level: number): number;
  /** Bytes one entry of a `level` table maps (level 1: 4 KiB). */
  span(level: number): number;
  /** Index of `va` in the table of `level`. */
  index(va: number, level: number): number;
  /** Name of a table of `level` for people: 'PT', 'PD', 'PDPT', 'PML4', 'PML5'. */
  levelName(level: number): string;
  /** Low half of an entry holding `pa` and `flags`; `hugeLeaf` for a PS = 1 leaf. @returns u32 */
  encodeLo(pa: number, flags: number, hugeLeaf: boolean): number;
  /** High half of an entry holding `pa` and `flags` (always 0 for 4-byte entries). @returns u32 */
  encodeHi(pa: number, flags: number, maskHi: number): number;
  /** Address field of a table pointer or 4 KiB leaf (bits MAXPHYADDR-1:12). */
  entryAddress(lo: number, hi: number, maskHi: number): number;
  /** Address of the page a leaf at `level` maps. */
  leafAddress(lo: number, hi: number, level: number, maskHi: number): number;
  /** Bits of a leaf's low half at `level` that belong to its address (kept when flags change). */
  leafLoAddressMask(level: number): number;
  /** Flags word of an entry; `hugeLeaf` reads bit 12 as PAT. */
  entryFlags(lo: number, hi: number, hugeLeaf: boolean): number;
  /** Nonzero when a present entry at `level` has reserved bits set (a walk would fault with RSVD). */
  reservedBits(lo: number, hi: number, level: number, maskHi: number): number;
  /**
   * Flag bits a table-pointer entry at `level` may hold (PAE's PDPTEs have no R/W, U/S, A or NX,
   * SDM 4.4.1); a mapper ANDs the bits it wants with this mask.
   */
  tableFlagsMask(level: number): number;
  /**
   * R/W and U/S bits a walk treats as granted by a table entry at `level` whatever it holds
   * (PAE's PDPTEs, which carry no access rights, SDM 4.4.2); 0 where the entry decides.
   */
  impliedRights(level: number): number;
  /**
   * One past the highest physical address an entry at `level` can hold (a leaf when `hugeLeaf`),
   * for a machine with `maxPhysAddr` address bits.
   */
  paLimit(level: number, hugeLeaf: boolean, maxPhysAddr: number): number;
  /** Alignment of the root table's address in CR3: 4096, or 32 for PAE's PDPT (CR3[31:5]). */
  readonly rootAlignBytes: number;
  /** One past the highest address the root table may have (CR3 holds 32 bits outside IA-32e mode). */
  rootLimit(maxPhysAddr: number): number;
  /** Throws InvalidAddressError unless `va` is an integer in [0, linearLimit). */
  assertLinear(va: number): void;
  /** Throws unless `[va, va + sizeBytes)` is one contiguous piece of the linear space (no hole). */
  assertRange(va: number, sizeBytes: number): void;
  /**
   * The internal linear number of an address given as a bigint at the API edge: the canonical
   * 64-bit form in the long modes (a 5-level address above 2^53 becomes an exact number only when it
   * is a multiple of 16, as every page address is), a 32-bit value in the 32-bit modes.
   * @throws NonCanonicalAddressError, InvalidAddressError, or PagingModeError (a 57-bit address in 4-level paging)
   */
  fromBigint(va: bigint): number;
  /** `va` (an internal linear number) as a `Cpu` takes it: the number itself, or a canonical bigint above 2^53. */
  cpuAddress(va: number): number | bigint;
  /** `va` as printed in this mode (canonical hex for the long modes, 8 digits for 32-bit). */
  formatVa(va: number): string;
  /**
   * The exclusive end of a range as printed: like `formatVa`, except that the end of a half is
   * spelled out (it is not itself an address of the mode).
   */
  formatEnd(end: number): string;
}
