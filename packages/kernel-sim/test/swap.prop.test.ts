// Model-based: processes writing, reading, forking, exiting and changing rights under memory
// pressure, with every policy (OPT given the run's own recorded accesses) and several memory / swap sizes,
// against a value oracle per page. After every command: the process, swap and frame invariants
// (slot counts exactly the swap entries naming them plus the swap cache, VmSwap per process, every
// resident frame known to the policy, reference counts, no leak); kernel.checkInvariants() after
// every run. After all exits: no user frame and no swap slot left. Across the runs, every path
// must have been taken (swap-outs, swap-ins, swap-cache hits, clean drops, kswapd, OOM kills).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemorySwapDevice, POLICY_NAMES, PROT, ProcessKilledError, kernelPageKey, type Kernel, type Process, type SwapManager } from '../src/index';
import { PAGE, bootProcessKernel } from './process-helpers';

const PAGES = 12;
const OFFSET = 0x123;

interface Proc {
  p: Process;
  base: number;
  values: Map<number, number>;
  prot: number[];
}

type Cmd =
  | { kind: 'write'; proc: number; page: number; value: number }
  | { kind: 'read'; proc: number; page: number }
  | { kind: 'fork'; proc: number }
  | { kind: 'exit'; proc: number }
  | { kind: 'mprotect'; proc: number; page: number; pageCount: number; prot: number }
  | { kind: 'spawn' };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('write' as const), proc: fc.nat(5), page: fc.nat(PAGES - 1), value: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('read' as const), proc: fc.nat(5), page: fc.nat(PAGES - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fork' as const), proc: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('exit' as const), proc: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('mprotect' as const), proc: fc.nat(5), page: fc.nat(PAGES - 1), pageCount: fc.integer({ min: 1, max: 4 }), prot: fc.constantFrom(PROT.Read | PROT.Write, PROT.Read, PROT.None) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'spawn' as const }) },
);

function spawn(kernel: Kernel, procs: Proc[]): void {
  const p = kernel.createProcess({ name: 'model' });
  if (p === null) return;
  const base = p.mmap({ lengthBytes: PAGES * PAGE })!;
  procs.push({ p, base, values: new Map(), prot: new Array<number>(PAGES).fill(PROT.Read | PROT.Write) });
}

function gone(procs: Proc[], i: number): void {
  procs.splice(i, 1);
}

/** Runs the commands; the page key of every completed access goes to `keys` (OPT's sequence). */
function run(kernel: Kernel, swap: SwapManager, cmds: readonly Cmd[], keys: number[] = []): void {
  const procs: Proc[] = [];
  spawn(kernel, procs);
  for (const c of cmds) {
    if (c.kind === 'spawn') {
      if (procs.length < 4) spawn(kernel, procs);
    } else if (procs.length > 0) {
      const i = c.proc % procs.length;
      const m = procs[i]!;
      if (c.kind === 'write' || c.kind === 'read') {
        const va = m.base + c.page * PAGE + OFFSET;
        const allowed = c.kind === 'write' ? (m.prot[c.page]! & PROT.Write) !== 0 : m.prot[c.page] !== PROT.None;
        kernel.switchTo(m.p.pid);
        try {
          if (c.kind === 'write') {
            kernel.user.write8(va, c.value);
            m.values.set(c.page, c.value);
          } else expect(kernel.user.read8(va)).toBe(m.values.get(c.page) ?? 0);
          keys.push(kernelPageKey(m.p.pid, va));
          expect(allowed).toBe(true);
        } catch (e) {
          if (!(e instanceof ProcessKilledError)) throw e;
          if (e.record.signal === 'SIGKILL') expect(swap.counters.swapFull).toBeGreaterThan(0);
          else expect(allowed).toBe(false);
          gone(procs, i);
        }
      } else if (c.kind === 'fork') {
        if (procs.length < 5) {
          const child = kernel.fork(m.p.pid);
          if (child !== null) procs.push({ p: child, base: m.base, values: new Map(m.values), prot: [...m.prot] });
        }
      } else if (c.kind === 'exit') {
        m.p.exit(0);
        gone(procs, i);
      } else {
        const count = Math.min(c.pageCount, PAGES - c.page);
        m.p.mprotect(m.base + c.page * PAGE, count * PAGE, c.prot);
        for (let k = 0; k < count; k++) m.prot[c.page + k] = c.prot;
      }
    }
    kernel.processes.checkInvariants();
    kernel.frames.checkInvariants();
  }
  for (const m of procs) m.p.exit(0);
  kernel.checkInvariants();
  expect(swap.residentPages).toBe(0);
  expect(swap.space.usedSlots).toBe(0);
  expect(swap.space.cachedPages).toBe(0);
  expect(kernel.frames.usageByOwner().user).toBe(0);
}

const CONFIGS = [
  { name: 'limit 4 pages, 64 slots on two devices', limit: 4, slots: [32, 32] },
  { name: 'limit 9 pages, 24 slots', limit: 9, slots: [24] },
  { name: 'watermarks only (kswapd and direct reclaim), 64 slots', limit: 0, slots: [64] },
  { name: 'limit 6 pages, 10 slots (swap fills: OOM kills)', limit: 6, slots: [10] },
];

// Always run first (fast-check's `examples`): a fork whose sharers read the same swapped-out pages
// in turn, so the swap cache and a clean eviction are taken whatever the random draws are.
const SWAP_CACHE_EXAMPLE: Cmd[] = [
  ...Array.from({ length: PAGES }, (_, page): Cmd => ({ kind: 'write', proc: 0, page, value: page + 1 })),
  { kind: 'fork', proc: 0 },
  ...[0, 1, 2].flatMap((page): Cmd[] => [
    { kind: 'read', proc: 0, page },
    { kind: 'read', proc: 1, page },
  ]),
  ...Array.from({ length: PAGES }, (_, page): Cmd => ({ kind: 'read', proc: 1, page })),
];

let optSwapIns = 0;
const seen = { swappedOut: 0, swappedIn: 0, swapCacheHits: 0, cleanSwapEvictions: 0, backgroundRuns: 0, swapFull: 0 };

describe('swap under memory pressure (model-based, value oracle)', () => {
  for (const config of CONFIGS) {
    it(`reads back every value, counts every slot, frees everything: ${config.name}`, () => {
      fc.assert(
        fc.property(fc.constantFrom(...POLICY_NAMES.filter((n) => n !== 'opt')), fc.array(cmd, { minLength: 40, maxLength: 80 }), (policy, cmds) => {
          const kernel = bootProcessKernel({ ramMiB: 32 });
          const free = kernel.pmm.freeFrames;
          const swap = kernel.enableSwap({
            devices: config.slots.map((n, k) => ({ device: new MemorySwapDevice({ slotCount: n, cost: 'nvme' }), priority: k === 0 ? 5 : 1 })),
            policy,
            policyOptions: { seed: 3, tauNs: 500 },
            tickNs: 700,
            ...(config.limit > 0 ? { maxResidentPages: config.limit } : { watermarks: { minFrames: free - 24, lowFrames: free - 20, highFrames: free - 16 } }),
          });
          run(kernel, swap, cmds);
          for (const k of Object.keys(seen) as (keyof typeof seen)[]) seen[k] += swap.counters[k];
        }),
        { numRuns: 6, examples: [['clock', SWAP_CACHE_EXAMPLE]] },
      );
    });
  }

  // OPT needs the future: the same commands run first under FIFO, recording every access's page
  // key; OPT then runs them with that sequence (enough slots that no swap-full OOM kill can make
  // the two runs differ: OPT would stop with OptSequenceError) and must read back every value too.
  // (OPT's fault count is compared with the others' in swap-classic.test.ts, on reference strings:
  // with fork, COW sharing and the swap cache Belady's optimality is not a theorem.)
  it('reads back every value under OPT given the run\'s recorded accesses', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 9 }), fc.array(cmd, { minLength: 40, maxLength: 80 }), (limit, cmds) => {
        const boot = (policy: 'fifo' | 'opt', sequence: readonly number[]): { kernel: Kernel; swap: SwapManager } => {
          const kernel = bootProcessKernel({ ramMiB: 32 });
          const swap = kernel.enableSwap({ devices: [new MemorySwapDevice({ slotCount: 128, cost: 'nvme' })], policy, policyOptions: { sequence }, maxResidentPages: limit, tickNs: 700 });
          return { kernel, swap };
        };
        const fifo = boot('fifo', []);
        const keys: number[] = [];
        run(fifo.kernel, fifo.swap, cmds, keys);
        expect(fifo.swap.counters.swapFull).toBe(0);
        const opt = boot('opt', keys);
        run(opt.kernel, opt.swap, cmds);
        optSwapIns += opt.swap.counters.swappedIn;
      }),
      { numRuns: 6, examples: [[3, SWAP_CACHE_EXAMPLE]] },
    );
  });

  it('took every path across the runs above', () => {
    for (const [k, n] of Object.entries(seen)) expect(n, k).toBeGreaterThan(0);
    expect(optSwapIns, 'OPT swap-ins').toBeGreaterThan(0);
  });
});
