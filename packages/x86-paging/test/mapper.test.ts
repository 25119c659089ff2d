import { describe, expect, it } from 'vitest';
import {
  Access,
  CanonicalHoleError,
  Cpu,
  DIRECT_MAP_BASE,
  DirectMapTableAccess,
  Mode,
  TableAccessFaultError,
  WINDOW_BASE,
  WindowTableAccess,
  type MapperCreateOptions,
  type TableAccess,
  InvalidFlagsError,
  InvalidFrameError,
  InvalidOptionError,
  InvalidSizeError,
  Mapper,
  MisalignedAddressError,
  NotMappedError,
  PTE,
  PageAlreadyMappedError,
  PageSize,
  ParentEntryHugePageError,
  PhysicalAddressRangeError,
  PhysicalTableAccess,
  RecursiveTableAccess,
  ReservedRegionError,
  SimpleFrameAllocator,
  availableBit,
  osBits,
  ArrayBufferPhysicalMemory,
  entryAddress,
  pdIndex,
  pdptIndex,
  pml4Index,
  ptIndex,
  virt,
} from '../src/index';
import { FaultyTableAccess, faultyMachine, machine, rawEntry, snapshot, treeDump, type FaultyMachine } from './mapper-fixture';

const RW = PTE.Present | PTE.Writable;
const KERNEL = virt('0xffff_8000_0000_0000');
const G1 = PageSize.Size1G;
const M2 = PageSize.Size2M;

/** Physical address of the entry for `va` at `level`, following the live tables. */
function entryPa(m: ReturnType<typeof machine>, va: number, level: number): number {
  let table = m.mapper.root;
  const idx = [0, ptIndex(va), pdIndex(va), pdptIndex(va), pml4Index(va)];
  for (let l = 4; l > level; l--) {
    const [lo, hi] = rawEntry(m.memory, table + idx[l]! * 8);
    table = entryAddress(lo, hi);
  }
  return table + idx[level]! * 8;
}

describe('Mapper.mapPages', () => {
  it('writes a bit-exact 4 KiB PTE: address in bits 51:12, NX in bit 63 (SDM 4.5, Table 4-20)', () => {
    const m = machine();
    expect(m.mapper.mapPages(KERNEL + 0x5000, 0x12_3000, 1, RW | PTE.NoExecute | PTE.Global)).toBe(true);
    expect(rawEntry(m.memory, entryPa(m, KERNEL + 0x5000, 1))).toEqual([0x12_3103, 0x8000_0000]);
    const t = m.mapper.translate(KERNEL + 0x5abc)!;
    expect(t.pa).toBe(0x12_3abc);
    expect(t.pageSizeBytes).toBe(4096);
    expect((t.flags & PTE.NoExecute) !== 0).toBe(true);
    m.mapper.checkInvariants();
  });

  it('creates zeroed intermediate tables with P|RW|US and no NX, so the leaf alone decides rights (SDM 4.6)', () => {
    const m = machine();
    m.mapper.mapPages(0x40_0000, 0x20_0000, 1, PTE.Present);
    for (const level of [4, 3, 2]) {
      const [lo, hi] = rawEntry(m.memory, entryPa(m, 0x40_0000, level));
      expect(lo & 0xfff).toBe(PTE.Present | PTE.Writable | PTE.User);
      expect(hi).toBe(0);
    }
    expect(m.mapper.tableFrameCount).toBe(4);
    expect(m.mapper.translate(0x40_0000)!.flags & (PTE.Writable | PTE.User)).toBe(0);
  });

  it('maps 2 MiB pages with PS = 1 in the PDE and PAT in bit 12 (SDM Table 4-17)', () => {
    const m = machine();
    expect(m.mapper.mapPages(KERNEL, 0x40_0000, 2, RW | PTE.PatHuge, { pageSize: M2 })).toBe(true);
    expect(rawEntry(m.memory, entryPa(m, KERNEL + M2, 2))).toEqual([0x60_1083, 0]);
    const t = m.mapper.translate(KERNEL + M2 + 0x1234)!;
    expect([t.pa, t.pageSizeBytes, t.level]).toEqual([0x60_1234, M2, 2]);
    expect(m.mapper.tableFrameCount).toBe(3);
  });

  it('maps 1 GiB pages with PS = 1 in the PDPTE (SDM Table 4-15), above 4 GiB physical', () => {
    const m = machine();
    expect(m.mapper.mapPages(KERNEL, 4 * G1, 64, RW, { pageSize: G1 })).toBe(true);
    expect(rawEntry(m.memory, entryPa(m, KERNEL + 5 * G1, 3))).toEqual([0x4000_0083, 2]);
    expect(m.mapper.translate(KERNEL + 63 * G1 + 7)!.pa).toBe(67 * G1 + 7);
    expect(m.mapper.tableFrameCount).toBe(2);
  });

  it('uses bit 7 as PAT in a 4 KiB PTE and drops bit 12 there (SDM Table 4-20)', () => {
    const m = machine();
    m.mapper.mapPages(0x1000, 0x3000, 1, RW | PTE.Pat4K | PTE.PatHuge);
    expect(rawEntry(m.memory, entryPa(m, 0x1000, 1))[0]).toBe(0x3083);
  });

  it('rejects a va or pa not aligned to the page size (SDM 4.5: a 2 MiB frame is 2 MiB aligned)', () => {
    const m = machine();
    expect(() => m.mapper.mapPages(0x1000, 0, 1, RW, { pageSize: M2 })).toThrow(MisalignedAddressError);
    expect(() => m.mapper.mapPages(0, 0x1000, 1, RW, { pageSize: M2 })).toThrow(MisalignedAddressError);
    expect(() => m.mapper.mapPages(0x800, 0, 1, RW)).toThrow(MisalignedAddressError);
    expect(() => m.mapper.mapPages(0, M2, 1, RW, { pageSize: G1 })).toThrow(/E_MISALIGNED|not aligned/);
    expect(m.mapper.tableFrameCount).toBe(1);
  });

  it('rejects bad counts, page sizes, flags and physical ranges with typed errors', () => {
    const m = machine();
    expect(() => m.mapper.mapPages(0, 0, 0, RW)).toThrow(InvalidSizeError);
    expect(() => m.mapper.mapPages(0, 0, Number.NaN, RW)).toThrow(InvalidSizeError);
    expect(() => m.mapper.mapPages(0, 0, -1, RW)).toThrow(InvalidSizeError);
    expect(() => m.mapper.mapPages(0, 0, 1, RW, { pageSize: 8192 as PageSize })).toThrow(InvalidOptionError);
    expect(() => m.mapper.mapPages(0, 0, 1, RW | 0x2000)).toThrow(InvalidFlagsError);
    expect(() => m.mapper.mapPages(0, 2 ** 52 - 4096, 2, RW)).toThrow(PhysicalAddressRangeError);
    expect(() => m.mapper.mapPages(0x7fff_ffff_f000, 0, 2, RW)).toThrow(CanonicalHoleError);
    expect(m.mapper.tableFrameCount).toBe(1);
  });

  it('honours a smaller MAXPHYADDR (SDM 4.5: bits 51:M reserved)', () => {
    const memory = new ArrayBufferPhysicalMemory(1 << 20);
    const allocator = new SimpleFrameAllocator({ start: 0, frameCount: 256 });
    const mapper = Mapper.create({ access: new PhysicalTableAccess(memory), allocator, maxPhysAddr: 36 })!;
    expect(() => mapper.mapPages(0, 2 ** 36, 1, RW)).toThrow(PhysicalAddressRangeError);
    expect(mapper.mapPages(0, 2 ** 36 - 4096, 1, RW)).toBe(true);
    expect(mapper.translate(0)!.pa).toBe(2 ** 36 - 4096);
  });

  it('rejects overlapping an existing mapping and leaves everything as it was', () => {
    const m = machine();
    m.mapper.mapPages(0x20_5000, 0x9000, 1, RW);
    const before = snapshot(m.memory);
    const allocated = m.allocator.allocatedCount;
    const err = (() => {
      try {
        m.mapper.mapPages(0x20_0000, 0, 600, RW); // spans two PTs; the hit is in the first
      } catch (e) {
        return e as PageAlreadyMappedError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(PageAlreadyMappedError);
    expect(err!.code).toBe('E_ALREADY_MAPPED');
    expect(err!.va).toBe(0x20_5000);
    expect(err!.message).toContain('0x0000_0000_0020_5000');
    expect(snapshot(m.memory)).toEqual(before);
    expect(m.allocator.allocatedCount).toBe(allocated);
  });

  it('rejects a huge page over smaller mappings, and 4 KiB pages inside a huge page (x86_64 MapToError)', () => {
    const m = machine();
    m.mapper.mapPages(0x1000, 0x1000, 1, RW);
    expect(() => m.mapper.mapPages(0, 0, 1, RW, { pageSize: M2 })).toThrow(PageAlreadyMappedError);
    m.mapper.mapPages(KERNEL, 0, 1, RW, { pageSize: M2 });
    expect(() => m.mapper.mapPages(KERNEL + 0x3000, 0, 1, RW)).toThrow(ParentEntryHugePageError);
    m.mapper.mapPages(KERNEL + G1, 0, 1, RW, { pageSize: G1 });
    expect(() => m.mapper.mapPages(KERNEL + G1 + M2, 0, 1, RW, { pageSize: M2 })).toThrow(ParentEntryHugePageError);
  });

  it('replaces an empty page table by a huge page, frees the table and invalidates (SDM 4.10.4.2)', () => {
    const m = machine();
    m.mapper.mapPages(0x1000, 0x1000, 1, RW);
    m.mapper.unmapPages(0x1000, 1, { freeTables: false });
    expect(m.mapper.tableFrameCount).toBe(4);
    m.tlb.invalidated.length = 0;
    expect(m.mapper.mapPages(0, 0x20_0000, 1, RW, { pageSize: M2 })).toBe(true);
    expect(m.tlb.invalidated).toEqual([0]); // the PDE went from a table pointer to a 2 MiB page
    expect(m.mapper.tableFrameCount).toBe(3);
    expect(m.mapper.translate(0x1000)!.pa).toBe(0x20_1000);
    m.mapper.checkInvariants();
  });

  it('returns false on running out of table frames and gives back every table it took', () => {
    const m = machine(5); // root + 4
    m.mapper.mapPages(0, 0, 1, RW); // uses PDPT, PD, PT: 1 frame left
    const before = m.mapper.mappings();
    // Needs a new PD (new 1 GiB region) and two PTs: runs out on the second.
    expect(m.mapper.mapPages(G1, 0, 513, RW)).toBe(false);
    expect(m.mapper.mappings()).toEqual(before);
    expect(m.allocator.allocatedCount).toBe(4);
    expect(m.mapper.tableFrameCount).toBe(4);
    m.mapper.checkInvariants();
    m.allocator.checkInvariants();
  });

  it('refuses reserved PML4 slots (e.g. a recursive slot)', () => {
    const m = machine(64, { reservedPml4Slots: [510] });
    expect(() => m.mapper.mapPages(510 * 2 ** 39 + 0x1000, 0, 1, RW)).toThrow(ReservedRegionError);
    expect(m.mapper.mapPages(511 * 2 ** 39, 0, 1, RW)).toBe(true);
  });
});

describe('Mapper.mapRange', () => {
  it('uses 1 GiB, 2 MiB and 4 KiB pages as alignment allows (SDM 4.5: a huge page\'s frame is aligned to its size)', () => {
    const m = machine();
    const va = KERNEL + G1 - M2 - 0x3000;
    expect(m.mapper.mapRange(va, va - KERNEL, G1 + 2 * M2 + 0x5000, RW)).toBe(true);
    const sizes = m.mapper.mappings().map((r) => [r.pageSizeBytes, r.end - r.start]);
    expect(sizes).toEqual([
      [4096, 0x3000],
      [M2, M2],
      [G1, G1],
      [M2, M2],
      [4096, 0x2000],
    ]);
  });

  it('falls back to 4 KiB pages when va and pa disagree modulo 2 MiB (SDM 4.5, Table 4-17)', () => {
    const m = machine();
    expect(m.mapper.mapRange(0, 0x1000, M2, RW)).toBe(true);
    expect(m.mapper.mappings()).toHaveLength(1);
    expect(m.mapper.mappings()[0]!.pageSizeBytes).toBe(4096);
  });
});

describe('Mapper.mapAllocated', () => {
  it('maps fresh zeroed frames, one per page', () => {
    const m = machine(64, {});
    const memory = m.memory;
    const mapper = Mapper.create({ access: m.access, allocator: m.allocator, memory })!;
    memory.write32(0x10_0000 + 40 * 4096, 0xdead); // a dirty frame the allocator will hand out
    expect(mapper.mapAllocated(0x40_0000, 3, RW | PTE.User)).toBe(true);
    const pas = [0, 1, 2].map((i) => mapper.translate(0x40_0000 + i * 4096)!.pa);
    expect(new Set(pas).size).toBe(3);
    for (const pa of pas) expect(memory.exportBytes(pa, 4096).every((b) => b === 0)).toBe(true);
  });

  it('rolls back completely when the allocator runs dry midway', () => {
    const m = machine(20);
    const used = m.allocator.allocatedCount;
    expect(m.mapper.mapAllocated(0x40_0000, 50, RW)).toBe(false);
    expect(m.allocator.allocatedCount).toBe(used);
    expect(m.mapper.mappings()).toEqual([]);
    expect(m.mapper.tableFrameCount).toBe(1);
    m.mapper.checkInvariants();
    m.allocator.checkInvariants();
  });
});

describe('Mapper.unmapPages', () => {
  it('returns what was mapped, coalesced, invalidates each page and frees emptied tables (SDM 4.10.4.2)', () => {
    const m = machine();
    m.mapper.mapPages(KERNEL, 0x20_0000, 4, RW);
    m.mapper.mapPages(KERNEL + 0x4000, 0x90_0000, 2, RW | PTE.NoExecute);
    const out = m.mapper.unmapPages(KERNEL, 8)!;
    expect(out).toEqual([
      { va: KERNEL, pa: 0x20_0000, sizeBytes: 0x4000, flags: RW, pageSizeBytes: 4096 },
      { va: KERNEL + 0x4000, pa: 0x90_0000, sizeBytes: 0x2000, flags: RW | PTE.NoExecute, pageSizeBytes: 4096 },
    ]);
    expect(m.tlb.invalidated.slice(0, 6)).toEqual([0, 1, 2, 3, 4, 5].map((i) => KERNEL + i * 4096));
    expect(m.mapper.tableFrameCount).toBe(1);
    expect(m.allocator.allocatedCount).toBe(1);
    m.mapper.checkInvariants();
  });

  it('keeps emptied tables with freeTables: false', () => {
    const m = machine();
    m.mapper.mapPages(0, 0, 1, RW);
    m.mapper.unmapPages(0, 1, { freeTables: false });
    expect(m.mapper.tableFrameCount).toBe(4);
    expect(m.mapper.translate(0)).toBeNull();
  });

  it('splits a 2 MiB page when unmapping part of it, keeping the rest mapped with the same flags and PAT (SDM Tables 4-17, 4-20; 4.10.4.2)', () => {
    const m = machine();
    m.mapper.mapPages(KERNEL, 0x40_0000, 1, RW | PTE.Global | PTE.PatHuge | PTE.NoExecute, { pageSize: M2 });
    const out = m.mapper.unmapPages(KERNEL + 0x1000, 2)!;
    expect(out).toEqual([{ va: KERNEL + 0x1000, pa: 0x40_1000, sizeBytes: 0x2000, flags: RW | PTE.Global | PTE.Pat4K | PTE.NoExecute, pageSizeBytes: 4096 }]);
    expect(m.mapper.translate(KERNEL + 0x1000)).toBeNull();
    const t = m.mapper.translate(KERNEL + 0x3008)!;
    expect([t.pa, t.pageSizeBytes]).toEqual([0x40_3008, 4096]);
    expect(t.flags).toBe(RW | PTE.Global | PTE.Pat4K | PTE.NoExecute);
    expect(m.mapper.translate(KERNEL)!.pa).toBe(0x40_0000);
    expect(m.tlb.invalidated).toContain(KERNEL); // the 2 MiB translation is dropped (SDM 4.10.4.2)
    m.mapper.checkInvariants();
  });

  it('splits a 1 GiB page at both ends of a hole, allocating exactly the tables needed', () => {
    const m = machine();
    m.mapper.mapPages(KERNEL, 0, 1, RW, { pageSize: G1 });
    const before = m.allocator.allocatedCount;
    const out = m.mapper.unmapPages(KERNEL + M2 + 0x1000, 512)!; // [2M+4K, 4M+4K)
    expect(m.allocator.allocatedCount - before).toBe(3); // one PD, two PTs
    expect(out.reduce((s, r) => s + r.sizeBytes, 0)).toBe(512 * 4096);
    expect(m.mapper.translate(KERNEL + M2)!.pageSizeBytes).toBe(4096);
    expect(m.mapper.translate(KERNEL + 2 * M2 + 0x1000)!.pa).toBe(2 * M2 + 0x1000);
    expect(m.mapper.translate(KERNEL + 3 * M2)!.pageSizeBytes).toBe(M2);
    expect(m.mapper.translate(KERNEL + 2 * M2)).toBeNull();
    m.mapper.checkInvariants();
  });

  it('returns null and changes nothing when a split cannot get a table', () => {
    const m = machine(3);
    m.mapper.mapPages(0, 0, 1, RW, { pageSize: G1 }); // root + PDPT
    const before = snapshot(m.memory);
    expect(m.mapper.unmapPages(0x3000, 1)).toBeNull(); // needs a PD and a PT, 1 frame left
    expect(snapshot(m.memory)).toEqual(before);
    expect(m.allocator.allocatedCount).toBe(2);
  });

  it('skips holes', () => {
    const m = machine();
    m.mapper.mapPages(0x3000, 0x3000, 1, RW);
    expect(m.mapper.unmapPages(0, 100)).toEqual([{ va: 0x3000, pa: 0x3000, sizeBytes: 4096, flags: RW, pageSizeBytes: 4096 }]);
    expect(m.mapper.unmapPages(0, 100)).toEqual([]);
  });
});

describe('Mapper.updateFlags', () => {
  it('replaces flags, keeps A/D set by the CPU, and invalidates every changed page (SDM 4.8, 4.10.4.2)', () => {
    const m = machine();
    m.mapper.mapPages(0x1000, 0x5000, 2, RW | PTE.Accessed | PTE.Dirty);
    m.tlb.invalidated.length = 0;
    expect(m.mapper.updateFlags(0x1000, 2, PTE.Present | PTE.NoExecute)).toBe(true);
    expect(m.mapper.translate(0x1000)!.flags).toBe(PTE.Present | PTE.Accessed | PTE.Dirty | PTE.NoExecute);
    expect(m.tlb.invalidated).toEqual([0x1000, 0x2000]);
  });

  it('throws E_NOT_MAPPED on a hole and changes nothing', () => {
    const m = machine();
    m.mapper.mapPages(0x1000, 0x5000, 1, RW);
    const before = snapshot(m.memory);
    expect(() => m.mapper.updateFlags(0x1000, 2, PTE.Present)).toThrow(NotMappedError);
    expect(snapshot(m.memory)).toEqual(before);
  });

  it('splits a 2 MiB page to change part of it', () => {
    const m = machine();
    m.mapper.mapPages(0, 0, 1, RW, { pageSize: M2 });
    expect(m.mapper.updateFlags(0x1000, 1, PTE.Present)).toBe(true);
    expect(m.mapper.translate(0x1000)!.flags & PTE.Writable).toBe(0);
    expect(m.mapper.translate(0x2000)!.flags & PTE.Writable).toBe(PTE.Writable);
    m.mapper.checkInvariants();
  });
});

describe('Mapper.markPages / leafEntry', () => {
  it('writes not-present entries carrying OS bits and an address the CPU ignores (SDM 4.5: P = 0)', () => {
    const m = machine();
    const SWAPPED = availableBit(52);
    expect(m.mapper.markPages(0x7000, 2, SWAPPED | PTE.Present, 0x55_0000)).toBe(true);
    expect(rawEntry(m.memory, entryPa(m, 0x8000, 1))).toEqual([0x55_1000, 1 << 20]);
    expect(m.mapper.translate(0x7000)).toBeNull();
    const e = m.mapper.leafEntry(0x8123)!;
    expect([e.present, e.level, e.pa, osBits(e.flags)]).toEqual([false, 1, 0x55_1000, osBits(SWAPPED)]);
    expect(m.mapper.leafEntry(KERNEL)).toBeNull();
    expect(m.mapper.mappings()).toEqual([]);
    m.mapper.checkInvariants();
  });

  it('lets a mapping replace a marker, refuses to mark a present page, and unmapping drops markers', () => {
    const m = machine();
    m.mapper.markPages(0x7000, 2, PTE.Avail9);
    expect(m.mapper.mapPages(0x7000, 0x9000, 1, RW)).toBe(true);
    expect(m.mapper.leafEntry(0x7000)!.present).toBe(true);
    expect(() => m.mapper.markPages(0x7000, 1, PTE.Avail9)).toThrow(PageAlreadyMappedError);
    expect(m.mapper.unmapPages(0x7000, 2)).toHaveLength(1);
    expect(m.mapper.tableFrameCount).toBe(1);
  });
});

describe('Mapper.translate', () => {
  it('ANDs R/W and U/S and ORs NX over all levels (SDM 4.6.1)', () => {
    const m = machine();
    m.mapper.mapPages(0x1000, 0x5000, 1, RW | PTE.User);
    const pdpte = entryPa(m, 0x1000, 3);
    m.memory.write32(pdpte, m.memory.read32(pdpte) & ~PTE.Writable);
    m.memory.write32(pdpte + 4, 0x8000_0000);
    const t = m.mapper.translate(0x1000)!;
    expect(t.flags & PTE.Writable).toBe(0);
    expect(t.flags & PTE.User).toBe(PTE.User);
    expect((t.flags & PTE.NoExecute) !== 0).toBe(true);
  });

  it('returns null for an unmapped address and throws for a non-linear one', () => {
    const m = machine();
    expect(m.mapper.translate(0x1000)).toBeNull();
    expect(() => m.mapper.translate(2 ** 48)).toThrow(/E_INVALID_ADDRESS|\[0, 2\^48\)/);
  });
});

describe('Mapper tablePolicy leaf', () => {
  it('gives tables only the rights leaves need, widening as needed (SDM 4.6)', () => {
    const m = machine(64, { tablePolicy: 'leaf' });
    m.mapper.mapPages(0x1000, 0x1000, 1, PTE.Present);
    expect(rawEntry(m.memory, entryPa(m, 0x1000, 2))[0] & 0x7).toBe(PTE.Present);
    m.mapper.mapPages(0x2000, 0x2000, 1, RW | PTE.User);
    for (const level of [4, 3, 2]) expect(rawEntry(m.memory, entryPa(m, 0x1000, level))[0] & 0x7).toBe(7);
    expect(m.mapper.translate(0x1000)!.flags & 0x7).toBe(PTE.Present);
    m.mapper.checkInvariants();
  });
});

describe('Mapper.walk', () => {
  it('lists each level read, stopping at the leaf (SDM 4.5, Figure 4-8)', () => {
    const m = machine();
    m.mapper.mapPages(KERNEL, 0x40_0000, 1, RW, { pageSize: M2 });
    const steps = m.mapper.walk(KERNEL + 0x1234);
    expect(steps.map((s) => [s.levelName, s.index])).toEqual([
      ['PML4', 256],
      ['PDPT', 0],
      ['PD', 0],
    ]);
    expect(steps[2]!.entry.leaf).toBe(true);
    expect(steps[2]!.entry.pa).toBe(0x40_0000);
    expect(m.mapper.formatWalk(KERNEL + 0x1234)).toContain('2M page 0x40_0000');
    expect(m.mapper.walk(0x1000)).toHaveLength(1);
  });
});

describe('Mapper.mappings', () => {
  it('coalesces contiguous pages with equal flags and never across the canonical hole (SDM vol. 3A 3.3.7.1)', () => {
    const m = machine();
    m.mapper.mapPages(0x7fff_ffff_e000, 0x1000, 2, RW);
    m.mapper.mapPages(KERNEL, 0x3000, 2, RW);
    m.mapper.mapPages(KERNEL + 0x2000, 0x9000, 1, RW);
    expect(m.mapper.mappings().map((r) => [r.start, r.end, r.pa])).toEqual([
      [0x7fff_ffff_e000, 0x8000_0000_0000, 0x1000],
      [KERNEL, KERNEL + 0x2000, 0x3000],
      [KERNEL + 0x2000, KERNEL + 0x3000, 0x9000],
    ]);
    expect(m.mapper.mappings({ protectionOnly: true })).toHaveLength(2);
    expect(m.mapper.formatMappings()).toContain('0xffff_8000_0000_0000-0xffff_8000_0000_2000 0x2000 -rwx 4K -> 0x3000');
  });
});

// DESIGN.md "Errors": nothing half-done. Strategies (b)-(d) reach tables through the MMU and throw
// TableAccessFaultError when that faults; a call interrupted that way must leave the tree as it was.
describe('Mapper under a faulting TableAccess', () => {
  it('undoes a mapPages whose new table the direct map cannot reach: no link to an unzeroed frame, nothing owned or taken', () => {
    const memory = new ArrayBufferPhysicalMemory(16 * 1024 * 1024);
    const root = 0x10_0000;
    memory.zeroFrame(root);
    // Boot tables for a direct map of [0, 0x10_1000) only, in frames it covers.
    const boot = new Mapper({ access: new PhysicalTableAccess(memory), allocator: new SimpleFrameAllocator({ start: 0x8_0000, frameCount: 64 }), root });
    boot.mapRange(DIRECT_MAP_BASE, 0, 0x10_1000, RW);
    const cpu = new Cpu({ memory, registers: { cr3Frame: root } });
    // The next frame handed out, 0x10_1000, is outside the direct map and full of garbage.
    for (let pa = 0x10_1000; pa < 0x10_2000; pa += 4) memory.write32(pa, 0xdead_beef);
    const allocator = new SimpleFrameAllocator({ start: 0x10_1000, frameCount: 16 });
    const mapper = new Mapper({ access: new DirectMapTableAccess(cpu), allocator, root, tlb: cpu });
    // Let the MMU set A (reading every table) and D (the root) now, so that only the mapper could
    // change the tree below (SDM 4.8: the CPU sets them when the kernel touches its tables).
    mapper.checkInvariants();
    cpu.mmu.translate(DIRECT_MAP_BASE + root, Access.Write, Mode.Supervisor);
    const before = treeDump(memory, root);
    for (const pageCount of [1, 2]) {
      // 1 page: the single-walk fast path; 2 pages: the general path (newTable).
      let caught: unknown = null;
      try {
        mapper.mapPages(0x10_0000_0000, 0x8000_0000, pageCount, RW | PTE.User);
      } catch (e) {
        caught = e;
      }
      expect((caught as TableAccessFaultError).code).toBe('E_TABLE_ACCESS_FAULT');
      expect(rawEntry(memory, root)).toEqual([0, 0]); // was 0x10_1007: PML4[0] -> a garbage "PDPT"
      expect(treeDump(memory, root)).toEqual(before);
      expect(mapper.tableFrameCount).toBe(0);
      expect(allocator.allocatedCount).toBe(0);
      mapper.checkInvariants();
      allocator.checkInvariants();
    }
  });

  /** One mutating call (`run`) on a tree built by `setup`, with the Mapper's options. */
  interface Scenario {
    name: string;
    options?: Partial<MapperCreateOptions>;
    setup?: (m: FaultyMachine) => void;
    run: (m: FaultyMachine) => unknown;
  }
  const MARK = PTE.Avail9 | availableBit(55);
  const scenarios: Scenario[] = [
    { name: 'mapPages, one page, three new tables (fast path)', run: (m) => m.mapper.mapPages(KERNEL + 0x5000, 0x9000, 1, RW) },
    {
      name: 'mapPages, one page over a marker (fast path)',
      setup: (m) => m.mapper.markPages(0x7000, 3, MARK, 0x55_0000),
      run: (m) => m.mapper.mapPages(0x8000, 0x9000, 1, RW),
    },
    {
      name: 'mapPages, 520 pages over two PTs, one existing with markers',
      setup: (m) => {
        m.mapper.markPages(0x1ff000, 2, MARK, 0x55_0000);
        m.mapper.mapPages(0x1fe000, 0x1000, 1, RW);
      },
      run: (m) => m.mapper.mapPages(0x1ff000, 0x40_0000, 520, RW | PTE.NoExecute),
    },
    {
      name: 'mapPages, 2 MiB pages, one replacing an empty table (SDM 4.10.4.2)',
      setup: (m) => {
        m.mapper.mapPages(M2 + 0x1000, 0x1000, 1, RW);
        m.mapper.unmapPages(M2 + 0x1000, 1, { freeTables: false });
        m.mapper.markPages(M2 + 0x3000, 1, MARK); // a marker inside the table that gives way
      },
      run: (m) => m.mapper.mapPages(0, 0x40_0000, 2, RW, { pageSize: M2 }),
    },
    { name: 'mapRange, 4 KiB + 2 MiB + 4 KiB pages', run: (m) => m.mapper.mapRange(M2 - 0x2000, M2 - 0x2000, M2 + 0x5000, RW) },
    {
      name: 'mapAllocated over a marker',
      setup: (m) => m.mapper.markPages(0x40_2000, 1, MARK, 0x66_0000),
      run: (m) => m.mapper.mapAllocated(0x40_0000, 5, RW),
    },
    { name: 'markPages over earlier markers', setup: (m) => m.mapper.markPages(0x40_2000, 2, MARK), run: (m) => m.mapper.markPages(0x40_0000, 6, PTE.Avail10, 0x77_0000) },
    {
      name: 'unmapPages splitting a 1 GiB page at both ends (a PD and two PTs)',
      setup: (m) => m.mapper.mapPages(KERNEL, 0, 1, RW | PTE.Global, { pageSize: G1 }),
      run: (m) => m.mapper.unmapPages(KERNEL + M2 + 0x1000, 512),
    },
    {
      name: 'unmapPages over pages and a marker, freeing emptied tables',
      setup: (m) => {
        m.mapper.mapPages(0x1f_0000, 0x30_0000, 600, RW);
        m.mapper.markPages(0x1e_f000, 1, MARK);
      },
      run: (m) => m.mapper.unmapPages(0x1e_f000, 601),
    },
    {
      name: 'updateFlags splitting a 2 MiB page',
      setup: (m) => {
        m.mapper.mapPages(0, 0x40_0000, 1, RW | PTE.Dirty, { pageSize: M2 });
        m.mapper.mapPages(M2, 0x9000, 3, RW | PTE.Accessed);
      },
      run: (m) => m.mapper.updateFlags(M2 - 0x2000, 5, PTE.Present | PTE.NoExecute),
    },
    {
      name: 'mapPages (one page) widening supervisor-only tables under the leaf policy',
      options: { tablePolicy: 'leaf' },
      setup: (m) => m.mapper.mapPages(0x1000, 0x1000, 1, PTE.Present),
      run: (m) => m.mapper.mapPages(0x2000, 0x2000, 1, RW | PTE.User),
    },
    {
      name: 'mapPages (two pages) widening supervisor-only tables under the leaf policy',
      options: { tablePolicy: 'leaf' },
      setup: (m) => m.mapper.mapPages(0x1000, 0x1000, 1, PTE.Present),
      run: (m) => m.mapper.mapPages(0x2000, 0x2000, 2, RW | PTE.User),
    },
    {
      name: 'updateFlags widening under the leaf policy',
      options: { tablePolicy: 'leaf' },
      setup: (m) => m.mapper.mapPages(0x1000, 0x1000, 2, PTE.Present),
      run: (m) => m.mapper.updateFlags(0x1000, 2, RW | PTE.User),
    },
    {
      name: 'preallocatePml4Slots next to an existing PDPT',
      setup: (m) => m.mapper.mapPages(KERNEL + 2 ** 39, 0, 1, RW),
      run: (m) => m.mapper.preallocatePml4Slots(256, 3),
    },
    {
      name: 'sharePml4Slots from another mapper',
      setup: (m) => {
        const kernel = Mapper.create({ access: new PhysicalTableAccess(m.memory), allocator: m.allocator })!;
        kernel.preallocatePml4Slots(256, 4);
        shareSource.set(m, kernel);
      },
      run: (m) => m.mapper.sharePml4Slots(shareSource.get(m)!, 256, 4),
    },
  ];
  const shareSource = new WeakMap<FaultyMachine, Mapper>();

  function build(s: Scenario, withMemory: boolean): FaultyMachine {
    const m = faultyMachine(512, s.options, withMemory);
    s.setup?.(m);
    return m;
  }

  /** What a call did, independent of which frames it got: mapped ranges and counts. */
  function outcome(m: FaultyMachine): unknown {
    return [m.mapper.mappings({ protectionOnly: true }).map((r) => [r.start, r.end, r.flags]), m.mapper.tableFrameCount, m.allocator.allocatedCount];
  }

  /** Faults the call at access n for (a sample of) every n; each time the tree must come back exactly. */
  function everyFaultPoint(s: Scenario, persistent: boolean): number {
    const probe = build(s, persistent);
    const start = probe.access.count;
    s.run(probe);
    const total = probe.access.count - start;
    const done = outcome(probe);
    let tried = 0;
    for (let n = 1; n <= total; n++) {
      if (n > 40 && n < total - 24 && n % 7 !== 0) continue;
      const m = build(s, persistent);
      const before = treeDump(m.memory, m.mapper.root);
      const tables = m.mapper.tableFrameCount;
      const taken = m.allocator.allocatedCount;
      m.access.failAfter(n, persistent);
      let caught: unknown = null;
      try {
        s.run(m);
      } catch (e) {
        caught = e;
      }
      m.access.disarm();
      const where = `${s.name}: fault at access ${n} of ${total}${persistent ? ' and after' : ''}`;
      expect(caught, where).toBeInstanceOf(TableAccessFaultError);
      expect(treeDump(m.memory, m.mapper.root), where).toEqual(before);
      expect([m.mapper.tableFrameCount, m.allocator.allocatedCount], where).toEqual([tables, taken]);
      m.mapper.checkInvariants();
      m.allocator.checkInvariants();
      // And the same call, retried, does what it does undisturbed.
      s.run(m);
      expect(outcome(m), where).toEqual(done);
      tried++;
    }
    return tried;
  }

  for (const s of scenarios) {
    it(`rolls back ${s.name} wherever an access faults`, () => {
      expect(everyFaultPoint(s, false)).toBeGreaterThan(0);
    });
  }

  it('restores through physical memory (the memory option) when the undo faults too', () => {
    for (const s of scenarios) expect(everyFaultPoint(s, true)).toBeGreaterThan(0);
  });

  it('rolls back through the direct-map, recursive and window strategies, leaving the MMU seeing what it saw (SDM 4.10.4.1)', () => {
    const USER = 0x10_0000_0000;
    const otherSlots = Array.from({ length: 512 }, (_, i) => i).filter((i) => i !== pml4Index(USER));
    for (const strategy of ['direct map', 'recursive', 'window'] as const) {
      const build = () => {
        const memory = new ArrayBufferPhysicalMemory(16 * 1024 * 1024);
        const allocator = new SimpleFrameAllocator({ start: 0x10_0000, frameCount: 1024 });
        const root = allocator.allocFrame()!;
        memory.zeroFrame(root);
        const boot = new PhysicalTableAccess(memory);
        const cpu = new Cpu({ memory, registers: { cr3Frame: root } });
        let inner: TableAccess;
        const reservedPml4Slots: number[] = [];
        if (strategy === 'direct map') {
          new Mapper({ access: boot, allocator, root }).mapRange(DIRECT_MAP_BASE, 0, 16 * 1024 * 1024, RW | PTE.Global);
          inner = new DirectMapTableAccess(cpu);
        } else if (strategy === 'recursive') {
          RecursiveTableAccess.install(boot, root, 510);
          reservedPml4Slots.push(510);
          inner = new RecursiveTableAccess(cpu, { slot: 510 });
        } else {
          WindowTableAccess.install(boot, allocator, root, WINDOW_BASE);
          inner = new WindowTableAccess(cpu);
        }
        const access = new FaultyTableAccess(inner);
        const mapper = new Mapper({ access, allocator, root, tlb: cpu, reservedPml4Slots });
        mapper.mapPages(USER, 0x8000_0000, 3, RW | PTE.User);
        mapper.mapPages(USER + 4 * M2, 0x4000_0000, 1, RW | PTE.User, { pageSize: M2 });
        return { memory, allocator, cpu, mapper, access, root };
      };
      const probes = [USER, USER + 0x2000, USER + 4 * M2 + 0x1000, USER + 4 * M2 + 0x5000, USER + G1, USER + G1 + 0x1000];
      const seen = (m: ReturnType<typeof build>) => probes.map((va) => m.cpu.translate(va, Access.Read, Mode.Supervisor)).map((r) => (r.fault ? 'fault' : r.pa));
      // The CPU sets A (and D) in entries it walks to reach a table: those are not the mapper's.
      const tree = (m: ReturnType<typeof build>) => treeDump(m.memory, m.root, otherSlots).map((e) => e.replace(/:([0-9a-f]+):([0-9a-f]+)$/, (_, lo: string, hi: string) => `:${(parseInt(lo, 16) & ~0x60).toString(16)}:${hi}`));
      const calls: [string, (m: ReturnType<typeof build>) => unknown][] = [
        ['mapPages', (m) => m.mapper.mapPages(USER + G1, 0x9000_0000, 600, RW | PTE.User)],
        ['unmapPages splitting a 2 MiB page', (m) => m.mapper.unmapPages(USER + 4 * M2 + 0x1000, 1)],
        ['unmapPages freeing tables', (m) => m.mapper.unmapPages(USER, 3)],
      ];
      for (const [name, call] of calls) {
        const probe = build();
        const start = probe.access.count;
        call(probe);
        const total = probe.access.count - start;
        for (let n = 1; n <= total; n += n < 24 ? 1 : 31) {
          const m = build();
          const before = tree(m);
          const saw = seen(m); // also fills the TLB with what is mapped now
          const counts = [m.mapper.tableFrameCount, m.allocator.allocatedCount];
          m.access.failAfter(n);
          expect(() => call(m), `${strategy}, ${name}, fault at ${n}`).toThrow(TableAccessFaultError);
          m.access.disarm();
          expect(tree(m), `${strategy}, ${name}, fault at ${n}`).toEqual(before);
          expect(seen(m), `${strategy}, ${name}, fault at ${n}`).toEqual(saw);
          expect([m.mapper.tableFrameCount, m.allocator.allocatedCount]).toEqual(counts);
          m.mapper.checkInvariants();
          m.cpu.checkInvariants();
        }
      }
    }
  });

  it('gives the root back when Mapper.create cannot zero it', () => {
    const memory = new ArrayBufferPhysicalMemory(1 << 20);
    const allocator = new SimpleFrameAllocator({ start: 0x1_0000, frameCount: 4 });
    const access = new FaultyTableAccess(new PhysicalTableAccess(memory));
    access.failAfter(1);
    expect(() => Mapper.create({ access, allocator })).toThrow(TableAccessFaultError);
    expect(allocator.allocatedCount).toBe(0);
  });
});

// A FrameAllocator is a port anyone can implement; a frame no entry can hold is misuse, found
// before it is linked (SDM 4.5: an entry holds address bits MAXPHYADDR-1:12; bits 51:M are reserved).
describe('Mapper with a FrameAllocator that hands out an unusable frame', () => {
  /** Hands out `bad` as the `nth` frame (1-based), the inner allocator's frames otherwise. */
  function badAllocator(inner: SimpleFrameAllocator, nth: number, bad: number) {
    let n = 0;
    const freed: number[] = [];
    return {
      freed,
      allocFrame: (): number | null => (++n === nth ? bad : inner.allocFrame()),
      freeFrame: (pa: number): void => {
        freed.push(pa);
        inner.freeFrame(pa);
      },
    };
  }

  function expectInvalidFrame(fn: () => unknown, frame: number): void {
    let caught: unknown = null;
    try {
      fn();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvalidFrameError);
    expect((caught as InvalidFrameError).code).toBe('E_INVALID_FRAME');
    expect((caught as InvalidFrameError).frame).toBe(frame);
  }

  it('rejects a data frame at or above 2^MAXPHYADDR instead of mapping it truncated (MAXPHYADDR 32: 0x1_0000_5000 is not 0x5000)', () => {
    const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
    const inner = new SimpleFrameAllocator({ start: 0x10_0000, frameCount: 64 });
    const allocator = badAllocator(inner, 6, 0x1_0000_5000); // root, PDPT, PD, PT, one data frame, then the bad one
    const mapper = Mapper.create({ access: new PhysicalTableAccess(memory), allocator, maxPhysAddr: 32, memory })!;
    mapper.markPages(0x40_1000, 1, PTE.Avail9);
    const before = treeDump(memory, mapper.root);
    const taken = inner.allocatedCount;
    expectInvalidFrame(() => mapper.mapAllocated(0x40_0000, 3, RW), 0x1_0000_5000);
    expect(treeDump(memory, mapper.root)).toEqual(before);
    expect(inner.allocatedCount).toBe(taken);
    expect(allocator.freed).not.toContain(0x1_0000_5000); // a frame it cannot trust is not given back
    expect(mapper.translate(0x40_0000)).toBeNull();
    mapper.checkInvariants();
    inner.checkInvariants();
  });

  const cases: [string, number][] = [
    ['misaligned', 0x10_0800],
    ['at 2^52', 2 ** 52],
    ['fractional', 4096.5],
    ['negative', -4096],
    ['NaN', Number.NaN],
  ];
  for (const [what, bad] of cases) {
    it(`rejects a table frame that is ${what} wherever a table is made, changing nothing`, () => {
      const calls: [string, (m: Mapper) => unknown][] = [
        ['mapPages (one page)', (m) => m.mapPages(KERNEL + G1, 0x9000, 1, RW)],
        ['mapPages (general path)', (m) => m.mapPages(KERNEL + G1, 0x9000, 2, RW)],
        ['markPages', (m) => m.markPages(KERNEL + G1, 2, PTE.Avail9)],
        ['unmapPages splitting a 1 GiB page', (m) => m.unmapPages(KERNEL + 0x1000, 1)],
        ['updateFlags splitting a 1 GiB page', (m) => m.updateFlags(KERNEL + 0x1000, 1, PTE.Present)],
        ['preallocatePml4Slots', (m) => m.preallocatePml4Slots(300, 2)],
      ];
      for (const [name, call] of calls) {
        const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
        const inner = new SimpleFrameAllocator({ start: 0x10_0000, frameCount: 64 });
        const allocator = badAllocator(inner, 6, bad); // the second table of the call below
        const mapper = Mapper.create({ access: new PhysicalTableAccess(memory), allocator })!;
        mapper.mapPages(0, 0, 1, RW, { pageSize: M2 }); // a PDPT and a PD
        mapper.mapPages(KERNEL, 0, 1, RW, { pageSize: G1 }); // a PDPT
        const before = treeDump(memory, mapper.root);
        const taken = inner.allocatedCount;
        expect(() => call(mapper), name).toThrow(InvalidFrameError);
        expect(treeDump(memory, mapper.root), name).toEqual(before);
        expect(inner.allocatedCount, name).toBe(taken);
        expect(mapper.tableFrameCount, name).toBe(4);
        mapper.checkInvariants();
        inner.checkInvariants();
      }
    });
  }

  it('rejects an unusable root frame in Mapper.create and checks options before taking one', () => {
    const inner = new SimpleFrameAllocator({ start: 0x10_0000, frameCount: 4 });
    const access = new PhysicalTableAccess(new ArrayBufferPhysicalMemory(1 << 20));
    expectInvalidFrame(() => Mapper.create({ access, allocator: badAllocator(inner, 1, 0x10_0010) }), 0x10_0010);
    expect(() => Mapper.create({ access, allocator: inner, maxPhysAddr: 60 })).toThrow(InvalidOptionError);
    expect(inner.allocatedCount).toBe(0);
  });
});
