import { grow } from './grow';

const CAP = 32;
const HALF = 16;

/**
 * The free blocks, as intervals `[start, end)` in address order, in leaves of up to 64 (typed
 * arrays); the leaves in address order in one array (`ord`, with each leaf's first start in
 * `first`), and a max-tree (a segment tree over leaf positions) of each leaf's largest interval.
 * First fit is one descent of the max-tree and one leaf scan; with an alignment or a window, the
 * next leaf whose largest interval fits, in address order, until one fits once aligned.
 *
 * Only free space is here: with 100,000 live blocks the free intervals are far fewer in a
 * first-fit workload (their leaves stay in cache); the in-use blocks are in PageRadix.
 *
 * Addresses are doubles, exact for every safe integer; no 32-bit operator touches one.
 * @internal
 */
export class FreeIndex {
  /** Interval k (leaf x holds k = x * CAP ...): [2k] start, [2k + 1] end, side by side in one cache line. */
  private iv = new Float64Array(CAP * 8);
  private cnt = new Int32Array(4);
  private lmax = new Float64Array(4);
  private slots = 0;
  private freeSlots: number[] = [];
  private ord = new Int32Array(4);
  private first = new Float64Array(4);
  private n = 0;
  private size = 4;
  private tree = new Float64Array(8);
  /** Free intervals held. */
  count = 0;
  /** Leaf position of the interval the last `locate` / `find…` / `nextOf` returned. */
  pos = 0;
  /** The aligned address `findFit` found. */
  foundAddr = 0;

  constructor(start: number, end: number) {
    const x = this.newLeaf();
    this.ord[0] = x;
    this.n = 1;
    if (end > start) {
      this.iv[((x * CAP) << 1)] = start;
      this.iv[((x * CAP) << 1) + 1] = end;
      this.cnt[x] = 1;
      this.lmax[x] = end - start;
      this.first[0] = start;
      this.count = 1;
    }
    this.rebuildTree();
  }

  clone(): FreeIndex {
    const c = new FreeIndex(0, 0);
    c.iv = this.iv.slice();
    c.cnt = this.cnt.slice();
    c.lmax = this.lmax.slice();
    c.slots = this.slots;
    c.freeSlots = this.freeSlots.slice();
    c.ord = this.ord.slice();
    c.first = this.first.slice();
    c.n = this.n;
    c.size = this.size;
    c.tree = this.tree.slice();
    c.count = this.count;
    return c;
  }

  /** The size of the largest free interval (0 if none). */
  largest(): number {
    return this.tree[1]!;
  }
  startOf(k: number): number {
    return this.iv[k << 1]!;
  }
  endOf(k: number): number {
    return this.iv[(k << 1) + 1]!;
  }

  /** The position of the last leaf whose first start is <= addr (or 0). */
  private leafPos(addr: number): number {
    const first = this.first;
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (first[mid]! <= addr) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The last interval starting at or before `addr` (its handle; `pos` set), or -1 if none. */
  locate(addr: number): number {
    const pos = this.leafPos(addr);
    this.pos = pos;
    const base = this.ord[pos]! * CAP;
    const iv = this.iv;
    let lo = base;
    let hi = base + this.cnt[this.ord[pos]!]! - 1;
    if (hi < lo || iv[lo << 1]! > addr) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (iv[mid << 1]! <= addr) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The interval after `k` (at leaf position `pos`), or -1; updates `pos`. */
  nextOf(k: number): number {
    const x = this.ord[this.pos]!;
    if (k + 1 < x * CAP + this.cnt[x]!) return k + 1;
    if (this.pos + 1 >= this.n) return -1;
    this.pos++;
    return this.ord[this.pos]! * CAP;
  }

  /** The first interval of all, or -1; sets `pos`. */
  firstInterval(): number {
    this.pos = 0;
    const x = this.ord[0]!;
    return this.cnt[x]! > 0 ? x * CAP : -1;
  }

  /** First fit with no alignment or window: the lowest interval of at least `size` (`pos` set), or -1. */
  findAnywhere(size: number): number {
    const tree = this.tree;
    if (tree[1]! < size) return -1;
    let i = 1;
    while (i < this.size) i = tree[2 * i]! >= size ? 2 * i : 2 * i + 1;
    const pos = i - this.size;
    this.pos = pos;
    const iv = this.iv;
    let k = this.ord[pos]! * CAP;
    while (iv[(k << 1) + 1]! - iv[k << 1]! < size) k++;
    this.foundAddr = iv[k << 1]!;
    return k;
  }

  /** The first leaf position >= p whose largest interval is at least `size`, or -1. */
  private nextCandidate(p: number, size: number): number {
    if (p >= this.n) return -1;
    const tree = this.tree;
    let i = this.size + p;
    if (tree[i]! < size) {
      for (;;) {
        if (i === 1) return -1;
        if ((i & 1) === 0 && tree[i + 1]! >= size) {
          i++;
          break;
        }
        i >>>= 1;
      }
      while (i < this.size) i = tree[2 * i]! >= size ? 2 * i : 2 * i + 1;
    }
    return i - this.size;
  }

  /**
   * First fit: the lowest interval holding `size` at a multiple of `align` inside `[lo, hi)`; its
   * handle (`pos` and `foundAddr` set) or -1. Visits, in address order, only leaves whose largest
   * interval is big enough, from the leaf holding `lo` until one fits or `hi` is passed.
   */
  findFit(size: number, align: number, lo: number, hi: number): number {
    const iv = this.iv;
    for (let pos = this.nextCandidate(this.leafPos(lo), size); pos !== -1; pos = this.nextCandidate(pos + 1, size)) {
      if (this.first[pos]! >= hi) return -1;
      const base = this.ord[pos]! * CAP;
      const last = base + this.cnt[this.ord[pos]!]!;
      for (let k = base; k < last; k++) {
        const bs = iv[k << 1]!;
        const be = iv[(k << 1) + 1]!;
        if (bs >= hi) return -1;
        if (be - bs < size || be <= lo) continue;
        let a = bs > lo ? bs : lo;
        const rem = a % align; // exact on doubles: no 32-bit truncation of 48-bit addresses
        if (rem !== 0) a += align - rem;
        if (a + size <= (be < hi ? be : hi)) {
          this.pos = pos;
          this.foundAddr = a;
          return k;
        }
      }
    }
    return -1;
  }

  /** Removes `[a, b)` from interval `k` (at leaf position `pos`), which holds it. */
  carve(k: number, a: number, b: number): void {
    const pos = this.pos;
    const x = this.ord[pos]!;
    const base = x * CAP;
    const s = this.iv[k << 1]!;
    const e = this.iv[(k << 1) + 1]!;
    const wasMax = e - s === this.lmax[x];
    if (a === s && b === e) {
      this.removeAt(pos, x, k - base);
      return;
    }
    if (a === s) {
      this.iv[k << 1] = b;
      if (k === base) this.first[pos] = b;
      if (wasMax) this.rescan(pos, x);
      return;
    }
    this.iv[(k << 1) + 1] = a;
    if (wasMax) this.rescan(pos, x);
    if (b < e) this.insertAt(pos, x, k - base + 1, b, e);
  }

  /** Adds the free interval `[a, e)`, merging with free neighbours (none may overlap it). */
  insert(a: number, e: number): void {
    const pos = this.leafPos(a);
    let x = this.ord[pos]!;
    const iv = this.iv;
    let base = x * CAP;
    // k: index of the first interval starting after a.
    let lo = base;
    let hi = base + this.cnt[x]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (iv[mid << 1]! < a) lo = mid + 1;
      else hi = mid;
    }
    const k = lo;
    const stop = base + this.cnt[x]!;
    const prevEnds = k > base ? iv[((k - 1) << 1) + 1]! === a : pos > 0 && this.lastEnd(pos - 1) === a;
    const nextX = k < stop ? x : pos + 1 < this.n ? this.ord[pos + 1]! : -1;
    const nextK = k < stop ? k : nextX >= 0 ? nextX * CAP : -1;
    const nextStarts = nextK >= 0 && iv[nextK << 1]! === e;
    if (prevEnds && k > base) {
      let ne = e;
      if (nextStarts) {
        ne = iv[(nextK << 1) + 1]!;
        if (nextX === x) this.removeAt(pos, x, k - base);
        else this.removeAt(pos + 1, nextX, 0);
        x = this.ord[pos]!; // removeAt keeps this leaf in place (it only removes others or entries after k - 1)
        base = x * CAP;
      }
      iv[((k - 1) << 1) + 1] = ne;
      if (ne - iv[((k - 1) << 1)]! > this.lmax[x]!) this.setMax(pos, x, ne - iv[((k - 1) << 1)]!);
      return;
    }
    if (prevEnds) {
      // The interval before a is the last of the previous leaf.
      const p = this.ord[pos - 1]!;
      const pk = p * CAP + this.cnt[p]! - 1;
      let ne = e;
      if (nextStarts) {
        ne = iv[(nextK << 1) + 1]!;
        if (nextX === x) this.removeAt(pos, x, k - base);
        else this.removeAt(pos + 1, nextX, 0);
      }
      iv[(pk << 1) + 1] = ne;
      if (ne - iv[pk << 1]! > this.lmax[p]!) this.setMax(pos - 1, p, ne - iv[pk << 1]!);
      return;
    }
    if (nextStarts) {
      const npos = nextX === x ? pos : pos + 1;
      iv[nextK << 1] = a;
      if (nextK === nextX * CAP) this.first[npos] = a;
      if (iv[(nextK << 1) + 1]! - a > this.lmax[nextX]!) this.setMax(npos, nextX, iv[(nextK << 1) + 1]! - a);
      return;
    }
    this.insertAt(pos, x, k - base, a, e);
  }

  // ---- leaves

  private lastEnd(pos: number): number {
    const x = this.ord[pos]!;
    return this.iv[((x * CAP + this.cnt[x]! - 1) << 1) + 1]!;
  }

  private newLeaf(): number {
    const reuse = this.freeSlots.pop();
    if (reuse !== undefined) return reuse;
    if (this.slots === this.cnt.length) {
      const c = this.cnt.length * 2;
      this.iv = grow(this.iv, c * CAP * 2);
      this.cnt = grow(this.cnt, c);
      this.lmax = grow(this.lmax, c);
    }
    return this.slots++;
  }

  /** Recomputes leaf x's largest interval (at position pos) and the tree above it. */
  private rescan(pos: number, x: number): void {
    let m = 0;
    for (let k = x * CAP, e = k + this.cnt[x]!; k < e; k++) {
      const l = this.iv[(k << 1) + 1]! - this.iv[k << 1]!;
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
    let size = 4;
    while (size < this.n) size *= 2;
    if (size !== this.size) {
      this.size = size;
      this.tree = new Float64Array(2 * size);
    }
    const tree = this.tree;
    for (let i = 0; i < size; i++) tree[size + i] = i < this.n ? this.lmax[this.ord[i]!]! : 0;
    for (let i = size - 1; i >= 1; i--) tree[i] = tree[2 * i]! > tree[2 * i + 1]! ? tree[2 * i]! : tree[2 * i + 1]!;
  }

  /** Removes entry j of leaf x (at position pos); removes the leaf when it empties (unless it is the only one). */
  private removeAt(pos: number, x: number, j: number): void {
    const base = x * CAP;
    const c = this.cnt[x]!;
    const iv = this.iv;
    const len = iv[((base + j) << 1) + 1]! - iv[((base + j) << 1)]!;
    // Plain loops: a leaf moves a few dozen entries, where copyWithin's call overhead dominates.
    for (let k = base + j; k < base + c - 1; k++) {
      iv[k << 1] = iv[((k + 1) << 1)]!;
      iv[(k << 1) + 1] = iv[((k + 1) << 1) + 1]!;
    }
    iv[((base + c - 1) << 1)] = 0;
    iv[((base + c - 1) << 1) + 1] = 0;
    this.cnt[x] = c - 1;
    this.count--;
    if (c === 1 && this.n > 1) {
      this.ord.copyWithin(pos, pos + 1, this.n);
      this.first.copyWithin(pos, pos + 1, this.n);
      this.n--;
      this.lmax[x] = 0;
      this.freeSlots.push(x);
      this.rebuildTree();
      return;
    }
    if (j === 0 && c > 1) this.first[pos] = iv[base << 1]!;
    if (len === this.lmax[x]) this.rescan(pos, x);
  }

  /** Inserts [a, e) as entry j of leaf x (at position pos), splitting a full leaf. */
  private insertAt(pos: number, x: number, j: number, a: number, e: number): void {
    if (this.cnt[x] === CAP) {
      const y = this.newLeaf();
      this.iv.copyWithin(y * CAP * 2, (x * CAP + HALF) * 2, (x * CAP + CAP) * 2);
      this.iv.fill(0, (x * CAP + HALF) * 2, (x * CAP + CAP) * 2);
      this.cnt[x] = HALF;
      this.cnt[y] = CAP - HALF;
      if (this.n === this.ord.length) {
        this.ord = grow(this.ord, this.n * 2);
        this.first = grow(this.first, this.n * 2);
      }
      this.ord.copyWithin(pos + 2, pos + 1, this.n);
      this.first.copyWithin(pos + 2, pos + 1, this.n);
      this.ord[pos + 1] = y;
      this.first[pos + 1] = this.iv[((y * CAP) << 1)]!;
      this.n++;
      this.lmax[x] = this.maxOf(x);
      this.lmax[y] = this.maxOf(y);
      this.rebuildTree();
      if (j > HALF) {
        pos++;
        x = y;
        j -= HALF;
      }
    }
    const base = x * CAP;
    const c = this.cnt[x]!;
    const iv = this.iv;
    for (let k = base + c; k > base + j; k--) {
      iv[k << 1] = iv[((k - 1) << 1)]!;
      iv[(k << 1) + 1] = iv[((k - 1) << 1) + 1]!;
    }
    iv[((base + j) << 1)] = a;
    iv[((base + j) << 1) + 1] = e;
    this.cnt[x] = c + 1;
    this.count++;
    if (j === 0) this.first[pos] = a;
    if (e - a > this.lmax[x]!) this.setMax(pos, x, e - a);
  }

  private maxOf(x: number): number {
    let m = 0;
    for (let k = x * CAP, end = k + this.cnt[x]!; k < end; k++) if (this.iv[(k << 1) + 1]! - this.iv[k << 1]! > m) m = this.iv[(k << 1) + 1]! - this.iv[k << 1]!;
    return m;
  }

  /**
   * Throws unless the leaves hold 1..64 intervals each (one empty leaf only when there is no free
   * space), intervals are ordered, non-empty and never adjacent, every cached first start, leaf
   * maximum and tree value is true, and no leaf slot leaks; calls `visit` on each interval in order.
   */
  check(fail: (msg: string) => never, visit: (start: number, end: number) => void): void {
    let total = 0;
    let prevEnd = -1;
    const seen = new Set<number>();
    for (let pos = 0; pos < this.n; pos++) {
      const x = this.ord[pos]!;
      if (x < 0 || x >= this.slots || seen.has(x)) fail(`free leaf position ${pos} holds slot ${x}`);
      seen.add(x);
      const c = this.cnt[x]!;
      if (c > CAP || c < (this.n === 1 ? 0 : 1)) fail(`free leaf ${x} holds ${c} intervals`);
      if (c > 0 && this.first[pos] !== this.iv[((x * CAP) << 1)]) fail(`free leaf ${x} caches first ${this.first[pos]}, true ${this.iv[((x * CAP) << 1)]}`);
      if (this.lmax[x] !== this.maxOf(x)) fail(`free leaf ${x} caches maxFree ${this.lmax[x]}, true ${this.maxOf(x)}`);
      for (let k = x * CAP; k < x * CAP + c; k++) {
        const s = this.iv[k << 1]!;
        const e = this.iv[(k << 1) + 1]!;
        if (!(e > s)) fail(`empty free interval at ${s}`);
        if (s <= prevEnd) fail(`free intervals out of order or adjacent at ${s}`);
        prevEnd = e;
        total++;
        visit(s, e);
      }
    }
    if (total !== this.count) fail(`free index holds ${total} intervals, count says ${this.count}`);
    if (this.n + this.freeSlots.length !== this.slots) fail(`free leaves leak: ${this.n} live + ${this.freeSlots.length} free != ${this.slots}`);
    for (let i = 1; i < 2 * this.size; i++) {
      const want = i >= this.size ? (i - this.size < this.n ? this.lmax[this.ord[i - this.size]!]! : 0) : Math.max(this.tree[2 * i]!, this.tree[2 * i + 1]!);
      if (this.tree[i] !== want) fail(`maxFree tree node ${i} caches ${this.tree[i]}, true ${want}`);
    }
  }
}

