/* eslint-disable @typescript-eslint/no-unsafe-enum-comparison -- the const enum below holds named numeric constants (inlined by esbuild) */
import { grow } from './grow';

/**
 * Sizes as a `const enum`: esbuild inlines the values as literals, where module `const`s became
 * `var`s V8 loaded from the module context (and multiplied with overflow checks) in every loop.
 */
const enum L {
  /** Intervals per leaf. */
  CAP = 32,
  HALF = 16,
  /** Children per max-tree node (2^FAN_BITS): 8 doubles, one cache line; measured against 2 and 16 in the README. */
  FAN_BITS = 3,
  FAN = 8,
  /** log2(2 * CAP): leaf x's slots start at iv[x << IV_SHIFT]. */
  IV_SHIFT = 6,
}

/**
 * The larger of two lengths without a branch on them: `(a + b + |b - a|) / 2`. `Math.abs` of a
 * double is one AND (V8 compiles it without a jump), so a scan for the largest of random lengths
 * never mispredicts, and the chain from `a` is an add, an AND, an add and a multiply. Exact here:
 * `a` and `b` are lengths of disjoint free intervals of the managed range (or 0), so `a + b` is at
 * most `end - start` < 2^53, an exact integer, and `a + b + |b - a|` is twice the larger, an even
 * integer below 2^54, also exact; halving is exact.
 */
function larger(a: number, b: number): number {
  return (a + b + Math.abs(b - a)) * 0.5;
}

/** The largest of the 8 doubles from `c` (a max-tree node's children): a tree of `larger`, 3 deep. */
function largestOfFan(tree: Float64Array, c: number): number {
  return larger(
    larger(larger(tree[c]!, tree[(c + 1) | 0]!), larger(tree[(c + 2) | 0]!, tree[(c + 3) | 0]!)),
    larger(larger(tree[(c + 4) | 0]!, tree[(c + 5) | 0]!), larger(tree[(c + 6) | 0]!, tree[(c + 7) | 0]!)),
  );
}

/**
 * The free blocks, as intervals `[start, end)` in address order, in leaves of up to 32 (start and
 * length side by side in one typed array); the leaves in address order in one array (`ord`, with each leaf's
 * first start in `first`), and a max-tree of each leaf's largest interval: an implicit 8-ary tree
 * over leaf positions (a node's children side by side, one cache line). First fit is one descent
 * of the max-tree and one leaf scan; with an alignment or a window, the next leaf whose largest
 * interval fits, in address order, until one fits once aligned.
 *
 * Only free space is here: with 100,000 live blocks the free intervals are far fewer in a
 * first-fit workload; the in-use blocks are in the in-use index.
 *
 * Addresses are doubles, exact for every safe integer; no 32-bit operator touches one.
 * @internal
 */
export class FreeIndex {
  /**
   * Interval k (leaf x holds k = x * CAP ...): its start at `iv[2k]`, its length at `iv[2k + 1]`,
   * side by side. A `free` scans the leaf's starts and then reads the length before the one it
   * stops at, an `alloc` scans lengths and then reads the start of the one that fits: side by side,
   * that second read is in a line the scan already loaded, where with starts and lengths in two
   * arrays it was a second cache miss after the first (measured 1.04-1.05x on the sized mix).
   */
  private iv = new Float64Array(2 * L.CAP * 4);
  private cnt = new Int32Array(4);
  private lmax = new Float64Array(4);
  private slots = 0;
  private freeSlots: number[] = [];
  private ord = new Int32Array(4);
  /** Each leaf position's first start; +Infinity from position `n` to the end (at least `size` long). */
  private first: Float64Array = new Float64Array(L.FAN).fill(Infinity);
  private n = 0;
  /**
   * The max-tree: an implicit 8-ary tree, node 0 the root, node i's children 8i + 1 .. 8i + 8;
   * its bottom row (from `base`, `size` nodes, a power of 8) holds each leaf position's largest
   * interval (0 past the last leaf), every node above the largest of its children.
   */
  private size = L.FAN;
  private base = 1;
  private tree = new Float64Array(1 + L.FAN);
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
      this.iv[2 * (x * L.CAP)] = start;
      this.iv[2 * (x * L.CAP) + 1] = end - start;
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
    c.base = this.base;
    c.tree = this.tree.slice();
    c.count = this.count;
    return c;
  }

  /** The size of the largest free interval (0 if none). */
  largest(): number {
    return this.tree[0]!;
  }
  startOf(k: number): number {
    return this.iv[2 * k]!;
  }
  endOf(k: number): number {
    return this.iv[2 * k]! + this.iv[2 * k + 1]!;
  }

  /**
   * The position of the last leaf whose first start is <= addr (or 0). An 8-way search over the
   * positions 0 .. size - 1 (a power of 8): each round counts which of 7 evenly spaced first starts
   * are <= addr (independent loads, the comparisons added, not branched on; past the last leaf
   * `first` holds +Infinity, which counts 0) and keeps that eighth: 4 rounds for ~2,400 leaves
   * instead of a binary search's 12 dependent steps.
   */
  leafPos(addr: number): number {
    const first = this.first;
    // Indices as `(i + j) | 0` and shifts: int32 arithmetic, no overflow check per step.
    let lo = 0;
    for (let s = this.size >>> L.FAN_BITS; s >= 1; s >>>= L.FAN_BITS) {
      const s2 = s << 1;
      const s4 = s << 2;
      const c =
        +(first[(lo + s) | 0]! <= addr) +
        +(first[(lo + s2) | 0]! <= addr) +
        +(first[(lo + s2 + s) | 0]! <= addr) +
        +(first[(lo + s4) | 0]! <= addr) +
        +(first[(lo + s4 + s) | 0]! <= addr) +
        +(first[(lo + s4 + s2) | 0]! <= addr) +
        +(first[(lo + s4 + s2 + s) | 0]! <= addr);
      lo = (lo + Math.imul(c, s)) | 0;
    }
    return lo;
  }

  /** The last interval starting at or before `addr` (its handle; `pos` set), or -1 if none. */
  locate(addr: number): number {
    const pos = this.leafPos(addr);
    this.pos = pos;
    const base = this.ord[pos]! * L.CAP;
    const iv = this.iv;
    let lo = base;
    let hi = base + this.cnt[this.ord[pos]!]! - 1;
    if (hi < lo || iv[2 * lo]! > addr) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (iv[2 * mid]! <= addr) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The interval after `k` (at leaf position `pos`), or -1; updates `pos`. */
  nextOf(k: number): number {
    const x = this.ord[this.pos]!;
    if (k + 1 < x * L.CAP + this.cnt[x]!) return k + 1;
    if (this.pos + 1 >= this.n) return -1;
    this.pos++;
    return this.ord[this.pos]! * L.CAP;
  }

  /** The first interval of all, or -1; sets `pos`. */
  firstInterval(): number {
    this.pos = 0;
    const x = this.ord[0]!;
    return this.cnt[x]! > 0 ? x * L.CAP : -1;
  }

  /** First fit with no alignment or window: the lowest interval of at least `size` (`pos` set), or -1. */
  findAnywhere(size: number): number {
    if (this.tree[0]! < size) return -1;
    const pos = this.descend(0, size);
    this.pos = pos;
    const iv = this.iv;
    let p = (this.ord[pos]! << L.IV_SHIFT) | 1; // the first length of the leaf
    while (iv[p]! < size) p = (p + 2) | 0;
    this.foundAddr = iv[p - 1]!;
    return p >>> 1;
  }

  /** The first leaf position >= p whose largest interval is at least `size`, or -1. */
  private nextCandidate(p: number, size: number): number {
    if (p >= this.n) return -1;
    const tree = this.tree;
    let i = this.base + p;
    if (tree[i]! >= size) return p;
    // Climb until a later sibling fits, then take the first fitting child down to the bottom row.
    for (;;) {
      if (i === 0) return -1;
      const last = ((i - 1) & ~(L.FAN - 1)) + L.FAN; // i's last sibling
      while (i < last) {
        i++;
        if (tree[i]! >= size) return this.descend(i, size);
      }
      i = (i - 1) >>> L.FAN_BITS;
    }
  }

  /** From node i (whose largest is at least `size`), the first leaf position below it that fits. */
  private descend(i: number, size: number): number {
    const tree = this.tree;
    const base = this.base;
    while (i < base) {
      i = ((i << L.FAN_BITS) + 1) | 0; // the first child
      while (tree[i]! < size) i = (i + 1) | 0;
    }
    return i - base;
  }

  /**
   * First fit: the lowest interval holding `size` at a multiple of `align` inside `[lo, hi)`; its
   * handle (`pos` and `foundAddr` set) or -1. Visits, in address order, only leaves whose largest
   * interval is big enough, from the leaf holding `lo` until one fits or `hi` is passed.
   */
  findFit(size: number, align: number, lo: number, hi: number): number {
    const iv = this.iv;
    const perAlign = 1 / align; // exact: align is a power of two
    for (let pos = this.nextCandidate(this.leafPos(lo), size); pos !== -1; pos = this.nextCandidate(pos + 1, size)) {
      if (this.first[pos]! >= hi) return -1;
      const base = this.ord[pos]! * L.CAP;
      const last = base + this.cnt[this.ord[pos]!]!;
      for (let k = base; k < last; k++) {
        const bs = iv[2 * k]!;
        const be = bs + iv[2 * k + 1]!;
        if (bs >= hi) return -1;
        if (be - bs < size || be <= lo) continue;
        let a = bs > lo ? bs : lo;
        // Rounded up to a multiple of align: exact on doubles (no 32-bit truncation of 48-bit
        // addresses), and no `%`, which on a double is a runtime call.
        const down = Math.floor(a * perAlign) * align;
        if (down !== a) a = down + align;
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
    const base = x * L.CAP;
    const s = this.iv[2 * k]!;
    const len = this.iv[2 * k + 1]!;
    const e = s + len;
    const wasMax = len === this.lmax[x];
    if (a === s && b === e) {
      this.removeAt(pos, x, k - base);
      return;
    }
    if (a === s) {
      this.iv[2 * k] = b;
      this.iv[2 * k + 1] = e - b;
      if (k === base) this.first[pos] = b;
      if (wasMax) this.rescan(pos, x);
      return;
    }
    this.iv[2 * k + 1] = a - s;
    if (wasMax) this.rescan(pos, x);
    if (b < e) this.insertAt(pos, x, k - base + 1, b, e);
  }

  /**
   * Adds the free interval `[a, e)`, merging with free neighbours (none may overlap it); `pos` is
   * `leafPos(a)`, computed before if the caller had nothing to change in between.
   */
  insert(a: number, e: number, pos = this.leafPos(a)): void {
    const x = this.ord[pos]!;
    const iv = this.iv;
    const base = x * L.CAP;
    // k: index of the first interval starting after a.
    const stop = (base + this.cnt[x]!) | 0;
    let k = base;
    while (k < stop && iv[k << 1]! < a) k = (k + 1) | 0;
    const prevEnds = k > base ? iv[2 * (k - 1)]! + iv[2 * (k - 1) + 1]! === a : pos > 0 && this.lastEnd(pos - 1) === a;
    const nextX = k < stop ? x : pos + 1 < this.n ? this.ord[pos + 1]! : -1;
    const nextK = k < stop ? k : nextX >= 0 ? nextX * L.CAP : -1;
    const nextStarts = nextK >= 0 && iv[2 * nextK] === e;
    if (prevEnds) {
      // The interval before a grows to e, or to the end of the one after (which goes).
      // removeAt below keeps the leaf holding it in place, and every entry before the one it removes.
      const ppos = k > base ? pos : pos - 1;
      const p = this.ord[ppos]!;
      const pk = k > base ? k - 1 : p * L.CAP + this.cnt[p]! - 1;
      let ne = e;
      if (nextStarts) {
        ne = iv[2 * nextK]! + iv[2 * nextK + 1]!;
        if (nextX === x) this.removeAt(pos, x, k - base);
        else this.removeAt(pos + 1, nextX, 0);
      }
      const merged = ne - iv[2 * pk]!;
      iv[2 * pk + 1] = merged;
      if (merged > this.lmax[p]!) this.setMax(ppos, p, merged);
      return;
    }
    if (nextStarts) {
      const npos = nextX === x ? pos : pos + 1;
      const merged = iv[2 * nextK]! + iv[2 * nextK + 1]! - a;
      iv[2 * nextK + 1] = merged;
      iv[2 * nextK] = a;
      if (nextK === nextX * L.CAP) this.first[npos] = a;
      if (merged > this.lmax[nextX]!) this.setMax(npos, nextX, merged);
      return;
    }
    this.insertAt(pos, x, k - base, a, e);
  }

  // ---- leaves

  private lastEnd(pos: number): number {
    const k = this.ord[pos]! * L.CAP + this.cnt[this.ord[pos]!]! - 1;
    return this.iv[2 * k]! + this.iv[2 * k + 1]!;
  }

  private newLeaf(): number {
    const reuse = this.freeSlots.pop();
    if (reuse !== undefined) return reuse;
    if (this.slots === this.cnt.length) {
      const c = this.cnt.length * 2;
      this.iv = grow(this.iv, 2 * c * L.CAP);
      this.cnt = grow(this.cnt, c);
      this.lmax = grow(this.lmax, c);
    }
    return this.slots++;
  }

  /** Recomputes leaf x's largest interval (at position pos) and the tree above it. */
  private rescan(pos: number, x: number): void {
    this.setMax(pos, x, this.maxOf(x));
  }

  private setMax(pos: number, x: number, m: number): void {
    this.lmax[x] = m;
    const tree = this.tree;
    let i = (this.base + pos) | 0;
    let old = tree[i]!;
    tree[i] = m;
    while (i > 0) {
      const p = (i - 1) >>> L.FAN_BITS;
      const pv = tree[p]!;
      let v = m;
      if (m < pv) {
        if (old < pv) return; // the parent's largest is another child's
        // This node held the parent's largest and shrank: the largest of the children (its own new value included).
        v = largestOfFan(tree, ((p << L.FAN_BITS) + 1) | 0);
      }
      if (pv === v) return;
      tree[p] = v;
      i = p;
      old = pv;
      m = v;
    }
  }

  /**
   * Refills the max-tree from leaf position `from` on (a leaf was added or removed there: the
   * positions after it moved by one): the bottom row from `from` to `n` (the slot a removed leaf
   * vacated included) and the nodes above it. All of it when the tree must grow.
   */
  private rebuildTree(from = 0): void {
    let size = L.FAN;
    while (size < this.n) size *= L.FAN;
    if (size !== this.size) {
      this.size = size;
      this.base = ((size - 1) / (L.FAN - 1)) | 0; // an int32 field: a division would store a double
      this.tree = new Float64Array(this.base + size);
      if (this.first.length < size) this.first = this.growFirst(size);
      from = 0;
    }
    const tree = this.tree;
    const base = this.base;
    const to = this.n < size ? this.n : size - 1;
    for (let i = from; i <= to; i++) tree[base + i] = i < this.n ? this.lmax[this.ord[i]!]! : 0;
    let lo = base + from;
    let hi = base + to;
    while (lo > 0) {
      lo = (lo - 1) >>> L.FAN_BITS;
      hi = (hi - 1) >>> L.FAN_BITS;
      for (let i = lo; i <= hi; i++) tree[i] = this.childMax(i);
    }
  }

  /** `first` grown to `len` entries, the new ones +Infinity. */
  private growFirst(len: number): Float64Array {
    const f = new Float64Array(len).fill(Infinity);
    f.set(this.first);
    return f;
  }

  private childMax(i: number): number {
    return largestOfFan(this.tree, i * L.FAN + 1);
  }

  /** Removes entry j of leaf x (at position pos); removes the leaf when it empties (unless it is the only one). */
  private removeAt(pos: number, x: number, j: number): void {
    const base = x * L.CAP;
    const c = this.cnt[x]!;
    const iv = this.iv;
    const len = iv[2 * (base + j) + 1]!;
    // Plain loops: a leaf moves a few dozen entries, where copyWithin's call overhead dominates.
    for (let p = (base + j) << 1, end = (base + c - 1) << 1; p < end; p = (p + 2) | 0) {
      iv[p] = iv[(p + 2) | 0]!;
      iv[p | 1] = iv[(p + 3) | 0]!;
    }
    iv[2 * (base + c - 1)] = 0;
    iv[2 * (base + c - 1) + 1] = 0;
    this.cnt[x] = c - 1;
    this.count--;
    if (c === 1 && this.n > 1) {
      this.ord.copyWithin(pos, pos + 1, this.n);
      this.first.copyWithin(pos, pos + 1, this.n);
      this.n--;
      this.first[this.n] = Infinity;
      this.lmax[x] = 0;
      this.freeSlots.push(x);
      this.rebuildTree(pos);
      return;
    }
    if (j === 0 && c > 1) this.first[pos] = iv[2 * base]!;
    // The removed interval was the leaf's largest: unless another one is as long (1-page holes
    // tie all the time), find the new largest.
    if (len === this.lmax[x] && !this.holdsLength(x, len)) this.rescan(pos, x);
  }

  /** Leaf x holds an interval of exactly `len`: stops at the first (ties are common among small holes). */
  private holdsLength(x: number, len: number): boolean {
    const iv = this.iv;
    for (let p = (x << L.IV_SHIFT) | 1, end = (p + (this.cnt[x]! << 1)) | 0; p < end; p = (p + 2) | 0) if (iv[p] === len) return true;
    return false;
  }

  /** Inserts [a, e) as entry j of leaf x (at position pos), splitting a full leaf. */
  private insertAt(pos: number, x: number, j: number, a: number, e: number): void {
    if (this.cnt[x] === L.CAP) {
      const y = this.newLeaf();
      this.iv.copyWithin(2 * y * L.CAP, 2 * (x * L.CAP + L.HALF), 2 * (x * L.CAP + L.CAP));
      this.iv.fill(0, 2 * (x * L.CAP + L.HALF), 2 * (x * L.CAP + L.CAP));
      this.cnt[x] = L.HALF;
      this.cnt[y] = L.CAP - L.HALF;
      if (this.n === this.ord.length) this.ord = grow(this.ord, this.n * 2);
      if (this.n === this.first.length) this.first = this.growFirst(this.n * L.FAN);
      this.ord.copyWithin(pos + 2, pos + 1, this.n);
      this.first.copyWithin(pos + 2, pos + 1, this.n);
      this.ord[pos + 1] = y;
      this.first[pos + 1] = this.iv[2 * (y * L.CAP)]!;
      this.n++;
      this.lmax[x] = this.maxOf(x);
      this.lmax[y] = this.maxOf(y);
      this.rebuildTree(pos);
      if (j > L.HALF) {
        pos++;
        x = y;
        j -= L.HALF;
      }
    }
    const base = x * L.CAP;
    const c = this.cnt[x]!;
    const iv = this.iv;
    for (let p = (base + c) << 1, end = (base + j) << 1; p > end; p = (p - 2) | 0) {
      iv[p] = iv[(p - 2) | 0]!;
      iv[p | 1] = iv[(p - 1) | 0]!;
    }
    iv[2 * (base + j)] = a;
    iv[2 * (base + j) + 1] = e - a;
    this.cnt[x] = c + 1;
    this.count++;
    if (j === 0) this.first[pos] = a;
    if (e - a > this.lmax[x]!) this.setMax(pos, x, e - a);
  }

  /**
   * Leaf x's largest interval (0 if empty): four chains of `larger`, no branch per interval. The
   * slots past a leaf's count hold 0 (`check` verifies it), so the scan runs to a multiple of 4.
   */
  private maxOf(x: number): number {
    const iv = this.iv;
    let m0 = 0;
    let m1 = 0;
    let m2 = 0;
    let m3 = 0;
    let p = (x << L.IV_SHIFT) | 1; // the first length
    const end = (p + (this.cnt[x]! << 1)) | 0;
    for (; p < end; p = (p + 8) | 0) {
      m0 = larger(m0, iv[p]!);
      m1 = larger(m1, iv[(p + 2) | 0]!);
      m2 = larger(m2, iv[(p + 4) | 0]!);
      m3 = larger(m3, iv[(p + 6) | 0]!);
    }
    return larger(larger(m0, m1), larger(m2, m3));
  }

  /**
   * Throws unless the leaves hold 1..32 intervals each (one empty leaf only when there is no free
   * space), intervals are ordered, non-empty and never adjacent, every cached first start, leaf
   * maximum and tree value is true, the slots past a leaf's count (and every slot of a recycled
   * leaf) hold 0, and no leaf slot leaks; calls `visit` on each interval in order.
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
      if (c > L.CAP || c < (this.n === 1 ? 0 : 1)) fail(`free leaf ${x} holds ${c} intervals`);
      if (c > 0 && this.first[pos] !== this.iv[2 * (x * L.CAP)]) fail(`free leaf ${x} caches first ${this.first[pos]}, true ${this.iv[2 * (x * L.CAP)]}`);
      for (let k = x * L.CAP + c; k < x * L.CAP + L.CAP; k++) if (this.iv[2 * k] !== 0 || this.iv[2 * k + 1] !== 0) fail(`free leaf ${x} slot ${k - x * L.CAP} past its count is not 0`);
      if (this.lmax[x] !== this.maxOf(x)) fail(`free leaf ${x} caches maxFree ${this.lmax[x]}, true ${this.maxOf(x)}`);
      for (let k = x * L.CAP; k < x * L.CAP + c; k++) {
        const s = this.iv[2 * k]!;
        const e = s + this.iv[2 * k + 1]!;
        if (!(e > s)) fail(`empty free interval at ${s}`);
        if (s <= prevEnd) fail(`free intervals out of order or adjacent at ${s}`);
        prevEnd = e;
        total++;
        visit(s, e);
      }
    }
    if (this.first.length < this.size) fail(`first starts: ${this.first.length} entries for ${this.size} positions`);
    for (let p = this.n; p < this.first.length; p++) if (this.first[p] !== Infinity) fail(`first start past the last leaf, at position ${p}: ${this.first[p]}`);
    if (total !== this.count) fail(`free index holds ${total} intervals, count says ${this.count}`);
    for (const x of this.freeSlots) {
      if (this.cnt[x] !== 0 || this.lmax[x] !== 0) fail(`recycled free leaf ${x} holds ${this.cnt[x]} intervals`);
      for (let k = x * L.CAP; k < x * L.CAP + L.CAP; k++) if (this.iv[2 * k] !== 0 || this.iv[2 * k + 1] !== 0) fail(`recycled free leaf ${x} slot ${k - x * L.CAP} is not 0`);
    }
    if (this.n + this.freeSlots.length !== this.slots) fail(`free leaves leak: ${this.n} live + ${this.freeSlots.length} free != ${this.slots}`);
    for (let i = 0; i < this.base + this.size; i++) {
      const want = i >= this.base ? (i - this.base < this.n ? this.lmax[this.ord[i - this.base]!]! : 0) : this.childMax(i);
      if (this.tree[i] !== want) fail(`maxFree tree node ${i} caches ${this.tree[i]}, true ${want}`);
    }
  }
}

