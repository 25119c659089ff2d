// Compares two builds of this package on the hot-set case (1,024 hot pages among 1 M
// mappings, 128 x 8 TLB at 85.5 % hits) in ONE process, alternating their timed runs.
//
// Why: on the shared 2-core VM each process runs in one of two speed states (the raw walk of
// translate.bench.ts at ~105 or ~74 M/s), so figures from separate processes cannot show a
// change of a few per cent. Two builds loaded side by side share the process's state; an A/A run
// (the same build twice) agrees within 2-5 %.
//
// Usage (build each variant to its own folder first, e.g. `npx tsup --format esm --no-dts -d /tmp/b`):
//   DIST_A=$PWD/dist/index.js DIST_B=/tmp/b/index.js node --import tsx bench/compare-builds.ts
// Options: ROUNDS (timed runs per build, default 6), TLB_SETS / TLB_WAYS, HOT (hot pages).
// Not run by `pnpm bench` (its file name does not end in .bench.ts).
import { mulberry32 } from '../../../test-support/mulberry32';
import type * as Package from '../src/index';
import { buildRandomTables } from './random-tables';

type Build = typeof Package;
const distA = process.env.DIST_A;
const distB = process.env.DIST_B;
if (distA === undefined || distB === undefined) {
  console.error('set DIST_A and DIST_B to the index.js of two builds');
  process.exit(2);
}
const A = (await import(distA)) as Build;
const B = (await import(distB)) as Build;

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
/** Translations per CPU-second (millions) over 10 passes. */
function timed(pass: () => void): number {
  const cpu0 = process.cpuUsage();
  for (let rep = 0; rep < 10; rep++) pass();
  const used = process.cpuUsage(cpu0);
  return (10 * STREAM) / ((used.user + used.system) / 1e6) / 1e6;
}

for (let w = 0; w < 3; w++) {
  passA();
  passB();
}
const a: number[] = [];
const b: number[] = [];
const rounds = Number(process.env.ROUNDS ?? 6);
for (let k = 0; k < rounds; k++) {
  // ABBA order, so neither build always runs second.
  if (k % 2 === 0) {
    a.push(timed(passA));
    b.push(timed(passB));
  } else {
    b.push(timed(passB));
    a.push(timed(passA));
  }
}
const median = (x: number[]): number => [...x].sort((p, q) => p - q)[x.length >> 1]!;
const same = sums[0] === sums[1] ? 'same results' : 'RESULTS DIFFER';
console.log(
  `A ${median(a).toFixed(1)} M/s (best ${Math.max(...a).toFixed(1)}), B ${median(b).toFixed(1)} M/s (best ${Math.max(...b).toFixed(1)}), B/A ${(median(b) / median(a)).toFixed(3)} (medians of ${rounds}); TLB ${setCount}x${wayCount} hits A ${(tlbA.hitRate() * 100).toFixed(1)} % B ${(tlbB.hitRate() * 100).toFixed(1)} %; ${same}`,
);
