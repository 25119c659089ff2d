// Mapper workloads for compare-builds.ts, written against ONE build of the package. The file is
// imported once per build under a different URL (`?build=a`, `?build=b`), so each build gets its
// own copy of these functions and every call site in them sees one Mapper class (a shared copy
// would be polymorphic and slow both builds down alike, hiding the difference).
import type * as Package from '../src/index';

type Build = typeof Package;

/** One timed unit of work: runs it and returns how many operations it did. */
export type Pass = () => number;

const RW = 0x8000_0003 | 0; // P | R/W | NX (PTE.Present | PTE.Writable | PTE.NoExecute)
const BASE = 0xffff_8800_0000_0000 - 0xffff_0000_0000_0000; // linear form of 0xffff_8800_0000_0000
const BULK_PAGES = 262_144; // 1 GiB of 4 KiB pages: 1 PML4 slot, 1 PDPT, 1 PD, 512 PTs
const ONE_CALLS = 65_536;
const TRANSLATIONS = 262_144;

/** The Mapper workloads of one build: bulk and one-page `mapPages`, and software `translate`. */
export function mapperWorkloads(B: Build): Record<string, Pass> {
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
