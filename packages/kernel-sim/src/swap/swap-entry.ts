// Swap entries in not-present PTEs: where a swapped-out page went, stored in the PTE itself.
//
// SDM vol. 3A 4.5 (Table 4-19 note): when P = 0 the processor ignores every other bit of the
// entry, so the OS may keep anything there. Linux x86_64 (arch/x86/include/asm/pgtable_64.h)
// keeps a 5-bit swap type (the device) in bits 63:59 and the swap offset (the slot) INVERTED in
// bits 58:9, so that the would-be frame bits of a not-present entry point far above any RAM: a
// CPU affected by L1TF that speculatively uses the frame field of a not-present entry reaches no
// real data. kmem keeps the same idea in a layout that leaves its own OS bits alone:
//
//   bit   63 | 62 .. 58 | 57 .. 52 | 51 ................. 12 | 11 | 10 | 9 | 8 .. 1 | 0
//  Linux TYPE (63..59)  |        ~OFFSET (58..9)              ...     |   |  flags | P=0
//  kmem   0 |   TYPE   |    0     |   ~OFFSET (40 bits)      |SWP | 0  | 0 |   0    | P=0
//
// - P = 0: any access faults with P = 0 in the error code (SDM 4.7).
// - bit 11 (OS-available, x86-paging's Avail11) marks a swap entry; bit 10 (kmem's PROT_NONE
//   marker, which holds a frame) and bit 9 (COW) stay 0, so a swap entry is never mistaken for a
//   frame. A/D (6, 5) stay 0 (Linux avoids them too: an erratum may set them on not-present PTEs),
//   and PS (7) stays 0.
// - TYPE (the device index, 0..31) sits in OS-available bits 62:58, written with x86-paging's
//   `withOsBits`; bits 57:52 and NX are 0.
// - ~OFFSET fills the address field 51:12, so `entryAddress()` of the entry is
//   (2^40 - 1 - offset) * 4096 >= 2^51 for every offset below 2^39: the L1TF mitigation.
import { PTE, encodeHi, encodeLo, withOsBits } from '@kmem/x86-paging';

/** Bits of the swap type (device index), as Linux's SWP_TYPE_BITS. */
export const SWAP_TYPE_BITS = 5;
/** Most swap devices (types) at once: 32. */
export const MAX_SWAP_TYPES = 1 << SWAP_TYPE_BITS;
/** Bits of the swap offset (slot number) kept inverted in the address field 51:12. */
export const SWAP_OFFSET_BITS = 40;
/** Largest slot count a device may have (offsets below 2^39 keep the would-be frame above 2^51). */
export const MAX_SWAP_SLOTS = 2 ** (SWAP_OFFSET_BITS - 1);
/** The OS-available PTE bit (11) marking a not-present PTE as a swap entry. */
export const PTE_SWAP = PTE.Avail11;

const TWO_32 = 0x1_0000_0000;
const OFFSET_MASK = 2 ** SWAP_OFFSET_BITS - 1;
/** The high half's bits a swap entry may have set: type (62:58 → hi 30:26) and ~offset 51:32 (hi 19:0). */
const HI_ALLOWED = (0x1f << 26) | 0xfffff;
/** Flags word of a swap entry of each type (the swap marker and the type in OS-available bits). */
const FLAGS_OF_TYPE: readonly number[] = Array.from({ length: MAX_SWAP_TYPES }, (_, t) => withOsBits(0, (t << 9) | 0b100));

/** The would-be physical address an inverted offset puts in the entry's address field. */
function invertedPa(offset: number): number {
  return (OFFSET_MASK - offset) * 4096;
}

/**
 * Low half (bits 31:0) of the swap entry for slot `offset` of device `type`.
 * The caller guarantees 0 <= type < 32 and 0 <= offset < MAX_SWAP_SLOTS (the swap space does).
 */
export function swapEntryLo(type: number, offset: number): number {
  return encodeLo(invertedPa(offset), FLAGS_OF_TYPE[type]!);
}

/** High half (bits 63:32) of the swap entry for slot `offset` of device `type`. */
export function swapEntryHi(type: number, offset: number): number {
  return encodeHi(invertedPa(offset), FLAGS_OF_TYPE[type]!, 0xfffff);
}

/** Whether a leaf entry is meant as a swap entry: P = 0 and the swap marker (bit 11) set. */
export function isSwapEntry(lo: number): boolean {
  return (lo & (PTE.Present | PTE_SWAP)) === PTE_SWAP;
}

/**
 * Whether a swap-marked entry has the exact layout above (every other flag bit 0). An entry with
 * the marker but anything else set is corrupted.
 */
export function swapEntryWellFormed(lo: number, hi: number): boolean {
  return (lo & 0xfff) === PTE_SWAP && ((hi >>> 0) & ~HI_ALLOWED) === 0;
}

/** The swap type (device index) of a swap entry. */
export function swapEntryType(hi: number): number {
  return (hi >>> 26) & 0x1f;
}

/** The swap offset (slot) of a swap entry: the address field, inverted back. */
export function swapEntryOffset(lo: number, hi: number): number {
  const inverted = (hi & 0xfffff) * 0x10_0000 + (lo >>> 12);
  return OFFSET_MASK - inverted;
}

/** One number naming a slot: `type * 2^40 + offset` (a safe integer; the swap space's handle). */
export function swapHandle(type: number, offset: number): number {
  return type * 2 ** SWAP_OFFSET_BITS + offset;
}

/** The type of a handle. */
export function handleType(handle: number): number {
  return Math.floor(handle / 2 ** SWAP_OFFSET_BITS);
}

/** The offset of a handle. */
export function handleOffset(handle: number): number {
  return handle % 2 ** SWAP_OFFSET_BITS;
}

/** The entry as 16 hex digits grouped by 4, e.g. `0x7c00_000f_ffff_f800`. */
export function formatSwapEntry(lo: number, hi: number): string {
  const h = (hi >>> 0).toString(16).padStart(8, '0');
  const l = (lo >>> 0).toString(16).padStart(8, '0');
  return `0x${h.slice(0, 4)}_${h.slice(4)}_${l.slice(0, 4)}_${l.slice(4)}`;
}

/** The would-be frame of an entry's address field (what an L1TF-style speculative walk would use). */
export function swapEntryWouldBeFrame(lo: number, hi: number): number {
  return (hi & 0xfffff) * TWO_32 + ((lo & 0xffff_f000) >>> 0);
}
