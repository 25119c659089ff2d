// How the heap touches its memory. Inside the heap every address is an OFFSET from the backing's
// base (0 .. 2^31), so 32-bit words can hold links; the backing sees absolute addresses.
import type { HeapBacking } from './api';

/** Word and byte access to the managed memory by offset from the region base. */
export interface Mem {
  /** Signed 32-bit word at `off` (4-aligned). */
  rd(off: number): number;
  wr(off: number, value: number): void;
  /**
   * Signed 32-bit word number `q` (at offset `q * 4`): the same words as {@link rd}, for the TLSF's
   * fast paths, which index a block's header words from `b >> 2` once (less bytecode than a
   * shift per access, which keeps them small enough for V8 to inline).
   */
  rdw(q: number): number;
  wrw(q: number, value: number): void;
  rd8(off: number): number;
  wr8(off: number, value: number): void;
  /** Sets `len` bytes from `off` to `value`. */
  fill8(off: number, len: number, value: number): void;
  /** Copies `len` bytes from `src` to `dst` (non-overlapping). */
  copy(dst: number, src: number, len: number): void;
}

/** Fast path: typed-array views of the whole region (ArrayBufferBacking). */
export class ViewMem implements Mem {
  private readonly bytes: Uint8Array;
  /** @param words - the whole region as words (index = offset / 4); the heap's direct-access TLSF reads it too. */
  constructor(readonly words: Int32Array) {
    this.bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  }
  rd(off: number): number {
    return this.words[off >> 2]!;
  }
  wr(off: number, value: number): void {
    this.words[off >> 2] = value;
  }
  rdw(q: number): number {
    return this.words[q]!;
  }
  wrw(q: number, value: number): void {
    this.words[q] = value;
  }
  rd8(off: number): number {
    return this.bytes[off]!;
  }
  wr8(off: number, value: number): void {
    this.bytes[off] = value;
  }
  fill8(off: number, len: number, value: number): void {
    this.bytes.fill(value, off, off + len);
  }
  copy(dst: number, src: number, len: number): void {
    this.bytes.copyWithin(dst, src, src + len);
  }
}

/** Port path: every access goes through the backing's read/write calls (kernel-sim maps them through page tables). */
export class PortMem implements Mem {
  constructor(
    private readonly backing: HeapBacking,
    private readonly base: number,
  ) {}
  rd(off: number): number {
    return this.backing.read32(this.base + off) | 0;
  }
  wr(off: number, value: number): void {
    this.backing.write32(this.base + off, value);
  }
  rdw(q: number): number {
    return this.rd(q * 4);
  }
  wrw(q: number, value: number): void {
    this.wr(q * 4, value);
  }
  rd8(off: number): number {
    return this.backing.read8(this.base + off) & 0xff;
  }
  wr8(off: number, value: number): void {
    this.backing.write8(this.base + off, value);
  }
  fill8(off: number, len: number, value: number): void {
    let i = 0;
    // Bytes up to a word boundary, then whole words, then the tail.
    while (i < len && ((off + i) & 3) !== 0) this.wr8(off + i++, value);
    const word = (value & 0xff) * 0x01010101;
    for (; i + 4 <= len; i += 4) this.wr(off + i, word);
    while (i < len) this.wr8(off + i++, value);
  }
  copy(dst: number, src: number, len: number): void {
    let i = 0;
    if (((dst | src) & 3) === 0) for (; i + 4 <= len; i += 4) this.wr(dst + i, this.rd(src + i));
    for (; i < len; i++) this.wr8(dst + i, this.rd8(src + i));
  }
}

/** Picks the fast view when the backing offers one. */
export function memFor(backing: HeapBacking): Mem {
  return backing.words32 ? new ViewMem(backing.words32()) : new PortMem(backing, backing.base);
}
