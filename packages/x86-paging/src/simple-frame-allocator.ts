// The simplest FrameAllocator that is still honest: a bump counter over a range of frames plus a
// LIFO free list, with one state byte per frame so double frees and foreign frees are caught.
// Enough to use and test this package alone; kernel-sim plugs in @kmem/pmm-bitmap instead.
import { show } from './show-value';
import { DoubleFreeError, FrameNotOwnedError, InvalidAddressError, InvalidSizeError, InvariantViolationError, MisalignedAddressError, type FrameAllocator } from './api';
import { brand } from './brand';

const FRAME = 4096;
const MAX_FRAME_COUNT = 2 ** 28;

/** Options of {@link SimpleFrameAllocator}. */
export interface SimpleFrameAllocatorOptions {
  /** Physical address of the first frame it hands out (4 KiB aligned). */
  readonly start: number;
  /** Number of frames from `start` it manages (a positive integer). */
  readonly frameCount: number;
}

/**
 * Counter + free-list frame allocator over `[start, start + frameCount * 4096)`.
 * `allocFrame()` reuses the most recently freed frame first, else takes the next never-used one.
 * O(1) per call; one byte of host memory per frame managed.
 */
export class SimpleFrameAllocator implements FrameAllocator {
  static {
    brand(this, 'SimpleFrameAllocator'); // instanceof across the import and require copies (brand.ts)
  }
  /** Physical address of the first frame managed. */
  readonly start: number;
  /** Frames managed. */
  readonly frameCount: number;
  private next = 0;
  private freeList: number[] = [];
  /** 1 = allocated, 0 = free (never used, or on the free list). */
  private readonly state: Uint8Array;
  private allocated = 0;

  /**
   * @throws MisalignedAddressError if `start` is not 4 KiB aligned
   * @throws InvalidSizeError if `frameCount` is not a positive safe integer, exceeds 2^28, or the frames reach 2^52
   */
  constructor(options: SimpleFrameAllocatorOptions) {
    const { start, frameCount } = options;
    if (!Number.isSafeInteger(start) || start < 0) throw new InvalidAddressError(show(start), 'start must be a non-negative safe integer');
    if (start % FRAME !== 0) throw new MisalignedAddressError('pa', start, FRAME);
    if (!Number.isSafeInteger(frameCount) || frameCount <= 0) throw new InvalidSizeError('frameCount', frameCount);
    // One byte of state per frame: cap it where that array stays allocatable (2^28 frames = 1 TiB).
    if (frameCount > MAX_FRAME_COUNT) throw new InvalidSizeError('frameCount', frameCount, `at most ${MAX_FRAME_COUNT} (2^28) frames: the allocator keeps one byte per frame`);
    if (start + frameCount * FRAME > 2 ** 52) throw new InvalidSizeError('frameCount', frameCount, 'the frames must lie below 2^52');
    this.start = start;
    this.frameCount = frameCount;
    this.state = new Uint8Array(frameCount);
  }

  /** Frames currently handed out. */
  get allocatedCount(): number {
    return this.allocated;
  }

  /** Frames that can still be handed out. */
  get freeCount(): number {
    return this.frameCount - this.allocated;
  }

  /** A free frame's address, or `null` when all are allocated. Contents are not zeroed. */
  allocFrame(): number | null {
    let n: number;
    if (this.freeList.length > 0) n = this.freeList.pop()!;
    else if (this.next < this.frameCount) n = this.next++;
    else return null;
    this.state[n] = 1;
    this.allocated++;
    return this.start + n * FRAME;
  }

  /**
   * Gives a frame back.
   * @throws FrameNotOwnedError if `pa` is not a frame of this allocator's range
   * @throws DoubleFreeError if the frame is already free
   */
  freeFrame(pa: number): void {
    const n = (pa - this.start) / FRAME;
    if (!Number.isInteger(n) || n < 0 || n >= this.frameCount) throw new FrameNotOwnedError(pa);
    if (this.state[n] !== 1) throw new DoubleFreeError(pa);
    this.state[n] = 0;
    this.allocated--;
    this.freeList.push(n);
  }

  /** True when the frame at `pa` is currently allocated. */
  isAllocated(pa: number): boolean {
    const n = (pa - this.start) / FRAME;
    return Number.isInteger(n) && n >= 0 && n < this.frameCount && this.state[n] === 1;
  }

  /**
   * @throws InvariantViolationError if the counters, the free list and the state bytes disagree
   */
  checkInvariants(): void {
    let live = 0;
    for (let i = 0; i < this.frameCount; i++) {
      const s = this.state[i]!;
      if (s > 1) throw new InvariantViolationError(`frame #${i} has state ${s}`);
      if (s === 1) {
        if (i >= this.next) throw new InvariantViolationError(`frame #${i} is allocated but beyond the counter ${this.next}`);
        live++;
      }
    }
    if (live !== this.allocated) throw new InvariantViolationError(`allocated count ${this.allocated} != ${live} frames marked allocated`);
    const seen = new Set<number>();
    for (const n of this.freeList) {
      if (seen.has(n)) throw new InvariantViolationError(`frame #${n} is twice on the free list`);
      seen.add(n);
      if (n >= this.next || this.state[n] !== 0) throw new InvariantViolationError(`frame #${n} on the free list is not a freed frame`);
    }
    if (this.next - this.freeList.length !== this.allocated) throw new InvariantViolationError('counter minus free list != allocated');
  }
}
