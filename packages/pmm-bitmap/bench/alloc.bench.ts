// Runs the workloads (bench/workloads.ts) for each implementation in its own process, so the JIT
// does not blur them, then prints ops/s side by side with the ratios of @kmem/pmm-bitmap to each peer.
//   pnpm --filter @kmem/pmm-bitmap bench            (about two minutes)
//   pnpm --filter @kmem/pmm-bitmap bench -- --quick (shorter budgets)
//   pnpm --filter @kmem/pmm-bitmap bench -- --full-peers (fast-bitfield on every workload: its
//     run search goes frame by frame, so its run phases take many minutes)
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Result } from './workloads';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2).filter((a) => a !== '--full-peers');
const fullPeers = process.argv.includes('--full-peers');
const impls = ['impl-pmm-bitmap.ts', 'impl-flat-bitmap.ts', 'impl-fast-bitfield.ts'];
// fast-bitfield has no usable "next used bit" (see impl-fast-bitfield.ts), so runs are searched
// frame by frame; by default it runs the single-frame workloads only and its run cells print '-'.
const FAST_BITFIELD_DEFAULT = '--only=fill,churn95,churn9999,churn95_4g';
const results: Result[] = [];
for (const file of impls) {
  const implArgs =
    file === 'impl-fast-bitfield.ts' && !fullPeers && !args.some((a) => a.startsWith('--only=')) ? [...args, FAST_BITFIELD_DEFAULT] : args;
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, file), ...implArgs], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(r.status ?? 1);
  }
  const line = r.stdout.trim().split('\n').pop()!;
  console.error(`raw: ${line}`);
  results.push(JSON.parse(line) as Result);
}

const rows: [string, string, string][] = [
  ['fill', 'fill: allocate every frame in turn', 'frames/s'],
  ['churn95', 'churn at 95% used: free random + alloc', 'pairs/s'],
  ['churn9999', 'churn at 99.99% used', 'pairs/s'],
  ['churn95_4g', 'churn at 95% used, 4 GiB (bitmap in cache)', 'pairs/s'],
  ['small16m', 'runs of 1..32 frames, align 1..16, < 16 MiB', 'allocs/s'],
  ['huge2m_0', '512-frame 2 MiB-aligned runs, 0% blocks pinned', 'runs/s'],
  ['huge2m_50', '  ... lowest 50% of blocks pinned', 'runs/s'],
  ['huge2m_90', '  ... lowest 90% of blocks pinned', 'runs/s'],
  ['huge2m_99', '  ... lowest 99% of blocks pinned', 'runs/s'],
  ['frommap_cold_ms', 'fromMemoryMap 64 GiB, first call', 'ms'],
  ['frommap_ms', 'fromMemoryMap 64 GiB, median of 7', 'ms'],
];

function fmt(x: number, unit: string): string {
  if (unit === 'ms') return x.toFixed(1);
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

const [ours, ...peers] = results as [Result, ...Result[]];
console.log('N = 16,777,216 frames (64 GiB) unless said. Each cell: by CPU time / by wall time.\n');
const head = ['workload', 'unit', ...results.map((r) => r.name), ...peers.map((p) => `ours ÷ ${p.name} (cpu)`)];
const lines = [head];
for (const [key, label, unit] of rows) {
  if (results.every((r) => r.figures[key] === undefined)) continue; // not picked by --only
  const cells = results.map((r) => {
    const v = r.figures[key];
    return v === undefined ? '-' : `${fmt(v[0], unit)} / ${fmt(v[1], unit)}`;
  });
  const ratios = peers.map((p) => {
    if (ours.figures[key] === undefined || p.figures[key] === undefined) return '-';
    const a = ours.figures[key][0];
    const b = p.figures[key][0];
    const ratio = unit === 'ms' ? b / a : a / b;
    return `${ratio.toFixed(2)}x`;
  });
  lines.push([label, unit, ...cells, ...ratios]);
}
const widths = head.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
for (const l of lines) console.log(`| ${l.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`);
console.log('\n(ms rows: ratio is peer time ÷ our time, so > 1 means we are faster everywhere.)');
