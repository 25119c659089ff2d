import { describe, expect, it } from 'vitest';
import { Access, ControlRegisters, CR0, CR4, EFER, InvalidAddressError, Mmu, Mode, PageFaultErrorCode as E, PTE, RFLAGS } from '../src/index';
import { RawPaging, TABLE } from './raw-paging';

const VA = 0x7f12_3456_7000; // user half, every index nonzero
const DATA = 0x40_0000;
const RW = PTE.Present | PTE.Writable;
const URW = RW | PTE.User;

function setup(init: { cr0?: number; cr4?: number; efer?: number; rflags?: number; pkru?: number; maxPhysAddrBits?: number } = {}) {
  const t = new RawPaging();
  const regs = new ControlRegisters({ cr3Frame: t.pml4, ...init });
  const mmu = new Mmu(t.memory, regs);
  return { t, regs, mmu };
}

describe('Mmu.translate: page sizes (SDM 4.5)', () => {
  it('translates a 4 KiB page: PTE frame + bits 11:0 of the address (SDM 4.5, Figure 4-8)', () => {
    const { t, mmu } = setup();
    t.map(VA, DATA, URW);
    const r = mmu.translate(VA + 0x123, Access.Read, Mode.User);
    expect(r.fault).toBe(false);
    expect(r.pa).toBe(DATA + 0x123);
    expect(r.pageSizeBytes).toBe(4096);
    expect(r.level).toBe(1);
  });

  it('translates a 2 MiB page: PDE with PS = 1, offset is bits 20:0 (SDM 4.5, Figure 4-9)', () => {
    const { t, mmu } = setup();
    const va = 0x4000_0000 * 3 + 0x20_0000 * 5;
    t.map(va, 0x60_0000, URW, 2);
    const r = mmu.translate(va + 0x1_2345, Access.Write, Mode.User);
    expect(r).toMatchObject({ fault: false, pa: 0x60_0000 + 0x1_2345, pageSizeBytes: 2 * 1024 * 1024, level: 2 });
  });

  it('translates a 1 GiB page: PDPTE with PS = 1, offset is bits 29:0 (SDM 4.5, Figure 4-10)', () => {
    const { t, mmu } = setup();
    const va = 0x80_0000_0000 * 2 + 0x4000_0000 * 7;
    t.map(va, 0x1_4000_0000, URW, 3);
    const r = mmu.translate(va + 0x2345_6789, Access.Read, Mode.Supervisor);
    expect(r).toMatchObject({ fault: false, pa: 0x1_4000_0000 + 0x2345_6789, pageSizeBytes: 1024 ** 3, level: 3 });
  });

  it('reads a physical address above 4 GiB from the high half of the entry', () => {
    const { t, mmu } = setup();
    t.map(VA, 0xa_bcde_f000, URW);
    expect(mmu.translate(VA + 7, Access.Read, Mode.User).pa).toBe(0xa_bcde_f007);
  });

  it('translates linear = physical when CR0.PG = 0 (SDM 4.1.1)', () => {
    const { mmu } = setup({ cr0: CR0.PE });
    expect(mmu.translate(0x1234_5678, Access.Write, Mode.User)).toMatchObject({ fault: false, pa: 0x1234_5678 });
  });

  it('rejects an address outside [0, 2^48) as misuse', () => {
    const { mmu } = setup();
    expect(() => mmu.translate(2 ** 48, Access.Read, Mode.User)).toThrow(InvalidAddressError);
    expect(() => mmu.translate(-1, Access.Read, Mode.User)).toThrow(InvalidAddressError);
  });

  it('returns the same result object on every call (no allocation per translation)', () => {
    const { t, mmu } = setup();
    t.map(VA, DATA, URW);
    const a = mmu.translate(VA, Access.Read, Mode.User);
    const b = mmu.translate(VA + 4096, Access.Read, Mode.User);
    expect(a).toBe(b);
    expect(b.fault).toBe(true);
  });
});

describe('Mmu.translate: not-present faults (SDM 4.7, P = 0)', () => {
  it.each([4, 3, 2, 1])('reports P = 0 and level %i when that level is not present', (level) => {
    const { t, mmu } = setup();
    t.map(VA, DATA, URW);
    t.modify(level, VA, 0, PTE.Present);
    const r = mmu.translate(VA, Access.Write, Mode.User);
    expect(r.fault).toBe(true);
    expect(r.errorCode).toBe(E.Write | E.User);
    expect(r.level).toBe(level);
  });

  it('describes the access, not the page: a supervisor read of a missing page has error code 0 (SDM 4.7)', () => {
    const { mmu } = setup();
    expect(mmu.translate(VA, Access.Read, Mode.Supervisor)).toMatchObject({ fault: true, errorCode: 0, level: 4 });
  });
});

describe('Mmu.translate: access rights (SDM 4.6.1)', () => {
  it.each([4, 3, 2, 1])('denies a user write when R/W = 0 at level %i (R/W must be 1 at every level)', (level) => {
    const { t, mmu } = setup();
    t.map(VA, DATA, URW);
    t.modify(level, VA, 0, PTE.Writable);
    expect(mmu.translate(VA, Access.Read, Mode.User).fault).toBe(false);
    const r = mmu.translate(VA, Access.Write, Mode.User);
    expect(r).toMatchObject({ fault: true, errorCode: E.Present | E.Write | E.User, level: 1 });
  });

  it.each([4, 3, 2, 1])('denies a user read when U/S = 0 at level %i (U/S must be 1 at every level)', (level) => {
    const { t, mmu } = setup();
    t.map(VA, DATA, URW);
    t.modify(level, VA, 0, PTE.User);
    expect(mmu.translate(VA, Access.Read, Mode.User)).toMatchObject({ fault: true, errorCode: E.Present | E.User });
    expect(mmu.translate(VA, Access.Read, Mode.Supervisor).fault).toBe(false);
  });

  it('lets the kernel write a read-only page when CR0.WP = 0, and not when CR0.WP = 1', () => {
    const { t, regs, mmu } = setup({ cr0: CR0.PE | CR0.PG });
    t.map(VA, DATA, PTE.Present);
    expect(mmu.translate(VA, Access.Write, Mode.Supervisor).fault).toBe(false);
    regs.cr0 |= CR0.WP;
    expect(mmu.translate(VA, Access.Write, Mode.Supervisor)).toMatchObject({ fault: true, errorCode: E.Present | E.Write });
  });

  it('ignores CR0.WP for user writes: a read-only page faults either way', () => {
    const { t, mmu } = setup({ cr0: CR0.PE | CR0.PG });
    t.map(VA, DATA, PTE.Present | PTE.User);
    expect(mmu.translate(VA, Access.Write, Mode.User).errorCode).toBe(E.Present | E.Write | E.User);
  });

  it.each([4, 3, 2, 1])('denies an instruction fetch when XD = 1 at level %i and EFER.NXE = 1, with I/D set', (level) => {
    const { t, mmu } = setup();
    t.map(VA, DATA, URW);
    t.modify(level, VA, PTE.NoExecute);
    expect(mmu.translate(VA, Access.Read, Mode.User).fault).toBe(false);
    expect(mmu.translate(VA, Access.Execute, Mode.User)).toMatchObject({ fault: true, errorCode: E.Present | E.User | E.InstructionFetch });
    expect(mmu.translate(VA, Access.Execute, Mode.Supervisor)).toMatchObject({ fault: true, errorCode: E.Present | E.InstructionFetch });
  });

  it('reports I/D only when EFER.NXE = 1 or CR4.SMEP = 1 (SDM 4.7)', () => {
    const { regs, mmu } = setup({ efer: EFER.LME | EFER.LMA });
    expect(mmu.translate(VA, Access.Execute, Mode.User).errorCode).toBe(E.User);
    regs.cr4 |= CR4.SMEP;
    expect(mmu.translate(VA, Access.Execute, Mode.User).errorCode).toBe(E.User | E.InstructionFetch);
  });

  it('SMEP: the kernel may not fetch from a user page, but may from a supervisor page', () => {
    const { t, regs, mmu } = setup();
    t.map(VA, DATA, URW);
    t.map(VA + 4096, DATA, RW);
    expect(mmu.translate(VA, Access.Execute, Mode.Supervisor).fault).toBe(false);
    regs.cr4 |= CR4.SMEP;
    expect(mmu.translate(VA, Access.Execute, Mode.Supervisor)).toMatchObject({ fault: true, errorCode: E.Present | E.InstructionFetch });
    expect(mmu.translate(VA + 4096, Access.Execute, Mode.Supervisor).fault).toBe(false);
    expect(mmu.translate(VA, Access.Execute, Mode.User).fault).toBe(false);
  });

  it('SMEP counts a page as supervisor if U/S = 0 at any level', () => {
    const { t, mmu } = setup({ cr4: CR4.PAE | CR4.SMEP });
    t.map(VA, DATA, URW);
    t.modify(3, VA, 0, PTE.User);
    expect(mmu.translate(VA, Access.Execute, Mode.Supervisor).fault).toBe(false);
  });

  it('SMAP: kernel reads and writes of user pages fault unless RFLAGS.AC = 1', () => {
    const { t, regs, mmu } = setup({ cr4: CR4.PAE | CR4.SMAP });
    t.map(VA, DATA, URW);
    expect(mmu.translate(VA, Access.Read, Mode.Supervisor)).toMatchObject({ fault: true, errorCode: E.Present });
    expect(mmu.translate(VA, Access.Write, Mode.Supervisor)).toMatchObject({ fault: true, errorCode: E.Present | E.Write });
    regs.rflags |= RFLAGS.AC;
    expect(mmu.translate(VA, Access.Read, Mode.Supervisor).fault).toBe(false);
    expect(mmu.translate(VA, Access.Write, Mode.Supervisor).fault).toBe(false);
    expect(mmu.translate(VA, Access.Read, Mode.User).fault).toBe(false);
  });

  it('SMAP with AC = 1: a read-only user page is writable by the kernel only while CR0.WP = 0', () => {
    const { t, regs, mmu } = setup({ cr0: CR0.PE | CR0.PG, cr4: CR4.PAE | CR4.SMAP, rflags: RFLAGS.AC });
    t.map(VA, DATA, PTE.Present | PTE.User);
    expect(mmu.translate(VA, Access.Write, Mode.Supervisor).fault).toBe(false);
    regs.cr0 |= CR0.WP;
    expect(mmu.translate(VA, Access.Write, Mode.Supervisor).errorCode).toBe(E.Present | E.Write);
  });

  it('combines flags into the effective flags word: R/W, U/S AND-ed, NX OR-ed (SDM 4.6)', () => {
    const { t, mmu } = setup();
    t.map(VA, DATA, URW | PTE.Global | PTE.Avail9);
    t.modify(2, VA, PTE.NoExecute, PTE.Writable);
    const r = mmu.translate(VA, Access.Read, Mode.User);
    expect(r.flags & PTE.Writable).toBe(0);
    expect(r.flags & PTE.User).toBe(PTE.User);
    expect(r.flags & PTE.NoExecute).not.toBe(0);
    expect(r.flags & PTE.Global).toBe(PTE.Global);
    expect(r.flags & PTE.Avail9).toBe(PTE.Avail9);
  });
});

describe('Mmu.translate: protection keys (SDM 4.6.2)', () => {
  const key = (k: number) => k << 27;
  it('denies data access with AD set, writes with WD set, and never instruction fetches; error code has PK', () => {
    const { t, regs, mmu } = setup({ cr4: CR4.PAE | CR4.PKE });
    t.map(VA, DATA, URW | key(3));
    regs.pkru = 1 << 6; // AD3
    expect(mmu.translate(VA, Access.Read, Mode.User)).toMatchObject({ fault: true, errorCode: E.Present | E.User | E.ProtectionKey });
    expect(mmu.translate(VA, Access.Execute, Mode.User).fault).toBe(false);
    regs.pkru = 1 << 7; // WD3
    expect(mmu.translate(VA, Access.Read, Mode.User).fault).toBe(false);
    expect(mmu.translate(VA, Access.Write, Mode.User).errorCode).toBe(E.Present | E.Write | E.User | E.ProtectionKey);
    regs.cr4 &= ~CR4.PKE;
    expect(mmu.translate(VA, Access.Write, Mode.User).fault).toBe(false);
  });

  it('does not apply keys to supervisor pages', () => {
    const { t, mmu } = setup({ cr4: CR4.PAE | CR4.PKE, pkru: 0xffff_ffff });
    t.map(VA, DATA, RW | key(1));
    expect(mmu.translate(VA, Access.Write, Mode.Supervisor).fault).toBe(false);
  });
});

describe('Mmu.translate: reserved bits (SDM 4.5 tables, 4.7 RSVD)', () => {
  it('faults with RSVD when an address bit at or above MAXPHYADDR is set', () => {
    const { t, mmu } = setup({ maxPhysAddrBits: 40 });
    t.map(VA, DATA, URW);
    const [lo, hi] = t.get(1, VA);
    t.set(1, VA, lo, hi | (1 << 9)); // physical bit 41
    expect(mmu.translate(VA, Access.Read, Mode.User)).toMatchObject({ fault: true, errorCode: E.Present | E.User | E.ReservedBit, level: 1 });
  });

  it('faults with RSVD when PS = 1 in a PML4 entry', () => {
    const { t, mmu } = setup();
    t.map(VA, DATA, URW);
    t.modify(4, VA, PTE.HugePage);
    expect(mmu.translate(VA, Access.Read, Mode.Supervisor)).toMatchObject({ fault: true, errorCode: E.Present | E.ReservedBit, level: 4 });
  });

  it('faults with RSVD when XD is set while EFER.NXE = 0 (bit 63 is then reserved)', () => {
    const { t, mmu } = setup({ efer: EFER.LME | EFER.LMA });
    t.map(VA, DATA, URW);
    t.modify(3, VA, PTE.NoExecute);
    expect(mmu.translate(VA, Access.Read, Mode.User)).toMatchObject({ fault: true, errorCode: E.Present | E.User | E.ReservedBit, level: 3 });
  });

  it('faults with RSVD for a 2 MiB page whose frame field is not 2 MiB aligned (bits 20:13)', () => {
    const { t, mmu } = setup();
    const va = 0x4000_0000;
    t.set(2, va, (0x60_0000 | 0x2000 | URW | PTE.HugePage) >>> 0, 0);
    expect(mmu.translate(va, Access.Read, Mode.User)).toMatchObject({ fault: true, errorCode: E.Present | E.User | E.ReservedBit, level: 2 });
  });

  it('faults with RSVD for a 1 GiB page whose frame field is not 1 GiB aligned (bits 29:13)', () => {
    const { t, mmu } = setup();
    const va = 0x80_0000_0000;
    t.set(3, va, (0x4000_0000 | 0x20_0000 | URW | PTE.HugePage) >>> 0, 0);
    expect(mmu.translate(va, Access.Read, Mode.User)).toMatchObject({ fault: true, errorCode: E.Present | E.User | E.ReservedBit, level: 3 });
  });

  it('accepts PAT (bit 12) in a huge leaf: it is a flag, not an address bit', () => {
    const { t, mmu } = setup();
    const va = 0x4000_0000;
    t.map(va, 0x60_0000, URW | PTE.PatHuge, 2);
    const r = mmu.translate(va + 5, Access.Read, Mode.User);
    expect(r).toMatchObject({ fault: false, pa: 0x60_0005 });
    expect(r.flags & PTE.PatHuge).toBe(PTE.PatHuge);
  });

  it('checks reserved bits only in present entries: P = 0 wins (SDM 4.7)', () => {
    const { t, mmu } = setup();
    t.set(1, VA, 0xffff_fffe, 0xffff_ffff);
    expect(mmu.translate(VA, Access.Read, Mode.User)).toMatchObject({ fault: true, errorCode: E.User, level: 1 });
  });
});

describe('Mmu.translate: accessed and dirty flags (SDM 4.8)', () => {
  it('sets A in the entry of every level on a read, and D in none', () => {
    const { t, mmu } = setup();
    t.map(VA, DATA, URW);
    mmu.translate(VA, Access.Read, Mode.User);
    for (const level of [4, 3, 2, 1]) {
      const [lo] = t.get(level, VA);
      expect(lo & PTE.Accessed, `level ${level}`).toBe(PTE.Accessed);
      expect(lo & PTE.Dirty, `level ${level}`).toBe(0);
    }
  });

  it('sets D only in the leaf on a write, for a 2 MiB leaf too', () => {
    const { t, mmu } = setup();
    const va = 0x4000_0000;
    t.map(va, 0x60_0000, URW, 2);
    const r = mmu.translate(va, Access.Write, Mode.User);
    expect(r.flags & PTE.Dirty).toBe(PTE.Dirty);
    expect(t.get(2, va)[0] & PTE.Dirty).toBe(PTE.Dirty);
    expect(t.get(3, va)[0] & PTE.Dirty).toBe(0);
  });

  it('does not set A or D in the leaf when the access faults', () => {
    const { t, mmu } = setup();
    t.map(VA, DATA, PTE.Present | PTE.User);
    mmu.translate(VA, Access.Write, Mode.User);
    expect(t.get(1, VA)[0] & (PTE.Accessed | PTE.Dirty)).toBe(0);
  });

  it('leaves memory untouched on probe()', () => {
    const { t, mmu } = setup();
    t.map(VA, DATA, URW);
    const r = mmu.probe(VA);
    expect(r).toMatchObject({ fault: false, pa: DATA });
    for (const level of [4, 3, 2, 1]) expect(t.get(level, VA)[0] & PTE.Accessed).toBe(0);
  });

  it('keeps table pointers created with TABLE flags unchanged except for A', () => {
    const { t, mmu } = setup();
    t.map(VA, DATA, URW);
    mmu.translate(VA, Access.Write, Mode.User);
    expect(t.get(3, VA)[0] & 0xfff).toBe(TABLE | PTE.Accessed);
  });
});
