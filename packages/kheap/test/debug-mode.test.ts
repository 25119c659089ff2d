import { describe, expect, it } from 'vitest';
import { DoubleFreeError, HeapCorruptionError, POISON_FREE, RED_ACTIVE, type KernelHeap } from '../src/index';
import { makeHeap } from './helpers';

function corruption(f: () => unknown): HeapCorruptionError {
  try {
    f();
  } catch (e) {
    if (e instanceof HeapCorruptionError) return e;
    throw e;
  }
  throw new Error('expected a HeapCorruptionError');
}

function snapshot(heap: KernelHeap): string {
  return JSON.stringify([heap.stats(), heap.blocks()]);
}

describe('KernelHeap debug mode', () => {
  for (const [label, size] of [
    ['slab', 50],
    ['TLSF', 1500],
    ['large', 40_000],
  ] as const) {
    it(`reports a one-byte overflow past a ${label} block on kfree, naming the block and offset`, () => {
      const { heap, backing } = makeHeap(4 * 1024 * 1024, { debug: true });
      const p = heap.kmalloc(size)!;
      expect(heap.ksize(p)).toBe(size);
      backing.write8(p + size, 0x41);
      const before = snapshot(heap);
      const e = corruption(() => heap.kfree(p));
      expect(snapshot(heap)).toBe(before);
      expect(e.code).toBe('E_HEAP_CORRUPTION');
      expect(e.report.kind).toBe('redzone');
      expect(e.report.ptr).toBe(p);
      expect(e.report.offset).toBe(size);
      expect(e.report.address).toBe(p + size);
      expect(e.report.expected).toBe(RED_ACTIVE);
      expect(e.report.actual).toBe(0x41);
      expect(e.message).toMatch(/right red zone/);
      expect(() => heap.checkInvariants()).toThrow(HeapCorruptionError);
    });
  }

  it('rejects a pointer into a slab object\'s left red zone as never returned', () => {
    const { heap } = makeHeap(1024 * 1024, { debug: true });
    const first = heap.kmalloc(40)!;
    for (const p of [first, heap.kmalloc(40)!]) {
      expect(() => heap.kfree(p - 4)).toThrow(/red zone before/);
      expect(() => heap.kfree(p + 4)).toThrow(expect.objectContaining({ code: 'E_INTERIOR_POINTER', blockPtr: p, offset: 4 }));
    }
  });

  it('reports an underflow into the left red zone', () => {
    const { heap, backing } = makeHeap(1024 * 1024, { debug: true });
    for (const size of [50, 1500]) {
      const p = heap.kmalloc(size)!;
      backing.write8(p - 3, 0);
      const e = corruption(() => heap.kfree(p));
      expect(e.report.offset).toBe(-3);
      expect(e.message).toMatch(/left red zone/);
    }
  });

  it('poisons freed blocks and reports a use-after-free write on the next allocation', () => {
    for (const size of [50, 1500]) {
      const { heap, backing } = makeHeap(1024 * 1024, { debug: true });
      const keep = heap.kmalloc(size);
      const p = heap.kmalloc(size)!;
      heap.kfree(p);
      expect(backing.read8(p + 20)).toBe(POISON_FREE);
      backing.write8(p + 20, 0x99);
      expect(() => heap.checkInvariants()).toThrow(HeapCorruptionError);
      const before = snapshot(heap);
      const e = corruption(() => heap.kmalloc(size));
      expect(snapshot(heap)).toBe(before);
      expect(e.report.kind).toBe('poison');
      expect(e.report.offset).toBe(20);
      expect(e.report.address).toBe(p + 20);
      expect(e.report.actual).toBe(0x99);
      expect(e.message).toMatch(/use-after-free/);
      heap.kfree(keep);
    }
  });

  it('reports a use-after-free write into an object of a kept empty slab without moving the slab', () => {
    const { heap, backing } = makeHeap(1024 * 1024, { debug: true });
    const p = heap.kmalloc(40)!;
    heap.kfree(p); // its slab is now empty and kept
    backing.write8(p, 1);
    const before = snapshot(heap);
    const e = corruption(() => heap.kmalloc(40));
    expect(e.report.ptr).toBe(p);
    expect(e.report.offset).toBe(0);
    expect(snapshot(heap)).toBe(before);
    expect(() => heap.checkInvariants()).toThrow(HeapCorruptionError);
  });

  it('still detects double frees and hands out blocks whose contents are poison', () => {
    const { heap } = makeHeap(1024 * 1024, { debug: true });
    const keep = heap.kmalloc(40);
    const p = heap.kmalloc(40)!;
    heap.kfree(p);
    expect(() => heap.kfree(p)).toThrow(DoubleFreeError);
    heap.kfree(keep);
    heap.checkInvariants();
  });

  it('keeps red zones intact across krealloc and kzalloc', () => {
    const { heap, backing } = makeHeap(1024 * 1024, { debug: true });
    let p = heap.kzalloc(30)!;
    for (let i = 0; i < 30; i++) expect(backing.read8(p + i)).toBe(0);
    for (const size of [10, 600, 5000, 100]) {
      p = heap.krealloc(p, size)!;
      expect(heap.ksize(p)).toBe(size);
      heap.checkInvariants();
    }
    heap.kfree(p);
    heap.checkInvariants();
  });
});
