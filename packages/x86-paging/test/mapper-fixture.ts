// Test helper: a small machine (flat memory, a frame allocator for tables, a Mapper over strategy (a)).
import { ArrayBufferPhysicalMemory, FOUR_LEVEL_GEOMETRY, Mapper, PhysicalTableAccess, SimpleFrameAllocator, TableAccessFaultError, type MapperCreateOptions, type PagingGeometry, type TableAccess, type TlbInvalidator } from '../src/index';

/** Records every invlpg the mapper issues. */
export class RecordingTlb implements TlbInvalidator {
  readonly invalidated: number[] = [];
  invlpg(va: number): void {
    this.invalidated.push(va);
  }
}

export interface Machine {
  memory: ArrayBufferPhysicalMemory;
  allocator: SimpleFrameAllocator;
  access: PhysicalTableAccess;
  mapper: Mapper;
  tlb: RecordingTlb;
}

/** 8 MiB of RAM; table frames from [1 MiB, 1 MiB + frameCount * 4 KiB). */
export function machine(frameCount = 512, extra: Partial<MapperCreateOptions> = {}): Machine {
  const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
  const allocator = new SimpleFrameAllocator({ start: 0x10_0000, frameCount });
  const access = new PhysicalTableAccess(memory);
  const tlb = new RecordingTlb();
  const mapper = Mapper.create({ access, allocator, tlb, ...extra })!;
  return { memory, allocator, access, mapper, tlb };
}

/** Reads the raw 64-bit entry at `pa` as [lo, hi]. */
export function rawEntry(memory: ArrayBufferPhysicalMemory, pa: number): [number, number] {
  return [memory.read32(pa), memory.read32(pa + 4)];
}

/** A cheap fingerprint of all of memory (deep-equal on 8 MiB arrays is far too slow). */
export function snapshot(memory: ArrayBufferPhysicalMemory): string {
  let h1 = 0x811c9dc5;
  let h2 = 0;
  const w = memory.words;
  for (let i = 0; i < w.length; i++) {
    const v = w[i]!;
    if (v !== 0) {
      h1 = Math.imul(h1 ^ v, 16777619) ^ i;
      h2 = (h2 + Math.imul(v, i + 1)) | 0;
    }
  }
  return `${h1 >>> 0}:${h2 >>> 0}`;
}

/**
 * Every non-zero entry of the tree under `root`, read physically, as `level:table:index:lo:hi`
 * (tables followed through present non-huge entries; `skipPml4Slots` left out, e.g. a window area).
 */
export function treeDump(memory: ArrayBufferPhysicalMemory, root: number, skipPml4Slots: readonly number[] = [], geometry: PagingGeometry = FOUR_LEVEL_GEOMETRY): string[] {
  const g = geometry;
  const out: string[] = [];
  const visit = (level: number, table: number): void => {
    for (let i = 0; i < g.entryCount(level); i++) {
      if (level === g.topLevel && skipPml4Slots.includes(i)) continue;
      const at = table + i * g.entryBytes;
      const lo = memory.read32(at);
      const hi = g.entryBytes === 8 ? memory.read32(at + 4) : 0;
      if ((lo | hi) === 0) continue;
      out.push(`${level}:${table.toString(16)}:${i}:${lo.toString(16)}:${hi.toString(16)}`);
      const huge = ((g.hugeLevels >>> level) & 1) !== 0 && (lo & 0x80) !== 0;
      if ((lo & 1) !== 0 && level > 1 && !huge) visit(level - 1, (hi & 0xfffff) * 2 ** 32 + ((lo & 0xffff_f000) >>> 0));
    }
  };
  visit(g.topLevel, root);
  return out;
}

/**
 * A TableAccess that forwards to `inner` and throws a TableAccessFaultError on access number
 * `failAt` (1-based; reads, writes and zeroings all count) — and on every later one if
 * `persistent` — as strategies (b)-(d) do when their access faults.
 */
export class FaultyTableAccess implements TableAccess {
  /** The inner access's entry size. */
  get entryBytes(): number {
    return this.inner.entryBytes ?? 8;
  }
  lo = 0;
  hi = 0;
  count = 0;
  failAt = Number.POSITIVE_INFINITY;
  persistent = false;
  constructor(readonly inner: TableAccess) {}

  /** Fails access number `count + n` (n ≥ 1) from now on. */
  failAfter(n: number, persistent = false): void {
    this.failAt = this.count + n;
    this.persistent = persistent;
  }

  disarm(): void {
    this.failAt = Number.POSITIVE_INFINITY;
    this.persistent = false;
  }

  private tick(va: number, level: number): void {
    this.count++;
    if (this.count === this.failAt || (this.persistent && this.count > this.failAt)) throw new TableAccessFaultError(va, 0, level, 'injected');
  }

  readEntry(level: number, va: number, tableFrame: number, index: number): void {
    this.tick(va, level);
    this.inner.readEntry(level, va, tableFrame, index);
    this.lo = this.inner.lo;
    this.hi = this.inner.hi;
  }

  writeEntry(level: number, va: number, tableFrame: number, index: number, lo: number, hi: number): void {
    this.tick(va, level);
    this.inner.writeEntry(level, va, tableFrame, index, lo, hi);
  }

  zeroTable(level: number, va: number, tableFrame: number): void {
    this.tick(va, level);
    this.inner.zeroTable(level, va, tableFrame);
  }
}

export interface FaultyMachine {
  memory: ArrayBufferPhysicalMemory;
  allocator: SimpleFrameAllocator;
  access: FaultyTableAccess;
  mapper: Mapper;
  tlb: RecordingTlb;
}

/**
 * As {@link machine}, with the Mapper reaching its tables through a {@link FaultyTableAccess}
 * (and given the memory as its `memory` option if `withMemory`).
 */
export function faultyMachine(frameCount = 512, extra: Partial<MapperCreateOptions> = {}, withMemory = false): FaultyMachine {
  const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
  const allocator = new SimpleFrameAllocator({ start: 0x10_0000, frameCount });
  const access = new FaultyTableAccess(new PhysicalTableAccess(memory));
  const tlb = new RecordingTlb();
  const mapper = Mapper.create({ access, allocator, tlb, ...(withMemory ? { memory } : {}), ...extra })!;
  return { memory, allocator, access, mapper, tlb };
}
