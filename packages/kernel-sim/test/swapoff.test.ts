// swapoff(8), as Linux's try_to_unuse: every page on the device comes back into memory (every
// copy-on-write sharer's PTE maps the one frame), its slots' counts fall to zero, the device goes
// and its swap type is free again; a device whose pages cannot fit is refused before anything
// changes; a device not in use is a typed error.
import { describe, expect, it } from 'vitest';
import { MemorySwapDevice, SwapoffDeviceError, SwapoffNoMemoryError, handleType, type Kernel, type Process, type SwapManager } from '../src/index';
import { PAGE, bootProcessKernel } from './process-helpers';

function setup(limit: number, slots: readonly number[]): { kernel: Kernel; swap: SwapManager; devices: MemorySwapDevice[] } {
  const kernel = bootProcessKernel({ ramMiB: 32 });
  const devices = slots.map((n, i) => new MemorySwapDevice({ slotCount: n, name: `swap${i}`, cost: 'nvme' }));
  const swap = kernel.enableSwap({ devices: devices.map((device, i) => ({ device, priority: 10 - i })), policy: 'clock', maxResidentPages: limit, tickNs: 0 });
  return { kernel, swap, devices };
}

function writePages(p: Process, base: number, pageCount: number, value: (i: number) => number): void {
  for (let i = 0; i < pageCount; i++) expect(p.touch(base + i * PAGE, 'write', value(i))).toBe('ok');
}

function readBack(kernel: Kernel, p: Process, base: number, pageCount: number): number[] {
  kernel.switchTo(p.pid);
  return Array.from({ length: pageCount }, (_, i) => kernel.user.read8(base + i * PAGE));
}

function slotsOf(swap: SwapManager, type: number): number {
  return [...swap.space.slotCounts().keys()].filter((h) => handleType(h) === type).length;
}

describe('SwapManager.swapoff', () => {
  it('brings every page of the device back, each copy-on-write sharer mapping the same frame, and removes the device', () => {
    const { kernel, swap, devices } = setup(48, [24, 256]);
    const p = kernel.createProcess({ name: 'big' })!;
    const base = p.mmap({ lengthBytes: 64 * PAGE })!;
    writePages(p, base, 64, (i) => i + 1);
    const child = kernel.fork(p.pid)!;
    // Pages 0..15 went out first (Clock takes the oldest after one turn): the first 24 slots are on swap0.
    expect(slotsOf(swap, 0)).toBe(16);
    expect(swap.describeEntry(p, base)).toMatch(/type 0 "swap0", slot 0, 2 references/);
    // The limit stays 48: 16 pages come back, reclaim sends 16 others to swap1.
    const before = swap.counters.majorFaults;
    const r = swap.swapoff(devices[0]!);
    kernel.checkInvariants();
    expect(r).toEqual({ type: 0, entriesRestored: 32, pagesRead: 16 });
    expect(swap.counters.majorFaults).toBe(before); // not faults of the processes
    expect(swap.space.areas.map((a) => a.device.name)).toEqual(['swap1']);
    expect(swap.space.area(0)).toBeUndefined();
    // Both sharers map one frame, read-only copy-on-write.
    const parentView = swap.describeEntry(p, base);
    expect(parentView).toMatch(/^resident in frame/);
    expect(swap.describeEntry(child, base)).toBe(parentView);
    expect(readBack(kernel, p, base, 64)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    expect(readBack(kernel, child, base, 64)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    // The type is free again: the next swapon takes it.
    expect(swap.swapon(new MemorySwapDevice({ slotCount: 8, name: 'swap2' }))).toBe(0);
    kernel.checkInvariants();
    p.exit(0);
    child.exit(0);
    expect(swap.space.usedSlots).toBe(0);
  });

  it('refuses, before anything changes, a device whose pages cannot fit in memory and the other devices', () => {
    const { kernel, swap, devices } = setup(8, [64, 4]);
    const p = kernel.createProcess({ name: 'big' })!;
    const base = p.mmap({ lengthBytes: 40 * PAGE })!;
    writePages(p, base, 40, (i) => 200 - i);
    const slots = swap.space.slotCounts();
    const counters = { ...swap.counters };
    const resident = swap.residentPages;
    let error: unknown;
    try {
      swap.swapoff(devices[0]!);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SwapoffNoMemoryError);
    expect((error as SwapoffNoMemoryError).code).toBe('E_SWAPOFF_NOMEM');
    expect((error as SwapoffNoMemoryError).pagesRestored).toBe(0);
    expect((error as Error).message).toMatch(/32 page\(s\) to bring back, room for 4/);
    expect(swap.space.slotCounts()).toEqual(slots);
    expect(swap.counters).toEqual(counters);
    expect(swap.residentPages).toBe(resident);
    expect(swap.space.areas).toHaveLength(2);
    kernel.checkInvariants();
    // The device still takes new pages.
    writePages(p, base, 40, (i) => i);
    expect(readBack(kernel, p, base, 40)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    kernel.checkInvariants();
  });

  it('gives a slot held only by the swap cache to its frame', () => {
    const { kernel, swap, devices } = setup(4, [32, 32]);
    const p = kernel.createProcess({ name: 'a' })!;
    const base = p.mmap({ lengthBytes: 8 * PAGE })!;
    writePages(p, base, 8, (i) => i + 7);
    const child = kernel.fork(p.pid)!;
    // The parent reads page 0 back: the frame stays in the swap cache for the child's entry...
    expect(readBack(kernel, p, base, 1)).toEqual([7]);
    expect(swap.space.cachedPages).toBe(1);
    // ... whose entry then goes with munmap: only the cache holds the slot.
    child.munmap(base, PAGE);
    expect(swap.space.cachedPages).toBe(1);
    swap.swapoff(devices[0]!);
    kernel.checkInvariants();
    expect(swap.space.cachedPages).toBe(0);
    expect(swap.space.areas.map((a) => a.device.name)).toEqual(['swap1']);
    expect(readBack(kernel, p, base, 8)).toEqual([7, 8, 9, 10, 11, 12, 13, 14]);
  });

  it('refuses a device that is not in use (E_SWAPOFF_DEVICE)', () => {
    const { swap, devices } = setup(8, [16]);
    const other = new MemorySwapDevice({ slotCount: 16, name: 'sdz' });
    expect(() => swap.swapoff(other)).toThrow(SwapoffDeviceError);
    expect(() => swap.swapoff(other)).toThrow(/sdz is not an active swap device/);
    swap.swapoff(devices[0]!);
    expect(() => swap.swapoff(devices[0]!)).toThrow(expect.objectContaining({ code: 'E_SWAPOFF_DEVICE' }));
    // Not a device at all: the same typed error, not a TypeError.
    for (const garbage of [null, undefined, 7, 'swap0', {}]) expect(() => swap.swapoff(garbage as MemorySwapDevice)).toThrow(SwapoffDeviceError);
  });
});
