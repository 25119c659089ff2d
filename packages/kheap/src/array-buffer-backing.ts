import { BackingError, PAGE_SIZE, type HeapBacking } from './api';
import { hex, show } from './hex';
import { brand } from './brand';

/** Options of {@link ArrayBufferBacking}. */
export interface ArrayBufferBackingOptions {
  /** Address of the first byte (page aligned; may be above 2^32). @defaultValue 0xffff_c900_0000_0000 in canonical form (linear 0xc900_0000_0000), Linux's vmalloc base */
  base?: number;
  /** Largest number of bytes the heap may hold at once (a page multiple, at most 2^31). @defaultValue 16 MiB */
  maxBytes?: number;
  /**
   * Memory to use (at least `maxBytes` long). Pass one buffer to several backings in turn to reuse
   * memory that is already touched (benchmarks do); its contents are not cleared.
   */
  buffer?: ArrayBuffer;
}

/**
 * A {@link HeapBacking} over one ArrayBuffer: works alone and in a browser. Pages are handed out
 * lowest address first (so the heap grows contiguously upward from `base` until it returns pages),
 * and it exposes the `words32()` fast view.
 */
export class ArrayBufferBacking implements HeapBacking {
  static {
    brand(this, 'ArrayBufferBacking'); // instanceof across the import and require copies (brand.ts)
  }
  readonly base: number;
  readonly limitBytes: number;
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;
  /** 1 for every page currently handed out. */
  private readonly held: Uint8Array;
  private heldPages = 0;
  /** No free page below this index (a search hint). */
  private lowestFree = 0;

  /** @throws {@link BackingError} `E_BACKING` when options, base, maxBytes or buffer are unusable (not an object, a BigInt or string for a number, a buffer that is not an ArrayBuffer). */
  constructor(options: ArrayBufferBackingOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new BackingError('options must be an object');
    // Only `undefined` means "the default": a null is as wrong as any other non-number.
    const base = options.base === undefined ? 0xc900_0000_0000 : options.base;
    const maxBytes = options.maxBytes === undefined ? 16 * 1024 * 1024 : options.maxBytes;
    // Number.isSafeInteger is false for a BigInt or a string, so nothing below mixes types.
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0 || maxBytes % PAGE_SIZE !== 0 || maxBytes > 2 ** 31) {
      throw new BackingError(`maxBytes ${show(maxBytes)} must be a positive page multiple of at most 2^31`);
    }
    if (!Number.isSafeInteger(base) || base < 0 || base % PAGE_SIZE !== 0 || base + maxBytes > 2 ** 48) {
      throw new BackingError(`base ${show(base)} must be a page-aligned 48-bit address`);
    }
    const given: unknown = options.buffer;
    if (given !== undefined && !(given instanceof ArrayBuffer)) throw new BackingError('buffer must be an ArrayBuffer');
    const buffer = given === undefined ? new ArrayBuffer(maxBytes) : given;
    if (buffer.byteLength < maxBytes) throw new BackingError(`buffer of ${buffer.byteLength} bytes is smaller than maxBytes ${maxBytes}`);
    this.base = base;
    this.limitBytes = maxBytes;
    this.words = new Int32Array(buffer, 0, maxBytes / 4);
    this.bytes = new Uint8Array(buffer, 0, maxBytes);
    this.held = new Uint8Array(maxBytes / PAGE_SIZE);
  }

  /** Pages handed out and not yet returned. */
  get pagesHeld(): number {
    return this.heldPages;
  }

  read32(va: number): number {
    return this.words[(va - this.base) / 4]!;
  }

  write32(va: number, value: number): void {
    this.words[(va - this.base) / 4] = value;
  }

  read8(va: number): number {
    return this.bytes[va - this.base]!;
  }

  write8(va: number, value: number): void {
    this.bytes[va - this.base] = value;
  }

  /** The whole region as 32-bit words (index `(va - base) / 4`). */
  words32(): Int32Array {
    return this.words;
  }

  /** Lowest-address first fit over a page bitmap. Returns `null` when no run of that many pages is free. */
  grow(minBytes: number): number | null {
    if (!Number.isSafeInteger(minBytes) || minBytes <= 0 || minBytes % PAGE_SIZE !== 0) {
      throw new BackingError(`grow(${show(minBytes)}): size must be a positive page multiple`);
    }
    const want = minBytes / PAGE_SIZE;
    const held = this.held;
    const n = held.length;
    let run = 0;
    for (let i = this.lowestFree; i < n; i++) {
      if (held[i] === 1) {
        run = 0;
        continue;
      }
      run++;
      if (run === want) {
        const first = i - want + 1;
        held.fill(1, first, i + 1);
        this.heldPages += want;
        if (first === this.lowestFree) {
          let j = i + 1;
          while (j < n && held[j] === 1) j++;
          this.lowestFree = j;
        }
        return this.base + first * PAGE_SIZE;
      }
    }
    return null;
  }

  /** @throws {@link BackingError} when the range is misaligned or not (entirely) held. */
  shrink(va: number, sizeBytes: number): void {
    if (typeof va !== 'number' || typeof sizeBytes !== 'number') throw new BackingError(`shrink(${show(va)}, ${show(sizeBytes)}): not numbers`);
    const off = va - this.base;
    if (!Number.isSafeInteger(off) || off < 0 || off % PAGE_SIZE !== 0 || sizeBytes <= 0 || sizeBytes % PAGE_SIZE !== 0 || off + sizeBytes > this.limitBytes) {
      throw new BackingError(`shrink(${hex(va)}, ${show(sizeBytes)}): not a page range of this backing`);
    }
    const first = off / PAGE_SIZE;
    const count = sizeBytes / PAGE_SIZE;
    for (let i = first; i < first + count; i++) {
      if (this.held[i] !== 1) throw new BackingError(`shrink: page ${hex(this.base + i * PAGE_SIZE)} is not held`);
    }
    this.held.fill(0, first, first + count);
    this.heldPages -= count;
    if (first < this.lowestFree) this.lowestFree = first;
  }

  /** Throws {@link BackingError} if the page count disagrees with the bitmap. */
  checkInvariants(): void {
    let count = 0;
    for (let i = 0; i < this.held.length; i++) {
      count += this.held[i]!;
      if (i < this.lowestFree && this.held[i] !== 1) throw new BackingError(`page ${i} free below the search hint ${this.lowestFree}`);
    }
    if (count !== this.heldPages) throw new BackingError(`${count} pages marked held but ${this.heldPages} counted`);
  }
}
