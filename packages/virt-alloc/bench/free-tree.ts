/* eslint-disable @typescript-eslint/no-unsafe-enum-comparison -- the const enum below holds named numeric constants (inlined by esbuild) */
import { grow } from '../src/grow';

const enum Leaf {
  /** Intervals per leaf (a full leaf splits in two halves before an insert). */
  CAP = 32,
  HALF = 16,
}
const enum Inner {
  /** Children per inner node: FAN slots, at most FAN - 1 children between operations (a node that reaches FAN splits). */
  FAN_BITS = 4,
  FAN = 16,
  FAN_HALF = 8,
}
/** Deepest path: a level is added only when the root fills 16 children, so 40 levels would take more than 8^39 leaf splits. */
const MAX_LEVELS = 40;

/**
 * The free blocks, as intervals `[start, end)` in address order, in a B+-tree: leaves of up to 32
 * intervals (starts and lengths in two typed arrays), linked in address order; each inner node
 * holds, for each child side by side, the child's first start (`key`), its largest interval
 * (`mx`) and its id (`kid`): one or two cache lines per array. First fit descends by `mx` (the
 * first child whose largest fits) and scans one leaf; `insert` descends by `key`. A leaf that fills
 * splits in two and its parent takes the new half (a full parent splits the same way); a leaf that
 * empties leaves its parent: only the nodes on one path change, nothing is indexed by position.
 * After a change only the path's largest values are updated, and only as far as they change.
 *
 * A replay prototype with FreeIndex's interface (bench/components.ts; swapped into VirtualAllocator
 * it passes the package's tests but those that read FreeIndex's fields), not the package's index:
 * see the README, "Benchmarks". Addresses are doubles, exact for every safe integer.
 */
export class FreeTree {
  // Leaves: interval j of leaf x is at x * CAP + j (its handle).
  private st = new Float64Array(Leaf.CAP * 4);
  private ln = new Float64Array(Leaf.CAP * 4);
  private cnt = new Int32Array(4);
  private nxt = new Int32Array(4);
  private prv = new Int32Array(4);
  private leafTop = 0;
  private freeLeaves: number[] = [];
  // Inner nodes: child i of node n is at n * FAN + i.
  private key = new Float64Array(Inner.FAN * 4);
  private mx = new Float64Array(Inner.FAN * 4);
  private kid = new Int32Array(Inner.FAN * 4);
  private ncnt = new Int32Array(4);
  private nodeTop = 0;
  private freeNodes: number[] = [];
  private root = 0;
  /** Inner levels (>= 1); level 0's children are leaves. */
  private height = 1;
  /** The largest interval of all (0 if none). */
  private top = 0;
  /** The path of the last descent: the node at each level and the child taken. */
  private readonly pathNode = new Int32Array(MAX_LEVELS);
  private readonly pathIdx = new Int32Array(MAX_LEVELS);
  /** The leaf of the last descent (or of the last `nextOf`). */
  private leaf = 0;
  /** Free intervals held. */
  count = 0;
  /** The aligned address `findFit` (or `findAnywhere`) found. */
  foundAddr = 0;

  constructor(start: number, end: number) {
    const x = this.newLeaf();
    const n = this.newNode();
    this.root = n;
    this.kid[n * Inner.FAN] = x;
    this.ncnt[n] = 1;
    this.nxt[x] = -1;
    this.prv[x] = -1;
    if (end > start) {
      this.st[x * Leaf.CAP] = start;
      this.ln[x * Leaf.CAP] = end - start;
      this.cnt[x] = 1;
      this.key[n * Inner.FAN] = start;
      this.mx[n * Inner.FAN] = end - start;
      this.top = end - start;
      this.count = 1;
    }
  }

  clone(): FreeTree {
    const c = new FreeTree(0, 0);
    c.st = this.st.slice();
    c.ln = this.ln.slice();
    c.cnt = this.cnt.slice();
    c.nxt = this.nxt.slice();
    c.prv = this.prv.slice();
    c.leafTop = this.leafTop;
    c.freeLeaves = this.freeLeaves.slice();
    c.key = this.key.slice();
    c.mx = this.mx.slice();
    c.kid = this.kid.slice();
    c.ncnt = this.ncnt.slice();
    c.nodeTop = this.nodeTop;
    c.freeNodes = this.freeNodes.slice();
    c.root = this.root;
    c.height = this.height;
    c.top = this.top;
    c.count = this.count;
    return c;
  }

  /** The size of the largest free interval (0 if none). */
  largest(): number {
    return this.top;
  }
  startOf(k: number): number {
    return this.st[k]!;
  }
  endOf(k: number): number {
    return this.st[k]! + this.ln[k]!;
  }

  // ---- descents

  /** Descends to the last leaf whose first start is <= `addr` (the first leaf if none), recording the path. */
  private down(addr: number): number {
    const key = this.key;
    const kid = this.kid;
    const ncnt = this.ncnt;
    const pathNode = this.pathNode;
    const pathIdx = this.pathIdx;
    let n = this.root;
    for (let lv = this.height - 1; lv >= 0; lv--) {
      const b = n << Inner.FAN_BITS;
      const c = ncnt[n]!;
      let i = 1;
      while (i < c && key[b + i]! <= addr) i++;
      pathNode[lv] = n;
      pathIdx[lv] = i - 1;
      n = kid[b + i - 1]!;
    }
    this.leaf = n;
    return n;
  }

  /** The index in leaf `x` (absolute) of the first interval starting after `addr`. */
  private after(x: number, addr: number): number {
    const st = this.st;
    let lo = x * Leaf.CAP;
    let hi = lo + this.cnt[x]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (st[mid]! <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The last interval starting at or before `addr` (its handle, the path at its leaf), or -1 if none. */
  locate(addr: number): number {
    const x = this.down(addr);
    const k = this.after(x, addr);
    return k > x * Leaf.CAP ? k - 1 : -1;
  }

  /** The interval after `k` (in the current leaf, which holds it), or -1; moves to its leaf. */
  nextOf(k: number): number {
    const x = this.leaf;
    if (k + 1 < x * Leaf.CAP + this.cnt[x]!) return k + 1;
    const y = this.nxt[x]!;
    if (y < 0) return -1;
    this.leaf = y;
    return y * Leaf.CAP;
  }

  /** The first interval of all, or -1. */
  firstInterval(): number {
    const x = this.down(-1);
    return this.cnt[x]! > 0 ? x * Leaf.CAP : -1;
  }

  /** First fit with no alignment or window: the lowest interval of at least `size` (`foundAddr` set), or -1. */
  findAnywhere(size: number): number {
    if (this.top < size) return -1;
    const mx = this.mx;
    const kid = this.kid;
    let n = this.root;
    for (let lv = this.height - 1; lv >= 0; lv--) {
      const b = n << Inner.FAN_BITS;
      let i = 0;
      while (mx[b + i]! < size) i++;
      this.pathNode[lv] = n;
      this.pathIdx[lv] = i;
      n = kid[b + i]!;
    }
    this.leaf = n;
    const ln = this.ln;
    let k = n * Leaf.CAP;
    while (ln[k]! < size) k++;
    this.foundAddr = this.st[k]!;
    return k;
  }

  /**
   * From the path of the last descent, the next leaf in address order whose largest interval is at
   * least `size` (the path moved to it), or -1.
   */
  private nextFitting(size: number): number {
    const mx = this.mx;
    for (let lv = 0; lv < this.height; lv++) {
      const n = this.pathNode[lv]!;
      const b = n << Inner.FAN_BITS;
      const c = this.ncnt[n]!;
      for (let i = this.pathIdx[lv]! + 1; i < c; i++) {
        if (mx[b + i]! < size) continue;
        this.pathIdx[lv] = i;
        let m = this.kid[b + i]!;
        for (let l = lv - 1; l >= 0; l--) {
          const mb = m << Inner.FAN_BITS;
          let j = 0;
          while (mx[mb + j]! < size) j++;
          this.pathNode[l] = m;
          this.pathIdx[l] = j;
          m = this.kid[mb + j]!;
        }
        this.leaf = m;
        return m;
      }
    }
    return -1;
  }

  /**
   * First fit: the lowest interval holding `size` at a multiple of `align` inside `[lo, hi)`; its
   * handle (`foundAddr` set) or -1. Visits, in address order, only leaves whose largest interval is
   * big enough, from the leaf holding `lo` until one fits or `hi` is passed.
   */
  findFit(size: number, align: number, lo: number, hi: number): number {
    let x = this.down(lo);
    const st = this.st;
    const ln = this.ln;
    if (this.mx[(this.pathNode[0]! << Inner.FAN_BITS) + this.pathIdx[0]!]! < size) x = this.nextFitting(size);
    for (; x !== -1; x = this.nextFitting(size)) {
      const base = x * Leaf.CAP;
      const last = base + this.cnt[x]!;
      for (let k = base; k < last; k++) {
        const bs = st[k]!;
        const be = bs + ln[k]!;
        if (bs >= hi) return -1;
        if (be - bs < size || be <= lo) continue;
        let a = bs > lo ? bs : lo;
        const rem = a % align; // exact on doubles: no 32-bit truncation of 48-bit addresses
        if (rem !== 0) a += align - rem;
        if (a + size <= (be < hi ? be : hi)) {
          this.foundAddr = a;
          return k;
        }
      }
    }
    return -1;
  }

  // ---- changes

  /** Removes `[a, b)` from interval `k` (the last `locate` / `find…` answer), which holds it. */
  carve(k: number, a: number, b: number): void {
    const x = this.leaf;
    const st = this.st;
    const ln = this.ln;
    const s = st[k]!;
    const len = ln[k]!;
    const e = s + len;
    const base = x * Leaf.CAP;
    const c = this.cnt[x]!;
    const wasMax = len === this.mx[(this.pathNode[0]! << Inner.FAN_BITS) + this.pathIdx[0]!];
    if (a === s) {
      if (b === e) {
        this.removeEntry(k);
        return;
      }
      st[k] = b;
      ln[k] = e - b;
      if (k === base) this.setKey(0, b);
    } else {
      ln[k] = a - s;
      if (b < e) {
        if (c === Leaf.CAP) {
          this.insertEntry(b, e - b);
          this.fixPath(this.down(s));
          return;
        }
        for (let j = base + c; j > k + 1; j--) {
          st[j] = st[j - 1]!;
          ln[j] = ln[j - 1]!;
        }
        st[k + 1] = b;
        ln[k + 1] = e - b;
        this.cnt[x] = c + 1;
        this.count++;
      }
    }
    if (wasMax) this.raise(0, this.leafMax(x));
  }

  /** Adds the free interval `[a, e)`, merging with free neighbours (none may overlap it). */
  insert(a: number, e: number): void {
    const x = this.down(a);
    const st = this.st;
    const ln = this.ln;
    const base = x * Leaf.CAP;
    const c = this.cnt[x]!;
    const j = this.after(x, a);
    // The intervals just before and after [a, e), when they are in this leaf.
    const prevEnds = j > base ? st[j - 1]! + ln[j - 1]! === a : this.lastEndBefore(x) === a;
    const nextStarts = j < base + c ? st[j] === e : this.firstStartAfter(x) === e;
    if ((prevEnds && j === base) || (nextStarts && j === base + c)) {
      this.insertAcross(a, e, prevEnds, nextStarts);
      return;
    }
    let m: number;
    if (prevEnds) {
      if (nextStarts) {
        m = st[j]! + ln[j]! - st[j - 1]!;
        ln[j - 1] = m;
        this.shiftOut(base, c, j);
      } else {
        m = e - st[j - 1]!;
        ln[j - 1] = m;
      }
    } else if (nextStarts) {
      m = st[j]! + ln[j]! - a;
      st[j] = a;
      ln[j] = m;
      if (j === base) this.setKey(0, a);
    } else {
      if (c === Leaf.CAP) {
        this.insertEntry(a, e - a);
        return;
      }
      for (let i = base + c; i > j; i--) {
        st[i] = st[i - 1]!;
        ln[i] = ln[i - 1]!;
      }
      st[j] = a;
      m = e - a;
      ln[j] = m;
      this.cnt[x] = c + 1;
      this.count++;
      if (j === base) this.setKey(0, a);
    }
    if (m > this.mx[(this.pathNode[0]! << Inner.FAN_BITS) + this.pathIdx[0]!]!) this.raise(0, m);
  }

  /** The end of the last interval of the leaf before `x`, or -1. */
  private lastEndBefore(x: number): number {
    const p = this.prv[x]!;
    if (p < 0) return -1;
    const k = p * Leaf.CAP + this.cnt[p]! - 1;
    return this.st[k]! + this.ln[k]!;
  }

  /** The start of the first interval of the leaf after `x`, or -1. */
  private firstStartAfter(x: number): number {
    const q = this.nxt[x]!;
    return q < 0 ? -1 : this.st[q * Leaf.CAP]!;
  }

  /** `insert` when a neighbour to merge with is in the leaf before or after (rare): through the tree. */
  private insertAcross(a: number, e: number, prevEnds: boolean, nextStarts: boolean): void {
    if (nextStarts) {
      const k = this.locate(e);
      e += this.ln[k]!;
      this.removeEntry(k);
    }
    if (prevEnds) {
      const k = this.locate(a - 1); // the interval ending at a
      this.ln[k] = e - this.st[k]!;
      this.fixPath(this.leaf);
    } else this.insertEntry(a, e - a);
  }

  /** Removes entry `j` of the leaf at `base` (holding `c`); the caller updates a changed first start. */
  private shiftOut(base: number, c: number, j: number): void {
    const st = this.st;
    const ln = this.ln;
    for (let i = j; i < base + c - 1; i++) {
      st[i] = st[i + 1]!;
      ln[i] = ln[i + 1]!;
    }
    st[base + c - 1] = 0;
    ln[base + c - 1] = 0;
    this.cnt[base / Leaf.CAP] = c - 1;
    this.count--;
  }

  /** Inserts interval (s, l) at its place, splitting a full leaf; the path's largest values refreshed. */
  private insertEntry(s: number, l: number): void {
    let x = this.down(s);
    if (this.cnt[x] === Leaf.CAP) {
      this.splitLeaf(x);
      x = this.down(s);
    }
    const st = this.st;
    const ln = this.ln;
    const base = x * Leaf.CAP;
    const c = this.cnt[x]!;
    let j = base + c;
    for (; j > base && st[j - 1]! > s; j--) {
      st[j] = st[j - 1]!;
      ln[j] = ln[j - 1]!;
    }
    st[j] = s;
    ln[j] = l;
    this.cnt[x] = c + 1;
    this.count++;
    if (j === base) this.setKey(0, s);
    this.fixPath(x);
  }

  /** Removes interval `k` (the last descent's), and its leaf if it empties (unless it is the only one). */
  private removeEntry(k: number): void {
    const x = this.leaf;
    const base = x * Leaf.CAP;
    const c = this.cnt[x]!;
    if (c > 1) {
      this.shiftOut(base, c, k);
      if (k === base) this.setKey(0, this.st[base]!);
      this.fixPath(x);
      return;
    }
    this.st[base] = 0;
    this.ln[base] = 0;
    this.cnt[x] = 0;
    this.count--;
    if (this.height === 1 && this.ncnt[this.root] === 1) {
      this.fixPath(x); // the only leaf stays, empty: nothing is free
      return;
    }
    const p = this.prv[x]!;
    const q = this.nxt[x]!;
    if (p >= 0) this.nxt[p] = q;
    if (q >= 0) this.prv[q] = p;
    this.freeLeaves.push(x);
    this.removeChild(0);
  }

  /** The first start of the path's child at level `lv` changed to `v`: writes it up while that child is a first child. */
  private setKey(lv: number, v: number): void {
    for (; lv < this.height; lv++) {
      this.key[(this.pathNode[lv]! << Inner.FAN_BITS) + this.pathIdx[lv]!] = v;
      if (this.pathIdx[lv] !== 0) return;
    }
  }

  /** Removes the path's child at level `lv` from its node; a node left empty goes, a root left with one child too. */
  private removeChild(lv: number): void {
    const n = this.pathNode[lv]!;
    const i = this.pathIdx[lv]!;
    const b = n << Inner.FAN_BITS;
    const c = this.ncnt[n]!;
    for (let j = b + i; j < b + c - 1; j++) {
      this.key[j] = this.key[j + 1]!;
      this.mx[j] = this.mx[j + 1]!;
      this.kid[j] = this.kid[j + 1]!;
    }
    this.key[b + c - 1] = 0;
    this.mx[b + c - 1] = 0;
    this.kid[b + c - 1] = 0;
    this.ncnt[n] = c - 1;
    if (c === 1) {
      // Never the root: a root at height > 1 keeps two children or collapses, and at height 1 its last leaf stays.
      this.freeNodes.push(n);
      this.removeChild(lv + 1);
      return;
    }
    if (i === 0) this.setKey(lv + 1, this.key[b]!);
    let m = this.nodeMax(n);
    for (let l = lv + 1; l < this.height; l++) {
      const p = this.pathNode[l]!;
      this.mx[(p << Inner.FAN_BITS) + this.pathIdx[l]!] = m;
      m = this.nodeMax(p);
    }
    this.top = m;
    // A root above height 1 keeps two children: one child becomes the root.
    while (this.height > 1 && this.ncnt[this.root] === 1) {
      const r = this.root;
      const rb = r << Inner.FAN_BITS;
      this.root = this.kid[rb]!;
      this.kid[rb] = 0;
      this.key[rb] = 0;
      this.mx[rb] = 0;
      this.ncnt[r] = 0;
      this.freeNodes.push(r);
      this.height--;
    }
  }

  /** Splits full leaf `x` (the last descent's) in two halves; the parent takes the second. */
  private splitLeaf(x: number): void {
    const y = this.newLeaf();
    const xb = x * Leaf.CAP;
    const yb = y * Leaf.CAP;
    this.st.copyWithin(yb, xb + Leaf.HALF, xb + Leaf.CAP);
    this.ln.copyWithin(yb, xb + Leaf.HALF, xb + Leaf.CAP);
    this.st.fill(0, xb + Leaf.HALF, xb + Leaf.CAP);
    this.ln.fill(0, xb + Leaf.HALF, xb + Leaf.CAP);
    this.cnt[x] = Leaf.HALF;
    this.cnt[y] = Leaf.CAP - Leaf.HALF;
    const q = this.nxt[x]!;
    this.nxt[y] = q;
    this.prv[y] = x;
    if (q >= 0) this.prv[q] = y;
    this.nxt[x] = y;
    this.mx[(this.pathNode[0]! << Inner.FAN_BITS) + this.pathIdx[0]!] = this.leafMax(x);
    this.addChild(0, y, this.st[yb]!, this.leafMax(y));
  }

  /** Adds `child` right after the path's child at level `lv`; a node that fills splits and its parent takes the new half. */
  private addChild(lv: number, child: number, k: number, m: number): void {
    if (lv === this.height) {
      const r = this.newNode();
      const old = this.root;
      const rb = r << Inner.FAN_BITS;
      this.kid[rb] = old;
      this.key[rb] = this.key[old << Inner.FAN_BITS]!;
      this.mx[rb] = this.nodeMax(old);
      this.kid[rb + 1] = child;
      this.key[rb + 1] = k;
      this.mx[rb + 1] = m;
      this.ncnt[r] = 2;
      this.root = r;
      this.height++;
      return;
    }
    const n = this.pathNode[lv]!;
    const b = n << Inner.FAN_BITS;
    const c = this.ncnt[n]!;
    const i = this.pathIdx[lv]! + 1;
    for (let j = b + c; j > b + i; j--) {
      this.key[j] = this.key[j - 1]!;
      this.mx[j] = this.mx[j - 1]!;
      this.kid[j] = this.kid[j - 1]!;
    }
    this.key[b + i] = k;
    this.mx[b + i] = m;
    this.kid[b + i] = child;
    this.ncnt[n] = c + 1;
    if (c + 1 < Inner.FAN) return;
    const o = this.newNode();
    const ob = o << Inner.FAN_BITS;
    this.key.copyWithin(ob, b + Inner.FAN_HALF, b + Inner.FAN);
    this.mx.copyWithin(ob, b + Inner.FAN_HALF, b + Inner.FAN);
    this.kid.copyWithin(ob, b + Inner.FAN_HALF, b + Inner.FAN);
    this.key.fill(0, b + Inner.FAN_HALF, b + Inner.FAN);
    this.mx.fill(0, b + Inner.FAN_HALF, b + Inner.FAN);
    this.kid.fill(0, b + Inner.FAN_HALF, b + Inner.FAN);
    this.ncnt[n] = Inner.FAN_HALF;
    this.ncnt[o] = Inner.FAN - Inner.FAN_HALF;
    if (lv + 1 < this.height) this.mx[(this.pathNode[lv + 1]! << Inner.FAN_BITS) + this.pathIdx[lv + 1]!] = this.nodeMax(n);
    this.addChild(lv + 1, o, this.key[ob]!, this.nodeMax(o));
  }

  /** Recomputes the largest values on the path of the last descent, which ends at leaf `x`, from the bottom. */
  private fixPath(x: number): void {
    let m = this.leafMax(x);
    for (let lv = 0; lv < this.height; lv++) {
      const n = this.pathNode[lv]!;
      this.mx[(n << Inner.FAN_BITS) + this.pathIdx[lv]!] = m;
      m = this.nodeMax(n);
    }
    this.top = m;
  }

  /**
   * The path's child at level `lv` now has largest interval `m`: updates the nodes above, stopping
   * where a node's largest does not change (a node rescans its children only when the child that
   * held its largest shrank).
   */
  private raise(lv: number, m: number): void {
    const mx = this.mx;
    for (; lv < this.height; lv++) {
      const n = this.pathNode[lv]!;
      const b = n << Inner.FAN_BITS;
      const at = b + this.pathIdx[lv]!;
      const old = mx[at]!;
      if (old === m) return;
      mx[at] = m;
      const nodeOld = lv + 1 < this.height ? mx[(this.pathNode[lv + 1]! << Inner.FAN_BITS) + this.pathIdx[lv + 1]!]! : this.top;
      let v = m;
      if (m < nodeOld) {
        if (old < nodeOld) return; // the node's largest is another child's
        for (let j = b, e = b + this.ncnt[n]!; j < e; j++) if (mx[j]! > v) v = mx[j]!;
        if (v === nodeOld) return;
      }
      m = v;
    }
    this.top = m;
  }

  private leafMax(x: number): number {
    let m = 0;
    const ln = this.ln;
    for (let k = x * Leaf.CAP, e = k + this.cnt[x]!; k < e; k++) if (ln[k]! > m) m = ln[k]!;
    return m;
  }

  private nodeMax(n: number): number {
    let m = 0;
    const mx = this.mx;
    for (let j = n << Inner.FAN_BITS, e = j + this.ncnt[n]!; j < e; j++) if (mx[j]! > m) m = mx[j]!;
    return m;
  }

  private newLeaf(): number {
    const reuse = this.freeLeaves.pop();
    if (reuse !== undefined) return reuse;
    if (this.leafTop === this.cnt.length) {
      const c = this.cnt.length * 2;
      this.st = grow(this.st, c * Leaf.CAP);
      this.ln = grow(this.ln, c * Leaf.CAP);
      this.cnt = grow(this.cnt, c);
      this.nxt = grow(this.nxt, c);
      this.prv = grow(this.prv, c);
    }
    return this.leafTop++;
  }

  private newNode(): number {
    const reuse = this.freeNodes.pop();
    if (reuse !== undefined) return reuse;
    if (this.nodeTop === this.ncnt.length) {
      const c = this.ncnt.length * 2;
      this.key = grow(this.key, c * Inner.FAN);
      this.mx = grow(this.mx, c * Inner.FAN);
      this.kid = grow(this.kid, c * Inner.FAN);
      this.ncnt = grow(this.ncnt, c);
    }
    return this.nodeTop++;
  }

  /**
   * Throws unless the intervals are in order, non-empty and never adjacent; every leaf holds 1 to
   * 32 (one empty leaf only when nothing is free), its unused slots cleared, and is linked to its
   * neighbours; every node holds 1 to 15 children (a root above height 1 at least 2), all leaves at
   * one depth, and its first starts and largest values are true; no slot leaks; `count` is right.
   * Calls `visit` on each interval in order.
   */
  check(fail: (msg: string) => never, visit: (start: number, end: number) => void): void {
    let prevEnd = -1;
    let total = 0;
    let leaves = 0;
    let nodes = 0;
    let prevLeaf = -1;
    const leaf = (x: number): number => {
      leaves++;
      const c = this.cnt[x]!;
      if (c > Leaf.CAP || c < (this.height === 1 && this.ncnt[this.root] === 1 ? 0 : 1)) fail(`free leaf ${x} holds ${c} intervals`);
      if (this.prv[x] !== prevLeaf) fail(`free leaf ${x} links back to ${this.prv[x]}, not ${prevLeaf}`);
      if (prevLeaf >= 0 && this.nxt[prevLeaf] !== x) fail(`free leaf ${prevLeaf} links on to ${this.nxt[prevLeaf]}, not ${x}`);
      prevLeaf = x;
      for (let k = x * Leaf.CAP + c; k < (x + 1) * Leaf.CAP; k++) if (this.st[k] !== 0 || this.ln[k] !== 0) fail(`free leaf ${x} slot ${k - x * Leaf.CAP} not cleared`);
      for (let k = x * Leaf.CAP; k < x * Leaf.CAP + c; k++) {
        const s = this.st[k]!;
        const e = s + this.ln[k]!;
        if (!(e > s)) fail(`empty free interval at ${s}`);
        if (s <= prevEnd) fail(`free intervals out of order or adjacent at ${s}`);
        prevEnd = e;
        total++;
        visit(s, e);
      }
      return this.leafMax(x);
    };
    const node = (n: number, lv: number): number => {
      nodes++;
      const c = this.ncnt[n]!;
      if (c < (n === this.root && this.height > 1 ? 2 : 1) || c >= Inner.FAN) fail(`free tree node ${n} holds ${c} children`);
      const b = n << Inner.FAN_BITS;
      let max = 0;
      for (let i = 0; i < c; i++) {
        const ch = this.kid[b + i]!;
        const m = lv === 0 ? leaf(ch) : node(ch, lv - 1);
        const first = lv === 0 ? (this.cnt[ch] === 0 ? this.key[b + i] : this.st[ch * Leaf.CAP]) : this.key[ch << Inner.FAN_BITS];
        if (this.key[b + i] !== first) fail(`free tree node ${n} child ${i} has first start ${this.key[b + i]}, true ${first}`);
        if (this.mx[b + i] !== m) fail(`free tree node ${n} child ${i} has largest ${this.mx[b + i]}, true ${m}`);
        if (m > max) max = m;
      }
      for (let i = c; i < Inner.FAN; i++) if (this.kid[b + i] !== 0 || this.mx[b + i] !== 0) fail(`free tree node ${n} slot ${i} not cleared`);
      return max;
    };
    const max = node(this.root, this.height - 1);
    if (max !== this.top) fail(`free tree largest of all ${this.top}, true ${max}`);
    if (this.nxt[prevLeaf] !== -1) fail(`last free leaf ${prevLeaf} links on to ${this.nxt[prevLeaf]}`);
    if (total !== this.count) fail(`free tree holds ${total} intervals, count says ${this.count}`);
    if (leaves + this.freeLeaves.length !== this.leafTop) fail(`free leaves leak: ${leaves} live + ${this.freeLeaves.length} free != ${this.leafTop}`);
    if (nodes + this.freeNodes.length !== this.nodeTop) fail(`free tree nodes leak: ${nodes} live + ${this.freeNodes.length} free != ${this.nodeTop}`);
  }
}
