// One measurement of one virtual-allocation policy in its own process, for bench/va-policy.bench.ts.
//   node --conditions=@kmem/source --import tsx bench/va-policy-run.ts <first-fit|highest-allocation> <workload>
// Prints one JSON line (see `Run` in va-policy.bench.ts).
//
// The work is the same for both: a stream of allocations of 1-16 pages, each mapped at once
// (seed 004's policy finds free pages by asking the page tables, so what it hands out must be
// mapped before the next allocation), and frees of random live ranges (unmapped; first fit also
// gives the range back to its VirtualAllocator). The same xorshift sequence drives both.
import { VirtualAllocator } from '@kmem/virt-alloc';
import { ArrayBufferPhysicalMemory, Mapper, PTE, PhysicalTableAccess, SimpleFrameAllocator } from '@kmem/x86-paging';
import { HighestAllocation } from '../src/index';
import { xorshift } from './ab-runs';

const [policy, workload] = process.argv.slice(2);
const PAGE = 4096;
const BASE = 0x1000_0000;
/** The area both policies allocate in: 16 MiB, 4096 pages. */
const AREA_PAGES = 4096;
const FLAGS = PTE.Present | PTE.Writable | PTE.User | PTE.NoExecute;

const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
const mapper = Mapper.create({ access: new PhysicalTableAccess(memory), allocator: new SimpleFrameAllocator({ start: 0x10_0000, frameCount: 1024 }) })!;
const firstFit = new VirtualAllocator({ start: BASE, end: BASE + AREA_PAGES * PAGE });
const highest = new HighestAllocation(mapper, BASE, BASE + AREA_PAGES * PAGE);
const alloc = (sizeBytes: number): number | null => (policy === 'first-fit' ? firstFit.alloc(sizeBytes) : highest.alloc(sizeBytes));

const rand = xorshift();

/** Live ranges as [va, pageCount]; pages ever handed out (address reuse). */
const live: [number, number][] = [];
const everUsed = new Uint8Array(AREA_PAGES);
let livePages = 0;
let allocations = 0;
let failed = 0;
let reused = 0;

function allocOne(): void {
  const pages = 1 + rand(16);
  const va = alloc(pages * PAGE);
  allocations++;
  if (va === null) {
    failed++;
    return;
  }
  const first = (va - BASE) / PAGE;
  if (everUsed[first] === 1) reused++;
  for (let p = first; p < first + pages; p++) everUsed[p] = 1;
  if (!mapper.mapPages(va, 0x40_0000, pages, FLAGS)) throw new Error('bench: out of table frames');
  live.push([va, pages]);
  livePages += pages;
}

function freeOne(): void {
  const k = rand(live.length);
  const [va, pages] = live[k]!;
  live[k] = live[live.length - 1]!;
  live.pop();
  livePages -= pages;
  mapper.unmapPages(va, pages);
  if (policy === 'first-fit') firstFit.free(va, pages * PAGE);
}

const c0 = process.cpuUsage();
const t0 = performance.now();
let ops = 0;
if (workload === 'grow') {
  // Allocate until the area is full: the watermark's best case (no search, no bookkeeping).
  while (failed === 0) {
    allocOne();
    ops++;
  }
} else {
  // Churn around half occupancy: after the watermark reaches
  // the end, seed 004's policy searches the page tables from the bottom for every allocation.
  const target = AREA_PAGES / 2;
  for (; ops < 3000; ops++) {
    if (livePages < target || live.length === 0) allocOne();
    else freeOne();
  }
}
const u = process.cpuUsage(c0);
const wallSeconds = (performance.now() - t0) / 1000;

// Fragmentation at the end, from the page tables (the truth for both policies).
let freePages = 0;
let largestFreeRun = 0;
let run = 0;
for (let p = 0; p < AREA_PAGES; p++) {
  if (mapper.translate(BASE + p * PAGE) === null) {
    freePages++;
    run++;
    if (run > largestFreeRun) largestFreeRun = run;
  } else run = 0;
}
mapper.checkInvariants();
const stats = highest.stats();
console.log(
  JSON.stringify({
    policy,
    workload,
    ops,
    allocations,
    failed,
    reusedFraction: allocations === failed ? 0 : reused / (allocations - failed),
    cpuSeconds: (u.user + u.system) / 1e6,
    wallSeconds,
    freePages,
    largestFreeRun,
    fallbackAllocations: stats.fallbackAllocations,
    walks: stats.walks,
  }),
);
