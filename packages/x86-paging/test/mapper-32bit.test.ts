// The Mapper in 32-bit paging (SDM vol. 3A 4.3): 4-byte entries, 1024 per table, 4 MiB pages
// through PS in a PDE (CR4.PSE = 1) with PSE-36 address bits 39:32 in PDE bits 20:13.
import { describe, expect, it } from 'vitest';
import {
  ArrayBufferPhysicalMemory,
  Mapper,
  PTE,
  PageAlreadyMappedError,
  PageSize,
  PagingMode,
  PhysicalTableAccess,
  RecursiveTableAccess,
  SimpleFrameAllocator,
  availableBit,
} from '../src/index';
import { snapshot } from './mapper-fixture';
import { THIRTY_TWO_BIT, codeOf, modeMachine, modeMapper } from './mode-machines';

const M4 = 4 * 1024 * 1024;
const RW = PTE.Present | PTE.Writable;

function machine32(frameCount = 64) {
  return modeMapper(PagingMode.ThirtyTwoBit, frameCount);
}

describe('Mapper in 32-bit paging', () => {
  it('maps a 4 MiB page with one 4-byte PDE: PA 31:22, PS, flags (SDM 4.3, Table 4-4)', () => {
    const { memory, mapper } = machine32();
    expect(mapper.mapPages(0xc000_0000, 0x40_0000, 1, RW | PTE.Global, { pageSize: PageSize.Size4M })).toBe(true);
    // PDE 768 (va 31:22) of the directory, 4 bytes per entry.
    expect(memory.read32(mapper.root + 768 * 4)).toBe((0x40_0000 | RW | PTE.Global | PTE.HugePage) >>> 0);
    expect(memory.read32(mapper.root + 769 * 4)).toBe(0);
    expect(mapper.translate(0xc012_3456)).toMatchObject({ pa: 0x52_3456, pageSizeBytes: M4, level: 2 });
    expect(mapper.tableFrameCount).toBe(1);
    mapper.checkInvariants();
  });

  it('maps 4 KiB pages through a page table of 1024 entries: PDE index 31:22, PTE index 21:12 (SDM 4.3, Figure 4-2)', () => {
    const { memory, mapper } = machine32();
    expect(mapper.mapPages(0x0804_8000, 0x20_0000, 3, PTE.Present | PTE.User)).toBe(true);
    const pde = memory.read32(mapper.root + 32 * 4);
    expect(pde & (PTE.Present | PTE.Writable | PTE.User)).toBe(PTE.Present | PTE.Writable | PTE.User);
    const pt = pde & 0xffff_f000;
    expect(memory.read32(pt + 0x48 * 4)).toBe(0x20_0000 | PTE.Present | PTE.User);
    expect(memory.read32(pt + 0x4a * 4)).toBe(0x20_2000 | PTE.Present | PTE.User);
    expect(mapper.translate(0x0804_9abc)).toMatchObject({ pa: 0x20_1abc, pageSizeBytes: 4096, level: 1 });
    mapper.checkInvariants();
  });

  it('puts PSE-36 address bits 39:32 in PDE bits 20:13, and the MMU agrees (SDM 4.3, Table 4-4)', () => {
    const m = modeMachine(THIRTY_TWO_BIT, 'physical', 8 * 1024 * 1024);
    const pa = 0x12_0000_0000 + 0x4c0_0000; // above 4 GiB, 4 MiB aligned
    expect(m.mapper.mapPages(0x4000_0000, pa, 1, RW, { pageSize: PageSize.Size4M })).toBe(true);
    const pde = m.memory.read32(m.root + 256 * 4);
    expect((pde >>> 13) & 0xff).toBe(0x12);
    expect(pde & 0xffc0_0000).toBe(0x4c0_0000);
    expect(m.mapper.translate(0x4000_1234)!.pa).toBe(pa + 0x1234);
    const hw = m.cpu.mmu.probe(0x4000_1234);
    expect([hw.fault, hw.pa]).toEqual([false, pa + 0x1234]);
    m.mapper.checkInvariants();
  });

  it('refuses what a 32-bit entry cannot encode, before any change: a PTE above 2^32, a 4 MiB page beyond PSE-36 (SDM 4.3)', () => {
    const { memory, mapper } = machine32();
    mapper.mapPages(0x1000, 0x1000, 1, RW);
    const before = snapshot(memory);
    expect(codeOf(() => mapper.mapPages(0x0040_0000, 2 ** 32, 1, RW))).toBe('E_UNENCODABLE_ENTRY');
    expect(codeOf(() => mapper.mapPages(0x0040_0000, 2 ** 32 - 4096, 2, RW))).toBe('E_UNENCODABLE_ENTRY');
    expect(codeOf(() => mapper.mapPages(0x0040_0000, 2 ** 40, 1, RW, { pageSize: PageSize.Size4M }))).toBe('E_UNENCODABLE_ENTRY');
    expect(codeOf(() => mapper.markPages(0x0040_0000, 1, PTE.Avail9, 2 ** 32))).toBe('E_UNENCODABLE_ENTRY');
    expect(snapshot(memory)).toBe(before);
    mapper.checkInvariants();
  });

  it('throws E_WRONG_PAGING_MODE for what needs another mode: 2 MiB / 1 GiB pages, XD, bits 52-62', () => {
    const { memory, mapper } = machine32();
    const before = snapshot(memory);
    expect(codeOf(() => mapper.mapPages(0, 0, 1, RW, { pageSize: PageSize.Size1G }))).toBe('E_WRONG_PAGING_MODE');
    expect(codeOf(() => mapper.mapPages(0, 0, 1, RW, { pageSize: PageSize.Size2M }))).toBe('E_WRONG_PAGING_MODE');
    expect(codeOf(() => mapper.mapRange(0, 0, M4, RW, { maxPageSize: PageSize.Size1G }))).toBe('E_WRONG_PAGING_MODE');
    // SDM 4.3: 32-bit paging has no XD bit and no entry bits above 31.
    expect(codeOf(() => mapper.mapPages(0, 0, 1, RW | PTE.NoExecute))).toBe('E_WRONG_PAGING_MODE');
    expect(codeOf(() => mapper.mapPages(0, 0, 1, RW | availableBit(52)))).toBe('E_WRONG_PAGING_MODE');
    expect(codeOf(() => mapper.updateFlags(0, 1, RW | PTE.NoExecute))).toBe('E_WRONG_PAGING_MODE');
    expect(snapshot(memory)).toBe(before);
  });

  it('rejects addresses outside the 32-bit linear space and ranges running past 0xffff_ffff', () => {
    const { mapper } = machine32();
    expect(codeOf(() => mapper.mapPages(2 ** 32, 0, 1, RW))).toBe('E_INVALID_ADDRESS');
    expect(codeOf(() => mapper.mapPages(2 ** 32 - 4096, 0, 2, RW))).toBe('E_INVALID_ADDRESS');
    expect(codeOf(() => mapper.translate(2 ** 32))).toBe('E_INVALID_ADDRESS');
    expect(codeOf(() => mapper.unmapPages(2 ** 32 - M4, 1025))).toBe('E_INVALID_ADDRESS');
    expect(mapper.mapPages(2 ** 32 - 4096, 0x3000, 1, RW)).toBe(true); // the last page is fine
    expect(mapper.translate(0xffff_ffff)!.pa).toBe(0x3fff);
  });

  it('splits a 4 MiB page on a partial unmap: one page table of 1024 PTEs, PAT moved from bit 12 to bit 7, INVLPG (SDM 4.3, 4.10.4.2)', () => {
    const { memory, mapper, tlb } = machine32();
    mapper.mapPages(0xc000_0000, 0x80_0000, 1, RW | PTE.Global | PTE.PatHuge, { pageSize: PageSize.Size4M });
    const out = mapper.unmapPages(0xc000_0000 + 0x1000, 2)!;
    expect(out).toEqual([{ va: 0xc000_1000, pa: 0x80_1000, sizeBytes: 0x2000, flags: RW | PTE.Global | PTE.Pat4K, pageSizeBytes: 4096 }]);
    expect(tlb.invalidated).toContain(0xc000_0000);
    expect(mapper.tableFrameCount).toBe(2);
    const pt = memory.read32(mapper.root + 768 * 4) & 0xffff_f000;
    expect(memory.read32(pt + 1023 * 4)).toBe((0x80_0000 + 1023 * 4096) | RW | PTE.Global | PTE.Pat4K);
    expect(mapper.translate(0xc000_0fff)!.pa).toBe(0x80_0fff);
    expect(mapper.translate(0xc000_1000)).toBeNull();
    expect(mapper.translate(0xc03f_f000)!.pa).toBe(0xbf_f000);
    mapper.checkInvariants();
    expect(mapper.mappings().map((r) => [r.start, r.end, r.pageSizeBytes])).toEqual([
      [0xc000_0000, 0xc000_1000, 4096],
      [0xc000_3000, 0xc040_0000, 4096],
    ]);
  });

  it('refuses to split a PSE-36 page above 4 GiB (its 4 KiB pieces would not fit a PTE), changing nothing', () => {
    const { memory, mapper, allocator } = machine32();
    mapper.mapPages(0x4000_0000, 2 ** 36, 1, RW, { pageSize: PageSize.Size4M });
    const before = snapshot(memory);
    const used = allocator.allocatedCount;
    expect(codeOf(() => mapper.unmapPages(0x4000_1000, 1))).toBe('E_UNENCODABLE_ENTRY');
    expect(codeOf(() => mapper.updateFlags(0x4000_1000, 1, PTE.Present))).toBe('E_UNENCODABLE_ENTRY');
    expect(snapshot(memory)).toBe(before);
    expect(allocator.allocatedCount).toBe(used);
    expect(mapper.unmapPages(0x4000_0000, 1024)).toEqual([{ va: 0x4000_0000, pa: 2 ** 36, sizeBytes: M4, flags: RW | PTE.HugePage, pageSizeBytes: M4 }]);
    mapper.checkInvariants();
  });

  it('mapRange uses 4 MiB pages where va and pa are both 4 MiB aligned, 4 KiB at the edges', () => {
    const { mapper } = machine32();
    expect(mapper.mapRange(0xc000_0000 - 0x2000, 0x40_0000 - 0x2000, 2 * M4 + 0x3000, RW)).toBe(true);
    expect(mapper.mappings().map((r) => [r.start, r.end, r.pageSizeBytes])).toEqual([
      [0xbfff_e000, 0xc000_0000, 4096],
      [0xc000_0000, 0xc080_0000, M4],
      [0xc080_0000, 0xc080_1000, 4096],
    ]);
    mapper.checkInvariants();
  });

  it('prints in the natural 32-bit form: 0xc000_0000, 4-byte entries, PD and PT', () => {
    const { mapper } = machine32();
    mapper.mapPages(0xc000_0000, 0, 1, RW, { pageSize: PageSize.Size4M });
    mapper.mapPages(0x0804_8000, 0x20_0000, 1, PTE.Present | PTE.User);
    expect(mapper.root).toBe(0x10_0000);
    expect(mapper.formatWalk(0xc012_3456)).toBe('walk of 0xc012_3456 (32-bit paging)\n  PD  [768] @0x10_0c00 = 0x0000_0083 -> 4M page 0x0  P RW PS');
    const walk = mapper.walk(0x0804_8000);
    expect(walk.map((s) => [s.levelName, s.index, s.entryPa - s.tableFrame])).toEqual([
      ['PD', 32, 128],
      ['PT', 72, 288],
    ]);
    expect(mapper.formatWalk(0x0804_8000)).toMatch(/PT {2}\[ 72\] @0x10_1120 = 0x0020_0005 -> 4K page 0x20_0000 {2}P US$/);
    expect(mapper.formatMappings()).toBe(['0x0804_8000-0x0804_9000 0x1000 ur-x 4K -> 0x20_0000', '0xc000_0000-0xc040_0000 0x40_0000 -rwx 4M -> 0x0'].join('\n'));
  });

  it('lists a mapping that ends at the top of the space with the end spelled out', () => {
    const { mapper } = machine32();
    mapper.mapPages(0xffc0_0000, 0, 1, RW, { pageSize: PageSize.Size4M });
    expect(mapper.formatMappings()).toBe('0xffc0_0000-0x1_0000_0000 0x40_0000 -rwx 4M -> 0x0');
  });

  it('refuses a TableAccess whose entries have another size (E_INVALID_OPTION)', () => {
    const memory = new ArrayBufferPhysicalMemory(1024 * 1024);
    const allocator = new SimpleFrameAllocator({ start: 0x1_0000, frameCount: 4 });
    expect(codeOf(() => Mapper.create({ access: new PhysicalTableAccess(memory), allocator, mode: PagingMode.ThirtyTwoBit }))).toBe('E_INVALID_OPTION');
    expect(codeOf(() => Mapper.create({ access: new PhysicalTableAccess(memory, { mode: PagingMode.ThirtyTwoBit }), allocator }))).toBe('E_INVALID_OPTION');
    expect(allocator.allocatedCount).toBe(0);
  });

  it('refuses a page directory above 4 GiB (CR3 is a 32-bit register in 32-bit paging)', () => {
    const memory = new ArrayBufferPhysicalMemory(1024 * 1024);
    const access = new PhysicalTableAccess(memory, { mode: PagingMode.ThirtyTwoBit });
    const allocator = new SimpleFrameAllocator({ start: 0x1_0000, frameCount: 4 });
    expect(codeOf(() => new Mapper({ access, allocator, root: 2 ** 32, mode: PagingMode.ThirtyTwoBit }))).toBe('E_INVALID_ADDRESS');
  });
});

describe('RecursiveTableAccess in 32-bit paging (the classic layout)', () => {
  it('puts the directory at 0xffff_f000 and the page table serving va at 0xffc0_0000 + (va >>> 22) * 4096', () => {
    const m = modeMachine(THIRTY_TWO_BIT, 'recursive');
    const r = m.access as RecursiveTableAccess;
    expect(r.slot).toBe(1023);
    expect(r.recursiveAddress(2, 0x1234_5678)).toBe(0xffff_f000);
    expect(r.recursiveAddress(1, 0xc012_3456)).toBe(0xffc0_0000 + 768 * 4096);
    expect(r.recursiveAddress(1, 0)).toBe(0xffc0_0000);
    // The directory reads itself through PDE 1023: its last entry, at 0xffff_fffc, is the self-map.
    m.mapper.mapPages(0x0804_8000, 0x30_0000, 1, PTE.Present | PTE.User);
    const pdeSelf = m.cpu.mmu.probe(0xffff_fffc);
    expect([pdeSelf.fault, pdeSelf.pa]).toEqual([false, m.root + 1023 * 4]);
    // The PTE of 0x0804_8000 is visible at 0xffc0_0000 + 32 * 4096 + 0x48 * 4.
    const pte = m.cpu.mmu.probe(0xffc0_0000 + 32 * 4096 + 0x48 * 4);
    expect(m.memory.read32(pte.pa)).toBe(0x30_0000 | PTE.Present | PTE.User);
    m.mapper.checkInvariants();
  });

  it('refuses a slot outside the directory (E_INVALID_OPTION)', () => {
    const m = modeMachine(THIRTY_TWO_BIT, 'physical');
    expect(codeOf(() => new RecursiveTableAccess(m.cpu, { slot: 1024, mode: PagingMode.ThirtyTwoBit }))).toBe('E_INVALID_OPTION');
    expect(codeOf(() => RecursiveTableAccess.install(m.boot, m.root, 1024, PagingMode.ThirtyTwoBit))).toBe('E_INVALID_OPTION');
  });
});

describe('Mapper (32-bit paging): a preallocated kernel page table is never replaced by a 4 MiB page', () => {
  it('a 4 MiB map over a pinned slot is PageAlreadyMappedError before any change; the table stays owned and pinned', () => {
    const memory = new ArrayBufferPhysicalMemory(4 * 1024 * 1024);
    const allocator = new SimpleFrameAllocator({ start: 0x10_0000, frameCount: 160 });
    const mapper = Mapper.create({ access: new PhysicalTableAccess(memory, { mode: PagingMode.ThirtyTwoBit }), allocator, memory, mode: PagingMode.ThirtyTwoBit })!;
    expect(mapper.preallocatePml4Slots(768, 1)).toBe(true);
    const before = snapshot(memory);
    const tables = mapper.tableFrameCount;
    // PDEs 767-768: the second is the preallocated table (found by the fault-injection property).
    expect(() => mapper.mapPages(0xbfc0_0000, 0, 2, PTE.Present, { pageSize: M4 as 4096 })).toThrow(PageAlreadyMappedError);
    expect(snapshot(memory)).toBe(before);
    expect(mapper.tableFrameCount).toBe(tables);
    mapper.checkInvariants();
    // Below the kernel half a 4 MiB page still replaces nothing and maps.
    expect(mapper.mapPages(0xbf80_0000, 0, 1, PTE.Present, { pageSize: M4 as 4096 })).toBe(true);
    mapper.checkInvariants();
  });
});
