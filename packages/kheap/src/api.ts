import { hex, show } from './hex';
import { brandErrors, markErrorClasses } from './brand';

/** Bytes in a page: the unit in which the heap gets memory from, and returns it to, its backing. */
export const PAGE_SIZE = 4096;

/**
 * The memory a {@link KernelHeap} manages, reached only through this port. The heap writes all of
 * its per-block bookkeeping (block headers, free-list links, slab descriptors, red zones) into it.
 *
 * A backing owns a region of virtual addresses `[base, base + limitBytes)` and hands out whole
 * pages of it. In kernel-sim, `grow` takes frames from the physical allocator and maps them with
 * the paging package; `shrink` unmaps them and frees the frames. {@link ArrayBufferBacking} is the
 * stand-alone implementation (Node and browser).
 *
 * Addresses are plain numbers (48-bit linear virtual addresses; they may be above 2^32).
 */
export interface HeapBacking {
  /** First address of the region, page aligned. */
  readonly base: number;
  /** Size of the region in bytes: a page multiple, at most 2^31 (the heap stores 31-bit offsets from `base`). */
  readonly limitBytes: number;
  /** Reads the 32-bit little-endian word at `va` (4-aligned, inside a page obtained with `grow`); returns it unsigned or signed, either is fine. */
  read32(va: number): number;
  /** Writes the low 32 bits of `value` at `va` (4-aligned, inside a page obtained with `grow`). */
  write32(va: number, value: number): void;
  /** Reads the byte at `va` (0..255). */
  read8(va: number): number;
  /** Writes the low 8 bits of `value` at `va`. */
  write8(va: number, value: number): void;
  /**
   * Gets `minBytes` (a positive page multiple) of fresh, contiguous, readable and writable pages
   * inside the region and returns the address of the first, or `null` when none are available.
   * Successive runs need not be contiguous with each other: the heap never assumes it (a kernel
   * heap region usually does grow contiguously upward from its base, and ArrayBufferBacking
   * returns the lowest free run, so it does too until pages are returned).
   */
  grow(minBytes: number): number | null;
  /** Returns whole pages `[va, va + sizeBytes)` (page aligned, page multiple, previously obtained with `grow`). */
  shrink(va: number, sizeBytes: number): void;
  /**
   * Optional fast path: a view of the WHOLE region as 32-bit words, where word `i` is the memory at
   * `base + 4 * i`. When present, the heap reads and writes its metadata through this view (and a
   * byte view over the same buffer) instead of calling `read32`/`write32`; the two must agree.
   * Backings that cannot expose memory as one array (kernel-sim's) leave it out.
   */
  words32?(): Int32Array;
}

/** Options of {@link KernelHeap}. */
export interface KernelHeapOptions {
  /** Where the heap's memory comes from. */
  backing: HeapBacking;
  /**
   * SLUB-debug / KASAN-like checking: red zones around every block (checked on free and by
   * checkInvariants), poison written into freed blocks (checked when a block is handed out again,
   * so a use-after-free write is reported), original request sizes recorded. Slower and larger.
   * @defaultValue false
   */
  debug?: boolean;
  /**
   * Bytes the TLSF allocator asks its backing for at a time (a page multiple, at least 32 KiB); a
   * block that does not fit one gets an arena of its own size.
   * @defaultValue 32768 (32 KiB)
   */
  tlsfArenaBytes?: number;
}

/** Options of {@link KernelHeap.kmalloc}. */
export interface KmallocOptions {
  /** Required alignment of the returned address: a power of two, at most {@link PAGE_SIZE}. @defaultValue 8 */
  alignBytes?: number;
}

/** Options of {@link KernelHeap.kmemCacheCreate}. */
export interface KmemCacheOptions {
  /** Alignment of every object: a power of two, at most {@link PAGE_SIZE}. @defaultValue 8 */
  alignBytes?: number;
}

/** Which allocator a block belongs to. */
export type BlockKind = 'slab' | 'tlsf' | 'large';

/** One block of the heap, as {@link KernelHeap.blocks} reports it for pictures and checks. */
export interface HeapBlock {
  /** First byte of the block including its own metadata (TLSF header, red zones). */
  start: number;
  /** Bytes the block occupies, metadata included (slab: the object stride; TLSF: header + payload; large: whole pages). */
  sizeBytes: number;
  /** The allocator the block belongs to. */
  kind: BlockKind;
  /** True while the block is allocated. */
  used: boolean;
  /** The address a caller gets (or would get) for this block. */
  ptr: number;
  /** Usable bytes at `ptr` (what `ksize` reports when used). */
  usableBytes: number;
  /** Bytes the caller asked for, when known (TLSF, large, and every block in debug mode); `undefined` otherwise. */
  requestedBytes?: number;
  /** Name of the slab cache, for `kind: 'slab'`. */
  cache?: string;
}

/** Per-cache counters in {@link HeapStats}. */
export interface CacheStats {
  /** Cache name, e.g. `kmalloc-64`. */
  name: string;
  /** Object size callers asked for when creating the cache (the class size for kmalloc caches). */
  objectSizeBytes: number;
  /** Distance between objects in a slab (object + alignment padding + debug red zones). */
  strideBytes: number;
  /** Bytes per slab (a page multiple). */
  slabBytes: number;
  /** Objects that fit one slab. */
  objectsPerSlab: number;
  /** Slabs currently held. */
  slabCount: number;
  /** Objects allocated now. */
  objectsInUse: number;
}

/** A snapshot of heap usage. */
export interface HeapStats {
  /**
   * Sum of the sizes callers asked for over live allocations. Exact for TLSF and large blocks and
   * for everything in debug mode; a slab object outside debug mode does not record its request
   * (as in SLUB) and counts as its cache's object size.
   */
  bytesRequested: number;
  /** Bytes occupied by live allocations including their overhead (headers, padding, red zones, page rounding). */
  bytesInUse: number;
  /** Pages held from the backing. */
  pagesHeld: number;
  /** `pagesHeld * PAGE_SIZE`. */
  bytesHeld: number;
  /** Share of held memory not holding requested bytes: `1 - bytesRequested / bytesHeld` (0 when nothing is held). */
  fragmentation: number;
  /** Live allocations (all kinds). */
  allocations: number;
  /** Every slab cache, kmalloc classes first. */
  caches: CacheStats[];
  /** The medium-size allocator. */
  tlsf: {
    /** Arenas the TLSF allocator has taken from the backing. */
    arenaCount: number;
    /** Blocks handed out. */
    blocksInUse: number;
    /** Free blocks on its lists. */
    freeBlocks: number;
    /** Bytes in those free blocks. */
    bytesFree: number;
  };
  /** Page-granular allocations. */
  large: {
    /** Live page-granular allocations. */
    allocations: number;
    /** Pages they hold. */
    pageCount: number;
  };
}

/** What debug mode (or checkInvariants) found, carried by {@link HeapCorruptionError}. */
export interface CorruptionReport {
  /** What was damaged. */
  kind: 'redzone' | 'poison' | 'header' | 'freelist' | 'slab-descriptor';
  /** The block the damage belongs to: its first byte (metadata included). */
  blockStart: number;
  /** Bytes of that block. */
  blockSizeBytes: number;
  /** The caller's address for the block (the one kmalloc returned or would return). */
  ptr: number;
  /** Offset of the first bad byte from `ptr` (negative: before it, in the left red zone or header). */
  offset: number;
  /** Address of the first bad byte. */
  address: number;
  /** Byte expected there, when a pattern was expected. */
  expected?: number;
  /** Byte found there. */
  actual?: number;
  /** Slab cache of the block, if any. */
  cache?: string;
  /** A sentence a person can read. */
  message: string;
}

/**
 * Base class of every misuse error this package throws: a stable `code` a caller can switch on.
 * Each package declares its own (packages import nothing from each other, see DESIGN.md).
 */
export abstract class KmemError extends Error {
  // `instanceof` holds for an error thrown by the other copy of this package (import vs require).
  static {
    brandErrors(this);
  }
  /** Stable machine-readable identifier, e.g. `E_DOUBLE_FREE`. */
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
    markErrorClasses(new.target);
  }
}

/** A size that is negative, NaN, fractional, infinite or larger than the heap region. */
export class InvalidSizeError extends KmemError {
  readonly code = 'E_INVALID_SIZE';
  /** @param sizeBytes The size given, in bytes. */
  constructor(readonly sizeBytes: number, reason: string) {
    super(`invalid size ${show(sizeBytes)}: ${reason}`);
  }
}

/** An alignment that is not a power of two, or larger than a page. */
export class InvalidAlignmentError extends KmemError {
  readonly code = 'E_INVALID_ALIGNMENT';
  /** @param alignBytes The alignment given, in bytes. */
  constructor(readonly alignBytes: number) {
    super(`invalid alignment ${show(alignBytes)}: must be a power of two between 1 and ${PAGE_SIZE}`);
  }
}

/** A pointer the heap never returned (outside its pages, or not an object boundary it knows). */
export class InvalidPointerError extends KmemError {
  readonly code = 'E_INVALID_POINTER';
  /** @param ptr The pointer given. */
  constructor(readonly ptr: number, reason: string) {
    super(`${hex(ptr)} was not returned by this heap: ${reason}`);
  }
}

/** A pointer into the middle of a block rather than to its start. */
export class InteriorPointerError extends KmemError {
  readonly code = 'E_INTERIOR_POINTER';
  /**
   * @param ptr The pointer given.
   * @param blockPtr The start of the block it points into.
   * @param offset How far into the block it points, in bytes.
   */
  constructor(readonly ptr: number, readonly blockPtr: number, readonly offset: number) {
    super(`${hex(ptr)} points into the block at ${hex(blockPtr)} (offset ${offset}), not at its start`);
  }
}

/** Freeing a block that is already free. */
export class DoubleFreeError extends KmemError {
  readonly code = 'E_DOUBLE_FREE';
  /** @param ptr The block's pointer. */
  constructor(readonly ptr: number) {
    super(`double free of ${hex(ptr)}: the block is already free`);
  }
}

/** Returning an object to a slab cache it does not belong to (or to a destroyed cache). */
export class WrongCacheError extends KmemError {
  readonly code = 'E_WRONG_CACHE';
  /**
   * @param ptr The object's pointer.
   * @param cache The name of the cache it was returned to.
   */
  constructor(readonly ptr: number, readonly cache: string, reason: string) {
    super(`${hex(ptr)} cannot be freed to cache ${cache}: ${reason}`);
  }
}

/** Destroying a slab cache that still has allocated objects, or using a destroyed cache. */
export class CacheStateError extends KmemError {
  readonly code = 'E_CACHE_STATE';
  /** @param cache The cache's name. */
  constructor(readonly cache: string, reason: string) {
    super(`cache ${cache}: ${reason}`);
  }
}

/** A backing that breaks the {@link HeapBacking} contract (bad base/limit, misaligned or out-of-region pages). */
export class BackingError extends KmemError {
  readonly code = 'E_BACKING';
  constructor(reason: string) {
    super(`heap backing: ${reason}`);
  }
}

/** An option value that is out of range. */
export class InvalidOptionError extends KmemError {
  readonly code = 'E_INVALID_OPTION';
  /** @param option The option's name. */
  constructor(readonly option: string, reason: string) {
    super(`option ${option}: ${reason}`);
  }
}

/**
 * Heap memory was overwritten where it should not have been: a red zone, a freed block's poison,
 * a block header, a free-list link or a slab descriptor. Thrown by kfree, kmalloc (debug mode,
 * before handing out a block) and checkInvariants, before any state changes.
 */
export class HeapCorruptionError extends KmemError {
  readonly code = 'E_HEAP_CORRUPTION';
  /** @param report What was found damaged, and where. */
  constructor(readonly report: CorruptionReport) {
    super(report.message);
  }
}
