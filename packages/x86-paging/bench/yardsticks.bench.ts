// Issue 19's x86-paging workload with its yardsticks in the same run: 1,000,000 random 4 KiB
// mappings with mixed rights (user read-write, user read-only, supervisor-only), user reads and
// writes over a hot set of 1,024 pages of which ~8 % fault (writes to read-only pages, user
// accesses to supervisor pages), and uniform cold reads over all mappings. Cases:
//
//   mmu-tlb      Mmu.translate with the default TLB (`new Tlb()`, 1024 sets x 2 ways)
//   mmu-off      the same Mmu with the TLB off (every access walks)
//   sketch-tlb   a plain JS 4-level walk plus a direct-mapped 4,096-entry TLB that caches only
//                allowed translations (bench/yardstick-workload.ts, ~60 lines): the yardstick
//                every reader can check
//   mmu-cold     Mmu.translate, TLB off, uniform over the 1 M mappings
//   sketch-cold  the plain walk alone on the same cold stream
//
// The sketch does what the hardware does on the same work — P, R/W and U/S at every level, A on
// every entry and D on a written leaf, a fault drops the page's TLB entry (SDM vol. 3A 4.10.4.1) —
// and nothing else: no XD, SMEP, SMAP, WP, reserved bits, huge pages, PCIDs, global pages,
// error codes or stale-use detection, all of which the Mmu keeps.
//
// Each case runs in a process of its own, the cases alternating, ROUNDS rounds (default 3);
// figures are translations per CPU-second (process.cpuUsage) and per wall second, medians.
// Run after `npx tsup` (it imports the built package):
//
//   node --import tsx bench/yardsticks.bench.ts            (ROUNDS=5 for more rounds)
//
// A/B against another build: YARDSTICK_BASE=<its dist/index.js> adds `mmu-tlb@base` and
// `mmu-off@base`, run right after this build's cases in every round.
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type * as X86Paging from '@kmem/x86-paging';
import { buildWorkload, MAPPINGS, mmuPass, PASSES, sink, sketchPass, STREAM } from './yardstick-workload';
import { importBuild } from '../../../test-support/import-build';

const moduleUnderTest = process.env.YARDSTICK_MODULE;
const build = moduleUnderTest === undefined ? await import('@kmem/x86-paging') : await importBuild<typeof X86Paging>(moduleUnderTest);
const { ControlRegisters, Mmu, Mode, Tlb } = build;

// --- one case in this process ----------------------------------------------------------------------

function runCase(name: string): void {
  const { words, memory, pml4, hotVa, hotWrite, coldVa } = buildWorkload(build);
  const cold = name.endsWith('cold');
  const va = cold ? coldVa : hotVa;
  const write = cold ? new Uint8Array(STREAM) : hotWrite;
  let pass: () => number;
  if (name.startsWith('mmu')) {
    const tlb = new Tlb();
    tlb.enabled = name === 'mmu-tlb';
    const mmu = new Mmu(memory, new ControlRegisters({ cr3Frame: pml4 }), { tlb });
    pass = mmuPass(mmu, Mode.User, va, write);
  } else {
    pass = sketchPass(words, pml4, va, write, name === 'sketch-tlb');
  }
  for (let w = 0; w < 3; w++) pass(); // JIT and caches warm, A/D bits settled
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let faults = 0;
  for (let p = 0; p < PASSES; p++) faults += pass();
  const wallMs = performance.now() - wall0;
  const used = process.cpuUsage(cpu0);
  const n = PASSES * STREAM;
  console.log(JSON.stringify({ name, cpuRate: n / ((used.user + used.system) / 1e6), wallRate: n / (wallMs / 1000), faultShare: faults / n, check: sink[0]! % 1000 }));
}

const only = process.env.YARDSTICK_CASE;
if (only !== undefined) runCase(only);
else {
  const base = process.env.YARDSTICK_BASE;
  const cases = ['mmu-tlb', ...(base === undefined ? [] : ['mmu-tlb@base']), 'mmu-off', ...(base === undefined ? [] : ['mmu-off@base']), 'sketch-tlb', 'mmu-cold', 'sketch-cold'];
  const rounds = Number(process.env.ROUNDS ?? 3);
  const results = new Map<string, { cpu: number[]; wall: number[]; faultShare: number }>();
  const load0 = loadavg()[0]!;
  for (let round = 0; round < rounds; round++) {
    for (const c of round % 2 === 0 ? cases : [...cases].reverse()) {
      const env = { ...process.env, YARDSTICK_CASE: c.replace('@base', ''), ...(c.endsWith('@base') ? { YARDSTICK_MODULE: base } : {}) };
      const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], { env, encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`case ${c} failed: ${child.stderr}`);
      const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as { cpuRate: number; wallRate: number; faultShare: number };
      const entry = results.get(c) ?? { cpu: [], wall: [], faultShare: r.faultShare };
      entry.cpu.push(r.cpuRate);
      entry.wall.push(r.wallRate);
      results.set(c, entry);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const cpu = (c: string): number => median(results.get(c)!.cpu);
  console.log(`issue 19 x86-paging workload: ${MAPPINGS.toLocaleString()} mappings, ${rounds} alternating rounds, medians; load average ${load0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`);
  for (const [c, r] of results) {
    console.log(`${c.padEnd(12)} ${(median(r.cpu) / 1e6).toFixed(1).padStart(6)} M/CPU-s ${(median(r.wall) / 1e6).toFixed(1).padStart(6)} M/s wall  faults ${(r.faultShare * 100).toFixed(1)} %`);
  }
  if (base !== undefined) console.log(`this build / base: TLB on ${(cpu('mmu-tlb') / cpu('mmu-tlb@base')).toFixed(2)}, TLB off ${(cpu('mmu-off') / cpu('mmu-off@base')).toFixed(2)}`);
  console.log(`default TLB / TLB off: ${(cpu('mmu-tlb') / cpu('mmu-off')).toFixed(2)} (floor 1.5); default TLB / sketch TLB: ${(cpu('mmu-tlb') / cpu('sketch-tlb')).toFixed(2)} (floor 0.8); cold walks / sketch walk: ${(cpu('mmu-cold') / cpu('sketch-cold')).toFixed(2)} (floor 0.9)`);
}
