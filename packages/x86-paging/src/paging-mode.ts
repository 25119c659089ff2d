// Which paging mode is in force (SDM vol. 3A 4.1.1, Table 4-1), derived from CR0.PG, CR4.PAE,
// IA32_EFER.LMA and CR4.LA57. Plain numeric consts (not a TS enum) so they erase to numbers on the
// hot path; the Mmu dispatches on them.
import { show } from './show-value';
import { KmemError } from './api';

/**
 * The five paging modes of an x86 processor (SDM vol. 3A 4.1.1, Table 4-1 "Properties of
 * Different Paging Modes").
 */
export const PagingMode = {
  /** CR0.PG = 0: linear addresses are physical addresses. */
  None: 0,
  /** CR0.PG = 1, CR4.PAE = 0: two levels of 4-byte entries, 32-bit linear addresses, 4 MiB pages with CR4.PSE (SDM 4.3). */
  ThirtyTwoBit: 1,
  /** CR0.PG = 1, CR4.PAE = 1, EFER.LME = 0: four PDPTE registers, then two levels of 8-byte entries (SDM 4.4). */
  Pae: 2,
  /** CR0.PG = 1, CR4.PAE = 1, EFER.LMA = 1, CR4.LA57 = 0: 48-bit linear addresses (SDM 4.5). */
  FourLevel: 3,
  /** CR0.PG = 1, CR4.PAE = 1, EFER.LMA = 1, CR4.LA57 = 1: 57-bit linear addresses, PML5 on top (SDM 4.5). */
  FiveLevel: 4,
} as const;
/** One of the `PagingMode` values. */
export type PagingMode = (typeof PagingMode)[keyof typeof PagingMode];

/**
 * The paging mode these register values select (SDM 4.1.1): CR0.PG = 0 none; else CR4.PAE = 0
 * 32-bit; else EFER.LMA = 0 PAE; else CR4.LA57 picks 5-level over 4-level. EFER.LMA is the
 * processor's own "IA-32e mode active" bit (set by the CPU when CR0.PG is set with EFER.LME = 1).
 * @param cr0 CR0 as a 32-bit value
 * @param cr4 CR4 as a 32-bit value
 * @param efer IA32_EFER (low 32 bits)
 */
export function pagingModeOf(cr0: number, cr4: number, efer: number): PagingMode {
  if ((cr0 & (0x8000_0000 | 0)) === 0) return PagingMode.None; // CR0.PG (bit 31)
  if ((cr4 & 0x20) === 0) return PagingMode.ThirtyTwoBit; // CR4.PAE (bit 5)
  if ((efer & 0x400) === 0) return PagingMode.Pae; // EFER.LMA (bit 10)
  return (cr4 & 0x1000) !== 0 ? PagingMode.FiveLevel : PagingMode.FourLevel; // CR4.LA57 (bit 12)
}

/** Readable name of a mode: `'none'`, `'32-bit'`, `'PAE'`, `'4-level'`, `'5-level'`. */
export function pagingModeName(mode: PagingMode): string {
  return ['none', '32-bit', 'PAE', '4-level', '5-level'][mode] ?? `mode ${show(mode)}`;
}

/** Number of paging-structure levels a walk reads in `mode` (0 without paging; PAE counts the PDPTE register as a level). */
export function pagingLevels(mode: PagingMode): number {
  return mode === PagingMode.None ? 0 : mode === PagingMode.ThirtyTwoBit ? 2 : mode === PagingMode.Pae ? 3 : mode === PagingMode.FourLevel ? 4 : 5;
}

/** Width of a linear address in `mode`, in bits: 32 (none, 32-bit, PAE), 48 (4-level), 57 (5-level) (SDM Table 4-1). */
export function linearAddressBits(mode: PagingMode): number {
  return mode === PagingMode.FourLevel ? 48 : mode === PagingMode.FiveLevel ? 57 : 32;
}

/** Size of one table entry in bytes: 4 in 32-bit paging, 8 in the others (SDM 4.3, 4.4, 4.5). */
export function entryBytes(mode: PagingMode): number {
  return mode === PagingMode.ThirtyTwoBit ? 4 : 8;
}

/** True for the modes that are IA-32e (long) modes: 4-level and 5-level. */
export function isLongMode(mode: PagingMode): boolean {
  return mode === PagingMode.FourLevel || mode === PagingMode.FiveLevel;
}

/**
 * An operation that the current (or requested) paging mode cannot do: a 1 GiB page in 32-bit
 * mode, a PML5 slot in 4-level mode, a 57-bit address while 5-level paging is off…
 */
export class PagingModeError extends KmemError {
  readonly code = 'E_WRONG_PAGING_MODE';
  /**
   * @param mode the mode in force (or asked for)
   * @param what the operation, e.g. `'a 1 GiB page'`
   * @param needs the mode(s) that can do it, e.g. `'4-level or 5-level paging'`
   */
  constructor(
    readonly mode: PagingMode,
    what: string,
    needs: string,
  ) {
    super(`${what} needs ${needs}; the paging mode is ${pagingModeName(mode)}`);
  }
}
