import { describe, expect, it } from 'vitest';
import { Access, ArrayBufferPhysicalMemory, Cpu, CR0, CR4, InvalidOptionError, InvpcidType, Mode, PageFaultErrorCode as E, PTE, Tlb } from '../src/index';
import { portOnly } from './port-only-memory';
import { RawPaging } from './raw-paging';

const VA = 0x7f12_3456_7000;
const A = 0x40_0000;
const B = 0x50_0000;
const URW = PTE.Present | PTE.Writable | PTE.User;

function setup(cr4 = CR4.PAE | CR4.PGE, tlb = {}) {
  const t = new RawPaging();
  const cpu = new Cpu({ memory: t.memory, registers: { cr3Frame: t.pml4, cr4 }, tlb });
  return { t, cpu, tlb: cpu.tlb! };
}

/** A 2 MiB user page at linear 1 GiB with two of its 4 KiB pieces cached (SDM 4.10.2.3). */
function setupTwoPiecesOf2MiB() {
  const s = setup();
  const va = 0x4000_0000;
  s.t.map(va, 0x20_0000, URW, 2);
  s.cpu.translate(va, Access.Read, Mode.User);
  s.cpu.translate(va + 0x10_0000, Access.Read, Mode.User);
  expect(s.tlb.validCount()).toBe(2);
  return { ...s, va };
}

describe('Tlb: stale translations (SDM 4.10.4)', () => {
  it('keeps using a changed entry until invlpg(va) (SDM 4.10.4.1 INVLPG)', () => {
    const { t, cpu, tlb } = setup();
    t.map(VA, A, URW);
    expect(cpu.translate(VA, Access.Read, Mode.User).pa).toBe(A);
    t.map(VA, B, URW);
    expect(cpu.translate(VA, Access.Read, Mode.User).pa).toBe(A);
    cpu.invlpg(VA + 0x800);
    expect(cpu.translate(VA, Access.Read, Mode.User).pa).toBe(B);
    tlb.checkInvariants();
  });

  it('keeps using an unmapped page until invalidated: no fault, the old frame', () => {
    const { t, cpu } = setup();
    t.map(VA, A, URW);
    cpu.translate(VA, Access.Read, Mode.User);
    t.modify(1, VA, 0, PTE.Present);
    expect(cpu.translate(VA, Access.Read, Mode.User).fault).toBe(false);
    cpu.writeCr3(cpu.registers.cr3Frame);
    expect(cpu.translate(VA, Access.Read, Mode.User).fault).toBe(true);
  });

  it('needs no invalidation when an entry goes from not present to present (SDM 4.10.4.3)', () => {
    const { t, cpu } = setup();
    expect(cpu.translate(VA, Access.Read, Mode.User).fault).toBe(true);
    t.map(VA, A, URW);
    expect(cpu.translate(VA, Access.Read, Mode.User).pa).toBe(A);
  });

  it('a CR3 write flushes non-global entries; global ones survive while CR4.PGE = 1 (SDM 4.10.2.4)', () => {
    const { t, cpu, tlb } = setup();
    t.map(VA, A, URW);
    t.map(VA + 4096, A + 4096, URW | PTE.Global);
    cpu.translate(VA, Access.Read, Mode.User);
    cpu.translate(VA + 4096, Access.Read, Mode.User);
    t.map(VA, B, URW);
    t.map(VA + 4096, B + 4096, URW | PTE.Global);
    cpu.writeCr3(cpu.registers.cr3Frame);
    expect(cpu.translate(VA, Access.Read, Mode.User).pa).toBe(B);
    expect(cpu.translate(VA + 4096, Access.Read, Mode.User).pa).toBe(A + 4096);
    tlb.checkInvariants();
  });

  it('ignores G when CR4.PGE = 0: the CR3 write flushes it too', () => {
    const { t, cpu } = setup(CR4.PAE);
    t.map(VA, A, URW | PTE.Global);
    cpu.translate(VA, Access.Read, Mode.User);
    t.map(VA, B, URW | PTE.Global);
    cpu.writeCr3(cpu.registers.cr3Frame);
    expect(cpu.translate(VA, Access.Read, Mode.User).pa).toBe(B);
  });

  it('changing CR4.PGE flushes global entries (SDM 4.10.4.1 MOV to CR4)', () => {
    const { t, cpu } = setup();
    t.map(VA, A, URW | PTE.Global);
    cpu.translate(VA, Access.Read, Mode.User);
    t.map(VA, B, URW | PTE.Global);
    cpu.writeCr4(cpu.registers.cr4 & ~CR4.PGE);
    expect(cpu.translate(VA, Access.Read, Mode.User).pa).toBe(B);
  });

  it('invlpg drops a global entry too (SDM 4.10.4.1)', () => {
    const { t, cpu } = setup();
    t.map(VA, A, URW | PTE.Global);
    cpu.translate(VA, Access.Read, Mode.User);
    t.map(VA, B, URW | PTE.Global);
    cpu.invlpg(VA);
    expect(cpu.translate(VA, Access.Read, Mode.User).pa).toBe(B);
  });

  it('invlpg anywhere in a 2 MiB page drops every cached 4 KiB piece of it (SDM 4.10.2.3, 4.10.4.1)', () => {
    const { t, cpu, tlb, va } = setupTwoPiecesOf2MiB();
    t.map(va, 0x60_0000, URW, 2);
    cpu.invlpg(va + 0x1f_f000);
    expect(tlb.validCount()).toBe(0);
    expect(cpu.translate(va + 0x10_0000, Access.Read, Mode.User).pa).toBe(0x70_0000);
    tlb.checkInvariants();
  });

  it('invlpg of one 4 KiB address inside a 2 MiB page drops all its cached pieces and leaves unrelated huge entries alone (SDM 4.10.4.1)', () => {
    const tlb = new Tlb();
    const huge = 0x7f00_0020_0000 / 4096; // page number of a 2 MiB page
    for (const piece of [0, 1, 0x80, 0x1ff]) tlb.insertPage(huge + piece, 0, 0x4000_0000 + piece * 4096, URW, 2, false);
    tlb.insertPage(huge + 512, 0, 0x5000_0000, URW, 2, false); // the next 2 MiB page
    tlb.insertPage(0x8400_4000_0000 / 4096 + 7, 0, 0x4000_7000, URW, 3, true); // a 1 GiB direct-map piece
    tlb.insertPage(huge - 1, 0, 0x9000, URW, 1, false); // the 4 KiB page just below
    expect(tlb.invalidatePage((huge + 0x123) * 4096 + 0x45, 0)).toBe(4);
    const left = tlb.entries().map((e) => [e.va, e.level]);
    expect(left.sort((a, b) => a[0]! - b[0]!)).toEqual([
      [(huge - 1) * 4096, 1],
      [(huge + 512) * 4096, 2],
      [0x8400_4000_7000, 3],
    ]);
    expect(tlb.invalidatePage(0x8400_7fff_f000, 0)).toBe(1); // anywhere in the 1 GiB page
    expect(tlb.invalidatePage(0x8400_8000_0000, 0)).toBe(0); // the next 1 GiB page holds nothing
    expect(tlb.validCount()).toBe(2);
    tlb.checkInvariants();
  });

  it('a page fault drops the faulting page from the TLB (SDM 4.10.4.1)', () => {
    const { t, cpu, tlb } = setup();
    t.map(VA, A, PTE.Present | PTE.User);
    cpu.translate(VA, Access.Read, Mode.User);
    expect(tlb.validCount()).toBe(1);
    expect(cpu.translate(VA, Access.Write, Mode.User).fault).toBe(true);
    expect(tlb.validCount()).toBe(0);
  });

  it('a user write to a read-only page the TLB holds faults from the cached rights with P | W/R | U/S, counts a hit and drops the entry (SDM 4.10.2.2, 4.7, 4.10.4.1)', () => {
    const { t, cpu, tlb } = setup();
    t.map(VA, A, PTE.Present | PTE.User);
    cpu.translate(VA, Access.Read, Mode.User);
    const hits = tlb.hits;
    expect(cpu.translate(VA + 8, Access.Write, Mode.User)).toMatchObject({ fault: true, errorCode: E.Present | E.Write | E.User, level: 1, tlbHit: true });
    expect(tlb.hits).toBe(hits + 1);
    expect(tlb.validCount()).toBe(0);
    // The next write walks (a miss) and faults from the tables with the same code.
    expect(cpu.translate(VA + 8, Access.Write, Mode.User)).toMatchObject({ fault: true, errorCode: E.Present | E.Write | E.User, tlbHit: false });
    tlb.checkInvariants();
  });

  it('a fault on a 4 KiB page the TLB does not hold drops the cached pieces of the 2 MiB page that mapped the address before (SDM 4.10.4.1)', () => {
    const { t, cpu, tlb, va } = setupTwoPiecesOf2MiB();
    // The 2 MiB page becomes a page table without INVLPG; its page 5 is read-only.
    t.set(2, va, 0, 0);
    t.map(va + 0x5000, A, PTE.Present | PTE.User);
    expect(cpu.translate(va + 0x5000, Access.Write, Mode.User)).toMatchObject({ fault: true, errorCode: E.Present | E.Write | E.User, level: 1, tlbHit: false });
    expect(tlb.validCount()).toBe(0);
    tlb.checkInvariants();
  });
});

describe('Tlb: rights and dirty flag on hits (SDM 4.10.2.2, 4.8)', () => {
  it('enforces cached rights on a hit: a user read of a supervisor page cached by the kernel faults', () => {
    const { t, cpu, tlb } = setup();
    t.map(VA, A, PTE.Present | PTE.Writable);
    cpu.translate(VA, Access.Read, Mode.Supervisor);
    const r = cpu.translate(VA, Access.Read, Mode.User);
    expect(r).toMatchObject({ fault: true, errorCode: E.Present | E.User, tlbHit: true });
    expect(tlb.hits).toBe(1);
  });

  it('faults spuriously after a permission upgrade without invlpg, then succeeds (the fault dropped the entry)', () => {
    const { t, cpu } = setup();
    t.map(VA, A, PTE.Present | PTE.User);
    cpu.translate(VA, Access.Read, Mode.User);
    t.modify(1, VA, PTE.Writable);
    expect(cpu.translate(VA, Access.Write, Mode.User).fault).toBe(true);
    expect(cpu.translate(VA, Access.Write, Mode.User).fault).toBe(false);
  });

  it('walks again on a write through a cached entry whose D = 0, setting D in memory', () => {
    const { t, cpu, tlb } = setup();
    t.map(VA, A, URW);
    cpu.translate(VA, Access.Read, Mode.User);
    expect(t.get(1, VA)[0] & PTE.Dirty).toBe(0);
    const misses = tlb.misses;
    const r = cpu.translate(VA, Access.Write, Mode.User);
    expect(r.tlbHit).toBe(false);
    expect(tlb.misses).toBe(misses + 1);
    expect(t.get(1, VA)[0] & PTE.Dirty).toBe(PTE.Dirty);
    expect(cpu.translate(VA, Access.Write, Mode.User).tlbHit).toBe(true);
  });

  it('counts hits and misses', () => {
    const { t, cpu, tlb } = setup();
    t.map(VA, A, URW);
    for (let i = 0; i < 5; i++) cpu.translate(VA + i, Access.Read, Mode.User);
    expect(tlb.hits).toBe(4);
    expect(tlb.misses).toBe(1);
    expect(tlb.hitRate()).toBeCloseTo(0.8);
  });

  it('evicts round-robin within a set when all ways are full', () => {
    const { t, cpu, tlb } = setup(CR4.PAE, { setCount: 1, wayCount: 2 });
    for (let i = 0; i < 3; i++) t.map(VA + i * 4096, A + i * 4096, URW);
    for (let i = 0; i < 3; i++) cpu.translate(VA + i * 4096, Access.Read, Mode.User);
    expect(tlb.validCount()).toBe(2);
    cpu.translate(VA + 2 * 4096, Access.Read, Mode.User);
    expect(tlb.hits).toBe(1);
    tlb.checkInvariants();
  });
});

describe('Tlb: the way predictor is only a guess', () => {
  it('answers from a cached entry whatever the hints hold, even values past the set', () => {
    const { t, cpu, tlb } = setup(CR4.PAE, { setCount: 4, wayCount: 2 });
    t.map(VA, A, URW);
    cpu.translate(VA, Access.Read, Mode.User);
    t.map(VA, B, URW); // no INVLPG: a hit must still give the cached frame
    for (const hint of [0, 1, 2, 3, 255]) {
      tlb.hints.fill(hint);
      expect(cpu.translate(VA + 8, Access.Read, Mode.User)).toMatchObject({ fault: false, pa: A + 8, tlbHit: true });
      expect(tlb.validCount()).toBe(1);
    }
    tlb.checkInvariants();
  });
});

describe('Tlb: PCIDs (SDM 4.10.1, 4.10.4.1)', () => {
  function pcidSetup() {
    const s = setup(CR4.PAE | CR4.PGE | CR4.PCIDE);
    const other = s.t.alloc();
    return { ...s, other };
  }

  it('keeps each PCID’s entries across CR3 writes with no-flush (bit 63)', () => {
    const { t, cpu, other } = pcidSetup();
    t.map(VA, A, URW);
    cpu.writeCr3(t.pml4, { pcid: 1 });
    expect(cpu.translate(VA, Access.Read, Mode.User).pa).toBe(A);
    cpu.writeCr3(other, { pcid: 2 });
    expect(cpu.translate(VA, Access.Read, Mode.User).fault).toBe(true);
    t.map(VA, B, URW); // changed under PCID 1's feet
    cpu.writeCr3(t.pml4, { pcid: 1, noFlush: true });
    expect(cpu.translate(VA, Access.Read, Mode.User).pa).toBe(A);
    cpu.writeCr3(t.pml4, { pcid: 1 });
    expect(cpu.translate(VA, Access.Read, Mode.User).pa).toBe(B);
  });

  it('uses a global entry under every PCID', () => {
    const { t, cpu, tlb, other } = pcidSetup();
    t.map(VA, A, URW | PTE.Global);
    cpu.writeCr3(t.pml4, { pcid: 1 });
    cpu.translate(VA, Access.Read, Mode.User);
    cpu.writeCr3(other, { pcid: 2 });
    expect(cpu.translate(VA, Access.Read, Mode.User)).toMatchObject({ fault: false, pa: A, tlbHit: true });
    expect(tlb.entries()[0]).toMatchObject({ global: true, pcid: 1 });
  });

  it('clearing CR4.PCIDE flushes every PCID, globals included', () => {
    const { t, cpu, tlb } = pcidSetup();
    t.map(VA, A, URW | PTE.Global);
    cpu.writeCr3(t.pml4, { pcid: 1 });
    cpu.translate(VA, Access.Read, Mode.User);
    cpu.writeCr3(t.pml4, { pcid: 0 });
    cpu.writeCr4(cpu.registers.cr4 & ~CR4.PCIDE);
    expect(tlb.validCount()).toBe(0);
  });

  it('INVPCID types 0-3 drop what the SDM says', () => {
    const tlb = new Tlb();
    const fill = () => {
      tlb.flushAll();
      tlb.insertPage(1, 1, 0x1000, URW, 1, false);
      tlb.insertPage(2, 1, 0x2000, URW, 1, false);
      tlb.insertPage(3, 2, 0x3000, URW, 1, false);
      tlb.insertPage(4, 2, 0x4000, URW | PTE.Global, 1, true);
    };
    fill();
    expect(tlb.invpcid(InvpcidType.IndividualAddress, 1, 0x1000)).toBe(1);
    fill();
    expect(tlb.invpcid(InvpcidType.IndividualAddress, 2, 0x4000)).toBe(0);
    fill();
    expect(tlb.invpcid(InvpcidType.SingleContext, 1)).toBe(2);
    fill();
    expect(tlb.invpcid(InvpcidType.AllContexts, 0)).toBe(3);
    fill();
    expect(tlb.invpcid(InvpcidType.AllContextsIncludingGlobal, 0)).toBe(4);
    expect(() => tlb.invpcid(InvpcidType.SingleContext, 4096)).toThrow(InvalidOptionError);
  });
});

describe('Tlb: stale-use detector', () => {
  it('reports each use of a stale entry with the cached and the current translation', () => {
    const { t, cpu, tlb } = setup();
    const seen: number[] = [];
    tlb.detectStaleUses = true;
    tlb.onStaleUse = (u) => seen.push(u.cachedPa);
    t.map(VA, A, URW);
    cpu.translate(VA + 8, Access.Read, Mode.User);
    cpu.translate(VA + 8, Access.Read, Mode.User);
    expect(tlb.staleUseCount).toBe(0);
    t.map(VA, B, URW); // forgot invlpg
    cpu.translate(VA + 8, Access.Read, Mode.User);
    expect(tlb.staleUses).toHaveLength(1);
    expect(tlb.staleUses[0]).toMatchObject({ va: VA + 8, cachedPa: A + 8, currentFault: false, currentPa: B + 8, access: Access.Read, mode: Mode.User });
    expect(tlb.staleUses[0]!.description).toMatch(/missing invlpg/);
    expect(seen).toEqual([A + 8]);
    cpu.invlpg(VA);
    cpu.translate(VA, Access.Read, Mode.User);
    cpu.translate(VA, Access.Read, Mode.User);
    expect(tlb.staleUseCount).toBe(1);
  });

  it('reports an unmapped page still in use as currentFault', () => {
    const { t, cpu, tlb } = setup();
    tlb.detectStaleUses = true;
    t.map(VA, A, URW);
    cpu.translate(VA, Access.Read, Mode.User);
    t.modify(2, VA, 0, PTE.Present);
    cpu.translate(VA, Access.Read, Mode.User);
    expect(tlb.staleUses[0]).toMatchObject({ currentFault: true, currentErrorCode: 0 });
  });

  it('reports a permission downgrade without invlpg, and a D bit cleared without invlpg', () => {
    const { t, cpu, tlb } = setup();
    tlb.detectStaleUses = true;
    t.map(VA, A, URW);
    cpu.translate(VA, Access.Write, Mode.User);
    t.modify(1, VA, 0, PTE.Dirty);
    cpu.translate(VA, Access.Write, Mode.User);
    expect(tlb.staleUseCount).toBe(1);
    cpu.invlpg(VA);
    cpu.translate(VA, Access.Write, Mode.User);
    t.modify(1, VA, 0, PTE.Writable);
    cpu.translate(VA, Access.Write, Mode.User);
    expect(tlb.staleUseCount).toBe(2);
    expect((tlb.staleUses[1]!.cachedFlags & PTE.Writable) !== 0 && (tlb.staleUses[1]!.currentFlags & PTE.Writable) === 0).toBe(true);
  });

  it('reports a stale entry whose cached rights deny what the tables now allow: the spurious fault after an upgrade without invlpg (SDM 4.10.4.3)', () => {
    const { t, cpu, tlb } = setup();
    tlb.detectStaleUses = true;
    t.map(VA, A, PTE.Present | PTE.User); // read-only
    expect(cpu.translate(VA, Access.Read, Mode.User).fault).toBe(false);
    t.modify(1, VA, PTE.Writable, 0); // upgraded to writable, no invlpg
    const r = cpu.translate(VA + 4, Access.Write, Mode.User);
    expect(r.fault).toBe(true); // rights come from the cached entry (SDM 4.10.2.2)
    expect(r.tlbHit).toBe(true);
    expect(r.errorCode).toBe(E.Present | E.Write | E.User);
    expect(tlb.staleUseCount).toBe(1);
    expect(tlb.staleUses[0]).toMatchObject({ va: VA + 4, access: Access.Write, mode: Mode.User, cachedFault: true, currentFault: false, currentPa: A + 4 });
    expect((tlb.staleUses[0]!.currentFlags & PTE.Writable) !== 0 && (tlb.staleUses[0]!.cachedFlags & PTE.Writable) === 0).toBe(true);
    expect(tlb.staleUses[0]!.description).toMatch(/faulted on the cached rights/);
    // The fault dropped the entry (SDM 4.10.4.1): the retry walks the current tables and succeeds.
    expect(cpu.translate(VA + 4, Access.Write, Mode.User).fault).toBe(false);
    expect(tlb.staleUseCount).toBe(1);
    tlb.checkInvariants();
  });

  it('reports nothing when a cached entry denies an access the tables deny too', () => {
    const { t, cpu, tlb } = setup();
    tlb.detectStaleUses = true;
    t.map(VA, A, PTE.Present | PTE.User);
    cpu.translate(VA, Access.Read, Mode.User);
    expect(cpu.translate(VA, Access.Write, Mode.User).fault).toBe(true);
    expect(tlb.staleUseCount).toBe(0);
  });

  it('reports A cleared without invlpg only when asked (detectClearedAccessed): the access does not set it again (SDM 4.10.4.3)', () => {
    const { t, cpu, tlb } = setup();
    tlb.detectStaleUses = true;
    tlb.detectClearedAccessed = true;
    t.map(VA, A, URW);
    cpu.translate(VA, Access.Read, Mode.User);
    t.modify(1, VA, 0, PTE.Accessed); // a replacement policy's aging, without invlpg
    cpu.translate(VA, Access.Read, Mode.User);
    expect(tlb.staleUseCount).toBe(1);
    expect(tlb.staleUses[0]).toMatchObject({ va: VA, cachedPa: A, currentPa: A, currentFault: false });
    expect(tlb.staleUses[0]!.description).toMatch(/A was cleared without invlpg/);
    // The tables' A stayed clear: the hit did not walk.
    expect(t.get(1, VA)[0] & PTE.Accessed).toBe(0);
    // With the invalidation the next access walks and sets A again: nothing stale.
    cpu.invlpg(VA);
    cpu.translate(VA, Access.Read, Mode.User);
    expect(t.get(1, VA)[0] & PTE.Accessed).toBe(PTE.Accessed);
    t.modify(1, VA, 0, PTE.Accessed);
    cpu.invlpg(VA);
    cpu.translate(VA, Access.Read, Mode.User);
    expect(tlb.staleUseCount).toBe(1);
  });

  it('ignores A and OS-available bits: the CPU does not act on them', () => {
    const { t, cpu, tlb } = setup();
    tlb.detectStaleUses = true;
    t.map(VA, A, URW);
    cpu.translate(VA, Access.Read, Mode.User);
    t.modify(1, VA, PTE.Avail10, PTE.Accessed);
    cpu.translate(VA, Access.Read, Mode.User);
    expect(tlb.staleUseCount).toBe(0);
  });
});

describe('Tlb options', () => {
  it('rejects a geometry that is not a power-of-two set count or has too many ways', () => {
    expect(() => new Tlb({ setCount: 3 })).toThrow(InvalidOptionError);
    expect(() => new Tlb({ wayCount: 0 })).toThrow(InvalidOptionError);
    expect(new Tlb({ setCount: 64, wayCount: 8 }).entryCount).toBe(512);
  });

  it('defaults to 2,048 entries in 256 sets of 8 ways, a second-level TLB (SDM 4.10 leaves the organisation to the implementation)', () => {
    const tlb = new Tlb();
    expect([tlb.setCount, tlb.wayCount, tlb.entryCount]).toEqual([256, 8, 2048]);
    // Nine pages of one set: the eight ways hold eight of them, the ninth evicts one.
    const pages: number[] = [];
    for (let p = 0; pages.length < 9; p++) if (tlb.setIndex(0, p) === tlb.setIndex(0, 0)) pages.push(p);
    for (const p of pages.slice(0, 8)) tlb.insertPage(p, 0, p * 4096, 0x7, 1, false);
    expect(pages.slice(0, 8).every((p) => tlb.lookup(0, p, 0) >= 0)).toBe(true);
    tlb.insertPage(pages[8]!, 0, 0, 0x7, 1, false);
    expect(pages.filter((p) => tlb.lookup(0, p, 0) >= 0)).toHaveLength(8);
    tlb.checkInvariants();
  });

  it('when disabled, the Mmu neither consults nor fills it', () => {
    const { t, cpu, tlb } = setup();
    tlb.enabled = false;
    t.map(VA, A, URW);
    cpu.translate(VA, Access.Read, Mode.User);
    t.map(VA, B, URW);
    expect(cpu.translate(VA, Access.Read, Mode.User).pa).toBe(B);
    expect(tlb.validCount()).toBe(0);
    expect(tlb.hits + tlb.misses).toBe(0);
  });
});

/** The same machine with memory seen only through the PhysicalMemory port (no flat words), as kernel-sim's sparse RAM is. */
function setupPortOnly() {
  const t = new RawPaging();
  const cpu = new Cpu({ memory: portOnly(t.memory), registers: { cr3Frame: t.pml4, cr4: CR4.PAE | CR4.PGE } });
  return { t, cpu, tlb: cpu.tlb! };
}

describe('Mmu on memory without flat words: the miss path a table view at a time', () => {
  it('a demand-paging fault (PTE with P = 0) reports P = 0 with the access bits at level 1 and sets A on the three table entries; the mapped page then translates with A and D (SDM 4.7, 4.8)', () => {
    const { t, cpu, tlb } = setupPortOnly();
    t.map(VA, A, URW);
    t.set(1, VA, 0, 0);
    for (let level = 2; level <= 4; level++) t.set(level, VA, t.get(level, VA)[0] & ~PTE.Accessed, t.get(level, VA)[1]);
    expect(cpu.translate(VA + 8, Access.Write, Mode.User)).toMatchObject({ fault: true, errorCode: E.Write | E.User, level: 1, tlbHit: false });
    for (let level = 2; level <= 4; level++) expect(t.get(level, VA)[0] & PTE.Accessed, `A at level ${level}`).toBe(PTE.Accessed);
    expect(t.get(1, VA)).toEqual([0, 0]);
    expect(tlb.validCount()).toBe(0);
    t.map(VA, A, URW);
    expect(cpu.translate(VA + 8, Access.Write, Mode.User)).toMatchObject({ fault: false, pa: A + 8, level: 1, tlbHit: false });
    expect(t.get(1, VA)[0] & (PTE.Accessed | PTE.Dirty)).toBe(PTE.Accessed | PTE.Dirty);
    expect(tlb.validCount()).toBe(1);
    tlb.checkInvariants();
  });

  it('a not-present PDPTE faults at level 3 with A on the PML4E only (SDM 4.7, 4.8)', () => {
    const { t, cpu } = setupPortOnly();
    t.map(VA, A, URW);
    t.set(3, VA, 0, 0);
    t.set(4, VA, t.get(4, VA)[0] & ~PTE.Accessed, t.get(4, VA)[1]);
    expect(cpu.translate(VA, Access.Read, Mode.Supervisor)).toMatchObject({ fault: true, errorCode: 0, level: 3 });
    expect(t.get(4, VA)[0] & PTE.Accessed).toBe(PTE.Accessed);
  });

  it('a fault on a page the TLB does not hold drops the cached pieces of the 2 MiB page that mapped the address before (SDM 4.10.4.1)', () => {
    const { t, cpu, tlb } = setupPortOnly();
    const va = 0x4000_0000;
    t.map(va, 0x20_0000, URW, 2);
    cpu.translate(va, Access.Read, Mode.User);
    cpu.translate(va + 0x10_0000, Access.Read, Mode.User);
    expect(tlb.validCount()).toBe(2);
    // The PDE goes away without INVLPG; an access to another 4 KiB page of the old 2 MiB page faults.
    t.set(2, va, 0, 0);
    expect(cpu.translate(va + 0x5000, Access.Read, Mode.User)).toMatchObject({ fault: true, errorCode: E.User, level: 2, tlbHit: false });
    expect(tlb.validCount()).toBe(0);
    tlb.checkInvariants();
  });
});

describe('Mmu on memory without flat words, 32-bit paging: the miss path (seed 002 on sparse RAM)', () => {
  const PD = 0x1000;
  const PT = 0x2000;
  function setup32() {
    const memory = new ArrayBufferPhysicalMemory(16 << 20);
    const cpu = new Cpu({ memory: portOnly(memory), registers: { cr0: CR0.PE | CR0.PG | CR0.WP, cr4: CR4.PSE, efer: 0, cr3Frame: PD } });
    return { memory, cpu, tlb: cpu.tlb! };
  }

  it('a 4 MiB page (PDE.PS with CR4.PSE) maps its whole 4 MiB even when the PDE bits 31:12 name a frame of RAM (SDM 4.3, Table 4-4)', () => {
    const { memory, cpu, tlb } = setup32();
    const va = 0x0080_0000; // PDE 2
    memory.write32(PD + 2 * 4, 0x0040_0000 | PTE.Present | PTE.Writable | PTE.User | 0x80); // 4 MiB page at 4 MiB
    memory.write32(0x0040_0000 + 0x123 * 4, 0x0066_6000 | PTE.Present | PTE.User); // what a page-table read would find there
    expect(cpu.translate(va + 0x12_3456, Access.Read, Mode.User)).toMatchObject({ fault: false, pa: 0x0040_0000 + 0x12_3456, pageSizeBytes: 4194304, level: 2 });
    expect(memory.read32(PD + 2 * 4) & PTE.Accessed).toBe(PTE.Accessed);
    tlb.checkInvariants();
  });

  it('a not-present PTE faults at level 1 with A on the PDE; a not-present PDE at level 2 with nothing written; the mapped page then translates with A and D (SDM 4.7, 4.8)', () => {
    const { memory, cpu, tlb } = setup32();
    const va = 0x0040_5000; // PDE 1, PTE 5
    memory.write32(PD + 1 * 4, PT | PTE.Present | PTE.Writable | PTE.User);
    expect(cpu.translate(va, Access.Write, Mode.User)).toMatchObject({ fault: true, errorCode: E.Write | E.User, level: 1, tlbHit: false });
    expect(memory.read32(PD + 1 * 4) & PTE.Accessed).toBe(PTE.Accessed);
    expect(cpu.translate(0x0c00_0000, Access.Read, Mode.Supervisor)).toMatchObject({ fault: true, errorCode: 0, level: 2 });
    expect(memory.read32(PD + 0x30 * 4)).toBe(0);
    memory.write32(PT + 5 * 4, 0x0077_7000 | PTE.Present | PTE.Writable | PTE.User);
    expect(cpu.translate(va + 8, Access.Write, Mode.User)).toMatchObject({ fault: false, pa: 0x0077_7008, level: 1, tlbHit: false });
    expect(memory.read32(PT + 5 * 4) & (PTE.Accessed | PTE.Dirty)).toBe(PTE.Accessed | PTE.Dirty);
    expect(tlb.validCount()).toBe(1);
    tlb.checkInvariants();
  });
});

describe('Tlb: enabled and detectStaleUses', () => {
  it('read back what was set, in any order, and probeMode is 1 only when on without stale-use detection', () => {
    const tlb = new Tlb();
    expect([tlb.enabled, tlb.detectStaleUses, tlb.probeMode]).toEqual([true, false, 1]);
    tlb.detectStaleUses = true;
    expect([tlb.enabled, tlb.detectStaleUses, tlb.probeMode]).toEqual([true, true, 3]);
    tlb.enabled = false;
    expect([tlb.enabled, tlb.detectStaleUses]).toEqual([false, true]);
    expect(tlb.probeMode).not.toBe(1);
    tlb.detectStaleUses = false;
    expect([tlb.enabled, tlb.detectStaleUses]).toEqual([false, false]);
    expect(tlb.probeMode).not.toBe(1);
    tlb.enabled = true;
    expect([tlb.enabled, tlb.detectStaleUses, tlb.probeMode]).toEqual([true, false, 1]);
  });

  it('a disabled TLB is neither consulted nor filled, and turning it back on finds what it held (the quick probe follows the switch)', () => {
    const { t, cpu, tlb } = setup();
    t.map(VA, A, URW);
    expect(cpu.translate(VA, Access.Read, Mode.User).tlbHit).toBe(false);
    expect([tlb.hits, tlb.misses]).toEqual([0, 1]);
    tlb.enabled = false;
    expect(cpu.translate(VA, Access.Read, Mode.User).tlbHit).toBe(false);
    expect([tlb.hits, tlb.misses, tlb.validCount()]).toEqual([0, 1, 1]);
    tlb.enabled = true;
    expect(cpu.translate(VA, Access.Read, Mode.User).tlbHit).toBe(true);
    expect([tlb.hits, tlb.misses]).toEqual([1, 1]);
  });
});

describe('Tlb: a hit reports the translation the walk cached (SDM 4.10.2.2)', () => {
  const fields = (r: { fault: boolean; pa: number; level: number; pageSizeBytes: number; flags: number }) => ({ fault: r.fault, pa: r.pa, level: r.level, pageSizeBytes: r.pageSizeBytes, flags: r.flags });

  it('4 KiB, 2 MiB and 1 GiB pages in 4-level paging: the same frame, level and page size from the TLB as from the walk', () => {
    for (const [level, sizeBytes, va, pa] of [
      [1, 4096, 0x40_0000, 0x20_0000],
      [2, 2 * 1024 * 1024, 0x4000_0000, 0x20_0000],
      [3, 1024 * 1024 * 1024, 0x80_0000_0000, 0x4000_0000],
    ] as const) {
      const { t, cpu, tlb } = setup();
      t.map(va, pa, URW, level);
      const at = va + sizeBytes / 2 + 0x123;
      const walked = fields(cpu.translate(at, Access.Read, Mode.User));
      expect(walked).toMatchObject({ fault: false, pa: pa + sizeBytes / 2 + 0x123, level, pageSizeBytes: sizeBytes });
      const hit = cpu.translate(at, Access.Read, Mode.User);
      expect(hit.tlbHit).toBe(true);
      expect(fields(hit)).toEqual(walked);
      tlb.checkInvariants();
    }
  });

  it('a 4 MiB page in 32-bit paging: level 2 and 4 MiB from the TLB as from the walk (SDM 4.3)', () => {
    const memory = new ArrayBufferPhysicalMemory(16 << 20);
    const cpu = new Cpu({ memory, registers: { cr0: CR0.PE | CR0.PG | CR0.WP, cr4: CR4.PSE, efer: 0, cr3Frame: 0x1000 } });
    memory.write32(0x1000 + 2 * 4, 0x0040_0000 | PTE.Present | PTE.Writable | PTE.User | 0x80); // PDE 2: a 4 MiB page at 4 MiB
    const at = 0x0080_0000 + 0x12_3456;
    const walked = fields(cpu.translate(at, Access.Read, Mode.User));
    expect(walked).toMatchObject({ fault: false, pa: 0x0040_0000 + 0x12_3456, level: 2, pageSizeBytes: 4194304 });
    const hit = cpu.translate(at, Access.Read, Mode.User);
    expect(hit.tlbHit).toBe(true);
    expect(fields(hit)).toEqual(walked);
  });
});
