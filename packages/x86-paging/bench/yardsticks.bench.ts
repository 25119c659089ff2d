// Issue 19's x86-paging workload with its yardsticks in the same run: 1,000,000 random 4 KiB
// mappings with mixed rights (user read-write, user read-only, supervisor-only), user reads and
// writes over a hot set of 1,024 pages of which ~8 % fault (writes to read-only pages, user
// accesses to supervisor pages), and uniform cold reads over all mappings. Cases:
//
//   mmu-tlb      Mmu.translate with the default TLB (`new Tlb()`, 1024 sets x 2 ways)
//   mmu-off      the same Mmu with the TLB off (every access walks)
//   sketch-tlb   a plain JS 4-level walk plus a direct-mapped 4,096-entry TLB that caches only
//                allowed translations (below, ~80 lines): the yardstick every reader can check
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
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as X86Paging from '@kmem/x86-paging';
import { buildRandomTables, xorshift32 } from './random-tables';

const moduleUnderTest = process.env.YARDSTICK_MODULE;
const { Access, ArrayBufferPhysicalMemory, ControlRegisters, Mmu, Mode, Tlb } = (await import(moduleUnderTest === undefined ? '@kmem/x86-paging' : pathToFileURL(moduleUnderTest).href)) as typeof X86Paging;

const MAPPINGS = 1_000_000;
const HOT_PAGES = 1024;
const STREAM = 1 << 20;
const PASSES = 5; // 5 × 1 M = 5.2 M translations timed per figure
const TWO_32 = 4294967296;

const rand = xorshift32(0x2545f491);

// Rights of each leaf: 87 % user read-write, 8 % user read-only, 5 % supervisor read-write.
const leafFlags = (): number => {
  const r = rand();
  return r < 0.87 ? 0x7 : r < 0.95 ? 0x5 : 0x3;
};

function buildWorkload(): { words: Uint32Array; memory: X86Paging.ArrayBufferPhysicalMemory; pml4: number; hotVa: Float64Array; hotWrite: Uint8Array; coldVa: Float64Array } {
  const memory = new ArrayBufferPhysicalMemory(160 * 1024 * 1024);
  const words = memory.words;
  const { pml4, pages } = buildRandomTables(words, MAPPINGS, rand, leafFlags);
  const hot = new Float64Array(HOT_PAGES);
  for (let i = 0; i < HOT_PAGES; i++) hot[i] = pages[Math.floor(rand() * MAPPINGS)]!;
  const hotVa = new Float64Array(STREAM);
  const hotWrite = new Uint8Array(STREAM);
  const coldVa = new Float64Array(STREAM);
  for (let i = 0; i < STREAM; i++) {
    hotVa[i] = hot[Math.floor(rand() * HOT_PAGES)]! + Math.floor(rand() * 4096);
    hotWrite[i] = rand() < 0.3 ? 1 : 0;
    coldVa[i] = pages[Math.floor(rand() * MAPPINGS)]! + Math.floor(rand() * 4096);
  }
  return { words, memory, pml4, hotVa, hotWrite, coldVa };
}

// --- the plain JS yardstick: a 4-level walk and a direct-mapped TLB ---------------------------------

const SKETCH_SLOTS = 4096;
const sketchTag = new Float64Array(SKETCH_SLOTS).fill(-1); // page number, -1 = empty
const sketchFrame = new Float64Array(SKETCH_SLOTS); // physical address of the page
const sketchWritable = new Uint8Array(SKETCH_SLOTS); // cached with write permission (and D set)

/** One access through the sketch: the physical address, or -1 for a page fault. */
function sketchAccess(words: Uint32Array, pml4: number, va: number, write: number, useTlb: boolean): number {
  const page = Math.floor(va / 4096);
  const offset = va - page * 4096;
  const slot = page & (SKETCH_SLOTS - 1);
  if (useTlb && sketchTag[slot] === page && (write === 0 || sketchWritable[slot] === 1)) return sketchFrame[slot]! + offset;
  const vaHi = Math.floor(va / TWO_32);
  const vaLo = va - vaHi * TWO_32;
  let w = pml4 / 4 + ((vaHi >>> 7) & 511) * 2;
  let rights = 0x6; // R/W and U/S allowed so far
  for (let level = 0; level < 4; level++) {
    const e = words[w]!;
    if ((e & 1) === 0) return sketchFault(slot, useTlb);
    rights &= e;
    if (level === 3) {
      if ((rights & 4) === 0 || (write === 1 && (rights & 2) === 0)) return sketchFault(slot, useTlb);
      words[w] = e | (write === 1 ? 0x60 : 0x20); // A, and D on a write
      const pa = (e - (e & 0xfff)) + words[w + 1]! * TWO_32;
      if (useTlb) {
        sketchTag[slot] = page;
        sketchFrame[slot] = pa;
        sketchWritable[slot] = write;
      }
      return pa + offset;
    }
    if ((e & 0x20) === 0) words[w] = e | 0x20; // A on the table entry
    const table = e - (e & 0xfff);
    const index = level === 0 ? (((vaHi & 0x7f) << 2) | (vaLo >>> 30)) : level === 1 ? (vaLo >>> 21) & 511 : (vaLo >>> 12) & 511;
    w = table / 4 + index * 2;
  }
  return -1;
}

function sketchFault(slot: number, useTlb: boolean): number {
  if (useTlb) sketchTag[slot] = -1; // a fault drops the page's entry (SDM 4.10.4.1)
  return -1;
}

// --- one case in this process ----------------------------------------------------------------------

const sink = new Float64Array(2);

function runCase(name: string): void {
  const { words, memory, pml4, hotVa, hotWrite, coldVa } = buildWorkload();
  const cold = name.endsWith('cold');
  const va = cold ? coldVa : hotVa;
  const write = cold ? new Uint8Array(STREAM) : hotWrite;
  let pass: () => number;
  if (name.startsWith('mmu')) {
    const tlb = new Tlb();
    tlb.enabled = name === 'mmu-tlb';
    const mmu = new Mmu(memory, new ControlRegisters({ cr3Frame: pml4 }), { tlb });
    const READ = Access.Read;
    const WRITE = Access.Write;
    const USER = Mode.User;
    pass = () => {
      let faults = 0;
      let check = 0;
      for (let i = 0; i < STREAM; i++) {
        const r = mmu.translate(va[i]!, write[i] === 1 ? WRITE : READ, USER);
        if (r.fault) faults++;
        else check += r.pa;
      }
      sink[0]! += check;
      return faults;
    };
  } else {
    const useTlb = name === 'sketch-tlb';
    pass = () => {
      let faults = 0;
      let check = 0;
      for (let i = 0; i < STREAM; i++) {
        const pa = sketchAccess(words, pml4, va[i]!, write[i]!, useTlb);
        if (pa < 0) faults++;
        else check += pa;
      }
      sink[0]! += check;
      return faults;
    };
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
