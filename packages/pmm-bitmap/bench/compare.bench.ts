// Issue 19's pmm-bitmap comparison: @kmem/pmm-bitmap, @thi.ng/bitfield (fill), fast-bitfield and
// the plain summary-bitmap sketch on fill and churn (bench/churn-fill.ts), one process per
// contender per round, alternating, CPU time and wall time, medians over the rounds.
//   pnpm --filter @kmem/pmm-bitmap bench              (build the package first: npx tsup)
//   node --import tsx bench/compare.bench.ts --rounds=5
//   PMM_BASELINE=/path/to/other/build.js node --import tsx bench/compare.bench.ts   (adds an A/B column: that build's allocPfn)
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineState, printTable, runAlternating, type Contender } from '../../../test-support/alternating-runs';

const here = dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 3);
const node = (file: string): string[] => [process.execPath, '--import', 'tsx', join(here, 'contenders', file)];
const contenders: Contender[] = [
  { name: '@kmem/pmm-bitmap allocPfn', argv: node('pmm-bitmap.ts'), env: { PMM_API: 'pfn' } },
  { name: '@kmem/pmm-bitmap allocFrame', argv: node('pmm-bitmap.ts') },
  { name: '@thi.ng/bitfield', argv: node('thing-bitfield.ts') },
  { name: 'fast-bitfield', argv: node('fast-bitfield.ts') },
  { name: 'summary sketch', argv: node('summary-sketch.ts') },
];
const baseline = process.env.PMM_BASELINE;
if (baseline !== undefined) contenders.splice(1, 0, { name: 'pmm-bitmap (baseline) allocPfn', argv: node('pmm-bitmap.ts'), env: { PMM_MODULE: baseline, PMM_API: 'pfn' } });

const { rounds: got, loads } = runAlternating(contenders, rounds);
const names = contenders.map((c) => c.name);
console.log(`\npmm-bitmap: 16,777,216 frames; per CPU-second (wall-second), median of ${rounds} alternating processes, each the median of 3 timed runs.`);
console.log(`Machine: ${machineState(loads)}\n`);
printTable(got, names, [['fill', 'fill, frames/s'], ['churn', 'churn at 95 %, pairs/s']]);
