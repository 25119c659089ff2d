import { describe, expect, it } from 'vitest';
import { makeHeap } from './helpers';

describe('KernelHeap over the HeapBacking port alone', () => {
  for (const debug of [false, true]) {
    it(`lays out memory byte for byte as the fast typed-array path does${debug ? ' (debug)' : ''}`, () => {
      const fast = makeHeap(1024 * 1024, { debug });
      const port = makeHeap(1024 * 1024, { debug, port: true });
      let seed = 1;
      const rand = (n: number): number => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed % n;
      };
      const live: [number, number][] = [];
      for (let i = 0; i < 600; i++) {
        if (live.length > 0 && rand(3) === 0) {
          const [a, b] = live.splice(rand(live.length), 1)[0]!;
          fast.heap.kfree(a);
          port.heap.kfree(b);
        } else {
          const size = [rand(600), 600 + rand(6000), 33_000 + rand(30_000)][rand(10) === 0 ? 2 : rand(2)]!;
          const zero = rand(4) === 0;
          const a = zero ? fast.heap.kzalloc(size) : fast.heap.kmalloc(size);
          const b = zero ? port.heap.kzalloc(size) : port.heap.kmalloc(size);
          expect(b).toBe(a);
          if (a !== null && b !== null) live.push([a, b]);
        }
      }
      fast.heap.checkInvariants();
      port.heap.checkInvariants();
      expect(port.heap.blocks()).toEqual(fast.heap.blocks());
      expect(port.heap.stats()).toEqual(fast.heap.stats());
      for (let va = fast.backing.base; va < fast.backing.base + fast.backing.limitBytes; va += 4) {
        if (port.backing.read32(va) !== fast.backing.read32(va)) throw new Error(`memory differs at ${va}`);
      }
    });
  }
});
