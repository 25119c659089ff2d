// Mapper.locatePage — seed 004's `Pagemap::LocatePage`: the entry that maps an address (table,
// index, level), with the missing tables created on request, all or nothing, in every paging mode.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectRejected, garbage } from '../../../test-support/garbage-arguments';
import { FOUR_LEVEL_GEOMETRY, KmemError, PTE, PageSize, PagingMode, SimpleFrameAllocator } from '../src/index';
import { faultyMachine, machine, rawEntry, snapshot, treeDump } from './mapper-fixture';
import { codeOf, modeMapper } from './mode-machines';

const RW = PTE.Present | PTE.Writable;
const VA = 0x7f00_0020_3000;

describe('Mapper.locatePage', () => {
  it('returns the PTE of a mapped page: the table the MMU reads last, the index, the entry as stored', () => {
    const { mapper, memory } = machine();
    expect(mapper.mapPages(VA, 0x40_0000, 1, RW | PTE.User)).toBe(true);
    const steps = mapper.walk(VA);
    const last = steps[steps.length - 1]!;
    const loc = mapper.locatePage(VA + 0x123)!;
    expect(loc).toMatchObject({ va: VA, level: 1, pageSizeBytes: 4096, table: last.tableFrame, index: 3, entryPa: last.entryPa, entryBytes: 8, present: true, huge: false, tablesCreated: 0 });
    expect([loc.lo, loc.hi]).toEqual(rawEntry(memory, loc.entryPa));
  });

  it('without create, returns null where a table is missing and changes nothing', () => {
    const { mapper, memory, allocator } = machine();
    const before = [snapshot(memory), allocator.freeCount];
    expect(mapper.locatePage(VA)).toBeNull();
    expect([snapshot(memory), allocator.freeCount]).toEqual(before);
  });

  it('with create, makes exactly the missing tables (zeroed, linked P|RW|US) and the entry found is empty', () => {
    const { mapper, allocator } = machine();
    const free = allocator.freeCount;
    const loc = mapper.locatePage(VA, { create: true })!;
    expect(loc).toMatchObject({ level: 1, present: false, lo: 0, hi: 0, tablesCreated: 3 });
    expect(allocator.freeCount).toBe(free - 3);
    expect(mapper.tableFrameCount).toBe(4);
    const pd = mapper.walk(VA)[2]!;
    expect(pd.entry.flags & (RW | PTE.User)).toBe(RW | PTE.User);
    mapper.checkInvariants();
    // The next page of the same table needs nothing new.
    expect(mapper.locatePage(VA + 4096, { create: true })).toMatchObject({ tablesCreated: 0, index: 4, table: loc.table });
  });

  it('a leaf written at the returned entryPa is what the mapper and walker then see (the point of the call)', () => {
    const { mapper, memory } = machine();
    const loc = mapper.locatePage(VA, { create: true })!;
    const g = FOUR_LEVEL_GEOMETRY;
    memory.write32(loc.entryPa, g.encodeLo(0x55_5000, RW, false));
    memory.write32(loc.entryPa + 4, g.encodeHi(0x55_5000, 0, 0xfffff));
    expect(mapper.translate(VA + 8)).toMatchObject({ pa: 0x55_5008, level: 1 });
    mapper.checkInvariants();
  });

  it('returns null when the allocator runs out part-way, with the tables it made given back (all or nothing)', () => {
    const { mapper, memory, allocator } = machine(3); // the root + 2: three tables are needed
    const before = [snapshot(memory), allocator.freeCount, mapper.tableFrameCount];
    expect(mapper.locatePage(VA, { create: true })).toBeNull();
    expect([snapshot(memory), allocator.freeCount, mapper.tableFrameCount]).toEqual(before);
    mapper.checkInvariants();
  });

  it('stops at the level of the page size asked for: the PDE for 2 MiB, the PDPTE for 1 GiB', () => {
    const { mapper } = machine();
    expect(mapper.locatePage(0x4000_0000, { create: true, pageSize: PageSize.Size2M })).toMatchObject({ level: 2, pageSizeBytes: 2 ** 21, tablesCreated: 2 });
    expect(mapper.locatePage(0x8000_0000, { create: true, pageSize: PageSize.Size1G })).toMatchObject({ level: 3, pageSizeBytes: 2 ** 30, tablesCreated: 0, index: 2 });
    mapper.checkInvariants();
  });

  it('reports the huge leaf above the level asked for, and refuses to create a table below it (E_PARENT_HUGE_PAGE, nothing changed)', () => {
    const { mapper, memory } = machine();
    expect(mapper.mapPages(0x20_0000, 0x60_0000, 1, RW, { pageSize: PageSize.Size2M })).toBe(true);
    expect(mapper.locatePage(0x20_5000)).toMatchObject({ va: 0x20_0000, level: 2, pageSizeBytes: 2 ** 21, present: true, huge: true });
    const before = snapshot(memory);
    expect(codeOf(() => mapper.locatePage(0x20_5000, { create: true }))).toBe('E_PARENT_HUGE_PAGE');
    expect(snapshot(memory)).toBe(before);
  });

  it('refuses bad input with typed errors before any change', () => {
    const { mapper, memory, allocator } = machine(512, { reservedPml4Slots: [510] });
    const before = [snapshot(memory), allocator.freeCount];
    expect(codeOf(() => mapper.locatePage(2 ** 48, { create: true }))).toBe('E_INVALID_ADDRESS');
    expect(codeOf(() => mapper.locatePage(0x8000_0000_0000_0000n, { create: true }))).toBe('E_NON_CANONICAL');
    expect(codeOf(() => mapper.locatePage(510 * 2 ** 39, { create: true }))).toBe('E_RESERVED_REGION');
    expect(codeOf(() => mapper.locatePage(VA, { create: true, pageSize: 8192 as PageSize }))).toBe('E_INVALID_OPTION');
    expect(codeOf(() => mapper.locatePage(VA, { create: true, pageSize: PageSize.Size4M }))).toBe('E_WRONG_PAGING_MODE');
    expect(codeOf(() => mapper.locatePage(VA, { create: 1 as unknown as boolean }))).toBe('E_INVALID_OPTION');
    expect(codeOf(() => mapper.locatePage(VA, { create: true, flags: 1 << 15 }))).toBe('E_INVALID_FLAGS');
    expect([snapshot(memory), allocator.freeCount]).toEqual(before);
  });

  it("under the 'leaf' table policy gives new tables only the rights of the leaf asked for, and widens the path", () => {
    const { mapper } = machine(512, { tablePolicy: 'leaf' });
    mapper.locatePage(VA, { create: true, flags: PTE.Present });
    expect(mapper.walk(VA)[2]!.entry.flags & (PTE.Writable | PTE.User)).toBe(0);
    mapper.locatePage(VA + 4096, { create: true, flags: RW | PTE.User });
    expect(mapper.walk(VA)[2]!.entry.flags & (PTE.Writable | PTE.User)).toBe(PTE.Writable | PTE.User);
    mapper.checkInvariants();
  });

  it('undoes the tables it made when the TableAccess faults part-way, and rethrows', () => {
    for (let n = 1; n <= 12; n++) {
      const { mapper, memory, allocator, access } = faultyMachine();
      const before = [treeDump(memory, mapper.root).join(), allocator.freeCount];
      access.failAfter(n);
      const code = codeOf(() => mapper.locatePage(VA, { create: true }));
      access.disarm();
      if (code === 'no error') break;
      expect(code).toBe('E_TABLE_ACCESS_FAULT');
      expect([treeDump(memory, mapper.root).join(), allocator.freeCount]).toEqual(before);
      mapper.checkInvariants();
    }
  });
});

describe('Mapper.locatePage in the other paging modes', () => {
  it('32-bit paging: 4-byte entries, the PTE under a page directory, a 4 MiB PDE in the root itself', () => {
    const { mapper } = modeMapper(PagingMode.ThirtyTwoBit);
    expect(mapper.locatePage(0x0840_3000, { create: true })).toMatchObject({ level: 1, entryBytes: 4, index: 3, tablesCreated: 1 });
    const pde = mapper.locatePage(0x0c00_0000, { create: true, pageSize: PageSize.Size4M })!;
    expect(pde).toMatchObject({ level: 2, pageSizeBytes: 4 * 2 ** 20, table: mapper.root, index: 0x30, entryPa: mapper.root + 0x30 * 4, tablesCreated: 0 });
    expect(codeOf(() => mapper.locatePage(0x0c00_0000, { pageSize: PageSize.Size2M }))).toBe('E_WRONG_PAGING_MODE');
    mapper.checkInvariants();
  });

  it('PAE: the four page directories exist from the start, so a PTE needs one table at most', () => {
    const { mapper } = modeMapper(PagingMode.Pae);
    expect(mapper.locatePage(0xc010_2000, { create: true })).toMatchObject({ level: 1, entryBytes: 8, index: 0x102, tablesCreated: 1 });
    expect(mapper.locatePage(0xc020_0000, { pageSize: PageSize.Size2M })).toMatchObject({ level: 2, tablesCreated: 0 });
    expect(codeOf(() => mapper.locatePage(0, { pageSize: PageSize.Size1G }))).toBe('E_WRONG_PAGING_MODE');
    mapper.checkInvariants();
  });

  it('5-level paging: four tables below the PML5, and a canonical bigint above 2^53 located exactly', () => {
    const { mapper } = modeMapper(PagingMode.FiveLevel);
    const loc = mapper.locatePage(0xff11_0000_0040_5000n, { create: true })!;
    expect(loc).toMatchObject({ level: 1, index: 5, tablesCreated: 4 });
    expect(BigInt(loc.va)).toBe((0x0111n << 48n) + 0x40_5000n);
    expect(mapper.walk(0xff11_0000_0040_5000n).at(-1)!.entryPa).toBe(loc.entryPa);
    mapper.checkInvariants();
  });

  it('a root-only allocator: null in every mode, nothing kept', () => {
    for (const mode of [PagingMode.ThirtyTwoBit, PagingMode.Pae, PagingMode.FourLevel, PagingMode.FiveLevel]) {
      const { mapper, allocator } = modeMapper(mode, mode === PagingMode.Pae ? 5 : 1);
      expect(allocator.freeCount).toBe(0);
      expect(mapper.locatePage(0x0840_3000, { create: true })).toBeNull();
      expect(allocator).toBeInstanceOf(SimpleFrameAllocator);
      mapper.checkInvariants();
    }
  });
});

describe('Mapper.locatePage given garbage', () => {
  it('throws a typed error and changes nothing, whatever the argument', () => {
    const { mapper, memory, allocator } = machine();
    mapper.mapPages(VA, 0x40_0000, 1, RW);
    const snap = (): string => {
      mapper.checkInvariants();
      return `${snapshot(memory)}|${allocator.freeCount}`;
    };
    fc.assert(
      fc.property(garbage(), (g) => {
        if (typeof g !== 'bigint') expectRejected(KmemError, snap, () => mapper.locatePage(g as number, { create: true }));
        if (g !== undefined) {
          expectRejected(KmemError, snap, () => mapper.locatePage(VA + 4096, { create: true, pageSize: g as PageSize }));
          expectRejected(KmemError, snap, () => mapper.locatePage(VA + 4096, { create: true, flags: g as number }));
          if (typeof g !== 'boolean') expectRejected(KmemError, snap, () => mapper.locatePage(VA + 4096, { create: g as boolean }));
          if (typeof g !== 'object' || g === null) expectRejected(KmemError, snap, () => mapper.locatePage(VA + 4096, g as object));
        }
      }),
      { numRuns: 300 },
    );
  });
});
