// Allocate all memory, free it, allocate it again: does every page go back to the backing?
import { describe, expect, it } from 'vitest';
import { makeHeap } from './helpers';
import { mulberry32 as rng } from '../../../test-support/mulberry32';

const mixes: [string, number, number][] = [
  ['slab sizes', 1, 512],
  ['TLSF sizes', 513, 32 * 1024],
  ['large sizes', 32 * 1024 + 1, 200 * 1024],
  ['every size', 0, 100 * 1024],
];

describe('KernelHeap fill and drain', () => {
  for (const debug of [false, true]) {
    for (const [label, min, max] of mixes) {
      it(`returns every page to the backing after filling with ${label}${debug ? ' (debug)' : ''} and refills identically`, () => {
        const { heap, backing } = makeHeap(2 * 1024 * 1024, { debug });
        const fill = (): number[] => {
          const rand = rng(7);
          const ptrs: number[] = [];
          let misses = 0;
          // Keep trying other sizes after the first failure: small ones may still fit.
          while (misses < 20) {
            const p = heap.kmalloc(min + Math.floor(rand() * (max - min + 1)));
            if (p === null) misses++;
            else ptrs.push(p);
          }
          return ptrs;
        };
        const first = fill();
        heap.checkInvariants();
        expect(first.length).toBeGreaterThan(5);
        expect(heap.stats().pagesHeld).toBe(backing.pagesHeld);
        const rand = rng(11);
        const order = [...first];
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        order.forEach((p, i) => {
          heap.kfree(p);
          if (i % 64 === 0) heap.checkInvariants();
        });
        heap.checkInvariants();
        const s = heap.stats();
        expect(s.allocations).toBe(0);
        expect(s.bytesRequested).toBe(0);
        expect(s.bytesInUse).toBe(0);
        heap.trim();
        expect(heap.stats().pagesHeld).toBe(0);
        expect(backing.pagesHeld).toBe(0);
        backing.checkInvariants();
        heap.checkInvariants();
        // The heap is as good as new: the same sizes land at the same addresses.
        expect(fill()).toEqual(first);
        heap.checkInvariants();
      });
    }
  }

  it('keeps at most one empty slab per cache and one free arena before trim()', () => {
    const { heap } = makeHeap(4 * 1024 * 1024);
    const ptrs: number[] = [];
    for (let i = 0; i < 3000; i++) ptrs.push(heap.kmalloc([24, 100, 300, 2000][i % 4]!)!);
    for (const p of ptrs) heap.kfree(p);
    const s = heap.stats();
    const slabs = s.caches.reduce((n, c) => n + c.slabCount, 0);
    expect(slabs).toBeLessThanOrEqual(3);
    expect(s.tlsf.arenaCount).toBe(1);
    expect(heap.trim()).toBe(s.pagesHeld);
    expect(heap.stats().pagesHeld).toBe(0);
  });
});
