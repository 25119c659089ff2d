// Where the time of one translation goes on issue 19's workload (bench/yardstick-workload.ts):
// the same loop as yardsticks.bench.ts over three streams built from its hot stream — `mix` (the
// stream itself: 8.4 % of accesses fault), `allowed` (its accesses that do not fault, in order)
// and `faulting` (those that do) — for the Mmu with the default TLB and with the TLB off, the
// sketch with and without its TLB, and `harness` (the loop calling a function that does nothing
// but return a result object). Each case runs in a process of its own, the cases alternating,
// ROUNDS rounds (default 3); figures are CPU nanoseconds per translation, medians, with the
// TLB's hit share.
//
//   node --import tsx bench/yardstick-parts.ts            (after `npx tsup`)
//
// Options: CASES (comma-separated case:stream names, default all), ROUNDS, TLB_SETS / TLB_WAYS
// (a TLB geometry other than the default for the `mmu-tlb` cases), YARDSTICK_MODULE (another
// build's dist/index.js).
// Not run by `pnpm bench` (its file name does not end in .bench.ts).
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type * as X86Paging from '@kmem/x86-paging';
import { buildWorkload, mmuPass, PASSES, sink, sketchPass, STREAM } from './yardstick-workload';
import { importBuild } from '../../../test-support/import-build';

const moduleUnderTest = process.env.YARDSTICK_MODULE;
const build = moduleUnderTest === undefined ? await import('@kmem/x86-paging') : await importBuild<typeof X86Paging>(moduleUnderTest);
const { ControlRegisters, Mmu, Mode, Tlb } = build;

/** The stream `name` ('mix', 'allowed' or 'faulting'): the hot stream, or its accesses of one kind in order, repeated to STREAM. */
function streamOf(name: string, words: Uint32Array, pml4: number, hotVa: Float64Array, hotWrite: Uint8Array): { va: Float64Array; write: Uint8Array } {
  if (name === 'mix') return { va: hotVa, write: hotWrite };
  // The leaf's U/S and R/W, read from the tables (the workload's table entries all allow everything).
  const leaf = (va: number): number => {
    let table = pml4;
    for (const shift of [39, 30, 21, 12]) {
      const e = words[table / 4 + (Math.floor(va / 2 ** shift) % 512) * 2]!;
      if (shift === 12) return e;
      table = e - (e & 0xfff);
    }
    return 0;
  };
  const want = name === 'faulting';
  const va = new Float64Array(STREAM);
  const write = new Uint8Array(STREAM);
  for (let k = 0, n = 0; n < STREAM; k = (k + 1) % STREAM) {
    const e = leaf(hotVa[k]!);
    if (((e & 4) === 0 || (hotWrite[k] === 1 && (e & 2) === 0)) === want) {
      va[n] = hotVa[k]!;
      write[n++] = hotWrite[k]!;
    }
  }
  return { va, write };
}

function runCase(caseName: string, streamName: string): void {
  const { words, memory, pml4, hotVa, hotWrite } = buildWorkload(build);
  const { va, write } = streamOf(streamName, words, pml4, hotVa, hotWrite);
  const sets = process.env.TLB_SETS;
  const tlb = sets === undefined ? new Tlb() : new Tlb({ setCount: Number(sets), wayCount: Number(process.env.TLB_WAYS ?? 2) });
  tlb.enabled = caseName === 'mmu-tlb';
  const mmu = new Mmu(memory, new ControlRegisters({ cr3Frame: pml4 }), { tlb });
  const result = { fault: false, pa: 0 };
  const nothing = (v: number, access: number): { fault: boolean; pa: number } => {
    result.fault = access > 1;
    result.pa = v;
    return result;
  };
  let pass: () => number;
  if (caseName.startsWith('sketch')) {
    pass = sketchPass(words, pml4, va, write, caseName === 'sketch-tlb');
  } else if (caseName === 'harness') {
    // The Mmu's loop with a function that only fills a result object.
    pass = () => {
      let faults = 0;
      let check = 0;
      for (let i = 0; i < STREAM; i++) {
        const r = nothing(va[i]!, write[i]!);
        if (r.fault) faults++;
        else check += r.pa;
      }
      sink[0]! += check;
      return faults;
    };
  } else {
    pass = mmuPass(mmu, Mode.User, va, write);
  }
  for (let w = 0; w < 3; w++) pass();
  tlb.resetCounters();
  const cpu0 = process.cpuUsage();
  for (let p = 0; p < PASSES; p++) pass();
  const used = process.cpuUsage(cpu0);
  const n = PASSES * STREAM;
  console.log(JSON.stringify({ ns: ((used.user + used.system) * 1000) / n, hits: tlb.hits / n }));
}

const only = process.env.PARTS_CASE;
if (only !== undefined) {
  const [c, s] = only.split(':');
  runCase(c!, s!);
} else {
  const all = ['harness:mix', ...['mix', 'allowed', 'faulting'].flatMap((s) => ['mmu-tlb', 'mmu-off', 'sketch-tlb', 'sketch-off'].map((c) => `${c}:${s}`))];
  const cases = process.env.CASES?.split(',') ?? all;
  const rounds = Number(process.env.ROUNDS ?? 3);
  const results = new Map<string, { ns: number[]; hits: number }>();
  const load0 = loadavg()[0]!;
  for (let round = 0; round < rounds; round++) {
    for (const c of round % 2 === 0 ? cases : [...cases].reverse()) {
      const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], { env: { ...process.env, PARTS_CASE: c }, encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`case ${c} failed: ${child.stderr}`);
      const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as { ns: number; hits: number };
      const entry = results.get(c) ?? { ns: [], hits: r.hits };
      entry.ns.push(r.ns);
      results.set(c, entry);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`issue 19 workload, parts: ${rounds} alternating rounds, medians of CPU ns per translation; load average ${load0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`);
  for (const [c, r] of results) console.log(`${c.padEnd(20)} ${median(r.ns).toFixed(1).padStart(6)} ns${c.startsWith('mmu-tlb') ? `  TLB hits ${(r.hits * 100).toFixed(1)} %` : ''}`);
}
