// Issue 14 item 7 / 8: a BigInt, a string or any non-number where the heap expects a size or a
// pointer, and a cache name that is not a short string, get a typed error with a stable code
// (before: a raw TypeError "Cannot mix BigInt and other types", or a string that coerced).
import { describe, expect, it } from 'vitest';
import { ArrayBufferBacking, BackingError, InvalidOptionError, InvalidPointerError, InvalidSizeError, KernelHeap } from '../src/index';

function heapWithBlock() {
  const backing = new ArrayBufferBacking({ maxBytes: 1 << 20 });
  const heap = new KernelHeap({ backing });
  const p = heap.kmalloc(100)!;
  return { heap, p, before: JSON.stringify(heap.blocks()) };
}

describe('non-number arguments', () => {
  it('a BigInt size to kmalloc, kzalloc and krealloc is E_INVALID_SIZE', () => {
    const { heap, p, before } = heapWithBlock();
    expect(() => heap.kmalloc(16n as unknown as number)).toThrow(InvalidSizeError);
    expect(() => heap.kzalloc(16n as unknown as number)).toThrow(InvalidSizeError);
    expect(() => heap.krealloc(p, 16n as unknown as number)).toThrow(InvalidSizeError);
    expect(() => heap.kmalloc('64' as unknown as number)).toThrow(InvalidSizeError);
    expect(JSON.stringify(heap.blocks())).toBe(before);
  });

  it('a BigInt or numeric-string pointer to kfree, ksize, krealloc and cache.free is E_INVALID_POINTER and frees nothing', () => {
    const { heap, p, before } = heapWithBlock();
    const cache = heap.kmemCacheCreate('c', 24);
    const q = cache.alloc()!;
    const after = JSON.stringify(heap.blocks());
    for (const bad of [BigInt(p), String(p), [p], { valueOf: () => p }]) {
      expect(() => heap.kfree(bad as unknown as number)).toThrow(InvalidPointerError);
      expect(() => heap.ksize(bad as unknown as number)).toThrow(InvalidPointerError);
      expect(() => heap.krealloc(bad as unknown as number, 8)).toThrow(InvalidPointerError);
    }
    expect(() => cache.free(BigInt(q) as unknown as number)).toThrow(InvalidPointerError);
    expect(() => cache.free(String(q) as unknown as number)).toThrow(InvalidPointerError);
    expect(JSON.stringify(heap.blocks())).toBe(after);
    expect(after).not.toBe(before);
  });

  it('kmemCacheCreate takes only a string of 1..64 characters as the name (E_INVALID_OPTION)', () => {
    const { heap } = heapWithBlock();
    const caches = heap.stats().caches.length;
    for (const name of [42, null, undefined, {}, 7n, '', 'n'.repeat(65)]) {
      expect(() => heap.kmemCacheCreate(name as string, 32)).toThrow(InvalidOptionError);
    }
    expect(heap.stats().caches.length).toBe(caches);
    expect(heap.kmemCacheCreate('n'.repeat(64), 32).name).toHaveLength(64);
  });

  it('new ArrayBufferBacking({ maxBytes: 4096n }) and other non-number options are E_BACKING', () => {
    expect(() => new ArrayBufferBacking({ maxBytes: 4096n as unknown as number })).toThrow(BackingError);
    expect(() => new ArrayBufferBacking({ base: 4096n as unknown as number })).toThrow(BackingError);
    expect(() => new ArrayBufferBacking({ maxBytes: null as unknown as number })).toThrow(BackingError);
    expect(() => new ArrayBufferBacking({ buffer: -1 as unknown as ArrayBuffer })).toThrow(BackingError);
    expect(() => new ArrayBufferBacking(null as unknown as object)).toThrow(BackingError);
  });

  it('new KernelHeap without an options object or backing, or with a non-boolean debug, is a typed error', () => {
    expect(() => new KernelHeap(undefined as unknown as { backing: ArrayBufferBacking })).toThrow(InvalidOptionError);
    expect(() => new KernelHeap({ backing: null as unknown as ArrayBufferBacking })).toThrow(BackingError);
    expect(() => new KernelHeap({ backing: new ArrayBufferBacking(), debug: 'yes' as unknown as boolean })).toThrow(InvalidOptionError);
  });
});
