// Issue 19's kheap comparison: kheap, AssemblyScript's TLSF (wasm, called per op from JS) and
// glibc malloc (C, gcc -O2) on the same slot traces, plus two yardsticks (contenders/bare-tlsf.ts:
// the same TLSF in JS with no checks; contenders/ideal-lists.ts: per-class free lists that never
// give memory back, with kheap's checks), one process per contender per round,
// alternating (kheap, AS, glibc, kheap, AS, glibc, …), CPU time and wall time, medians over the
// rounds. Builds the wasm and the C program first (into the OS temp folder).
//   pnpm --filter @kmem/kheap bench                    (build the package first: npx tsup)
//   node --import tsx bench/compare.bench.ts --rounds=5
//   KHEAP_BASELINE=/path/to/other/dist/index.js node --import tsx bench/compare.bench.ts  (adds an A/B row)
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineState, median, rates, runAlternating, si, type Contender } from '../../../test-support/alternating-runs';
import { SLOT_COUNTS, workloadName } from './slot-trace';

const here = dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 3);
const wasm = execFileSync(process.execPath, [join(here, 'peers', 'build-as-tlsf.mjs')], { encoding: 'utf8' }).trim().split('\n').pop()!;
const glibc = join(tmpdir(), 'kmem-kheap-glibc-trace');
execFileSync('gcc', ['-O2', '-o', glibc, join(here, 'peers', 'glibc-trace.c')]);

const node = (file: string, ...args: string[]): string[] => [process.execPath, '--import', 'tsx', join(here, 'contenders', file), ...args];
const contenders: Contender[] = [
  { name: 'kheap', argv: node('kheap.ts') },
  { name: 'AS TLSF', argv: node('as-tlsf.ts', wasm) },
  { name: 'glibc', argv: [glibc] },
  // Yardsticks, not peers: a TLSF in JS without kheap's checks, counters or slab caches; and
  // per-size-class lists over memory never given back, with kheap's checks (a ceiling for any
  // design whose every op does at least those word accesses in JS).
  { name: 'bare JS TLSF', argv: node('bare-tlsf.ts') },
  { name: 'class lists, no reuse', argv: node('ideal-lists.ts') },
];
const baseline = process.env.KHEAP_BASELINE;
if (baseline !== undefined) contenders.splice(1, 0, { name: 'kheap (baseline)', argv: node('kheap.ts'), env: { KHEAP_MODULE: baseline } });

const { rounds: got, loads } = runAlternating(contenders, rounds);
const names = contenders.map((c) => c.name);
const liveOf = { 256: '~128', 2048: '~1,020', 16_384: '~8,100' } as Record<number, string>;
console.log(`\nkheap: 1,000,000 ops of the slot trace; ops per CPU-second (wall-second), median of ${rounds} alternating processes, each the median of 3 timed replays.`);
console.log(`Machine: ${machineState(loads)}\n`);
console.log(`| SLOTS (mean live) | ${names.join(' | ')} | ${names.slice(1).map((n) => `kheap ÷ ${n}`).join(' | ')} | kheap footprint |`);
console.log(`|---|${names.map(() => '---').join('|')}|${names.slice(1).map(() => '---').join('|')}|---|`);
for (const slots of SLOT_COUNTS) {
  const w = workloadName(slots);
  const r = names.map((n) => rates(got.get(n)!.get(w)!));
  const ours = r[0]!.cpu;
  const fps = got.get('kheap')!.get(w)!.map((f) => f.extra?.footprint ?? NaN);
  console.log(
    `| ${slots} (${liveOf[slots]}) | ${r.map((x) => `${si(x.cpu)} (${si(x.wall)})`).join(' | ')} | ${r.slice(1).map((x) => `${(ours / x.cpu).toFixed(2)}`).join(' | ')} | ${median(fps).toFixed(3)} |`,
  );
}
