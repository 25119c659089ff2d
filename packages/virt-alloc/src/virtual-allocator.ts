import {
  AddressOutOfRangeError,
  DoubleFreeError,
  InvalidAlignmentError,
  InvalidOptionError,
  InvalidRangeError,
  InvalidSizeError,
  MisalignedAddressError,
  NotBlockStartError,
  UnalignedSizeError,
  type AddressFormatter,
  type AddressRange,
  type AllocOptions,
  type BlockInfo,
  type TakeOptions,
  type VirtualAllocatorOptions,
  type VirtualAllocatorStats,
} from './api';
import { FreeIndex } from './free-index';
import { PageRadix } from './page-radix';
import { TagTable } from './tag-table';
import { hex } from './hex';
import { brand } from './brand';

/**
 * True for a power-of-two safe integer (1, 2, 4, ... 2^52). Works above 2^32, where `n & (n - 1)`
 * would truncate.
 */
export function isPowerOfTwo(n: number): boolean {
  if (!Number.isSafeInteger(n) || n <= 0) return false;
  while (n > 0x4000_0000) {
    if (n % 0x4000_0000 !== 0) return false;
    n /= 0x4000_0000;
  }
  return (n & (n - 1)) === 0;
}

/** Options must be a (non-null) object: destructuring null throws a raw TypeError. */
function checkOptions(options: unknown, what: string): void {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError(what, `a ${options === null ? 'null' : typeof options} is not an object`);
}

/**
 * A virtual address range allocator: the managed range `[start, end)` is an ordered list of
 * blocks, each free or in use. At first one free block covers everything; taking a range splits a
 * block into up to three (free before, in use, free after); freeing marks a range free and merges
 * it with free neighbours, so two free blocks are never adjacent. In-use blocks never merge: each
 * allocation stays its own block with its own tag.
 *
 * Addresses and sizes are plain safe integers in bytes (or in whatever unit you choose with
 * `granularityBytes: 1`); the class knows nothing of x86. Every address and size must be a
 * multiple of `granularityBytes`; sizes are never rounded (round before calling, as mmap rounds
 * its length up to a page).
 *
 * Two indexes hold the list: the free blocks in address order under a max-tree of their sizes
 * (first fit is one descent), and the in-use blocks in a sparse radix tree keyed by page number,
 * shaped like a page table (`free` and `blockAt` are one walk of at most 7 levels; neighbouring
 * blocks share leaves). `alloc`, `take` and `free` are O(log n) in the number of free blocks.
 *
 * @typeParam Tag - what in-use blocks are tagged with (default `string`).
 */
export class VirtualAllocator<Tag = string> {
  static {
    brand(this, 'VirtualAllocator'); // instanceof across the import and require copies (brand.ts)
  }
  /** First byte managed. */
  readonly start: number;
  /** One past the last byte managed. */
  readonly end: number;
  /** Unit of every address and size, in bytes (a power of two). */
  readonly granularityBytes: number;
  /**
   * 1 / granularityBytes, exact (a power of two): `x * perGranule` is `x / granularityBytes` without
   * a division, and `onGranule` tests a multiple without `%`, which on a double (an address at or
   * above 2^31) is a runtime call of ~20 ns in V8.
   */
  private readonly perGranule: number;
  private readonly fmt: AddressFormatter;
  /** The free blocks. */
  private freeIdx: FreeIndex;
  /** The in-use blocks: first page -> end address and tag id. */
  private usedIdx: PageRadix;
  private tags = new TagTable<Tag>();
  private usedBytesTotal = 0;

  /**
   * @param options - `{ start, end, granularityBytes = 4096, formatAddress }`.
   * @throws {@link InvalidOptionError} `E_INVALID_OPTION` if `options` is not an object or `formatAddress` not a function.
   * @throws {@link InvalidAlignmentError} `E_INVALID_ALIGNMENT` if `granularityBytes` is not a power of two.
   * @throws {@link InvalidRangeError} `E_INVALID_RANGE` unless `0 <= start < end <= Number.MAX_SAFE_INTEGER`
   *   with both multiples of `granularityBytes`.
   */
  constructor(options: VirtualAllocatorOptions) {
    checkOptions(options, 'options');
    const { start, end, granularityBytes = 4096, formatAddress = hex } = options;
    if (typeof formatAddress !== 'function') throw new InvalidOptionError('formatAddress', `a ${typeof formatAddress} is not a function`);
    if (!isPowerOfTwo(granularityBytes)) throw new InvalidAlignmentError(granularityBytes);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start) {
      throw new InvalidRangeError({ start, end }, 'need safe integers with 0 <= start < end', formatAddress);
    }
    if (start % granularityBytes !== 0 || end % granularityBytes !== 0) {
      throw new InvalidRangeError({ start, end }, `start and end must be multiples of ${hex(granularityBytes)}`, formatAddress);
    }
    this.start = start;
    this.end = end;
    this.granularityBytes = granularityBytes;
    this.perGranule = 1 / granularityBytes;
    this.fmt = formatAddress;
    this.freeIdx = new FreeIndex(start, end);
    this.usedIdx = new PageRadix(granularityBytes);
  }

  // ---- validation (always before any change) -------------------------------------------------

  private range(): AddressRange {
    return { start: this.start, end: this.end };
  }

  /** `x` (a safe integer) is a multiple of `granularityBytes`: a floor and two exact scalings by powers of two. */
  private onGranule(x: number): boolean {
    return Math.floor(x * this.perGranule) * this.granularityBytes === x;
  }

  private checkSize(sizeBytes: number): void {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes > this.end - this.start) {
      throw new InvalidSizeError(sizeBytes);
    }
    if (!this.onGranule(sizeBytes)) throw new UnalignedSizeError(sizeBytes, this.granularityBytes);
  }

  /** `[addr, addr + sizeBytes)` must be inside the managed range, `addr` a granule multiple. */
  private checkAddr(addr: number, sizeBytes: number): void {
    if (!Number.isSafeInteger(addr) || addr < this.start || addr >= this.end) {
      throw new AddressOutOfRangeError(addr, 0, this.range(), this.fmt);
    }
    if (!this.onGranule(addr)) throw new MisalignedAddressError(addr, this.granularityBytes, this.fmt);
    if (addr + sizeBytes > this.end) throw new AddressOutOfRangeError(addr, sizeBytes, this.range(), this.fmt);
  }

  private checkWithin(w: AddressRange): void {
    if (typeof w !== 'object' || w === null) throw new InvalidRangeError({ start: NaN, end: NaN }, `within: a ${w === null ? 'null' : typeof w} is not a range`, this.fmt);
    const { start, end } = w;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start >= end) {
      throw new InvalidRangeError(w, 'within needs safe integers with start < end', this.fmt);
    }
    if (start < this.start || end > this.end) {
      throw new InvalidRangeError(w, `within must lie inside ${this.fmt(this.start)}..${this.fmt(this.end)}`, this.fmt);
    }
    if (!this.onGranule(start) || !this.onGranule(end)) {
      throw new InvalidRangeError(w, `within must be multiples of ${hex(this.granularityBytes)}`, this.fmt);
    }
  }

  // ---- operations ----------------------------------------------------------------------------

  /**
   * First fit: claims the lowest free range of `sizeBytes` whose start is a multiple of
   * `alignBytes` (and which lies inside `within`, if given), tagging it.
   *
   * O(log n) in the number of blocks without alignment beyond the granularity; with a larger
   * alignment each free block below the result that is big enough but fails once its start is
   * rounded up costs O(log n) more.
   *
   * @param sizeBytes - bytes to allocate: a positive multiple of `granularityBytes`.
   * @param options - `{ alignBytes, tag, within }`, all optional.
   * @returns the start address of the new in-use block, or `null` when no free range fits (not an error).
   * @throws {@link InvalidSizeError} `E_INVALID_SIZE` for 0, negative, NaN, non-integer or larger-than-range sizes.
   * @throws {@link UnalignedSizeError} `E_UNALIGNED_SIZE` if `sizeBytes` is not a multiple of `granularityBytes`.
   * @throws {@link InvalidAlignmentError} `E_INVALID_ALIGNMENT` if `alignBytes` is not a power of two.
   * @throws {@link InvalidRangeError} `E_INVALID_RANGE` if `within` is malformed or outside the managed range.
   * @throws {@link InvalidOptionError} `E_INVALID_OPTION` if `options` or `within` is not an object.
   */
  alloc(sizeBytes: number, options?: AllocOptions<Tag>): number | null {
    this.checkSize(sizeBytes);
    let align = this.granularityBytes;
    let lo = this.start;
    let hi = this.end;
    let tag: Tag | undefined;
    if (options !== undefined) {
      checkOptions(options, 'alloc options');
      const a = options.alignBytes;
      if (a !== undefined) {
        if (!isPowerOfTwo(a)) throw new InvalidAlignmentError(a);
        if (a > align) align = a;
      }
      const w = options.within;
      if (w !== undefined) {
        this.checkWithin(w);
        lo = w.start;
        hi = w.end;
      }
      tag = options.tag;
    }
    const fi = this.freeIdx;
    const k =
      align === this.granularityBytes && lo === this.start && hi === this.end
        ? fi.findAnywhere(sizeBytes)
        : fi.findFit(sizeBytes, align, lo, hi);
    if (k < 0) return null;
    const addr = fi.foundAddr;
    this.claim(k, addr, addr + sizeBytes, tag);
    return addr;
  }

  /**
   * Claims exactly `[addr, addr + sizeBytes)` if every byte of it is free (MAP_FIXED_NOREPLACE,
   * or reserving a known region such as the kernel image or an MMIO window).
   *
   * @param addr - start address: a multiple of `granularityBytes` inside the managed range.
   * @param sizeBytes - a positive multiple of `granularityBytes`; the range must end inside the managed range.
   * @param options - `{ tag }`.
   * @returns true if claimed; false, changing nothing, if any part is already in use.
   * @throws {@link InvalidSizeError} `E_INVALID_SIZE`, {@link UnalignedSizeError} `E_UNALIGNED_SIZE` for a bad size.
   * @throws {@link AddressOutOfRangeError} `E_ADDRESS_OUT_OF_RANGE` if the range leaves the managed range.
   * @throws {@link MisalignedAddressError} `E_MISALIGNED_ADDRESS` if `addr` is not a granule multiple.
   * @throws {@link InvalidOptionError} `E_INVALID_OPTION` if `options` is not an object.
   */
  take(addr: number, sizeBytes: number, options?: TakeOptions<Tag>): boolean {
    this.checkSize(sizeBytes);
    this.checkAddr(addr, sizeBytes);
    if (options !== undefined) checkOptions(options, 'take options');
    const fi = this.freeIdx;
    const k = fi.locate(addr);
    const b = addr + sizeBytes;
    // Free neighbours are always merged, so a free range lies inside one free block.
    if (k < 0 || fi.endOf(k) < b) return false;
    this.claim(k, addr, b, options?.tag);
    return true;
  }

  /** Makes `[a, b)`, inside free interval `k` (the free index's last answer), one in-use block. */
  private claim(k: number, a: number, b: number, tag: Tag | undefined): void {
    this.freeIdx.carve(k, a, b);
    this.usedIdx.insert(a * this.perGranule, b, this.tags.acquire(tag));
    this.usedBytesTotal += b - a;
  }

  /**
   * Frees the in-use block starting at `addr` or, with `sizeBytes`, the range
   * `[addr, addr + sizeBytes)`: part of a block (splitting it, like munmap of part of a mapping)
   * or parts of several adjacent in-use blocks. Every byte of the range must be in use. The freed
   * range merges with free neighbours.
   *
   * @param addr - a multiple of `granularityBytes` inside the managed range.
   * @param sizeBytes - optional: a positive multiple of `granularityBytes`.
   * @returns the number of bytes freed.
   * @throws {@link DoubleFreeError} `E_DOUBLE_FREE` if any byte of the range is already free.
   * @throws {@link NotBlockStartError} `E_NOT_BLOCK_START` without `sizeBytes`, if `addr` is inside an in-use block but not its start.
   * @throws {@link AddressOutOfRangeError} `E_ADDRESS_OUT_OF_RANGE`, {@link MisalignedAddressError} `E_MISALIGNED_ADDRESS`,
   *   {@link InvalidSizeError} `E_INVALID_SIZE`, {@link UnalignedSizeError} `E_UNALIGNED_SIZE` for bad input.
   */
  free(addr: number, sizeBytes?: number): number {
    const used = this.usedIdx;
    const g = this.granularityBytes;
    if (sizeBytes === undefined) {
      this.checkAddr(addr, 0);
      // The free leaf for addr first: that search has no branch to mispredict, so the CPU runs it
      // while the radix walk below waits on memory (the scan inside the leaf, which does mispredict,
      // measured slower when moved here too).
      const pos = this.freeIdx.leafPos(addr);
      const e = used.remove(addr * this.perGranule); // one walk: finds, checks and removes
      if (e === 0) {
        const k = this.freeIdx.locate(addr);
        if (k >= 0 && this.freeIdx.endOf(k) > addr) throw new DoubleFreeError(addr, g, this.fmt);
        throw new NotBlockStartError(addr, used.pred(addr / g) * g, this.fmt);
      }
      this.tags.release(used.removedTag);
      this.freeIdx.insert(addr, e, pos);
      this.usedBytesTotal -= e - addr;
      return e - addr;
    }
    this.checkSize(sizeBytes);
    this.checkAddr(addr, sizeBytes);
    const stop = addr + sizeBytes;
    // Check the whole range first: nothing changes unless all of it is in use, that is unless no
    // free block meets it (the in-use blocks then tile it).
    const fi = this.freeIdx;
    let k = fi.locate(addr);
    if (k >= 0 && fi.endOf(k) > addr) throw new DoubleFreeError(addr, sizeBytes, this.fmt);
    k = k < 0 ? fi.firstInterval() : fi.nextOf(k);
    if (k >= 0 && fi.startOf(k) < stop) throw new DoubleFreeError(addr, sizeBytes, this.fmt);
    // The in-use blocks from the one holding addr to the one holding stop - 1, consecutive.
    let s = used.pred(addr / g) * g;
    for (;;) {
      const e = used.get(s / g);
      const tagId = used.tagAtSlot();
      if (s < addr) {
        used.setEndAtSlot(addr); // keeps [s, addr)
        if (e > stop) used.insert(stop / g, e, this.tags.retain(tagId)); // and [stop, e): a split
      } else if (e > stop) {
        used.remove(s / g); // [stop, e) keeps the tag reference
        used.insert(stop / g, e, tagId);
      } else {
        used.remove(s / g);
        this.tags.release(used.removedTag);
      }
      if (e >= stop) break;
      s = e;
    }
    fi.insert(addr, stop);
    this.usedBytesTotal -= sizeBytes;
    return sizeBytes;
  }

  // ---- queries -------------------------------------------------------------------------------

  /**
   * The block containing byte `addr` (any byte address, not only granule multiples).
   * @throws {@link AddressOutOfRangeError} `E_ADDRESS_OUT_OF_RANGE` if `addr` is outside the managed range.
   */
  blockAt(addr: number): BlockInfo<Tag> {
    if (!Number.isSafeInteger(addr) || addr < this.start || addr >= this.end) {
      throw new AddressOutOfRangeError(addr, 0, this.range(), this.fmt);
    }
    return this.blockHolding(addr);
  }

  /**
   * The blocks in address order, as `{ start, end, used, tag }` (the linked list as a user sees
   * it); with `range`, only the blocks overlapping `[range.start, range.end)`. Do not change the
   * allocator while iterating.
   * @throws {@link InvalidRangeError} `E_INVALID_RANGE` if `range` does not hold numbers.
   */
  blocks(range?: AddressRange): IterableIterator<BlockInfo<Tag>> {
    let lo = this.start;
    let hi = this.end;
    if (range !== undefined) {
      if (typeof range !== 'object' || range === null) throw new InvalidRangeError({ start: NaN, end: NaN }, `a ${range === null ? 'null' : typeof range} is not a range`, this.fmt);
      if (Number.isNaN(range.start) || Number.isNaN(range.end) || typeof range.start !== 'number' || typeof range.end !== 'number') {
        throw new InvalidRangeError(range, 'not numbers', this.fmt);
      }
      lo = Math.max(lo, range.start);
      hi = Math.min(hi, range.end);
    }
    return this.walk(lo, hi);
  }

  private *walk(lo: number, hi: number): IterableIterator<BlockInfo<Tag>> {
    if (lo >= hi) return;
    let b = this.blockHolding(lo);
    for (;;) {
      yield b;
      if (b.end >= hi || b.end >= this.end) return;
      b = this.blockStartingAt(b.end, b.used);
    }
  }

  /** The block holding byte `addr` (inside the managed range). */
  private blockHolding(addr: number): BlockInfo<Tag> {
    const fi = this.freeIdx;
    const k = fi.locate(addr);
    if (k >= 0 && fi.endOf(k) > addr) return { start: fi.startOf(k), end: fi.endOf(k), used: false, tag: undefined };
    const g = this.granularityBytes;
    return this.blockStartingAt(this.usedIdx.pred(Math.floor(addr / g)) * g, false);
  }

  /** The block starting at `addr`, a block boundary; after a free block (`afterUsed` false) it is in use. */
  private blockStartingAt(addr: number, afterUsed: boolean): BlockInfo<Tag> {
    const used = this.usedIdx;
    const e = used.get(addr / this.granularityBytes);
    if (e !== 0 || !afterUsed) return { start: addr, end: e, used: true, tag: this.tags.value(used.tagAtSlot()) };
    const fi = this.freeIdx;
    const k = fi.locate(addr);
    return { start: addr, end: fi.endOf(k), used: false, tag: undefined };
  }

  /** Totals in bytes and blocks; O(1). */
  stats(): VirtualAllocatorStats {
    const total = this.end - this.start;
    return {
      usedBytes: this.usedBytesTotal,
      freeBytes: total - this.usedBytesTotal,
      blockCount: this.usedIdx.count + this.freeIdx.count,
      usedBlockCount: this.usedIdx.count,
      largestFreeBytes: this.freeIdx.largest(),
    };
  }

  /** An independent deep copy (for fork): O(n), typed-array copies. */
  clone(): VirtualAllocator<Tag> {
    const c = new VirtualAllocator<Tag>({
      start: this.start,
      end: this.end,
      granularityBytes: this.granularityBytes,
      formatAddress: this.fmt,
    });
    c.freeIdx = this.freeIdx.clone();
    c.usedIdx = this.usedIdx.clone();
    c.tags = this.tags.clone();
    c.usedBytesTotal = this.usedBytesTotal;
    return c;
  }

  /**
   * Throws an `Error` describing the first inconsistency: the free and in-use blocks tile the
   * managed range with granule-aligned blocks and no two adjacent free blocks; the free index's
   * leaves, cached first starts, leaf maxima and max-tree are exact; every radix node and leaf
   * count is true, none is empty, and the radix holds exactly the in-use blocks of the list; tag
   * reference counts match the blocks; no slot leaks; the byte total matches the list.
   */
  checkInvariants(): void {
    const fail = (msg: string): never => {
      throw new Error(`VirtualAllocator invariant broken: ${msg}`);
    };
    const g = this.granularityBytes;
    const frees: number[] = [];
    this.freeIdx.check(fail, (s, e) => frees.push(s, e));
    const ends = new Map<number, number>();
    const tagCounts = new Map<number, number>();
    this.usedIdx.check(fail, (key, end, tagId) => {
      ends.set(key * g, end);
      if (tagId !== 0) tagCounts.set(tagId, (tagCounts.get(tagId) ?? 0) + 1);
    });
    this.tags.check(tagCounts, fail);
    let pos = this.start;
    let used = 0;
    let usedBlocks = 0;
    const usedUpTo = (stop: number): void => {
      while (pos < stop) {
        const e = ends.get(pos);
        if (e === undefined) fail(`no block starts at ${hex(pos)}`);
        if (!(e! > pos) || e! > stop || e! % g !== 0) fail(`in-use block ${hex(pos)}..${hex(e!)} is empty, overlaps or is not granule aligned`);
        used += e! - pos;
        usedBlocks++;
        pos = e!;
      }
    };
    for (let i = 0; i < frees.length; i += 2) {
      const s = frees[i]!;
      const e = frees[i + 1]!;
      if (s < this.start || e > this.end || s % g !== 0 || e % g !== 0) fail(`free block ${hex(s)}..${hex(e)} outside the range or not granule aligned`);
      usedUpTo(s);
      if (pos !== s) fail(`blocks overlap at ${hex(s)}`);
      pos = e;
    }
    usedUpTo(this.end);
    if (pos !== this.end) fail(`the blocks end at ${hex(pos)}, not ${hex(this.end)}`);
    if (usedBlocks !== this.usedIdx.count) fail(`the list has ${usedBlocks} in-use blocks, the radix ${this.usedIdx.count}`);
    if (used !== this.usedBytesTotal) fail(`usedBytes ${this.usedBytesTotal} != ${used}`);
  }
}
