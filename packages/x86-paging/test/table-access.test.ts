import { describe, expect, it } from 'vitest';
import {
  ArrayBufferPhysicalMemory,
  Mapper,
  PTE,
  PageSize,
  PhysicalTableAccess,
  SimpleFrameAllocator,
  entryAddress,
  tableIndex,
  virt,
  type TableAccess,
} from '../src/index';

/**
 * A TableAccess that checks the context every call carries — the table's level, a va it serves
 * and its frame — against the real tree, as a recursive or windowed strategy would rely on.
 */
class CheckingAccess implements TableAccess {
  lo = 0;
  hi = 0;
  calls = 0;
  private readonly inner: PhysicalTableAccess;
  constructor(
    readonly memory: ArrayBufferPhysicalMemory,
    readonly root: () => number,
  ) {
    this.inner = new PhysicalTableAccess(memory);
  }
  private expectContext(level: number, va: number, tableFrame: number): void {
    this.calls++;
    let table = this.root();
    for (let l = 4; l > level; l--) {
      const pa = table + tableIndex(va, l) * 8;
      table = entryAddress(this.memory.read32(pa), this.memory.read32(pa + 4));
    }
    if (table !== tableFrame) throw new Error(`level ${level} table for va ${va.toString(16)} is ${table.toString(16)}, call said ${tableFrame.toString(16)}`);
  }
  readEntry(level: number, va: number, tableFrame: number, index: number): void {
    this.expectContext(level, va, tableFrame);
    this.inner.readEntry(level, va, tableFrame, index);
    this.lo = this.inner.lo;
    this.hi = this.inner.hi;
  }
  writeEntry(level: number, va: number, tableFrame: number, index: number, lo: number, hi: number): void {
    this.expectContext(level, va, tableFrame);
    this.inner.writeEntry(level, va, tableFrame, index, lo, hi);
  }
  zeroTable(level: number, va: number, tableFrame: number): void {
    if (level < 4) this.expectContext(level, va, tableFrame); // a new table is linked before it is zeroed
    this.inner.zeroTable(level, va, tableFrame);
  }
}

describe('TableAccess', () => {
  it('is told, on every call, the level, a va the table serves and the table frame, matching the live tree', () => {
    const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
    const allocator = new SimpleFrameAllocator({ start: 0x10_0000, frameCount: 600 });
    let root = -1;
    const access = new CheckingAccess(memory, () => root);
    root = allocator.allocFrame()!;
    const mapper = new Mapper({ access, allocator, root, memory });
    const k = virt('0xffff_8000_0000_0000');
    const RW = PTE.Present | PTE.Writable;
    expect(mapper.mapPages(k, 0, 700, RW)).toBe(true);
    expect(mapper.mapPages(k + 2 ** 30, 0, 3, RW, { pageSize: PageSize.Size2M })).toBe(true);
    expect(mapper.mapPages(k + 2 ** 31, 0, 1, RW, { pageSize: PageSize.Size1G })).toBe(true);
    expect(mapper.mapAllocated(0x1000, 5, RW)).toBe(true);
    expect(mapper.updateFlags(k + 2 ** 30 + 0x3000, 600, PTE.Present)).toBe(true);
    expect(mapper.unmapPages(k + 2 ** 31 + 0x5000, 3)).not.toBeNull();
    mapper.translate(k + 0x1000);
    mapper.walk(k + 2 ** 30);
    mapper.mappings();
    mapper.checkInvariants();
    expect(mapper.unmapPages(k, 3 * 2 ** 18)).not.toBeNull();
    expect(mapper.unmapPages(0x1000, 5)!.length).toBeGreaterThan(0);
    expect(mapper.tableFrameCount).toBe(0); // the root was given, not allocated by the mapper
    expect(access.calls).toBeGreaterThan(1000);
  });
});

describe('PhysicalTableAccess', () => {
  it('reads and writes entries as two little-endian u32 halves at frame + index * 8', () => {
    const memory = new ArrayBufferPhysicalMemory(8192);
    const a = new PhysicalTableAccess(memory);
    a.writeEntry(1, 0, 0x1000, 3, 0x1234_5007, 0x8000_0001);
    expect(memory.read32(0x1018)).toBe(0x1234_5007);
    expect(memory.read32(0x101c)).toBe(0x8000_0001);
    a.readEntry(1, 0, 0x1000, 3);
    expect([a.lo, a.hi]).toEqual([0x1234_5007, 0x8000_0001]);
    a.zeroTable(1, 0, 0x1000);
    a.readEntry(1, 0, 0x1000, 3);
    expect([a.lo, a.hi]).toEqual([0, 0]);
  });
});
