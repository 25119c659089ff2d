// The PAE paging walk (SDM vol. 3A 4.4): linear bits 31:30 pick one of the four PDPTE registers
// (loaded at MOV to CR3, never re-read from memory by a walk, and never given an A bit), then a
// page directory and a page table of 8-byte entries (indices 29:21 and 20:12). A PDE with PS = 1
// maps a 2 MiB page. Reserved: bits 62:MAXPHYADDR of every PDE / PTE (4-level paging leaves 62:52
// to the OS; PAE does not), bit 63 while EFER.NXE = 0, bits 20:13 of a 2 MiB PDE (Tables 4-9..4-11).
import { PhysicalAccessError } from './api';
import type { Access, Mode } from './access-mode';
import { paeReservedHi } from './entry-pae';
import type { Mmu } from './mmu';
import { PageFaultErrorCode } from './page-fault-error-code';
import { finishLeaf } from './mmu-walk-leaf';
import { setFault, type TranslationResult } from './translation-result';

const TWO_32 = 4294967296;

/**
 * Walks the PAE tables for linear address `va` (in [0, 2^32)), with the same rights, A/D and
 * result rules as the 4-level walk. `level` in the result: 3 = PDPTE register, 2 = PDE, 1 = PTE.
 * @throws PhysicalAccessError if a table lies outside physical memory (broken tables)
 */
export function walkPae(mmu: Mmu, va: number, access: Access, mode: Mode, sideEffects: boolean, checkRights: boolean, r: TranslationResult): void {
  const regs = mmu.registers;
  r.tlbHit = false;
  const p = (va >>> 30) * 2;
  const lo3 = regs.pdptes[p]!;
  if ((lo3 & 0x1) === 0) {
    setFault(r, mmu.errorBase(access, mode), 3);
    return;
  }
  const maskHi = 2 ** (regs.maxPhysAddrBits - 32) - 1;
  const reservedHi = paeReservedHi(regs.maxPhysAddrBits, (regs.efer & 0x800) /* EFER.NXE */ !== 0) | 0;
  const rsvd = PageFaultErrorCode.Present | PageFaultErrorCode.ReservedBit;
  let tableFrame = (regs.pdptes[p + 1]! & maskHi) * TWO_32 + ((lo3 & 0xffff_f000) >>> 0);
  let andLo = 0x6; // R/W and U/S: the PDPTE has neither (SDM 4.4.1), so rights come from PDE and PTE
  let orHi = 0;
  for (let level = 2; level >= 1; level--) {
    const index = level === 2 ? (va >>> 21) & 511 : (va >>> 12) & 511;
    let table: Uint32Array;
    let i: number;
    const flat = mmu.flat;
    if (flat !== null) {
      table = flat;
      i = tableFrame / 4 + index * 2;
      if (i + 1 >= flat.length) throw new PhysicalAccessError(tableFrame + index * 8, 8);
    } else {
      table = mmu.memory.frameWords(tableFrame);
      i = index * 2;
    }
    const lo = table[i]!;
    const hi = table[i + 1]!;
    if ((lo & 0x1) === 0) {
      setFault(r, mmu.errorBase(access, mode), level);
      return;
    }
    const large = level === 2 && (lo & 0x80) !== 0;
    if ((hi & reservedHi) !== 0 || (large && (lo & 0x1f_e000) !== 0)) {
      setFault(r, mmu.errorBase(access, mode) | rsvd, level);
      return;
    }
    andLo &= lo;
    orHi |= hi;
    if (level === 1 || large) {
      const offsetMask = large ? 0x1f_ffff : 0xfff;
      const flags = (lo & (large ? 0x1fff : 0xfff) & ~0x6) | andLo | (orHi & (0x8000_0000 | 0));
      finishLeaf(mmu, table, i, flags, (hi & maskHi) * TWO_32 + ((lo & ~offsetMask) >>> 0) + (va & offsetMask), offsetMask + 1, level, access, mode, sideEffects, checkRights, r);
      return;
    }
    if (sideEffects && (lo & 0x20) === 0) table[i] = lo | 0x20;
    tableFrame = (hi & maskHi) * TWO_32 + ((lo & 0xffff_f000) >>> 0);
  }
}
