// Kernel pages of the 32-bit kernel: fresh frames mapped at a kernel address and unmapped with
// their frames freed, through the kernel's Mapper (the recursive PDE 1023). Every kernel page
// table exists from sysinit step 5 on (PDEs 768-1022 pre-allocated), so mapping a kernel page
// never needs a table and whatever is mapped shows under every page directory at once.
import { formatVa32 } from '@kmem/x86-paging';
import type { FrameOwner } from '../events';
import { KernelInvariantError } from '../kernel-errors';
import type { Kernel32 } from './kernel32';

const PAGE = 4096;

/**
 * Maps `pageCount` fresh zeroed frames of `owner` at `va` with `flags`.
 * @returns false, with nothing allocated or mapped, when frames run out
 * @throws KernelInvariantError if a kernel page table is missing (the pre-allocation was broken)
 */
export function mapFreshKernelPages32(kernel: Kernel32, va: number, pageCount: number, flags: number, owner: FrameOwner): boolean {
  const got: number[] = [];
  for (let i = 0; i < pageCount; i++) {
    const f = kernel.frames.allocFrame(owner);
    if (f === null) {
      for (const g of got) kernel.frames.freeFrame(g);
      return false;
    }
    got.push(f);
  }
  for (let i = 0; i < pageCount; i++) {
    if (!kernel.mapper.mapPages(va + i * PAGE, got[i]!, 1, flags)) throw new KernelInvariantError(`kernel page table for ${formatVa32(va + i * PAGE)} missing`);
  }
  return true;
}

/** Unmaps `pageCount` kernel pages at `va` (INVLPG each, Global ones included) and frees their frames; the kernel page tables stay. */
export function unmapKernelPages32(kernel: Kernel32, va: number, pageCount: number): void {
  const ranges = kernel.mapper.unmapPages(va, pageCount, { freeTables: false }) ?? [];
  for (const r of ranges) for (let off = 0; off < r.sizeBytes; off += PAGE) kernel.frames.freeFrame(r.pa + off);
}
