// Paging-structure entries of 32-bit paging, bit-exact (SDM vol. 3A 4.3, Tables 4-4 to 4-6).
// Each entry is ONE u32. The flag bits sit where they sit in 4-level entries (P 0, R/W 1, U/S 2,
// PWT 3, PCD 4, A 5, D 6, PS/PAT 7, G 8, bits 9-11 free for the OS), so the `PTE` names of
// entry.ts apply; the flags word of a 32-bit entry has no bits above 12 (there is no XD bit).
//
//   PDE → page table   31:12 table address | 11:9 OS | 8 ign | 7 PS=0 | 6 ign | 5 A | 4:0 PCD PWT U/S R/W P
//   PDE → 4 MiB page   31:22 PA 31:22 | 21 rsvd | 20:13 PA 39:32 (PSE-36) | 12 PAT | 8 G | 7 PS=1 | 6 D | 5 A | ...
//   PTE → 4 KiB page   31:12 PA 31:12 | 11:9 OS | 8 G | 7 PAT | 6 D | 5 A | ...
//
// A PDE's PS bit counts only while CR4.PSE = 1; with CR4.PSE = 0 it is ignored and every PDE
// points at a page table (SDM 4.3).
import { show } from './show-value';
import { formatPa, KmemError, MisalignedAddressError } from './api';

/** 4 MiB: the page a 32-bit PDE with PS = 1 maps (CR4.PSE = 1, SDM 4.3 Table 4-4). */
export const PAGE_SIZE_4M = 4194304;
/** Entries in a 32-bit page directory or page table (4 KiB / 4 bytes). */
export const ENTRIES_PER_TABLE_32 = 1024;
/** Flag bits a 32-bit PTE or PDE → page table holds (bits 11:0). */
export const FLAGS_MASK_32 = 0xfff;
/** Flag bits a 32-bit 4 MiB PDE holds (bits 12:0; bit 12 is PAT). */
export const FLAGS_MASK_32_LARGE = 0x1fff;
/** Bit 12 of a 4 MiB PDE: PAT (SDM Table 4-4). */
export const PDE32_PAT_LARGE = 0x1000;
/** The highest MAXPHYADDR 32-bit paging can reach: PSE-36 carries physical bits 39:32 in PDE bits 20:13 (SDM 4.3). */
export const PSE36_MAX_PHYS_ADDR = 40;

const TWO_32 = 4294967296;

/** An entry this paging mode cannot encode: an address above what its address field reaches. */
export class UnencodableEntryError extends KmemError {
  readonly code = 'E_UNENCODABLE_ENTRY';
  /**
   * @param pa the physical address asked for
   * @param reason why the entry cannot hold it
   */
  constructor(
    readonly pa: number,
    reason: string,
  ) {
    super(`${Number.isSafeInteger(pa) && pa >= 0 ? formatPa(pa) : show(pa)}: ${reason}`);
  }
}

/**
 * M of SDM 4.3: the physical-address width a 4 MiB PDE can use, min(MAXPHYADDR, 40).
 * @param maxPhysAddrBits the processor's MAXPHYADDR (32..52)
 */
export function pse36Bits(maxPhysAddrBits: number): number {
  return Math.min(maxPhysAddrBits, PSE36_MAX_PHYS_ADDR);
}

/**
 * Reserved bits of a 4 MiB PDE (CR4.PSE = 1, PS = 1): bits 21:(M−19) with M = min(MAXPHYADDR, 40)
 * (SDM 4.3 Table 4-4). A present 4 MiB PDE with any of them set faults with RSVD (SDM 4.7).
 * 0x0020_0000 (bit 21 only) for M = 40; 0x003f_e000 (21:13) for M = 32.
 */
export function pde4MReservedMask(maxPhysAddrBits: number): number {
  const m = pse36Bits(maxPhysAddrBits);
  // Bits 21 .. (m − 19): (1 << 22) − (1 << (m − 19)).
  return (1 << 22) - (1 << (m - 19));
}

/**
 * 32-bit PTE, or PDE pointing at a page table: address bits 31:12 and the low 12 flag bits.
 * @param pa 4 KiB aligned physical address below 2^32
 * @param flags flags word (bits above 11 are dropped)
 * @returns the entry as a u32 (unsigned)
 * @throws UnencodableEntryError if `pa` is not an integer in [0, 2^32) (a 32-bit entry has no higher address bits)
 * @throws MisalignedAddressError if `pa` is not 4 KiB aligned
 */
export function encodeEntry32(pa: number, flags: number): number {
  if (!(Number.isSafeInteger(pa) && pa >= 0 && pa < TWO_32)) throw new UnencodableEntryError(pa, 'a 32-bit page-table entry holds physical addresses below 2^32 only');
  if (pa % 4096 !== 0) throw new MisalignedAddressError('pa', pa, 4096);
  return ((pa & 0xffff_f000) | (flags & FLAGS_MASK_32)) >>> 0;
}

/**
 * 32-bit PDE mapping a 4 MiB page (PS = 1 is set here): PA bits 31:22 in entry bits 31:22 and PA
 * bits (M−1):32 in entry bits (M−20):13 (PSE-36), PAT in bit 12 (SDM 4.3 Table 4-4).
 * @param pa 4 MiB aligned physical address below 2^min(MAXPHYADDR, 40)
 * @param flags flags word (bits 12:0 kept; PS forced on)
 * @param maxPhysAddrBits MAXPHYADDR (default 40, what QEMU's `-cpu max` reports for PSE-36)
 * @returns the entry as a u32 (unsigned)
 * @throws UnencodableEntryError if `pa` is beyond PSE-36's reach
 * @throws MisalignedAddressError if `pa` is not 4 MiB aligned
 */
export function encodePde4M(pa: number, flags: number, maxPhysAddrBits = PSE36_MAX_PHYS_ADDR): number {
  const limit = 2 ** pse36Bits(maxPhysAddrBits);
  if (!(Number.isSafeInteger(pa) && pa >= 0 && pa < limit)) throw new UnencodableEntryError(pa, `a 4 MiB PDE reaches physical addresses below ${formatPa(limit)} only (PSE-36, MAXPHYADDR ${maxPhysAddrBits})`);
  if (pa % PAGE_SIZE_4M !== 0) throw new MisalignedAddressError('pa', pa, PAGE_SIZE_4M);
  const hi = Math.floor(pa / TWO_32);
  return ((pa & 0xffc0_0000) | (hi << 13) | (flags & FLAGS_MASK_32_LARGE) | 0x80) >>> 0;
}

/** Address field of a 32-bit PTE or PDE → page table: bits 31:12. */
export function entry32Address(entry: number): number {
  return (entry & 0xffff_f000) >>> 0;
}

/**
 * Physical address of the 4 MiB page a PDE with PS = 1 maps: bits 31:22 plus PSE-36 bits
 * 20:13 as PA bits 39:32 (only those below M = min(MAXPHYADDR, 40) count).
 */
export function pde4MAddress(entry: number, maxPhysAddrBits = PSE36_MAX_PHYS_ADDR): number {
  const highBits = pse36Bits(maxPhysAddrBits) - 32;
  return ((entry >>> 13) & ((1 << highBits) - 1)) * TWO_32 + ((entry & 0xffc0_0000) >>> 0);
}

/**
 * Flags word of a 32-bit entry: bits 11:0, or 12:0 for a 4 MiB PDE (bit 12 = PAT).
 * @param large true for a PDE with PS = 1 under CR4.PSE = 1
 */
export function entry32Flags(entry: number, large = false): number {
  return entry & (large ? FLAGS_MASK_32_LARGE : FLAGS_MASK_32);
}
