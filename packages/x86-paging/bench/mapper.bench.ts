// Mapper throughput on strategy (a) (PhysicalTableAccess over ArrayBufferPhysicalMemory).
// Floors from issue 5: mapPages 4 KiB ≥ 2 M pages/s; 64 GiB of 1 GiB pages and 4 GiB of 2 MiB
// pages each < 10 ms. Every figure is the best of several runs (the machine is shared).
import { ArrayBufferPhysicalMemory, Mapper, PTE, PageSize, PhysicalTableAccess, SimpleFrameAllocator, virt } from '@kmem/x86-paging';

const RW = PTE.Present | PTE.Writable | PTE.NoExecute;
const BASE = virt('0xffff_8800_0000_0000');
const memory = new ArrayBufferPhysicalMemory(32 * 1024 * 1024);

function fresh(): { mapper: Mapper; allocator: SimpleFrameAllocator } {
  const allocator = new SimpleFrameAllocator({ start: 0x10_0000, frameCount: 7000 });
  const mapper = Mapper.create({ access: new PhysicalTableAccess(memory), allocator })!;
  return { mapper, allocator };
}

function best(runs: number, body: () => number): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) min = Math.min(min, body());
  return min;
}

function line(name: string, value: string): void {
  console.log(`${name.padEnd(58)} ${value}`);
}

// 1. One call mapping 1,048,576 contiguous 4 KiB pages (4 GiB, ~2,050 new tables).
const PAGES = 1 << 20;
let ms = best(5, () => {
  const { mapper } = fresh();
  const t0 = performance.now();
  if (!mapper.mapPages(BASE, 0x1_0000_0000, PAGES, RW)) throw new Error('oom');
  return performance.now() - t0;
});
line('mapPages 4 KiB, one call of 1,048,576 pages', `${((PAGES / ms) * 1000 / 1e6).toFixed(2)} M pages/s (${ms.toFixed(1)} ms)`);

// 2. The same pages mapped one call each (a page-fault handler's pattern), tables created on the way.
ms = best(3, () => {
  const { mapper } = fresh();
  const t0 = performance.now();
  for (let i = 0; i < PAGES; i++) mapper.mapPages(BASE + i * 4096, i * 4096, 1, RW);
  return performance.now() - t0;
});
line('mapPages 4 KiB, 1,048,576 calls of 1 page', `${((PAGES / ms) * 1000 / 1e6).toFixed(2)} M pages/s (${ms.toFixed(1)} ms)`);

// 3. unmapPages of the 1 M pages in one call, freeing every table.
ms = best(3, () => {
  const { mapper } = fresh();
  mapper.mapPages(BASE, 0x1_0000_0000, PAGES, RW);
  const t0 = performance.now();
  mapper.unmapPages(BASE, PAGES);
  const dt = performance.now() - t0;
  if (mapper.tableFrameCount !== 1) throw new Error('tables leaked');
  return dt;
});
line('unmapPages 4 KiB, one call of 1,048,576 pages (frees tables)', `${((PAGES / ms) * 1000 / 1e6).toFixed(2)} M pages/s (${ms.toFixed(1)} ms)`);

// 4. 64 GiB with 1 GiB pages; 5. 4 GiB with 2 MiB pages (fresh tree each time).
ms = best(20, () => {
  const { mapper } = fresh();
  const t0 = performance.now();
  mapper.mapPages(BASE, 0, 64, RW, { pageSize: PageSize.Size1G });
  return performance.now() - t0;
});
line('mapPages 64 GiB as 1 GiB pages', `${ms.toFixed(3)} ms`);
ms = best(20, () => {
  const { mapper } = fresh();
  const t0 = performance.now();
  mapper.mapPages(BASE, 0, 2048, RW, { pageSize: PageSize.Size2M });
  return performance.now() - t0;
});
line('mapPages 4 GiB as 2 MiB pages', `${ms.toFixed(3)} ms`);
ms = best(20, () => {
  const { mapper } = fresh();
  const t0 = performance.now();
  mapper.mapRange(BASE, 0, 64 * 2 ** 30 + 2 ** 21 + 4096, RW);
  return performance.now() - t0;
});
line('mapRange 64 GiB + 2 MiB + 4 KiB (mixed page sizes)', `${ms.toFixed(3)} ms`);

// 6. Software translate over the 1 M mapped pages (random order).
{
  const { mapper } = fresh();
  mapper.mapPages(BASE, 0x1_0000_0000, PAGES, RW);
  const order = new Float64Array(PAGES);
  let x = 12345;
  for (let i = 0; i < PAGES; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    order[i] = BASE + (x % PAGES) * 4096 + (i & 0xfff);
  }
  ms = best(5, () => {
    let sum = 0;
    const t0 = performance.now();
    for (let i = 0; i < PAGES; i++) sum += mapper.translate(order[i]!)!.pa;
    const dt = performance.now() - t0;
    if (sum === 0) throw new Error('unreachable');
    return dt;
  });
  line('Mapper.translate (software walk), random over 1 M pages', `${((PAGES / ms) * 1000 / 1e6).toFixed(2)} M/s`);
}
