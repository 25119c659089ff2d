// PAE paging's table layout (SDM vol. 3A 4.4): CR3[31:5] -> a 4-entry page-directory-pointer
// table -> page directories -> page tables, 8-byte entries, linear bits 31:30 / 29:21 / 20:12,
// 2 MiB pages in PDEs. A PDPTE holds only P, PWT, PCD and the address (bits 2:1, 8:5 and 63:M
// reserved, Table 4-8), so it carries no access rights: rights combine over the PDE and PTE only
// (4.4.2). Entry bits 62:MAXPHYADDR are reserved in every PAE entry (no OS bits 52-62, no
// protection keys), bit 63 is XD with EFER.NXE. The CPU loads the four PDPTEs into registers at
// MOV to CR3 (4.4.1), so a PDPTE written later is not seen until CR3 is written again: a Mapper
// created in this mode therefore allocates all four page directories at once and never frees them
// (as Linux's PAE pgd_alloc does). Entry helpers are the hardware side's (entry-pae.ts) and entry.ts's.
import { PAGE_SIZE_1G, PAGE_SIZE_2M, pdIndex, ptIndex } from './address';
import { LINEAR_LIMIT_32, pdptPaeIndex } from './address-32bit';
import { LOW_FLAGS_MASK_HUGE, PTE, reservedBits } from './entry';
import { PDPTE_PAE_FLAGS_MASK, PDPTE_PAE_RESERVED_LO, paeReservedHi, pdptePaeReservedHi } from './entry-pae';
import { EIGHT_BYTE_ENTRIES } from './four-level-geometry';
import { PagingMode } from './paging-mode';
import type { PagingGeometry } from './paging-geometry';
import { THIRTY_TWO_BIT_ADDRESSES, maxPhysAddrOfMask } from './thirty-two-bit-geometry';

const RW_US = PTE.Writable | PTE.User;

/** PAE paging (CR0.PG = 1, CR4.PAE = 1, EFER.LME = 0): 3 levels, a 4-entry PDPT, 2 MiB pages. */
export const PAE_GEOMETRY: PagingGeometry = {
  mode: PagingMode.Pae,
  name: 'PAE',
  topLevel: 3,
  entryBytes: 8,
  linearLimit: LINEAR_LIMIT_32,
  upperHalfStart: LINEAR_LIMIT_32,
  flagsMask: LOW_FLAGS_MASK_HUGE | PTE.NoExecute,
  hugeLevels: 1 << 2,
  entryCount: (level) => (level === 3 ? 4 : 512),
  span: (level) => (level === 1 ? 4096 : level === 2 ? PAGE_SIZE_2M : PAGE_SIZE_1G),
  index: (va, level) => (level === 1 ? ptIndex(va) : level === 2 ? pdIndex(va) : pdptPaeIndex(va)),
  levelName: (level) => (level === 3 ? 'PDPT' : level === 2 ? 'PD' : level === 1 ? 'PT' : `level ${level}`),
  ...EIGHT_BYTE_ENTRIES,
  // SDM 4.4.1 Table 4-8 (PDPTE) and 4.4.2 Tables 4-9 to 4-11 (bits 62:M of every other entry).
  reservedBits: (lo, hi, level, maskHi) => {
    const m = maxPhysAddrOfMask(maskHi);
    if (level === 3) return (lo & PDPTE_PAE_RESERVED_LO) | (hi & pdptePaeReservedHi(m));
    return reservedBits(lo, hi, level, maskHi, true) | (hi & paeReservedHi(m, true));
  },
  tableFlagsMask: (level) => (level === 3 ? PDPTE_PAE_FLAGS_MASK : -1),
  impliedRights: (level) => (level === 3 ? RW_US : 0),
  paLimit: (_level, _huge, maxPhysAddr) => 2 ** maxPhysAddr,
  rootAlignBytes: 32,
  rootLimit: () => LINEAR_LIMIT_32,
  ...THIRTY_TWO_BIT_ADDRESSES,
};
