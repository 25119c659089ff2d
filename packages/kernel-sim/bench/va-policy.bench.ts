// Seed 004's "highest allocation" policy (HighestAllocation: a watermark, then a first-fit search
// of the page tables) against virt-alloc's first fit (VirtualAllocator), on the same work: each
// (policy, workload) in its own process, the two policies alternating, rounds repeated, medians of
// CPU time (process.cpuUsage) and wall time. The machine is shared: the load average is printed.
//   node --conditions=@kmem/source --import tsx bench/va-policy.bench.ts   (VA_BENCH_ROUNDS=3)
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { median, runAlternating } from './ab-runs';

interface Run {
  policy: string;
  workload: string;
  ops: number;
  allocations: number;
  failed: number;
  reusedFraction: number;
  cpuSeconds: number;
  wallSeconds: number;
  freePages: number;
  largestFreeRun: number;
  fallbackAllocations: number;
  walks: number;
}

const script = fileURLToPath(new URL('va-policy-run.ts', import.meta.url));
const rounds = Number(process.env.VA_BENCH_ROUNDS ?? 3);
const workloads = ['grow', 'churn'];
const policies = ['first-fit', 'highest-allocation'];

const load0 = loadavg()[0]!;
const runs = runAlternating<Run>(script, policies, workloads, rounds);
console.log(`virtual allocation: first fit vs seed 004's highest allocation, 16 MiB area, ${rounds} rounds, medians; load average ${load0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`);
console.log('| workload | policy | allocations / CPU-second | CPU ms | wall ms | failed | reused addresses | free pages (largest run) | fallbacks | table walks |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const w of workloads) {
  for (const p of policies) {
    const rs = runs.filter((r) => r.workload === w && r.policy === p);
    const cpu = median(rs.map((r) => r.cpuSeconds));
    const wall = median(rs.map((r) => r.wallSeconds));
    const last = rs[rs.length - 1]!; // the work is deterministic: counts are equal in every round
    const cols = [w, p, Math.round(last.allocations / cpu).toLocaleString('en-US'), (cpu * 1000).toFixed(1), (wall * 1000).toFixed(1), last.failed, `${(last.reusedFraction * 100).toFixed(0)} %`, `${last.freePages} (${last.largestFreeRun})`, p === 'first-fit' ? '-' : last.fallbackAllocations, p === 'first-fit' ? '-' : last.walks.toLocaleString('en-US')];
    console.log(`| ${cols.join(' | ')} |`);
  }
}
