// The result of one translation, shared by the Mmu and the per-mode walkers: one preallocated
// object overwritten by every call (no allocation on the hot path).

/**
 * What one translation produced. `Mmu.translate` returns the SAME object every call, overwritten
 * each time: copy the fields you need before translating again.
 */
export class TranslationResult {
  /** True when the access faults (#PF); then `errorCode` and `level` say why and where. */
  fault = false;
  /** Physical address (valid when `fault` is false). */
  pa = 0;
  /** Size of the page mapping `va`: 4096, 2 MiB, 4 MiB (32-bit paging) or 1 GiB (valid when `fault` is false). */
  pageSizeBytes = 0;
  /** Page-fault error code (`PageFaultErrorCode` bits), 0 when no fault. */
  errorCode = 0;
  /**
   * Level of the leaf that mapped the page (1 = PT, 2 = PD, 3 = PDPT), or, for a fault, the level
   * of the entry that stopped the walk (not present / reserved bit) or of the leaf whose rights
   * denied the access (4 = PML4, 5 = PML5; in PAE paging 3 is the PDPTE register). 0 when paging
   * is off.
   */
  level = 0;
  /**
   * Effective flags word (see `PTE`): the leaf's flags with R/W and U/S replaced by their AND over
   * all four levels and NX by its OR (SDM 4.6), A/D as they are after this access.
   * Valid when `fault` is false.
   */
  flags = 0;
  /** True when the TLB answered (no page walk was done). */
  tlbHit = false;
}

/** Marks `r` as a #PF with `errorCode`, stopped at `level`. */
export function setFault(r: TranslationResult, errorCode: number, level: number): void {
  r.fault = true;
  r.errorCode = errorCode;
  r.level = level;
  r.pa = 0;
  r.pageSizeBytes = 0;
  r.flags = 0;
}

/** Marks `r` as a successful translation to `pa` of a page of `pageSizeBytes` mapped at `level`. */
export function setTranslation(r: TranslationResult, pa: number, pageSizeBytes: number, level: number, flags: number): void {
  r.fault = false;
  r.errorCode = 0;
  r.pa = pa;
  r.pageSizeBytes = pageSizeBytes;
  r.level = level;
  r.flags = flags;
}
