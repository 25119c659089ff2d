// Emulated RAM whose host cost grows with the frames a program touches, not with the RAM size.
import { BusError, InvalidMachineConfigError, InvalidPhysicalAddressError, MemoryArgumentError, type MemoryKind, type MemoryRegion, type PhysicalMemoryPort } from './api';
import { formatPhysical } from './hex';
import { show } from './show-value';
import { brand } from './brand';

/** Bytes in a frame (x86 4 KiB page, SDM vol. 3A 4.1). */
export const FRAME_BYTES = 4096;
const FRAME_WORDS = 1024;
/** Frames per directory leaf: one leaf covers 4 MiB of physical address space. */
const LEAF_FRAMES = 1024;
/**
 * Frames are carved out of pools of this many frames (256 KiB): allocating one ArrayBuffer per
 * frame costs several times more (V8 backing-store bookkeeping per buffer).
 */
const POOL_FRAMES = 64;
/** Above this many leaves the top level of the directory is a Map instead of an array. */
const DENSE_TOP_LIMIT = 1 << 20;

type Leaf = (Uint32Array | undefined)[];

/** A range of installed RAM, `[base, base + lengthBytes)`. */
export interface RamRange {
  /** First byte of the range. */
  readonly base: number;
  /** Length in bytes. */
  readonly lengthBytes: number;
}

/** Options of {@link SparsePhysicalMemory}. */
export interface SparsePhysicalMemoryOptions {
  /** Physical address width in bits (CPUID.80000008H:EAX[7:0]); 36..52, default 52. */
  readonly maxPhysAddrBits?: number;
}

/** Options of {@link SparsePhysicalMemory.fromMemoryMap}. */
export interface FromMemoryMapOptions extends SparsePhysicalMemoryOptions {
  /**
   * Kinds that are backed by RAM. Default: every kind except `reserved` and `bad-memory`
   * (reserved ranges are often MMIO or firmware flash; bad memory must never be touched).
   */
  readonly ramKinds?: readonly MemoryKind[];
}

/** The kinds {@link SparsePhysicalMemory.fromMemoryMap} treats as RAM by default. */
export const DEFAULT_RAM_KINDS: readonly MemoryKind[] = ['usable', 'acpi-reclaimable', 'acpi-nvs', 'bootloader-reclaimable', 'kernel-and-modules', 'framebuffer'];

/**
 * Sparse emulated physical memory.
 *
 * - RAM is described by byte ranges but backed per 4 KiB frame: a frame is RAM if any byte of
 *   it lies in a RAM range (ranges are rounded outward to frames, as DIMMs back whole pages;
 *   firmware's odd sub-page entries such as SeaBIOS's `0x9fc00` EBDA edge stay accessible).
 * - A frame never written reads as zero, as RAM the firmware cleared. Backing (a
 *   `Uint32Array(1024)`) is created on the first write of a non-zero value or the first
 *   {@link frameWords} call, and kept in a two-level directory indexed by frame number (leaves of
 *   1024 frames = 4 MiB; the top level is an array, or a Map when RAM reaches past 4 TiB).
 *   Backing is carved from 256 KiB pools; discarded frames are reused before new pools.
 *   Simulating 64 GiB costs a 16384-entry array until frames are touched.
 * - Any access to a frame outside RAM throws {@link BusError}; a malformed address throws
 *   {@link InvalidPhysicalAddressError}. Both before any state changes.
 * - Views returned by {@link frameWords} stay live for the life of the object: {@link zeroFrame}
 *   clears in place. Only {@link discardFrame} drops backing (and detaches old views).
 *
 * Structurally satisfies x86-paging's `PhysicalMemory` port ({@link PhysicalMemoryPort}).
 */
export class SparsePhysicalMemory implements PhysicalMemoryPort {
  static {
    brand(this, 'SparsePhysicalMemory'); // instanceof across the import and require copies (brand.ts)
  }
  /** Physical address width in bits. */
  readonly maxPhysAddrBits: number;
  /** The RAM ranges, sorted and merged (byte granular, as given). */
  readonly ramRanges: readonly RamRange[];
  /** Sum of the RAM ranges' lengths in bytes. */
  readonly ramBytes: number;

  private readonly paLimit: number;
  /** First frame number / one-past-last frame number of each merged, frame-rounded RAM range. */
  private readonly rangeFirst: Float64Array;
  private readonly rangeEnd: Float64Array;
  private readonly dense: Leaf[] | null;
  private readonly sparse: Map<number, Leaf> | null;
  private leafCount = 0;
  private backed = 0;
  private pool: ArrayBuffer | null = null;
  private poolUsed = POOL_FRAMES;
  private poolCount = 0;
  /** Views of discarded frames, reused (zeroed) before carving new ones. */
  private readonly spare: Uint32Array[] = [];

  /**
   * @param ramRanges RAM ranges (any order; overlapping or touching ranges are merged).
   * @throws InvalidMachineConfigError if a range has a length that is not a positive safe
   *   integer, a base that is not a non-negative safe integer, or ends above 2^maxPhysAddrBits.
   */
  constructor(ramRanges: readonly RamRange[], options: SparsePhysicalMemoryOptions = {}) {
    const bits = options.maxPhysAddrBits ?? 52;
    if (!Number.isInteger(bits) || bits < 36 || bits > 52) throw new InvalidMachineConfigError(`maxPhysAddrBits must be an integer in 36..52, got ${show(bits)}`);
    this.maxPhysAddrBits = bits;
    this.paLimit = 2 ** bits;
    const sorted = [...ramRanges].map((r, i) => {
      if (!Number.isSafeInteger(r.base) || r.base < 0) throw new InvalidMachineConfigError(`RAM range ${i}: base ${show(r.base)} is not a non-negative safe integer`);
      if (!Number.isSafeInteger(r.lengthBytes) || r.lengthBytes <= 0) throw new InvalidMachineConfigError(`RAM range ${i}: lengthBytes ${show(r.lengthBytes)} is not a positive safe integer`);
      if (r.base + r.lengthBytes > this.paLimit) throw new InvalidMachineConfigError(`RAM range ${i} at ${formatPhysical(r.base)} ends above 2^${bits} (MAXPHYADDR)`);
      return { base: r.base, lengthBytes: r.lengthBytes };
    });
    sorted.sort((a, b) => a.base - b.base);
    const merged: { base: number; lengthBytes: number }[] = [];
    for (const r of sorted) {
      const last = merged[merged.length - 1];
      if (last && r.base <= last.base + last.lengthBytes) {
        last.lengthBytes = Math.max(last.lengthBytes, r.base + r.lengthBytes - last.base);
      } else merged.push(r);
    }
    this.ramRanges = merged.map((r) => Object.freeze(r));
    this.ramBytes = merged.reduce((s, r) => s + r.lengthBytes, 0);
    // Frame-rounded (outward) ranges, merged again: two byte ranges may share a frame.
    const first: number[] = [];
    const end: number[] = [];
    for (const r of merged) {
      const f = Math.floor(r.base / FRAME_BYTES);
      const e = Math.ceil((r.base + r.lengthBytes) / FRAME_BYTES);
      if (end.length > 0 && f <= end[end.length - 1]!) end[end.length - 1] = Math.max(end[end.length - 1]!, e);
      else {
        first.push(f);
        end.push(e);
      }
    }
    this.rangeFirst = Float64Array.from(first);
    this.rangeEnd = Float64Array.from(end);
    const topLength = end.length === 0 ? 0 : Math.ceil(end[end.length - 1]! / LEAF_FRAMES);
    if (topLength <= DENSE_TOP_LIMIT) {
      this.dense = new Array<Leaf>(topLength);
      this.sparse = null;
    } else {
      this.dense = null;
      this.sparse = new Map();
    }
  }

  /**
   * A machine whose RAM is the ranges of `regions` whose kind is RAM (see
   * {@link FromMemoryMapOptions.ramKinds}).
   * @throws InvalidMachineConfigError as the constructor.
   */
  static fromMemoryMap(regions: readonly MemoryRegion[], options: FromMemoryMapOptions = {}): SparsePhysicalMemory {
    const kinds = new Set(options.ramKinds ?? DEFAULT_RAM_KINDS);
    const ram = regions.filter((r) => kinds.has(r.kind) && r.lengthBytes > 0);
    return new SparsePhysicalMemory(ram, options.maxPhysAddrBits === undefined ? {} : { maxPhysAddrBits: options.maxPhysAddrBits });
  }

  /** Number of frames that currently have host backing. */
  get touchedFrameCount(): number {
    return this.backed;
  }

  /**
   * Host bytes held for frame backing and the directory: the frame pools (256 KiB each, carved
   * into frames as they are touched) plus 8 bytes per directory slot. An estimate of what the JS
   * engine holds, not counting object headers.
   */
  get hostBytes(): number {
    const top = this.dense ? this.dense.length : this.leafCount;
    return this.poolCount * POOL_FRAMES * FRAME_BYTES + this.leafCount * LEAF_FRAMES * 8 + top * 8;
  }

  // --- the port ------------------------------------------------------------------------------

  /**
   * Reads the little-endian u32 at `pa`.
   * @throws InvalidPhysicalAddressError if `pa` is not 4-byte aligned or not below 2^MAXPHYADDR.
   * @throws BusError if `pa` is not RAM.
   */
  read32(pa: number): number {
    const w = this.lookup(pa);
    if (w !== undefined && (pa & 3) === 0) return w[(pa & 0xfff) >>> 2]!;
    this.checkAccess(pa, 4, false);
    return 0;
  }

  /**
   * Writes `value` (ToUint32) at `pa`, little-endian.
   * @throws MemoryArgumentError if `value` is not a number.
   * @throws InvalidPhysicalAddressError if `pa` is not 4-byte aligned or not below 2^MAXPHYADDR.
   * @throws BusError if `pa` is not RAM.
   */
  write32(pa: number, value: number): void {
    if (typeof value !== 'number') throw new MemoryArgumentError(`write32 value ${typeof value} is not a number`);
    let w = this.lookup(pa);
    if (w === undefined || (pa & 3) !== 0) {
      this.checkAccess(pa, 4, true);
      // Writing zero into a frame never written changes nothing: keep it absent.
      if (value >>> 0 === 0) return;
      w = this.createBacking(pa - (pa & 0xfff));
    }
    w[(pa & 0xfff) >>> 2] = value;
  }

  /**
   * Reads the byte at `pa`.
   * @throws InvalidPhysicalAddressError if `pa` is not a safe integer below 2^MAXPHYADDR.
   * @throws BusError if `pa` is not RAM.
   */
  read8(pa: number): number {
    const w = this.lookup(pa);
    if (w !== undefined) return (w[(pa & 0xfff) >>> 2]! >>> ((pa & 3) * 8)) & 0xff;
    this.checkAccess(pa, 1, false);
    return 0;
  }

  /**
   * Writes the low 8 bits of `value` at `pa`.
   * @throws MemoryArgumentError if `value` is not a number.
   * @throws InvalidPhysicalAddressError if `pa` is not a safe integer below 2^MAXPHYADDR.
   * @throws BusError if `pa` is not RAM.
   */
  write8(pa: number, value: number): void {
    if (typeof value !== 'number') throw new MemoryArgumentError(`write8 value ${typeof value} is not a number`);
    let w = this.lookup(pa);
    if (w === undefined) {
      this.checkAccess(pa, 1, true);
      if ((value & 0xff) === 0) return;
      w = this.createBacking(pa - (pa & 0xfff));
    }
    const i = (pa & 0xfff) >>> 2;
    const shift = (pa & 3) * 8;
    w[i] = (w[i]! & ~(0xff << shift)) | ((value & 0xff) << shift);
  }

  /**
   * Live view of the 1024 words of the frame at `frame`, creating its backing on first use.
   * @throws InvalidPhysicalAddressError if `frame` is not 4 KiB aligned or not below 2^MAXPHYADDR.
   * @throws BusError if the frame is not RAM.
   */
  frameWords(frame: number): Uint32Array {
    const w = this.lookup(frame);
    if (w !== undefined && (frame & 0xfff) === 0) return w;
    this.checkAccess(frame, FRAME_BYTES, true);
    return this.createBacking(frame);
  }

  /**
   * Zeroes the frame at `frame` in place (a frame with no backing is already zero and stays
   * absent). Views from {@link frameWords} stay valid.
   * @throws InvalidPhysicalAddressError if `frame` is not 4 KiB aligned or not below 2^MAXPHYADDR.
   * @throws BusError if the frame is not RAM.
   */
  zeroFrame(frame: number): void {
    const w = this.lookup(frame);
    if (w !== undefined && (frame & 0xfff) === 0) {
      w.fill(0);
      return;
    }
    this.checkAccess(frame, FRAME_BYTES, true);
  }

  // --- beyond the port ------------------------------------------------------------------------

  /**
   * Drops the backing of the frame at `frame`, so it reads as zero and costs no host memory.
   * Views obtained earlier from {@link frameWords} are detached (they no longer alias the frame):
   * call this only for frames nobody holds a view of, e.g. a freed frame.
   * @throws InvalidPhysicalAddressError if `frame` is not 4 KiB aligned or not below 2^MAXPHYADDR.
   * @throws BusError if the frame is not RAM.
   */
  discardFrame(frame: number): void {
    this.checkAccess(frame, FRAME_BYTES, true);
    const frameNo = frame / FRAME_BYTES;
    const chunk = Math.floor(frameNo / LEAF_FRAMES);
    const leaf = this.leafAt(chunk);
    const w = leaf?.[frameNo - chunk * LEAF_FRAMES];
    if (leaf === undefined || w === undefined) return;
    leaf[frameNo - chunk * LEAF_FRAMES] = undefined;
    this.spare.push(w);
    this.backed--;
  }

  /** Whether the byte at `pa` is RAM (frame granular, see the class notes). Never throws. */
  isRam(pa: number): boolean {
    if (!Number.isSafeInteger(pa) || pa < 0 || pa >= this.paLimit) return false;
    return this.isRamFrame(Math.floor(pa / FRAME_BYTES));
  }

  /** Whether the frame at `frame` currently has host backing. Never throws. */
  isBacked(frame: number): boolean {
    return this.lookup(frame) !== undefined && (frame & 0xfff) === 0;
  }

  /**
   * Copies `lengthBytes` bytes starting at `pa` out of RAM.
   * @throws InvalidPhysicalAddressError / BusError if any byte of the range is not RAM.
   */
  readBytes(pa: number, lengthBytes: number): Uint8Array {
    this.checkRange(pa, lengthBytes, false);
    const out = new Uint8Array(lengthBytes);
    for (let done = 0; done < lengthBytes; ) {
      const at = pa + done;
      const offset = at & 0xfff;
      const n = Math.min(FRAME_BYTES - offset, lengthBytes - done);
      const w = this.lookup(at - offset);
      if (w !== undefined) for (let i = 0; i < n; i++) out[done + i] = (w[(offset + i) >>> 2]! >>> (((offset + i) & 3) * 8)) & 0xff;
      done += n;
    }
    return out;
  }

  /**
   * Copies `bytes` into RAM at `pa`. Frames without backing that would only receive zeros stay
   * absent. The whole range is checked before anything is written.
   * @throws MemoryArgumentError if `bytes` is not a Uint8Array; InvalidPhysicalAddressError / BusError if any byte of the range is not RAM.
   */
  writeBytes(pa: number, bytes: Uint8Array): void {
    if (!((bytes as unknown) instanceof Uint8Array)) throw new MemoryArgumentError(`writeBytes needs a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
    this.checkRange(pa, bytes.length, true);
    for (let done = 0; done < bytes.length; ) {
      const at = pa + done;
      const offset = at & 0xfff;
      const n = Math.min(FRAME_BYTES - offset, bytes.length - done);
      let w = this.lookup(at - offset);
      if (w === undefined) {
        let any = false;
        for (let i = 0; i < n && !any; i++) any = bytes[done + i] !== 0;
        if (any) w = this.createBacking(at - offset);
      }
      if (w !== undefined) {
        for (let i = 0; i < n; i++) {
          const o = offset + i;
          const shift = (o & 3) * 8;
          w[o >>> 2] = (w[o >>> 2]! & ~(0xff << shift)) | (bytes[done + i]! << shift);
        }
      }
      done += n;
    }
  }

  /** Calls `fn` with each backed frame's address and live words, in ascending address order. */
  forEachTouchedFrame(fn: (frame: number, words: Uint32Array) => void): void {
    const visit = (chunk: number, leaf: Leaf): void => {
      for (let i = 0; i < LEAF_FRAMES; i++) {
        const w = leaf[i];
        if (w !== undefined) fn((chunk * LEAF_FRAMES + i) * FRAME_BYTES, w);
      }
    };
    if (this.dense) {
      for (let c = 0; c < this.dense.length; c++) {
        const leaf = this.dense[c];
        if (leaf) visit(c, leaf);
      }
    } else {
      for (const c of [...this.sparse!.keys()].sort((a, b) => a - b)) visit(c, this.sparse!.get(c)!);
    }
  }

  /**
   * Throws if the internal state is inconsistent: every backed frame is RAM and 1024 words long,
   * the backed-frame and leaf counters match the directory, the RAM ranges are sorted and disjoint.
   */
  checkInvariants(): void {
    let frames = 0;
    let leaves = 0;
    const check = (chunk: number, leaf: Leaf): void => {
      leaves++;
      if (leaf.length !== LEAF_FRAMES) throw new Error(`directory leaf ${chunk} has ${leaf.length} slots`);
      for (let i = 0; i < LEAF_FRAMES; i++) {
        const w = leaf[i];
        if (w === undefined) continue;
        frames++;
        const frameNo = chunk * LEAF_FRAMES + i;
        if (w.length !== FRAME_WORDS) throw new Error(`frame ${formatPhysical(frameNo * FRAME_BYTES)} backing has ${w.length} words`);
        if (!this.isRamFrame(frameNo)) throw new Error(`frame ${formatPhysical(frameNo * FRAME_BYTES)} is backed but not RAM`);
      }
    };
    if (this.dense) this.dense.forEach((leaf, c) => check(c, leaf));
    else this.sparse!.forEach((leaf, c) => check(c, leaf));
    if (frames !== this.backed) throw new Error(`backed-frame counter ${this.backed} != ${frames} frames in the directory`);
    if (leaves !== this.leafCount) throw new Error(`leaf counter ${this.leafCount} != ${leaves} leaves`);
    for (let i = 1; i < this.ramRanges.length; i++) {
      const a = this.ramRanges[i - 1]!;
      if (a.base + a.lengthBytes >= this.ramRanges[i]!.base) throw new Error(`RAM ranges ${i - 1} and ${i} are not sorted and disjoint`);
    }
  }

  // --- internals -----------------------------------------------------------------------------

  /** Backing of the frame containing `pa`, or undefined (also for any malformed `pa`). */
  private lookup(pa: number): Uint32Array | undefined {
    // Anything but a number (a bigint, a string) misses, so checkAccess reports it typed.
    if (typeof pa !== 'number') return undefined;
    // pa & 0xfff is exact for any non-negative safe integer (ToInt32 keeps the low bits). A
    // negative, fractional or non-finite pa yields a non-index key below and misses. The sizes
    // are literals (FRAME_BYTES, LEAF_FRAMES), multiplied by their exact reciprocals: a bundled
    // module const is a variable to V8, and dividing by a variable is a real division on every
    // access to memory.
    const frameNo = (pa - (pa & 0xfff)) * (1 / 4096);
    // Truncation, not Math.floor: exact for every frame number below 2^41 (pa below 2^53), and
    // Math.floor's rounding and integer check sat on every access's chain. A frame number past
    // that wraps to a chunk whose leaf index below falls outside [0, 1024): still a miss.
    const chunk = (frameNo * (1 / 1024)) | 0;
    const dense = this.dense;
    const leaf = dense !== null ? dense[chunk] : this.sparse!.get(chunk);
    return leaf === undefined ? undefined : leaf[frameNo - chunk * 1024];
  }

  private leafAt(chunk: number): Leaf | undefined {
    return this.dense ? this.dense[chunk] : this.sparse!.get(chunk);
  }

  private createBacking(frame: number): Uint32Array {
    const frameNo = frame / FRAME_BYTES;
    const chunk = Math.floor(frameNo / LEAF_FRAMES);
    let leaf = this.leafAt(chunk);
    if (leaf === undefined) {
      leaf = new Array<Uint32Array | undefined>(LEAF_FRAMES).fill(undefined);
      if (this.dense) this.dense[chunk] = leaf;
      else this.sparse!.set(chunk, leaf);
      this.leafCount++;
    }
    let w = leaf[frameNo - chunk * LEAF_FRAMES];
    if (w === undefined) {
      w = this.spare.pop();
      if (w !== undefined) w.fill(0);
      else {
        if (this.poolUsed === POOL_FRAMES) {
          this.pool = new ArrayBuffer(POOL_FRAMES * FRAME_BYTES);
          this.poolUsed = 0;
          this.poolCount++;
        }
        w = new Uint32Array(this.pool!, this.poolUsed++ * FRAME_BYTES, FRAME_WORDS);
      }
      leaf[frameNo - chunk * LEAF_FRAMES] = w;
      this.backed++;
    }
    return w;
  }

  private isRamFrame(frameNo: number): boolean {
    // Binary search for the last range starting at or before frameNo.
    let lo = 0;
    let hi = this.rangeFirst.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rangeFirst[mid]! <= frameNo) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && frameNo < this.rangeEnd[hi]!;
  }

  /** Validates an access of `accessBytes` (1, 4 or a whole frame) at `pa`; throws if refused. */
  private checkAccess(pa: number, accessBytes: number, isWrite: boolean): void {
    if (!Number.isSafeInteger(pa) || pa < 0 || pa >= this.paLimit) {
      throw new InvalidPhysicalAddressError(pa, `not a non-negative integer below 2^${this.maxPhysAddrBits} (MAXPHYADDR)`);
    }
    const align = accessBytes === FRAME_BYTES ? 0xfff : accessBytes - 1;
    if ((pa & align) !== 0) throw new InvalidPhysicalAddressError(pa, `not ${accessBytes === FRAME_BYTES ? '4 KiB' : `${accessBytes}-byte`} aligned`);
    if (!this.isRamFrame((pa - (pa & 0xfff)) / FRAME_BYTES)) throw new BusError(pa, accessBytes, isWrite);
  }

  private checkRange(pa: number, lengthBytes: number, isWrite: boolean): void {
    if (!Number.isSafeInteger(lengthBytes) || lengthBytes < 0) throw new InvalidPhysicalAddressError(pa, `length ${show(lengthBytes)} is not a non-negative safe integer`);
    if (!Number.isSafeInteger(pa) || pa < 0 || pa + lengthBytes > this.paLimit) {
      throw new InvalidPhysicalAddressError(pa, `range of ${lengthBytes} bytes is not below 2^${this.maxPhysAddrBits} (MAXPHYADDR)`);
    }
    for (let at = pa - (pa & 0xfff); at < pa + lengthBytes; at += FRAME_BYTES) {
      if (!this.isRamFrame(at / FRAME_BYTES)) throw new BusError(Math.max(at, pa), 1, isWrite);
    }
  }
}
