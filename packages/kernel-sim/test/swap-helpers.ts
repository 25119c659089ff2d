// Shared by the swap tests: a small booted kernel with swap enabled, and a reference string run
// through a real process (every access a user-mode access through the CPU and the page tables).
import { MemorySwapDevice, type Kernel, type PolicyName, type ReplacementPolicy, type SwapManager, type SwapOptions, createPolicy, kernelPageKey } from '../src/index';
import { PAGE, bootProcessKernel } from './process-helpers';

/** A kernel with `ramMiB` of RAM (default 32) and swap: one free-cost device of `slotCount` slots. */
export function bootSwapKernel(options: SwapOptions & { ramMiB?: number; slotCount?: number } = {}): { kernel: Kernel; swap: SwapManager } {
  const kernel = bootProcessKernel({ ramMiB: options.ramMiB ?? 32 });
  const { ramMiB: _r, slotCount, ...swapOptions } = options;
  const swap = kernel.enableSwap({ devices: [new MemorySwapDevice({ slotCount: slotCount ?? 1024, cost: 'free' })], tickNs: 0, ...swapOptions });
  return { kernel, swap };
}

/**
 * Runs page numbers `refs` as reads of pages of one anonymous mapping in a fresh process, with at
 * most `frameCount` resident user pages, under `policy`. The OPT policy is given the real
 * sequence of page keys. @returns the process's page faults and the swap manager
 */
export function runReferenceStringInKernel(policy: PolicyName, refs: readonly number[], frameCount: number, options: { writes?: readonly boolean[]; check?: boolean } = {}): { faults: number; majorFaults: number; swap: SwapManager; kernel: Kernel } {
  const kernel = bootProcessKernel({ ramMiB: 32 });
  const p = kernel.createProcess({ name: 'refs' })!;
  const pages = Math.max(...refs) + 1;
  const base = p.mmap({ lengthBytes: pages * PAGE })!;
  const made: ReplacementPolicy = createPolicy(policy, { seed: 7, tauNs: 300, sequence: refs.map((r) => kernelPageKey(p.pid, base + r * PAGE)) });
  const swap = kernel.enableSwap({ devices: [new MemorySwapDevice({ slotCount: pages + 8, cost: 'free' })], policy: made, maxResidentPages: frameCount, tickNs: 400 });
  refs.forEach((r, i) => {
    const outcome = p.touch(base + r * PAGE, options.writes?.[i] === true ? 'write' : 'read', i & 0xff);
    if (outcome !== 'ok') throw new Error(`access ${i} of page ${r}: ${outcome}`);
    if (options.check === true) kernel.checkInvariants();
  });
  return { faults: p.stats.faults, majorFaults: p.stats.majorFaults, swap, kernel };
}
