// Issue 19: hysteresis on TLSF arena grow/shrink. A live count hovering at an arena boundary must
// not grow and shrink the backing on every crossing (in kernel-sim each one maps or unmaps the
// arena's pages and flushes their TLB entries); one entirely free arena is kept as a spare once the
// heap holds at least four, so the footprint cost is at most a quarter of the arenas.
import { describe, expect, it } from 'vitest';
import { ArrayBufferBacking, KernelHeap } from '../src/index';

function countingHeap() {
  const backing = new ArrayBufferBacking({ maxBytes: 4 << 20 });
  const calls = { grow: 0, shrink: 0 };
  const grow = backing.grow.bind(backing);
  const shrink = backing.shrink.bind(backing);
  backing.grow = (n) => (calls.grow++, grow(n));
  backing.shrink = (va, n) => (calls.shrink++, shrink(va, n));
  const heap = new KernelHeap({ backing, tlsfArenaBytes: 64 * 1024 });
  return { heap, backing, calls };
}

describe('TLSF spare arena', () => {
  it('an alloc/free pair at an arena boundary grows and shrinks the backing once, not on every crossing (from 4 arenas on)', () => {
    const { heap, backing, calls } = countingHeap();
    // 30,000-byte TLSF blocks: two per 64 KiB arena.
    const live = Array.from({ length: 10 }, () => heap.kmalloc(30_000)!);
    expect(heap.stats().tlsf.arenaCount).toBe(5);
    const before = { ...calls };
    for (let i = 0; i < 50; i++) {
      heap.kfree(live.pop()!);
      heap.kfree(live.pop()!); // the last arena is now entirely free: kept as the spare
      live.push(heap.kmalloc(30_000)!, heap.kmalloc(30_000)!);
      heap.checkInvariants();
    }
    expect(calls.grow - before.grow).toBe(0);
    expect(calls.shrink - before.shrink).toBe(0);
    expect(heap.stats().tlsf.arenaCount).toBe(5);
    backing.checkInvariants();
  });

  it('keeps at most one spare: a second entirely free arena goes back at once, and trim() returns the spare', () => {
    const { heap, calls } = countingHeap();
    const live = Array.from({ length: 10 }, () => heap.kmalloc(30_000)!);
    for (let i = 0; i < 4; i++) heap.kfree(live.pop()!); // two arenas empty
    expect(heap.stats().tlsf.arenaCount).toBe(4);
    expect(calls.shrink).toBe(1);
    heap.checkInvariants();
    expect(heap.trim()).toBe(16); // the spare arena's 16 pages
    expect(heap.stats().tlsf.arenaCount).toBe(3);
    heap.checkInvariants();
  });

  it('below four arenas an emptied arena goes back at once (small heaps keep their footprint), the last one stays', () => {
    const { heap, calls } = countingHeap();
    const live = Array.from({ length: 4 }, () => heap.kmalloc(30_000)!);
    expect(heap.stats().tlsf.arenaCount).toBe(2);
    heap.kfree(live.pop()!);
    heap.kfree(live.pop()!);
    expect(calls.shrink).toBe(1);
    heap.kfree(live.pop()!);
    heap.kfree(live.pop()!);
    expect(heap.stats().tlsf.arenaCount).toBe(1);
    heap.checkInvariants();
  });
});
