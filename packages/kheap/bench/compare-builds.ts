// Two builds of kheap in one process, on issue 19's slot trace (bench/slot-trace.ts): each build
// has its own replay loop (a function of its own, so V8 keeps their feedback and inlining apart),
// both are warmed on SLOTS 256 and the chosen SLOTS three times, then their replays alternate
// A B, B A, A B ... (a fresh heap each, over one pre-touched buffer), so both see the same machine
// state: this machine runs some processes ~30 % slower for their whole life (TEAM.md), which
// alternating processes only average out over many rounds. Prints each build's fastest and median
// replay (ms of CPU time, process.cpuUsage) and the ratios A/B (above 1: B is faster).
//   node --import tsx bench/compare-builds.ts <A/index.js> <B/index.js> [--slots=2048] [--reps=15]
// (each build under a package.json with "type": "module": test-support/import-build.ts)
import { importBuild } from '../../../test-support/import-build';
import { slotTrace, type SlotTrace } from './slot-trace';

import type * as KheapModule from '@kmem/kheap';

type Kheap = typeof KheapModule;
const [pathA, pathB] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (pathA === undefined || pathB === undefined) throw new Error('usage: compare-builds.ts <A/index.js> <B/index.js> [--slots=N] [--reps=N]');
const arg = (name: string, dflt: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt);
const slots = arg('slots', 2048);
const reps = arg('reps', 15);
const builds = [await importBuild<Kheap>(pathA), await importBuild<Kheap>(pathB)];

const BUFFER_BYTES = 64 * 1024 * 1024;
const buffer = new ArrayBuffer(BUFFER_BYTES);
new Uint8Array(buffer).fill(1); // touched once: fresh pages would time first-touch faults

type Heap = InstanceType<Kheap['KernelHeap']>;
/**
 * A replay loop per build: the same source, two functions. Built from text on purpose: closures
 * made by one factory would share their feedback and optimised code across the two builds.
 */
const loop = 'const { slot, size } = t; for (let i = 0; i < slot.length; i++) { const n = size[i]; if (n !== 0) ptrs[slot[i]] = heap.kmalloc(n); else heap.kfree(ptrs[slot[i]]); }';
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- two distinct functions of one source (see above)
const replays = builds.map((_, k) => new Function('heap', 't', 'ptrs', `${loop} // build ${k}`) as (heap: Heap, t: SlotTrace, ptrs: Float64Array) => void);
const ptrs = new Float64Array(Math.max(256, slots));

/** CPU milliseconds of one replay of `t` by build `k` on a fresh heap. */
function run(k: number, t: SlotTrace): number {
  const mod = builds[k]!;
  const heap = new mod.KernelHeap({ backing: new mod.ArrayBufferBacking({ buffer, maxBytes: BUFFER_BYTES }) });
  const c0 = process.cpuUsage();
  replays[k]!(heap, t, ptrs);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

const small = slotTrace(256);
const trace = slotTrace(slots);
for (let w = 0; w < 3; w++) {
  for (const k of [0, 1]) {
    run(k, small);
    run(k, trace);
  }
}
const ms: [number[], number[]] = [[], []];
for (let r = 0; r < reps; r++) for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) ms[k]!.push(run(k, trace));
const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const [a, b] = ms.map(sorted) as [number[], number[]];
const med = (xs: number[]): number => xs[xs.length >> 1]!;
console.log(
  `SLOTS ${slots}, ${reps} replays each: A fastest ${a[0]!.toFixed(1)} median ${med(a).toFixed(1)} ms | B fastest ${b[0]!.toFixed(1)} median ${med(b).toFixed(1)} ms | A/B fastest ${(a[0]! / b[0]!).toFixed(3)} median ${(med(a) / med(b)).toFixed(3)}`,
);
