// Seed 001's 4 KiB slab cache against a tiny reference (a set of objects in use, a count of cached
// ones), over a booted kernel's own slab region, with checkInvariants after each step.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KernelAddressError, PageSlab, type Kernel } from '../src/index';
import { PAGE, bootProcessKernel } from './process-helpers';

/** A slab of `slots` pages over the kernel's memMapPagesAt (frames owned kernel-data). */
function slabOn(kernel: Kernel, slots: number, cacheLimit: number): PageSlab {
  const base = kernel.virtaddrAlloc(slots * PAGE)!;
  const source = { mapHeapPages: (va: number, n: number) => kernel.memMapPagesAt(va, n, 0), unmapHeapPages: (va: number, n: number) => kernel.memUnmapPages(va, n) };
  return new PageSlab(source, base, base + slots * PAGE, cacheLimit);
}

describe('PageSlab', () => {
  it('matches a reference under random allocations, frees and shrinks; mapped pages are exactly those in use or cached', () => {
    const kernel = bootProcessKernel({ ramMiB: 64 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), fc.array(fc.oneof(fc.constant(-1), fc.constant(-2), fc.nat(40)), { maxLength: 40 }), (limit, ops) => {
        const slab = slabOn(kernel, 8, limit);
        const inUse: number[] = [];
        let cached = 0;
        const free0 = kernel.frameAllocator.freeFrames;
        for (const op of ops) {
          if (op === -1) {
            const va = slab.alloc();
            const fresh = cached === 0;
            if (inUse.length === 8) expect(va).toBeNull();
            else {
              expect(va).not.toBeNull();
              expect(inUse).not.toContain(va);
              expect(kernel.kernelMapper.translate(va!)).not.toBeNull();
              inUse.push(va!);
              if (!fresh) cached--;
            }
          } else if (op === -2) {
            expect(slab.shrink()).toBe(cached);
            cached = 0;
          } else if (inUse.length > 0) {
            const [va] = inUse.splice(op % inUse.length, 1);
            slab.free(va!);
            expect(() => slab.free(va!)).toThrow(KernelAddressError);
            if (cached < limit) cached++;
            else expect(kernel.kernelMapper.translate(va!)).toBeNull();
          }
          slab.checkInvariants();
          const s = slab.stats();
          expect([s.objectsInUse, s.objectsCached]).toEqual([inUse.length, cached]);
          // Frames follow the pages mapped (page tables made on the way stay with the kernel).
          expect(free0 - kernel.frameAllocator.freeFrames).toBeGreaterThanOrEqual(s.pagesMapped);
        }
        for (const va of inUse) slab.free(va);
        slab.shrink();
        expect(slab.stats().pagesMapped).toBe(0);
        kernel.virtaddrFree(slab.startVa, 8 * PAGE);
      }),
      { numRuns: 25 },
    );
    kernel.checkInvariants();
  });
});
