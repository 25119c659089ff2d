// Seed 002's 32-bit kernel against the 64-bit higher-half kernel, measured alternately in one
// process (A, B, A, B ...; medians of 7): boot time on a 128 MiB and a 5 GiB machine, and demand
// faults per second (a process touching 2,048 fresh pages: lazy zero fill, one page table per
// 4 MiB (32-bit) or 2 MiB (4-level)). CPU time from process.cpuUsage, wall time from performance.now.
// Run: node --conditions=@kmem/source --import tsx bench/kernel32.bench.ts   (or the built package)
import { execSync } from 'node:child_process';
import { EventLog, Kernel, Kernel32, Machine, type MemoryRegion } from '@kmem/kernel-sim';
import { pcMap } from './pc-map';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const PAGES = 2048;


interface Sample {
  wallMs: number;
  cpuMs: number;
}

function measure(fn: () => void): Sample {
  const c = process.cpuUsage();
  const t = performance.now();
  fn();
  const wallMs = performance.now() - t;
  const d = process.cpuUsage(c);
  return { wallMs, cpuMs: (d.user + d.system) / 1000 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function boot32(map: MemoryRegion[]): Kernel32 {
  return new Kernel32({ machine: new Machine({ memoryMap: map, cpuMode: 'protected' }), events: new EventLog({ capacity: 1000 }) }).boot();
}

function boot64(map: MemoryRegion[]): Kernel {
  const k = new Kernel(new Machine({ memoryMap: map }), { layout: 'higher-half', events: new EventLog({ capacity: 1000 }) });
  k.boot();
  return k;
}

function faults32(k: Kernel32): number {
  const p = k.processes.create({ stackLimitBytes: 64 * MiB })!;
  const va = p.mmap({ lengthBytes: PAGES * 4096 })!;
  const s = measure(() => p.touchRange(va, PAGES * 4096, 'write', 1));
  return PAGES / (s.cpuMs / 1000);
}

function faults64(k: Kernel): number {
  const p = k.createProcess()!;
  const va = p.mmap({ lengthBytes: PAGES * 4096 })!;
  const s = measure(() => p.touchRange(va, PAGES * 4096, 'write', 1));
  return PAGES / (s.cpuMs / 1000);
}

const CHURN = 200;

/** Processes created and exited per CPU-second (each with its page directory; on the 32-bit kernel also its 8 KiB kernel stack). */
function churn(create: () => { exit(code?: number): void } | null): number {
  const s = measure(() => {
    for (let i = 0; i < CHURN; i++) create()!.exit(0);
  });
  return CHURN / (s.cpuMs / 1000);
}

let load = '';
try {
  load = execSync('uptime').toString().trim();
} catch {
  load = 'uptime unavailable';
}
console.log(`load: ${load}`);
for (const [label, ram] of [['128 MiB', 128 * MiB], ['5 GiB', 5 * GiB]] as const) {
  const map = pcMap(ram);
  boot32(map);
  boot64(map); // warm-up
  const a: Sample[] = [];
  const b: Sample[] = [];
  const fa: number[] = [];
  const fb: number[] = [];
  const ca: number[] = [];
  const cb: number[] = [];
  for (let i = 0; i < 7; i++) {
    let k32: Kernel32 | null = null;
    let k64: Kernel | null = null;
    a.push(measure(() => (k32 = boot32(map))));
    b.push(measure(() => (k64 = boot64(map))));
    fa.push(faults32(k32!));
    fb.push(faults64(k64!));
    const k32b: Kernel32 = k32!;
    const k64b: Kernel = k64!;
    ca.push(churn(() => k32b.processes.create()));
    cb.push(churn(() => k64b.createProcess()));
  }
  const f = (xs: Sample[], key: keyof Sample): string => median(xs.map((x) => x[key])).toFixed(1);
  console.log(`${label}: boot 32-bit (higher-half-3g) ${f(a, 'cpuMs')} ms CPU / ${f(a, 'wallMs')} ms wall; 64-bit (higher-half) ${f(b, 'cpuMs')} ms CPU / ${f(b, 'wallMs')} ms wall (medians of 7, alternating)`);
  console.log(`${label}: demand faults (lazy zero, ${PAGES} pages) 32-bit ${(median(fa) / 1000).toFixed(0)} k/s CPU; 64-bit ${(median(fb) / 1000).toFixed(0)} k/s CPU; ratio ${(median(fa) / median(fb)).toFixed(2)}`);
  console.log(`${label}: process create + exit (${CHURN} per sample) 32-bit with its kernel stack ${(median(ca) / 1000).toFixed(1)} k/s CPU; 64-bit ${(median(cb) / 1000).toFixed(1)} k/s CPU; ratio ${(median(ca) / median(cb)).toFixed(2)}`);
}
