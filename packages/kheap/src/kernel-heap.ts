// The kernel heap: kmalloc/kfree routed by size to slab caches, TLSF or whole pages.
import {
  CacheStateError,
  DoubleFreeError,
  HeapCorruptionError,
  InteriorPointerError,
  InvalidAlignmentError,
  InvalidOptionError,
  InvalidPointerError,
  InvalidSizeError,
  BackingError,
  PAGE_SIZE,
  WrongCacheError,
  type CacheStats,
  type HeapBacking,
  type HeapBlock,
  type HeapStats,
  type KernelHeapOptions,
  type KmallocOptions,
  type KmemCacheOptions,
} from './api';
import { RED_ACTIVE, firstMismatch } from './debug-patterns';
import { hex, show } from './hex';
import { ViewMem, memFor, type Mem } from './mem';
import { PAGE_LARGE, PAGE_NONE, PAGE_SLAB, PAGE_TLSF, PageMap } from './page-map';
import { SLAB_DESCRIPTOR, SLAB_FREE, SLAB_OK, SlabAllocator } from './slab';
import { QUICK_MAX_REQUEST, TLSF_HEADER, Tlsf } from './tlsf';
import { TlsfWords } from './tlsf-words';
import { brand } from './brand';

/** Object sizes of the kmalloc slab caches (`kmalloc-8` … `kmalloc-512`), as Linux's kmalloc_info[] up to 512. */
export const KMALLOC_CLASSES: readonly number[] = [8, 16, 32, 64, 96, 128, 192, 256, 384, 512];
/** Requests up to this many bytes are served by the kmalloc slab caches. */
export const SLAB_MAX_BYTES = 512;
/** Requests above this many bytes get whole pages straight from the backing. */
export const LARGE_MIN_BYTES = 32 * 1024;
/** Large allocations remembered after being freed, to tell a double free from a wild pointer. */
const RECENT_LARGE = 16;
/** Longest slab cache name (Linux's kmem_cache names are short identifiers, /proc/slabinfo shows them). */
const MAX_CACHE_NAME = 64;

/** What {@link KernelHeap.resolve} found. */
const K_SLAB = 1;
const K_TLSF = 2;
const K_LARGE = 3;

/**
 * A kernel heap over a {@link HeapBacking}: `kmalloc`/`kfree` and slab caches, with all per-block
 * metadata written into the managed memory.
 *
 * Routing by request size (see the README for why these thresholds):
 * - 0..512 bytes: kmalloc slab caches (8, 16, 32, 64, 96, 128, 192, 256, 384, 512), O(1).
 * - 513 bytes..32 KiB: TLSF over 32 KiB arenas, O(1), 16-byte header, coalescing, quick lists in front.
 * - above 32 KiB: whole pages from the backing.
 *
 * Alignment: every pointer is 8-aligned, and 16-aligned for requests above 8 bytes; slab
 * classes whose size is a power of two are naturally aligned (outside debug mode); large
 * allocations are page aligned. `alignBytes` asks for more (up to a page).
 */
export class KernelHeap {
  static {
    brand(this, 'KernelHeap'); // instanceof across the import and require copies (brand.ts)
  }
  /** The backing this heap draws pages from. */
  readonly backing: HeapBacking;
  /** True when built with `debug: true`. */
  readonly debug: boolean;
  private readonly base: number;
  private readonly limit: number;
  private readonly m: Mem;
  private readonly pages: PageMap;
  /** The page map's per-page words (one typed array for the heap's life), read by kfree. */
  private readonly pageInfo: Int32Array;
  private readonly slab: SlabAllocator;
  /**
   * The TLSF, in the shape its backing allows, chosen once here: over a plain ArrayBuffer the
   * generated copy that reads and writes an Int32Array directly; over any other backing the one
   * that goes through the backing's read32/write32 (kernel-sim's, through the MMU).
   */
  private readonly tlsf: Tlsf | TlsfWords;
  /** kmalloc class index → cache id, by `(size + 7) >> 3`. */
  private readonly classBySize = new Uint8Array((SLAB_MAX_BYTES >> 3) + 1);
  /** Guaranteed alignment of each kmalloc class (cache ids 0..9). */
  private readonly classAlign: number[] = [];
  private readonly recentLarge = new Float64Array(RECENT_LARGE).fill(-1);
  private recentLargeNext = 0;
  /** Bytes requested of the large blocks (the slab caches and the TLSF count their own: see stats()). */
  private largeRequested = 0;
  private largeCount = 0;
  private largePages = 0;
  /** Set by resolve(): kind, cache, slab, slot of the pointer. */
  private rKind = 0;
  private rCache = 0;
  private rSlab = 0;
  private rSlot = 0;

  /**
   * @throws {@link BackingError} when the backing's base (page aligned, not 0) or limit (page multiple, ≤ 2^31) is unusable.
   * @throws {@link InvalidOptionError} when `options` is not an object, `debug` not a boolean, or `tlsfArenaBytes` not a page multiple of at least 32 KiB.
   */
  constructor(options: KernelHeapOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'must be an object');
    const backing = options.backing as unknown;
    if (typeof backing !== 'object' || backing === null) throw new BackingError('options.backing must be a HeapBacking object');
    const { base, limitBytes } = backing as HeapBacking;
    if (!Number.isSafeInteger(base) || base < 0 || base % PAGE_SIZE !== 0) throw new BackingError(`base ${hex(base)} is not page aligned`);
    // A large block at address 0 would be indistinguishable from the null pointer kfree ignores.
    if (base === 0) throw new BackingError('base 0 would make the null pointer a heap address; start the region above page 0');
    if (!Number.isSafeInteger(limitBytes) || limitBytes <= 0 || limitBytes % PAGE_SIZE !== 0 || limitBytes > 2 ** 31) {
      throw new BackingError(`limitBytes ${show(limitBytes)} must be a positive page multiple of at most 2^31`);
    }
    const arenaBytes = options.tlsfArenaBytes === undefined ? 32 * 1024 : options.tlsfArenaBytes;
    if (!Number.isSafeInteger(arenaBytes) || arenaBytes < 32 * 1024 || arenaBytes % PAGE_SIZE !== 0 || arenaBytes > limitBytes) {
      throw new InvalidOptionError('tlsfArenaBytes', `${show(arenaBytes)} must be a page multiple between 32 KiB and the region size`);
    }
    const debug = options.debug === undefined ? false : options.debug;
    if (typeof debug !== 'boolean') throw new InvalidOptionError('debug', `${typeof debug} is not a boolean`);
    this.backing = backing as HeapBacking;
    this.debug = debug;
    this.base = base;
    this.limit = limitBytes;
    this.m = memFor(this.backing);
    this.pages = new PageMap(this.backing, base, limitBytes);
    this.pageInfo = this.pages.info;
    this.slab = new SlabAllocator(this.m, this.pages, base, this.debug);
    this.tlsf =
      this.m instanceof ViewMem
        ? new TlsfWords(this.m, this.m.words, this.pages, base, this.debug, arenaBytes)
        : new Tlsf(this.m, this.pages, base, this.debug, arenaBytes);
    let c = 0;
    for (const size of KMALLOC_CLASSES) {
      const natural = size & -size;
      const align = this.debug ? Math.min(16, natural) : natural;
      this.slab.create(`kmalloc-${size}`, size, align);
      this.classAlign.push(align);
      while (c <= size >> 3) this.classBySize[c++] = this.classAlign.length - 1;
    }
  }

  // ---------------------------------------------------------------- allocation

  /**
   * Allocates `sizeBytes` bytes. `kmalloc(0)` returns a unique minimal block (the smallest slab
   * object), which must be freed like any other (ksize reports its usable size: 8, or 0 in debug
   * mode) — unlike Linux's shared ZERO_SIZE_PTR, so every non-null result is a real block.
   * Contents are not cleared (in debug mode they hold the poison byte 0x6b).
   * @returns the block's address, or `null` when the backing has no more pages (the heap is unchanged).
   * @throws {@link InvalidSizeError} for a negative, NaN, fractional, infinite or larger-than-region size, or a non-number (BigInt, string).
   * @throws {@link InvalidAlignmentError} for an alignment that is not a power of two up to 4096.
   * @throws {@link HeapCorruptionError} (debug) when the block about to be handed out was written after being freed.
   */
  kmalloc(sizeBytes: number, options?: KmallocOptions): number | null {
    // The common case first, small enough for V8 to inline with kfree into a caller's loop: a
    // request for the TLSF's quick lists (no options) that one of them can serve. The general
    // way returns an offset too, so the address (a double above 2^31) is only made here.
    let off = -1;
    if (typeof sizeBytes === 'number' && options === undefined && (sizeBytes | 0) === sizeBytes && sizeBytes > SLAB_MAX_BYTES && sizeBytes <= QUICK_MAX_REQUEST) {
      off = this.tlsf.quickAlloc(sizeBytes);
    }
    if (off === -1) off = this.kmallocOff(sizeBytes, options);
    return off === -1 ? this.outOfMemory() : this.base + off;
  }

  /**
   * kmalloc's `null`, through a call: until it runs once, V8 compiles that branch as a bail-out,
   * so an inlined kmalloc yields its address as an unboxed double (a literal `null` there makes
   * the result a tagged value, and every address a heap-allocated number).
   */
  private outOfMemory(): null {
    return null;
  }

  /**
   * Like {@link kmalloc}, and the usable bytes (the request, in debug mode) are zeroed.
   * @throws as {@link kmalloc}.
   */
  kzalloc(sizeBytes: number, options?: KmallocOptions): number | null {
    const ptr = this.kmalloc(sizeBytes, options);
    if (ptr !== null) {
      this.resolve(ptr);
      this.m.fill8(ptr - this.base, this.usableOf(ptr - this.base), 0);
    }
    return ptr;
  }

  private checkSize(sizeBytes: number): void {
    // typeof first: `| 0` on a BigInt or a Symbol throws a TypeError, and a string must not coerce.
    // The message is built apart, so this check stays small enough to inline with kfree's.
    if (typeof sizeBytes !== 'number' || (sizeBytes | 0) !== sizeBytes || sizeBytes < 0 || sizeBytes > this.limit) this.badSize(sizeBytes);
  }

  private badSize(sizeBytes: number): never {
    const reason = typeof sizeBytes !== 'number'
      ? `a ${typeof sizeBytes}, not a number`
      : Number.isNaN(sizeBytes)
      ? 'NaN'
      : sizeBytes < 0
        ? 'negative'
        : !Number.isInteger(sizeBytes)
          ? 'not a whole number of bytes'
          : `larger than the heap region (${this.limit} bytes)`;
    throw new InvalidSizeError(sizeBytes, reason);
  }

  private checkAlign(alignBytes: number): number {
    if (typeof alignBytes !== 'number' || !Number.isInteger(alignBytes) || alignBytes < 1 || alignBytes > PAGE_SIZE || (alignBytes & (alignBytes - 1)) !== 0) {
      throw new InvalidAlignmentError(alignBytes);
    }
    return alignBytes < 8 ? 8 : alignBytes;
  }

  /**
   * {@link kmalloc}'s general way (and krealloc's allocation): validates the arguments, routes the
   * request by size to a slab cache, the TLSF or whole pages, and retries once after trim() when
   * the backing is out of pages. Returns an offset, or -1 when out of memory.
   *
   * One method rather than one per route, and the checks of checkSize() and checkAlign() written
   * out in it, on purpose: V8 (Node 20) never inlines a function of more than 460 bytes of
   * bytecode, and this one is well above that (~540). When V8 considers inlining kmalloc into a
   * caller's loop it counts what kmalloc's own compiled code inlined; kept out of it, this path
   * leaves kmalloc small enough to be inlined together with kfree (so neither the address kmalloc
   * returns nor the pointer kfree takes is boxed). Split it, and that inlining is lost.
   */
  private kmallocOff(sizeBytes: number, options: KmallocOptions | undefined): number {
    if (typeof sizeBytes !== 'number' || (sizeBytes | 0) !== sizeBytes || sizeBytes < 0 || sizeBytes > this.limit) this.badSize(sizeBytes);
    let align = 8;
    const alignBytes = options?.alignBytes;
    if (alignBytes !== undefined) {
      if (typeof alignBytes !== 'number' || !Number.isInteger(alignBytes) || alignBytes < 1 || alignBytes > PAGE_SIZE || (alignBytes & (alignBytes - 1)) !== 0) {
        throw new InvalidAlignmentError(alignBytes);
      }
      if (alignBytes > 8) align = alignBytes;
    }
    const size = sizeBytes;
    for (let retried = false; ; retried = true) {
      let off: number;
      let c = size <= SLAB_MAX_BYTES ? this.classBySize[(size + 7) >> 3]! : -1;
      if (c !== -1 && align > this.classAlign[c]!) {
        while (c < KMALLOC_CLASSES.length && this.classAlign[c]! < align) c++;
        if (c === KMALLOC_CLASSES.length) c = -1; // no slab class that aligned: the TLSF
      }
      if (c !== -1) {
        off = this.slab.alloc(c, size);
      } else if (size <= LARGE_MIN_BYTES) {
        off = this.tlsf.alloc(size, align);
      } else {
        const pageCount = Math.ceil(size / PAGE_SIZE);
        off = this.pages.acquire(pageCount, PAGE_LARGE, size);
        if (off !== -1) {
          if (this.debug) this.m.fill8(off + size, pageCount * PAGE_SIZE - size, RED_ACTIVE);
          for (let i = 0; i < RECENT_LARGE; i++) if (this.recentLarge[i] === off) this.recentLarge[i] = -1;
          this.largeCount++;
          this.largePages += pageCount;
          this.largeRequested += size;
        }
      }
      if (off !== -1 || retried || this.trim() === 0) return off;
    }
  }

  // ---------------------------------------------------------------- free

  /**
   * Frees a block returned by kmalloc/kzalloc/krealloc (or a cache's alloc). `null` and 0 are no-ops.
   * @throws {@link InvalidPointerError} for an address the heap never returned, or anything but a number (a BigInt, a string).
   * @throws {@link InteriorPointerError} for an address inside a block.
   * @throws {@link DoubleFreeError} for a block that is already free.
   * @throws {@link HeapCorruptionError} when the block's header or (debug) red zones were overwritten.
   * Nothing changes when it throws.
   */
  kfree(ptr: number | null): void {
    // Small enough for V8 to inline into the caller with kmalloc, so the pointer (a double above
    // 2^31) reaches the allocators as a 31-bit offset, not as a boxed number. What the TLSF's or
    // the slab's fast path does not take (null, 0, a foreign or free pointer, large blocks) goes
    // the general way, which classifies it and throws the misuse error.
    if (typeof ptr === 'number') {
      const off = ptr - this.base;
      if ((off >>> 0) === off && off < this.limit) {
        const kind = this.pageInfo[off >>> 12]! & 3;
        if (kind === PAGE_TLSF ? this.tlsf.freeLive(off) : kind === PAGE_SLAB && this.slab.free(off)) return;
      }
    }
    this.kfreeSlow(ptr);
  }

  private kfreeSlow(ptr: number | null): void {
    if (ptr === null || ptr === 0) return;
    this.checkPtr(ptr);
    this.resolve(ptr);
    this.freeResolved(ptr - this.base);
  }

  /** Rejects anything but a number as a pointer (a BigInt or a Symbol would throw a raw TypeError in the arithmetic, a numeric string would coerce). */
  private checkPtr(ptr: unknown): void {
    if (typeof ptr !== 'number') throw new InvalidPointerError(ptr as number, `a ${typeof ptr} is not an address`);
  }

  /**
   * Classifies `ptr` as the start of a live block and sets rKind/rCache/rSlab/rSlot; throws the
   * misuse error otherwise. Changes no state.
   */
  private resolve(ptr: number): void {
    const off = ptr - this.base;
    if ((off | 0) !== off || off < 0) throw new InvalidPointerError(ptr, 'outside the heap region');
    const kind = this.pages.kindAt(off);
    if (kind === PAGE_SLAB) {
      const slab = this.slab;
      const r = slab.locate(off);
      const c = slab.cacheOf(slab.slab);
      if (r === SLAB_OK) {
        this.rKind = K_SLAB;
        this.rCache = c;
        this.rSlab = slab.slab;
        this.rSlot = slab.slot;
        return;
      }
      if (r === SLAB_FREE) throw new DoubleFreeError(ptr);
      if (r === SLAB_DESCRIPTOR) throw new InvalidPointerError(ptr, `it points into the descriptor of a ${slab.names[c]!} slab`);
      const user = slab.userOf(c, slab.slot);
      if (off < user) throw new InvalidPointerError(ptr, `it points into the red zone before ${hex(this.base + user)}`);
      throw new InteriorPointerError(ptr, this.base + user, off - user);
    }
    if (kind === PAGE_TLSF) {
      const tlsf = this.tlsf;
      const cls = tlsf.classify(off);
      if (cls === 0) {
        this.rKind = K_TLSF;
        return;
      }
      if (cls === 1) throw new DoubleFreeError(ptr);
      // Not a block's pointer: walk the arena to say what it is (error path only).
      const arena = this.pages.runStart(off);
      const b = tlsf.blockContaining(arena, off);
      if (b === -1) {
        const hb = tlsf.headerOf(off);
        throw new HeapCorruptionError(
          tlsf.report('header', hb, 0, off, hb, `TLSF header before ${hex(ptr)} (or an earlier one in its arena) is overwritten: cannot tell which block ${hex(ptr)} is`),
        );
      }
      const user = b + TLSF_HEADER + tlsf.userOff;
      // Inside free memory: most likely a block freed before and since merged with a neighbour.
      if (tlsf.isFree(b)) throw new DoubleFreeError(ptr);
      if (off < user) throw new InvalidPointerError(ptr, `it points into the header of the TLSF block at ${hex(this.base + b)}`);
      throw new InteriorPointerError(ptr, this.base + user, off - user);
    }
    if (kind === PAGE_LARGE) {
      const start = this.pages.runStart(off);
      if (start !== off) throw new InteriorPointerError(ptr, this.base + start, off - start);
      this.rKind = K_LARGE;
      return;
    }
    for (let i = 0; i < RECENT_LARGE; i++) if (this.recentLarge[i] === off) throw new DoubleFreeError(ptr);
    throw new InvalidPointerError(ptr, kind === PAGE_NONE && off < this.limit ? 'no heap page there' : 'outside the heap region');
  }

  /** Frees the block resolve() just classified at offset `off`. */
  private freeResolved(off: number): void {
    const kind = this.rKind;
    // The slab caches and the TLSF count their own objects and bytes.
    if (kind === K_SLAB) {
      this.slab.free(off);
    } else if (kind === K_TLSF) {
      this.tlsf.free(off);
    } else {
      const head = off / PAGE_SIZE;
      const requested = this.pages.runAux[head]!;
      const pageCount = this.pages.runPages[head]!;
      if (this.debug) this.checkLargeRedZone(off, requested, pageCount);
      this.pages.release(off);
      this.recentLarge[this.recentLargeNext] = off;
      this.recentLargeNext = (this.recentLargeNext + 1) % RECENT_LARGE;
      this.largeCount--;
      this.largePages -= pageCount;
      this.largeRequested -= requested;
    }
  }

  private checkLargeRedZone(off: number, requested: number, pageCount: number): void {
    const bad = firstMismatch(this.m, off + requested, pageCount * PAGE_SIZE - requested, RED_ACTIVE);
    if (bad !== -1) {
      throw new HeapCorruptionError({
        kind: 'redzone',
        blockStart: this.base + off,
        blockSizeBytes: pageCount * PAGE_SIZE,
        ptr: this.base + off,
        offset: bad - off,
        address: this.base + bad,
        expected: RED_ACTIVE,
        actual: this.m.rd8(bad),
        message: `right red zone of large block ${hex(this.base + off)} overwritten at offset ${bad - off} (${bad - off - requested} bytes past the ${requested} requested)`,
      });
    }
  }

  /** Usable bytes of the block resolve() just classified. */
  private usableOf(off: number): number {
    if (this.rKind === K_SLAB) return this.slab.usable(this.rCache, this.rSlot);
    if (this.rKind === K_TLSF) return this.tlsf.usable(off);
    const head = off / PAGE_SIZE;
    return this.debug ? this.pages.runAux[head]! : this.pages.runPages[head]! * PAGE_SIZE;
  }

  /**
   * Usable bytes of the live block at `ptr`: at least what was asked for; in debug mode exactly
   * what was asked for (the rest is red zone).
   * @throws as {@link kfree} for a pointer that is not a live block.
   */
  ksize(ptr: number): number {
    this.checkPtr(ptr);
    this.resolve(ptr);
    return this.usableOf(ptr - this.base);
  }

  /**
   * Resizes the block at `ptr` to `sizeBytes`, keeping its first min(old, new) bytes. Stays in
   * place when the block is already big enough (outside debug mode, as Linux's krealloc), else
   * allocates, copies and frees. `krealloc(null, n)` is `kmalloc(n)`.
   * @returns the (possibly moved) address, or `null` when out of memory: the old block is then untouched.
   * @throws as {@link kmalloc} and {@link kfree}.
   */
  krealloc(ptr: number | null, sizeBytes: number, options?: KmallocOptions): number | null {
    if (ptr === null || ptr === 0) return this.kmalloc(sizeBytes, options);
    this.checkPtr(ptr);
    this.checkSize(sizeBytes);
    const align = options?.alignBytes === undefined ? 8 : this.checkAlign(options.alignBytes);
    this.resolve(ptr);
    const off = ptr - this.base;
    const usable = this.usableOf(off);
    if (!this.debug && sizeBytes <= usable && off % align === 0 && this.sameRoute(off, sizeBytes)) {
      if (this.rKind === K_TLSF) {
        this.tlsf.bytesRequested += sizeBytes - this.tlsf.requested(off);
        this.m.wr(this.tlsf.headerOf(off) + 8, sizeBytes);
      } else if (this.rKind === K_LARGE) {
        const head = off / PAGE_SIZE;
        this.largeRequested += sizeBytes - this.pages.runAux[head]!;
        this.pages.runAux[head] = sizeBytes;
      }
      return ptr;
    }
    const kind = this.rKind;
    const cache = this.rCache;
    const slabStart = this.rSlab;
    const slot = this.rSlot;
    const n = this.kmallocOff(sizeBytes, options);
    if (n === -1) return null;
    this.m.copy(n, off, Math.min(usable, sizeBytes));
    // kmallocOff may have changed rKind…: restore what resolve() found for the old block.
    this.rKind = kind;
    this.rCache = cache;
    this.rSlab = slabStart;
    this.rSlot = slot;
    this.freeResolved(off);
    return this.base + n;
  }

  /**
   * True when a request of `sizeBytes` would be served by the same allocator (and the same slab
   * cache, or the same number of pages) as the block resolve() just classified at `off`, so
   * krealloc can keep it in place without breaking the routing rules checkInvariants verifies.
   */
  private sameRoute(off: number, sizeBytes: number): boolean {
    if (this.rKind === K_SLAB) return this.rCache < KMALLOC_CLASSES.length && sizeBytes <= SLAB_MAX_BYTES && this.classBySize[(sizeBytes + 7) >> 3] === this.rCache;
    if (this.rKind === K_TLSF) return sizeBytes > SLAB_MAX_BYTES && sizeBytes <= LARGE_MIN_BYTES;
    return sizeBytes > LARGE_MIN_BYTES && Math.ceil(sizeBytes / PAGE_SIZE) === this.pages.runPages[off / PAGE_SIZE];
  }

  // ---------------------------------------------------------------- caches

  /**
   * Creates a slab cache of `objectSizeBytes`-byte objects (1..8192), as kmem_cache_create.
   * Objects are aligned to `alignBytes` (default 8).
   * @throws {@link InvalidOptionError} `E_INVALID_OPTION` when `name` is not a string of 1..64 characters.
   * @throws {@link InvalidSizeError} for an object size outside 1..8192.
   * @throws {@link InvalidAlignmentError} for a bad alignment.
   */
  kmemCacheCreate(name: string, objectSizeBytes: number, options?: KmemCacheOptions): KmemCache {
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_CACHE_NAME) {
      throw new InvalidOptionError('name', `a cache name must be a string of 1..${MAX_CACHE_NAME} characters, not ${typeof name === 'string' ? `${name.length} characters` : `a ${typeof name}`}`);
    }
    if (typeof objectSizeBytes !== 'number' || !Number.isInteger(objectSizeBytes) || objectSizeBytes < 1 || objectSizeBytes > SlabAllocator.MAX_OBJECT_BYTES) {
      throw new InvalidSizeError(objectSizeBytes, `a cache object must be 1..${SlabAllocator.MAX_OBJECT_BYTES} bytes`);
    }
    const align = options?.alignBytes === undefined ? 8 : this.checkAlign(options.alignBytes);
    const id = this.slab.create(name, objectSizeBytes, align);
    return new KmemCache(this, id, name, objectSizeBytes);
  }

  /** @internal Allocation for {@link KmemCache.alloc}. */
  cacheAlloc(id: number): number | null {
    const slab = this.slab;
    if (!slab.alive[id]) throw new CacheStateError(slab.names[id]!, 'used after kmemCacheDestroy');
    let off = slab.alloc(id, slab.objSize[id]!);
    if (off === -1 && this.trim() > 0) off = slab.alloc(id, slab.objSize[id]!);
    if (off === -1) return null;
    return this.base + off;
  }

  /** @internal Free for {@link KmemCache.free}. */
  cacheFree(id: number, ptr: number | null): void {
    const slab = this.slab;
    if (!slab.alive[id]) throw new CacheStateError(slab.names[id]!, 'used after kmemCacheDestroy');
    if (ptr === null || ptr === 0) return;
    this.checkPtr(ptr);
    this.resolve(ptr);
    if (this.rKind !== K_SLAB || this.rCache !== id) {
      const owner = this.rKind === K_SLAB ? slab.names[this.rCache]! : this.rKind === K_TLSF ? 'the TLSF allocator' : 'a large allocation';
      throw new WrongCacheError(ptr, slab.names[id]!, `it belongs to ${owner}`);
    }
    this.freeResolved(ptr - this.base);
  }

  /** @internal Destroy for {@link KmemCache.destroy}. */
  cacheDestroy(id: number): void {
    const slab = this.slab;
    if (!slab.alive[id]) throw new CacheStateError(slab.names[id]!, 'already destroyed');
    if (id < KMALLOC_CLASSES.length) throw new CacheStateError(slab.names[id]!, 'kmalloc caches cannot be destroyed');
    if (slab.inUse[id] !== 0) throw new CacheStateError(slab.names[id]!, `${slab.inUse[id]!} objects are still allocated`);
    slab.trim();
    slab.alive[id] = false;
  }

  /** @internal Cache counters for {@link KmemCache.stats}. */
  cacheStats(id: number): CacheStats {
    return this.slab.stats(id);
  }

  // ---------------------------------------------------------------- pages, pictures, checks

  /**
   * Returns to the backing every page the heap holds only as a reserve: the empty slab each cache
   * keeps and an entirely free last TLSF arena (as kmem_cache_shrink). Called automatically
   * before reporting out of memory.
   * @returns pages released.
   */
  trim(): number {
    return this.slab.trim() + this.tlsf.trim();
  }

  /** Live blocks, their bytes requested and in use: the slab caches', the TLSF's and the large blocks' own counts. */
  private totals(): { allocations: number; bytesRequested: number; bytesInUse: number } {
    const slab = this.slab.totals();
    const tlsf = this.tlsf;
    return {
      allocations: slab.objects + tlsf.blocksInUse + this.largeCount,
      bytesRequested: slab.bytesRequested + tlsf.bytesRequested + this.largeRequested,
      bytesInUse: slab.bytesInUse + tlsf.bytesInUse + this.largePages * PAGE_SIZE,
    };
  }

  /** A snapshot of usage counters (walks the TLSF free lists, O(free blocks)). */
  stats(): HeapStats {
    const caches = [];
    for (let c = 0; c < this.slab.names.length; c++) if (this.slab.alive[c]) caches.push(this.slab.stats(c));
    const free = this.tlsf.freeTotals();
    const pagesHeld = this.pages.pagesHeld;
    const bytesHeld = pagesHeld * PAGE_SIZE;
    const t = this.totals();
    return {
      bytesRequested: t.bytesRequested,
      bytesInUse: t.bytesInUse,
      pagesHeld,
      bytesHeld,
      fragmentation: bytesHeld === 0 ? 0 : 1 - t.bytesRequested / bytesHeld,
      allocations: t.allocations,
      caches,
      tlsf: { arenaCount: this.tlsf.arenaCount, blocksInUse: this.tlsf.blocksInUse, freeBlocks: free.count, bytesFree: free.bytes },
      large: { allocations: this.largeCount, pageCount: this.largePages },
    };
  }

  /** Every block of the heap in address order (slab objects, TLSF blocks, large runs), for pictures. */
  blocks(): HeapBlock[] {
    const out: HeapBlock[] = [];
    this.pages.forEachRun((off, kind, pageCount) => {
      if (kind === PAGE_SLAB) this.slab.walk(off, out);
      else if (kind === PAGE_TLSF) this.tlsf.walk(off, out);
      else {
        const requested = this.pages.runAux[off / PAGE_SIZE]!;
        out.push({
          start: this.base + off,
          sizeBytes: pageCount * PAGE_SIZE,
          kind: 'large',
          used: true,
          ptr: this.base + off,
          usableBytes: this.debug ? requested : pageCount * PAGE_SIZE,
          requestedBytes: requested,
        });
      }
    });
    return out;
  }

  /**
   * Walks every page, slab, TLSF block and list and compares with the counters. In debug mode it
   * also checks every red zone and every freed block's poison.
   * @throws {@link HeapCorruptionError} when memory the heap owns was overwritten.
   * @throws Error for any other inconsistency.
   */
  checkInvariants(): void {
    this.pages.checkInvariants();
    const slabsSeen = new Map<number, number>();
    const freeSeen = new Set<number>();
    const inUse = new Array<number>(this.slab.names.length).fill(0);
    const slabCount = new Array<number>(this.slab.names.length).fill(0);
    let tlsfUsed = 0;
    let arenas = 0;
    let large = 0;
    let largePages = 0;
    let requested = 0;
    let bytesInUse = 0;
    this.tlsf.checkedRequested = 0;
    this.tlsf.checkedBytes = 0;
    this.tlsf.checkedSpare = 0;
    this.pages.forEachRun((off, kind, pageCount) => {
      if (kind === PAGE_SLAB) {
        const used = this.slab.checkSlab(off, pageCount);
        const c = this.slab.cacheOf(off);
        slabsSeen.set(off, used);
        inUse[c]! += used;
        slabCount[c]!++;
        bytesInUse += used * this.slab.stride[c]!;
        requested += this.slab.checkedRequested;
      } else if (kind === PAGE_TLSF) {
        tlsfUsed += this.tlsf.checkArena(off, pageCount, freeSeen);
        arenas++;
      } else {
        const req = this.pages.runAux[off / PAGE_SIZE]!;
        if (Math.ceil(req / PAGE_SIZE) !== pageCount || req <= LARGE_MIN_BYTES) throw new Error(`large block ${hex(this.base + off)}: ${req} bytes in ${pageCount} pages`);
        if (this.debug) this.checkLargeRedZone(off, req, pageCount);
        large++;
        largePages += pageCount;
        requested += req;
        bytesInUse += pageCount * PAGE_SIZE;
      }
    });
    this.slab.checkLists(slabsSeen);
    this.tlsf.checkLists(freeSeen);
    for (let c = 0; c < inUse.length; c++) {
      if (inUse[c] !== this.slab.inUse[c]) throw new Error(`cache ${this.slab.names[c]!}: ${inUse[c]!} objects in slabs, ${this.slab.inUse[c]!} counted`);
      if (slabCount[c] !== this.slab.slabCount[c]) throw new Error(`cache ${this.slab.names[c]!}: ${slabCount[c]!} slabs held, ${this.slab.slabCount[c]!} counted`);
    }
    if (this.tlsf.checkedRequested !== this.tlsf.bytesRequested) throw new Error(`TLSF: ${this.tlsf.checkedRequested} bytes requested found, ${this.tlsf.bytesRequested} counted`);
    if (this.tlsf.checkedBytes !== this.tlsf.bytesInUse) throw new Error(`TLSF: ${this.tlsf.checkedBytes} bytes in use found, ${this.tlsf.bytesInUse} counted`);
    if (this.tlsf.checkedSpare !== this.tlsf.spareArenas) throw new Error(`TLSF: ${this.tlsf.checkedSpare} entirely free arenas, counted ${this.tlsf.spareArenas} spares`);
    if (tlsfUsed !== this.tlsf.blocksInUse || arenas !== this.tlsf.arenaCount) throw new Error(`TLSF: ${tlsfUsed} used blocks in ${arenas} arenas, counted ${this.tlsf.blocksInUse} in ${this.tlsf.arenaCount}`);
    if (large !== this.largeCount || largePages !== this.largePages) throw new Error(`large: ${large} blocks of ${largePages} pages, counted ${this.largeCount} of ${this.largePages}`);
    const counted = this.totals();
    const total = inUse.reduce((a, b) => a + b, 0) + tlsfUsed + large;
    requested += this.tlsf.checkedRequested;
    bytesInUse += this.tlsf.checkedBytes;
    if (total !== counted.allocations) throw new Error(`${total} live blocks found, ${counted.allocations} counted`);
    if (requested !== counted.bytesRequested) throw new Error(`${requested} bytes requested found, ${counted.bytesRequested} counted`);
    if (bytesInUse !== counted.bytesInUse) throw new Error(`${bytesInUse} bytes in use found, ${counted.bytesInUse} counted`);
  }
}

/**
 * A slab cache of fixed-size objects made by {@link KernelHeap.kmemCacheCreate}
 * (kmem_cache_alloc / kmem_cache_free / kmem_cache_destroy).
 */
export class KmemCache {
  static {
    brand(this, 'KmemCache'); // instanceof across the import and require copies (brand.ts)
  }
  /** @internal */
  constructor(
    private readonly heap: KernelHeap,
    private readonly id: number,
    /** Name given at creation. */
    readonly name: string,
    /** Object size given at creation. */
    readonly objectSizeBytes: number,
  ) {}

  /**
   * Allocates one object; `null` when out of memory.
   * @throws {@link CacheStateError} after destroy().
   * @throws {@link HeapCorruptionError} (debug) on a use-after-free write into the object.
   */
  alloc(): number | null {
    return this.heap.cacheAlloc(this.id);
  }

  /**
   * Returns an object to this cache (`null`/0: no-op).
   * @throws {@link WrongCacheError} for an object of another cache or allocator.
   * @throws the errors of {@link KernelHeap.kfree}, and {@link CacheStateError} after destroy().
   */
  free(ptr: number | null): void {
    this.heap.cacheFree(this.id, ptr);
  }

  /**
   * Destroys the cache and returns its slabs.
   * @throws {@link CacheStateError} while objects are allocated, for a kmalloc cache, or twice.
   */
  destroy(): void {
    this.heap.cacheDestroy(this.id);
  }

  /** This cache's counters. */
  stats(): CacheStats {
    return this.heap.cacheStats(this.id);
  }
}
