// The `swap` scenario: a machine whose processes need more memory than they may keep resident.
// A program is exec'd, a big process writes a buffer three times its allowance, forks, and works
// on hot sets that first fit and then do not (thrashing); every page is read back and checked.
// The run happens on the demo's kernel with the Clock policy (two swap devices, NVMe first), and
// again on fresh kernels with every policy, for a table comparing them on the same accesses.
import type { ScenarioStep } from './catalog';
import { EventLog, Kernel, Machine, MemorySwapDevice, POLICY_NAMES, PROT, createPolicy, kernelPageKey, type LayoutName, type MemoryRegion, type PolicyName, type Process, type SwapManager, type SwapSample } from '@kmem/kernel-sim';
import { xorshift32 } from './xorshift';

const PAGE = 4096;
/** Resident user pages allowed (like a memory cgroup's memory.max): 640 KiB. */
export const SWAP_DEMO_LIMIT_PAGES = 160;
/** Pages of the buffer the child rewrites (every 8th). */
const CHILD_WRITTEN = 64;
/** The big process's buffer: three times the allowance. */
export const SWAP_DEMO_BUFFER_PAGES = 480;

/** The machine the policy comparison boots for each policy: 128 MiB of RAM. */
const COMPARE_MACHINE: MemoryRegion[] = [
  { base: 0, lengthBytes: 0x9fc00, kind: 'usable' },
  { base: 0x10_0000, lengthBytes: 127 * 1024 * 1024, kind: 'usable' },
];

/** One policy's figures on the workload. */
export interface SwapPolicyRow {
  readonly policy: string;
  readonly faults: number;
  readonly majorFaults: number;
  readonly minorFaults: number;
  readonly swappedOut: number;
  readonly swappedIn: number;
  readonly fileDropped: number;
  readonly cleanSwapEvictions: number;
  readonly scanned: number;
  readonly directRuns: number;
  readonly thrashingSamples: number;
  /** Simulated time the run took (accesses plus device I/O), ms. */
  readonly simulatedMs: number;
}

/** One device after the run. */
export interface SwapDeviceRow {
  readonly name: string;
  readonly priority: number;
  readonly slots: number;
  readonly usedSlots: number;
  readonly reads: number;
  readonly writes: number;
  /** One character per group of slots: '#' mostly used, '+' some, '.' none. */
  readonly slotMap: string;
}

/** What the swap scenario measured. */
export interface SwapDemoResult {
  readonly limitPages: number;
  readonly bufferPages: number;
  readonly accesses: number;
  readonly devices: readonly SwapDeviceRow[];
  readonly processes: readonly { readonly pid: number; readonly name: string; readonly vmRssPages: number; readonly vmSwapPages: number; readonly majorFaults: number; readonly minorFaults: number }[];
  /** The Clock run's samples (every tick of 1 simulated ms), thinned to at most 48. */
  readonly series: readonly SwapSample[];
  readonly rows: readonly SwapPolicyRow[];
  readonly valuesChecked: number;
}

/** A touch that must succeed. */
function touch(p: Process, va: number, access: 'read' | 'write' | 'execute', value: number, keys: number[]): void {
  const o = p.touch(va, access, value);
  if (o !== 'ok') throw new Error(`swap scenario: pid ${p.pid} ${access} at 0x${va.toString(16)}: ${o}`);
  keys.push(kernelPageKey(p.pid, va));
}

/**
 * The workload, on a kernel with swap enabled. Returns the page keys accessed (OPT's sequence)
 * and how many values were read back and checked.
 */
export function runSwapWorkload(kernel: Kernel, program: Uint8Array, programName: string, phaseAccesses = 5_000): { keys: number[]; checked: number; processes: Process[] } {
  const keys: number[] = [];
  const prog = kernel.exec(undefined, program, [programName], ['HOME=/'], { name: programName });
  if (prog === null) throw new Error('swap scenario: exec ran out of memory');
  const img = prog.image!;
  const rodata = prog.regions().find((r) => r.kind === 'rodata');
  touch(prog, img.entry, 'execute', 0, keys);
  if (rodata !== undefined) touch(prog, rodata.start, 'read', 0, keys);
  const big = kernel.createProcess({ name: 'big' });
  if (big === null) throw new Error('swap scenario: out of memory');
  const base = big.mmap({ lengthBytes: SWAP_DEMO_BUFFER_PAGES * PAGE, prot: PROT.Read | PROT.Write, name: 'buffer' })!;
  const valueOf = (page: number, gen: number): number => (page * 7 + gen * 13 + 1) & 0xff || 1;
  // Fill the whole buffer: three times what may stay resident.
  for (let i = 0; i < SWAP_DEMO_BUFFER_PAGES; i++) touch(big, base + i * PAGE, 'write', valueOf(i, 0), keys);
  // A child shares everything copy-on-write; it reads a quarter of it and rewrites a few pages.
  const child = kernel.fork(big.pid);
  if (child === null) throw new Error('swap scenario: fork ran out of memory');
  for (let i = 0; i < SWAP_DEMO_BUFFER_PAGES; i += 4) touch(child, base + i * PAGE, 'read', 0, keys);
  for (let i = 0; i < CHILD_WRITTEN; i += 8) touch(child, base + i * PAGE, 'write', valueOf(i, 1), keys);
  // Phases: a hot set that fits (120 pages), one that does not (240 pages), then the program again.
  const r = xorshift32(0x5eed);
  for (const [hot, rounds] of [
    [120, phaseAccesses],
    [240, phaseAccesses],
  ] as const) {
    for (let k = 0; k < rounds; k++) {
      const page = r() < 0.9 ? Math.floor(r() * hot) : Math.floor(r() * SWAP_DEMO_BUFFER_PAGES);
      const write = r() < 0.25;
      // Writes keep the page's value (the check below knows them).
      touch(big, base + page * PAGE, write ? 'write' : 'read', valueOf(page, 0), keys);
    }
  }
  touch(prog, img.entry, 'execute', 0, keys);
  // Read every page back through the CPU and compare.
  let checked = 0;
  for (const [p, gen] of [
    [big, 0],
    [child, 0],
  ] as const) {
    kernel.switchTo(p.pid);
    for (let i = 0; i < SWAP_DEMO_BUFFER_PAGES; i++) {
      const want = p === child && i < CHILD_WRITTEN && i % 8 === 0 ? valueOf(i, 1) : valueOf(i, gen);
      const got = kernel.user.read8(base + i * PAGE);
      keys.push(kernelPageKey(p.pid, base + i * PAGE));
      if (got !== want) throw new Error(`swap scenario: pid ${p.pid} page ${i} reads ${got}, wrote ${want}: data lost`);
      checked++;
    }
  }
  return { keys, checked, processes: [prog, big, child] };
}

function devices(): MemorySwapDevice[] {
  return [new MemorySwapDevice({ slotCount: 320, name: 'nvme0n1p2', cost: 'nvme' }), new MemorySwapDevice({ slotCount: 1024, name: 'sda3', cost: 'disk' })];
}

function enable(kernel: Kernel, policy: PolicyName, keys: readonly number[] | null): SwapManager {
  const [nvme, disk] = devices();
  return kernel.enableSwap({
    devices: [
      { device: nvme!, priority: 10 },
      { device: disk!, priority: 1 },
    ],
    policy: createPolicy(policy, { seed: 17, tauNs: 400_000, sequence: keys ?? [] }),
    maxResidentPages: SWAP_DEMO_LIMIT_PAGES,
    // One sample per 20 simulated ms: the disk's 8 ms per page would otherwise mean a tick per I/O.
    tickNs: 20_000_000,
  });
}

function row(swap: SwapManager, policy: string, processes: readonly Process[]): SwapPolicyRow {
  const c = swap.counters;
  return {
    policy,
    faults: processes.reduce((n, p) => n + p.stats.faults, 0),
    majorFaults: c.majorFaults,
    minorFaults: c.minorFaults,
    swappedOut: c.swappedOut,
    swappedIn: c.swappedIn,
    fileDropped: c.fileDropped,
    cleanSwapEvictions: c.cleanSwapEvictions,
    scanned: c.scanned,
    directRuns: c.directRuns,
    thrashingSamples: swap.samples.filter((s) => s.thrashing).length,
    simulatedMs: swap.nowNs / 1e6,
  };
}

function slotMap(d: MemorySwapDevice, width = 64): string {
  const per = Math.ceil(d.slotCount / width);
  let out = '';
  for (let g = 0; g * per < d.slotCount; g++) {
    let used = 0;
    const end = Math.min(d.slotCount, (g + 1) * per);
    for (let s = g * per; s < end; s++) if (d.hasData(s)) used++;
    out += used === 0 ? '.' : used * 2 >= end - g * per ? '#' : '+';
  }
  return out;
}

/**
 * The scenario's work: Clock on the demo's kernel (already booted, no process yet), then every
 * policy on fresh 128 MiB kernels with `layout`.
 */
export function runSwapScenario(kernel: Kernel, program: { readonly name: string; readonly bytes: Uint8Array }, layout: LayoutName, phaseAccesses = 5_000, onProgress?: (done: number, total: number) => void): SwapDemoResult {
  const swap = enable(kernel, 'clock', null);
  const main = runSwapWorkload(kernel, program.bytes, program.name, phaseAccesses);
  const devs = swap.space.areas.map((a) => a.device as MemorySwapDevice);
  const result = {
    devices: devs.map((d, i) => ({ name: d.name, priority: swap.space.areas[i]!.priority, slots: d.slotCount, usedSlots: swap.space.areas[i]!.usedSlots, reads: d.reads, writes: d.writes, slotMap: slotMap(d) })),
    processes: main.processes.map((p) => ({ pid: p.pid, name: p.name, vmRssPages: p.stats.rssPages, vmSwapPages: p.stats.swapPages, majorFaults: p.stats.majorFaults, minorFaults: p.stats.minorFaults })),
    series: thin(swap.samples, 48),
  };
  kernel.checkInvariants();
  const rows: SwapPolicyRow[] = [];
  const names = POLICY_NAMES;
  names.forEach((name, i) => {
    // A small machine boots in milliseconds; the resident limit, not RAM, is what they share.
    const k = new Kernel(new Machine({ memoryMap: COMPARE_MACHINE }), { layout, events: new EventLog({ capacity: 1000, exclude: ['page-fault', 'frame-alloc', 'frame-free', 'tlb-flush', 'swap-out', 'reclaim', 'context-switch'] }) });
    k.boot();
    const s = enable(k, name, name === 'opt' ? main.keys : null);
    const run = runSwapWorkload(k, program.bytes, program.name, phaseAccesses);
    k.processes.checkInvariants();
    rows.push(row(s, name, run.processes));
    onProgress?.(i + 1, names.length);
  });
  return { limitPages: SWAP_DEMO_LIMIT_PAGES, bufferPages: SWAP_DEMO_BUFFER_PAGES, accesses: main.keys.length, ...result, rows, valuesChecked: main.checked };
}

function thin<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(xs[Math.floor((i * xs.length) / n)]!);
  return out;
}

/** The scenario step: runs everything and narrates the Clock run. */
export const swapStep: ScenarioStep = {
  id: 'swap',
  title: 'a process three times larger than its memory: swap, major faults, every policy compared',
  run(ctx) {
    const r = runSwapScenario(ctx.kernel, ctx.inputs.program, ctx.inputs.layout, ctx.inputs.swapPhaseAccesses ?? 5_000, (d, t) => ctx.progress(d, t));
    ctx.session.swap = r;
    const clock = ctx.kernel.swap!;
    const c = clock.counters;
    ctx.say(`swapon: ${r.devices.map((d) => `${d.name} (${d.slots} slots, priority ${d.priority})`).join(', ')}; at most ${r.limitPages} user pages resident; policy clock`);
    ctx.say(`${r.accesses} accesses: ${c.majorFaults} major faults (swap-ins), ${c.minorFaults} minor; ${c.swappedOut} pages written to swap, ${c.fileDropped} clean file pages dropped, ${c.cleanSwapEvictions} evicted clean from the swap cache, ${c.swapCacheHits} swap-cache hits`);
    ctx.say(`reclaim: ${c.directRuns} direct runs, ${c.backgroundRuns} kswapd runs, ${c.scanned} pages scanned; thrashing in ${clock.samples.filter((x) => x.thrashing).length} of ${clock.samples.length} samples`);
    ctx.say(`${r.valuesChecked} pages read back through the CPU: every value as written`);
    const best = [...r.rows].sort((a, b) => a.faults - b.faults)[0]!;
    ctx.say(`${r.rows.length} policies replayed the same accesses on fresh kernels: fewest faults ${best.policy} (${best.faults})`);
  },
};
