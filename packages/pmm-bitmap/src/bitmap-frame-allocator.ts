import {
  AddressOutOfRangeError,
  BitmapAlreadyPlacedError,
  BitmapImportError,
  DoubleFreeError,
  FRAME_BYTES,
  FreeReservedFrameError,
  InvalidAddressError,
  InvalidAlignmentError,
  InvalidFrameCountError,
  InvalidOptionError,
  InvalidRangeError,
  InvariantViolationError,
  MisalignedAddressError,
} from './api';
import type {
  AllocatorOptions,
  AllocatorStats,
  ContiguousOptions,
  FreeRun,
  MemoryMapOptions,
  MemoryRegion,
  ZoneName,
} from './api';
import { hex, show } from './hex';
import { MAX_FRAME_COUNT, MAX_PHYS_LIMIT, mapOptions, planMemoryMap, validateRegions } from './memory-map';
import { ctz32, popcount32, SummaryBitmap } from './summary-bitmap';
import { Zone, ZONE_LIMITS } from './zone';
import { brand } from './brand';

/** Frames per block of the free-block index: 512 frames = 2 MiB, one x86_64 large page (SDM 4.5). */
const BLOCK_FRAMES = 512;
/** 32-bit words per block. */
const BLOCK_WORDS = BLOCK_FRAMES / 32;
/** Default bytes kept out of the pool by `fromMemoryMap`: the real-mode first MiB. */
const DEFAULT_LOW_RESERVE_MAP = 1 << 20;

/** Start-bit masks for alignments of 1..32 frames within a 32-bit word, indexed by log2. */
const ALIGN_MASKS = [-1, 0x55555555, 0x11111111, 0x01010101, 0x00010001, 1];

/** Sets (`set`) or clears bits `[start, end)` of a raw word array. No summaries involved. */
function paint(a: Int32Array, start: number, end: number, set: boolean): void {
  if (start >= end) return;
  const ws = start >>> 5;
  const we = (end - 1) >>> 5;
  const ms = -1 << (start & 31);
  const me = -1 >>> (31 - ((end - 1) & 31));
  if (ws === we) {
    const m = ms & me;
    a[ws] = set ? a[ws]! | m : a[ws]! & ~m;
    return;
  }
  a[ws] = set ? a[ws]! | ms : a[ws]! & ~ms;
  if (we > ws + 1) a.fill(set ? -1 : 0, ws + 1, we);
  a[we] = set ? a[we]! | me : a[we]! & ~me;
}

/** Lowest index in `[start, end)` whose bit in `a` is set, or -1. */
function firstSet(a: Int32Array, start: number, end: number): number {
  if (start >= end) return -1;
  let w = start >>> 5;
  const we = (end - 1) >>> 5;
  let m = a[w]! & (-1 << (start & 31));
  for (;;) {
    if (w === we) {
      m &= -1 >>> (31 - ((end - 1) & 31));
      return m !== 0 ? (w << 5) + ctz32(m) : -1;
    }
    if (m !== 0) return (w << 5) + ctz32(m);
    w++;
    m = a[w]!;
  }
}

/** Lowest index in `[start, end)` whose bit in `a` is clear, or -1. */
function firstClear(a: Int32Array, start: number, end: number): number {
  if (start >= end) return -1;
  let w = start >>> 5;
  const we = (end - 1) >>> 5;
  let m = ~a[w]! & (-1 << (start & 31));
  for (;;) {
    if (w === we) {
      m &= -1 >>> (31 - ((end - 1) & 31));
      return m !== 0 ? (w << 5) + ctz32(m) : -1;
    }
    if (m !== 0) return (w << 5) + ctz32(m);
    w++;
    m = ~a[w]!;
  }
}

/** Number of set bits of `a` in `[start, end)`. */
function countSet(a: Int32Array, start: number, end: number): number {
  if (start >= end) return 0;
  const ws = start >>> 5;
  const we = (end - 1) >>> 5;
  const ms = -1 << (start & 31);
  const me = -1 >>> (31 - ((end - 1) & 31));
  if (ws === we) return popcount32(a[ws]! & ms & me);
  let n = popcount32(a[ws]! & ms) + popcount32(a[we]! & me);
  for (let w = ws + 1; w < we; w++) n += popcount32(a[w]!);
  return n;
}

function isAddress(pa: number): boolean {
  return Number.isSafeInteger(pa) && pa >= 0 && pa < MAX_PHYS_LIMIT;
}

/**
 * The physical frame allocator: one bit per 4 KiB frame (0 free, 1 in use), lowest-free-first.
 *
 * Besides the bitmap it keeps, all derivable from the bitmap and rebuilt on import:
 * - a summary tree over the words (bit w: "word w has a free frame", then a bit per summary
 *   word, up to one word), so the lowest free frame is found in one word per level;
 * - a hint `lowWord`: every word below it is full, so a fill never climbs the tree;
 * - a free-block index: a summary bit set per 2 MiB block (512 frames) that is entirely free,
 *   so a 2 MiB-aligned run of >= 512 frames is found without looking at partly used blocks;
 * - a second bitmap of never-usable frames (holes, firmware reserved, low memory), which makes
 *   freeing one of them an error rather than silently adding it to the pool.
 *
 * Satisfies the `FrameAllocator` port (`allocFrame(): number | null`, `freeFrame(pa): void`).
 */
export class BitmapFrameAllocator {
  static {
    brand(this, 'BitmapFrameAllocator'); // instanceof across the import and require copies (brand.ts)
  }
  /** Frames in the managed range `[0, totalFrames)`. */
  readonly totalFrames: number;
  /** One past the last managed byte: `totalFrames * 4096`. */
  readonly endPa: number;
  /**
   * RAM bytes a memory map offered above `maxFrameCount` that are not managed (0 for the
   * frame-count constructor and for every ordinary machine).
   */
  ignoredBytes = 0;

  /** 32-bit words of the bitmap (even: whole 64-bit little-endian words). */
  private readonly words: number;
  /** The bitmap: bit f of word f >>> 5 is frame f; 1 in use. Padding bits past the end are 1. */
  private bits: Int32Array;
  /** Never-usable frames (1). Always a subset of `bits`. Padding bits are 1. */
  private readonly never: Int32Array;
  /** Bit w set iff `never[w]` is not zero: lets `freeFrame` skip the never-usable map. */
  private readonly neverWords: Int32Array;
  /** Summary: bit w set iff `bits[w]` has a free frame. */
  private readonly freeWords: SummaryBitmap;
  /** Free-block index: bit b set iff frames `[512b, 512b + 512)` are all free. */
  private readonly blocks: SummaryBitmap;
  /** Number of whole 512-frame blocks in the managed range. */
  private readonly blockCount: number;
  /** Every word below this one is full. */
  private lowWord = 0;
  /**
   * Every word strictly between `lowWord` and this one is full (a lower bound on the next word
   * with a free frame, > lowWord). Under churn most frees land below the hint or just above a full
   * hint word: they become the (pending) hint word without touching the summary, and when that
   * word fills again the hint goes straight back here instead of searching the summary from below.
   */
  private upWord = 1;
  /**
   * When true, word `lowWord` may have free frames that its summary bit (clear) does not show.
   * Under churn a freed frame is usually below the hint and is the very next one allocated:
   * `freeFrame` then just moves the hint down and leaves the summary alone, and the `allocFrame`
   * that refills the word has nothing to undo, instead of setting and clearing a bit at every
   * summary level (the word's summary word and those above are zero below the hint). Everything
   * else that reads the summary calls `flushLow` first.
   */
  private lowPending = false;
  /**
   * Free frames outside the hint word `lowWord`; the hint word's own are counted from the word
   * itself (`freeNow`), so an allocation there writes no counter.
   */
  private freeOutsideLow = 0;
  private reservedCount = 0;
  private placedPa = -1;
  private zoneViews: Zone[] | null = null;

  /**
   * An allocator of `frameCount` frames, all free except frame 0 (always reserved: address 0 is
   * the null pointer) and what `options` reserves.
   * @param frameCount frames to manage, an integer in [1, 2^31]
   * @throws InvalidFrameCountError (`E_BAD_COUNT`) for a bad `frameCount`
   * @throws InvalidOptionError (`E_BAD_OPTION`) for a bad option
   * @throws MisalignedAddressError / AddressOutOfRangeError for a bad `bitmapPa`
   */
  constructor(frameCount: number, options: AllocatorOptions = {}) {
    if (!Number.isInteger(frameCount) || frameCount < 1 || frameCount > MAX_FRAME_COUNT) {
      throw new InvalidFrameCountError(frameCount, MAX_FRAME_COUNT);
    }
    this.totalFrames = frameCount;
    this.endPa = frameCount * FRAME_BYTES;
    this.validateCommonOptions(options);
    const words32 = Math.ceil(frameCount / 32);
    this.words = words32 + (words32 & 1);
    this.bits = new Int32Array(this.words);
    this.never = new Int32Array(this.words);
    this.neverWords = new Int32Array(Math.ceil(this.words / 32));
    this.freeWords = new SummaryBitmap(this.words);
    this.blockCount = Math.floor(frameCount / BLOCK_FRAMES);
    this.blocks = new SummaryBitmap(this.blockCount);
    this.applyCommonOptions(options, 0);
  }

  /**
   * Builds the allocator a kernel starts with from a firmware memory map: everything in use, the
   * usable regions (rounded inward to 4 KiB) freed, then every other region (rounded outward)
   * taken back, so reserved wins where entries overlap; then the low memory, `reserved` ranges
   * and the bitmap's own frames. Regions may come in any order, overlap, be unaligned,
   * zero-length or lie past MAXPHYADDR (clipped). The managed range ends at the highest RAM frame.
   *
   * Never-usable (freeing them throws `E_FREE_RESERVED`): holes, `reserved`, `acpi-nvs`,
   * `bad-memory`, `framebuffer`, the low `reserveLowBytes`. In use but freeable later:
   * `acpi-reclaimable`, `bootloader-reclaimable`, `kernel-and-modules` (unless listed in
   * `usableKinds`, then they start free), and non-permanent `reserved` ranges.
   * @throws MemoryMapError (`E_BAD_MEMORY_MAP`) for a malformed entry (with its index)
   * @throws InvalidOptionError (`E_BAD_OPTION`) for a bad option
   */
  static fromMemoryMap(regions: readonly MemoryRegion[], options: MemoryMapOptions = {}): BitmapFrameAllocator {
    const { maxPhys, usableKinds, maxFrameCount } = mapOptions(options);
    validateRegions(regions);
    const plan = planMemoryMap(regions, maxPhys, usableKinds, maxFrameCount);
    // Built all free with nothing reserved, then repainted from the map below.
    const pmm = new BitmapFrameAllocator(plan.frameCount, { reserveLowBytes: 0 });
    pmm.validateCommonOptions(options);
    const n = plan.frameCount;
    pmm.bits.fill(-1);
    pmm.never.fill(-1);
    for (const [s, e] of plan.ram) paint(pmm.never, s, Math.min(e, n), false);
    for (const [s, e] of plan.free) paint(pmm.bits, s, Math.min(e, n), false);
    for (const [s, e] of plan.inUse) paint(pmm.bits, Math.min(s, n), Math.min(e, n), true);
    for (const [s, e] of plan.never) paint(pmm.never, Math.min(s, n), Math.min(e, n), true);
    pmm.ignoredBytes = plan.ignoredBytes;
    pmm.applyCommonOptions(options, DEFAULT_LOW_RESERVE_MAP);
    return pmm;
  }

  /** Bytes of the bitmap words (what `exportWords` returns and `placeBitmap` reserves frames for). */
  get bitmapBytes(): number {
    return this.words * 4;
  }

  /** Frames the bitmap occupies when placed in physical memory: `ceil(bitmapBytes / 4096)`. */
  get bitmapFrameCount(): number {
    return Math.ceil(this.bitmapBytes / FRAME_BYTES);
  }

  /** Where the bitmap was placed by `placeBitmap` (or the `bitmapPa` option), or null. */
  get bitmapPa(): number | null {
    return this.placedPa < 0 ? null : this.placedPa;
  }

  // ---------------------------------------------------------------- single frames

  /**
   * Allocates the lowest free frame (lowest-first, so low memory goes first: ask a zone for
   * DMA-capable or high memory). O(1) amortised: the hint covers a fill, the summary tree
   * (one word per level) everything else.
   * @returns the frame's physical address, or null when no frame is free
   */
  allocFrame(): number | null {
    const pfn = this.allocPfn();
    // 4096 written out (FRAME_BYTES): the bundle's exported binding is a variable to V8, read and
    // type-checked on every call.
    return pfn < 0 ? null : pfn * 4096;
  }

  /**
   * {@link allocFrame} by page frame number (`pa / 4096`, Linux's pfn): the same lowest free
   * frame, as a small integer. Above 2 GiB (1 GiB in a browser's V8) a physical address is not a
   * small integer and every `number | null` result is a heap allocation (the caller gets a boxed
   * double: about half of a fill step, README "Benchmarks"); a pfn never is, so this is the call for hot
   * loops.
   * @returns the frame's number, or -1 when no frame is free
   */
  allocPfn(): number {
    // The fast path is kept small enough for V8 to inline into the caller's loop: one word read,
    // one write, one count. A full hint word gives nx === -1 too (x + 1 is 0), so one test sends
    // the word's edges (its first frame, its last, a full word) out of line.
    const bits = this.bits;
    const w = this.lowWord;
    const x = bits[w]!;
    const nx = x | (x + 1); // sets the lowest clear bit; odd, and -1 when x is -1 too
    // One branch for nx === -1 (x full, or its last free frame) or nx === 1 (x === 0).
    if (((nx + 1) & -3) === 0) return this.allocPfnEdge();
    bits[w] = nx;
    return ((w << 5) | 31) ^ Math.clz32(nx ^ x); // = w * 32 + bit, without overflow checks
  }

  /**
   * `allocPfn` when the hint word is full, or the allocation takes its first or last free frame:
   * moves the hint, keeps the summary and the 2 MiB block index in step. (No call back into
   * `allocPfn`: a call's result would make every `allocPfn` result a tagged value in V8.)
   */
  private allocPfnEdge(): number {
    const bits = this.bits;
    let w = this.lowWord;
    let x = bits[w]!;
    if (x === -1) {
      // Every word below w + 1 is full: the hint moves to the lowest word with a free frame. A
      // pending word that is full has a clear summary bit already: nothing to flush.
      this.lowPending = false;
      w = this.freeWords.nextSet(this.upWord);
      if (w < 0) return -1;
      this.moveLow(w);
      this.upWord = w + 1;
      x = bits[w]!;
    }
    const nx = x | (x + 1);
    bits[w] = nx;
    if (nx === -1) {
      // w is the hint word, so a pending bit is w's own, and it is clear already.
      if (this.lowPending) this.lowPending = false;
      else this.freeWords.clear(w);
      // Every word before upWord is full: in a fill that is the next word, free, and the hint
      // moves there now. Once every 32 words it is left to the search above instead, so the JIT
      // has seen that path before memory runs out.
      const n = this.upWord;
      if (n < this.words && (n & 31) !== 0 && bits[n] !== -1) {
        this.moveLow(n);
        this.upWord = n + 1;
      }
    } else if (x === 0 && w >>> 4 < this.blockCount) this.blocks.clear(w >>> 4);
    return ((w << 5) | 31) ^ Math.clz32(nx ^ x);
  }

  /**
   * Frees one frame.
   * @param pa the frame's physical address (4 KiB aligned)
   * @throws InvalidAddressError (`E_BAD_ADDRESS`), MisalignedAddressError (`E_MISALIGNED`),
   *   AddressOutOfRangeError (`E_OUT_OF_RANGE`), FreeReservedFrameError (`E_FREE_RESERVED`),
   *   DoubleFreeError (`E_DOUBLE_FREE`); state unchanged
   */
  freeFrame(pa: number): void {
    // Fast path: in range and a whole frame number (frames < 2^31, so `| 0` is exact). Anything
    // else (NaN, negative, fractional, misaligned, huge) takes frameOf for the precise error.
    // typeof before any arithmetic: dividing a BigInt by a number throws a raw TypeError.
    let f = typeof pa === 'number' ? pa / 4096 : -1; // FRAME_BYTES, as a literal (see allocFrame)
    if (!(f >= 0 && f < this.totalFrames) || (f | 0) !== f) f = this.frameOf(pa);
    this.freeValid(f);
  }

  /**
   * {@link freeFrame} by page frame number (`pa / 4096`), the counterpart of {@link allocPfn}.
   * @param pfn the frame's number, an integer in `[0, totalFrames)`
   * @throws InvalidAddressError (`E_BAD_ADDRESS`) for anything but such an integer,
   *   AddressOutOfRangeError, FreeReservedFrameError, DoubleFreeError (messages show the
   *   frame's address); state unchanged
   */
  freePfn(pfn: number): void {
    if (typeof pfn !== 'number' || !(pfn >= 0 && pfn < this.totalFrames) || (pfn | 0) !== pfn) this.pfnOf(pfn);
    this.freeValid(pfn);
  }

  /** Frees frame `f`, a valid frame number. @throws FreeReservedFrameError, DoubleFreeError */
  private freeValid(f: number): void {
    const w = f >>> 5;
    const bit = 1 << (f & 31);
    // The per-word summary of never-usable bits is 1/32 of the map and stays in cache, so a free
    // reads the never-usable map itself only in words that hold such a frame.
    if (((this.neverWords[w >>> 5]! >>> (w & 31)) & 1) !== 0 && (this.never[w]! & bit) !== 0) {
      throw new FreeReservedFrameError(f * FRAME_BYTES);
    }
    const bits = this.bits;
    const x = bits[w]!;
    if ((x & bit) === 0) throw new DoubleFreeError(f * FRAME_BYTES);
    const nx = x & ~bit;
    bits[w] = nx;
    const low = this.lowWord;
    if (x !== -1) {
      // The word had a free frame already: the hint word, or one above with its summary bit set.
      if (w !== low) this.freeOutsideLow++;
      if (nx === 0 && w >>> 4 < this.blockCount) this.maybeSetBlock(w >>> 4);
    } else if (w < low) {
      // A full word below the hint (every word there is): it becomes the pending hint word, its
      // one free frame counted from the word; the old hint word's summary bit and free frames
      // are brought up to date.
      if (this.lowPending) this.flushLow();
      const lx = bits[low]!;
      if (lx !== -1) {
        this.upWord = low;
        this.freeOutsideLow += 32 - popcount32(lx);
      }
      this.lowWord = w;
      this.lowPending = true;
    } else if (w === low || (w < this.upWord && bits[low] === -1)) {
      // The full hint word itself, or a full word with nothing but full words between it and a
      // full hint word: the (pending) hint word now, with no summary bit to set.
      this.lowWord = w;
      this.lowPending = true;
    } else {
      this.freeOutsideLow++;
      if (w < this.upWord) this.upWord = w;
      this.freeWords.set(w);
    }
  }

  /**
   * Whether the frame at `pa` is free.
   * @throws InvalidAddressError, MisalignedAddressError, AddressOutOfRangeError
   */
  isFree(pa: number): boolean {
    const f = this.frameOf(pa);
    return ((this.bits[f >>> 5]! >>> (f & 31)) & 1) === 0;
  }

  /**
   * Whether the frame at `pa` is never-usable (a hole, firmware-reserved, low memory or a
   * permanent reservation).
   * @throws InvalidAddressError, MisalignedAddressError, AddressOutOfRangeError
   */
  isReserved(pa: number): boolean {
    const f = this.frameOf(pa);
    return ((this.never[f >>> 5]! >>> (f & 31)) & 1) === 1;
  }

  // ---------------------------------------------------------------- runs

  /**
   * Allocates `frameCount` physically contiguous frames, the lowest run that fits: the first
   * frame aligned to `alignBytes`, not below `minAddr`, the whole run below `maxAddr`.
   * Runs of >= 512 frames aligned to >= 2 MiB come from the free-block index (cost independent
   * of how many partly used blocks lie below); runs of <= 32 frames are matched a word at a
   * time with shift-and masks; other runs are first-fit over the summary tree.
   * @returns the first frame's physical address, or null if no such run is free
   * @throws InvalidFrameCountError (`E_BAD_COUNT`) unless 1 <= frameCount <= totalFrames
   * @throws InvalidAlignmentError (`E_BAD_ALIGNMENT`) unless alignBytes is a power of two >= 4096
   * @throws InvalidRangeError (`E_BAD_RANGE`) for minAddr/maxAddr that are not addresses or cross
   * @throws InvalidOptionError (`E_BAD_OPTION`) when `options` is given but not an object
   */
  allocContiguous(frameCount: number, options?: ContiguousOptions): number | null {
    const n = frameCount;
    if (!Number.isInteger(n) || n < 1 || n > this.totalFrames) throw new InvalidFrameCountError(n, this.totalFrames);
    // Only `undefined` means "the default": null, like any other non-number, is refused below.
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw new InvalidOptionError('options', 'not an object');
    const alignBytes = options?.alignBytes === undefined ? FRAME_BYTES : options.alignBytes;
    const minAddr = options?.minAddr === undefined ? 0 : options.minAddr;
    const maxAddr = options?.maxAddr === undefined ? this.endPa : options.maxAddr;
    if (
      !Number.isSafeInteger(alignBytes) ||
      alignBytes < FRAME_BYTES ||
      alignBytes > MAX_PHYS_LIMIT ||
      2 ** Math.round(Math.log2(alignBytes)) !== alignBytes
    ) {
      throw new InvalidAlignmentError(alignBytes);
    }
    if (!Number.isSafeInteger(minAddr) || !Number.isSafeInteger(maxAddr) || minAddr < 0 || minAddr > maxAddr || maxAddr > MAX_PHYS_LIMIT) {
      throw new InvalidRangeError(minAddr, maxAddr);
    }
    const from = Math.ceil(minAddr / FRAME_BYTES);
    const limit = Math.min(Math.floor(maxAddr / FRAME_BYTES), this.totalFrames);
    if (limit - from < n) return null;
    const a = alignBytes / FRAME_BYTES;
    let s: number;
    if (n === 1 && a === 1) {
      s = this.findFree(from);
      if (s >= limit) s = -1;
    } else if (n <= 32) {
      s = this.findSmallRun(n, a, from, limit);
    } else if (n >= BLOCK_FRAMES && a >= BLOCK_FRAMES) {
      s = this.findBlockRun(n, a, from, limit);
    } else {
      s = this.findRun(n, a, from, limit);
    }
    if (s < 0) return null;
    if (n === 1) this.markWord(s >>> 5, this.bits[s >>> 5]! | (1 << (s & 31)));
    else this.markRange(s, s + n, true);
    return s * FRAME_BYTES;
  }

  /**
   * Frees `frameCount` frames from `pa`. All or nothing: every frame is checked first.
   * @throws InvalidAddressError, MisalignedAddressError, InvalidFrameCountError,
   *   AddressOutOfRangeError (the run passes the end), FreeReservedFrameError (first never-usable
   *   frame), DoubleFreeError (first frame already free); state unchanged
   */
  freeContiguous(pa: number, frameCount: number): void {
    const s = this.runOf(pa, frameCount);
    const e = s + frameCount;
    const r = firstSet(this.never, s, e);
    if (r >= 0) throw new FreeReservedFrameError(r * FRAME_BYTES);
    const d = firstClear(this.bits, s, e);
    if (d >= 0) throw new DoubleFreeError(d * FRAME_BYTES);
    this.markRange(s, e, false);
  }

  /**
   * Marks `frameCount` frames from `pa` in use (kernel image, modules, ACPI tables, MMIO).
   * Frames already in use stay in use (reserving is idempotent, like Linux's memblock_reserve).
   * With `permanent: true` they also become never-usable, so a later free is an error.
   * @returns how many of the frames were free before
   * @throws InvalidAddressError, MisalignedAddressError, InvalidFrameCountError,
   *   AddressOutOfRangeError; state unchanged
   */
  reserve(pa: number, frameCount: number, options?: { readonly permanent?: boolean }): number {
    const s = this.runOf(pa, frameCount);
    const e = s + frameCount;
    const wasFree = frameCount - countSet(this.bits, s, e);
    this.markRange(s, e, true);
    if (options?.permanent === true) {
      this.reservedCount += frameCount - countSet(this.never, s, e);
      paint(this.never, s, e, true);
      for (let w = s >>> 5; w <= (e - 1) >>> 5; w++) this.neverWords[w >>> 5]! |= 1 << (w & 31);
    }
    return wasFree;
  }

  /**
   * Records that the bitmap lives at `pa` and reserves its `bitmapFrameCount` frames
   * permanently (free or already allocated, e.g. by `allocContiguous(pmm.bitmapFrameCount)`).
   * Given `storage` (a view of emulated physical memory at `pa`, `bitmapBytes / 4` words), the
   * bitmap moves into it and stays live there: what the emulated machine reads at `pa` is the
   * allocator's state, 64-bit little-endian words. Once only.
   * @throws BitmapAlreadyPlacedError (`E_BITMAP_PLACED`), InvalidAddressError,
   *   MisalignedAddressError, AddressOutOfRangeError, InvalidOptionError (storage length)
   */
  placeBitmap(pa: number, storage?: Uint32Array): void {
    if (this.placedPa >= 0) throw new BitmapAlreadyPlacedError(this.placedPa);
    this.runOf(pa, this.bitmapFrameCount);
    if (storage !== undefined && (!(storage instanceof Uint32Array) || storage.length !== this.words)) {
      throw new InvalidOptionError('storage', `must be a Uint32Array of ${this.words} words`);
    }
    this.reserve(pa, this.bitmapFrameCount, { permanent: true });
    this.placedPa = pa;
    if (storage !== undefined) {
      const live = new Int32Array(storage.buffer, storage.byteOffset, this.words);
      live.set(this.bits);
      this.bits = live;
    }
  }

  // ---------------------------------------------------------------- views

  /** Counts of frames. O(bitmap) for the largest free run; not for hot paths. */
  stats(): AllocatorStats {
    let largest = 0;
    for (const run of this.freeRuns()) if (run.frameCount > largest) largest = run.frameCount;
    return {
      totalFrames: this.totalFrames,
      freeFrames: this.freeNow(),
      usedFrames: this.totalFrames - this.freeNow(),
      reservedFrames: this.reservedCount,
      usableFrames: this.totalFrames - this.reservedCount,
      largestFreeRunFrames: largest,
    };
  }

  /** Frames free now (O(1)). */
  get freeFrames(): number {
    return this.freeNow();
  }

  /**
   * The maximal runs of free frames in address order, for pictures and reports. Do not
   * allocate or free while iterating.
   */
  *freeRuns(): IterableIterator<FreeRun> {
    let f = this.findFree(0);
    while (f >= 0) {
      const u = firstSet(this.bits, f, this.totalFrames);
      const end = u < 0 ? this.totalFrames : u;
      yield { start: f * FRAME_BYTES, frameCount: end - f };
      if (u < 0) return;
      f = this.findFree(u + 1);
    }
  }

  /**
   * Free frames whose addresses lie in `[minAddr, maxAddr)` (rounded inward to frames).
   * @throws InvalidRangeError
   */
  freeFramesBetween(minAddr: number, maxAddr: number): number {
    if (!isAddress(minAddr) || !Number.isSafeInteger(maxAddr) || maxAddr < minAddr) throw new InvalidRangeError(minAddr, maxAddr);
    const s = Math.ceil(minAddr / FRAME_BYTES);
    const e = Math.min(Math.floor(maxAddr / FRAME_BYTES), this.totalFrames);
    return s >= e ? 0 : e - s - countSet(this.bits, s, e);
  }

  /** The zone `name` (DMA below 16 MiB, DMA32 below 4 GiB, Normal above), clipped to the managed range. */
  zone(name: ZoneName): Zone {
    const z = this.zones().find((v) => v.name === name);
    if (z === undefined) throw new InvalidOptionError('zone', `unknown zone ${show(name)}`);
    return z;
  }

  /** All three zones in address order (a zone may be empty on a small machine). */
  zones(): readonly Zone[] {
    if (this.zoneViews === null) {
      this.zoneViews = ZONE_LIMITS.map(
        ([name, s, e]) => new Zone(this, name, Math.min(s, this.endPa), Math.min(e, this.endPa)),
      );
    }
    return this.zoneViews;
  }

  /**
   * The zone holding `pa`.
   * @throws InvalidAddressError for a non-address
   */
  zoneOf(pa: number): ZoneName {
    if (!isAddress(pa)) throw new InvalidAddressError(pa);
    for (const [name, , e] of ZONE_LIMITS) if (pa < e) return name;
    return 'normal';
  }

  // ---------------------------------------------------------------- raw words

  /**
   * A copy of the bitmap: `bitmapBytes / 4` 32-bit words which, read as bytes, are 64-bit
   * little-endian words, bit f of 64-bit word f >> 6 being frame f (1 in use). Padding bits past
   * `totalFrames` are 1.
   */
  exportWords(): Uint32Array {
    const out = new Uint32Array(this.words);
    out.set(new Uint32Array(this.bits.buffer, this.bits.byteOffset, this.words));
    return out;
  }

  /**
   * Replaces the bitmap with `words` (as `exportWords` gives) and rebuilds every index.
   * The never-usable map is kept: a word that marks a never-usable frame or a padding bit free is
   * refused.
   * @throws BitmapImportError (`E_BAD_IMPORT`); state unchanged
   */
  importWords(words: Uint32Array): void {
    if (!(words instanceof Uint32Array) || words.length !== this.words) {
      throw new BitmapImportError(`expected a Uint32Array of ${this.words} words`);
    }
    const never = this.never;
    for (let w = 0; w < this.words; w++) {
      const bad = never[w]! & ~(words[w]! | 0);
      if (bad !== 0) {
        const f = (w << 5) + ctz32(bad);
        throw new BitmapImportError(
          f < this.totalFrames ? `frame ${hex(f * FRAME_BYTES)} is never-usable but marked free` : `padding bit ${f} is clear`,
        );
      }
    }
    this.bits.set(new Int32Array(words.buffer, words.byteOffset, this.words));
    this.rebuildIndexes();
  }

  /**
   * Checks every internal invariant: padding bits set, never-usable ⊆ in use, counters equal
   * the bits, the summary tree and the free-block index equal the bitmap, every word below the
   * hint full, the bitmap's own frames never-usable.
   * @throws InvariantViolationError (`E_INVARIANT`) describing the first inconsistency
   */
  checkInvariants(): void {
    const fail = (what: string): never => {
      throw new InvariantViolationError(what);
    };
    const { bits, never, words } = this;
    if (bits.length !== words || never.length !== words) fail('bitmap length changed');
    for (let f = this.totalFrames; f < words * 32; f++) {
      const bit = 1 << (f & 31);
      if ((bits[f >>> 5]! & bit) === 0 || (never[f >>> 5]! & bit) === 0) fail(`padding bit ${f} is clear`);
    }
    let free = 0;
    let reserved = 0;
    for (let w = 0; w < words; w++) {
      const x = bits[w]!;
      const bad = never[w]! & ~x;
      if (bad !== 0) fail(`never-usable frame ${hex(((w << 5) + ctz32(bad)) * FRAME_BYTES)} is free`);
      free += 32 - popcount32(x);
      reserved += popcount32(never[w]!);
      const pendingWord = this.lowPending && w === this.lowWord;
      if (this.freeWords.has(w) !== (x !== -1 && !pendingWord)) fail(`summary bit for word ${w} disagrees with the word`);
      if ((((this.neverWords[w >>> 5]! >>> (w & 31)) & 1) === 1) !== (never[w] !== 0)) fail(`never-usable summary bit for word ${w} is wrong`);
      if (w < this.lowWord && x !== -1) fail(`word ${w} below the hint ${this.lowWord} has a free frame`);
      if (w > this.lowWord && w < this.upWord && x !== -1) fail(`word ${w} between the hint ${this.lowWord} and ${this.upWord} has a free frame`);
    }
    reserved -= words * 32 - this.totalFrames;
    if (free !== this.freeNow()) fail(`free count ${this.freeNow()}, bitmap says ${free}`);
    if (reserved !== this.reservedCount) fail(`reserved count ${this.reservedCount}, bitmap says ${reserved}`);
    if (this.lowWord < 0 || this.lowWord >= words) fail(`hint ${this.lowWord} out of range`);
    if (!(this.upWord > this.lowWord && this.upWord <= words)) fail(`upWord ${this.upWord} not in (${this.lowWord}, ${words}]`);
    const s1 = this.freeWords.findInconsistency();
    if (s1 !== null) fail(`frame summary: ${s1}`);
    for (let b = 0; b < this.blockCount; b++) {
      let allFree = true;
      for (let w = b * BLOCK_WORDS; w < (b + 1) * BLOCK_WORDS; w++) if (bits[w] !== 0) allFree = false;
      if (this.blocks.has(b) !== allFree) fail(`free-block index bit ${b} is ${allFree ? 0 : 1}, the block is ${allFree ? '' : 'not '}all free`);
    }
    const s2 = this.blocks.findInconsistency();
    if (s2 !== null) fail(`free-block index: ${s2}`);
    if (this.placedPa >= 0) {
      const s = this.placedPa / FRAME_BYTES;
      if (firstClear(never, s, s + this.bitmapFrameCount) >= 0) fail('a frame of the bitmap itself is not reserved');
    }
  }

  // ---------------------------------------------------------------- internals

  /** Validates `pa` as one managed frame's address; returns its frame number. */
  private frameOf(pa: number): number {
    if (!isAddress(pa)) throw new InvalidAddressError(pa);
    if (pa % FRAME_BYTES !== 0) throw new MisalignedAddressError(pa);
    if (pa >= this.endPa) throw new AddressOutOfRangeError(pa, this.endPa);
    return pa / FRAME_BYTES;
  }

  /** Throws the error for a pfn argument that is not an integer in `[0, totalFrames)`. */
  private pfnOf(pfn: number): never {
    if (!Number.isSafeInteger(pfn) || pfn < 0) throw new InvalidAddressError(pfn, 'page frame number');
    throw new AddressOutOfRangeError(pfn * FRAME_BYTES, this.endPa);
  }

  /** Validates a run `[pa, pa + frameCount * 4096)` inside the managed range; returns its first frame. */
  private runOf(pa: number, frameCount: number): number {
    if (!isAddress(pa)) throw new InvalidAddressError(pa);
    if (pa % FRAME_BYTES !== 0) throw new MisalignedAddressError(pa);
    if (!Number.isInteger(frameCount) || frameCount < 1 || frameCount > this.totalFrames) {
      throw new InvalidFrameCountError(frameCount, this.totalFrames);
    }
    if (pa >= this.endPa) throw new AddressOutOfRangeError(pa, this.endPa);
    const s = pa / FRAME_BYTES;
    if (s + frameCount > this.totalFrames) throw new AddressOutOfRangeError(this.endPa, this.endPa);
    return s;
  }

  private validateCommonOptions(options: AllocatorOptions): void {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'not an object');
    const low = options.reserveLowBytes;
    if (low !== undefined && (!Number.isSafeInteger(low) || low < 0)) {
      throw new InvalidOptionError('reserveLowBytes', `${show(low)} is not a non-negative safe integer`);
    }
    const reserved = options.reserved === undefined ? [] : options.reserved;
    if (!Array.isArray(reserved)) throw new InvalidOptionError('reserved', 'not an array');
    reserved.forEach((r: Partial<{ base: number; lengthBytes: number }> | null, i) => {
      if (typeof r !== 'object' || r === null || !isAddress(r.base!) || !Number.isSafeInteger(r.lengthBytes) || r.lengthBytes! < 0) {
        throw new InvalidOptionError(`reserved[${i}]`, 'needs an integer base in [0, 2^52) and lengthBytes >= 0');
      }
    });
    if (options.bitmapPa !== undefined) {
      const pa = options.bitmapPa;
      if (!isAddress(pa)) throw new InvalidAddressError(pa);
      if (pa % FRAME_BYTES !== 0) throw new MisalignedAddressError(pa);
      const words32 = Math.ceil(this.totalFrames / 32);
      const frames = Math.ceil(((words32 + (words32 & 1)) * 4) / FRAME_BYTES);
      if (pa / FRAME_BYTES + frames > this.totalFrames) throw new AddressOutOfRangeError(pa, this.endPa);
    }
  }

  /** Low reserve, frame 0, `reserved` ranges, padding, indexes, bitmap placement. Options are validated. */
  private applyCommonOptions(options: AllocatorOptions, defaultLow: number): void {
    const n = this.totalFrames;
    const lowFrames = Math.max(1, Math.ceil((options.reserveLowBytes ?? defaultLow) / FRAME_BYTES));
    paint(this.bits, 0, Math.min(lowFrames, n), true);
    paint(this.never, 0, Math.min(lowFrames, n), true);
    for (const r of options.reserved ?? []) {
      const s = Math.min(Math.floor(r.base / FRAME_BYTES), n);
      const e = Math.min(Math.ceil((r.base + r.lengthBytes) / FRAME_BYTES), n);
      paint(this.bits, s, e, true);
      if (r.permanent === true) paint(this.never, s, e, true);
    }
    paint(this.bits, n, this.words * 32, true);
    paint(this.never, n, this.words * 32, true);
    this.rebuildIndexes();
    if (options.bitmapPa !== undefined) this.placeBitmap(options.bitmapPa);
  }

  /** Recomputes counters, the summary tree, the free-block index and the hint from the bitmaps. */
  private rebuildIndexes(): void {
    const { bits, never, words } = this;
    let free = 0;
    let reserved = 0;
    const base = this.freeWords.levels[0]!;
    const neverWords = this.neverWords;
    base.fill(0);
    neverWords.fill(0);
    for (let w = 0; w < words; w++) {
      const x = bits[w]!;
      if (x !== -1) {
        free += 32 - popcount32(x);
        base[w >>> 5]! |= 1 << (w & 31);
      }
      const v = never[w]!;
      if (v !== 0) {
        reserved += popcount32(v);
        neverWords[w >>> 5]! |= 1 << (w & 31);
      }
    }
    this.freeWords.rebuildSummary();
    this.reservedCount = reserved - (words * 32 - this.totalFrames);
    const blockBase = this.blocks.levels[0]!;
    blockBase.fill(0);
    for (let b = 0; b < this.blockCount; b++) {
      let any = 0;
      for (let w = b * BLOCK_WORDS, e = w + BLOCK_WORDS; w < e; w++) any |= bits[w]!;
      if (any === 0) blockBase[b >>> 5]! |= 1 << (b & 31);
    }
    this.blocks.rebuildSummary();
    const low = this.freeWords.nextSet(0);
    this.lowWord = low < 0 ? 0 : low;
    this.upWord = this.lowWord + 1;
    this.lowPending = false;
    this.freeOutsideLow = free - (32 - popcount32(bits[this.lowWord]!));
  }

  /** Frames free now: those outside the hint word and the hint word's own. */
  private freeNow(): number {
    return this.freeOutsideLow + 32 - popcount32(this.bits[this.lowWord]!);
  }

  /** Makes word v the hint word, moving the free count of the old one into `freeOutsideLow` and v's out of it. */
  private moveLow(v: number): void {
    const bits = this.bits;
    this.freeOutsideLow += popcount32(bits[v]!) - popcount32(bits[this.lowWord]!);
    this.lowWord = v;
  }

  /** Gives the pending hint word (see `lowPending`) its summary bit if it has a free frame. */
  private flushLow(): void {
    this.lowPending = false;
    if (this.bits[this.lowWord] !== -1) this.freeWords.set(this.lowWord);
  }

  /** Sets block b's index bit if all its words are free (b is a whole block). */
  private maybeSetBlock(b: number): void {
    const bits = this.bits;
    for (let w = b * BLOCK_WORDS, e = w + BLOCK_WORDS; w < e; w++) if (bits[w] !== 0) return;
    this.blocks.set(b);
  }

  /** Writes word w and keeps the counter, the summary, the block index and the hint in step. */
  private markWord(w: number, nx: number): void {
    if (this.lowPending) this.flushLow();
    const bits = this.bits;
    const x = bits[w]!;
    if (x === nx) return;
    bits[w] = nx;
    if (w !== this.lowWord) this.freeOutsideLow += popcount32(x) - popcount32(nx);
    if (x === -1) this.freeWords.set(w);
    else if (nx === -1) this.freeWords.clear(w);
    const b = w >>> 4;
    if (b < this.blockCount) {
      if (x === 0) this.blocks.clear(b);
      else if (nx === 0) this.maybeSetBlock(b);
    }
    if (nx !== -1) {
      const low = this.lowWord;
      if (w < low) {
        if (bits[low] !== -1) this.upWord = low;
        this.moveLow(w);
      } else if (w > low && w < this.upWord) this.upWord = w;
    }
  }

  /** Marks frames `[s, e)` in use (`used`) or free, word by word through `markWord`. */
  private markRange(s: number, e: number, used: boolean): void {
    const bits = this.bits;
    const ws = s >>> 5;
    const we = (e - 1) >>> 5;
    for (let w = ws; w <= we; w++) {
      let m = -1;
      if (w === ws) m &= -1 << (s & 31);
      if (w === we) m &= -1 >>> (31 - ((e - 1) & 31));
      this.markWord(w, used ? bits[w]! | m : bits[w]! & ~m);
    }
  }

  /** Lowest free frame at or after `from`, or -1. */
  private findFree(from: number): number {
    if (from >= this.totalFrames) return -1;
    let w = from >>> 5;
    let m: number;
    if (w < this.lowWord) {
      w = this.lowWord;
      m = ~this.bits[w]!;
    } else {
      m = ~this.bits[w]! & (-1 << (from & 31));
    }
    if (m !== 0) return (w << 5) + ctz32(m);
    w = this.freeWords.nextSet(w + 1);
    return w < 0 ? -1 : (w << 5) + ctz32(~this.bits[w]!);
  }

  /**
   * Lowest start of `n` <= 32 free frames, aligned to `a` frames, in `[from, limit)`.
   * A run starting in word w ends in word w or w + 1, so each candidate word is one shift-and
   * over a 64-bit window (`log2 n` steps): bit p of `lo` survives iff frames p..p+n-1 are free.
   */
  private findSmallRun(n: number, a: number, from: number, limit: number): number {
    const bits = this.bits;
    const words = this.words;
    const lastStart = limit - n;
    const wordAlign = a > 32 ? a / 32 : 1;
    const amask = a <= 32 ? ALIGN_MASKS[Math.log2(a)]! : 1;
    if (this.lowPending) this.flushLow();
    let w = this.freeWords.nextSet(Math.max(from >>> 5, this.lowWord));
    while (w >= 0) {
      if (wordAlign > 1 && w % wordAlign !== 0) {
        w = this.freeWords.nextSet(Math.ceil(w / wordAlign) * wordAlign);
        continue;
      }
      const base = w << 5;
      if (base > lastStart) return -1;
      let lo = ~bits[w]!;
      let hi = w + 1 < words ? ~bits[w + 1]! : 0;
      for (let len = 1; len < n; ) {
        const s = len < n - len ? len : n - len;
        lo &= (lo >>> s) | (hi << (32 - s));
        hi &= hi >>> s;
        len += s;
      }
      lo &= amask;
      if (base < from) lo &= -1 << (from - base);
      if (lastStart - base < 31) lo &= (2 << (lastStart - base)) - 1;
      if (lo !== 0) return base + ctz32(lo);
      w = this.freeWords.nextSet(w + 1);
    }
    return -1;
  }

  /**
   * Lowest 2 MiB-aligned (or coarser) start of `n` >= 512 free frames in `[from, limit)`:
   * walks only blocks that are entirely free, through the free-block index.
   */
  private findBlockRun(n: number, a: number, from: number, limit: number): number {
    const blockAlign = a / BLOCK_FRAMES;
    const full = Math.floor(n / BLOCK_FRAMES);
    const tail = n - full * BLOCK_FRAMES;
    const index = this.blocks.levels[0]!;
    let b = Math.ceil(from / BLOCK_FRAMES);
    for (;;) {
      b = this.blocks.nextSet(b);
      if (b < 0) return -1;
      if (blockAlign > 1) b = Math.ceil(b / blockAlign) * blockAlign;
      const s = b * BLOCK_FRAMES;
      if (s + n > limit) return -1;
      const c = firstClear(index, b, b + full);
      if (c >= 0) {
        b = c + 1;
        continue;
      }
      if (tail > 0) {
        const u = firstSet(this.bits, s + full * BLOCK_FRAMES, s + n);
        if (u >= 0) {
          b = Math.floor(u / BLOCK_FRAMES) + 1;
          continue;
        }
      }
      return s;
    }
  }

  /** Lowest start of `n` free frames aligned to `a` in `[from, limit)`: first fit, skipping full words. */
  private findRun(n: number, a: number, from: number, limit: number): number {
    let c = from;
    for (;;) {
      const f = this.findFree(c);
      if (f < 0) return -1;
      const s = a === 1 ? f : Math.ceil(f / a) * a;
      if (s + n > limit) return -1;
      const u = firstSet(this.bits, s, s + n);
      if (u < 0) return s;
      c = u + 1;
    }
  }
}
