// Workloads for compare-builds.ts, written against ONE build of the package: the Mapper's
// (bulk and one-page mapPages, software translate, map + unmap) and the MMU's in any paging mode
// (MODE = 32-bit | pae | 4-level | 5-level: hot set with the default TLB, and with the TLB off). The file is
// imported once per build under a different URL (`?build=a`, `?build=b`), so each build gets its
// own copy of these functions and every call site in them sees one Mapper class (a shared copy
// would be polymorphic and slow both builds down alike, hiding the difference).
import type * as Package from '../src/index';
import { buildModeTables, type BenchMode } from './mode-tables';
import { xorshift32 } from './random-tables';

type Build = typeof Package;

/** One timed unit of work: runs it and returns how many operations it did. */
export type Pass = () => number;

const RW = 0x8000_0003 | 0; // P | R/W | NX (PTE.Present | PTE.Writable | PTE.NoExecute)
const BASE = 0xffff_8800_0000_0000 - 0xffff_0000_0000_0000; // linear form of 0xffff_8800_0000_0000
const BULK_PAGES = 262_144; // 1 GiB of 4 KiB pages: 1 PML4 slot, 1 PDPT, 1 PD, 512 PTs
const ONE_CALLS = 65_536;
const TRANSLATIONS = 262_144;

/** Workload names {@link buildWorkload} knows. */
export const WORKLOADS = ['map-bulk', 'map-one', 'translate', 'map-unmap', 'mode-hot', 'mode-hot-walk'] as const;

/** The workload `name` of build `B` (set up now, so only what runs is built), or undefined. */
export function buildWorkload(B: Build, name: string): Pass | undefined {
  if (name === 'mode-hot' || name === 'mode-hot-walk') return modeHot(B, (process.env.MODE ?? '5-level') as BenchMode, name === 'mode-hot');
  return mapperWorkloads(B)[name];
}

/**
 * `Mmu.translate` (user reads) over 1,024 hot pages among 200,000 mappings of `mode`, as
 * modes.bench.ts runs it; 2^20 translations a pass. Same seed in both builds: same stream.
 */
function modeHot(B: Build, mode: BenchMode, tlbOn: boolean): Pass {
  const rand = xorshift32(0x9e3779b9);
  const memory = new B.ArrayBufferPhysicalMemory(32 << 20);
  const { regs, pages } = buildModeTables(B, mode, memory, 200_000, rand);
  const tlb = new B.Tlb();
  tlb.enabled = tlbOn;
  const mmu = new B.Mmu(memory, regs, { tlb });
  const hot = new Float64Array(1024);
  for (let i = 0; i < 1024; i++) hot[i] = pages[Math.floor(rand() * pages.length)]!;
  const stream = new Float64Array(1 << 20);
  for (let i = 0; i < stream.length; i++) stream[i] = hot[Math.floor(rand() * 1024)]! + Math.floor(rand() * 4096);
  return () => {
    let check = 0;
    for (let i = 0; i < stream.length; i++) check += mmu.translate(stream[i]!, 0, 3).pa;
    if (check === 0) throw new Error('unreachable');
    return stream.length;
  };
}

/** The Mapper workloads of one build: bulk and one-page `mapPages`, and software `translate`. */
function mapperWorkloads(B: Build): Record<string, Pass> {
  const memory = new B.ArrayBufferPhysicalMemory(8 * 1024 * 1024);
  const fresh = (): Package.Mapper => {
    const allocator = new B.SimpleFrameAllocator({ start: 0x10_0000, frameCount: 1500 });
    return B.Mapper.create({ access: new B.PhysicalTableAccess(memory), allocator })!;
  };
  // Software translate over a tree of its own (so the map passes cannot disturb it).
  const tMemory = new B.ArrayBufferPhysicalMemory(8 * 1024 * 1024);
  const tMapper = B.Mapper.create({ access: new B.PhysicalTableAccess(tMemory), allocator: new B.SimpleFrameAllocator({ start: 0x10_0000, frameCount: 1500 }) })!;
  tMapper.mapPages(BASE, 0x1_0000_0000, BULK_PAGES, RW);
  const order = new Float64Array(TRANSLATIONS);
  let x = 12345;
  for (let i = 0; i < TRANSLATIONS; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    order[i] = BASE + (x % BULK_PAGES) * 4096 + (i & 0xfff);
  }
  return {
    /** One `mapPages` call of 262,144 4 KiB pages on a fresh tree (creates 514 tables). */
    'map-bulk': () => {
      const mapper = fresh();
      if (!mapper.mapPages(BASE, 0x1_0000_0000, BULK_PAGES, RW)) throw new Error('oom');
      return BULK_PAGES;
    },
    /** 65,536 one-page `mapPages` calls on a fresh tree (a page-fault handler's pattern). */
    'map-one': () => {
      const mapper = fresh();
      for (let i = 0; i < ONE_CALLS; i++) mapper.mapPages(BASE + i * 4096, i * 4096, 1, RW);
      return ONE_CALLS;
    },
    /** 262,144 software `Mapper.translate` calls, random over 1 GiB of 4 KiB pages. */
    translate: () => {
      let sum = 0;
      for (let i = 0; i < TRANSLATIONS; i++) sum += tMapper.translate(order[i]!)!.pa;
      if (sum === 0) throw new Error('unreachable');
      return TRANSLATIONS;
    },
    /** The bulk map followed by one `unmapPages` of all 262,144 pages (freeing every table). */
    'map-unmap': () => {
      const mapper = fresh();
      mapper.mapPages(BASE, 0x1_0000_0000, BULK_PAGES, RW);
      mapper.unmapPages(BASE, BULK_PAGES);
      return BULK_PAGES;
    },
  };
}
