// The in-use index experiment behind issue 19's virt-alloc work, NOT the package's allocator:
// the package's own free-interval index (src/free-index.ts: free intervals in leaves of 32 under an
// 8-ary max-tree) with the in-use blocks in an open-addressing hash from start to end, or (denseLimit)
// in one flat array of block lengths indexed by page, instead of the package's page radix tree.
// Only alloc(pageCount) (lowest fitting address) and free(start) of a whole block, no tags, no
// validation. Units are pages. bench/contenders/free-interval-sketch.ts runs it on bench/mix.ts,
// after checking on a random mix that it returns what VirtualAllocator returns.
import { FreeIndex } from '../src/free-index';

export class FreeIntervalSketch {
  private readonly fi: FreeIndex;
  // In-use blocks: keys (start + 1, 0 = empty) and ends.
  private hk = new Float64Array(1 << 18);
  private hv = new Float64Array(1 << 18);
  private hmask = (1 << 18) - 1;
  private used = 0;
  /**
   * The experiment's other index for in-use blocks: block length by start page in one flat array
   * (only for spaces below `denseLimit` pages; 0 = no in-use block starts here). Neighbouring
   * blocks share cache lines, where the hash scatters them.
   */
  private readonly dense: Int32Array | null;

  constructor(start: number, end: number, denseLimit = 0) {
    this.dense = denseLimit > 0 ? new Int32Array(denseLimit) : null;
    this.fi = new FreeIndex(start, end);
  }

  /** Lowest start of `pages` free pages, now in use; -1 if none. */
  alloc(pages: number): number {
    const k = this.fi.findAnywhere(pages);
    if (k < 0) return -1;
    const a = this.fi.foundAddr;
    this.fi.carve(k, a, a + pages);
    this.hashPut(a, a + pages);
    return a;
  }

  /** Frees the in-use block starting at `a`. */
  free(a: number): void {
    const e = this.hashTake(a);
    if (e < 0) throw new Error(`not an in-use block start: ${a}`);
    this.fi.insert(a, e);
  }

  get usedBlocks(): number {
    return this.used;
  }

  // ---- in-use hash (linear probing, backward-shift deletion)

  private slotOf(a: number): number {
    // a >>> 0 is a mod 2^32 for any safe integer; the high part by a division (no fmod).
    return Math.imul((a >>> 0) ^ (a / 0x1_0000_0000), 0x9e3779b1) >>> 8;
  }

  private hashPut(a: number, e: number): void {
    const dense = this.dense;
    if (dense !== null) {
      if (a >= dense.length) throw new Error(`dense index: page ${a} past ${dense.length}`);
      dense[a] = e - a;
      this.used++;
      return;
    }
    if (2 * (this.used + 1) > this.hk.length) this.rehash();
    const hk = this.hk;
    let i = this.slotOf(a) & this.hmask;
    while (hk[i] !== 0) i = (i + 1) & this.hmask;
    hk[i] = a + 1;
    this.hv[i] = e;
    this.used++;
  }

  private rehash(): void {
    const { hk, hv } = this;
    this.hk = new Float64Array(hk.length * 2);
    this.hv = new Float64Array(hk.length * 2);
    this.hmask = hk.length * 2 - 1;
    this.used = 0;
    for (let i = 0; i < hk.length; i++) if (hk[i] !== 0) this.hashPut(hk[i]! - 1, hv[i]!);
  }

  private hashTake(a: number): number {
    const dense = this.dense;
    if (dense !== null) {
      const n = a < dense.length ? dense[a]! : 0;
      if (n === 0) return -1;
      dense[a] = 0;
      this.used--;
      return a + n;
    }
    const hk = this.hk;
    const mask = this.hmask;
    let i = this.slotOf(a) & mask;
    for (;;) {
      const k = hk[i]!;
      if (k === 0) return -1;
      if (k === a + 1) break;
      i = (i + 1) & mask;
    }
    const e = this.hv[i]!;
    // Backward-shift deletion: move later entries of the run into the hole when their home allows.
    let hole = i;
    for (let j = (i + 1) & mask; hk[j] !== 0; j = (j + 1) & mask) {
      const home = this.slotOf(hk[j]! - 1) & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        hk[hole] = hk[j]!;
        this.hv[hole] = this.hv[j]!;
        hole = j;
      }
    }
    hk[hole] = 0;
    this.used--;
    return e;
  }
}
