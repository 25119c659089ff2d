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
import { ArrayBufferPhysicalMemory, ControlRegisters, CR0, CR4, EFER, Mmu, Tlb } from '@kmem/x86-paging';

const MODES = ['32-bit', 'pae', '4-level', '5-level'] as const;
const CASES = ['hot-tlb', 'hot-walk', 'cold-walk'] as const;
const MAPPINGS = 200_000;
const STREAM = 1 << 20;
const PASSES = 8;
const TWO_32 = 4294967296;

const mode = process.env.BENCH_MODE as (typeof MODES)[number] | undefined;
const only = process.env.BENCH_CASE as (typeof CASES)[number] | undefined;

let seed = 0x9e3779b9;
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / TWO_32;
}

/** Builds the tables of `m` and returns the registers and page addresses (linear, numbers). */
function build(m: (typeof MODES)[number], memory: ArrayBufferPhysicalMemory): { regs: ControlRegisters; pages: Float64Array } {
  const w = memory.words;
  let next = 0x10_0000;
  const alloc = () => {
    const f = next;
    next += 4096;
    return f;
  };
  const entryBytes = m === '32-bit' ? 4 : 8;
  const child = (table: number, index: number): number => {
    const i = (table + index * entryBytes) / 4;
    if ((w[i]! & 1) === 0) w[i] = alloc() | 0x7;
    return w[i]! & 0xffff_f000;
  };
  const top = alloc();
  let regs: ControlRegisters;
  // The 1 GiB region: 32-bit / PAE at 0x4000_0000, 4-level at 0x1000_0000_0000, 5-level at 2^52.
  const base = m === '32-bit' || m === 'pae' ? 0x4000_0000 : m === '4-level' ? 0x1000_0000_0000 : 2 ** 52;
  if (m === '32-bit') regs = new ControlRegisters({ cr0: CR0.PE | CR0.PG | CR0.WP, cr4: CR4.PSE, efer: 0, cr3Frame: top });
  else if (m === 'pae') regs = new ControlRegisters({ cr0: CR0.PE | CR0.PG | CR0.WP, cr4: CR4.PAE, efer: EFER.NXE, cr3Frame: top });
  else regs = new ControlRegisters({ cr3Frame: top, cr4: CR4.PAE | CR4.PGE | (m === '5-level' ? CR4.LA57 : 0) });
  const chosen = new Uint8Array(262144);
  const pages = new Float64Array(MAPPINGS);
  for (let n = 0; n < MAPPINGS; ) {
    const p = Math.floor(rand() * 262144);
    if (chosen[p] === 1) continue;
    chosen[p] = 1;
    const va = base + p * 4096;
    pages[n++] = va;
    let pt: number;
    if (m === '32-bit') pt = child(top, Math.floor(va / 2 ** 22));
    else if (m === 'pae') {
      // PDPTEs: P only (R/W, U/S are reserved in a PAE PDPTE).
      const i3 = Math.floor(va / 2 ** 30);
      if ((w[(top + i3 * 8) / 4]! & 1) === 0) w[(top + i3 * 8) / 4] = alloc() | 1;
      pt = child(w[(top + i3 * 8) / 4]! & 0xffff_f000, Math.floor(va / 2 ** 21) % 512);
    } else {
      let t = top;
      if (m === '5-level') t = child(t, Math.floor(va / 2 ** 48) % 512);
      pt = child(child(child(t, Math.floor(va / 2 ** 39) % 512), Math.floor(va / 2 ** 30) % 512), Math.floor(va / 2 ** 21) % 512);
    }
    const pa = Math.floor(rand() * 2 ** 19) * 4096;
    w[(pt + (m === '32-bit' ? Math.floor(va / 4096) % 1024 : Math.floor(va / 4096) % 512) * entryBytes) / 4] = pa | 0x7;
  }
  if (m === 'pae') regs.loadPdptes(memory);
  return { regs, pages };
}

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
  const { regs, pages } = build(mode, memory);
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
