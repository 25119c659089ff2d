// Mmu.translate throughput in each paging mode (32-bit, PAE, 4-level, 5-level) on the same shape
// of tables: MAPPINGS random 4 KiB pages in one 1 GiB region of the mode's address space (5-level:
// the region sits at linear 2^52, PML5 index 16, so every walk reads five levels), tables written
// straight into memory. Cases, each in a process of its own (BENCH_MODE x BENCH_CASE):
//   hot-tlb    1,024 hot pages, default TLB (1024 x 2)        — the TLB answers ~all
//   hot-walk   the same hot pages, TLB off                     — cached walks (tables in host cache)
//   cold-walk  random pages among all MAPPINGS, TLB off        — cold walks
// Run: npx tsup && node --import tsx bench/modes.bench.ts   (imports the built package)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as Package from '@kmem/x86-paging';
import { ArrayBufferPhysicalMemory, Mmu, Tlb } from '@kmem/x86-paging';
import { BENCH_MODES as MODES, buildModeTables } from './mode-tables';
import { xorshift32 } from './random-tables';

const CASES = ['hot-tlb', 'hot-walk', 'cold-walk'] as const;
const MAPPINGS = 200_000;
const STREAM = 1 << 20;
const PASSES = 8;

const mode = process.env.BENCH_MODE as (typeof MODES)[number] | undefined;
const only = process.env.BENCH_CASE as (typeof CASES)[number] | undefined;

const rand = xorshift32(0x9e3779b9);

if (mode === undefined || only === undefined) {
  const uptime = spawnSync('uptime', [], { encoding: 'utf8' }).stdout.trim();
  console.log(`paging modes, M translations per CPU-second (median of 3 processes); ${MAPPINGS.toLocaleString()} mappings; ${uptime}`);
  console.log(`${'mode'.padEnd(10)} ${CASES.map((c) => c.padStart(10)).join(' ')}`);
  for (const m of MODES) {
    const cells: string[] = [];
    for (const c of CASES) {
      const runs: number[] = [];
      for (let k = 0; k < 3; k++) {
        const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], { env: { ...process.env, BENCH_MODE: m, BENCH_CASE: c }, encoding: 'utf8' });
        if (r.status !== 0) throw new Error(r.stderr);
        runs.push(Number(r.stdout.trim()));
      }
      runs.sort((a, b) => a - b);
      cells.push(runs[1]!.toFixed(1).padStart(10));
    }
    console.log(`${m.padEnd(10)} ${cells.join(' ')}`);
  }
} else {
  const memory = new ArrayBufferPhysicalMemory(32 << 20);
  const { regs, pages } = buildModeTables(Package, mode, memory, MAPPINGS, rand);
  const tlb = new Tlb();
  tlb.enabled = only === 'hot-tlb';
  const mmu = new Mmu(memory, regs, { tlb });
  const hot = new Float64Array(1024);
  for (let i = 0; i < 1024; i++) hot[i] = pages[Math.floor(rand() * MAPPINGS)]!;
  const stream = new Float64Array(STREAM);
  for (let i = 0; i < STREAM; i++) stream[i] = (only === 'cold-walk' ? pages[Math.floor(rand() * MAPPINGS)]! : hot[Math.floor(rand() * 1024)]!) + Math.floor(rand() * 4096);
  const sum = new Float64Array(1);
  const pass = () => {
    let check = 0;
    for (let i = 0; i < STREAM; i++) {
      const r = mmu.translate(stream[i]!, 0, 3);
      if (r.fault) throw new Error(`fault at ${stream[i]}`);
      check += r.pa;
    }
    sum[0]! += check;
  };
  for (let k = 0; k < 3; k++) pass();
  const cpu0 = process.cpuUsage();
  for (let k = 0; k < PASSES; k++) pass();
  const used = process.cpuUsage(cpu0);
  console.log(((PASSES * STREAM) / ((used.user + used.system) / 1e6) / 1e6).toFixed(2));
}
