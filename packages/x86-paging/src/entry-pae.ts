// Paging-structure entries of PAE paging (SDM vol. 3A 4.4, Tables 4-8 to 4-11). Entries are 64
// bits, held as two u32 halves (lo = bits 31:0, hi = bits 63:32) like the 4-level ones in
// entry.ts, whose `encodeLo` / `encodeHi` / `PTE` build PAE PDEs and PTEs too. The differences:
//
//   PDPTE (one of four, loaded into registers at MOV to CR3): P 0 | 2:1 rsvd | PWT 3 | PCD 4 |
//     8:5 rsvd | 11:9 OS | (M−1):12 PD address | 63:M rsvd. No R/W, U/S, A: rights come from the
//     PDE and PTE only. A present PDPTE with a reserved bit is #GP at the MOV, not #PF (4.4.1).
//   PDE / PTE: as in 4-level paging, except that bits 62:M are RESERVED (4-level leaves 62:52 to
//     the OS and protection keys) and bit 63 is XD with EFER.NXE = 1, else reserved.
import { formatPa, MisalignedAddressError } from './api';
import { UnencodableEntryError } from './entry-32bit';

/** Number of PDPTEs (linear bits 31:30 select one). */
export const PDPTE_COUNT = 4;
/** Reserved bits of a PAE PDPTE's low half: 2:1 and 8:5 (SDM 4.4.1 Table 4-8). */
export const PDPTE_PAE_RESERVED_LO = 0x1e6;
/** Flag bits a PAE PDPTE may hold: P, PWT, PCD and the OS bits 11:9. */
export const PDPTE_PAE_FLAGS_MASK = 0xe19;

const TWO_32 = 4294967296;

/**
 * Mask of the high half's address bits (MAXPHYADDR−1):32 for a MAXPHYADDR of `maxPhysAddrBits`.
 */
function addressMaskHigh(maxPhysAddrBits: number): number {
  return 2 ** (maxPhysAddrBits - 32) - 1;
}

/**
 * Reserved bits in the high half of a PAE PDPTE: bits 63:MAXPHYADDR (SDM Table 4-8), as a u32
 * mask of hi.
 */
export function pdptePaeReservedHi(maxPhysAddrBits: number): number {
  return (0xffff_ffff & ~addressMaskHigh(maxPhysAddrBits)) >>> 0;
}

/**
 * Reserved bits in the high half of a PAE PDE or PTE: bits 62:MAXPHYADDR, and bit 63 too while
 * EFER.NXE = 0 (SDM Tables 4-9 to 4-11), as a u32 mask of hi.
 */
export function paeReservedHi(maxPhysAddrBits: number, noExecuteEnabled: boolean): number {
  const mask = 0x7fff_ffff & ~addressMaskHigh(maxPhysAddrBits);
  return (noExecuteEnabled ? mask : mask | 0x8000_0000) >>> 0;
}

/**
 * Low half of a PAE PDPTE pointing at the page directory at `pa`.
 * @param pa 4 KiB aligned physical address of the PD
 * @param flags flags word; only P, PWT, PCD and bits 11:9 are kept (the rest are reserved in a PDPTE)
 * @returns u32 (unsigned)
 * @throws MisalignedAddressError if `pa` is not 4 KiB aligned
 * @throws UnencodableEntryError if `pa` is not below 2^maxPhysAddrBits
 */
export function encodePdptePaeLo(pa: number, flags: number, maxPhysAddrBits = 52): number {
  checkPaePa(pa, maxPhysAddrBits);
  return ((pa % TWO_32 & 0xffff_f000) | (flags & PDPTE_PAE_FLAGS_MASK)) >>> 0;
}

/** High half of a PAE PDPTE (or PDE / PTE without XD) pointing at `pa`: address bits (M−1):32. */
export function encodePaeHi(pa: number, maxPhysAddrBits = 52, noExecute = false): number {
  checkPaePa(pa, maxPhysAddrBits);
  return ((Math.floor(pa / TWO_32) & addressMaskHigh(maxPhysAddrBits)) | (noExecute ? 0x8000_0000 : 0)) >>> 0;
}

/** Physical address of the page directory a PAE PDPTE points at: bits (M−1):12. */
export function pdptePaeAddress(lo: number, hi: number, maxPhysAddrBits = 52): number {
  return (hi & addressMaskHigh(maxPhysAddrBits)) * TWO_32 + ((lo & 0xffff_f000) >>> 0);
}

/**
 * True when a PAE PDPTE is present with a reserved bit set: loading it into the PDPTE registers
 * is then a #GP (SDM 4.4.1).
 */
export function pdptePaeIsInvalid(lo: number, hi: number, maxPhysAddrBits = 52): boolean {
  return (lo & 1) !== 0 && ((lo & PDPTE_PAE_RESERVED_LO) !== 0 || (hi & pdptePaeReservedHi(maxPhysAddrBits)) !== 0);
}

function checkPaePa(pa: number, maxPhysAddrBits: number): void {
  if (!(Number.isSafeInteger(pa) && pa >= 0 && pa < 2 ** maxPhysAddrBits)) {
    throw new UnencodableEntryError(pa, `a PAE entry holds physical addresses below ${formatPa(2 ** maxPhysAddrBits)} (MAXPHYADDR ${maxPhysAddrBits})`);
  }
  if (pa % 4096 !== 0) throw new MisalignedAddressError('pa', pa, 4096);
}
