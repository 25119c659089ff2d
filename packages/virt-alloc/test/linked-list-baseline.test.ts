import { describe, expect, it } from 'vitest';
import { LinkedListAllocator } from '../bench/linked-list-allocator';
import { VirtualAllocator } from '../src/index';
import { rng } from '../bench/workload';

// The benchmark's peer must do the same work, or the printed ratio means nothing.
describe('LinkedListAllocator (bench peer)', () => {
  it('returns the same addresses and blocks as VirtualAllocator on a random alloc/free mix', () => {
    const K = 4096;
    const va = new VirtualAllocator({ start: 0, end: 4096 * K });
    const list = new LinkedListAllocator(0, 4096 * K);
    const r = rng(1);
    const live: number[] = [];
    for (let i = 0; i < 5000; i++) {
      if (r() < 0.55 || live.length === 0) {
        const size = (1 + Math.floor(r() * 16)) * K;
        const a = va.alloc(size);
        expect(list.alloc(size, K)).toBe(a);
        if (a !== null) live.push(a);
      } else {
        const j = Math.floor(r() * live.length);
        const addr = live[j]!;
        live[j] = live[live.length - 1]!;
        live.pop();
        expect(list.free(addr)).toBe(va.free(addr));
      }
    }
    expect([...list.blocks()]).toEqual([...va.blocks()].map(({ start, end, used }) => ({ start, end, used })));
    expect(live.length).toBeGreaterThan(100);
  });
});
