// Seed 004's virtual-allocation policy: "I just say what the highest allocation in that memory
// space is … if we run out, we can use the previous used memory but for each page we need to
// check if it's already mapped". A watermark that only grows, and a first-fit fallback that asks
// the page tables which pages are free. Offered beside the kernel's first-fit VirtualAllocator.
import type { WalkStep } from '@kmem/x86-paging';
import { KernelAddressError, KernelSizeError } from './kernel-errors';
import { show } from './show-value';

const PAGE = 4096;

/**
 * The `Kernel` option `mmapPolicy`: where a process's mmap without an address goes.
 * `'first-fit'` (default): the lowest free range of the mmap area (virt-alloc's VirtualAllocator).
 * `'highest-allocation'`: seed 004's watermark — the end of the process's highest mmap so far —
 * while the area above it has room, then the lowest free range below it.
 */
export type MmapPolicy = 'first-fit' | 'highest-allocation';

/** What {@link HighestAllocation} needs of a Mapper: its walk of one address. */
export interface WalkSource {
  /** The entries the MMU reads for `va` (x86-paging's `Mapper.walk`). */
  walk(va: number): WalkStep[];
}

/** Counters of a {@link HighestAllocation}. */
export interface HighestAllocationStats {
  /** Allocations served by moving the watermark up. */
  readonly watermarkAllocations: number;
  /** Allocations served by the page-table search below the watermark. */
  readonly fallbackAllocations: number;
  /** Table walks the fallback made (one per mapped page or absent table met). */
  readonly walks: number;
}

/**
 * Seed 004's policy over `[startVa, endVa)` of one address space: `alloc` returns the watermark
 * (the end of the highest allocation) and moves it up, with no bookkeeping per range; once the
 * range above it is too small, a first-fit search from `startVa` walks the page tables and takes
 * the first run of pages that are not mapped. An absent PML4/PDPT/PD entry is skipped whole, so
 * the search costs a walk per mapped page or missing table, not per address.
 *
 * The seed's hazard, kept on purpose: there is no free list, so a range handed out but not yet
 * mapped looks free to the fallback and may be handed out again; map what you allocate before the
 * next allocation (the kernel's first-fit `virtaddrAlloc` has no such hazard). Nothing is freed:
 * unmapping pages is what makes them reusable.
 */
export class HighestAllocation {
  private watermark: number;
  private watermarkCount = 0;
  private fallbackCount = 0;
  private walkCount = 0;

  /**
   * @param tables - the address space's page tables (a `Mapper`)
   * @param startVa - first address of the range searched (page-aligned)
   * @param endVa - end of the range (exclusive, page-aligned)
   * @throws KernelAddressError unless `startVa < endVa` are page-aligned safe integers
   */
  constructor(
    private readonly tables: WalkSource,
    readonly startVa: number,
    readonly endVa: number,
  ) {
    if (!Number.isSafeInteger(startVa) || !Number.isSafeInteger(endVa) || startVa < 0 || startVa % PAGE !== 0 || endVa % PAGE !== 0 || endVa <= startVa) {
      throw new KernelAddressError(startVa, `range ${show(startVa)}..${show(endVa)} is not a non-empty page-aligned range`);
    }
    this.watermark = startVa;
  }

  /** End of the highest allocation so far (the next watermark allocation starts here). */
  get watermarkVa(): number {
    return this.watermark;
  }

  /** Counters since construction. */
  stats(): HighestAllocationStats {
    return { watermarkAllocations: this.watermarkCount, fallbackAllocations: this.fallbackCount, walks: this.walkCount };
  }

  /**
   * A range of `sizeBytes` (a positive multiple of 4096): at the watermark if it fits below
   * `endVa`, else the lowest run of unmapped pages below the watermark.
   * @returns its first address, or null when neither finds room (nothing changed)
   * @throws KernelSizeError for a size that is not a positive page multiple (nothing changed)
   */
  alloc(sizeBytes: number): number | null {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % PAGE !== 0) throw new KernelSizeError('sizeBytes', sizeBytes, 'must be a positive multiple of 4096');
    if (sizeBytes <= this.endVa - this.watermark) {
      const va = this.watermark;
      this.watermark += sizeBytes;
      this.watermarkCount++;
      return va;
    }
    const va = this.firstUnmappedRun(sizeBytes);
    if (va !== null) this.fallbackCount++;
    return va;
  }

  /** First fit over the page tables below the watermark: the lowest unmapped run of `sizeBytes`. */
  private firstUnmappedRun(sizeBytes: number): number | null {
    let runStart = this.startVa;
    let va = this.startVa;
    while (va < this.watermark) {
      if (va - runStart >= sizeBytes) return runStart;
      const steps = this.tables.walk(va);
      this.walkCount++;
      const last = steps[steps.length - 1]!;
      // Bytes the last entry read covers: 4 KiB at the PT, 2 MiB at a PD, 1 GiB at a PDPT, 512 GiB at the PML4.
      const span = PAGE * 512 ** (last.level - 1);
      const next = Math.floor(va / span) * span + span;
      if (last.entry.present) runStart = next; // a mapped page (of any size): the run restarts after it
      va = next;
    }
    return Math.min(va, this.watermark) - runStart >= sizeBytes ? runStart : null;
  }

  /** @throws Error if the watermark left `[startVa, endVa]` or is not page aligned. */
  checkInvariants(): void {
    if (this.watermark < this.startVa || this.watermark > this.endVa || this.watermark % PAGE !== 0) throw new Error(`HighestAllocation: watermark ${this.watermark} outside ${this.startVa}..${this.endVa}`);
  }
}
