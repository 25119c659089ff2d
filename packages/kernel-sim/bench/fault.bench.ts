// Demand paging through the whole stack: a user-mode access through x86-paging's Cpu (MMU + TLB)
// faults, the kernel's vector-14 handler runs the policy, allocates a zeroed frame from the
// bitmap allocator (with ownership records), writes the PTE through the direct map, and the CPU
// retries. Imports the BUILT package: run `npx tsup` first. Hand-timed loops.
//
//   node --import tsx bench/fault.bench.ts            (or: pnpm --filter @kmem/kernel-sim bench)
import { EventLog, Kernel, Machine, type KernelEventKind, type MemoryRegion } from '@kmem/kernel-sim';

const GiB = 1024 ** 3;
const PAGE = 4096;
const USER = 3; // Mode.User

function machineMap(ramGiB: number): MemoryRegion[] {
  return [
    { base: 0, lengthBytes: 0x9fc00, kind: 'usable' },
    { base: 0x100000, lengthBytes: Math.min(ramGiB, 3) * GiB - 0x100000, kind: 'usable' },
    ...(ramGiB > 3 ? [{ base: 4 * GiB, lengthBytes: (ramGiB - 3) * GiB, kind: 'usable' as const }] : []),
  ];
}

function boot(exclude: readonly KernelEventKind[]): Kernel {
  const machine = new Machine({ memoryMap: machineMap(3) });
  const kernel = new Kernel(machine, { layout: 'higher-half', events: new EventLog({ exclude, capacity: 10_000 }) });
  kernel.boot();
  return kernel;
}

function line(label: string, value: string): void {
  console.log(`${label.padEnd(64)} ${value}`);
}

/** Seconds of CPU time this process used since `since` (user + system): the machine is shared, wall time is noisy. */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

let bestCpuRate = 0;

/** Faults per second (wall clock) for `pageCount` first touches (reads or writes) of a fresh anonymous mapping; the best CPU-time rate goes to `bestCpuRate`. */
function faultRate(exclude: readonly KernelEventKind[], pageCount: number, write: boolean, rounds: number): number {
  let best = 0;
  bestCpuRate = 0;
  for (let r = 0; r < rounds; r++) {
    const kernel = boot(exclude);
    const p = kernel.createProcess({ name: 'bench' })!;
    const va = p.mmap({ lengthBytes: pageCount * PAGE })!;
    kernel.switchTo(p.pid);
    const cpu = kernel.machine.cpu;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    if (write) for (let i = 0; i < pageCount; i++) cpu.write8(va + i * PAGE, 1, USER);
    else for (let i = 0; i < pageCount; i++) cpu.read8(va + i * PAGE, USER);
    const rate = pageCount / ((performance.now() - t0) / 1000);
    bestCpuRate = Math.max(bestCpuRate, pageCount / cpuSeconds(c0));
    if (p.stats.lazyZero !== pageCount) throw new Error(`expected ${pageCount} lazy faults, got ${p.stats.lazyZero}`);
    if (rate > best) best = rate;
    p.exit(0);
  }
  return best;
}

const quiet: KernelEventKind[] = ['page-fault', 'frame-alloc', 'frame-free', 'tlb-flush'];
// Warm-up (JIT) on a small run.
faultRate(quiet, 20_000, false, 1);

const N = 100_000;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(10);
for (const [label, exclude, write] of [
  ['demand-paging faults, read first touch, events off', quiet, false],
  ['demand-paging faults, read first touch, all events on', [], false],
  ['demand-paging faults, write first touch (host backing), events off', quiet, true],
] as const) {
  const wall = faultRate(exclude, N, write, 3);
  line(label, `${fmt(wall)} faults/s wall, ${fmt(bestCpuRate)} faults/s CPU time`);
}

// 1 GiB of lazily mapped memory touched page by page (262,144 faults), reads then writes.
for (const write of [false, true]) {
  let best = Infinity;
  let bestCpu = Infinity;
  for (let r = 0; r < 2; r++) {
    const kernel = boot(quiet);
    const p = kernel.createProcess({ name: 'gib' })!;
    const va = p.mmap({ lengthBytes: GiB })!;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const outcome = p.touchRange(va, GiB, write ? 'write' : 'read', 1);
    const ms = performance.now() - t0;
    bestCpu = Math.min(bestCpu, cpuSeconds(c0) * 1000);
    if (outcome !== 'ok' || p.stats.rssPages !== GiB / PAGE) throw new Error(`touch of 1 GiB: ${outcome}, rss ${p.stats.rssPages}`);
    best = Math.min(best, ms);
    const t1 = performance.now();
    p.exit(0);
    if (r === 0) line(`exit of a process holding 1 GiB (${GiB / PAGE} frames)`, `${(performance.now() - t1).toFixed(0).padStart(10)} ms`);
  }
  line(`touch 1 GiB lazily mapped, page by page (${write ? 'write' : 'read'}, Process.touchRange)`, `${best.toFixed(0).padStart(10)} ms wall, ${bestCpu.toFixed(0).padStart(6)} ms CPU time`);
}
