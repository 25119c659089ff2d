// The kernel heap in arenas (seed 001's 31 GiB heap, kheap's 2 GiB limit per heap): allocations
// that do not fit in the arenas made so far open the next one, kfree finds the arena of any
// pointer, and nothing opens an arena when RAM is short. Small arenas over a booted kernel's own
// kernel space, so the test maps a few MiB, not gigabytes.
import { describe, expect, it } from 'vitest';
import { PTE } from '@kmem/x86-paging';
import { KernelHeapArenas, KernelSizeError, type Kernel } from '../src/index';
import { MiB, bootProcessKernel } from './process-helpers';

function arenas(kernel: Kernel, limitBytes: number, arenaBytes: number, freeFrames = () => kernel.frameAllocator.freeFrames): KernelHeapArenas {
  const base = kernel.virtaddrAlloc(limitBytes, { alignBytes: arenaBytes })!;
  const source = {
    mapHeapPages: (va: number, pageCount: number) => kernel.memMapPagesAt(va, pageCount, PTE.Writable | PTE.NoExecute),
    unmapHeapPages: (va: number, pageCount: number) => kernel.memUnmapPages(va, pageCount),
  };
  return new KernelHeapArenas(kernel.cpu, source, base, limitBytes, false, freeFrames, arenaBytes);
}

describe('KernelHeapArenas', () => {
  it('opens the next arena when the ones made are full, and frees into the right arena', () => {
    const kernel = bootProcessKernel({ ramMiB: 128 });
    const heap = arenas(kernel, 3 * MiB, MiB);
    expect(heap.stats()).toEqual({ arenaCount: 1, maxArenaCount: 3, pagesHeld: 0 });
    const blocks = [heap.kmalloc(700 * 1024)!, heap.kmalloc(700 * 1024)!, heap.kmalloc(700 * 1024)!];
    expect(blocks.map((p) => Math.floor((p - heap.base) / MiB))).toEqual([0, 1, 2]);
    expect(heap.kmalloc(700 * 1024)).toBeNull(); // every arena full, none left to open
    heap.checkInvariants();
    heap.kfree(blocks[1]!);
    expect(heap.kmalloc(100)).not.toBeNull(); // served by an existing arena
    expect(heap.kmalloc(700 * 1024)).toBe(blocks[1]); // the freed room in arena 1
    for (const p of blocks) heap.kfree(p);
    heap.checkInvariants();
    kernel.checkInvariants();
  });

  it('opens no arena when RAM could not back the block, and refuses bad sizes', () => {
    const kernel = bootProcessKernel({ ramMiB: 128 });
    const heap = arenas(kernel, 2 * MiB, MiB, () => 3);
    expect(heap.kmalloc(900 * 1024)).not.toBeNull();
    expect(heap.kmalloc(900 * 1024)).toBeNull();
    expect(heap.stats().arenaCount).toBe(1);
    const source = { mapHeapPages: () => false, unmapHeapPages: () => undefined };
    expect(() => new KernelHeapArenas(kernel.cpu, source, heap.base, 2 * MiB, false, () => 0, 3 * MiB)).toThrow(KernelSizeError);
    expect(() => new KernelHeapArenas(kernel.cpu, source, heap.base, 1000, false, () => 0)).toThrow(KernelSizeError);
  });
});
