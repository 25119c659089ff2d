// Seed 001's region-list physical allocator against pmm-bitmap's bitmap, on a 4 GiB PC map: each
// (allocator, workload) in its own process, the two allocators alternating, rounds repeated,
// medians of CPU time (process.cpuUsage) and wall time. The machine is shared: the load average
// is printed with the figures.
//   node --conditions=@kmem/source --import tsx bench/pmm-region-list.bench.ts   (PMM_BENCH_ROUNDS=3)
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { median, runAlternating } from './ab-runs';

interface Run {
  allocator: string;
  workload: string;
  ops: number;
  cpuSeconds: number;
  wallSeconds: number;
  regionCount: number;
  bookkeepingBytes: number;
}

const script = fileURLToPath(new URL('pmm-run.ts', import.meta.url));
const rounds = Number(process.env.PMM_BENCH_ROUNDS ?? 3);
const workloads = ['sequential', 'churn', 'dma'];
const allocators = ['bitmap', 'region-list'];

const load0 = loadavg()[0]!;
const runs = runAlternating<Run>(script, allocators, workloads, rounds);
console.log(`pmm: bitmap vs region list, 4 GiB PC map, ${rounds} rounds, medians; load average ${load0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`);
console.log('| workload | allocator | ops / CPU-second | CPU ms | wall ms | regions | bookkeeping bytes |');
console.log('|---|---|---|---|---|---|---|');
for (const w of workloads) {
  for (const a of allocators) {
    const rs = runs.filter((r) => r.workload === w && r.allocator === a);
    const cpu = median(rs.map((r) => r.cpuSeconds));
    const wall = median(rs.map((r) => r.wallSeconds));
    const last = rs[rs.length - 1]!;
    console.log(`| ${w} | ${a} | ${Math.round(last.ops / cpu).toLocaleString('en-US')} | ${(cpu * 1000).toFixed(1)} | ${(wall * 1000).toFixed(1)} | ${a === 'bitmap' ? '-' : last.regionCount} | ${last.bookkeepingBytes.toLocaleString('en-US')} |`);
  }
}
