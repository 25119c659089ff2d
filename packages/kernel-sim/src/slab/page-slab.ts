// Seed 001's "slab allocator 4k" region: a cache of page-sized kernel objects. Each object is one
// page of the slab region backed by its own frame. A freed object stays mapped in the cache (up to
// `cacheLimitObjects`), so the next allocation costs no frame, no table edit and no TLB flush;
// beyond the limit, or on `shrink()`, cached pages are unmapped and their frames given back.
// Slots are tracked in a typed array (one state byte per page of the region): O(1) alloc and free.
import type { HeapPageSource } from '../heap-backing';
import { formatCanonical } from '../hex';
import { show } from '../show-value';
import { KernelAddressError, KernelInvariantError, KernelSizeError } from '../kernel-errors';

const PAGE = 4096;
const NEVER_USED = 0;
const IN_USE = 1;
const CACHED = 2;
const UNMAPPED = 3;

/** Counters of a {@link PageSlab}. */
export interface PageSlabStats {
  /** Objects handed out and not freed. */
  readonly objectsInUse: number;
  /** Freed objects still mapped, ready for reuse. */
  readonly objectsCached: number;
  /** Pages of the region mapped now: in use + cached. */
  readonly pagesMapped: number;
  /** Objects the region holds at most. */
  readonly capacityObjects: number;
  /** Allocations served, all time. */
  readonly allocations: number;
  /** Allocations served from the cache (no frame, no mapping). */
  readonly cacheHits: number;
  /** Frees, all time. */
  readonly frees: number;
  /** Cached pages unmapped and given back (over the limit, or by `shrink`). */
  readonly pagesReleased: number;
}

/**
 * A cache of 4 KiB kernel objects over `[startVa, endVa)` (the layout's `slab` region): `alloc()`
 * returns a mapped page (contents: zero when fresh, the previous object's bytes when reused from
 * the cache, as kmem_cache_alloc), `free(va)` takes it back. Pages map fresh frames through
 * `source` (the kernel's: owned `kernel-data`, RW NX G).
 */
export class PageSlab {
  private readonly state: Uint8Array;
  private readonly cached: Int32Array; // stack of cached slot numbers
  private readonly unmapped: Int32Array; // stack of slots freed and unmapped
  private cachedCount = 0;
  private unmappedCount = 0;
  private next = 0; // first slot never used
  private inUse = 0;
  private allocCount = 0;
  private hitCount = 0;
  private freeCount = 0;
  private releasedCount = 0;

  /**
   * @param cacheLimitObjects - freed objects kept mapped at most (default 64)
   * @throws KernelAddressError for a range that is not page aligned and non-empty; KernelSizeError for a bad limit
   */
  constructor(
    private readonly source: HeapPageSource,
    readonly startVa: number,
    readonly endVa: number,
    readonly cacheLimitObjects = 64,
  ) {
    if (!Number.isSafeInteger(startVa) || !Number.isSafeInteger(endVa) || startVa <= 0 || startVa % PAGE !== 0 || endVa % PAGE !== 0 || endVa <= startVa) {
      throw new KernelAddressError(startVa, `slab range ${show(startVa)}..${show(endVa)} is not a non-empty page-aligned range`);
    }
    if (!Number.isSafeInteger(cacheLimitObjects) || cacheLimitObjects < 0) throw new KernelSizeError('cacheLimitObjects', cacheLimitObjects, 'must be a non-negative integer');
    const slots = (endVa - startVa) / PAGE;
    this.state = new Uint8Array(slots);
    this.cached = new Int32Array(slots);
    this.unmapped = new Int32Array(slots);
  }

  /**
   * A page-sized object: a cached one if any, else a fresh page mapped in the region.
   * @returns its address, or null when the region is full or no frame is free (nothing changed)
   */
  alloc(): number | null {
    let slot: number;
    if (this.cachedCount > 0) {
      slot = this.cached[--this.cachedCount]!;
      this.hitCount++;
    } else {
      const fromUnmapped = this.unmappedCount > 0;
      if (!fromUnmapped && this.next >= this.state.length) return null;
      slot = fromUnmapped ? this.unmapped[this.unmappedCount - 1]! : this.next;
      if (!this.source.mapHeapPages(this.startVa + slot * PAGE, 1)) return null;
      if (fromUnmapped) this.unmappedCount--;
      else this.next++;
    }
    this.state[slot] = IN_USE;
    this.inUse++;
    this.allocCount++;
    return this.startVa + slot * PAGE;
  }

  /**
   * Takes an object back: it stays mapped in the cache while the cache is under its limit.
   * @throws KernelAddressError for an address that is not an object in use (double free, never
   *   allocated, misaligned, outside the region); nothing changes
   */
  free(va: number): void {
    const slot = (va - this.startVa) / PAGE;
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.state.length || this.state[slot] !== IN_USE) {
      throw new KernelAddressError(va, `${Number.isSafeInteger(va) ? formatCanonical(va) : show(va)} is not a slab object in use`);
    }
    this.inUse--;
    this.freeCount++;
    if (this.cachedCount < this.cacheLimitObjects) {
      this.state[slot] = CACHED;
      this.cached[this.cachedCount++] = slot;
    } else this.release(slot);
  }

  /** Whether `va` is the address of an object in use. */
  owns(va: number): boolean {
    const slot = (va - this.startVa) / PAGE;
    return Number.isInteger(slot) && slot >= 0 && slot < this.state.length && this.state[slot] === IN_USE;
  }

  /** Unmaps every cached object and gives its frame back (kmem_cache_shrink). @returns pages released */
  shrink(): number {
    const n = this.cachedCount;
    while (this.cachedCount > 0) this.release(this.cached[--this.cachedCount]!);
    return n;
  }

  /** Counters and sizes now. */
  stats(): PageSlabStats {
    return {
      objectsInUse: this.inUse,
      objectsCached: this.cachedCount,
      pagesMapped: this.inUse + this.cachedCount,
      capacityObjects: this.state.length,
      allocations: this.allocCount,
      cacheHits: this.hitCount,
      frees: this.freeCount,
      pagesReleased: this.releasedCount,
    };
  }

  /** Each slot's state agrees with the stacks and counters. @throws KernelInvariantError */
  checkInvariants(): void {
    let inUse = 0;
    for (let s = 0; s < this.state.length; s++) {
      const st = this.state[s]!;
      if (s >= this.next && st !== NEVER_USED) throw new KernelInvariantError(`slab slot ${s} above the high-water mark is used`);
      if (st === IN_USE) inUse++;
    }
    if (inUse !== this.inUse) throw new KernelInvariantError(`slab: ${this.inUse} objects counted in use, ${inUse} found`);
    for (let i = 0; i < this.cachedCount; i++) if (this.state[this.cached[i]!] !== CACHED) throw new KernelInvariantError(`slab: cached slot ${this.cached[i]} is not cached`);
    for (let i = 0; i < this.unmappedCount; i++) if (this.state[this.unmapped[i]!] !== UNMAPPED) throw new KernelInvariantError(`slab: unmapped slot ${this.unmapped[i]} is not unmapped`);
    if (this.cachedCount > this.cacheLimitObjects) throw new KernelInvariantError(`slab: ${this.cachedCount} cached objects over the limit ${this.cacheLimitObjects}`);
    if (this.inUse + this.cachedCount + this.unmappedCount !== this.next) throw new KernelInvariantError('slab: slots below the high-water mark are not all accounted for');
  }

  private release(slot: number): void {
    this.source.unmapHeapPages(this.startVa + slot * PAGE, 1);
    this.state[slot] = UNMAPPED;
    this.unmapped[this.unmappedCount++] = slot;
    this.releasedCount++;
  }
}
