// Scenario: kfree of every byte of a full slab but the objects' own pointers. The slab allocator
// finds an object's index by multiplying with 1/stride (slab.ts indexOf) instead of dividing; this
// checks that the multiply lands on the right object for every byte, at odd strides (72, 96, 192,
// 384), at the largest a slab holds (16 KiB: an 8 KiB object aligned to 4 KiB, in debug mode), and
// that nothing changes when kfree refuses.
import { describe, expect, it } from 'vitest';
import { InteriorPointerError, InvalidPointerError } from '../src/index';
import { makeHeap } from './helpers';

describe('kfree of an interior slab pointer', () => {
  for (const [label, objectBytes, alignBytes, debug] of [
    ['kmalloc-96', 96, 8, false],
    ['kmalloc-192', 192, 8, false],
    ['kmalloc-384', 384, 8, false],
    ['a 72-byte cache', 72, 8, false],
    ['an 8 KiB cache aligned to 4 KiB (debug: 16 KiB stride)', 8192, 4096, true],
  ] as const) {
    it(`names the right object and offset for every byte of a full slab of ${label}`, () => {
      const { heap } = makeHeap(4 * 1024 * 1024, { debug });
      // The kmalloc rows allocate from their kmalloc cache (their alignment column is unused).
      const cache = label.startsWith('kmalloc') ? null : heap.kmemCacheCreate('probe', objectBytes, { alignBytes });
      const alloc = (): number => (cache === null ? heap.kmalloc(objectBytes) : cache.alloc())!;
      const first = alloc();
      const stats = () => heap.stats().caches.find((c) => c.name === (cache === null ? label : 'probe'))!;
      const { objectsPerSlab, strideBytes } = stats();
      const live = [first];
      while (live.length < objectsPerSlab) live.push(alloc());
      expect(stats().slabCount).toBe(1);
      const before = JSON.stringify(heap.stats());
      for (const p of live) {
        // The object's own bytes after its pointer: interior pointers into it.
        const usable = debug ? objectBytes + 8 : strideBytes;
        for (let k = 1; k < usable; k++) {
          let thrown: unknown;
          try {
            heap.kfree(p + k);
          } catch (e) {
            thrown = e;
          }
          if (!(thrown instanceof InteriorPointerError) || thrown.blockPtr !== p || thrown.offset !== k) {
            expect.fail(`kfree(p + ${k}) of the object at ${p}: ${String(thrown)}`);
          }
        }
        // Debug mode: the left red zone before the pointer is no object's pointer either.
        if (debug) expect(() => heap.kfree(p - 1)).toThrow(InvalidPointerError);
      }
      expect(JSON.stringify(heap.stats())).toBe(before);
      heap.checkInvariants();
      for (const p of live) heap.kfree(p);
      heap.checkInvariants();
    });
  }
});
