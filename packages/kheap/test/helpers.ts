import { ArrayBufferBacking, KernelHeap, type HeapBacking, type KernelHeapOptions } from '../src/index';

/** The same memory seen only through the port (no words32 fast view), as kernel-sim's backing is. */
export function portOnly(b: ArrayBufferBacking): HeapBacking {
  return {
    base: b.base,
    limitBytes: b.limitBytes,
    read32: (va) => b.read32(va),
    write32: (va, v) => b.write32(va, v),
    read8: (va) => b.read8(va),
    write8: (va, v) => b.write8(va, v),
    grow: (n) => b.grow(n),
    shrink: (va, n) => b.shrink(va, n),
  };
}

/** A heap over a fresh ArrayBufferBacking of `maxBytes`. */
export function makeHeap(
  maxBytes = 4 * 1024 * 1024,
  options: Omit<KernelHeapOptions, 'backing'> & { port?: boolean; base?: number } = {},
): { heap: KernelHeap; backing: ArrayBufferBacking } {
  const { port, base, ...rest } = options;
  const backing = new ArrayBufferBacking({ maxBytes, ...(base === undefined ? {} : { base }) });
  const heap = new KernelHeap({ ...rest, backing: port ? portOnly(backing) : backing });
  return { heap, backing };
}

/** Fills `[ptr, ptr + len)` with a pattern derived from `seed`. */
export function writePattern(b: HeapBacking, ptr: number, len: number, seed: number): void {
  for (let i = 0; i < len; i++) b.write8(ptr + i, (seed * 31 + i * 7) & 0xff);
}

/** Index of the first byte of `[ptr, ptr + len)` that differs from the pattern, or -1. */
export function checkPattern(b: HeapBacking, ptr: number, len: number, seed: number): number {
  for (let i = 0; i < len; i++) if (b.read8(ptr + i) !== ((seed * 31 + i * 7) & 0xff)) return i;
  return -1;
}
