// Seed 001's kernel heap spans 1 GiB..32 GiB (31 GiB); kheap stores 31-bit offsets, so one heap
// covers at most 2 GiB. The region is cut into 2 GiB arenas, each a kheap over its own slice,
// created when the ones before are full: kmalloc tries the arena that served last, then the
// others, then opens the next; kfree finds a pointer's arena by division (O(1)). kheap's hot
// path is untouched, and no option is capped silently: the whole region is usable.
import { KernelHeap, type KmallocOptions } from '@kmem/kheap';
import type { Cpu } from '@kmem/x86-paging';
import { KernelHeapBacking, type HeapPageSource } from './heap-backing';
import { KernelSizeError } from './kernel-errors';

/** Bytes of one arena: kheap's limit (31-bit offsets). */
export const HEAP_ARENA_BYTES = 2 ** 31;

/** Totals over every arena. */
export interface HeapArenaStats {
  /** Arenas created so far (the first exists from boot). */
  readonly arenaCount: number;
  /** Arenas the region holds at most: one per 2 GiB, and the tail if at least 128 KiB. */
  readonly maxArenaCount: number;
  /** Heap pages mapped, all arenas. */
  readonly pagesHeld: number;
}

/**
 * The kernel heap over `[base, base + limitBytes)` as 2 GiB kheap arenas (the last one shorter).
 * Arena i covers `[base + i × arenaBytes, ...)`; only arena 0 exists until an allocation does not fit
 * in the arenas already made.
 */
export class KernelHeapArenas {
  private readonly heaps: KernelHeap[] = [];
  private readonly backings: KernelHeapBacking[] = [];
  private current = 0;
  private readonly maxArenas: number;

  /**
   * @param base - linear address of the first arena
   * @param limitBytes - bytes of linear space the arenas may span, all together
   * @param debug - kheap's debug mode for every arena
   * @param freeFrames - free physical frames now (a new arena is opened only when they could back the block)
   * @throws KernelSizeError for a bad arena size or limit; kheap's BackingError for a base kheap refuses
   */
  constructor(
    private readonly cpu: Cpu,
    private readonly source: HeapPageSource,
    readonly base: number,
    readonly limitBytes: number,
    private readonly debug: boolean,
    private readonly freeFrames: () => number,
    /** Bytes of one arena: a power of two from 64 KiB to 2 GiB (default {@link HEAP_ARENA_BYTES}). */
    readonly arenaBytes: number = HEAP_ARENA_BYTES,
  ) {
    if (!Number.isSafeInteger(arenaBytes) || arenaBytes < 65_536 || arenaBytes > HEAP_ARENA_BYTES || (arenaBytes & (arenaBytes - 1)) !== 0) throw new KernelSizeError('arenaBytes', arenaBytes, 'must be a power of two from 64 KiB to 2 GiB');
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 65_536 || limitBytes % 4096 !== 0) throw new KernelSizeError('limitBytes', limitBytes, 'must be a page multiple of at least 64 KiB');
    // A tail shorter than 128 KiB is left unused: too small to be worth an arena of its own (kheap's
    // TLSF arenas were 128 KiB when this was written; they are 32 KiB now, so the rule is only conservative).
    const tail = limitBytes % arenaBytes;
    this.maxArenas = Math.floor(limitBytes / arenaBytes) + (tail >= 131_072 ? 1 : 0);
    this.open();
  }

  /** The arenas made so far, lowest first (arena 0 is `kernel.heap`). */
  get arenas(): readonly KernelHeap[] {
    return this.heaps;
  }

  /** Their backings (arena 0's is `kernel.heapBacking`). */
  get arenaBackings(): readonly KernelHeapBacking[] {
    return this.backings;
  }

  /**
   * kheap's kmalloc on the arena that served last, then on every other arena, then on a new one.
   * @returns the block's address, or null when no arena can hold it and no more arenas fit
   * @throws kheap's InvalidSizeError / InvalidAlignmentError (nothing changed)
   */
  kmalloc(sizeBytes: number, options?: KmallocOptions): number | null {
    const first = this.heaps[this.current]!.kmalloc(sizeBytes, options);
    if (first !== null) return first;
    for (let i = 0; i < this.heaps.length; i++) {
      if (i === this.current) continue;
      const p = this.heaps[i]!.kmalloc(sizeBytes, options);
      if (p !== null) {
        this.current = i;
        return p;
      }
    }
    // Every arena is full. A new one helps only if RAM is left for the block (pages + a table);
    // otherwise opening arenas would cost host memory (kheap's page map) for nothing.
    if (this.heaps.length >= this.maxArenas || this.freeFrames() < Math.ceil(sizeBytes / 4096) + 1) return null;
    const p = this.open().kmalloc(sizeBytes, options);
    if (p !== null) this.current = this.heaps.length - 1;
    return p;
  }

  /**
   * kheap's kfree on the arena holding `ptr` (null is ignored).
   * @throws kheap's typed errors for a pointer no arena handed out (nothing changed)
   */
  kfree(ptr: number | null): void {
    if (ptr === null) return;
    // Anything but a number goes to the first arena, whose kfree rejects it with kheap's typed
    // error (arithmetic on a bigint would throw a raw TypeError here first).
    const i = typeof ptr === 'number' ? Math.floor((ptr - this.base) / this.arenaBytes) : 0;
    const heap = this.heaps[i >= 0 && i < this.heaps.length ? i : 0]!;
    heap.kfree(ptr);
  }

  /** Arena counts and pages held. */
  stats(): HeapArenaStats {
    let pagesHeld = 0;
    for (const b of this.backings) pagesHeld += b.pagesHeld;
    return { arenaCount: this.heaps.length, maxArenaCount: this.maxArenas, pagesHeld };
  }

  /** Every arena's heap and backing invariants; arenas tile the region in order. @throws on any inconsistency */
  checkInvariants(): void {
    this.backings.forEach((b, i) => {
      if (b.base !== this.base + i * this.arenaBytes || b.base + b.limitBytes > this.base + this.limitBytes) throw new Error(`heap arena ${i} at ${b.base} is not its slice of the region`);
      b.checkInvariants();
      this.heaps[i]!.checkInvariants();
    });
  }

  private open(): KernelHeap {
    const i = this.heaps.length;
    const start = this.base + i * this.arenaBytes;
    const backing = new KernelHeapBacking(this.cpu, this.source, start, Math.min(this.arenaBytes, this.base + this.limitBytes - start));
    const heap = new KernelHeap({ backing, debug: this.debug });
    this.backings.push(backing);
    this.heaps.push(heap);
    return heap;
  }
}
