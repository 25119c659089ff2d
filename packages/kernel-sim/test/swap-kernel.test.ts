// Swap inside the kernel, one behaviour at a time: copy-on-write sharers and the swap cache, file
// pages dropped and re-read, written file pages swapped, swap full, corrupted entries, misbehaving
// policies, watermarks and kswapd, the Accessed bit and the TLB, statistics.
import { describe, expect, it } from 'vitest';
import {
  FifoPolicy,
  KernelPanic,
  KernelStateError,
  MemorySwapDevice,
  PROT,
  PolicyVictimError,
  SwapDeviceSizeError,
  SwapOptionError,
  kernelPageKey,
  swapEntryHi,
  swapEntryLo,
  watermarksFor,
  type PageSignals,
  type Process,
} from '../src/index';
import { Kernel, Machine } from '../src/index';
import { PAGE, bootProcessKernel, elfFixture, ramMap } from './process-helpers';
import { bootSwapKernel } from './swap-helpers';

function fill(p: Process, pageCount: number, mappedPages = pageCount): number {
  const value = (i: number): number => i + 1;
  const base = p.mmap({ lengthBytes: mappedPages * PAGE })!;
  for (let i = 0; i < pageCount; i++) expect(p.touch(base + i * PAGE, 'write', value(i))).toBe('ok');
  return base;
}

function read(kernel: Kernel, p: Process, va: number): number {
  kernel.switchTo(p.pid);
  return kernel.user.read8(va);
}

describe('swap in the kernel', () => {
  it('gives every copy-on-write sharer the same swap entry, counts the slot, and shares the page through the swap cache', () => {
    const { kernel, swap } = bootSwapKernel({ maxResidentPages: 16 });
    const parent = kernel.createProcess({ name: 'parent' })!;
    const base = fill(parent, 4);
    const child = kernel.fork(parent.pid)!;
    expect(swap.residentPages).toBe(4);
    expect(swap.reclaim(4, true)).toBe(4);
    kernel.checkInvariants();
    const entry = swap.describeEntry(parent, base);
    expect(entry).toMatch(/^swap entry 0x.*2 references\)$/);
    expect(swap.describeEntry(child, base)).toBe(entry);
    expect([parent.stats.swapPages, child.stats.swapPages, parent.stats.rssPages, swap.space.usedSlots]).toEqual([4, 4, 0, 4]);
    // The child's read is a major fault; the page stays in the swap cache for the parent.
    expect(read(kernel, child, base)).toBe(1);
    expect([child.stats.majorFaults, swap.space.cachedPages, swap.space.count(swap.space.slotOfFrame(child.translate(base)))]).toEqual([1, 1, 2]);
    // The parent's read is a minor fault on the same frame; the slot is then free.
    expect(read(kernel, parent, base)).toBe(1);
    expect([parent.stats.majorFaults, swap.counters.swapCacheHits, parent.translate(base) === child.translate(base)]).toEqual([0, 1, true]);
    expect([swap.space.usedSlots, swap.space.cachedPages]).toEqual([3, 0]);
    expect(child.pageInfo(base)).toMatchObject({ copyOnWrite: true, writable: false, refCount: 2 });
    // A write copies: each keeps its own value.
    expect(child.touch(base, 'write', 99)).toBe('ok');
    expect([read(kernel, child, base), read(kernel, parent, base)]).toEqual([99, 1]);
    kernel.checkInvariants();
    child.exit(0);
    parent.exit(0);
    expect([swap.space.usedSlots, swap.residentPages, kernel.frames.usageByOwner().user]).toEqual([0, 0, 0]);
  });

  it('copies on write, rather than reuse, a frame whose swap-cache slot other sharers still name', () => {
    const { kernel, swap } = bootSwapKernel({ maxResidentPages: 16 });
    const a = kernel.createProcess()!;
    const base = fill(a, 1);
    const b = kernel.fork(a.pid)!;
    swap.reclaim(1, true);
    expect(read(kernel, a, base)).toBe(1); // a maps the cached frame alone; b's PTE still names the slot
    expect(a.touch(base, 'write', 7)).toBe('ok');
    expect(a.stats.cowCopies).toBe(1);
    expect([read(kernel, b, base), read(kernel, a, base)]).toEqual([1, 7]);
    kernel.checkInvariants();
  });

  it('drops clean file pages (re-read from the ELF file) and swaps written private file pages', () => {
    const { kernel, swap } = bootSwapKernel({ maxResidentPages: 64 });
    const p = kernel.exec(undefined, elfFixture('busybox-static'), ['busybox'])!;
    const entry = p.image!.entry;
    const data = p.regions().find((r) => r.backing !== null && (r.prot & PROT.Write) !== 0)!;
    expect(p.touch(entry, 'execute')).toBe('ok');
    expect(p.touch(data.start, 'write', 0x5a)).toBe('ok');
    swap.reclaim(swap.residentPages, true);
    kernel.checkInvariants();
    expect(swap.counters.fileDropped).toBeGreaterThanOrEqual(1);
    expect(swap.describeEntry(p, entry)).toBe('no page');
    expect(swap.describeEntry(p, data.start)).toMatch(/^swap entry/);
    const seq = kernel.events.emitted;
    expect(p.touch(entry, 'execute')).toBe('ok');
    expect(read(kernel, p, data.start)).toBe(0x5a);
    const resolutions = kernel.events.all().filter((e) => e.seq > seq && e.kind === 'page-fault').map((e) => (e.kind === 'page-fault' ? e.resolution : ''));
    expect(resolutions).toEqual(['lazy-file', 'swap-in']);
  });

  it('OOM-kills the faulting process when swap is full, as without swap', () => {
    const { kernel, swap } = bootSwapKernel({ maxResidentPages: 4, slotCount: 2 });
    const p = kernel.createProcess()!;
    const base = p.mmap({ lengthBytes: 16 * PAGE })!;
    let outcome = 'ok';
    for (let i = 0; i < 16 && outcome === 'ok'; i++) outcome = p.touch(base + i * PAGE, 'write', 1);
    expect(outcome).toBe('oom-kill');
    expect(p.killed?.reason).toBe('out-of-memory');
    expect(swap.counters.swapFull).toBeGreaterThan(0);
    kernel.checkInvariants();
    expect([swap.space.usedSlots, swap.residentPages]).toEqual([0, 0]);
  });

  it('panics with a report naming a corrupted swap entry (no device, slot beyond the device, stray bits)', () => {
    for (const [lo, hi, says] of [
      [swapEntryLo(7, 0), swapEntryHi(7, 0), /swap type 7 names no device/],
      [swapEntryLo(0, 5000), swapEntryHi(0, 5000), /slot 5000 is beyond device 0/],
      [swapEntryLo(0, 0) | 0x20, swapEntryHi(0, 0), /bits outside the swap entry layout/],
    ] as const) {
      const { kernel, swap } = bootSwapKernel({ maxResidentPages: 4 });
      const p = kernel.createProcess()!;
      const base = fill(p, 1);
      swap.reclaim(1, true);
      p.pages_.lookup(base);
      p.pages_.writeLeaf(base, lo, hi);
      let report = '';
      try {
        p.touch(base, 'read');
      } catch (e) {
        expect(e).toBeInstanceOf(KernelPanic);
        report = (e as KernelPanic).report.reason;
      }
      expect(report).toMatch(/corrupted swap entry 0x[0-9a-f_]+ at 0x0000_/);
      expect(report).toMatch(says);
      expect(kernel.state).toBe('panicked');
    }
  });

  it('refuses a policy that returns a page it was not offered (a kernel frame) or a pinned one', () => {
    class Liar extends FifoPolicy {
      override readonly name = 'liar';
      choice = -1;
      override selectVictim(signals: PageSignals, now: number): number {
        return this.choice >= 0 ? this.choice : super.selectVictim(signals, now);
      }
    }
    const liar = new Liar();
    const kernel = bootProcessKernel({ ramMiB: 32 });
    const swap = kernel.enableSwap({ devices: [new MemorySwapDevice({ slotCount: 64 })], policy: liar, maxResidentPages: 2, tickNs: 0 });
    const p = kernel.createProcess()!;
    const base = fill(p, 2, 4);
    liar.choice = p.root / PAGE; // the PML4: never offered
    expect(() => p.touch(base + 2 * PAGE, 'write', 1)).toThrow(PolicyVictimError);
    expect(swap.residentPages).toBe(2);
    kernel.checkInvariants();
    // A COW copy pins its source frame while reclaim finds room for the copy.
    const child = kernel.fork(p.pid)!;
    liar.choice = child.translate(base) / PAGE;
    let error: unknown = null;
    try {
      child.touch(base, 'write', 5);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyVictimError);
    expect((error as PolicyVictimError).why).toBe('pinned');
    kernel.checkInvariants();
  });

  it('wakes kswapd below the low watermark (it reclaims to high on the clock) and reclaims directly at min', () => {
    const kernel = bootProcessKernel({ ramMiB: 32 });
    const free = kernel.pmm.freeFrames;
    const swap = kernel.enableSwap({ devices: [new MemorySwapDevice({ slotCount: 256 })], watermarks: { minFrames: free - 40, lowFrames: free - 20, highFrames: free - 10 }, tickNs: 0 });
    const p = kernel.createProcess()!;
    const base = p.mmap({ lengthBytes: 64 * PAGE })!;
    for (let i = 0; i < 24; i++) p.touch(base + i * PAGE, 'write', i + 1);
    expect(swap.counters.backgroundRuns).toBeGreaterThan(0);
    expect(swap.counters.reclaimedBackground).toBeGreaterThan(0);
    expect(kernel.pmm.freeFrames).toBeGreaterThanOrEqual(free - 21);
    const quiet = bootProcessKernel({ ramMiB: 32 });
    const f2 = quiet.pmm.freeFrames;
    const s2 = quiet.enableSwap({ devices: [new MemorySwapDevice({ slotCount: 256 })], watermarks: { minFrames: f2 - 30, lowFrames: f2 - 20, highFrames: f2 - 10 }, kswapdDelayNs: 1e12, tickNs: 0 });
    const q = quiet.createProcess()!;
    const b2 = q.mmap({ lengthBytes: 64 * PAGE })!;
    for (let i = 0; i < 64; i++) expect(q.touch(b2 + i * PAGE, 'write', i + 1)).toBe('ok');
    expect([s2.counters.backgroundRuns, s2.counters.directRuns > 0, s2.kswapdAwake]).toEqual([0, true, true]);
    for (let i = 0; i < 64; i++) expect(read(quiet, q, b2 + i * PAGE)).toBe(i + 1);
    quiet.checkInvariants();
  });

  it('scales default watermarks to RAM as Linux does, and refuses inconsistent ones', () => {
    expect(watermarksFor(262_144)).toEqual({ minFrames: 1024, lowFrames: 1280, highFrames: 1536 }); // 1 GiB: min_free_kbytes 4096
    expect(watermarksFor(256).minFrames).toBe(32); // clamped to 128 KiB
    expect(watermarksFor(2 ** 32).minFrames).toBe(65_536); // clamped to 256 MiB
    expect(() => watermarksFor(1000, { minFrames: 10, lowFrames: 5 })).toThrow(SwapOptionError);
  });

  it('Clock clears A in the PTE and invalidates the TLB entry, so the next access walks and sets A again', () => {
    const { kernel, swap } = bootSwapKernel({ maxResidentPages: 8 });
    const p = kernel.createProcess()!;
    const base = fill(p, 1);
    const frame = p.translate(base);
    const tlb = kernel.machine.cpu.tlb!;
    const cached = (): boolean => tlb.entries().some((e) => e.va === base);
    expect([p.pageInfo(base)!.accessed, cached()]).toEqual([true, true]);
    expect(swap.pageSignals.testAndClearAccessed(frame / PAGE)).toBe(true);
    expect([p.pageInfo(base)!.accessed, cached()]).toEqual([false, false]); // SDM 4.10.4.1: INVLPG
    expect(p.touch(base, 'read')).toBe('ok');
    expect(p.pageInfo(base)!.accessed).toBe(true); // SDM 4.8: the walk sets A
    // Without the INVLPG (A cleared behind the TLB's back) the access hits the TLB: A stays clear.
    p.pages_.lookup(base);
    const { lo, hi } = p.pages_;
    kernel.tableAccess.writeEntry(1, base, p.pages_.ptFrame, (base / PAGE) & 511, lo & ~0x20, hi);
    expect(p.touch(base, 'read')).toBe('ok');
    expect(p.pageInfo(base)!.accessed).toBe(false);
  });

  it('reports VmRSS, VmSwap, faults, a working-set series and a thrashing signal', () => {
    const { kernel, swap } = bootSwapKernel({ maxResidentPages: 32, policy: 'lru', tickNs: 20_000, workingSetTicks: 16, workingSetScanAccesses: 8 });
    const p = kernel.createProcess()!;
    const base = fill(p, 64);
    // Cycling over 64 pages with room for 32 under LRU: every access misses.
    for (let round = 0; round < 40; round++) for (let i = 0; i < 64; i++) p.touch(base + i * PAGE, 'read');
    expect([p.stats.rssPages, p.stats.swapPages]).toEqual([32, 32]);
    expect(p.stats.majorFaults).toBe(40 * 64);
    expect(p.stats.minorFaults).toBe(64);
    const last = swap.samples[swap.samples.length - 1]!;
    expect(last.thrashing).toBe(true);
    expect(last.workingSetPages).toBe(32);
    // A working set that fits: the signal goes away.
    for (let round = 0; round < 400; round++) for (let i = 0; i < 16; i++) p.touch(base + i * PAGE, 'read');
    expect(swap.samples[swap.samples.length - 1]!.thrashing).toBe(false);
    expect(swap.samples[swap.samples.length - 1]!.workingSetPages).toBe(16);
    expect(kernelPageKey(2, 0x5000)).toBe(2 * 2 ** 36 + 5);
  });

  it('refuses bad swap options, a second enable, and enabling while processes hold memory', () => {
    expect(() => new MemorySwapDevice({ slotCount: 0 })).toThrow(SwapDeviceSizeError);
    const kernel = bootProcessKernel({ ramMiB: 32 });
    expect(() => kernel.enableSwap({ maxResidentPages: 0 })).toThrow(SwapOptionError);
    expect(() => kernel.enableSwap({ policy: 'opt' })).toThrow(SwapOptionError);
    const p = kernel.createProcess()!;
    fill(p, 1);
    expect(() => kernel.enableSwap({})).toThrow(/before processes hold memory/);
    p.exit(0);
    kernel.enableSwap({});
    expect(() => kernel.enableSwap({})).toThrow(/already enabled/);
    const unbooted = new Kernel(new Machine({ memoryMap: ramMap(32) }), { layout: 'higher-half' });
    expect(() => unbooted.enableSwap({})).toThrow(KernelStateError);
  });
});
