// A flat block of emulated RAM starting at physical address 0, backed by one ArrayBuffer.
// Its bytes ARE the machine's physical memory image: page tables built in it can be dumped and
// loaded by an emulator unchanged (x86 is little-endian; so are all JS engines we run on, and
// Uint32Array uses the platform's byte order — checked at construction).
import { InvalidOptionError, InvalidSizeError, PhysicalAccessError, type PhysicalMemory } from './api';
import { brand } from './brand';

const FRAME = 4096;

/** Options of {@link ArrayBufferPhysicalMemory}. */
export interface ArrayBufferPhysicalMemoryOptions {
  /** Bytes of RAM, a positive multiple of 4096 (at most 2^31 on most engines). */
  readonly sizeBytes: number;
}

/**
 * Physical memory `[0, sizeBytes)` in one ArrayBuffer, zero-filled at creation.
 * Accesses outside it throw {@link PhysicalAccessError} (a caller bug, never a fault).
 */
export class ArrayBufferPhysicalMemory implements PhysicalMemory {
  static {
    brand(this, 'ArrayBufferPhysicalMemory'); // instanceof across the import and require copies (brand.ts)
  }
  /** Bytes of RAM. */
  readonly sizeBytes: number;
  /** Every byte of memory, live (index = pa). The exportable raw image. */
  readonly bytes: Uint8Array;
  /** Every 32-bit word of memory, live (index = pa / 4). Little-endian words. */
  readonly words: Uint32Array;
  /**
   * Lazily created per-frame views, so `frameWords` allocates once per frame, not per call. One
   * slot per frame, filled densely at construction: an array first written at scattered indices
   * falls into V8's dictionary mode (measured ~230 ns per `frameWords` call instead of a few).
   */
  private readonly views: (Uint32Array | undefined)[] = [];

  /**
   * @throws InvalidSizeError unless `sizeBytes` is a positive multiple of 4096
   */
  constructor(options: ArrayBufferPhysicalMemoryOptions | number) {
    const sizeBytes = typeof options === 'number' ? options : options.sizeBytes;
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % FRAME !== 0) {
      throw new InvalidSizeError('sizeBytes', sizeBytes, 'must be a positive multiple of 4096');
    }
    const buffer = new ArrayBuffer(sizeBytes);
    this.sizeBytes = sizeBytes;
    this.bytes = new Uint8Array(buffer);
    this.words = new Uint32Array(buffer);
    this.words[0] = 0x04030201;
    if (this.bytes[0] !== 1) throw new Error('ArrayBufferPhysicalMemory needs a little-endian host');
    this.words[0] = 0;
    for (let n = sizeBytes / FRAME; n > 0; n--) this.views.push(undefined);
  }

  /** Number of 4 KiB frames in memory. */
  get frameCount(): number {
    return this.sizeBytes / FRAME;
  }

  /**
   * @throws PhysicalAccessError if `pa` is misaligned or outside memory
   */
  read32(pa: number): number {
    if (typeof pa !== 'number' || !(pa >= 0 && pa < this.sizeBytes) || (pa & 3) !== 0 || !Number.isInteger(pa)) throw new PhysicalAccessError(pa, 4);
    return this.words[pa / 4]!;
  }

  /**
   * @throws PhysicalAccessError if `pa` is misaligned or outside memory
   */
  write32(pa: number, value: number): void {
    if (typeof pa !== 'number' || !(pa >= 0 && pa < this.sizeBytes) || (pa & 3) !== 0 || !Number.isInteger(pa)) throw new PhysicalAccessError(pa, 4);
    this.words[pa / 4] = value;
  }

  /**
   * @throws PhysicalAccessError if `pa` is outside memory
   */
  read8(pa: number): number {
    if (typeof pa !== 'number' || !(pa >= 0 && pa < this.sizeBytes) || !Number.isInteger(pa)) throw new PhysicalAccessError(pa, 1);
    return this.bytes[pa]!;
  }

  /**
   * @throws PhysicalAccessError if `pa` is outside memory
   */
  write8(pa: number, value: number): void {
    if (typeof pa !== 'number' || !(pa >= 0 && pa < this.sizeBytes) || !Number.isInteger(pa)) throw new PhysicalAccessError(pa, 1);
    this.bytes[pa] = value;
  }

  /**
   * Live view of the frame's 1024 words; the same object is returned on every call for a frame.
   * @throws PhysicalAccessError if `frame` is misaligned or outside memory
   */
  frameWords(frame: number): Uint32Array {
    if (typeof frame !== 'number') throw new PhysicalAccessError(frame, FRAME);
    const n = frame / FRAME;
    const v = this.views[n];
    if (v !== undefined) return v;
    if (!(frame >= 0 && frame < this.sizeBytes) || frame % FRAME !== 0) throw new PhysicalAccessError(frame, FRAME);
    const view = this.words.subarray(frame / 4, frame / 4 + 1024);
    this.views[n] = view;
    return view;
  }

  /**
   * @throws PhysicalAccessError if `frame` is misaligned or outside memory
   */
  zeroFrame(frame: number): void {
    if (typeof frame !== 'number' || !(frame >= 0 && frame < this.sizeBytes) || frame % FRAME !== 0) throw new PhysicalAccessError(frame, FRAME);
    this.words.fill(0, frame / 4, frame / 4 + 1024);
  }

  /**
   * A copy of `[pa, pa + sizeBytes)`: the raw image (page tables included) for an emulator or a file.
   * @throws PhysicalAccessError if the range is outside memory
   */
  exportBytes(pa = 0, sizeBytes = this.sizeBytes - pa): Uint8Array {
    if (!Number.isSafeInteger(pa) || !Number.isSafeInteger(sizeBytes) || pa < 0 || sizeBytes < 0 || pa + sizeBytes > this.sizeBytes) {
      throw new PhysicalAccessError(pa, sizeBytes);
    }
    return this.bytes.slice(pa, pa + sizeBytes);
  }

  /**
   * Copies `data` into memory at `pa` (e.g. to load an image saved with `exportBytes`).
   * @throws PhysicalAccessError if the range is outside memory
   * @throws InvalidOptionError if `data` is not a Uint8Array
   */
  importBytes(pa: number, data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw new InvalidOptionError('data', data, 'must be a Uint8Array');
    if (!Number.isSafeInteger(pa) || pa < 0 || pa + data.length > this.sizeBytes) throw new PhysicalAccessError(pa, data.length);
    this.bytes.set(data, pa);
  }
}
