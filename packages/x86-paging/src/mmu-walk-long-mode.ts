// The IA-32e walks (SDM vol. 3A 4.5): 4-level paging (CR3 → PML4, linear bits 47:0) and 5-level
// paging (CR3 → PML5, linear bits 56:0, CR4.LA57 = 1). The two differ only in the top level, so
// one walker serves both, one level per iteration; the 4-level fast path in mmu.ts answers the
// common 4 KiB case before it. The linear address comes as two halves: `vaHi` = bits 56:32
// (47:32 in 4-level) and `vaLo` = bits 31:0 — a 57-bit address does not fit a double exactly.
import { PhysicalAccessError } from './api';
import type { Access, Mode } from './access-mode';
import type { Mmu } from './mmu';
import { PageFaultErrorCode } from './page-fault-error-code';
import { finishLeaf } from './mmu-walk-leaf';
import { setFault, type TranslationResult } from './translation-result';

const TWO_32 = 4294967296;

/**
 * Walks 4-level (`topLevel` 4) or 5-level (`topLevel` 5) tables. `sideEffects` sets A/D (SDM 4.8:
 * A on every entry used — on table pointers as the walk passes them and on the leaf once the
 * access is allowed; D on the leaf for a write). `checkRights` applies SDM 4.6.
 * @throws PhysicalAccessError if a table lies outside flat physical memory (broken tables)
 */
export function walkLongMode(mmu: Mmu, topLevel: number, vaHi: number, vaLo: number, access: Access, mode: Mode, sideEffects: boolean, checkRights: boolean, r: TranslationResult): void {
  const regs = mmu.registers;
  const memory = mmu.memory;
  const maskHi = 2 ** (regs.maxPhysAddrBits - 32) - 1;
  // SDM 4.5: bits 51:MAXPHYADDR of every entry are reserved; bit 63 (XD) too while EFER.NXE = 0
  // (Tables 4-14..4-20).
  const reservedHi = (regs.efer & 0x800) /* EFER.NXE */ !== 0 ? 0xfffff & ~maskHi : (0xfffff & ~maskHi) | (0x8000_0000 | 0);
  // Indices by integer shifts on the halves: PML5 = bits 56:48, PML4 = 47:39, PDPT = 38:30,
  // PD = 29:21, PT = 20:12 (SDM 4.5, Figures 4-8, 4-9).
  const i5 = (vaHi >>> 16) & 511;
  const i4 = (vaHi >>> 7) & 511;
  const i3 = ((vaHi & 0x7f) << 2) | (vaLo >>> 30);
  const i2 = (vaLo >>> 21) & 511;
  const i1 = (vaLo >>> 12) & 511;
  let frame = regs.cr3Frame;
  let andLo = 0x6; // R/W | U/S
  let orHi = 0;
  r.tlbHit = false;
  const flat = mmu.flat;
  for (let level = topLevel; level >= 1; level--) {
    const index = level === 5 ? i5 : level === 4 ? i4 : level === 3 ? i3 : level === 2 ? i2 : i1;
    // Entry `index` of the table: two u32 words in the flat array or in the frame's view.
    let table: Uint32Array;
    let i: number;
    if (flat !== null) {
      table = flat;
      i = frame * 0.25 + index * 2;
      if (i >= flat.length) throw new PhysicalAccessError(-1, 4096 * level);
    } else {
      table = memory.frameWords(frame);
      i = index * 2;
    }
    const lo = table[i]!;
    const hi = table[i + 1]!;
    if ((lo & 0x1) === 0) {
      setFault(r, mmu.errorBase(access, mode), level);
      return;
    }
    if ((hi & reservedHi) !== 0 || (level >= 4 && (lo & 0x80) !== 0)) {
      // Address bits above MAXPHYADDR, NX without NXE, or PS in a PML4E / PML5E (SDM 4.5, 4.7 RSVD).
      setFault(r, mmu.errorBase(access, mode) | PageFaultErrorCode.Present | PageFaultErrorCode.ReservedBit, level);
      return;
    }
    andLo &= lo;
    orHi |= hi;
    if (level === 1 || (lo & 0x80) !== 0) {
      // A leaf: 4 KiB PTE, 2 MiB PDE or 1 GiB PDPTE. A huge page's frame field must be aligned:
      // bits 20:13 (2 MiB) or 29:13 (1 GiB) are reserved (SDM Tables 4-17, 4-15).
      if ((level === 2 && (lo & 0x001f_e000) !== 0) || (level === 3 && (lo & 0x3fff_e000) !== 0)) {
        setFault(r, mmu.errorBase(access, mode) | PageFaultErrorCode.Present | PageFaultErrorCode.ReservedBit, level);
        return;
      }
      const flags = (lo & (level === 1 ? 0xfff & ~0x6 : 0x1fff & ~0x6)) | andLo | (hi & 0x7ff0_0000) | (orHi & (0x8000_0000 | 0));
      // Page base from the entry, offset from va: bits 11:0, 20:0 or 29:0.
      const offsetMask = level === 1 ? 0xfff : level === 2 ? 0x1f_ffff : 0x3fff_ffff;
      finishLeaf(mmu, table, i, flags, (hi & maskHi) * TWO_32 + ((lo & ~offsetMask) >>> 0) + (vaLo & offsetMask), offsetMask + 1, level, access, mode, sideEffects, checkRights, r);
      return;
    }
    if (sideEffects && (lo & 0x20) === 0) table[i] = lo | 0x20;
    frame = (hi & maskHi) * TWO_32 + (lo - (lo & 0xfff));
  }
}
