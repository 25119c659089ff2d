// Seed 000's ("Comus") memory functions under their own names, for people porting Comus: a thin
// view over a booted kernel, one line per call, each forwarding to the camelCase API it names.
import type { AllocOptions, TakeOptions } from '@kmem/virt-alloc';
import type { MapOptions, UnmapOptions, UnmappedRange } from '@kmem/x86-paging';
import type { Kernel } from './kernel';
import { KernelStateError } from './kernel-errors';

/**
 * Seed 000's memory calls by their C names. Every call is the camelCase call its TSDoc names,
 * with the same arguments, results and typed errors (each throws `KernelStateError` unless the
 * kernel is running). Addresses are 48-bit linear numbers, as everywhere in kmem.
 */
export interface ComusView {
  /**
   * `map_pages`: maps `pageCount` pages at `va` to physical `pa` in the kernel's tables, creating
   * missing tables — `kernel.kernelMapper.mapPages(va, pa, pageCount, flags, options)`. The raw
   * page-table call: the kernel does not record the mapping, so undo it with `unmap_pages`.
   */
  map_pages(va: number, pa: number, pageCount: number, flags: number, options?: MapOptions): boolean;
  /** `unmap_pages`: `kernel.kernelMapper.unmapPages(va, pageCount, options)`; returns what was mapped (frames are not freed). */
  unmap_pages(va: number, pageCount: number, options?: UnmapOptions): UnmappedRange[] | null;
  /** `mem_map_pages_at`: `kernel.memMapPagesAt(va, pageCount, flags)` — fresh zeroed frames mapped at `va`, all or nothing. */
  mem_map_pages_at(va: number, pageCount: number, flags: number): boolean;
  /** `mem_map_addr`: `kernel.memMapAddr(pa, sizeBytes, flags, va?)` — a physical range mapped in kernel space; the address of byte `pa`. */
  mem_map_addr(pa: number, sizeBytes: number, flags: number, va?: number): number | null;
  /** `virtaddr_alloc`: `kernel.virtaddrAlloc(sizeBytes, options)` — a free kernel virtual range (first fit), or null. */
  virtaddr_alloc(sizeBytes: number, options?: AllocOptions<string>): number | null;
  /** `virtaddr_take`: `kernel.virtaddrTake(va, sizeBytes, options)` — claims exactly that kernel range if it is free. */
  virtaddr_take(va: number, sizeBytes: number, options?: TakeOptions<string>): boolean;
}

/**
 * Seed 000's names over `kernel` (see {@link ComusView}); nothing is copied, each call reads the
 * kernel's current state.
 * @example
 * const comus = comusView(kernel);
 * const va = comus.virtaddr_alloc(0x4000);
 * if (va !== null) comus.mem_map_pages_at(va, 4, PTE.Writable | PTE.NoExecute);
 */
export function comusView(kernel: Kernel): ComusView {
  const running = (call: string): Kernel => {
    if (kernel.state !== 'running') throw new KernelStateError(kernel.state, call);
    return kernel;
  };
  return {
    map_pages: (va, pa, pageCount, flags, options) => running('map_pages').kernelMapper.mapPages(va, pa, pageCount, flags, options),
    unmap_pages: (va, pageCount, options) => running('unmap_pages').kernelMapper.unmapPages(va, pageCount, options),
    mem_map_pages_at: (va, pageCount, flags) => kernel.memMapPagesAt(va, pageCount, flags),
    mem_map_addr: (pa, sizeBytes, flags, va) => kernel.memMapAddr(pa, sizeBytes, flags, va),
    virtaddr_alloc: (sizeBytes, options) => kernel.virtaddrAlloc(sizeBytes, options),
    virtaddr_take: (va, sizeBytes, options) => kernel.virtaddrTake(va, sizeBytes, options),
  };
}
