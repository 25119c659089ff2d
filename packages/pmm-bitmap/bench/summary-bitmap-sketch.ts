// The yardstick of issue 19: a plain three-level summary bitmap in about 60 lines, lowest free
// frame first, no hint, no checks. Level 0 has one bit per frame (1 = in use); each level above
// has one bit per word of the level below, set while that word has a free frame; the top level
// (at most 32 words here) is scanned. Every reader can check it, and kmem should beat it.
export class SummaryBitmapSketch {
  private readonly l0: Int32Array;
  private readonly l1: Int32Array;
  private readonly l2: Int32Array;
  private readonly top: Int32Array;

  /** `frameCount` frames (a multiple of 32^3), all free but frame 0. */
  constructor(frameCount: number) {
    this.l0 = new Int32Array(frameCount >>> 5);
    this.l1 = new Int32Array(frameCount >>> 10).fill(-1);
    this.l2 = new Int32Array(frameCount >>> 15).fill(-1);
    this.top = new Int32Array(Math.max(1, frameCount >>> 20)).fill(-1);
    this.alloc();
  }

  /** Lowest free frame, marked used, or -1. */
  alloc(): number {
    const { l0, l1, l2, top } = this;
    let t = 0;
    while (t < top.length && top[t] === 0) t++;
    if (t === top.length) return -1;
    const w2 = (t << 5) + (31 - Math.clz32(top[t]! & -top[t]!));
    const w1 = (w2 << 5) + (31 - Math.clz32(l2[w2]! & -l2[w2]!));
    const w0 = (w1 << 5) + (31 - Math.clz32(l1[w1]! & -l1[w1]!));
    const x = l0[w0]!;
    const bit = ~x & (x + 1);
    const nx = x | bit;
    l0[w0] = nx;
    if (nx === -1) {
      const m1 = (l1[w1] = l1[w1]! & ~(1 << (w0 & 31)));
      if (m1 === 0 && (l2[w2] = l2[w2]! & ~(1 << (w1 & 31))) === 0) top[t] = top[t]! & ~(1 << (w2 & 31));
    }
    return (w0 << 5) + (31 - Math.clz32(bit));
  }

  /** Frees frame `f` (no checks: a yardstick, not an allocator). */
  free(f: number): void {
    const w0 = f >>> 5;
    const x = this.l0[w0]!;
    this.l0[w0] = x & ~(1 << (f & 31));
    if (x === -1) {
      const w1 = w0 >>> 5;
      const w2 = w1 >>> 5;
      this.l1[w1] = this.l1[w1]! | (1 << (w0 & 31));
      this.l2[w2] = this.l2[w2]! | (1 << (w1 & 31));
      this.top[w2 >>> 5] = this.top[w2 >>> 5]! | (1 << (w2 & 31));
    }
  }
}
