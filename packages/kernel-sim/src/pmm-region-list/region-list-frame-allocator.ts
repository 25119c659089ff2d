// Seed 001's physical memory manager: "physical memory as a linked list of regions (start, number
// of pages, state)". The list covers the managed range [0, totalFrames) without gaps, sorted by
// address, and neighbours always differ in state (a change merges them), so its length follows
// the fragmentation, not the RAM size. Nodes live in typed arrays (a node pool, as a kernel keeps
// them in a static array in .bss), linked both ways so a change merges with its neighbours.
// Every operation walks the list: its cost follows the number of regions. It offers the same
// calls as pmm-bitmap's BitmapFrameAllocator that a kernel uses, with the same errors.
import {
  AddressOutOfRangeError,
  DoubleFreeError,
  FreeReservedFrameError,
  InvalidAddressError,
  InvalidAlignmentError,
  InvalidFrameCountError,
  InvalidOptionError,
  InvalidRangeError,
  InvariantViolationError,
  MisalignedAddressError,
  type AllocatorStats,
  type ContiguousOptions,
  type FreeRun,
  type MemoryRegion,
} from '@kmem/pmm-bitmap';
import { planRegionList, type RegionListMapOptions } from './region-list-map';
import { brand } from '../brand';

const FRAME = 4096;
const MAX_PHYS = 2 ** 52;
/** Most frames one allocator manages (2^31, 8 TiB), as pmm-bitmap. */
const MAX_FRAMES = 2 ** 31;

/** State of a region of the list. */
export const RegionState = {
  /** Free to allocate. */
  Free: 0,
  /** In use (allocated, reserved, or reclaimable RAM the loader still uses); freeing it is allowed. */
  Used: 1,
  /** Never usable (holes, firmware ranges, low memory, permanent reservations); freeing it is an error. */
  Never: 2,
} as const;
/** A {@link RegionState} value. */
export type RegionState = (typeof RegionState)[keyof typeof RegionState];

/** One region of the list, as `regions()` reports it. */
export interface FrameRegion {
  /** Physical address of its first frame. */
  readonly start: number;
  /** Frames in it. */
  readonly frameCount: number;
  /** Free, used or never usable. */
  readonly state: RegionState;
}

/**
 * Bytes one node costs a kernel written in C: `struct region { u64 start; u64 pages; u32 state;
 * struct region *next; }` on x86_64 is 8 + 8 + 4 (+ 4 padding) + 8 = 32 bytes.
 */
export const REGION_NODE_BYTES = 32;

/**
 * A physical frame allocator kept as a sorted linked list of regions (seed 001). Lowest free frame
 * first, like pmm-bitmap's allocator, so both hand out the same frames for the same calls. It
 * satisfies x86-paging's `FrameAllocator` port and everything kernel-sim's boot needs of a frame
 * allocator (`Kernel` option `frameAllocator: 'region-list'`).
 *
 * ```
 *  head ─▶ [0x0 +256 never] ⇄ [0x10_0000 +3 used] ⇄ [0x10_3000 +32509 free] ⇄ [0x7fe_0000 +32 never]
 * ```
 */
export class RegionListFrameAllocator {
  static {
    brand(this, 'RegionListFrameAllocator'); // instanceof across the import and require copies (brand.ts)
  }
  /** Frames in the managed range `[0, endPa)`. */
  readonly totalFrames: number;
  /** One past the last managed byte. */
  readonly endPa: number;
  /** Bytes of RAM above the managed range, never handed out (from `fromMemoryMap`'s `maxFrameCount`). */
  ignoredBytes = 0;

  // The node pool: parallel typed arrays; a node's frames are [start, end).
  private nStart: Float64Array;
  private nEnd: Float64Array;
  private nState: Uint8Array;
  private nNext: Int32Array;
  private nPrev: Int32Array;
  private head = 0;
  private spare = -1; // first node of the free-node chain (linked through nNext)
  private used = 0; // nodes in the list
  private highWater = 0; // nodes ever taken from the pool's arrays
  private freeCount = 0;
  private neverCount = 0;

  /**
   * `frameCount` frames, all free except frame 0 (address 0 is the null pointer, as pmm-bitmap).
   * @throws InvalidFrameCountError unless 1 <= frameCount <= 2^31
   */
  constructor(frameCount: number) {
    if (!Number.isInteger(frameCount) || frameCount < 1 || frameCount > MAX_FRAMES) throw new InvalidFrameCountError(frameCount, MAX_FRAMES);
    this.totalFrames = frameCount;
    this.endPa = frameCount * FRAME;
    const capacity = 16;
    this.nStart = new Float64Array(capacity);
    this.nEnd = new Float64Array(capacity);
    this.nState = new Uint8Array(capacity);
    this.nNext = new Int32Array(capacity);
    this.nPrev = new Int32Array(capacity);
    const n = this.newNode(0, frameCount, RegionState.Free, -1, -1);
    this.head = n;
    this.freeCount = frameCount;
    this.setRange(0, 1, RegionState.Never, false);
  }

  /**
   * The allocator a kernel starts with from a firmware memory map, with exactly the states
   * pmm-bitmap's `BitmapFrameAllocator.fromMemoryMap` gives the same map and options: usable
   * ranges (rounded inward) free; reclaimable RAM in use; holes, other kinds and the low
   * `reserveLowBytes` (default 1 MiB) never usable. Cost: O(regions × list length).
   * @throws MemoryMapError for a malformed entry (with its index); InvalidOptionError for a bad option
   */
  static fromMemoryMap(regions: readonly MemoryRegion[], options: RegionListMapOptions = {}): RegionListFrameAllocator {
    const plan = planRegionList(regions, options);
    const a = new RegionListFrameAllocator(plan.frameCount);
    const n = plan.frameCount;
    a.setRange(0, n, RegionState.Never, false);
    for (const [s, e] of plan.ram) if (s < n) a.setRange(s, Math.min(e, n), RegionState.Used, false);
    for (const [s, e] of plan.free) if (s < n) a.setRange(s, Math.min(e, n), RegionState.Free, false);
    for (const [s, e] of plan.inUse) if (s < n) a.setRange(s, Math.min(e, n), RegionState.Used, true);
    for (const [s, e] of plan.never) if (s < n) a.setRange(s, Math.min(e, n), RegionState.Never, true);
    a.setRange(0, Math.min(n, Math.max(1, Math.ceil(plan.reserveLowBytes / FRAME))), RegionState.Never, true);
    a.ignoredBytes = plan.ignoredBytes;
    return a;
  }

  /** Frames free now (O(1)). */
  get freeFrames(): number {
    return this.freeCount;
  }

  /** Regions in the list now. */
  get regionCount(): number {
    return this.used;
  }

  /** Bytes a C kernel's list would take now: {@link regionCount} × {@link REGION_NODE_BYTES}. */
  get bookkeepingBytes(): number {
    return this.used * REGION_NODE_BYTES;
  }

  /** The lowest free frame, or null when none is free. Cost: the regions before it. */
  allocFrame(): number | null {
    let i = this.head;
    while (i >= 0 && this.nState[i] !== RegionState.Free) i = this.nNext[i]!;
    if (i < 0) return null;
    const f = this.nStart[i]!;
    this.setRangeFrom(i, f, f + 1, RegionState.Used, false);
    return f * FRAME;
  }

  /**
   * Gives one frame back.
   * @throws InvalidAddressError, MisalignedAddressError, AddressOutOfRangeError,
   *   FreeReservedFrameError (never usable), DoubleFreeError (already free); nothing changes
   */
  freeFrame(pa: number): void {
    this.freeContiguous(pa, 1);
  }

  /**
   * The lowest run of `frameCount` free frames whose first frame is aligned to `alignBytes`, not
   * below `minAddr`, the whole run below `maxAddr` (the options of pmm-bitmap's allocContiguous).
   * @returns the first frame's address, or null if no such run is free
   * @throws InvalidFrameCountError, InvalidAlignmentError, InvalidRangeError, InvalidOptionError
   */
  allocContiguous(frameCount: number, options?: ContiguousOptions): number | null {
    const n = frameCount;
    if (!Number.isInteger(n) || n < 1 || n > this.totalFrames) throw new InvalidFrameCountError(n, this.totalFrames);
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw new InvalidOptionError('options', 'not an object');
    const alignBytes = options?.alignBytes ?? FRAME;
    const minAddr = options?.minAddr ?? 0;
    const maxAddr = options?.maxAddr ?? this.endPa;
    if (!Number.isSafeInteger(alignBytes) || alignBytes < FRAME || alignBytes > MAX_PHYS || 2 ** Math.round(Math.log2(alignBytes)) !== alignBytes) throw new InvalidAlignmentError(alignBytes);
    if (!Number.isSafeInteger(minAddr) || !Number.isSafeInteger(maxAddr) || minAddr < 0 || minAddr > maxAddr || maxAddr > MAX_PHYS) throw new InvalidRangeError(minAddr, maxAddr);
    const from = Math.ceil(minAddr / FRAME);
    const limit = Math.min(Math.floor(maxAddr / FRAME), this.totalFrames);
    const align = alignBytes / FRAME;
    for (let i = this.head; i >= 0; i = this.nNext[i]!) {
      if (this.nState[i] !== RegionState.Free) continue;
      const s = Math.ceil(Math.max(this.nStart[i]!, from) / align) * align;
      const e = Math.min(this.nEnd[i]!, limit);
      if (s + n <= e) {
        this.setRangeFrom(i, s, s + n, RegionState.Used, false);
        return s * FRAME;
      }
      if (this.nStart[i]! >= limit) break;
    }
    return null;
  }

  /**
   * Frees `frameCount` frames from `pa`, all or nothing.
   * @throws InvalidAddressError, MisalignedAddressError, InvalidFrameCountError,
   *   AddressOutOfRangeError, FreeReservedFrameError (first never-usable frame), DoubleFreeError
   *   (first free frame); nothing changes
   */
  freeContiguous(pa: number, frameCount: number): void {
    const s = this.runOf(pa, frameCount);
    const e = s + frameCount;
    const first = this.nodeOf(s);
    for (let i = first; i >= 0 && this.nStart[i]! < e; i = this.nNext[i]!) {
      if (this.nState[i] === RegionState.Never) throw new FreeReservedFrameError(Math.max(s, this.nStart[i]!) * FRAME);
    }
    for (let i = first; i >= 0 && this.nStart[i]! < e; i = this.nNext[i]!) {
      if (this.nState[i] === RegionState.Free) throw new DoubleFreeError(Math.max(s, this.nStart[i]!) * FRAME);
    }
    this.setRangeFrom(first, s, e, RegionState.Free, false);
  }

  /**
   * Marks `frameCount` frames from `pa` in use (idempotent); `permanent` makes them never usable.
   * @returns how many of them were free before
   * @throws InvalidAddressError, MisalignedAddressError, InvalidFrameCountError, AddressOutOfRangeError
   */
  reserve(pa: number, frameCount: number, options?: { readonly permanent?: boolean }): number {
    const s = this.runOf(pa, frameCount);
    const before = this.freeCount;
    this.setRange(s, s + frameCount, options?.permanent === true ? RegionState.Never : RegionState.Used, true);
    return before - this.freeCount;
  }

  /** Whether the frame holding `pa` is free. @throws InvalidAddressError, AddressOutOfRangeError */
  isFree(pa: number): boolean {
    return this.nState[this.nodeOf(this.frameOf(pa))] === RegionState.Free;
  }

  /** Whether the frame holding `pa` is never usable. @throws InvalidAddressError, AddressOutOfRangeError */
  isReserved(pa: number): boolean {
    return this.nState[this.nodeOf(this.frameOf(pa))] === RegionState.Never;
  }

  /** Free frames with addresses in `[minAddr, maxAddr)` (rounded inward). @throws InvalidRangeError */
  freeFramesBetween(minAddr: number, maxAddr: number): number {
    if (!Number.isSafeInteger(minAddr) || minAddr < 0 || !Number.isSafeInteger(maxAddr) || maxAddr < minAddr) throw new InvalidRangeError(minAddr, maxAddr);
    const s = Math.ceil(minAddr / FRAME);
    const e = Math.min(Math.floor(maxAddr / FRAME), this.totalFrames);
    let count = 0;
    for (let i = this.head; i >= 0 && this.nStart[i]! < e; i = this.nNext[i]!) {
      if (this.nState[i] === RegionState.Free) count += Math.max(0, Math.min(this.nEnd[i]!, e) - Math.max(this.nStart[i]!, s));
    }
    return count;
  }

  /** Frame counts, as pmm-bitmap's `stats()`. */
  stats(): AllocatorStats {
    let largest = 0;
    for (let i = this.head; i >= 0; i = this.nNext[i]!) if (this.nState[i] === RegionState.Free) largest = Math.max(largest, this.nEnd[i]! - this.nStart[i]!);
    return {
      totalFrames: this.totalFrames,
      freeFrames: this.freeCount,
      usedFrames: this.totalFrames - this.freeCount,
      reservedFrames: this.neverCount,
      usableFrames: this.totalFrames - this.neverCount,
      largestFreeRunFrames: largest,
    };
  }

  /** The free runs in address order (the free regions). */
  *freeRuns(): IterableIterator<FreeRun> {
    for (const r of this.regions()) if (r.state === RegionState.Free) yield { start: r.start, frameCount: r.frameCount };
  }

  /** Every region of the list in address order. Do not allocate or free while iterating. */
  *regions(): IterableIterator<FrameRegion> {
    for (let i = this.head; i >= 0; i = this.nNext[i]!) yield { start: this.nStart[i]! * FRAME, frameCount: this.nEnd[i]! - this.nStart[i]!, state: this.nState[i] as RegionState };
  }

  /**
   * The list as a bitmap in pmm-bitmap's `exportWords` format (bit f of the 64-bit little-endian
   * word f >> 6 is frame f, 1 = in use, padding bits 1), so a kernel can compare its own records
   * with either allocator. Cost: the regions plus the words.
   */
  exportWords(): Uint32Array {
    const words32 = Math.ceil(this.totalFrames / 32);
    const out = new Int32Array(words32 + (words32 & 1)).fill(-1);
    for (let i = this.head; i >= 0; i = this.nNext[i]!) {
      if (this.nState[i] !== RegionState.Free) continue;
      const s = this.nStart[i]!;
      const e = this.nEnd[i]!;
      let f = s;
      while (f < e) {
        const w = f >>> 5;
        const b = f & 31;
        const n = Math.min(32 - b, e - f);
        const mask = n === 32 ? -1 : ((1 << n) - 1) << b;
        out[w]! &= ~mask;
        f += n;
      }
    }
    return new Uint32Array(out.buffer);
  }

  /**
   * The list covers `[0, totalFrames)` in order without gaps or empty nodes, neighbours differ in
   * state, the links agree both ways, and the counters match.
   * @throws InvariantViolationError describing the first inconsistency
   */
  checkInvariants(): void {
    let expect = 0;
    let prev = -1;
    let nodes = 0;
    let free = 0;
    let never = 0;
    for (let i = this.head; i >= 0; i = this.nNext[i]!) {
      if (++nodes > this.highWater) throw new InvariantViolationError('region list has a cycle');
      const s = this.nStart[i]!;
      const e = this.nEnd[i]!;
      if (this.nPrev[i] !== prev) throw new InvariantViolationError(`region ${nodes}: back link ${this.nPrev[i]} != ${prev}`);
      if (s !== expect) throw new InvariantViolationError(`region ${nodes} starts at frame ${s}, expected ${expect}`);
      if (e <= s) throw new InvariantViolationError(`region ${nodes} is empty`);
      if (prev >= 0 && this.nState[prev] === this.nState[i]) throw new InvariantViolationError(`regions at frames ${this.nStart[prev]} and ${s} have the same state and were not merged`);
      if (this.nState[i] === RegionState.Free) free += e - s;
      else if (this.nState[i] === RegionState.Never) never += e - s;
      else if (this.nState[i] !== RegionState.Used) throw new InvariantViolationError(`region ${nodes} has state ${this.nState[i]}`);
      expect = e;
      prev = i;
    }
    if (expect !== this.totalFrames) throw new InvariantViolationError(`region list ends at frame ${expect}, expected ${this.totalFrames}`);
    if (nodes !== this.used) throw new InvariantViolationError(`region count ${this.used} != ${nodes} nodes`);
    if (free !== this.freeCount) throw new InvariantViolationError(`free counter ${this.freeCount} != ${free}`);
    if (never !== this.neverCount) throw new InvariantViolationError(`never-usable counter ${this.neverCount} != ${never}`);
    let spare = 0;
    for (let i = this.spare; i >= 0; i = this.nNext[i]!) if (++spare > this.highWater) throw new InvariantViolationError('spare node chain has a cycle');
    if (spare + nodes !== this.highWater) throw new InvariantViolationError(`${spare} spare + ${nodes} listed nodes != ${this.highWater} nodes taken from the pool`);
  }

  // ------------------------------------------------------------------------------- the list

  /** Sets frames `[s, e)` to `state` (only where it raises the state, with `raise`). */
  private setRange(s: number, e: number, state: RegionState, raise: boolean): void {
    if (s < e) this.setRangeFrom(this.nodeOf(s), s, e, state, raise);
  }

  /**
   * Sets frames `[s, e)` to `state`, starting at node `i` (the one holding frame s): splits the
   * nodes at s and e, changes the ones between, then merges equal neighbours around them.
   */
  private setRangeFrom(i: number, s: number, e: number, state: RegionState, raise: boolean): void {
    if (this.nStart[i]! < s) i = this.split(i, s);
    const before = this.nPrev[i]!;
    let last = i;
    for (let j = i; j >= 0 && this.nStart[j]! < e; j = this.nNext[j]!) {
      if (this.nEnd[j]! > e) this.split(j, e);
      const old = this.nState[j]!;
      if (old !== state && !(raise && old > state)) {
        const n = this.nEnd[j]! - this.nStart[j]!;
        this.count(old, -n);
        this.count(state, n);
        this.nState[j] = state;
      }
      last = j;
    }
    // Merge equal neighbours, pair by pair, from (node before the range, first) to (last, node after).
    const stop = this.nNext[last]!;
    let j = before >= 0 ? before : this.head;
    for (;;) {
      const k = this.nNext[j]!;
      if (k < 0) break;
      if (this.nState[k] === this.nState[j]) {
        this.nEnd[j] = this.nEnd[k]!;
        this.unlink(k);
        if (k === stop) break;
        continue;
      }
      if (k === stop) break;
      j = k;
    }
  }

  private count(state: number, n: number): void {
    if (state === RegionState.Free) this.freeCount += n;
    else if (state === RegionState.Never) this.neverCount += n;
  }

  /** Splits node `i` at frame `f` (inside it); returns the new node holding `[f, end)`. */
  private split(i: number, f: number): number {
    const n = this.newNode(f, this.nEnd[i]!, this.nState[i] as RegionState, i, this.nNext[i]!);
    this.nEnd[i] = f;
    const after = this.nNext[i]!;
    if (after >= 0) this.nPrev[after] = n;
    this.nNext[i] = n;
    return n;
  }

  private unlink(k: number): void {
    const p = this.nPrev[k]!;
    const n = this.nNext[k]!;
    if (p >= 0) this.nNext[p] = n;
    else this.head = n;
    if (n >= 0) this.nPrev[n] = p;
    this.nNext[k] = this.spare;
    this.spare = k;
    this.used--;
  }

  private newNode(s: number, e: number, state: RegionState, prev: number, next: number): number {
    let i = this.spare;
    if (i >= 0) this.spare = this.nNext[i]!;
    else {
      if (this.highWater === this.nStart.length) this.grow();
      i = this.highWater++;
    }
    this.nStart[i] = s;
    this.nEnd[i] = e;
    this.nState[i] = state;
    this.nPrev[i] = prev;
    this.nNext[i] = next;
    this.used++;
    return i;
  }

  /** Doubles the pool (the only allocation, amortised over the nodes it adds). */
  private grow(): void {
    const c = this.nStart.length * 2;
    const f64 = (a: Float64Array): Float64Array => {
      const b = new Float64Array(c);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array): Int32Array => {
      const b = new Int32Array(c);
      b.set(a);
      return b;
    };
    this.nStart = f64(this.nStart);
    this.nEnd = f64(this.nEnd);
    const st = new Uint8Array(c);
    st.set(this.nState);
    this.nState = st;
    this.nNext = i32(this.nNext);
    this.nPrev = i32(this.nPrev);
  }

  /** The node holding frame `f` (inside the managed range). Cost: the regions before it. */
  private nodeOf(f: number): number {
    let i = this.head;
    while (this.nEnd[i]! <= f) i = this.nNext[i]!;
    return i;
  }

  private frameOf(pa: number): number {
    if (!Number.isSafeInteger(pa) || pa < 0 || pa >= MAX_PHYS) throw new InvalidAddressError(pa);
    if (pa >= this.endPa) throw new AddressOutOfRangeError(pa, this.endPa);
    return Math.floor(pa / FRAME);
  }

  private runOf(pa: number, frameCount: number): number {
    if (!Number.isSafeInteger(pa) || pa < 0 || pa >= MAX_PHYS) throw new InvalidAddressError(pa);
    if (pa % FRAME !== 0) throw new MisalignedAddressError(pa);
    if (!Number.isInteger(frameCount) || frameCount < 1 || frameCount > this.totalFrames) throw new InvalidFrameCountError(frameCount, this.totalFrames);
    if (pa + frameCount * FRAME > this.endPa) throw new AddressOutOfRangeError(pa + frameCount * FRAME - FRAME, this.endPa);
    return pa / FRAME;
  }
}
