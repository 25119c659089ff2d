// The 32-bit paging walk (SDM vol. 3A 4.3): two levels of 4-byte entries, CR3 bits 31:12 the page
// directory, linear bits 31:22 the PDE, 21:12 the PTE. With CR4.PSE = 1 a PDE with PS = 1 maps a
// 4 MiB page (PSE-36: physical bits 39:32 in PDE bits 20:13); with CR4.PSE = 0 PS is ignored.
// There is no XD bit. The only reserved bits are those of a 4 MiB PDE (21:(M−19), M =
// min(MAXPHYADDR, 40)); a PDE pointing at a page table and a PTE have none (SDM Tables 4-4..4-6).
import { PhysicalAccessError } from './api';
import type { Access, Mode } from './access-mode';
import { pde4MAddress, pde4MReservedMask } from './entry-32bit';
import type { Mmu } from './mmu';
import { PageFaultErrorCode } from './page-fault-error-code';
import { finishLeaf } from './mmu-walk-leaf';
import { setFault, type TranslationResult } from './translation-result';

/**
 * Walks the 32-bit tables for linear address `va` (in [0, 2^32)), as `Mmu.walk` does in 4-level
 * mode: rights checked when `checkRights` (SDM 4.6), A set on the PDE as the walk passes it and A
 * (plus D for a write) on the leaf once the access is allowed when `sideEffects` (SDM 4.8; 4-byte
 * writes, as the entries are 4 bytes). Writes the outcome into `r` (`level` 2 = PDE, 1 = PTE).
 * @throws PhysicalAccessError if a table lies outside physical memory (broken tables)
 */
export function walk32Bit(mmu: Mmu, va: number, access: Access, mode: Mode, sideEffects: boolean, checkRights: boolean, r: TranslationResult): void {
  const regs = mmu.registers;
  const flat = mmu.flat;
  r.tlbHit = false;
  // CR3 bits 31:12 (SDM 4.3: a 32-bit register in this mode; higher bits do not exist).
  const dir = regs.cr3Frame % 4294967296;
  const pdIndex = va >>> 22;
  let table: Uint32Array;
  let i: number;
  if (flat !== null) {
    table = flat;
    i = dir / 4 + pdIndex;
    if (i >= flat.length) throw new PhysicalAccessError(dir + pdIndex * 4, 4);
  } else {
    table = mmu.memory.frameWords(dir);
    i = pdIndex;
  }
  const pde = table[i]!;
  if ((pde & 0x1) === 0) {
    setFault(r, mmu.errorBase(access, mode), 2);
    return;
  }
  if ((pde & 0x80) !== 0 && (regs.cr4 & 0x10) /* CR4.PSE */ !== 0) {
    // A 4 MiB page (SDM 4.3, Table 4-4).
    if ((pde & pde4MReservedMask(regs.maxPhysAddrBits)) !== 0) {
      setFault(r, mmu.errorBase(access, mode) | PageFaultErrorCode.Present | PageFaultErrorCode.ReservedBit, 2);
      return;
    }
    finishLeaf(mmu, table, i, pde & 0x1fff, pde4MAddress(pde, regs.maxPhysAddrBits) + (va & 0x3f_ffff), 4194304, 2, access, mode, sideEffects, checkRights, r);
    return;
  }
  if (sideEffects && (pde & 0x20) === 0) table[i] = pde | 0x20;
  // A page table at PDE bits 31:12 (bit 12 included: PS = 0, or PSE off and PS ignored).
  const pt = (pde & 0xffff_f000) >>> 0;
  const ptIndex = (va >>> 12) & 1023;
  if (flat !== null) {
    i = pt / 4 + ptIndex;
    if (i >= flat.length) throw new PhysicalAccessError(pt + ptIndex * 4, 4);
  } else {
    table = mmu.memory.frameWords(pt);
    i = ptIndex;
  }
  const pte = table[i]!;
  if ((pte & 0x1) === 0) {
    setFault(r, mmu.errorBase(access, mode), 1);
    return;
  }
  // Effective rights: R/W and U/S AND-ed over both levels (SDM 4.6).
  finishLeaf(mmu, table, i, (pte & 0xff9) | (pde & pte & 0x6), ((pte & 0xffff_f000) >>> 0) + (va & 0xfff), 4096, 1, access, mode, sideEffects, checkRights, r);
}
