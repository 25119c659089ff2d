// One measurement in its own process, for bench/swap.bench.ts (A/B runs alternate processes).
//   node bench/swap-run.mjs <path to a built kernel-sim index.js> <variant> <pageCount>
// variants: demand (swap off), demand-swap-on (swap enabled, no memory pressure), cpu-demand and
//           cpu-demand-swap-on (the same faults through Cpu.read8, as bench/fault.bench.ts),
//           pressure-clock (Clock evicting and swapping in on every access).
// Prints one JSON line: { variant, faults, cpuSeconds, wallSeconds, ... }.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const [entry, variant, countArg] = process.argv.slice(2);
// A full collection before each timed run (both variants), so the garbage of the runs before it
// (unmapped regions' records; with SWAP_BENCH_KERNELS=each, whole kernels: sparse RAM, tables,
// records) is collected outside the window. Without it, with a kernel per run, a mark-compact
// landed inside most timed runs, 3-80 ms of a ~180 ms run, more often with swap on, whose records
// are allocated when it is enabled (external memory, which V8 answers with a GC).
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc');
const k = await import(entry);
const GiB = 1024 ** 3;
const PAGE = 4096;
const count = Number(countArg);

function boot(ramGiB) {
  const map = [
    { base: 0, lengthBytes: 0x9fc00, kind: 'usable' },
    { base: 0x100000, lengthBytes: ramGiB * GiB - 0x100000, kind: 'usable' },
  ];
  const kernel = new k.Kernel(new k.Machine({ memoryMap: map }), { layout: 'higher-half', events: new k.EventLog({ exclude: ['page-fault', 'frame-alloc', 'frame-free', 'tlb-flush', 'swap-out', 'reclaim'], capacity: 10_000 }) });
  kernel.boot();
  return kernel;
}

function timed(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const u = process.cpuUsage(c0);
  return { cpuSeconds: (u.user + u.system) / 1e6, wallSeconds: (performance.now() - t0) / 1000 };
}

// Warm-up, then measured runs (a fresh region each; see SWAP_BENCH_KERNELS below); the figure is
// the median of the measured runs. With one short warm-up the optimizing compiler was still
// compiling the fault path during the measured run (node --trace-opt showed ~45 functions
// optimized inside it, on the second core but in this process's CPU time): the figure was half
// JIT work and swung with it. With two, a function or two (e.g. the page-table walk of a
// table-less range) still reached TurboFan inside the third run, 14 ms of compiling in a 0.2 s
// window. SWAP_BENCH_WARMUPS (default 4) and SWAP_BENCH_MEASURED (default 3) set the counts.
const warmups = Number(process.env.SWAP_BENCH_WARMUPS ?? 4);
const measuredRuns = Number(process.env.SWAP_BENCH_MEASURED ?? 3);
const sizes = [20_000, ...Array.from({ length: warmups + measuredRuns }, () => count)];
const firstMeasured = sizes.length - measuredRuns;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** The measured runs' figures: the run with the median `key`, with every run's `key` listed. */
function report(runs, key) {
  const mid = median(runs.map((r) => r[key]));
  const r = runs.find((x) => x[key] === mid);
  console.log(JSON.stringify({ ...r, runs: runs.map((x) => Math.round(x[key])) }));
}
if (variant === 'demand' || variant === 'demand-swap-on' || variant === 'cpu-demand' || variant === 'cpu-demand-swap-on') {
  // demand*: Process.touch, the checked user access (with swap on it also advances the swap
  // clock); cpu-demand*: a user-mode read straight through the Cpu, as bench/fault.bench.ts
  // measures demand paging (the fault path alone: no swap clock).
  // SWAP_BENCH_KERNELS=each: a fresh kernel for every run (the earlier method). Default: one
  // kernel for the whole process, as a user has — each run maps a fresh region of n pages,
  // touches it (timed), and unmaps it. With a kernel per run, the optimized code, specialized on
  // the previous kernel's objects (its closures, its maps), was thrown away and compiled again
  // inside the timed runs: ~45 deoptimizations ("wrong map", "weak objects" once the old kernel
  // was collected) and re-optimizations in three timed runs, in both variants.
  const viaCpu = variant.startsWith('cpu-');
  const kernelEach = process.env.SWAP_BENCH_KERNELS === 'each';
  const runs = [];
  let kernel = null;
  let p = null;
  for (const [run, n] of sizes.entries()) {
    if (kernel === null || kernelEach) {
      kernel = boot(3);
      if (variant.endsWith('swap-on')) kernel.enableSwap({ devices: [new k.MemorySwapDevice({ slotCount: 1 << 20, cost: 'nvme' })], policy: 'clock' });
      p = kernel.createProcess({ name: 'bench' });
    }
    const va = p.mmap({ lengthBytes: n * PAGE });
    kernel.switchTo(p.pid);
    const cpu = kernel.machine.cpu;
    const lazy0 = p.stats.lazyZero;
    collectGarbage();
    const t = timed(() => {
      if (viaCpu) for (let i = 0; i < n; i++) cpu.read8(va + i * PAGE, 3 /* Mode.User */);
      else for (let i = 0; i < n; i++) p.touch(va + i * PAGE, 'read');
    });
    if (p.stats.lazyZero - lazy0 !== n) throw new Error(`expected ${n} lazy faults, got ${p.stats.lazyZero - lazy0}`);
    p.munmap(va, n * PAGE);
    if (run >= firstMeasured) runs.push({ variant, faults: n, ...t, faultsPerCpuSecond: n / t.cpuSeconds });
  }
  report(runs, 'faultsPerCpuSecond');
} else if (variant === 'pressure-clock') {
  const resident = 2048;
  const pages = 4 * resident;
  const runs = [];
  for (const [run, n] of sizes.entries()) {
    const kernel = boot(1);
    const swap = kernel.enableSwap({ devices: [new k.MemorySwapDevice({ slotCount: 4 * pages, cost: 'nvme' })], policy: 'clock', maxResidentPages: resident });
    const p = kernel.createProcess({ name: 'bench' });
    const va = p.mmap({ lengthBytes: pages * PAGE });
    for (let i = 0; i < pages; i++) p.touch(va + i * PAGE, 'write', i & 0xff);
    const in0 = swap.counters.swappedIn;
    const out0 = swap.counters.swappedOut + swap.counters.cleanSwapEvictions;
    // Cycling over 4x the resident limit: every access evicts one page and swaps one in.
    collectGarbage();
    const t = timed(() => {
      for (let i = 0; i < n; i++) p.touch(va + (i % pages) * PAGE, 'read');
    });
    const swappedIn = swap.counters.swappedIn - in0;
    const evicted = swap.counters.swappedOut + swap.counters.cleanSwapEvictions - out0;
    if (run >= firstMeasured) runs.push({ variant, accesses: n, swappedIn, evicted, ...t, pagesMovedPerCpuSecond: (swappedIn + evicted) / t.cpuSeconds, swapInsPerCpuSecond: swappedIn / t.cpuSeconds });
  }
  report(runs, 'pagesMovedPerCpuSecond');
} else throw new Error(`unknown variant ${variant}`);
