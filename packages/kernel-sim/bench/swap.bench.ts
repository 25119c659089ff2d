// Swap speed. (1) Demand paging without memory pressure, A/B: the build given as BASE (a
// kernel-sim dist from before swap, e.g. a worktree of an older commit after `npx tsup`) against
// this package's dist, swap off and swap on, each run in its own process, alternating, medians
// of the runs (the machine is shared). (2) Under pressure: Clock evicting and swapping in on
// every access. Build first: `npx tsup`.
//
//   SWAP_BENCH_BASE=/path/to/old/kernel-sim/dist/index.js node --import tsx bench/swap.bench.ts
//   (SWAP_BENCH_VIA=cpu: the faults through Cpu.read8; SWAP_BENCH_ROUNDS, default 5)
//   (or both builds as bundles of the sources:
//    esbuild src/index.ts --bundle --format=esm --platform=node --conditions=@kmem/source --outfile=/tmp/new/index.mjs
//    SWAP_BENCH_MINE=/tmp/new/index.mjs SWAP_BENCH_BASE=/tmp/old/index.mjs node --import tsx bench/swap.bench.ts)
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
// This build: dist/ by default, or SWAP_BENCH_MINE (e.g. an esbuild bundle of src/ when the
// packages it imports have no dist/ yet).
const mine = process.env.SWAP_BENCH_MINE ?? fileURLToPath(new URL('../dist/index.js', import.meta.url));
const base = process.env.SWAP_BENCH_BASE;
const rounds = Number(process.env.SWAP_BENCH_ROUNDS ?? 5);
const N = 100_000;

interface Run {
  variant: string;
  cpuSeconds: number;
  wallSeconds: number;
  faultsPerCpuSecond?: number;
  pagesMovedPerCpuSecond?: number;
  swapInsPerCpuSecond?: number;
  swappedIn?: number;
  evicted?: number;
}

function run(entry: string, variant: string, count: number): Run {
  const r = spawnSync(process.execPath, [`${here}swap-run.mjs`, entry, variant, String(count)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Run;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(11);
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${rounds} rounds, alternating processes`);
// SWAP_BENCH_VIA=cpu: the faults through Cpu.read8, as bench/fault.bench.ts measures demand
// paging; default: Process.touch, the checked user access that also advances the swap clock.
const via = process.env.SWAP_BENCH_VIA === 'cpu' ? 'cpu-' : '';
const cases: [string, string, string][] = [
  ...(base === undefined ? [] : [['before (BASE build)', base, `${via}demand`] as [string, string, string]]),
  ...(base === undefined || process.env.SWAP_BENCH_BASE_ON === undefined ? [] : [['before (BASE build), swap on', base, `${via}demand-swap-on`] as [string, string, string]]),
  ['after, swap off', mine, `${via}demand`],
  ['after, swap on, no pressure', mine, `${via}demand-swap-on`],
];
console.log(`faults through ${via === '' ? 'Process.touch' : 'Cpu.read8'}`);
const results = new Map<string, number[]>(cases.map(([label]) => [label, []]));
const walls = new Map<string, number[]>(cases.map(([label]) => [label, []]));
for (let r = 0; r < rounds; r++) {
  // The order reverses every other round, so no case always runs first or last.
  for (const [label, entry, variant] of r % 2 === 0 ? cases : [...cases].reverse()) {
    const x = run(entry, variant, N);
    results.get(label)!.push(x.faultsPerCpuSecond!);
    walls.get(label)!.push(N / x.wallSeconds);
  }
}
const ref = median(results.get(cases[0]![0])!);
for (const [label] of cases) {
  const m = median(results.get(label)!);
  console.log(`demand-paging faults (read first touch, ${N} pages), ${label.padEnd(30)} ${fmt(m)} faults/CPU-s (median; ${(m / ref).toFixed(3)} of ${cases[0]![0]})`);
}
// The speed floor: swap on against swap off of the same build, round by round (the pair ran back
// to back, so a drift of the machine's speed cancels), CPU time and wall time.
const pairs = (m: Map<string, number[]>): number => median(m.get('after, swap on, no pressure')!.map((on, i) => on / m.get('after, swap off')![i]!));
console.log(`swap on / swap off, median of ${rounds} back-to-back pairs: ${pairs(results).toFixed(3)} (CPU time), ${pairs(walls).toFixed(3)} (wall)`);
if (base !== undefined) {
  const onBase = (m: Map<string, number[]>): number => median(m.get('after, swap on, no pressure')!.map((on, i) => on / m.get('before (BASE build)')![i]!));
  console.log(`swap on / BASE build, median of ${rounds} pairs of the same round: ${onBase(results).toFixed(3)} (CPU time), ${onBase(walls).toFixed(3)} (wall)`);
}
if (process.env.SWAP_BENCH_ONLY === 'demand') process.exit(0);
const pressure: Run[] = [];
for (let r = 0; r < Math.max(3, Math.ceil(rounds / 2)); r++) pressure.push(run(mine, 'pressure-clock', N));
const moved = median(pressure.map((x) => x.pagesMovedPerCpuSecond!));
const ins = median(pressure.map((x) => x.swapInsPerCpuSecond!));
console.log(`under pressure, Clock, ${N} accesses cycling over 4x the resident limit (every access evicts one page and swaps one in):`);
console.log(`  ${fmt(moved)} pages evicted + swapped in per CPU-second (median of ${pressure.length}); ${fmt(ins)} swap-ins per CPU-second`);
