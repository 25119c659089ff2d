// The kernel heap's memory: pages of the layout's heap region, mapped on demand with frames owned
// 'heap', reached by the heap's metadata reads and writes through the CPU (supervisor accesses
// through the MMU and TLB), as a kernel reaches its heap.
import type { HeapBacking } from '@kmem/kheap';
import { VirtualAllocator } from '@kmem/virt-alloc';
import { Mode, type Cpu } from '@kmem/x86-paging';
import { formatCanonical } from './hex';

/** What the backing needs from the kernel: map fresh frames, unmap and free them. */
export interface HeapPageSource {
  /** Maps `pageCount` fresh zeroed frames owned 'heap' at `va`; false (nothing changed) when memory runs out. */
  mapHeapPages(va: number, pageCount: number): boolean;
  /** Unmaps `pageCount` pages at `va` and frees their frames. */
  unmapHeapPages(va: number, pageCount: number): void;
}

/**
 * kheap's `HeapBacking` over a kernel virtual range `[base, base + limitBytes)`:
 * - `grow` finds a free run of pages in the range (a VirtualAllocator, lowest first, so the heap
 *   grows upward from `base`), maps fresh frames there and returns it, or null when either the
 *   range or physical memory is exhausted (nothing is left half-mapped);
 * - `shrink` unmaps the pages and gives the frames back;
 * - `read32`/`write32`/`read8`/`write8` are supervisor accesses through `cpu` (MMU + TLB), so a
 *   heap access to an unmapped page faults as it would in a real kernel.
 * No `words32()` fast path: the heap's memory is not one host array.
 */
export class KernelHeapBacking implements HeapBacking {
  /** First address of the range (linear, page aligned). */
  readonly base: number;
  /** Bytes of the range (a page multiple, at most 2^31 as kheap requires). */
  readonly limitBytes: number;
  private readonly pages: VirtualAllocator;
  private heldPages = 0;

  constructor(
    private readonly cpu: Cpu,
    private readonly source: HeapPageSource,
    base: number,
    limitBytes: number,
  ) {
    this.base = base;
    this.limitBytes = limitBytes;
    this.pages = new VirtualAllocator({ start: base, end: base + limitBytes, formatAddress: formatCanonical });
  }

  /** Pages currently mapped for the heap. */
  get pagesHeld(): number {
    return this.heldPages;
  }

  read32(va: number): number {
    return this.cpu.read32(va, Mode.Supervisor);
  }

  write32(va: number, value: number): void {
    this.cpu.write32(va, value, Mode.Supervisor);
  }

  read8(va: number): number {
    return this.cpu.read8(va, Mode.Supervisor);
  }

  write8(va: number, value: number): void {
    this.cpu.write8(va, value, Mode.Supervisor);
  }

  grow(minBytes: number): number | null {
    const va = this.pages.alloc(minBytes, { tag: 'heap' });
    if (va === null) return null;
    const pageCount = minBytes / 4096;
    if (!this.source.mapHeapPages(va, pageCount)) {
      this.pages.free(va, minBytes);
      return null;
    }
    this.heldPages += pageCount;
    return va;
  }

  shrink(va: number, sizeBytes: number): void {
    // Checked by the allocator first (a range never handed out throws before anything is unmapped).
    this.pages.free(va, sizeBytes);
    this.source.unmapHeapPages(va, sizeBytes / 4096);
    this.heldPages -= sizeBytes / 4096;
  }

  /** The runs of the range in use, for pictures and invariant checks. */
  usedRanges(): { start: number; end: number }[] {
    const out: { start: number; end: number }[] = [];
    for (const b of this.pages.blocks()) if (b.used) out.push({ start: b.start, end: b.end });
    return out;
  }

  /** @throws if the page bookkeeping is inconsistent */
  checkInvariants(): void {
    this.pages.checkInvariants();
    const used = this.pages.stats().usedBytes / 4096;
    if (used !== this.heldPages) throw new Error(`heap backing: ${this.heldPages} pages held, allocator says ${used}`);
  }
}
