// Unit tests, one rule each, for the paging modes other than 4-level (and for moving between
// them): each names the SDM vol. 3A section it checks.
import { describe, expect, it } from 'vitest';
import {
  Access,
  ArrayBufferPhysicalMemory,
  ControlRegisterFault,
  ControlRegisters,
  Cpu,
  CR0,
  CR4,
  EFER,
  encodeEntry32,
  encodePde4M,
  GeneralProtectionFault,
  InvalidAddressError,
  InvalidControlRegisterError,
  InvalidPdpteError,
  Mmu,
  Mode,
  PageFaultErrorCode as E,
  type PageFaultInfo,
  PagingMode,
  pagingModeOf,
  PTE,
  splitVa57,
  Tlb,
  UnencodableEntryError,
  UnhandledPageFaultError,
} from '../src/index';

const P = PTE.Present;
const RW = PTE.Writable;
const US = PTE.User;
const PS = PTE.HugePage;

/** 32-bit paging: page directory at 0x1000, page table at 0x2000, 64 MiB of memory. */
function setup32(options: { cr4?: number; efer?: number; tlb?: boolean } = {}) {
  const memory = new ArrayBufferPhysicalMemory(64 << 20);
  const cpu = new Cpu({
    memory,
    registers: { cr0: CR0.PE | CR0.PG | CR0.WP, cr4: options.cr4 ?? CR4.PSE, efer: options.efer ?? 0, cr3Frame: 0x1000 },
    tlb: options.tlb === false ? false : { setCount: 64, wayCount: 4 },
  });
  const pde = (va: number, value: number) => memory.write32(0x1000 + (va >>> 22) * 4, value);
  const pte = (va: number, value: number) => memory.write32(0x2000 + ((va >>> 12) & 1023) * 4, value);
  return { memory, cpu, pde, pte };
}

/** PAE paging: PDPT at 0x1fe0 (32-byte aligned), PD at 0x3000, PT at 0x4000. */
function setupPae(nxe = true) {
  const memory = new ArrayBufferPhysicalMemory(16 << 20);
  memory.write32(0x1fe0 + 3 * 8, 0x3000 | P); // PDPTE 3: 0xc000_0000..0xffff_ffff
  memory.write32(0x3000 + 511 * 8, 0x4000 | P | RW | US); // PD 511 of that: 0xffe0_0000
  const cpu = new Cpu({ memory, registers: { cr0: CR0.PE | CR0.PG | CR0.WP, cr4: CR4.PAE, efer: nxe ? EFER.NXE : 0, cr3Frame: 0x1000, cr3Low: 0xfe0 } });
  return { memory, cpu };
}

describe('PagingMode (SDM 4.1.1, Table 4-1)', () => {
  it('derives the mode from CR0.PG, CR4.PAE, EFER.LMA and CR4.LA57', () => {
    const PG = CR0.PG;
    expect(pagingModeOf(0, CR4.PAE, EFER.LME)).toBe(PagingMode.None);
    expect(pagingModeOf(PG, 0, 0)).toBe(PagingMode.ThirtyTwoBit);
    expect(pagingModeOf(PG, CR4.LA57, 0)).toBe(PagingMode.ThirtyTwoBit); // LA57 counts only in IA-32e mode
    expect(pagingModeOf(PG, CR4.PAE, EFER.NXE)).toBe(PagingMode.Pae);
    expect(pagingModeOf(PG, CR4.PAE | CR4.LA57, 0)).toBe(PagingMode.Pae);
    expect(pagingModeOf(PG, CR4.PAE, EFER.LME | EFER.LMA)).toBe(PagingMode.FourLevel);
    expect(pagingModeOf(PG, CR4.PAE | CR4.LA57, EFER.LME | EFER.LMA)).toBe(PagingMode.FiveLevel);
  });

  it('keeps the 4-level default: a Cpu built with no registers is in 4-level paging', () => {
    const cpu = new Cpu({ memory: new ArrayBufferPhysicalMemory(1 << 20) });
    expect(cpu.pagingMode).toBe(PagingMode.FourLevel);
    expect(cpu.registers.pagingMode).toBe(PagingMode.FourLevel);
  });

  it('ControlRegisters keeps EFER.LMA = LME AND CR0.PG and rejects impossible combinations (SDM 10.8.5, 2.5)', () => {
    expect(new ControlRegisters({ cr0: CR0.PE | CR0.PG, cr4: CR4.PAE, efer: EFER.LME }).efer & EFER.LMA).toBe(EFER.LMA);
    expect(new ControlRegisters({ cr0: CR0.PE, cr4: CR4.PAE, efer: EFER.LME | EFER.LMA }).efer & EFER.LMA).toBe(0);
    expect(() => new ControlRegisters({ cr0: CR0.PE | CR0.PG, cr4: 0, efer: EFER.LME })).toThrow(InvalidControlRegisterError);
    expect(() => new ControlRegisters({ cr0: CR0.PG, cr4: CR4.PAE, efer: 0 })).toThrow(InvalidControlRegisterError);
  });
});

describe('mode changes through the Cpu (SDM 4.1.2, 10.8.5): #GP and nothing changed', () => {
  function longModeCpu() {
    return new Cpu({ memory: new ArrayBufferPhysicalMemory(1 << 20) });
  }
  function expectGp(cpu: Cpu, write: () => void) {
    const before = { cr0: cpu.registers.cr0, cr4: cpu.registers.cr4, efer: cpu.registers.efer, cr3: cpu.registers.cr3Frame, gp: cpu.generalProtectionCount };
    let seen = 0;
    cpu.onGeneralProtection(() => {
      seen++;
      return 'abort';
    });
    expect(write).toThrow(ControlRegisterFault);
    expect({ cr0: cpu.registers.cr0, cr4: cpu.registers.cr4, efer: cpu.registers.efer, cr3: cpu.registers.cr3Frame, gp: cpu.generalProtectionCount }).toEqual({ ...before, gp: before.gp + 1 });
    expect(seen).toBe(1);
  }

  it('toggling CR4.LA57 while EFER.LMA = 1 is #GP', () => {
    const cpu = longModeCpu();
    expectGp(cpu, () => cpu.writeCr4(cpu.registers.cr4 | CR4.LA57));
  });

  it('clearing CR4.PAE while IA-32e paging is active is #GP', () => {
    const cpu = longModeCpu();
    expectGp(cpu, () => cpu.writeCr4(cpu.registers.cr4 & ~CR4.PAE));
  });

  it('setting CR0.PG with EFER.LME = 1 and CR4.PAE = 0 is #GP', () => {
    const cpu = longModeCpu();
    cpu.writeCr0(cpu.registers.cr0 & ~CR0.PG); // leave paging (as from compatibility mode)
    cpu.writeCr4(cpu.registers.cr4 & ~CR4.PAE);
    expectGp(cpu, () => cpu.writeCr0(cpu.registers.cr0 | CR0.PG));
  });

  it('changing EFER.LME while CR0.PG = 1 is #GP; EFER.LMA is read-only', () => {
    const cpu = longModeCpu();
    expectGp(cpu, () => cpu.writeEfer(cpu.registers.efer & ~EFER.LME));
    cpu.writeEfer(cpu.registers.efer & ~EFER.LMA); // LMA written as 0: ignored
    expect(cpu.registers.efer & EFER.LMA).toBe(EFER.LMA);
  });

  it('CR0.PG = 1 with CR0.PE = 0 is #GP (SDM 2.5)', () => {
    const cpu = longModeCpu();
    expectGp(cpu, () => cpu.writeCr0(CR0.PG));
  });

  it('4-level to 5-level the legal way: clear PG (LMA drops), set LA57, set PG (LMA back); each step flushes the TLB', () => {
    const cpu = longModeCpu();
    cpu.tlb!.insertPage(5, 0, 0x5000, P, 1, true);
    cpu.writeCr0(cpu.registers.cr0 & ~CR0.PG);
    expect(cpu.pagingMode).toBe(PagingMode.None);
    expect(cpu.registers.efer & EFER.LMA).toBe(0);
    expect(cpu.tlb!.validCount()).toBe(0);
    cpu.tlb!.insertPage(5, 0, 0x5000, P, 1, true);
    cpu.writeCr4(cpu.registers.cr4 | CR4.LA57);
    expect(cpu.tlb!.validCount(), 'a CR4.LA57 change flushes global entries too').toBe(0);
    cpu.writeCr0(cpu.registers.cr0 | CR0.PG);
    expect(cpu.pagingMode).toBe(PagingMode.FiveLevel);
    expect(cpu.registers.efer & EFER.LMA).toBe(EFER.LMA);
  });

  it('32-bit to PAE and back through CR4.PAE while paging is on (SDM 4.1.2), flushing the TLB', () => {
    const { cpu, memory } = setup32();
    memory.write32(0x1000, 0x3000 | P); // a PDPT at CR3 = 0x1000 for PAE: PDPTE 0 present
    cpu.tlb!.insertPage(7, 0, 0x7000, P, 1, false);
    cpu.writeCr4(cpu.registers.cr4 | CR4.PAE);
    expect(cpu.pagingMode).toBe(PagingMode.Pae);
    expect(cpu.registers.pdptes[0]).toBe(0x3000 | P);
    expect(cpu.tlb!.validCount()).toBe(0);
    cpu.writeCr4(cpu.registers.cr4 & ~CR4.PAE);
    expect(cpu.pagingMode).toBe(PagingMode.ThirtyTwoBit);
  });
});

describe('PAE PDPTE registers (SDM 4.4.1)', () => {
  it('are loaded at MOV to CR3; later changes to the PDPT in memory are not seen until the next load', () => {
    const { cpu, memory } = setupPae();
    memory.write32(0x4000 + 511 * 8, 0x0050_0000 | P | RW);
    expect(cpu.translate(0xffff_f123, Access.Read).pa).toBe(0x0050_0123);
    memory.write32(0x1fe0 + 3 * 8, 0); // PDPTE 3 cleared in memory only
    cpu.tlb!.flushAll();
    expect(cpu.translate(0xffff_f123, Access.Read).fault, 'the register still holds PDPTE 3').toBe(false);
    cpu.writeCr3(0x1fe0);
    const r = cpu.translate(0xffff_f123, Access.Read);
    expect({ fault: r.fault, level: r.level, errorCode: r.errorCode }).toEqual({ fault: true, level: 3, errorCode: 0 });
  });

  it('a present PDPTE with a reserved bit is #GP at the MOV to CR3, CR3 and the registers unchanged', () => {
    const { cpu, memory } = setupPae();
    memory.write32(0x5000, 0x3000 | P | 0x2); // bit 1 is reserved in a PAE PDPTE
    const before = Array.from(cpu.registers.pdptes);
    expect(() => cpu.writeCr3(0x5000)).toThrow(ControlRegisterFault);
    expect(cpu.registers.pdptAddress).toBe(0x1fe0);
    expect(Array.from(cpu.registers.pdptes)).toEqual(before);
    memory.write32(0x5000, 0x3000 | P);
    memory.write32(0x5004, 0x0010_0000); // bit 52: above MAXPHYADDR (52)... reserved
    expect(() => cpu.writeCr3(0x5000)).toThrow(ControlRegisterFault);
    memory.write32(0x5004, 0);
    memory.write32(0x5008, 0xffff_fffe); // not present: its other bits do not matter
    cpu.writeCr3(0x5000);
    expect(cpu.registers.pdptAddress).toBe(0x5000);
  });

  it('ControlRegisters.loadPdptes throws a typed error and loads nothing', () => {
    const memory = new ArrayBufferPhysicalMemory(1 << 16);
    memory.write32(0x1000, 0x2000 | P | 0x100); // bit 8 reserved
    const regs = new ControlRegisters({ cr0: CR0.PE | CR0.PG, cr4: CR4.PAE, efer: 0, cr3Frame: 0x1000 });
    expect(() => regs.loadPdptes(memory)).toThrow(InvalidPdpteError);
    expect(Array.from(regs.pdptes)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('bits 62:52 of a PAE PDE are reserved (4-level leaves them to the OS): RSVD #PF', () => {
    const { cpu, memory } = setupPae();
    memory.write32(0x4000 + 511 * 8, 0x0050_0000 | P | RW);
    memory.write32(0x4000 + 511 * 8 + 4, 0x0010_0000); // bit 52
    const r = cpu.translate(0xffff_f000, Access.Read);
    expect({ fault: r.fault, errorCode: r.errorCode, level: r.level }).toEqual({ fault: true, errorCode: E.Present | E.ReservedBit, level: 1 });
  });

  it('XD works with EFER.NXE (SDM 4.6) and is a reserved bit without it', () => {
    const withNx = setupPae(true);
    withNx.memory.write32(0x4000 + 511 * 8, 0x0050_0000 | P | RW);
    withNx.memory.write32(0x4000 + 511 * 8 + 4, 0x8000_0000);
    expect(withNx.cpu.translate(0xffff_f000, Access.Execute).errorCode).toBe(E.Present | E.InstructionFetch);
    const noNx = setupPae(false);
    noNx.memory.write32(0x4000 + 511 * 8, 0x0050_0000 | P | RW);
    noNx.memory.write32(0x4000 + 511 * 8 + 4, 0x8000_0000);
    expect(noNx.cpu.translate(0xffff_f000, Access.Read).errorCode).toBe(E.Present | E.ReservedBit);
  });
});

describe('32-bit paging (SDM 4.3)', () => {
  it('walks a PDE and a 4-byte PTE; sets A on both and D on the written PTE with 4-byte writes (SDM 4.8)', () => {
    const { cpu, memory, pde, pte } = setup32();
    pde(0x0040_1000, 0x2000 | P | RW | US);
    pte(0x0040_1000, 0x0070_0000 | P | RW | US);
    memory.write32(0x1000 + 2 * 4, 0xdead_beef); // the next PDE must stay untouched
    cpu.write32(0x0040_1010, 0x1234_5678, Mode.User);
    expect(memory.read32(0x0070_0010)).toBe(0x1234_5678);
    expect(memory.read32(0x1000 + 4)).toBe(0x2000 | P | RW | US | PTE.Accessed);
    expect(memory.read32(0x2000 + 4)).toBe(0x0070_0000 | P | RW | US | PTE.Accessed | PTE.Dirty);
    expect(memory.read32(0x1000 + 2 * 4)).toBe(0xdead_beef);
  });

  it('maps a 4 MiB page with CR4.PSE = 1, PA bits 39:32 from PDE bits 20:13 (PSE-36)', () => {
    const { cpu, pde } = setup32();
    pde(0xc000_0000, encodePde4M(0x3_0040_0000, P | RW));
    const r = cpu.translate(0xc012_3456, Access.Read);
    expect({ pa: r.pa, pageSizeBytes: r.pageSizeBytes, level: r.level }).toEqual({ pa: 0x3_0052_3456, pageSizeBytes: 4 << 20, level: 2 });
  });

  it('ignores PS with CR4.PSE = 0: the PDE points at a page table (SDM 4.3)', () => {
    const { cpu, pde, pte } = setup32({ cr4: 0 });
    pde(0x0080_0000, 0x2000 | P | RW | PS);
    pte(0x0080_0000, 0x0060_0000 | P | RW);
    const r = cpu.translate(0x0080_0abc, Access.Read);
    expect({ pa: r.pa, pageSizeBytes: r.pageSizeBytes, level: r.level }).toEqual({ pa: 0x0060_0abc, pageSizeBytes: 4096, level: 1 });
  });

  it('bit 21 of a 4 MiB PDE is reserved: #PF with RSVD (SDM 4.3 Table 4-4, 4.7)', () => {
    const { cpu, pde } = setup32();
    pde(0x0080_0000, 0x0080_0000 | P | PS | (1 << 21));
    expect(cpu.translate(0x0080_0000, Access.Write).errorCode).toBe(E.Present | E.Write | E.ReservedBit);
  });

  it('has no XD: the I/D error-code bit comes only from CR4.SMEP, never from EFER.NXE (SDM 4.7)', () => {
    const nxeOnly = setup32({ efer: EFER.NXE });
    expect(nxeOnly.cpu.translate(0x0040_0000, Access.Execute).errorCode).toBe(0);
    const smep = setup32({ cr4: CR4.PSE | CR4.SMEP });
    expect(smep.cpu.translate(0x0040_0000, Access.Execute).errorCode).toBe(E.InstructionFetch);
  });

  it('SMEP forbids a supervisor fetch from a user page; SMAP a supervisor read (SDM 4.6.1)', () => {
    const { cpu, pde } = setup32({ cr4: CR4.PSE | CR4.SMEP | CR4.SMAP });
    pde(0x0040_0000, 0x0040_0000 | P | RW | US | PS);
    expect(cpu.translate(0x0040_0000, Access.Execute, Mode.Supervisor).errorCode).toBe(E.Present | E.InstructionFetch);
    expect(cpu.translate(0x0040_0000, Access.Read, Mode.Supervisor).errorCode).toBe(E.Present);
    cpu.stac();
    expect(cpu.translate(0x0040_0000, Access.Read, Mode.Supervisor).fault).toBe(false);
  });

  it('INVLPG anywhere in a 4 MiB page drops every cached 4 KiB piece of it (SDM 4.10.2.3, 4.10.4.1)', () => {
    const { cpu, pde } = setup32();
    pde(0x0040_0000, 0x0040_0000 | P | RW | PS);
    for (const off of [0, 0x1000, 0x20_0000, 0x3f_f000]) cpu.read8(0x0040_0000 + off);
    expect(cpu.tlb!.validCount()).toBe(4);
    expect(cpu.tlb!.entries().every((e) => e.level === 4)).toBe(true);
    cpu.invlpg(0x0060_0000);
    expect(cpu.tlb!.validCount()).toBe(0);
    cpu.tlb!.checkInvariants();
  });

  it('a TLB entry stays in use after the PDE changes until INVLPG; the stale-use detector reports it', () => {
    const { cpu, pde } = setup32();
    pde(0x0040_0000, 0x0040_0000 | P | RW | PS);
    cpu.read8(0x0040_0000);
    pde(0x0040_0000, 0x0080_0000 | P | RW | PS);
    cpu.tlb!.detectStaleUses = true;
    expect(cpu.translate(0x0040_0010, Access.Read).pa).toBe(0x0040_0010);
    expect(cpu.tlb!.staleUseCount).toBe(1);
    expect(cpu.tlb!.staleUses[0]!.vaText).toBe('0x0040_0010');
    cpu.invlpg(0x0040_0000);
    expect(cpu.translate(0x0040_0010, Access.Read).pa).toBe(0x0080_0010);
  });

  it('an access whose last byte is past 0xffff_ffff is #GP, not a wrap (flat 4 GiB segment, SDM 5.3)', () => {
    const { cpu, pde, pte } = setup32();
    pde(0xffff_f000, 0x2000 | P | RW);
    pte(0xffff_f000, 0x0070_0000 | P | RW);
    expect(cpu.read32(0xffff_fffc)).toBe(0);
    expect(() => cpu.read32(0xffff_fffe)).toThrow(GeneralProtectionFault);
    expect(() => cpu.read8(0x1_0000_0000)).toThrow(GeneralProtectionFault);
    expect(() => cpu.read8(0x1_0000_0000n)).toThrow(GeneralProtectionFault);
    expect(cpu.generalProtectionCount).toBe(3);
  });

  it('delivers a #PF with CR2 and the error code, and retries after the handler maps the page', () => {
    const { cpu, pde, pte } = setup32();
    const seen: PageFaultInfo[] = [];
    cpu.onPageFault((fault) => {
      seen.push(fault);
      pde(0xc000_0000, 0x2000 | P | RW);
      pte(0xc000_0000, 0x0090_0000 | P | RW);
      return 'retry';
    });
    cpu.write8(0xc000_0042, 7);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ cr2: 0xc000_0042, cr2Hi: 0, errorCode: E.Write, level: 2, pagingMode: PagingMode.ThirtyTwoBit });
    expect(cpu.cr2).toBe(0xc000_0042);
    cpu.onPageFault(null);
    expect(() => cpu.read8(0x0100_0000)).toThrow(/#PF at 0x0100_0000/);
    expect(() => cpu.read8(0x0100_0000)).toThrow(UnhandledPageFaultError);
  });

  it('entries cannot encode what 32-bit paging cannot reach', () => {
    expect(() => encodeEntry32(0x1_0000_0000, P)).toThrow(UnencodableEntryError);
    expect(() => encodePde4M(2 ** 40, P)).toThrow(UnencodableEntryError);
    expect(() => encodePde4M(0x1_0000_0000, P, 36)).not.toThrow();
    expect(() => encodePde4M(2 ** 36, P, 36)).toThrow(UnencodableEntryError);
  });

  it('the Mmu rejects a number at or above 2^32 as a 32-bit linear address', () => {
    const { cpu } = setup32();
    expect(() => cpu.mmu.translate(0x1_0000_0000, Access.Read, Mode.Supervisor)).toThrow(InvalidAddressError);
    expect(() => cpu.mmu.walk(0x1_0000_0000, Access.Read, Mode.Supervisor)).toThrow(InvalidAddressError);
  });
});

describe('5-level paging (SDM 4.5)', () => {
  function setup57() {
    const memory = new ArrayBufferPhysicalMemory(1 << 20);
    const cpu = new Cpu({ memory, registers: { cr4: CR4.PAE | CR4.LA57, cr3Frame: 0x1000 } });
    return { memory, cpu };
  }
  /** Maps the canonical address `va` to `pa` with a 4 KiB page, tables at 0x2000.. (one path). */
  function map57(memory: ArrayBufferPhysicalMemory, va: bigint, pa: number) {
    const { hi, lo } = splitVa57(va);
    const idx = [(hi >>> 16) & 511, (hi >>> 7) & 511, ((hi & 0x7f) << 2) | (lo >>> 30), (lo >>> 21) & 511, (lo >>> 12) & 511];
    let table = 0x1000;
    for (let level = 0; level < 5; level++) {
      const next = level === 4 ? pa : 0x2000 + level * 0x1000;
      memory.write32(table + idx[level]! * 8, next | P | RW);
      table = next;
    }
  }

  it('translates an address above 2^56 (a kernel address) and one above 2^47 given as bigint', () => {
    const { memory, cpu } = setup57();
    map57(memory, 0xff11_2233_4455_6000n, 0x8_0000);
    cpu.write32(0xff11_2233_4455_6010n, 0xabcd);
    expect(memory.read32(0x8_0010)).toBe(0xabcd);
    expect(cpu.read32(0xff11_2233_4455_6010n)).toBe(0xabcd);
    map57(memory, 0x0001_0000_0000_0000n, 0x9_0000);
    expect(cpu.translate(0x0001_0000_0000_0008n, Access.Read).pa).toBe(0x9_0008);
    expect(cpu.translate(2 ** 48 + 8, Access.Read).pa, 'a number below 2^53 is the 57-bit linear form').toBe(0x9_0008);
    // Mmu.translate splits a number into bits 56:32 and 31:0 itself: the same answers as the
    // split form, up to the last page below 2^53 (SDM 4.5: 5-level paging translates 57 bits).
    map57(memory, 0x001f_ffff_ffff_f000n, 0xa_0000);
    for (const [va, pa] of [
      [2 ** 48 + 8, 0x9_0008],
      [2 ** 53 - 4096 + 0xabc, 0xa_0abc],
      [2 ** 53 - 1, 0xa_0fff],
    ] as const) {
      expect(cpu.mmu.translate(va, Access.Read, Mode.Supervisor)).toMatchObject({ fault: false, pa });
      const { hi, lo } = splitVa57(BigInt(va));
      expect(cpu.mmu.translateSplit(hi, lo, Access.Read, Mode.Supervisor).pa).toBe(pa);
    }
  });

  it('a non-canonical address (bits 63:57 not equal to bit 56) is #GP, never #PF', () => {
    const { cpu } = setup57();
    expect(() => cpu.read8(0x0100_0000_0000_0000n)).toThrow(GeneralProtectionFault);
    expect(() => cpu.read8(0xfe00_0000_0000_0000n)).toThrow(GeneralProtectionFault);
    expect(cpu.pageFaultCount).toBe(0);
  });

  it('PS in a PML5E is reserved: RSVD #PF at level 5', () => {
    const { memory, cpu } = setup57();
    memory.write32(0x1000, 0x2000 | P | PS);
    const r = cpu.translate(0x10n, Access.Read);
    expect({ errorCode: r.errorCode, level: r.level }).toEqual({ errorCode: E.Present | E.ReservedBit, level: 5 });
  });

  it('CR2 of a fault above 2^53 comes as halves (cr2 is NaN, never rounded)', () => {
    const { cpu } = setup57();
    let fault: PageFaultInfo | null = null;
    cpu.onPageFault((f) => {
      fault = f;
      return 'abort';
    });
    expect(() => cpu.read8(0xff80_0000_0000_1234n)).toThrow(/#PF at 0xff80_0000_0000_1234/);
    expect(fault).toMatchObject({ cr2Hi: 0x180_0000, cr2Lo: 0x1234, pagingMode: PagingMode.FiveLevel });
    expect(Number.isNaN(cpu.cr2)).toBe(true);
  });

  it('the TLB tags 57-bit pages exactly: two pages 2^48 apart are different entries, INVLPG drops one', () => {
    const { memory, cpu } = setup57();
    map57(memory, 0x00f0_0000_0000_0000n, 0xa_0000);
    expect(cpu.read8(0x00f0_0000_0000_0000n)).toBe(0);
    cpu.invlpg(0x00f1_0000_0000_0000n);
    expect(cpu.tlb!.validCount()).toBe(1);
    expect(cpu.tlb!.entries()[0]!.pageNumber).toBe(0x00f0_0000_0000_0000 / 4096);
    cpu.invlpg(0x00f0_0000_0000_0000n);
    expect(cpu.tlb!.validCount()).toBe(0);
  });
});

describe('Mmu dispatch', () => {
  it('a TLB filled in one mode is flushed by the Cpu when the mode changes (SDM 4.10.4.1)', () => {
    const { cpu, pde } = setup32();
    pde(0, 0 | P | RW | PS);
    cpu.read8(0x10);
    expect(cpu.tlb!.validCount()).toBe(1);
    cpu.writeCr0(cpu.registers.cr0 & ~CR0.PG);
    expect(cpu.tlb!.validCount()).toBe(0);
  });

  it('a standalone Mmu walks 32-bit tables from the registers it is given', () => {
    const memory = new ArrayBufferPhysicalMemory(1 << 20);
    memory.write32(0x1000, 0x2000 | P | RW);
    memory.write32(0x2000 + 5 * 4, 0x7000 | P);
    const mmu = new Mmu(memory, new ControlRegisters({ cr0: CR0.PE | CR0.PG, cr4: 0, efer: 0, cr3Frame: 0x1000 }), { tlb: new Tlb() });
    expect(mmu.translate(0x5abc, Access.Read, Mode.Supervisor).pa).toBe(0x7abc);
    expect(mmu.translate(0x5abc, Access.Read, Mode.Supervisor).tlbHit).toBe(true);
  });
});
