// Does the bulk leaf writer (strategy (a) writes a run of 4 KiB leaves straight into the table's
// words) leave exactly the bytes the per-entry `writeEntry` path leaves, in every paging mode, and
// does a subclass of PhysicalTableAccess still see every write?
import { describe, expect, it } from 'vitest';
import { ArrayBufferPhysicalMemory, Mapper, PTE, PagingMode, PhysicalTableAccess, SimpleFrameAllocator } from '../src/index';

/** Strategy (a) with every write counted: a subclass, so the Mapper must call its writeEntry. */
class CountingAccess extends PhysicalTableAccess {
  writes = 0;
  override writeEntry(level: number, va: number, tableFrame: number, index: number, lo: number, hi: number): void {
    this.writes++;
    super.writeEntry(level, va, tableFrame, index, lo, hi);
  }
}

const MODES = [
  { name: '32-bit', mode: PagingMode.ThirtyTwoBit, va: 0x0804_7000, pa: 0x8000_0000, flags: PTE.Writable | PTE.User | PTE.Global },
  { name: 'PAE', mode: PagingMode.Pae, va: 0xb000_0000, pa: 0x3_fff0_0000, flags: PTE.Writable | PTE.NoExecute },
  { name: '4-level', mode: PagingMode.FourLevel, va: 0x7fff_ff00_0000, pa: 0xf_ffff_e000, flags: PTE.Writable | PTE.NoExecute | PTE.Avail9 },
  { name: '5-level', mode: PagingMode.FiveLevel, va: 2 ** 52, pa: 0x1_0000_0000, flags: PTE.User | PTE.WriteThrough },
] as const;

describe('Mapper.mapPages (bulk 4 KiB leaves)', () => {
  for (const { name, mode, va, pa, flags } of MODES) {
    it(`writes the same bytes through strategy (a) as through a subclass's writeEntry (${name})`, () => {
      // 1,500 pages: crosses page tables, and in PAE a multiple of 2^32 in pa (the low word wraps).
      const pageCount = 1500;
      const run = (access: (m: ArrayBufferPhysicalMemory) => PhysicalTableAccess): { memory: ArrayBufferPhysicalMemory; access: PhysicalTableAccess } => {
        const memory = new ArrayBufferPhysicalMemory(4 * 1024 * 1024);
        const a = access(memory);
        const mapper = Mapper.create({ access: a, allocator: new SimpleFrameAllocator({ start: 0x10_0000, frameCount: 64 }), mode })!;
        expect(mapper.mapPages(va, pa, pageCount, flags)).toBe(true);
        expect(mapper.translate(va + 1499 * 4096 + 5)!.pa).toBe(pa + 1499 * 4096 + 5);
        mapper.checkInvariants();
        return { memory, access: a };
      };
      const direct = run((m) => new PhysicalTableAccess(m, { mode }));
      const counted = run((m) => new CountingAccess(m, { mode }));
      expect((counted.access as CountingAccess).writes).toBeGreaterThanOrEqual(pageCount);
      expect(Buffer.from(direct.memory.bytes).equals(Buffer.from(counted.memory.bytes))).toBe(true);
    });
  }
});
