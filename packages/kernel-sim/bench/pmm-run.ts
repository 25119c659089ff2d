// One measurement of one physical allocator in its own process, for bench/pmm-region-list.bench.ts.
//   node --conditions=@kmem/source --import tsx bench/pmm-run.ts <bitmap|region-list> <workload>
// Prints one JSON line: { allocator, workload, ops, cpuSeconds, wallSeconds, regionCount, bookkeepingBytes }.
import { BitmapFrameAllocator } from '@kmem/pmm-bitmap';
import { RegionListFrameAllocator } from '../src/index';
import { pcMap } from './pc-map';
import { xorshift } from './ab-runs';

const [allocator, workload] = process.argv.slice(2);
const GiB = 1024 ** 3;
const map = pcMap(4 * GiB);
type Pmm = BitmapFrameAllocator | RegionListFrameAllocator;
const make = (): Pmm => (allocator === 'region-list' ? RegionListFrameAllocator.fromMemoryMap(map) : BitmapFrameAllocator.fromMemoryMap(map));
const bookkeeping = (p: Pmm): number => (p instanceof RegionListFrameAllocator ? p.bookkeepingBytes : p.bitmapBytes);
const regions = (p: Pmm): number => (p instanceof RegionListFrameAllocator ? p.regionCount : 0);

// xorshift32: the same pseudo-random sequence for both allocators.
const rand = xorshift();

function timed(fn: () => number): { ops: number; cpuSeconds: number; wallSeconds: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const ops = fn();
  const u = process.cpuUsage(c0);
  return { ops, cpuSeconds: (u.user + u.system) / 1e6, wallSeconds: (performance.now() - t0) / 1000 };
}

/** `count` frames allocated one by one, then every `holeEvery`-th given back (a fragmented machine). */
function fragment(p: Pmm, count: number, holeEvery: number): number[] {
  const held: number[] = [];
  for (let i = 0; i < count; i++) held.push(p.allocFrame()!);
  const kept: number[] = [];
  for (let i = 0; i < held.length; i++) if (i % holeEvery === 0) p.freeFrame(held[i]!);
  else kept.push(held[i]!);
  return kept;
}

const pmm = make();
let result: { ops: number; cpuSeconds: number; wallSeconds: number };
if (workload === 'sequential') {
  // 256k frames (1 GiB) allocated then freed in order: the list stays a handful of regions.
  result = timed(() => {
    const held = new Float64Array(262_144);
    for (let r = 0; r < 4; r++) {
      for (let i = 0; i < held.length; i++) held[i] = pmm.allocFrame()!;
      for (let i = 0; i < held.length; i++) pmm.freeFrame(held[i]!);
    }
    return 8 * held.length;
  });
} else if (workload === 'churn') {
  // 64k frames taken, every 8th given back (8k holes), then random frees each followed by an
  // allocation (which fills the lowest hole): holes everywhere, as after uptime.
  const held = fragment(pmm, 65_536, 8);
  result = timed(() => {
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const k = rand(held.length);
      pmm.freeFrame(held[k]!);
      held[k] = pmm.allocFrame()!;
    }
    return 2 * n;
  });
} else if (workload === 'dma') {
  // Contiguous runs on a fragmented machine (every 4th of 64k frames free): 16 frames 64 KiB
  // aligned and 512 frames 2 MiB aligned (a huge page), both below 4 GiB (DMA32).
  fragment(pmm, 65_536, 4);
  result = timed(() => {
    const n = 2_000;
    for (let i = 0; i < n; i++) {
      const a = pmm.allocContiguous(16, { alignBytes: 65_536, maxAddr: 4 * GiB });
      const b = pmm.allocContiguous(512, { alignBytes: 2 * 1024 * 1024, maxAddr: 4 * GiB });
      if (a === null || b === null) throw new Error('no contiguous run');
      pmm.freeContiguous(a, 16);
      pmm.freeContiguous(b, 512);
    }
    return 4 * n;
  });
} else throw new Error(`unknown workload ${String(workload)}`);
pmm.checkInvariants();
console.log(JSON.stringify({ allocator, workload, ...result, opsPerCpuSecond: result.ops / result.cpuSeconds, regionCount: regions(pmm), bookkeepingBytes: bookkeeping(pmm) }));
