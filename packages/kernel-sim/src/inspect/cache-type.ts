// The memory type of a page: PWT, PCD and PAT of the leaf select one of eight entries of the
// IA32_PAT MSR (SDM vol. 3A 12.12.3, Table 12-11). The MSR is not in a dump, so it is given.

/** Memory types by their PAT encoding (SDM Table 12-10). */
const TYPE_NAMES: Readonly<Record<number, string>> = { 0: 'UC', 1: 'WC', 4: 'WT', 5: 'WP', 6: 'WB', 7: 'UC-' };

/** IA32_PAT at power-on and after reset: WB WT UC- UC WB WT UC- UC (SDM Table 12-12), as [low, high] u32 halves. */
export const PAT_POWER_ON: readonly [number, number] = [0x0007_0406, 0x0007_0406];
/** IA32_PAT as Linux programs it: WB WC UC- UC WB WP UC- WT (arch/x86/mm/pat/memtype.c). */
export const PAT_LINUX: readonly [number, number] = [0x0007_0106, 0x0407_0506];

/**
 * PAT index 0..7 of a leaf: PWT (bit 3) + 2 * PCD (bit 4) + 4 * PAT (bit 7 of a 4 KiB PTE, bit 12
 * of a 2 MiB / 1 GiB leaf), from a flags word as x86-paging's `mappings()` reports it.
 */
export function patIndex(flags: number, pageSizeBytes: number): number {
  const pat = pageSizeBytes === 4096 ? (flags >>> 7) & 1 : (flags >>> 12) & 1;
  return ((flags >>> 3) & 1) | (((flags >>> 4) & 1) << 1) | (pat << 2);
}

/**
 * Name of the memory type PAT entry `index` selects in an IA32_PAT value given as [low, high]
 * u32 halves ('WB', 'UC', ...; 'rsvd(N)' for a reserved encoding).
 */
export function cacheTypeName(index: number, pat: readonly [number, number] = PAT_POWER_ON): string {
  const word = index < 4 ? pat[0] : pat[1];
  const type = (word >>> ((index & 3) * 8)) & 7;
  return TYPE_NAMES[type] ?? `rsvd(${type})`;
}
