// The peer most hobby kernels start with: a flat bitmap (1 = in use) and one hint, the lowest
// word that may hold a free frame. Lowest-free-first like @kmem/pmm-bitmap, no summary, so a
// search scans words from the hint. Written here for the benchmark only.
export class FlatBitmap {
  readonly words: Int32Array;
  private hint = 0;

  constructor(readonly frameCount: number) {
    this.words = new Int32Array(Math.ceil(frameCount / 32));
    const tail = frameCount & 31;
    if (tail !== 0) this.words[this.words.length - 1] = -1 << tail;
  }

  /** Lowest free frame, marked used, or -1. */
  alloc(): number {
    const words = this.words;
    for (let w = this.hint; w < words.length; w++) {
      const x = words[w]!;
      if (x !== -1) {
        const bit = ~x & (x + 1);
        words[w] = x | bit;
        this.hint = w;
        return (w << 5) + 31 - Math.clz32(bit);
      }
    }
    this.hint = words.length;
    return -1;
  }

  free(f: number): void {
    const w = f >>> 5;
    this.words[w]! &= ~(1 << (f & 31));
    if (w < this.hint) this.hint = w;
  }

  set(f: number): void {
    this.words[f >>> 5]! |= 1 << (f & 31);
  }

  /** First used frame in [s, e), or -1. */
  private firstUsed(s: number, e: number): number {
    const words = this.words;
    for (let f = s; f < e; ) {
      const w = f >>> 5;
      const m = words[w]! & (-1 << (f & 31));
      if (m !== 0) {
        const u = (w << 5) + 31 - Math.clz32(m & -m);
        return u < e ? u : -1;
      }
      f = (w + 1) << 5;
    }
    return -1;
  }

  /** First fit of n frames aligned to a frames below maxFrame, scanning from the hint. */
  allocRun(n: number, a: number, maxFrame: number): number {
    const words = this.words;
    let f = this.hint << 5;
    for (;;) {
      // next free frame at or after f
      let w = f >>> 5;
      let m = ~words[w]! & (-1 << (f & 31));
      while (m === 0) {
        w++;
        if (w >= words.length) return -1;
        m = ~words[w]!;
      }
      f = (w << 5) + 31 - Math.clz32(m & -m);
      const s = Math.ceil(f / a) * a;
      if (s + n > maxFrame) return -1;
      const u = this.firstUsed(s, s + n);
      if (u < 0) {
        for (let i = s; i < s + n; i++) this.set(i);
        return s;
      }
      f = u + 1;
    }
  }

  freeRun(s: number, n: number): void {
    for (let i = s; i < s + n; i++) this.free(i);
  }

  /** Sets or clears frames [s, e) a word at a time. */
  private range(s: number, e: number, used: boolean): void {
    for (let f = s; f < e; ) {
      const w = f >>> 5;
      if ((f & 31) === 0 && f + 32 <= e) {
        const we = (e >>> 5) - 0;
        this.words.fill(used ? -1 : 0, w, we);
        f = we << 5;
        continue;
      }
      if (used) this.set(f);
      else this.words[w]! &= ~(1 << (f & 31));
      f++;
    }
  }

  /** Builds from frame ranges: all used, then `free` cleared, then `used` set. */
  paint(free: readonly (readonly [number, number])[], used: readonly (readonly [number, number])[]): void {
    this.words.fill(-1);
    for (const [s, e] of free) this.range(s, Math.min(e, this.frameCount), false);
    for (const [s, e] of used) this.range(s, Math.min(e, this.frameCount), true);
    this.hint = 0;
  }
}
