// The Mapper in PAE paging (SDM vol. 3A 4.4): a 4-entry PDPT that CR3[31:5] points at, 8-byte
// PDEs and PTEs, 2 MiB pages, XD with EFER.NXE, entry bits 62:MAXPHYADDR reserved.
import { describe, expect, it } from 'vitest';
import {
  ArrayBufferPhysicalMemory,
  Mapper,
  PTE,
  PageSize,
  PagingMode,
  PhysicalTableAccess,
  RecursiveTableAccess,
  SimpleFrameAllocator,
  availableBit,
} from '../src/index';
import { snapshot } from './mapper-fixture';
import { PAE, codeOf, modeMachine, modeMapper } from './mode-machines';

const M2 = 2 * 1024 * 1024;
const RW = PTE.Present | PTE.Writable;

function machinePae(frameCount = 64) {
  return modeMapper(PagingMode.Pae, frameCount);
}

describe('Mapper in PAE paging', () => {
  it('creates the PDPT with all four page directories, whose PDPTEs hold P and the address only (SDM 4.4.1, Table 4-8)', () => {
    const { memory, mapper, allocator } = machinePae();
    expect(mapper.tableFrameCount).toBe(5);
    for (let i = 0; i < 4; i++) {
      const lo = memory.read32(mapper.root + i * 8);
      expect(lo & 0xfff).toBe(PTE.Present); // no R/W, U/S: bits 2:1 are reserved in a PDPTE
      expect(memory.read32(mapper.root + i * 8 + 4)).toBe(0);
    }
    // Entries 4..511 of the PDPT frame are not part of the PDPT.
    expect(memory.read32(mapper.root + 4 * 8)).toBe(0);
    // The directories stay when emptied: the CPU would not see a new PDPTE before the next MOV to CR3.
    mapper.mapPages(0xc000_0000, 0x20_0000, 1, RW);
    mapper.unmapPages(0xc000_0000, 1);
    expect(mapper.tableFrameCount).toBe(5);
    mapper.checkInvariants();
    mapper.destroy();
    expect(allocator.allocatedCount).toBe(0);
  });

  it('returns null and keeps nothing when the allocator cannot give the PDPT and its four directories', () => {
    const memory = new ArrayBufferPhysicalMemory(1024 * 1024);
    const allocator = new SimpleFrameAllocator({ start: 0x1_0000, frameCount: 4 });
    expect(Mapper.create({ access: new PhysicalTableAccess(memory, { mode: PagingMode.Pae }), allocator, mode: PagingMode.Pae })).toBeNull();
    expect(allocator.allocatedCount).toBe(0);
  });

  it('indexes with linear bits 31:30, 29:21, 20:12 and maps 2 MiB pages in PDEs (SDM 4.4.2, Figure 4-5)', () => {
    const { memory, mapper } = machinePae();
    expect(mapper.mapPages(0xc020_0000, 0x40_0000, 1, RW | PTE.NoExecute, { pageSize: PageSize.Size2M })).toBe(true);
    const pd = memory.read32(mapper.root + 3 * 8) & 0xffff_f000;
    expect(memory.read32(pd + 1 * 8)).toBe((0x40_0000 | RW | PTE.HugePage) >>> 0);
    expect(memory.read32(pd + 1 * 8 + 4)).toBe(0x8000_0000); // XD, bit 63
    expect(mapper.translate(0xc021_2345)).toMatchObject({ pa: 0x41_2345, pageSizeBytes: M2, level: 2 });
    // Rights combine over PDE and PTE only: the PDPTE grants everything (SDM 4.4.2, 4.6).
    mapper.mapPages(0x0804_8000, 0x9000, 1, PTE.Present | PTE.User | PTE.Writable);
    expect(mapper.translate(0x0804_8000)!.flags & (PTE.User | PTE.Writable)).toBe(PTE.User | PTE.Writable);
    mapper.checkInvariants();
  });

  it('reaches physical memory above 4 GiB (up to MAXPHYADDR), and the PAE MMU agrees', () => {
    const m = modeMachine(PAE, 'physical', 8 * 1024 * 1024);
    expect(m.mapper.mapPages(0x4000_0000, 0x3_4000_0000, 1, RW, { pageSize: PageSize.Size2M })).toBe(true);
    expect(m.mapper.mapPages(0x5000_0000, 0x5_0000_1000, 1, RW)).toBe(true);
    expect(m.mapper.translate(0x4000_0010)!.pa).toBe(0x3_4000_0010);
    expect(m.cpu.mmu.probe(0x4000_0010).pa).toBe(0x3_4000_0010);
    expect(m.cpu.mmu.probe(0x5000_0abc).pa).toBe(0x5_0000_1abc);
    m.mapper.checkInvariants();
  });

  it('throws E_WRONG_PAGING_MODE for 1 GiB and 4 MiB pages and for entry bits 52-62 (reserved in PAE, SDM 4.4.2)', () => {
    const { memory, mapper } = machinePae();
    const before = snapshot(memory);
    expect(codeOf(() => mapper.mapPages(0, 0, 1, RW, { pageSize: PageSize.Size1G }))).toBe('E_WRONG_PAGING_MODE');
    expect(codeOf(() => mapper.mapPages(0, 0, 1, RW, { pageSize: PageSize.Size4M }))).toBe('E_WRONG_PAGING_MODE');
    expect(codeOf(() => mapper.mapPages(0, 0, 1, RW | availableBit(52)))).toBe('E_WRONG_PAGING_MODE');
    expect(codeOf(() => mapper.markPages(0, 1, availableBit(60)))).toBe('E_WRONG_PAGING_MODE');
    expect(codeOf(() => mapper.mapPages(2 ** 32 - 4096, 0, 2, RW))).toBe('E_INVALID_ADDRESS');
    expect(snapshot(memory)).toBe(before);
  });

  it('has no recursive slot (a PDPTE pointing at the PDPT does not make it a page directory): E_WRONG_PAGING_MODE', () => {
    const m = modeMachine(PAE, 'physical');
    expect(codeOf(() => new RecursiveTableAccess(m.cpu, { mode: PagingMode.Pae }))).toBe('E_WRONG_PAGING_MODE');
    expect(codeOf(() => RecursiveTableAccess.install(m.boot, m.root, 3, PagingMode.Pae))).toBe('E_WRONG_PAGING_MODE');
  });

  it('takes a 32-byte aligned PDPT below 4 GiB as its root (CR3[31:5])', () => {
    const memory = new ArrayBufferPhysicalMemory(1024 * 1024);
    const access = new PhysicalTableAccess(memory, { mode: PagingMode.Pae });
    const allocator = new SimpleFrameAllocator({ start: 0x1_0000, frameCount: 16 });
    const mapper = new Mapper({ access, allocator, root: 0x8020, mode: PagingMode.Pae });
    expect(mapper.mapPages(0x1000, 0x5000, 1, RW)).toBe(true);
    expect(memory.read32(0x8020) & 1).toBe(1);
    expect(codeOf(() => new Mapper({ access, allocator, root: 0x8010, mode: PagingMode.Pae }))).toBe('E_MISALIGNED');
    expect(codeOf(() => new Mapper({ access, allocator, root: 2 ** 32, mode: PagingMode.Pae }))).toBe('E_INVALID_ADDRESS');
  });

  it('prints PDPT / PD / PT with 8-byte entries and 32-bit addresses', () => {
    const { mapper } = machinePae();
    mapper.mapPages(0xc000_0000, 0x20_0000, 1, RW | PTE.NoExecute);
    const text = mapper.formatWalk(0xc000_0000);
    expect(text.split('\n')[0]).toBe('walk of 0xc000_0000 (PAE paging)');
    expect(text).toMatch(/ {2}PDPT\[ {2}3\] @0x10_0018 = 0x0000_0000_0010_4001 -> table 0x10_4000 {2}P\n/);
    expect(text).toMatch(/ {2}PT {2}\[ {2}0\] @0x10_5000 = 0x8000_0000_0020_0003 -> 4K page 0x20_0000 {2}P RW NX$/);
    expect(mapper.formatMappings()).toBe('0xc000_0000-0xc000_1000 0x1000 -rw- 4K -> 0x20_0000');
  });
});
