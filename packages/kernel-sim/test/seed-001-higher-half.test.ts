// Seed 001 (AMD64 higher half, layout `higher-half`) as its author wrote it: physical memory as a
// linked list of regions (start, number of pages, state), a kernel that boots and runs processes
// on it exactly as on the bitmap, and the whole system's invariants after each step.
import { describe, expect, it } from 'vitest';
import { EventLog, Kernel, KernelAddressError, KernelConfigError, KernelStateError, Machine, RegionListFrameAllocator } from '../src/index';
import { PAGE, elfFixture, ramMap } from './process-helpers';

function boot(frameAllocator: 'bitmap' | 'region-list'): Kernel {
  const kernel = new Kernel(new Machine({ memoryMap: ramMap(256) }), { layout: 'higher-half', frameAllocator, events: new EventLog() });
  kernel.boot();
  return kernel;
}

describe('seed 001: the region-list physical memory manager', () => {
  it('boots the higher-half kernel on the region list and runs processes as on the bitmap', () => {
    const runs = (['bitmap', 'region-list'] as const).map((kind) => {
      const kernel = boot(kind);
      const step = kernel.events.ofKind('boot-step').find((e) => e.step === 'frame-allocator')!;
      const free0 = kernel.frameAllocator.freeFrames;
      const parent = kernel.exec(undefined, elfFixture('big-bss'), ['big-bss'])!;
      expect(parent.touchRange(0x40_2000, 64 * PAGE, 'write', 1)).toBe('ok');
      const child = kernel.fork(parent.pid)!;
      expect(child.touch(0x40_2000, 'write', 2)).toBe('ok');
      kernel.checkInvariants();
      const used = free0 - kernel.frameAllocator.freeFrames;
      child.exit(0);
      parent.exit(0);
      kernel.checkInvariants();
      return { kernel, step, used, back: free0 - kernel.frameAllocator.freeFrames };
    });
    const [bitmap, list] = runs;
    expect(list!.kernel.frameAllocator).toBeInstanceOf(RegionListFrameAllocator);
    expect(list!.step.summary).toMatch(/^region list of \d+ regions \(\d+ bytes of nodes\)/);
    expect(list!.step.detail.bitmapPa).toBeUndefined();
    // Same work, same frames used and given back; the bitmap kernel spent frames on its bitmap.
    expect(list!.used).toBe(bitmap!.used);
    expect(list!.back).toBe(0);
    expect(bitmap!.back).toBe(0);
    expect(list!.kernel.frames.usageByOwner().bitmap ?? 0).toBe(0);
    expect(() => list!.kernel.pmm).toThrow(KernelStateError);
  });

  it('refuses an unknown allocator name before anything is built', () => {
    expect(() => new Kernel(new Machine({ memoryMap: ramMap(64) }), { layout: 'higher-half', frameAllocator: 'buddy' as never })).toThrow(KernelConfigError);
  });
});

describe('seed 001: the kernel heap 1 GiB..32 GiB', () => {
  const GiB = 2 ** 30;
  const bigMap = [
    { base: 0, lengthBytes: 0x9fc00, kind: 'usable' as const },
    { base: 0x10_0000, lengthBytes: 40 * GiB, kind: 'usable' as const },
  ];

  it('makes the whole 31 GiB region usable, in 2 GiB kheap arenas opened on demand', () => {
    const kernel = new Kernel(new Machine({ memoryMap: bigMap }), { layout: 'higher-half' });
    kernel.boot();
    const step = kernel.events.ofKind('boot-step').find((e) => e.step === 'kernel-heap')!;
    expect(step.summary).toMatch(/^kernel heap at 0xffff_8000_4000_0000 \(up to 31 GiB in 16 arenas of at most 2 GiB\), 0 pages mapped;/);
    expect(kernel.heapArenas.limitBytes).toBe(31 * GiB);
    expect(kernel.heapArenas.stats()).toEqual({ arenaCount: 1, maxArenaCount: 16, pagesHeld: 0 });
    const p = kernel.kmalloc(64)!;
    expect(kernel.heap.stats().allocations).toBe(1); // arena 0 is kernel.heap
    kernel.kfree(p);
    kernel.checkInvariants();
  });

  it('refuses a heap limit the region cannot honour instead of capping it', () => {
    const machine = new Machine({ memoryMap: bigMap });
    expect(() => new Kernel(machine, { layout: 'higher-half', heapLimitBytes: 32 * GiB })).toThrow(KernelConfigError);
    const kernel = new Kernel(machine, { layout: 'higher-half', heapLimitBytes: 5 * GiB });
    kernel.boot();
    expect(kernel.heapArenas.stats().maxArenaCount).toBe(3);
  });
});

describe('seed 001: the 4 KiB slab region, 144 MiB + 112 MiB', () => {
  it('is a cache of page-sized kernel objects: kmalloc(4096) comes from it, a freed page is reused without a new frame', () => {
    const kernel = boot('bitmap');
    const slab = kernel.slab!;
    expect([slab.startVa, slab.endVa]).toEqual([0x8000_0900_0000, 0x8000_1000_0000]);
    expect(kernel.events.ofKind('boot-step').find((e) => e.step === 'kernel-heap')!.summary).toContain('4 KiB slab cache at 0xffff_8000_0900_0000 (28672 objects)');
    const a = kernel.kmalloc(4096)!;
    const b = kernel.kmalloc(4096)!;
    expect([a, b]).toEqual([slab.startVa, slab.startVa + PAGE]);
    expect(kernel.frames.ownerOf(kernel.kernelMapper.translate(a)!.pa)).toMatchObject({ kind: 'kernel-data' });
    kernel.kfree(a);
    const free = kernel.frameAllocator.freeFrames;
    expect(kernel.kmalloc(4096)).toBe(a); // from the cache: no frame taken
    expect(kernel.frameAllocator.freeFrames).toBe(free);
    expect(kernel.kmalloc(4096, { alignBytes: 4096 })).not.toBeNull(); // with options: kheap
    expect(slab.stats()).toMatchObject({ objectsInUse: 2, objectsCached: 0, allocations: 3, cacheHits: 1, frees: 1 });
    expect(() => kernel.kfree(a + 8)).toThrow(KernelAddressError);
    kernel.checkInvariants();
  });
});

describe('seed 001: shared memory and libraries in every context (issue 23)', () => {
  // Seed 001's regions per context: kernel heap, user heap, shared memory, libs. On seed 001's own
  // kernel (higher half, the region-list allocator): MAP_SHARED memory across fork, a named object
  // two unrelated processes map, one ELF's text shared through the page cache, and every frame
  // back once the processes exit and the names go.
  function read(kernel: Kernel, pid: number, va: number): number {
    kernel.switchTo(pid);
    return kernel.user.read8(va);
  }

  it('shares MAP_SHARED anonymous memory across fork: one frame, writable in both, the child’s write seen by the parent', () => {
    const kernel = boot('region-list');
    const parent = kernel.createProcess()!;
    const va = parent.mmap({ lengthBytes: 2 * PAGE, shared: true })!;
    expect(parent.translate(va)).toBe(-1); // demand zero: nothing until touched
    expect(parent.touch(va, 'write', 1)).toBe('ok');
    const child = kernel.fork(parent.pid)!;
    expect(child.touch(va, 'write', 0x5e)).toBe('ok');
    expect(child.touch(va + PAGE, 'write', 0x5f)).toBe('ok');
    expect([read(kernel, parent.pid, va), read(kernel, parent.pid, va + PAGE)]).toEqual([0x5e, 0x5f]);
    expect(child.translate(va)).toBe(parent.translate(va));
    expect(child.pageInfo(va)).toMatchObject({ writable: true, copyOnWrite: false, refCount: 3 });
    expect(parent.formatMaps()).toMatch(/rw-s 00000000 mmap/);
    kernel.checkInvariants();
  });

  it('lets unrelated processes map a named object (shm_open), kept by its mappings after shm_unlink', () => {
    const kernel = boot('region-list');
    const a = kernel.createProcess()!;
    const b = kernel.createProcess()!;
    const shm = kernel.processes.shmOpen('/seed001', { create: true, exclusive: true, sizeBytes: 2 * PAGE });
    const va = a.mmap({ lengthBytes: 2 * PAGE, shm })!;
    const vb = b.mmap({ lengthBytes: 2 * PAGE, shm })!;
    expect(a.touch(va + PAGE, 'write', 0x33)).toBe('ok');
    expect(read(kernel, b.pid, vb + PAGE)).toBe(0x33);
    expect(b.translate(vb + PAGE)).toBe(a.translate(va + PAGE));
    kernel.processes.shmUnlink('/seed001');
    kernel.processes.shmClose(shm);
    expect([shm.alive, shm.linked, shm.openHandles, shm.mappedPages]).toEqual([true, false, 0, 4]);
    a.exit(0);
    expect(read(kernel, b.pid, vb + PAGE)).toBe(0x33);
    b.exit(0);
    expect(shm.alive).toBe(false);
    kernel.checkInvariants();
  });

  it('shares a program’s text between two processes running it (one page-cache frame); data stays private; nothing leaks', () => {
    const kernel = boot('region-list');
    const free0 = kernel.frameAllocator.freeFrames;
    const file = elfFixture('big-bss');
    const a = kernel.exec(undefined, file, ['a'])!;
    const b = kernel.exec(undefined, file, ['b'])!;
    expect(a.touch(0x40_1000, 'execute')).toBe('ok');
    expect(b.touch(0x40_1000, 'execute')).toBe('ok');
    expect(b.translate(0x40_1000)).toBe(a.translate(0x40_1000));
    expect(a.formatMaps()).toMatch(/r-xp 00001000 text a/);
    expect(a.touch(0x40_2000, 'write', 0x44)).toBe('ok');
    expect(b.touch(0x40_2000, 'read')).toBe('ok');
    expect(b.translate(0x40_2000)).not.toBe(a.translate(0x40_2000));
    expect(read(kernel, b.pid, 0x40_2000)).not.toBe(0x44);
    kernel.checkInvariants();
    a.exit(0);
    b.exit(0);
    kernel.checkInvariants();
    expect(kernel.processes.sharedMemory.pageCache.pageCount).toBe(0);
    expect(kernel.frameAllocator.freeFrames).toBe(free0);
  });
});
