// Paging-structure entries of 4-level paging, bit-exact (SDM vol. 3A 4.5, Tables 4-14 to 4-20).
// An entry is 64 bits held as two u32 halves: lo = bits 31:0, hi = bits 63:32.
//
// The FLAGS WORD (one number, used everywhere in this package's API as `flags`):
//   bits 0-12  = the low half's flag bits at their hardware positions
//                (P 0, R/W 1, U/S 2, PWT 3, PCD 4, A 5, D 6, PS/PAT-4K 7, G 8, avail 9-11,
//                 PAT of a huge leaf 12 — bit 12 is an address bit in every other entry)
//   bits 20-31 = the high half's bits 20-31 at the same positions
//                (hardware bits 52-58 OS-available, 59-62 protection key or OS-available, 63 NX)
// so encoding is two masks and an OR, and NX is bit 31 of an int32: test `(flags & PTE.NoExecute) !== 0`.
import { show } from './show-value';
import { InvalidFlagsError, InvalidOptionError, InvalidSizeError } from './api';

/** Entry flag bits as they sit in the flags word (see file header). */
export const PTE = {
  /** Bit 0, P: the entry is present (SDM 4.5). */
  Present: 0x1,
  /** Bit 1, R/W: writes allowed (combined with every level, SDM 4.6). */
  Writable: 0x2,
  /** Bit 2, U/S: user-mode accesses allowed (combined with every level, SDM 4.6). */
  User: 0x4,
  /** Bit 3, PWT: page-level write-through. */
  WriteThrough: 0x8,
  /** Bit 4, PCD: page-level cache disable. */
  CacheDisable: 0x10,
  /** Bit 5, A: accessed, set by the CPU on every level it uses. */
  Accessed: 0x20,
  /** Bit 6, D: dirty, set by the CPU on a written leaf. */
  Dirty: 0x40,
  /** Bit 7, PS in a PDPTE/PDE: this entry maps a 1 GiB / 2 MiB page. Reserved in a PML4E. */
  HugePage: 0x80,
  /** Bit 7 of a 4 KiB PTE: PAT (same bit as PS, meaning depends on level). */
  Pat4K: 0x80,
  /** Bit 8, G: global, survives CR3 writes when CR4.PGE = 1 (leaf only). */
  Global: 0x100,
  /** Bit 9: ignored by the CPU, free for the OS. */
  Avail9: 0x200,
  /** Bit 10: ignored by the CPU, free for the OS. */
  Avail10: 0x400,
  /** Bit 11: ignored by the CPU, free for the OS. */
  Avail11: 0x800,
  /** Bit 12 of a 2 MiB / 1 GiB leaf: PAT. */
  PatHuge: 0x1000,
  /** Bit 63, XD/NX: instruction fetches disallowed (when EFER.NXE = 1). A negative int32. */
  NoExecute: 0x8000_0000 | 0,
} as const;

/** Flag bits of the flags word that come from the low half of an entry, for a table pointer or 4 KiB PTE. */
export const LOW_FLAGS_MASK = 0xfff;
/** Flag bits from the low half of a 2 MiB / 1 GiB leaf (adds PAT at bit 12). */
export const LOW_FLAGS_MASK_HUGE = 0x1fff;
/** Flag bits of the flags word that come from the high half (hardware bits 52-63). A negative int32. */
export const HIGH_FLAGS_MASK = 0xfff0_0000 | 0;
/** Every bit a flags word may have. */
export const VALID_FLAGS_MASK = LOW_FLAGS_MASK_HUGE | HIGH_FLAGS_MASK;
/** The OS-available bits of the flags word: 9-11 and 20-30 (hardware 52-62). */
export const OS_AVAILABLE_MASK = 0xe00 | 0x7ff0_0000;

/** Default MAXPHYADDR (bits of physical address) — the architectural maximum for 4-level paging. */
export const DEFAULT_MAX_PHYS_ADDR = 52;

const TWO_32 = 4294967296;

/**
 * Mask of the high half's physical-address bits for a given MAXPHYADDR
 * (`hi & addressMaskHi(52) === hi & 0xfffff` selects bits 51:32).
 * @param maxPhysAddr physical address width in bits, an integer in 32..52
 * @throws InvalidOptionError if `maxPhysAddr` is outside 32..52
 */
export function addressMaskHi(maxPhysAddr: number = DEFAULT_MAX_PHYS_ADDR): number {
  if (!Number.isInteger(maxPhysAddr) || maxPhysAddr < 32 || maxPhysAddr > 52) {
    throw new InvalidOptionError('maxPhysAddr', maxPhysAddr, 'must be an integer in 32..52');
  }
  return 2 ** (maxPhysAddr - 32) - 1;
}

/**
 * Low half of an entry pointing at `pa` with `flags`.
 * @param pa frame or page address (its bits 11:0 are dropped)
 * @param flags flags word; bit 12 (PAT of a huge leaf) is kept only when `hugeLeaf`
 * @param hugeLeaf true for a 2 MiB / 1 GiB leaf (PS = 1), where bit 12 is PAT rather than address
 * @returns u32 (unsigned)
 */
export function encodeLo(pa: number, flags: number, hugeLeaf = false): number {
  return (((pa % TWO_32) & 0xffff_f000) | (flags & (hugeLeaf ? LOW_FLAGS_MASK_HUGE : LOW_FLAGS_MASK))) >>> 0;
}

/**
 * High half of an entry pointing at `pa` with `flags`: address bits 51:32 (cut to MAXPHYADDR by
 * `maskHi`) and flag bits 52-63.
 * @param maskHi `addressMaskHi(maxPhysAddr)`
 * @returns u32 (unsigned)
 */
export function encodeHi(pa: number, flags: number, maskHi = 0xfffff): number {
  return ((Math.floor(pa / TWO_32) & maskHi) | (flags & HIGH_FLAGS_MASK)) >>> 0;
}

/**
 * Physical address field of a table pointer or 4 KiB PTE: bits MAXPHYADDR-1:12.
 * @returns pa (a 4 KiB aligned safe integer)
 */
export function entryAddress(lo: number, hi: number, maskHi = 0xfffff): number {
  return (hi & maskHi) * TWO_32 + ((lo & 0xffff_f000) >>> 0);
}

/**
 * Physical address of the page a leaf at `level` maps: bits 51:12 (PT), 51:21 (PD, PS = 1),
 * 51:30 (PDPT, PS = 1) — SDM Tables 4-15, 4-17, 4-19. Bit 12 of a huge leaf is PAT, not address.
 */
export function leafAddress(lo: number, hi: number, level: number, maskHi = 0xfffff): number {
  const loMask = level === 1 ? 0xffff_f000 : level === 2 ? 0xffe0_0000 : 0xc000_0000;
  return (hi & maskHi) * TWO_32 + ((lo & loMask) >>> 0);
}

/**
 * Flags word of an entry (see file header).
 * @param hugeLeaf true for a 2 MiB / 1 GiB leaf, so bit 12 is read as PAT
 */
export function entryFlags(lo: number, hi: number, hugeLeaf = false): number {
  return (lo & (hugeLeaf ? LOW_FLAGS_MASK_HUGE : LOW_FLAGS_MASK)) | (hi & HIGH_FLAGS_MASK);
}

/**
 * Reserved bits set in an entry whose P bit is 1, which make the CPU raise #PF with RSVD = 1
 * (SDM 4.5, Tables 4-14 to 4-20; 4.7). Returns 0 when none is set, else a nonzero description mask:
 * bit 0 = address bits 51:MAXPHYADDR, bit 1 = PS in a PML4E, bit 2 = a huge leaf's reserved
 * bits (20:13 of a 2 MiB, 29:13 of a 1 GiB page), bit 3 = NX while EFER.NXE = 0.
 * @param level 4 = PML4E, 3 = PDPTE, 2 = PDE, 1 = PTE
 */
export function reservedBits(lo: number, hi: number, level: number, maskHi = 0xfffff, nxe = true): number {
  let r = 0;
  if ((hi & 0xfffff & ~maskHi) !== 0) r |= 1;
  if (level === 4 && (lo & PTE.HugePage) !== 0) r |= 2;
  if (level === 3 && (lo & PTE.HugePage) !== 0 && (lo & 0x3fff_e000) !== 0) r |= 4;
  if (level === 2 && (lo & PTE.HugePage) !== 0 && (lo & 0x001f_e000) !== 0) r |= 4;
  if (!nxe && (hi & 0x8000_0000) !== 0) r |= 8;
  return r;
}

// --- OS-available bits ------------------------------------------------------------------------

/**
 * The 14 OS-available bits of a flags word packed into one number in [0, 16384):
 * result bits 2:0 = entry bits 11:9, result bits 13:3 = entry bits 62:52.
 * (Bits 59-62 are the protection key while CR4.PKE/PKS = 1; then only 11 bits are free.)
 */
export function osBits(flags: number): number {
  return ((flags >>> 9) & 7) | (((flags >>> 20) & 0x7ff) << 3);
}

/**
 * `flags` with its 14 OS-available bits replaced by `bits` (packed as `osBits` returns them).
 * @throws InvalidSizeError if `bits` is not an integer in [0, 16384)
 */
export function withOsBits(flags: number, bits: number): number {
  if (!Number.isInteger(bits) || bits < 0 || bits >= 16384) throw new InvalidSizeError('bits', bits, 'OS-available bits must be an integer in [0, 16384)');
  return (flags & ~OS_AVAILABLE_MASK) | ((bits & 7) << 9) | ((bits >>> 3) << 20);
}

/**
 * `flags` as an int32 flags word, checked: an integer that fits 32 bits (signed or unsigned) with
 * none of bits 13-19 set (they would land in an entry's address field).
 * @param what names the flags in the message (an option name, say)
 * @throws InvalidFlagsError otherwise
 */
export function checkFlagsWord(flags: number, what = 'flags'): number {
  if (!Number.isInteger(flags) || flags < -2147483648 || flags > 0xffff_ffff) throw new InvalidFlagsError(0, `${what} = ${show(flags)} is not a 32-bit flags word`);
  const f = flags | 0;
  if ((f & ~VALID_FLAGS_MASK) !== 0) throw new InvalidFlagsError(f, `${what}: bits 13-19 of the flags word are not flags (they would land in the address field)`);
  return f;
}

/**
 * Flags-word bit for an OS-available hardware bit: 9, 10, 11 or 52..62.
 * `availableBit(52) === 1 << 20`.
 * @throws InvalidFlagsError for any other bit number
 */
export function availableBit(hardwareBit: number): number {
  if (hardwareBit === 9 || hardwareBit === 10 || hardwareBit === 11) return 1 << hardwareBit;
  if (Number.isInteger(hardwareBit) && hardwareBit >= 52 && hardwareBit <= 62) return 1 << (hardwareBit - 32);
  throw new InvalidFlagsError(0, `bit ${hardwareBit} is not OS-available (only 9-11 and 52-62 are)`);
}

/** Protection key (entry bits 62:59) of a flags word, 0..15 (SDM 4.6.2). */
export function protectionKey(flags: number): number {
  return (flags >>> 27) & 0xf;
}

/**
 * `flags` with protection key `key` in bits 62:59.
 * @throws InvalidSizeError if `key` is not an integer in 0..15
 */
export function withProtectionKey(flags: number, key: number): number {
  if (!Number.isInteger(key) || key < 0 || key > 15) throw new InvalidSizeError('key', key, 'a protection key is an integer in 0..15');
  return (flags & ~(0xf << 27)) | (key << 27);
}

// --- Decoding for people ----------------------------------------------------------------------

/** An entry decoded field by field (for teaching and debugging; allocates). */
export interface DecodedEntry {
  /** 4 = PML4E, 3 = PDPTE, 2 = PDE, 1 = PTE. */
  readonly level: number;
  /** Raw low half (bits 31:0). */
  readonly lo: number;
  /** Raw high half (bits 63:32; 0 for a 4-byte entry). */
  readonly hi: number;
  /** P (bit 0): the entry is in use. */
  readonly present: boolean;
  /** True when this entry maps a page (a PTE, or PS = 1 in a PDPTE/PDE) rather than a table. */
  readonly leaf: boolean;
  /** Bytes a leaf maps (4096, 2 MiB, 1 GiB), or 0 for a table pointer / non-present entry. */
  readonly pageSizeBytes: number;
  /** Address the entry holds: the next table's frame, or the page's base. */
  readonly pa: number;
  /** Flags word. */
  readonly flags: number;
  /** Flag names, e.g. ['P', 'RW', 'US', 'A', 'NX']. */
  readonly flagNames: readonly string[];
  /** `reservedBits(...)` result; nonzero means a walk would fault with RSVD. */
  readonly reserved: number;
}

/**
 * Names of the set bits of a flags word, in bit order ('P', 'RW', 'US', 'PWT', 'PCD', 'A', 'D',
 * 'PS' or 'PAT', 'G', 'AVL9'.., 'PAT' (bit 12 of a huge leaf), 'AVL52'.., 'NX').
 * @param level entry level, so bit 7 reads as PAT in a PTE and PS elsewhere
 * @param hugeLeaf whether bit 12 is PAT
 */
export function flagNames(flags: number, level = 1, hugeLeaf = false): string[] {
  const names: string[] = [];
  const low = ['P', 'RW', 'US', 'PWT', 'PCD', 'A', 'D', level === 1 ? 'PAT' : 'PS', 'G', 'AVL9', 'AVL10', 'AVL11'];
  for (let b = 0; b < 12; b++) if ((flags & (1 << b)) !== 0) names.push(low[b]!);
  if (hugeLeaf && (flags & PTE.PatHuge) !== 0) names.push('PAT');
  for (let b = 20; b < 31; b++) if ((flags & (1 << b)) !== 0) names.push(`AVL${b + 32}`);
  if ((flags & PTE.NoExecute) !== 0) names.push('NX');
  return names;
}

/**
 * Short access summary like Linux's ptdump / QEMU's `info mem`: `u` or `-` (U/S), `r`,
 * `w` or `-` (R/W), `x` or `-` (NX clear / set), e.g. `urw-` for user data.
 */
export function formatAccess(flags: number): string {
  return `${(flags & PTE.User) !== 0 ? 'u' : '-'}r${(flags & PTE.Writable) !== 0 ? 'w' : '-'}${(flags & PTE.NoExecute) !== 0 ? '-' : 'x'}`;
}
