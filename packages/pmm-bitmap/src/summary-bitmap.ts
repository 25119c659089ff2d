/**
 * Index of the lowest set bit of a non-zero 32-bit value (count trailing zeros).
 * `m & -m` isolates the lowest set bit; clz32 of it gives 31 - position.
 */
export function ctz32(m: number): number {
  return 31 - Math.clz32(m & -m);
}

/** Number of set bits in a 32-bit value (SWAR popcount). */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * A bit set with a summary tree above it: level 0 holds the bits, each bit of level k+1 says
 * "word i of level k is not zero", up to a level of one word. Finding the lowest set bit at or
 * after any index then costs one word per level (log32 n: 5 words for 2^24 bits), whatever the
 * density, which is what keeps a nearly full allocator fast. Nothing here knows about frames.
 *
 * Bits are held in Int32Array words (bit i of word i >>> 5), so hot-path values stay small
 * integers in V8 rather than doubles.
 */
export class SummaryBitmap {
  /** `levels[0]` is the bit set; `levels[k + 1]` summarises the words of `levels[k]`. */
  readonly levels: Int32Array[];
  /** Number of bits at level 0. Bits at or past it are never set. */
  readonly bitCount: number;

  /** Makes an all-clear set of `bitCount` bits (>= 0). */
  constructor(bitCount: number) {
    this.bitCount = bitCount;
    const levels: Int32Array[] = [];
    let n = Math.max(bitCount, 1);
    for (;;) {
      const words = Math.ceil(n / 32);
      levels.push(new Int32Array(words));
      if (words === 1) break;
      n = words;
    }
    this.levels = levels;
  }

  /** Whether bit `i` is set. */
  has(i: number): boolean {
    return ((this.levels[0]![i >>> 5]! >>> (i & 31)) & 1) === 1;
  }

  /** Sets bit `i`, and the summary bits above it that were clear. */
  set(i: number): void {
    const levels = this.levels;
    for (let k = 0; k < levels.length; k++) {
      const a = levels[k]!;
      const w = i >>> 5;
      const old = a[w]!;
      const nv = old | (1 << (i & 31));
      if (nv === old) return;
      a[w] = nv;
      if (old !== 0) return;
      i = w;
    }
  }

  /** Clears bit `i`, and the summary bits above it whose word became zero. */
  clear(i: number): void {
    const levels = this.levels;
    for (let k = 0; k < levels.length; k++) {
      const a = levels[k]!;
      const w = i >>> 5;
      const old = a[w]!;
      const nv = old & ~(1 << (i & 31));
      if (nv === old) return;
      a[w] = nv;
      if (nv !== 0) return;
      i = w;
    }
  }

  /** Index of the lowest set bit at or after `i`, or -1. Climbs only as far as it must. */
  nextSet(i: number): number {
    if (i >= this.bitCount) return -1;
    const levels = this.levels;
    const top = levels.length - 1;
    let k = 0;
    let idx = i;
    for (;;) {
      const a = levels[k]!;
      const w = idx >>> 5;
      if (w >= a.length) return -1;
      const m = a[w]! & (-1 << (idx & 31));
      if (m !== 0) {
        idx = (w << 5) + ctz32(m);
        break;
      }
      if (k === top) return -1;
      idx = w + 1;
      k++;
    }
    while (k > 0) {
      k--;
      idx = (idx << 5) + ctz32(levels[k]![idx]!);
    }
    return idx;
  }

  /** Recomputes every summary level from level 0 (after level 0 was written in bulk). */
  rebuildSummary(): void {
    const levels = this.levels;
    for (let k = 1; k < levels.length; k++) {
      const below = levels[k - 1]!;
      const a = levels[k]!;
      a.fill(0);
      for (let w = 0; w < below.length; w++) if (below[w] !== 0) a[w >>> 5]! |= 1 << (w & 31);
    }
  }

  /** Throws a description of the first summary bit that disagrees with the level below, or returns null. */
  findInconsistency(): string | null {
    const levels = this.levels;
    const base = levels[0]!;
    for (let i = this.bitCount; i < base.length * 32; i++) {
      if (((base[i >>> 5]! >>> (i & 31)) & 1) === 1) return `bit ${i} past the end (${this.bitCount}) is set`;
    }
    for (let k = 1; k < levels.length; k++) {
      const below = levels[k - 1]!;
      const a = levels[k]!;
      for (let w = 0; w < a.length * 32; w++) {
        const want = w < below.length && below[w] !== 0;
        const got = ((a[w >>> 5]! >>> (w & 31)) & 1) === 1;
        if (want !== got) return `summary level ${k} bit ${w} is ${got ? 1 : 0}, the word below says ${want ? 1 : 0}`;
      }
    }
    return null;
  }
}
