import { describe, expect, it } from 'vitest';
import {
  CanonicalHoleError,
  InvalidFlagsError,
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
import { machine, rawEntry, snapshot } from './mapper-fixture';

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

  it('replaces an empty page table by a huge page and frees the table', () => {
    const m = machine();
    m.mapper.mapPages(0x1000, 0x1000, 1, RW);
    m.mapper.unmapPages(0x1000, 1, { freeTables: false });
    expect(m.mapper.tableFrameCount).toBe(4);
    expect(m.mapper.mapPages(0, 0x20_0000, 1, RW, { pageSize: M2 })).toBe(true);
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
  it('uses 1 GiB, 2 MiB and 4 KiB pages as alignment allows', () => {
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

  it('falls back to 4 KiB pages when va and pa disagree modulo 2 MiB', () => {
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
  it('returns what was mapped, coalesced, invalidates each page and frees emptied tables', () => {
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

  it('splits a 2 MiB page when unmapping part of it, keeping the rest mapped with the same flags and PAT', () => {
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
  it('replaces flags, keeps A/D set by the CPU, and invalidates every changed page', () => {
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
  it('coalesces contiguous pages with equal flags and never across the canonical hole', () => {
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
