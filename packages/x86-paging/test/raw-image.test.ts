// Is the raw physical image the whole truth? Tables built by the Mapper are exported as bytes,
// loaded into a different memory, and walked there by the MMU alone: same translations.
import { describe, expect, it } from 'vitest';
import { Access, ArrayBufferPhysicalMemory, ControlRegisters, Mapper, Mmu, Mode, PTE, PageSize, PhysicalTableAccess, SimpleFrameAllocator, virt } from '../src/index';

describe('ArrayBufferPhysicalMemory.exportBytes', () => {
  it('carries page tables that translate the same after loading elsewhere', () => {
    const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
    const allocator = new SimpleFrameAllocator({ start: 0x10_0000, frameCount: 512 });
    const mapper = Mapper.create({ access: new PhysicalTableAccess(memory), allocator })!;
    const k = virt('0xffff_8000_0000_0000');
    mapper.mapRange(k, 0, 1 << 30, PTE.Writable | PTE.Global);
    mapper.mapPages(0x40_0000, 0x1234_5000, 3, PTE.Writable | PTE.User | PTE.NoExecute);
    mapper.mapPages(virt('0xffff_ffff_c000_0000'), 2 ** 40, 1, PTE.Present, { pageSize: PageSize.Size1G });

    const copy = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
    copy.importBytes(0, memory.exportBytes());
    const mmu = new Mmu(copy, new ControlRegisters({ cr3Frame: mapper.root }));
    for (const va of [k, k + 0x1f_ffff, k + 0x3fff_f000, 0x40_0000, 0x40_2fff, virt('0xffff_ffff_c123_4567'), 0x40_3000, 0]) {
      const r = mmu.translate(va, Access.Read, Mode.Supervisor);
      const t = mapper.translate(va);
      expect(r.fault).toBe(t === null);
      if (t !== null) expect([r.pa, r.pageSizeBytes]).toEqual([t.pa, t.pageSizeBytes]);
    }
  });
});
