// Issue 19's virt-alloc comparison: @kmem/virt-alloc and number-allocator on the 1-page-unit mix,
// and @kmem/virt-alloc alone on the sized (1-256 pages) mix (bench/mix.ts), beside a sketch of the
// free-interval index issue 19 suggests (bench/free-interval-sketch.ts: alloc and whole-block free
// only, no tags, no validation; SKETCH_DENSE=<pages> swaps its in-use hash for a flat array by
// page, the locality experiment in the README) on both; one process per
// contender per round, alternating, CPU time and wall time, medians over the rounds.
//   pnpm --filter @kmem/virt-alloc bench               (build the package first: npx tsup)
//   node --import tsx bench/compare.bench.ts --rounds=5
//   VIRT_BASELINE=/path/to/other/build.js node --import tsx bench/compare.bench.ts  (adds an A/B row)
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineState, printTable, runAlternating, type Contender } from '../../../test-support/alternating-runs';

const here = dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 3);
const node = (file: string): string[] => [process.execPath, '--import', 'tsx', join(here, 'contenders', file)];
const contenders: Contender[] = [
  { name: '@kmem/virt-alloc', argv: node('virt-alloc.ts') },
  { name: 'number-allocator', argv: node('number-allocator.ts') },
  { name: 'free-interval sketch', argv: node('free-interval-sketch.ts') },
  { name: 'sketch, flat by page', argv: node('free-interval-sketch.ts'), env: { SKETCH_DENSE: String(2 ** 25) } },
];
const baseline = process.env.VIRT_BASELINE;
if (baseline !== undefined) contenders.splice(1, 0, { name: 'virt-alloc (baseline)', argv: node('virt-alloc.ts'), env: { VIRT_MODULE: baseline } });

const { rounds: got, loads } = runAlternating(contenders, rounds);
const names = contenders.map((c) => c.name);
console.log(`\nvirt-alloc: 100,000 live blocks, alloc (lowest fit) / free mix; ops per CPU-second (wall-second), median of ${rounds} alternating processes, each the median of 3 timed segments of 250,000 ops.`);
console.log(`Machine: ${machineState(loads)}\n`);
printTable(got, names, [['units', '1-page units'], ['sized', 'sized, 1-256 pages']]);
