// A measured sketch of the index issue 19 suggests for virt-alloc, NOT the package's allocator:
// only alloc(pageCount) (lowest fitting address) and free(start) of a whole block, no tags, no
// take / partial free / blockAt / blocks(), no validation beyond what the loop needs. It keeps
//   - the free intervals, in address order, in leaves of up to 64 (typed arrays), the leaves in
//     address order in one array (spliced on a leaf split or removal) with a max-tree over the
//     leaves' largest free interval: first fit is one descent of that tree and one leaf scan;
//   - the in-use blocks in an open-addressing hash, start -> end (free(start) is one probe).
// Units are pages (numbers below 2^35 here). bench/contenders/free-interval-sketch.ts runs it on
// bench/mix.ts, after checking on a random mix that it returns what VirtualAllocator returns.
const CAP = 64;

export class FreeIntervalSketch {
  // Leaves: starts / ends of free intervals, slot x holds [x * CAP, x * CAP + cnt[x]).
  private fs = new Float64Array(CAP * 16);
  private fe = new Float64Array(CAP * 16);
  private cnt = new Int32Array(16);
  private lmax = new Float64Array(16);
  private slots = 0;
  private freeSlots: number[] = [];
  // Leaves in address order: ord[i] is the i-th leaf, first[i] its first start.
  private ord = new Int32Array(16);
  private first = new Float64Array(16);
  private n = 0;
  // Max-tree over positions 0..size-1 (size a power of two): tree[size + i] = lmax[ord[i]].
  private size = 16;
  private tree = new Float64Array(32);
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
    const x = this.newLeaf();
    this.fs[x * CAP] = start;
    this.fe[x * CAP] = end;
    this.cnt[x] = 1;
    this.lmax[x] = end - start;
    this.ord[0] = x;
    this.first[0] = start;
    this.n = 1;
    this.rebuildTree();
  }

  /** Lowest start of `pages` free pages, now in use; -1 if none. */
  alloc(pages: number): number {
    const tree = this.tree;
    if (tree[1]! < pages) return -1;
    let i = 1;
    while (i < this.size) i = tree[2 * i]! >= pages ? 2 * i : 2 * i + 1;
    const pos = i - this.size;
    const x = this.ord[pos]!;
    const base = x * CAP;
    const fs = this.fs;
    const fe = this.fe;
    let k = base;
    while (fe[k]! - fs[k]! < pages) k++;
    const a = fs[k]!;
    const len = fe[k]! - a;
    if (len === pages) this.removeAt(pos, x, k - base);
    else {
      fs[k] = a + pages;
      if (k === base) this.first[pos] = a + pages;
      if (len === this.lmax[x]) this.rescan(pos, x);
    }
    this.hashPut(a, a + pages);
    return a;
  }

  /** Frees the in-use block starting at `a`. */
  free(a: number): void {
    const e = this.hashTake(a);
    if (e < 0) throw new Error(`not an in-use block start: ${a}`);
    // The last leaf whose first start is <= a (or the first leaf).
    const first = this.first;
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (first[mid]! <= a) lo = mid;
      else hi = mid - 1;
    }
    const pos = lo;
    let x = this.ord[pos]!;
    const fs = this.fs;
    const fe = this.fe;
    let base = x * CAP;
    // k: index in the leaf of the first interval starting after a.
    let k = base;
    const stop = base + this.cnt[x]!;
    while (k < stop && fs[k]! < a) k++;
    const prevEnds = k > base ? fe[k - 1]! === a : pos > 0 && this.lastEnd(pos - 1) === a;
    const nextX = k < stop ? x : pos + 1 < this.n ? this.ord[pos + 1]! : -1;
    const nextK = k < stop ? k : nextX >= 0 ? nextX * CAP : -1;
    const nextStarts = nextK >= 0 && fs[nextK]! === e;
    if (prevEnds && k > base) {
      let ne = e;
      if (nextStarts) {
        ne = fe[nextK]!;
        if (nextX === x) this.removeAt(pos, x, k - base);
        else this.removeAt(pos + 1, nextX, 0);
        x = this.ord[pos]!; // removeAt keeps this leaf in place (it only removes others or entries)
        base = x * CAP;
      }
      // The interval before a is still entry k - 1 of leaf x (removals were after it).
      fe[k - 1] = ne;
      if (ne - fs[k - 1]! > this.lmax[x]!) this.setMax(pos, x, ne - fs[k - 1]!);
      return;
    }
    if (prevEnds) {
      // The interval before a is the last of the previous leaf.
      const p = this.ord[pos - 1]!;
      const pk = p * CAP + this.cnt[p]! - 1;
      let ne = e;
      if (nextStarts) {
        ne = fe[nextK]!;
        if (nextX === x) this.removeAt(pos, x, k - base);
        else this.removeAt(pos + 1, nextX, 0);
      }
      fe[pk] = ne;
      if (ne - fs[pk]! > this.lmax[p]!) this.setMax(pos - 1, p, ne - fs[pk]!);
      return;
    }
    if (nextStarts) {
      const npos = nextX === x ? pos : pos + 1;
      fs[nextK] = a;
      if (nextK === nextX * CAP) this.first[npos] = a;
      if (fe[nextK]! - a > this.lmax[nextX]!) this.setMax(npos, nextX, fe[nextK]! - a);
      return;
    }
    this.insertAt(pos, x, k - base, a, e);
  }

  get usedBlocks(): number {
    return this.used;
  }

  // ---- leaves

  private lastEnd(pos: number): number {
    const x = this.ord[pos]!;
    return this.fe[x * CAP + this.cnt[x]! - 1]!;
  }

  private newLeaf(): number {
    if (this.freeSlots.length > 0) return this.freeSlots.pop()!;
    if (this.slots === this.cnt.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T, len: number): T => {
        const b = new (a.constructor as new (n: number) => T)(len);
        b.set(a);
        return b;
      };
      const c = this.cnt.length * 2;
      this.fs = grow(this.fs, c * CAP);
      this.fe = grow(this.fe, c * CAP);
      this.cnt = grow(this.cnt, c);
      this.lmax = grow(this.lmax, c);
    }
    return this.slots++;
  }

  /** Recomputes leaf x's largest interval (at position pos) and the tree above it. */
  private rescan(pos: number, x: number): void {
    let m = 0;
    for (let k = x * CAP, e = k + this.cnt[x]!; k < e; k++) {
      const l = this.fe[k]! - this.fs[k]!;
      if (l > m) m = l;
    }
    this.setMax(pos, x, m);
  }

  private setMax(pos: number, x: number, m: number): void {
    this.lmax[x] = m;
    const tree = this.tree;
    let i = this.size + pos;
    tree[i] = m;
    for (i >>>= 1; i >= 1; i >>>= 1) {
      const v = tree[2 * i]! > tree[2 * i + 1]! ? tree[2 * i]! : tree[2 * i + 1]!;
      if (tree[i] === v) return;
      tree[i] = v;
    }
  }

  private rebuildTree(): void {
    let size = this.size;
    while (size < this.n) size *= 2;
    if (size !== this.size || this.tree.length !== 2 * size) {
      this.size = size;
      this.tree = new Float64Array(2 * size);
    }
    const tree = this.tree;
    for (let i = 0; i < size; i++) tree[size + i] = i < this.n ? this.lmax[this.ord[i]!]! : 0;
    for (let i = size - 1; i >= 1; i--) tree[i] = tree[2 * i]! > tree[2 * i + 1]! ? tree[2 * i]! : tree[2 * i + 1]!;
  }

  /** Removes entry j of leaf x (at position pos); removes the leaf when it empties. */
  private removeAt(pos: number, x: number, j: number): void {
    const base = x * CAP;
    const c = this.cnt[x]!;
    const fs = this.fs;
    const fe = this.fe;
    const len = fe[base + j]! - fs[base + j]!;
    for (let k = base + j; k < base + c - 1; k++) {
      fs[k] = fs[k + 1]!;
      fe[k] = fe[k + 1]!;
    }
    this.cnt[x] = c - 1;
    if (c === 1 && this.n > 1) {
      this.ord.copyWithin(pos, pos + 1, this.n);
      this.first.copyWithin(pos, pos + 1, this.n);
      this.n--;
      this.freeSlots.push(x);
      this.rebuildTree();
      return;
    }
    if (j === 0 && c > 1) this.first[pos] = this.fs[base]!;
    if (len === this.lmax[x]) this.rescan(pos, x);
  }

  /** Inserts [a, e) as entry j of leaf x (at position pos), splitting a full leaf. */
  private insertAt(pos: number, x: number, j: number, a: number, e: number): void {
    if (this.cnt[x] === CAP) {
      const y = this.newLeaf();
      const half = CAP / 2;
      this.fs.copyWithin(y * CAP, x * CAP + half, x * CAP + CAP);
      this.fe.copyWithin(y * CAP, x * CAP + half, x * CAP + CAP);
      this.cnt[x] = half;
      this.cnt[y] = CAP - half;
      if (this.n === this.ord.length) {
        const o = new Int32Array(this.n * 2);
        o.set(this.ord);
        this.ord = o;
        const f = new Float64Array(this.n * 2);
        f.set(this.first);
        this.first = f;
      }
      this.ord.copyWithin(pos + 2, pos + 1, this.n);
      this.first.copyWithin(pos + 2, pos + 1, this.n);
      this.ord[pos + 1] = y;
      this.first[pos + 1] = this.fs[y * CAP]!;
      this.n++;
      for (const z of [x, y]) {
        let m = 0;
        for (let k = z * CAP, end = k + this.cnt[z]!; k < end; k++) m = Math.max(m, this.fe[k]! - this.fs[k]!);
        this.lmax[z] = m;
      }
      this.rebuildTree();
      if (j > half) {
        pos++;
        x = y;
        j -= half;
      }
    }
    const base = x * CAP;
    const c = this.cnt[x]!;
    const fs = this.fs;
    const fe = this.fe;
    for (let k = base + c; k > base + j; k--) {
      fs[k] = fs[k - 1]!;
      fe[k] = fe[k - 1]!;
    }
    fs[base + j] = a;
    fe[base + j] = e;
    this.cnt[x] = c + 1;
    if (j === 0) this.first[pos] = a;
    if (e - a > this.lmax[x]!) this.setMax(pos, x, e - a);
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
