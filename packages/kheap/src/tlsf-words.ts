// GENERATED from tlsf.ts by scripts/gen-tlsf-words.ts: do not edit; change tlsf.ts and run
//   node --import tsx packages/kheap/scripts/gen-tlsf-words.ts
// Word accesses go straight to an Int32Array instead of through the Mem port.
/* eslint-disable @typescript-eslint/no-unsafe-enum-comparison, @typescript-eslint/no-duplicate-enum-values -- the const enum T holds named numeric constants (inlined by esbuild), not a set of distinct values */
// TLSF: Two-Level Segregated Fit (Masmano, Ripoll, Crespo, Real, ECRTS 2004), O(1) malloc/free.
//
// Free blocks sit in 24 x 32 segregated lists: the first level is the power of two of the size,
// the second splits each power into 32 equal ranges. One bit per non-empty list in two levels of
// bitmaps turns "find a free block at least this big" into two find-first-set operations.
// Immediate coalescing through boundary tags keeps no two free blocks physically adjacent.
//
// Memory comes in arenas (page runs). Every block starts with a 16-byte header IN the managed
// memory, so payloads are 16-aligned; an arena ends with a zero-size "used" sentinel header:
//
//   arena start                                                            arena end
//   | hdr | payload ........ | hdr | payload ............ | ... | sentinel hdr (size 0) |
//
//   header:  +0 prevPhys (offset of the previous block in the arena, -1 for the first)
//            +4 size | FREE (sizes are multiples of 16; bit 0 = free)
//            +8 bytes requested (used) / 0 (free)
//           +12 check = hash(offset, size word): a header overwritten by an overflow is detected
//   free:   +16 next free, +20 prev free (offsets, -1 ends)
//   debug:  +16..+32 left red zone; payload from +32; right red zone from the request's end
//
// The list heads and bitmaps (TLSF's control structure) live in typed arrays of the heap object,
// as the static control block of a kernel TLSF pool would.
import { HeapCorruptionError, PAGE_SIZE, type CorruptionReport, type HeapBlock } from './api';
import { POISON_FREE, RED_ACTIVE, firstMismatch } from './debug-patterns';
import { hex } from './hex';
import type { Mem } from './mem';
import { PAGE_TLSF, type PageMap } from './page-map';

/**
 * The TLSF's constants, as a const enum so the bundler writes them into the code as literals: a
 * module-level `const` becomes a context load in V8's bytecode, and the hot paths must stay small
 * (in bytecode) for V8 to inline kmalloc and kfree together into a caller.
 */
const enum T {
  // Header words.
  H_PREV = 0,
  H_SIZE = 4,
  H_REQ = 8,
  H_CHECK = 12,
  F_NEXT = 16,
  F_PREV = 20,
  // The same words by number from the header's first (for Mem.rdw / wrw: see quickAlloc).
  W_SIZE = H_SIZE >> 2,
  W_REQ = H_REQ >> 2,
  W_CHECK = H_CHECK >> 2,
  W_NEXT = F_NEXT >> 2,
  FREE = 1,
  /** Size-word bit of a block held in a quick list: free to callers, still "used" to the TLSF. */
  QUICK = 2,
  /** Header bytes; also the payload alignment. */
  HEADER = 16,
  MIN_BLOCK = 32,
  SL_LOG2 = 5,
  SL_COUNT = 1 << SL_LOG2,
  /** Sizes below 2^FL_SHIFT (512) share first-level list 0, split linearly by 16. */
  FL_SHIFT = SL_LOG2 + 4,
  FL_COUNT = 32 - FL_SHIFT + 1,
  /** Largest request whose block the quick lists take. */
  QUICK_MAX_REQUEST = 8192,
  /**
   * Number of quick lists: one per TLSF list, from the first to the one holding the block of an
   * 8 KiB request (8,208 bytes, 8,448 with its class rounding: list 5·32 + 1), and the one above it
   * (a request may take a block of the class above its own).
   */
  QUICK_LISTS = (((13 - FL_SHIFT + 1) << SL_LOG2) | 1) + 2,
  /** First block size past the last quick list (8,960: the lower bound of list 5·32 + 3). */
  QUICK_SIZE_LIMIT = 8192 + 3 * 256,
  /**
   * Block sizes below this (36 KiB) have an entry in {@link Tlsf.quickOfSize}: every block in use
   * (a request of at most 32 KiB, header and rounding added: at most 33,823 bytes).
   */
  SIZE_TABLE_LIMIT = 36 * 1024,
  /** Blocks a quick list of blocks under {@link DEEP_QUICK_FROM} holds at most; a free beyond that goes to the TLSF proper. */
  QUICK_DEPTH = 8,
  /** Blocks a quick list of blocks from {@link DEEP_QUICK_FROM} bytes on holds at most. */
  DEEP_QUICK_DEPTH = 16,
  /** Lists of blocks from this size (3 KiB) hold {@link DEEP_QUICK_DEPTH} blocks (see {@link Tlsf.quickRoom}). */
  DEEP_QUICK_FROM = 3072,
  /**
   * Below this many arenas a request may also take a cached block of the class two above its
   * own (see {@link Tlsf.quickThird}).
   */
  WIDE_QUICK_ARENAS = 24,
  /**
   * From {@link WIDE_QUICK_ARENAS} arenas on, a request still takes a cached block of the class
   * two above its own when that class's blocks are smaller than this (4 KiB).
   */
  NARROW_THIRD_LIMIT = 4096,
}
/** Header bytes; also the payload alignment. */
export const TLSF_HEADER: number = T.HEADER;
/** Largest request whose block the quick lists take. */
export const QUICK_MAX_REQUEST: number = T.QUICK_MAX_REQUEST;
/** Blocks a quick list of blocks under 3 KiB holds at most; a free beyond that goes to the TLSF proper. */
export const QUICK_DEPTH: number = T.QUICK_DEPTH;
/** Blocks a quick list of blocks from 3 KiB on holds at most. */
export const DEEP_QUICK_DEPTH: number = T.DEEP_QUICK_DEPTH;

/**
 * From this many arenas on, one entirely free arena is kept as a spare (at most 1/4 of the held
 * arenas, so the footprint stays within the floors); with one arena, that one is kept.
 */
export const SPARE_FROM_ARENAS = 4;

/**
 * The list a free block of `size` bytes belongs on, as `fl * 32 + sl` (first level: the power of
 * two; second level: which of its 32 equal ranges). One number, so the hot paths keep it in a
 * register instead of writing and re-reading two fields.
 */
function listOf(size: number): number {
  if (size < 1 << T.FL_SHIFT) return size >>> 4;
  const f = fls(size);
  return ((f - T.FL_SHIFT + 1) << T.SL_LOG2) | ((size >>> (f - T.SL_LOG2)) ^ T.SL_COUNT);
}

/**
 * A block size rounded up to a second-level list's lower bound (its size class), so that any
 * block on that list fits it (below 512 the lists are 16 bytes wide: sizes are already bounds).
 */
function listFloorUp(size: number): number {
  if (size < 1 << T.FL_SHIFT) return size;
  const step = (1 << (fls(size) - T.SL_LOG2)) - 1;
  return (size + step) & ~step;
}

function fls(x: number): number {
  return 31 - Math.clz32(x);
}
function ffs(x: number): number {
  return 31 - Math.clz32(x & -x);
}
/** Check word of a header: ties the size word to the block's own offset. */
function checkOf(b: number, sizeWord: number): number {
  return Math.imul(b ^ 0x7b1f_5a3d, 0x9e37_79b1) ^ sizeWord;
}

/** The medium-size allocator, over a backing that offers its memory as one `Int32Array` (`words32()`). */
export class TlsfWords {
  private flMap = 0;
  private readonly slMap = new Int32Array(T.FL_COUNT);
  private readonly heads = new Int32Array(T.FL_COUNT * T.SL_COUNT).fill(-1);
  /**
   * Quick lists (a front cache, as glibc's tcache): per second-level list, freed blocks kept as
   * they are — not merged, not on the TLSF lists — so the next request of that size class takes
   * one in O(1) with a handful of word accesses. Linked through +16 like free blocks; marked
   * QUICK in their size word so kfree still sees a double free. Emptied into the TLSF
   * (merging) before it would grow, when its last block in use is freed, and by trim(). Off in
   * debug mode.
   */
  private readonly quickHead = new Int32Array(T.QUICK_LISTS + 1).fill(-1);
  /**
   * Room left in each quick list: its depth ({@link quickDepth}: 8 blocks, 16 for the lists of
   * blocks from 3 KiB) minus the blocks it holds. On issue 19's trace the deeper lists for the
   * larger classes keep the footprint within its floor at ~1,000 blocks live with the class two
   * above taken at every size under 4 KiB ({@link quickThird}; with 8 everywhere: 1.157 on one
   * draw), and cut the TLSF's own allocations there by a sixth. The list past the last (index
   * QUICK_LISTS) is always empty and has no room: it is the class two above the last request's
   * ({@link quickAlloc}), and the list of every size the quick lists do not hold
   * ({@link quickOfSize}), so a push there is refused.
   */
  private readonly quickRoom = new Int32Array(T.QUICK_LISTS + 1).map((_, i) => this.quickDepth(i));
  /**
   * Quick list of a request, by `(req + 15) >> 4` up to 8 KiB (outside debug mode): what
   * `listOf(blockSizeFor(req))` computes, looked up instead of computed on every kmalloc.
   */
  private readonly quickOfReq = new Uint8Array(((T.QUICK_MAX_REQUEST + 15) >> 4) + 1);
  /**
   * Quick list of a block, by `size >> 4`, for the sizes the quick lists hold; QUICK_LISTS (the
   * always full list) for the other sizes of blocks in use, and for every size in debug mode,
   * which keeps no quick lists.
   */
  private readonly quickOfSize = new Uint8Array(T.SIZE_TABLE_LIMIT >> 4).map((_, k) => (k << 4 < T.QUICK_SIZE_LIMIT ? Math.min(listOf(k << 4), T.QUICK_LISTS) : T.QUICK_LISTS));
  arenaCount = 0;
  /**
   * The third quick list a request looks at ({@link quickAlloc}), by the second (the class above
   * its own): the class two above, or the second list again (empty by then). While the TLSF holds
   * fewer than {@link T.WIDE_QUICK_ARENAS} arenas this is {@link wideThird} (the class two above
   * for every request): in a small heap a quick list rarely holds the class asked for (~128
   * blocks live over ~100 classes on issue 19's trace), and a block at most 3/32 bigger than it
   * needs cuts the TLSF's own allocations by a third there. From 24 arenas on it is
   * {@link narrowThird} (the class two above only while its blocks are under
   * {@link T.NARROW_THIRD_LIMIT}, 4 KiB): the lists
   * are fuller, and the larger blocks of the big classes would cost footprint (issue 19's floor
   * is 1.15 from ~1,000 blocks live, 1.35 below); the small classes, with few blocks live each,
   * still miss most and cost least. Set whenever the arena count changes.
   */
  private quickThird: Uint8Array;
  /** Every list's next: the class two above the request's (the list past the last: empty and full). */
  private readonly wideThird = new Uint8Array(T.QUICK_LISTS + 1).map((_, i) => Math.min(i + 1, T.QUICK_LISTS));
  /** The next list while it holds blocks under {@link T.NARROW_THIRD_LIMIT} bytes, else the list itself. */
  private readonly narrowThird = new Uint8Array(T.QUICK_LISTS + 1).map((_, i) => (i + 1 < listOf(T.NARROW_THIRD_LIMIT) ? i + 1 : i));
  /**
   * Arenas held entirely free (their one free block spans the arena). Hysteresis: an arena that
   * becomes free is kept as a spare rather than returned at once when the heap holds one arena or
   * at least {@link SPARE_FROM_ARENAS}, so a live count hovering at an arena boundary does not
   * grow and shrink the backing on every crossing (each one maps or unmaps 32 pages in kernel-sim).
   */
  spareArenas = 0;
  blocksInUse = 0;
  /** Bytes callers asked for, over the blocks in use (the heap's stats add the other allocators'). */
  bytesRequested = 0;
  /** Block bytes (headers included) of the blocks in use. */
  bytesInUse = 0;
  /** Offset from a payload to the caller's pointer: 0, or 16 (left red zone) in debug mode. */
  readonly userOff: number;
  /** Offset from a caller pointer back to its block header: 16 + {@link userOff}. */
  private readonly userToHeader: number;
  /** The page map's per-page words (one typed array for the heap's life). */
  private readonly pageInfo: Int32Array;

  constructor(
    private readonly m: Mem,
    /** The backing's memory as words: index = offset / 4. */
    private readonly w: Int32Array,
    private readonly pages: PageMap,
    private readonly base: number,
    readonly debug: boolean,
    private readonly arenaBytes: number,
  ) {
    this.userOff = debug ? 16 : 0;
    this.userToHeader = T.HEADER + this.userOff;
    this.pageInfo = pages.info;
    this.quickThird = this.wideThird;
    // Requests in one 16-byte step share a block size (header and rounding add multiples of 16).
    for (let k = 0; k < this.quickOfReq.length; k++) this.quickOfReq[k] = listOf(this.blockSizeFor(k << 4));
    if (debug) this.quickOfSize.fill(T.QUICK_LISTS);
  }

  /** Block bytes for a request of `req` bytes (header, red zones, rounding to 16). */
  blockSizeFor(req: number): number {
    const raw = req + T.HEADER + (this.debug ? 16 + 8 : 0);
    const size = (raw + 15) & ~15;
    // Outside debug mode a block is rounded to its size class (a list's lower bound: at most
    // 1/32 over, 1/64 on average) so a freed block serves any later request of the class.
    return size < T.MIN_BLOCK ? T.MIN_BLOCK : this.debug ? size : listFloorUp(size);
  }

  private insert(b: number, size: number): void {
    const w = this.w;
    const i = listOf(size);
    const h = this.heads[i]!;
    w[(b + T.F_NEXT) >> 2] = h;
    w[(b + T.F_PREV) >> 2] = -1;
    if (h !== -1) w[(h + T.F_PREV) >> 2] = b;
    this.heads[i] = b;
    const fl = i >>> T.SL_LOG2;
    this.flMap |= 1 << fl;
    this.slMap[fl]! |= 1 << (i & (T.SL_COUNT - 1));
  }

  private remove(b: number, size: number): void {
    const w = this.w;
    const n = w[(b + T.F_NEXT) >> 2]!;
    const p = w[(b + T.F_PREV) >> 2]!;
    if (n !== -1) w[(n + T.F_PREV) >> 2] = p;
    if (p !== -1) {
      w[(p + T.F_NEXT) >> 2] = n;
      return;
    }
    const i = listOf(size);
    this.heads[i] = n;
    if (n === -1) this.emptied(i);
  }

  /** List `i` became empty: clear its bitmap bits. */
  private emptied(i: number): void {
    const fl = i >>> T.SL_LOG2;
    const sm = this.slMap[fl]! & ~(1 << (i & (T.SL_COUNT - 1)));
    this.slMap[fl] = sm;
    if (sm === 0) this.flMap &= ~(1 << fl);
  }

  /** The first non-empty list whose every block has at least `size` bytes (a "good fit"), or -1. */
  private find(size: number): number {
    // Round up to the next list boundary so any block of the found list is big enough.
    if (size >= 1 << T.FL_SHIFT) size += (1 << (fls(size) - T.SL_LOG2)) - 1;
    const i = listOf(size);
    let fl = i >>> T.SL_LOG2;
    if (fl >= T.FL_COUNT) return -1;
    let sm = this.slMap[fl]! & (-1 << (i & (T.SL_COUNT - 1)));
    if (sm === 0) {
      const fm = this.flMap & (fl + 1 >= 32 ? 0 : -1 << (fl + 1));
      if (fm === 0) return -1;
      fl = ffs(fm);
      sm = this.slMap[fl]!;
    }
    return (fl << T.SL_LOG2) | ffs(sm);
  }

  /** Unlinks `b`, the head of list `i`. */
  private removeHead(b: number, i: number): void {
    const w = this.w;
    const n = w[(b + T.F_NEXT) >> 2]!;
    this.heads[i] = n;
    if (n !== -1) w[(n + T.F_PREV) >> 2] = -1;
    else this.emptied(i);
  }

  /**
   * Allocates a block for `req` bytes whose caller pointer is aligned to `align` (≥ 16 means a
   * possibly bigger alignment than the natural 16). Returns the caller pointer's offset, or -1
   * when no arena has room and the backing has no pages.
   * @throws {@link HeapCorruptionError} (debug) when the chosen free block's poison was overwritten.
   */
  alloc(req: number, align: number): number {
    if (align <= 16 && req <= T.QUICK_MAX_REQUEST) {
      const user = this.quickAlloc(req);
      if (user !== -1) return user;
    }
    return this.allocSlow(req, align);
  }

  /**
   * The quick lists' {@link alloc} (kmalloc's fast path): a block for `req` (1..8 KiB, a valid
   * request) from this size class's quick list, the next one's (at most 1/32 bigger) or, in a
   * small heap or for the classes under 4 KiB ({@link quickThird}), the one after (at most 3/32
   * bigger), or -1 when they are empty (always in debug mode, which keeps no quick lists).
   */
  quickAlloc(req: number): number {
    const heads = this.quickHead;
    let i = this.quickOfReq[(req + 15) >> 4]!;
    let b = heads[i]!;
    if (b === -1) {
      b = heads[++i]!;
      if (b === -1) {
        // The class two above (quickThird); else list i again, empty.
        b = heads[(i = this.quickThird[i]!)]!;
        if (b === -1) return -1;
      }
    }
    const w = this.w;
    // The header's words by number from q = b / 4 (Mem.rdw), and checkOf(b, size) written out:
    // less bytecode than an offset shifted per access and a call, which keeps this path small
    // enough for V8 to inline.
    const q = b >> 2;
    heads[i] = w[q + T.W_NEXT]!;
    this.quickRoom[i]!++;
    const size = w[q + T.W_SIZE]! & ~15;
    w[q + T.W_SIZE] = size;
    w[q + T.W_REQ] = req;
    w[q + T.W_CHECK] = Math.imul(b ^ 0x7b1f_5a3d, 0x9e37_79b1) ^ size;
    this.blocksInUse++;
    this.bytesRequested += req;
    this.bytesInUse += size;
    return b + T.HEADER;
  }

  /** {@link alloc} from the TLSF lists (and a new arena when they have no fit). */
  private allocSlow(req: number, align: number): number {
    const need = this.blockSizeFor(req);
    const search = align <= 16 ? need : need + align + T.MIN_BLOCK;
    let i = this.find(search);
    if (i === -1) {
      // Before growing, give the quick lists' blocks back (merged): they may hold the fit. First
      // only those that merge with a neighbour (a new, bigger free block); a block between two
      // blocks in use would come back as it is, so it stays cached unless the heap must grow.
      this.drainMergeable();
      i = this.find(search);
      if (i === -1) {
        this.drain();
        i = this.find(search);
      }
    }
    if (i === -1) {
      if (!this.grow(search)) return -1;
      i = this.find(search);
    }
    let b = this.heads[i]!;
    const w = this.w;
    let size = w[(b + T.H_SIZE) >> 2]! & ~15;
    if (this.debug) this.checkFreeBlock(b, size, Math.min(size, need + (align <= 16 ? 0 : align + T.MIN_BLOCK) + T.HEADER));
    this.removeHead(b, i);
    // A block spanning its arena (first block, sentinel next) is a spare arena being taken.
    if (size >= this.arenaBytes - T.HEADER && this.spansArena(b, size)) this.spareArenas--;
    if (align > 16) {
      // Move the block start forward until its caller pointer is aligned, leaving a free block
      // of at least MIN_BLOCK bytes in front (alignment is of the absolute address; base is page aligned).
      const user = b + T.HEADER + this.userOff;
      let gap = ((user + align - 1) & -align) - user;
      if (gap === 0 ? false : gap < T.MIN_BLOCK) gap += Math.ceil((T.MIN_BLOCK - gap) / align) * align;
      if (gap > 0) {
        const b2 = b + gap;
        this.writeFree(b, w[(b + T.H_PREV) >> 2]!, gap);
        this.insert(b, gap);
        w[(b2 + T.H_PREV) >> 2] = b;
        size -= gap;
        b = b2;
        w[(b + size + T.H_PREV) >> 2] = b;
      }
    }
    const rest = size - need;
    if (rest >= T.MIN_BLOCK) {
      const t = b + need;
      w[(t + T.H_PREV) >> 2] = b;
      this.writeFree(t, b, rest);
      this.insert(t, rest);
      w[(t + rest + T.H_PREV) >> 2] = t;
      size = need;
    }
    const sizeWord = size;
    w[(b + T.H_SIZE) >> 2] = sizeWord;
    w[(b + T.H_REQ) >> 2] = req;
    w[(b + T.H_CHECK) >> 2] = checkOf(b, sizeWord);
    this.blocksInUse++;
    this.bytesRequested += req;
    this.bytesInUse += size;
    const user = b + T.HEADER + this.userOff;
    if (this.debug) {
      this.m.fill8(b + T.HEADER, 16, RED_ACTIVE);
      this.m.fill8(user + req, b + size - user - req, RED_ACTIVE);
    }
    return user;
  }

  /**
   * True when the block at `b` of `size` bytes spans its arena: the first block, with the sentinel
   * after it. (Callers test first that `size` is at least an arena's usable bytes, which every
   * arena-spanning block has and almost no other, so the two reads are rare.)
   */
  private spansArena(b: number, size: number): boolean {
    return this.w[(b + T.H_PREV) >> 2]! === -1 && this.w[(b + size + T.H_SIZE) >> 2]! === 0;
  }

  /** Makes the header at `b` invalid (size 0, check 0): it was merged into a neighbour. */
  private wipe(b: number): void {
    this.w[(b + T.H_SIZE) >> 2] = 0;
    this.w[(b + T.H_CHECK) >> 2] = 0;
  }

  private writeFree(b: number, prev: number, size: number): void {
    const w = this.w;
    w[(b + T.H_PREV) >> 2] = prev;
    w[(b + T.H_SIZE) >> 2] = size | T.FREE;
    w[(b + T.H_REQ) >> 2] = 0;
    w[(b + T.H_CHECK) >> 2] = checkOf(b, size | T.FREE);
  }

  /** Gets a new arena big enough for a `size`-byte block; false when the backing has no pages. */
  private grow(size: number): boolean {
    // Room for the good-fit rounding of find(), so the new arena's block is found by it.
    const want = size >= 1 << T.FL_SHIFT ? size + (1 << (fls(size) - T.SL_LOG2)) : size;
    // Arenas are arenaBytes long, or as many pages as a bigger block needs (with its sentinel).
    const bytes = Math.max(this.arenaBytes, Math.ceil((want + T.HEADER) / PAGE_SIZE) * PAGE_SIZE);
    const a = this.pages.acquire(bytes / PAGE_SIZE, PAGE_TLSF, 0);
    if (a === -1) return false;
    const w = this.w;
    const usable = bytes - T.HEADER;
    if (this.debug) this.m.fill8(a, usable, POISON_FREE);
    this.writeFree(a, -1, usable);
    // Sentinel: a used block of size 0 that never merges.
    const sent = a + usable;
    w[(sent + T.H_PREV) >> 2] = a;
    w[(sent + T.H_SIZE) >> 2] = 0;
    w[(sent + T.H_REQ) >> 2] = 0;
    w[(sent + T.H_CHECK) >> 2] = checkOf(sent, 0);
    this.insert(a, usable);
    this.countArenas(1);
    this.spareArenas++;
    return true;
  }

  /** Blocks quick list `i` holds at most: 8, 16 for blocks from 3 KiB, none past the last list. */
  private quickDepth(i: number): number {
    return i === T.QUICK_LISTS ? 0 : i >= listOf(T.DEEP_QUICK_FROM) ? T.DEEP_QUICK_DEPTH : T.QUICK_DEPTH;
  }

  /** Adds `delta` to the arena count and sets {@link quickThird} from it. */
  private countArenas(delta: number): void {
    this.arenaCount += delta;
    this.quickThird = this.arenaCount < T.WIDE_QUICK_ARENAS ? this.wideThird : this.narrowThird;
  }

  /** Header offset of the block whose caller pointer is `user`. */
  headerOf(user: number): number {
    return user - T.HEADER - this.userOff;
  }

  /**
   * Validates that `user` is the caller pointer of an allocated block. Returns 0 when it is,
   * 1 when the block is free (double free), 2 when `user` is not a block's caller pointer.
   * Sets nothing. A header whose check word does not match is treated as "not a block".
   */
  classify(user: number): number {
    const b = this.headerOf(user);
    const w = this.w;
    // The header must be in the same arena as the pointer (equal page-map words: same run).
    const info = this.pages.info;
    // (Only a header on the page before the pointer's can be in another run.)
    if (b < 0 || (b & 15) !== 0 || ((user & (PAGE_SIZE - 1)) < user - b && info[b >>> 12] !== info[user >>> 12])) return 2;
    const sw = w[(b + T.H_SIZE) >> 2]!;
    if (w[(b + T.H_CHECK) >> 2]! !== checkOf(b, sw) || sw === 0) return 2;
    return (sw & (T.FREE | T.QUICK)) !== 0 ? 1 : 0;
  }

  /**
   * kfree's fast path: when `user` is the caller pointer of an allocated block (the checks of
   * {@link classify}, in the same order), frees it and returns true — pushed on its quick list when
   * that has room, else by {@link free}; returns false, changing nothing, for anything else.
   */
  freeLive(user: number): boolean {
    const b = user - this.userToHeader;
    const w = this.w;
    const info = this.pageInfo;
    if (b < 0 || (b & 15) !== 0 || ((user & (PAGE_SIZE - 1)) < user - b && info[b >>> 12] !== info[user >>> 12])) return false;
    const q = b >> 2; // the header's words by number, and checkOf written out, as in quickAlloc
    const size = w[q + T.W_SIZE]!;
    const hash = Math.imul(b ^ 0x7b1f_5a3d, 0x9e37_79b1); // checkOf(b, sw) = hash ^ sw
    // A block in use has no flag bits in its size word (and a size > 0).
    if (w[q + T.W_CHECK]! !== (hash ^ size) || (size & 15) !== 0 || size === 0) return false;
    // A size the quick lists do not hold maps to the always full list; a forged header's size
    // beyond the table reads undefined, which is not above 0 either: both go to free().
    const i = this.quickOfSize[size >> 4]!;
    const room = this.quickRoom;
    if (room[i]! > 0 && this.blocksInUse > 1) {
      const heads = this.quickHead;
      this.blocksInUse--;
      this.bytesInUse -= size;
      this.bytesRequested -= w[q + T.W_REQ]!;
      w[q + T.W_NEXT] = heads[i]!;
      w[q + T.W_SIZE] = size | T.QUICK;
      w[q + T.W_CHECK] = hash ^ (size | T.QUICK);
      heads[i] = b;
      room[i]!--;
      return true;
    }
    this.free(user);
    return true;
  }

  /** True when the block whose header is at `b` is free. */
  isFree(b: number): boolean {
    return (this.w[(b + T.H_SIZE) >> 2]! & (T.FREE | T.QUICK)) !== 0;
  }

  /** Bytes requested for the allocated block at `user`. */
  requested(user: number): number {
    return this.w[(this.headerOf(user) + T.H_REQ) >> 2]!;
  }

  /** Block bytes (header included) of the block at `user`. */
  blockBytes(user: number): number {
    return this.w[(this.headerOf(user) + T.H_SIZE) >> 2]! & ~15;
  }

  /** Usable bytes at `user` (debug: the request). */
  usable(user: number): number {
    const b = this.headerOf(user);
    return this.debug ? this.w[(b + T.H_REQ) >> 2]! : (this.w[(b + T.H_SIZE) >> 2]! & ~15) - T.HEADER;
  }

  /**
   * Frees the allocated block at `user` (validated by {@link classify}). An arena that became
   * entirely free is kept as the spare (see {@link spareArenas}) or returned to the backing.
   * @throws {@link HeapCorruptionError} (debug) when a red zone was overwritten; nothing changes then.
   */
  free(user: number): void {
    const w = this.w;
    const b = this.headerOf(user);
    const size = w[(b + T.H_SIZE) >> 2]! & ~15;
    if (this.debug) this.checkUsedBlock(b, size);
    this.blocksInUse--;
    this.bytesInUse -= size;
    this.bytesRequested -= w[(b + T.H_REQ) >> 2]!;
    if (this.debug) this.m.fill8(b + T.HEADER, size - T.HEADER, POISON_FREE);
    else if (size < T.QUICK_SIZE_LIMIT) {
      const i = this.quickOfSize[size >> 4]!;
      if (i < T.QUICK_LISTS && this.quickRoom[i]! > 0) {
        w[(b + T.F_NEXT) >> 2] = this.quickHead[i]!;
        w[(b + T.H_SIZE) >> 2] = size | T.QUICK;
        w[(b + T.H_CHECK) >> 2] = checkOf(b, size | T.QUICK);
        this.quickHead[i] = b;
        this.quickRoom[i]!--;
        // The last block in use freed: nothing left to cache for, the arenas go back (but the spare).
        if (this.blocksInUse === 0) this.drain();
        return;
      }
    }
    this.release(b, size);
    if (this.blocksInUse === 0) this.drain();
  }

  /**
   * Gives back to the TLSF (merged) the quick-listed blocks that have a free or quick-listed
   * neighbour, and keeps the others in their lists. On issue 19's trace this cuts the TLSF's own
   * allocations and merges by two fifths at SLOTS 2,048 and a seventh at 256, and the footprint
   * stays within the floors on every draw measured (README, Benchmarks).
   */
  drainMergeable(): void {
    const w = this.w;
    for (let i = 0; i < T.QUICK_LISTS; i++) {
      let b = this.quickHead[i]!;
      if (b === -1) continue;
      let keep = -1;
      let kept = 0;
      while (b !== -1) {
        const next = w[(b + T.F_NEXT) >> 2]!;
        const size = w[(b + T.H_SIZE) >> 2]! & ~15;
        const prev = w[(b + T.H_PREV) >> 2]!;
        const mergeable = (w[(b + size + T.H_SIZE) >> 2]! & (T.FREE | T.QUICK)) !== 0 || (prev !== -1 && (w[(prev + T.H_SIZE) >> 2]! & (T.FREE | T.QUICK)) !== 0);
        if (mergeable) this.release(b, size);
        else {
          w[(b + T.F_NEXT) >> 2] = keep;
          keep = b;
          kept++;
        }
        b = next;
      }
      this.quickHead[i] = keep;
      this.quickRoom[i] = this.quickDepth(i) - kept;
    }
  }

  /** Empties the quick lists into the TLSF (each block merged with its free neighbours). */
  drain(): void {
    const w = this.w;
    for (let i = 0; i < T.QUICK_LISTS; i++) {
      let b = this.quickHead[i]!;
      if (b === -1) continue;
      this.quickHead[i] = -1;
      this.quickRoom[i] = this.quickDepth(i);
      while (b !== -1) {
        const next = w[(b + T.F_NEXT) >> 2]!;
        this.release(b, w[(b + T.H_SIZE) >> 2]! & ~15);
        b = next;
      }
    }
  }

  /** Merges the block at `b` of `size` bytes (no longer used) with its free neighbours and lists it, or returns its arena. */
  private release(b: number, size: number): void {
    const w = this.w;
    const n = b + size;
    const ns = w[(n + T.H_SIZE) >> 2]!;
    if ((ns & T.FREE) !== 0) {
      this.remove(n, ns & ~15);
      size += ns & ~15;
      // An absorbed header must not stay valid: a stale pointer to it would pass classify().
      if (this.debug) this.m.fill8(n, 24, POISON_FREE);
      else this.wipe(n);
    }
    let prev = w[(b + T.H_PREV) >> 2]!;
    if (prev !== -1) {
      const ps = w[(prev + T.H_SIZE) >> 2]!;
      if ((ps & T.FREE) !== 0) {
        this.remove(prev, ps & ~15);
        if (this.debug) this.m.fill8(b, 24, POISON_FREE);
        else this.wipe(b);
        size += ps & ~15;
        b = prev;
        prev = w[(b + T.H_PREV) >> 2]!;
      }
    }
    const after = b + size;
    w[(after + T.H_PREV) >> 2] = b;
    this.writeFree(b, prev, size);
    if (size >= this.arenaBytes - T.HEADER && prev === -1 && w[(after + T.H_SIZE) >> 2]! === 0) {
      // The first block, followed by the sentinel: the whole arena is free.
      if (this.spareArenas === 0 && (this.arenaCount === 1 || this.arenaCount >= SPARE_FROM_ARENAS)) {
        this.spareArenas++;
      } else {
        this.countArenas(-1);
        this.pages.release(b);
        return;
      }
    }
    this.insert(b, size);
  }

  /** Returns every entirely free arena to the backing (including the last); returns pages released. */
  trim(): number {
    this.drain();
    const w = this.w;
    const whole: number[] = [];
    this.pages.forEachRun((off, kind) => {
      if (kind !== PAGE_TLSF) return;
      const sw = w[(off + T.H_SIZE) >> 2]!;
      if ((sw & T.FREE) !== 0 && w[(off + (sw & ~15) + T.H_SIZE) >> 2]! === 0) whole.push(off);
    });
    let pages = 0;
    for (const a of whole) {
      this.remove(a, w[(a + T.H_SIZE) >> 2]! & ~15);
      this.countArenas(-1);
      this.spareArenas--;
      pages += this.pages.runPages[a / PAGE_SIZE]!;
      this.pages.release(a);
    }
    return pages;
  }

  private checkFreeBlock(b: number, size: number, upTo: number): void {
    // Links at +16..+24; everything after them was poisoned on free.
    const bad = firstMismatch(this.m, b + 24, upTo - 24, POISON_FREE);
    if (bad !== -1) {
      const user = b + T.HEADER + this.userOff;
      throw new HeapCorruptionError(this.report('poison', b, size, user, bad, `use-after-free write: free TLSF block ${hex(this.base + b)} (${size} bytes) modified at offset ${bad - user} from its former pointer ${hex(this.base + user)}`, POISON_FREE));
    }
  }

  private checkUsedBlock(b: number, size: number): void {
    const w = this.w;
    const user = b + T.HEADER + this.userOff;
    const req = w[(b + T.H_REQ) >> 2]!;
    let bad = firstMismatch(this.m, b + T.HEADER, 16, RED_ACTIVE);
    if (bad === -1) bad = firstMismatch(this.m, user + req, b + size - user - req, RED_ACTIVE);
    if (bad !== -1) {
      const where = bad < user ? 'left red zone' : `right red zone (${bad - user - req} bytes past the ${req} requested)`;
      throw new HeapCorruptionError(this.report('redzone', b, size, user, bad, `${where} of ${hex(this.base + user)} overwritten at offset ${bad - user}`, RED_ACTIVE));
    }
  }

  /** A report of damage at `bad` in the block at `b`. */
  report(kind: CorruptionReport['kind'], b: number, size: number, user: number, bad: number, message: string, expected?: number): CorruptionReport {
    return {
      kind,
      blockStart: this.base + b,
      blockSizeBytes: size,
      ptr: this.base + user,
      offset: bad - user,
      address: this.base + bad,
      actual: this.m.rd8(bad),
      message,
      ...(expected === undefined ? {} : { expected }),
    };
  }

  /**
   * Finds the block of arena `a` containing offset `off` by walking it (error paths only).
   * Returns the block start, or -1 if a damaged header stops the walk first.
   */
  blockContaining(a: number, off: number): number {
    const w = this.w;
    for (let b = a; ; ) {
      const sw = w[(b + T.H_SIZE) >> 2]!;
      if (w[(b + T.H_CHECK) >> 2]! !== checkOf(b, sw)) return -1;
      const size = sw & ~15;
      if (size === 0) return -1;
      if (off < b + size) return b;
      b += size;
    }
  }

  /** Appends arena `a`'s blocks to `out`. */
  walk(a: number, out: HeapBlock[]): void {
    const w = this.w;
    for (let b = a; ; ) {
      const sw = w[(b + T.H_SIZE) >> 2]!;
      const size = sw & ~15;
      if (size === 0 || w[(b + T.H_CHECK) >> 2]! !== checkOf(b, sw)) return;
      const used = (sw & (T.FREE | T.QUICK)) === 0;
      const user = b + T.HEADER + this.userOff;
      const block: HeapBlock = {
        start: this.base + b,
        sizeBytes: size,
        kind: 'tlsf',
        used,
        ptr: this.base + user,
        usableBytes: used && this.debug ? w[(b + T.H_REQ) >> 2]! : size - T.HEADER - this.userOff,
      };
      if (used) block.requestedBytes = w[(b + T.H_REQ) >> 2]!;
      out.push(block);
      b += size;
    }
  }

  /** Accumulated by {@link checkArena} over used blocks, and entirely free arenas (reset them before a check). */
  checkedRequested = 0;
  checkedBytes = 0;
  checkedSpare = 0;

  /**
   * Checks arena `a` (of `pageCount` pages): headers, boundary tags, coalescing, sentinel, debug
   * patterns. Adds its free blocks to `freeSeen`; returns the number of used blocks.
   */
  checkArena(a: number, pageCount: number, freeSeen: Set<number>): number {
    const w = this.w;
    const end = a + pageCount * PAGE_SIZE - T.HEADER;
    const fail = (b: number, what: string): never => {
      throw new HeapCorruptionError(this.report('header', b, 0, b + T.HEADER + this.userOff, b, `TLSF block ${hex(this.base + b)}: ${what}`));
    };
    let prev = -1;
    let prevFree = false;
    let used = 0;
    let quick = 0;
    let b = a;
    while (b < end) {
      const sw = w[(b + T.H_SIZE) >> 2]!;
      if (w[(b + T.H_CHECK) >> 2]! !== checkOf(b, sw)) fail(b, 'header overwritten (check word mismatch)');
      if (w[(b + T.H_PREV) >> 2]! !== prev) fail(b, `previous-block link ${w[(b + T.H_PREV) >> 2]!} should be ${prev}`);
      const size = sw & ~15;
      const free = (sw & T.FREE) !== 0;
      if (size < T.MIN_BLOCK || b + size > end || (sw & 12) !== 0 || (sw & (T.FREE | T.QUICK)) === (T.FREE | T.QUICK)) fail(b, `bad size word ${sw}`);
      if ((sw & T.QUICK) !== 0) {
        // In a quick list: checkLists finds it there (it shares freeSeen with the free blocks).
        if (this.debug) fail(b, 'quick-list block in debug mode');
        quick++;
        freeSeen.add(b);
      } else if (free) {
        if (prevFree) fail(b, 'two adjacent free blocks (missed coalescing)');
        freeSeen.add(b);
        if (this.debug) {
          const bad = firstMismatch(this.m, b + 24, size - 24, POISON_FREE);
          if (bad !== -1) this.checkFreeBlock(b, size, size);
        }
      } else {
        used++;
        const req = w[(b + T.H_REQ) >> 2]!;
        this.checkedRequested += req;
        this.checkedBytes += size;
        if (req < 0 || this.blockSizeFor(req) > size) fail(b, `request ${req} does not fit its ${size} bytes`);
        if (this.debug) this.checkUsedBlock(b, size);
      }
      prevFree = free;
      prev = b;
      b += size;
    }
    if (b !== end) fail(b, 'blocks run past the arena end');
    if (used === 0 && quick === 0) this.checkedSpare++;
    if (w[(end + T.H_SIZE) >> 2]! !== 0 || w[(end + T.H_CHECK) >> 2]! !== checkOf(end, 0) || w[(end + T.H_PREV) >> 2]! !== prev) fail(end, 'arena sentinel damaged');
    return used;
  }

  /** Free blocks and their bytes, by walking the free lists (O(free blocks)). */
  freeTotals(): { count: number; bytes: number } {
    const w = this.w;
    let count = 0;
    let bytes = 0;
    for (const heads of [this.heads, this.quickHead]) {
      for (let i = 0; i < heads.length; i++) {
        for (let b = heads[i]!; b !== -1; b = w[(b + T.F_NEXT) >> 2]!) {
          count++;
          bytes += w[(b + T.H_SIZE) >> 2]! & ~15;
        }
      }
    }
    return { count, bytes };
  }

  /** Checks free lists and bitmaps against the free blocks found by the arena walks. */
  checkLists(freeSeen: Set<number>): { count: number; bytes: number } {
    const w = this.w;
    let count = 0;
    let bytes = 0;
    for (let fl = 0; fl < T.FL_COUNT; fl++) {
      if ((((this.flMap >>> fl) & 1) !== 0) !== (this.slMap[fl] !== 0)) throw new Error(`TLSF: first-level bit ${fl} disagrees with its second-level map`);
      for (let sl = 0; sl < T.SL_COUNT; sl++) {
        const head = this.heads[fl * T.SL_COUNT + sl]!;
        if ((((this.slMap[fl]! >>> sl) & 1) !== 0) !== (head !== -1)) throw new Error(`TLSF: bitmap bit (${fl},${sl}) disagrees with its list`);
        let prev = -1;
        for (let b = head; b !== -1; b = w[(b + T.F_NEXT) >> 2]!) {
          if (!freeSeen.has(b) || (w[(b + T.H_SIZE) >> 2]! & T.FREE) === 0) throw new Error(`TLSF: list (${fl},${sl}) holds ${hex(this.base + b)}, not a free block (or listed twice)`);
          freeSeen.delete(b);
          if (w[(b + T.F_PREV) >> 2]! !== prev) throw new Error(`TLSF: broken prev link at ${hex(this.base + b)}`);
          const size = w[(b + T.H_SIZE) >> 2]! & ~15;
          if (listOf(size) !== fl * T.SL_COUNT + sl) throw new Error(`TLSF: block of ${size} bytes in list (${fl},${sl})`);
          count++;
          bytes += size;
          prev = b;
        }
      }
    }
    for (let i = 0; i < T.QUICK_LISTS; i++) {
      let n = 0;
      for (let b = this.quickHead[i]!; b !== -1; b = w[(b + T.F_NEXT) >> 2]!) {
        const sw = w[(b + T.H_SIZE) >> 2]!;
        if (!freeSeen.has(b) || (sw & T.QUICK) === 0) throw new Error(`TLSF: quick list ${i} holds ${hex(this.base + b)}, not a quick-list block (or listed twice)`);
        freeSeen.delete(b);
        if (listOf(sw & ~15) !== i) throw new Error(`TLSF: block of ${sw & ~15} bytes in quick list ${i}`);
        n++;
      }
      if (n + this.quickRoom[i]! !== this.quickDepth(i) || n > this.quickDepth(i)) throw new Error(`TLSF: quick list ${i} holds ${n} blocks, room for ${this.quickRoom[i]!} more (at most ${this.quickDepth(i)})`);
    }
    if (this.quickHead[T.QUICK_LISTS] !== -1 || this.quickRoom[T.QUICK_LISTS] !== 0) throw new Error('TLSF: the quick list past the last is not empty and full');
    if (this.quickThird !== (this.arenaCount < T.WIDE_QUICK_ARENAS ? this.wideThird : this.narrowThird)) throw new Error(`TLSF: quick lists' third probe ${this.quickThird === this.wideThird ? 'wide' : 'narrow'} with ${this.arenaCount} arenas`);
    if (freeSeen.size !== 0) throw new Error(`TLSF: ${freeSeen.size} free blocks are on no list`);
    return { count, bytes };
  }
}
