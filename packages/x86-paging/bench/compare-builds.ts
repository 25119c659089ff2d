// Compares two builds of this package in ONE process, alternating their timed runs. The default
// workload is the MMU hot-set case (1,024 hot pages among 1 M mappings, 128 x 8 TLB at
// 85.5 % hits); WORKLOAD=map-bulk | map-one | translate | map-unmap runs a Mapper workload
// instead (bench/build-workloads.ts: one 262,144-page mapPages, 65,536 one-page mapPages,
// software translate, map + unmap), WORKLOAD=mode-hot | mode-hot-walk the MMU's hot set in paging
// mode MODE (default 5-level) with the default TLB or with the TLB off.
//
// Why: on the shared 2-core VM each process runs in one of two speed states (the raw walk of
// translate.bench.ts at ~105 or ~74 M/s), so figures from separate processes cannot show a
// change of a few per cent. Two builds loaded side by side share the process's state; an A/A run
// (the same build twice) agrees within 2-5 %.
//
// Usage (build each variant to its own folder first, e.g. `npx tsup --format esm --no-dts -d /tmp/b`, and
// write {"type":"module"} to /tmp/b/package.json: test-support/import-build.ts says why):
//   DIST_A=$PWD/dist/index.js DIST_B=/tmp/b/index.js node --import tsx bench/compare-builds.ts
// Options: WORKLOAD, ROUNDS (timed runs per build, default 6), TLB_SETS / TLB_WAYS, HOT (hot pages).
// Figures are operations per CPU-second (process.cpuUsage), millions.
// Not run by `pnpm bench` (its file name does not end in .bench.ts).
import { mulberry32 } from '../../../test-support/mulberry32';
import type * as Package from '../src/index';
import { buildRandomTables } from './random-tables';
import type { Pass, WORKLOADS, buildWorkload as BuildWorkload } from './build-workloads';
import { importBuild } from '../../../test-support/import-build';

type Build = typeof Package;
const distA = process.env.DIST_A;
const distB = process.env.DIST_B;
if (distA === undefined || distB === undefined) {
  console.error('set DIST_A and DIST_B to the index.js of two builds');
  process.exit(2);
}
const A = await importBuild<Build>(distA);
const B = await importBuild<Build>(distB);
const workload = process.env.WORKLOAD ?? 'mmu-hot';
const rounds = Number(process.env.ROUNDS ?? 6);
const median = (x: number[]): number => [...x].sort((p, q) => p - q)[x.length >> 1]!;

/** Millions of operations per CPU-second of `repeat` passes. */
function timedPass(pass: Pass, repeat: number): number {
  const cpu0 = process.cpuUsage();
  let ops = 0;
  for (let rep = 0; rep < repeat; rep++) ops += pass();
  const used = process.cpuUsage(cpu0);
  return ops / ((used.user + used.system) / 1e6) / 1e6;
}

/** Warms both, then times `rounds` rounds in ABBA order (neither build always runs second). */
function alternate(passA: Pass, passB: Pass, repeat: number): { a: number[]; b: number[] } {
  for (let w = 0; w < 3; w++) {
    passA();
    passB();
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let k = 0; k < rounds; k++) {
    if (k % 2 === 0) {
      a.push(timedPass(passA, repeat));
      b.push(timedPass(passB, repeat));
    } else {
      b.push(timedPass(passB, repeat));
      a.push(timedPass(passA, repeat));
    }
  }
  return { a, b };
}

/** Medians, bests, the ratio of medians and the median of the per-round ratios (adjacent runs: drift cancels). */
function report(a: number[], b: number[], extra: string): void {
  const pairs = a.map((x, k) => b[k]! / x);
  console.log(
    `${workload}: A ${median(a).toFixed(2)} M/s (best ${Math.max(...a).toFixed(2)}), B ${median(b).toFixed(2)} M/s (best ${Math.max(...b).toFixed(2)}), B/A ${(median(b) / median(a)).toFixed(3)}, per-round B/A median ${median(pairs).toFixed(3)} (${rounds} rounds)${extra}`,
  );
}

if (workload !== 'mmu-hot') {
  // One copy of the workload module per build (a distinct URL is a distinct module instance).
  type Module = { buildWorkload: typeof BuildWorkload; WORKLOADS: typeof WORKLOADS };
  const here = new URL('./build-workloads.ts', import.meta.url).href;
  const ma = (await import(`${here}?build=a`)) as Module;
  const mb = (await import(`${here}?build=b`)) as Module;
  const passA = ma.buildWorkload(A, workload);
  const passB = mb.buildWorkload(B, workload);
  if (passA === undefined || passB === undefined) {
    console.error(`unknown WORKLOAD ${workload}: mmu-hot, ${ma.WORKLOADS.join(', ')}`);
    process.exit(2);
  }
  const { a, b } = alternate(passA, passB, Number(process.env.REPEAT ?? 10));
  report(a, b, '');
  process.exit(0);
}

const MAPPINGS = 1_000_000;
const STREAM = 1 << 20;
const rand = mulberry32(0x9e3779b9);

// Tables built as translate.bench.ts builds them (another random sequence); both builds walk them.
const memory = new A.ArrayBufferPhysicalMemory(160 * 1024 * 1024);
const { pml4, pages } = buildRandomTables(memory.words, MAPPINGS, rand);
const hotCount = Number(process.env.HOT ?? 1024);
const hot = new Float64Array(hotCount);
for (let i = 0; i < hotCount; i++) hot[i] = pages[Math.floor(rand() * MAPPINGS)]!;
const stream = new Float64Array(STREAM);
for (let i = 0; i < STREAM; i++) stream[i] = hot[Math.floor(rand() * hotCount)]! + Math.floor(rand() * 4096);

const setCount = Number(process.env.TLB_SETS ?? 128);
const wayCount = Number(process.env.TLB_WAYS ?? 8);
const tlbA = new A.Tlb({ setCount, wayCount });
const mmuA = new A.Mmu(memory, new A.ControlRegisters({ cr3Frame: pml4 }), { tlb: tlbA });
const tlbB = new B.Tlb({ setCount, wayCount });
const mmuB = new B.Mmu(memory, new B.ControlRegisters({ cr3Frame: pml4 }), { tlb: tlbB });

// One loop per build, so each call site sees one Mmu class (a shared loop would be polymorphic).
// Access and mode as literals (Access.Read = 0, Mode.User = 3): see translate.bench.ts.
const sums = new Float64Array(2);
function passA(): void {
  let check = 0;
  for (let i = 0; i < STREAM; i++) check += mmuA.translate(stream[i]!, 0, 3).pa;
  sums[0]! += check;
}
function passB(): void {
  let check = 0;
  for (let i = 0; i < STREAM; i++) check += mmuB.translate(stream[i]!, 0, 3).pa;
  sums[1]! += check;
}
const { a, b } = alternate(
  () => (passA(), STREAM),
  () => (passB(), STREAM),
  10,
);
const same = sums[0] === sums[1] ? 'same results' : 'RESULTS DIFFER';
report(a, b, `; TLB ${setCount}x${wayCount} hits A ${(tlbA.hitRate() * 100).toFixed(1)} % B ${(tlbB.hitRate() * 100).toFixed(1)} %; ${same}`);
