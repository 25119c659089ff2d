// The last step every walker shares (SDM vol. 3A 4.6, 4.8): check the rights of the leaf's
// effective flags, set A (and D for a write) in the leaf, and write the translation.
import type { Access, Mode } from './access-mode';
import type { Mmu } from './mmu';
import { setFault, setTranslation, type TranslationResult } from './translation-result';

/**
 * Finishes a walk at a leaf whose low word sits at `table[i]`: a #PF with P (plus PK) when
 * `checkRights` and the rights deny the access; otherwise A (and D on a write) set in memory when
 * `sideEffects` — one 4-byte write, so it serves 4-byte and 8-byte entries alike — and `r` filled.
 * @param flags the effective flags word (R/W, U/S AND-ed, XD OR-ed over the levels)
 * @param pa the physical address `va` translates to
 */
export function finishLeaf(
  mmu: Mmu,
  table: Uint32Array,
  i: number,
  flags: number,
  pa: number,
  pageSizeBytes: number,
  level: number,
  access: Access,
  mode: Mode,
  sideEffects: boolean,
  checkRights: boolean,
  r: TranslationResult,
): void {
  if (checkRights) {
    const denied = mmu.rightsError(flags, access, mode);
    if (denied !== 0) {
      setFault(r, mmu.errorBase(access, mode) | denied, level);
      return;
    }
  }
  if (sideEffects) {
    const set = access === 1 /* Access.Write */ ? 0x60 /* A | D */ : 0x20; /* A */
    const entry = table[i]!;
    if ((entry & set) !== set) table[i] = entry | set;
    flags |= set;
  }
  setTranslation(r, pa, pageSizeBytes, level, flags);
}
