// Explanations the walk panel draws: how a 48-bit address splits into table indices (bit ranges and
// the arithmetic), what each flag chip means (the rule and its SDM section), and the paging mode.
import { PagingMode } from '@kmem/x86-paging';
import { h } from './dom';

const FIELDS: readonly { readonly cls: string; readonly name: string; readonly shift: number; readonly high: number }[] = [
  { cls: 'l4', name: 'PML4', shift: 39, high: 47 },
  { cls: 'l3', name: 'PDPT', shift: 30, high: 38 },
  { cls: 'l2', name: 'PD', shift: 21, high: 29 },
  { cls: 'l1', name: 'PT', shift: 12, high: 20 },
];

/** The address split into its four 9-bit indices and 12-bit offset, each with its bit range and arithmetic (SDM 4.5, Figure 4-8). */
export function addressSplit(va: number): HTMLElement {
  const parts = FIELDS.map((f) => {
    const index = Math.floor(va / 2 ** f.shift) % 512;
    return h('span', { class: f.cls, title: `bits ${f.high}:${f.shift} of the address: (va >> ${f.shift}) & 0x1ff = ${index}; the entry is at table + 8 × ${index} = table + 0x${(8 * index).toString(16)}` }, `${f.name} ${index}`, h('small', {}, ` ${f.high}:${f.shift}`));
  });
  const offset = va % 4096;
  return h('div', { class: 'va-bits' }, ...parts, h('span', { class: 'off', title: `bits 11:0: va & 0xfff = 0x${offset.toString(16)} (a 2 MiB leaf takes bits 20:0, a 1 GiB leaf bits 29:0)` }, `offset 0x${offset.toString(16).padStart(3, '0')}`, h('small', {}, ' 11:0')));
}

/** What each flag of a paging-structure entry does, with the rule (SDM vol. 3A 4.5, 4.6, 4.8, 4.10). */
export const FLAG_RULES: Readonly<Record<string, string>> = {
  P: 'Present (bit 0): 0 = the walk stops, #PF with P = 0 in the error code (SDM 4.5, 4.7)',
  RW: 'Read/write (bit 1): 0 = read-only at this level for user mode, and for the kernel too when CR0.WP = 1; must be 1 at every level to write (SDM 4.6.1)',
  US: 'User/supervisor (bit 2): 1 = CPL 3 may use it; must be 1 at every level for a user access; with SMEP / SMAP the kernel may not fetch / touch such pages (SDM 4.6.1)',
  PWT: 'Page-level write-through (bit 3): memory type selection with PCD and PAT (SDM 4.9)',
  PCD: 'Page-level cache disable (bit 4): memory type selection (SDM 4.9)',
  A: 'Accessed (bit 5): the CPU sets it on every entry a walk uses; software clears it to see what was used (SDM 4.8)',
  D: 'Dirty (bit 6, leaves): the CPU sets it on the first write through the leaf (SDM 4.8)',
  PS: 'Page size (bit 7 in a PDPTE / PDE): 1 = this entry maps a 1 GiB / 2 MiB page, the walk ends here (SDM 4.5)',
  PAT: 'PAT (bit 7 of a PTE): memory type selection with PCD and PWT (SDM 4.9)',
  G: 'Global (bit 8, leaves): with CR4.PGE the TLB entry survives a CR3 load; only INVLPG or a CR4 change drops it (SDM 4.10.2.4)',
  NX: 'Execute-disable (bit 63): with EFER.NXE = 1, 1 at any level forbids instruction fetches (SDM 4.6.2)',
};

/** The paging mode in words, with the control bits that select it (SDM 4.1.1). */
export function pagingModeText(mode: number): string {
  switch (mode) {
    case PagingMode.None:
      return 'paging off (CR0.PG = 0): linear = physical';
    case PagingMode.ThirtyTwoBit:
      return '32-bit paging (CR0.PG = 1, CR4.PAE = 0): 2 levels of 4-byte entries';
    case PagingMode.Pae:
      return 'PAE paging (CR4.PAE = 1, EFER.LME = 0): 4 PDPTE registers, 2 levels of 8-byte entries';
    case PagingMode.FourLevel:
      return '4-level paging (CR4.PAE = 1, EFER.LMA = 1, CR4.LA57 = 0): 48-bit linear addresses, 4 levels of 512 entries';
    default:
      return '5-level paging (CR4.LA57 = 1): 57-bit linear addresses';
  }
}
