// Model-based: processes writing, reading, forking and exiting under memory pressure while swap
// devices are turned off and on again, against a value oracle per page. swapoff either removes the
// device (no slot of it left, no PTE naming it: checkInvariants would find a swap entry whose type
// names no device) or fails with E_SWAPOFF_NOMEM: refused up front with nothing changed, or part
// way with the device still in use. The process and swap invariants after every command,
// kernel.checkInvariants() after each run; every value reads
// back as written; after all exits nothing is left.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemorySwapDevice, POLICY_NAMES, ProcessKilledError, SwapoffNoMemoryError, handleType, type Kernel, type Process, type SwapManager } from '../src/index';
import { PAGE, bootProcessKernel } from './process-helpers';

const PAGES = 10;

interface Proc {
  p: Process;
  base: number;
  values: Map<number, number>;
}

type Cmd =
  | { kind: 'write'; proc: number; page: number; value: number }
  | { kind: 'read'; proc: number; page: number }
  | { kind: 'fork'; proc: number }
  | { kind: 'exit'; proc: number }
  | { kind: 'swapoff'; device: number }
  | { kind: 'swapon'; device: number };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('write' as const), proc: fc.nat(4), page: fc.nat(PAGES - 1), value: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('read' as const), proc: fc.nat(4), page: fc.nat(PAGES - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fork' as const), proc: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('exit' as const), proc: fc.nat(4) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('swapoff' as const), device: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('swapon' as const), device: fc.nat(2) }) },
);

const seen = { removed: 0, refused: 0, partial: 0, restored: 0 };

/**
 * A run drawn once that removes a device with pages brought back (entriesRestored > 0). It runs
 * first in every call, so the coverage check below holds whatever the random draws are (twelve
 * random runs alone missed the path about one call in a few dozen).
 */
const RESTORING_RUN: [string, number, Cmd[]] = ['two-list', 4, [{kind: 'swapon', device: 0}, {kind: 'write', proc: 3, page: 6, value: 5}, {kind: 'swapoff', device: 2}, {kind: 'write', proc: 0, page: 7, value: 251}, {kind: 'read', proc: 2, page: 2}, {kind: 'fork', proc: 0}, {kind: 'read', proc: 3, page: 3}, {kind: 'write', proc: 4, page: 6, value: 206}, {kind: 'read', proc: 2, page: 1}, {kind: 'write', proc: 0, page: 8, value: 254}, {kind: 'exit', proc: 3}, {kind: 'write', proc: 0, page: 3, value: 215}, {kind: 'read', proc: 0, page: 6}, {kind: 'write', proc: 1, page: 7, value: 93}, {kind: 'write', proc: 0, page: 9, value: 240}, {kind: 'read', proc: 4, page: 1}, {kind: 'swapoff', device: 2}, {kind: 'read', proc: 3, page: 0}, {kind: 'write', proc: 0, page: 2, value: 218}, {kind: 'fork', proc: 2}, {kind: 'write', proc: 2, page: 0, value: 174}, {kind: 'read', proc: 0, page: 9}, {kind: 'write', proc: 4, page: 6, value: 1}, {kind: 'swapon', device: 0}, {kind: 'read', proc: 3, page: 7}, {kind: 'swapoff', device: 1}, {kind: 'fork', proc: 0}, {kind: 'swapon', device: 2}, {kind: 'swapon', device: 1}, {kind: 'swapon', device: 2}, {kind: 'read', proc: 1, page: 3}]];


function access(kernel: Kernel, procs: Proc[], i: number, c: Extract<Cmd, { kind: 'write' | 'read' }>): void {
  const m = procs[i]!;
  kernel.switchTo(m.p.pid);
  const va = m.base + c.page * PAGE + 0x45;
  try {
    if (c.kind === 'write') {
      kernel.user.write8(va, c.value);
      m.values.set(c.page, c.value);
    } else expect(kernel.user.read8(va)).toBe(m.values.get(c.page) ?? 0);
  } catch (e) {
    // Swap full (a device is off or small): the OOM killer took the process, as without swap.
    if (!(e instanceof ProcessKilledError) || e.record.signal !== 'SIGKILL') throw e;
    procs.splice(i, 1);
  }
}

function swapoffStep(swap: SwapManager, device: MemorySwapDevice): void {
  const type = swap.space.typeOf(device);
  if (type < 0) return;
  const slots = swap.space.slotCounts();
  const resident = swap.residentPages;
  try {
    const r = swap.swapoff(device);
    expect(r.type).toBe(type);
    expect(swap.space.typeOf(device)).toBe(-1);
    expect([...swap.space.slotCounts().keys()].some((h) => handleType(h) === type && swap.space.area(type)?.device === device)).toBe(false);
    seen.removed++;
    seen.restored += r.entriesRestored;
  } catch (e) {
    if (!(e instanceof SwapoffNoMemoryError)) throw e;
    expect(e.code).toBe('E_SWAPOFF_NOMEM');
    expect(swap.space.typeOf(device)).toBe(type);
    if (e.pagesRestored === 0 && swap.residentPages === resident) {
      expect(swap.space.slotCounts()).toEqual(slots);
      seen.refused++;
    } else seen.partial++;
  }
}

function run(kernel: Kernel, swap: SwapManager, devices: readonly MemorySwapDevice[], cmds: readonly Cmd[]): void {
  const procs: Proc[] = [];
  for (let k = 0; k < 2; k++) {
    const p = kernel.createProcess({ name: 'model' })!;
    procs.push({ p, base: p.mmap({ lengthBytes: PAGES * PAGE })!, values: new Map() });
  }
  for (const c of cmds) {
    if (c.kind === 'swapoff') swapoffStep(swap, devices[c.device]!);
    else if (c.kind === 'swapon') {
      if (swap.space.typeOf(devices[c.device]!) < 0) swap.swapon(devices[c.device]!, { priority: c.device });
    } else if (procs.length > 0) {
      const i = c.proc % procs.length;
      const m = procs[i]!;
      if (c.kind === 'write' || c.kind === 'read') access(kernel, procs, i, c);
      else if (c.kind === 'fork') {
        const child = procs.length < 5 ? kernel.fork(m.p.pid) : null;
        if (child !== null) procs.push({ p: child, base: m.base, values: new Map(m.values) });
      } else {
        m.p.exit(0);
        procs.splice(i, 1);
      }
    }
    kernel.processes.checkInvariants();
    swap.checkInvariants();
  }
  kernel.checkInvariants();
  // Every value reads back as written, then everything is freed.
  for (const m of [...procs]) {
    for (let page = 0; page < PAGES && procs.includes(m); page++) access(kernel, procs, procs.indexOf(m), { kind: 'read', proc: 0, page });
  }
  for (const m of procs) m.p.exit(0);
  kernel.checkInvariants();
  expect(swap.space.usedSlots).toBe(0);
  expect(swap.residentPages).toBe(0);
  expect(kernel.frames.usageByOwner().user).toBe(0);
}

describe('swapoff under memory pressure (model-based, value oracle)', () => {
  it('removes a device with every page back in memory, or refuses it with E_SWAPOFF_NOMEM, never losing a value', () => {
    fc.assert(
      fc.property(fc.constantFrom(...POLICY_NAMES.filter((n) => n !== 'opt')), fc.integer({ min: 3, max: 12 }), fc.array(cmd, { minLength: 30, maxLength: 70 }), (policy, limit, cmds) => {
        const kernel = bootProcessKernel({ ramMiB: 32 });
        const devices = [16, 24, 40].map((n, k) => new MemorySwapDevice({ slotCount: n, name: `swap${k}`, cost: 'free' }));
        const swap = kernel.enableSwap({ devices: devices.map((device, k) => ({ device, priority: k })), policy, policyOptions: { seed: 5, tauNs: 500 }, maxResidentPages: limit, tickNs: 900 });
        run(kernel, swap, devices, cmds);
      }),
      { numRuns: 12, examples: [RESTORING_RUN] },
    );
  }, 120_000);

  // (A refusal up front is drawn in about one run in three, a failure part way rarely: the unit
  // tests in swapoff.test.ts take the refusal every time. The removal with pages brought back is
  // taken by RESTORING_RUN in every call.)
  it('took the removal path, with pages brought back, across the runs above', () => {
    expect(seen.removed).toBeGreaterThan(0);
    expect(seen.restored).toBeGreaterThan(0);
  });
});
