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
import { BlockList, NIL } from './block-list';
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
 * The list is kept in leaves of up to 32 blocks, indexed by an augmented AVL tree (largest free
 * size per subtree, as Linux's vmalloc), so `alloc`, `take`, `free` and `blockAt` are O(log n) in
 * the number of blocks.
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
  private readonly fmt: AddressFormatter;
  private list: BlockList<Tag>;
  private usedBytesTotal = 0;
  private usedBlocks = 0;

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
    this.fmt = formatAddress;
    this.list = new BlockList<Tag>(start, end);
  }

  // ---- validation (always before any change) -------------------------------------------------

  private range(): AddressRange {
    return { start: this.start, end: this.end };
  }

  private checkSize(sizeBytes: number): void {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes > this.end - this.start) {
      throw new InvalidSizeError(sizeBytes);
    }
    if (sizeBytes % this.granularityBytes !== 0) throw new UnalignedSizeError(sizeBytes, this.granularityBytes);
  }

  /** `[addr, addr + sizeBytes)` must be inside the managed range, `addr` a granule multiple. */
  private checkAddr(addr: number, sizeBytes: number): void {
    if (!Number.isSafeInteger(addr) || addr < this.start || addr >= this.end) {
      throw new AddressOutOfRangeError(addr, 0, this.range(), this.fmt);
    }
    if (addr % this.granularityBytes !== 0) throw new MisalignedAddressError(addr, this.granularityBytes, this.fmt);
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
    if (start % this.granularityBytes !== 0 || end % this.granularityBytes !== 0) {
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
    const list = this.list;
    const x =
      align === this.granularityBytes && lo === this.start && hi === this.end
        ? list.findFirstFitAnywhere(sizeBytes)
        : list.findFirstFit(sizeBytes, align, lo, hi);
    if (x === NIL) return null;
    const addr = list.foundAddr;
    list.paint(x, addr, addr + sizeBytes, 1, tag);
    this.usedBytesTotal += sizeBytes;
    this.usedBlocks++;
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
    const list = this.list;
    const x = list.find(addr);
    const b = addr + sizeBytes;
    // Free neighbours are always merged, so a free range lies inside one free block.
    if (list.usedOf(x) !== 0 || list.endOf(x) < b) return false;
    list.paint(x, addr, b, 1, options?.tag);
    this.usedBytesTotal += sizeBytes;
    this.usedBlocks++;
    return true;
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
    const list = this.list;
    if (sizeBytes === undefined) {
      this.checkAddr(addr, 0);
      const x = list.usedBlockAt(addr); // one descent; the climb that follows finds the path cached
      if (x === NIL) {
        const y = list.find(addr);
        if (list.usedOf(y) === 0) throw new DoubleFreeError(addr, this.granularityBytes, this.fmt);
        throw new NotBlockStartError(addr, list.startOf(y), this.fmt);
      }
      const s = addr;
      const e = list.endOf(x);
      list.paint(x, s, e, 0, undefined);
      this.usedBytesTotal -= e - s;
      this.usedBlocks--;
      return e - s;
    }
    this.checkSize(sizeBytes);
    this.checkAddr(addr, sizeBytes);
    const stop = addr + sizeBytes;
    // Check the whole range first: nothing changes unless all of it is in use.
    for (let x = list.find(addr); ; x = list.nextOf(x)) {
      if (list.usedOf(x) === 0) throw new DoubleFreeError(addr, sizeBytes, this.fmt);
      if (list.endOf(x) >= stop) break;
    }
    for (let pos = addr; pos < stop; ) {
      const y = list.find(pos);
      const s = list.startOf(y);
      const e = list.endOf(y);
      const b = e < stop ? e : stop;
      if (pos > s && b < e) this.usedBlocks++;
      else if (pos === s && b === e) this.usedBlocks--;
      list.paint(y, pos, b, 0, undefined);
      pos = b;
    }
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
    return this.info(this.list.find(addr));
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
    const list = this.list;
    for (let x = list.find(lo); x !== NIL && list.startOf(x) < hi; x = list.nextOf(x)) {
      yield this.info(x);
    }
  }

  private info(x: number): BlockInfo<Tag> {
    const l = this.list;
    return { start: l.startOf(x), end: l.endOf(x), used: l.usedOf(x) !== 0, tag: l.tagOf(x) };
  }

  /** Totals in bytes and blocks; O(1). */
  stats(): VirtualAllocatorStats {
    const total = this.end - this.start;
    return {
      usedBytes: this.usedBytesTotal,
      freeBytes: total - this.usedBytesTotal,
      blockCount: this.list.count,
      usedBlockCount: this.usedBlocks,
      largestFreeBytes: this.list.largestFree(),
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
    c.list = this.list.clone();
    c.usedBytesTotal = this.usedBytesTotal;
    c.usedBlocks = this.usedBlocks;
    return c;
  }

  /**
   * Throws an `Error` describing the first inconsistency: the list tiles the managed range with
   * granule-aligned blocks and no two adjacent free blocks, each leaf's cached bounds and largest
   * free block are exact, the tree's in-order walk is the sequence of leaves, AVL balance and every
   * subtree's largest-free value are exact, no leaf slot leaks, and the byte and block totals match
   * the list.
   */
  checkInvariants(): void {
    const list = this.list;
    list.check(this.start, this.end);
    let used = 0;
    let usedBlocks = 0;
    for (let x = list.first(); x !== NIL; x = list.nextOf(x)) {
      if (list.startOf(x) % this.granularityBytes !== 0 || list.endOf(x) % this.granularityBytes !== 0) {
        throw new Error(`VirtualAllocator invariant broken: block ${hex(list.startOf(x))} not granule aligned`);
      }
      if (list.usedOf(x)) {
        used += list.endOf(x) - list.startOf(x);
        usedBlocks++;
      }
    }
    if (used !== this.usedBytesTotal) throw new Error(`VirtualAllocator invariant broken: usedBytes ${this.usedBytesTotal} != ${used}`);
    if (usedBlocks !== this.usedBlocks) {
      throw new Error(`VirtualAllocator invariant broken: usedBlockCount ${this.usedBlocks} != ${usedBlocks}`);
    }
  }
}
