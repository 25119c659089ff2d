/* eslint-disable @typescript-eslint/no-unsafe-enum-comparison -- the const enum below holds named numeric constants (inlined by esbuild) */
import { grow } from '../src/grow';

const enum Leaf {
  /** Blocks per leaf (a full leaf splits in two halves before an insert). */
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
 * Every block, free and in use, in one B+-tree keyed by address: the blocks tile the managed range
 * in address order. A leaf holds up to 32 blocks: each one's start (`st`), signed length (`ln`: > 0
 * free, < 0 in use, its length negated) and tag id (`tg`, 0 for free blocks); leaves are linked in
 * address order. An inner node holds, for each of its children side by side, the child's first
 * start (`key`), the largest free length under it (`mx`) and the child's id (`kid`).
 *
 * First fit descends by `mx` (the first child whose largest free block fits) and scans one leaf
 * for the first length that fits (an in-use block's negative length never does); `free` descends
 * by `key` and finds the block by binary search in one leaf, whose neighbours are, except at the
 * leaf's two ends, in the same leaf. So an operation touches one leaf and a path of small nodes
 * (which stay cached), and a split or a merge only changes the nodes on one path: nothing is
 * indexed by position.
 *
 * A replay prototype (bench/components.ts), not the package's index: see the README, "Benchmarks".
 * Addresses are doubles, exact for every safe integer; no 32-bit operator touches one.
 */
export class BlockTree {
  // Leaves: entry k of leaf x is at x * CAP + j.
  private st = new Float64Array(Leaf.CAP * 4);
  private ln = new Float64Array(Leaf.CAP * 4);
  private tg = new Int32Array(Leaf.CAP * 4);
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
  /** The largest free length of all. */
  private top = 0;
  /** The path of the last descent: the node at each level and the child taken. */
  private readonly pathNode = new Int32Array(MAX_LEVELS);
  private readonly pathIdx = new Int32Array(MAX_LEVELS);
  /** The leaf of the last descent. */
  private leaf = 0;
  /** Free and in-use blocks held. */
  freeCount = 0;
  usedCount = 0;
  /** The tag id of the block `freeBlock` last freed. */
  removedTag = 0;

  constructor(
    readonly start: number,
    readonly end: number,
  ) {
    const x = this.newLeaf();
    const n = this.newNode();
    this.root = n;
    this.kid[n * Inner.FAN] = x;
    this.ncnt[n] = 1;
    this.nxt[x] = -1;
    this.prv[x] = -1;
    this.st[x * Leaf.CAP] = start;
    this.ln[x * Leaf.CAP] = end - start;
    this.cnt[x] = 1;
    this.key[n * Inner.FAN] = start;
    this.mx[n * Inner.FAN] = end - start;
    this.top = end - start;
    this.freeCount = 1;
  }

  clone(): BlockTree {
    const c = new BlockTree(this.start, this.end);
    c.st = this.st.slice();
    c.ln = this.ln.slice();
    c.tg = this.tg.slice();
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
    c.freeCount = this.freeCount;
    c.usedCount = this.usedCount;
    return c;
  }

  /** The largest free length (0 if none). */
  largest(): number {
    return this.top;
  }

  // ---- entries, by handle (the absolute index `locate` and the finders return)

  startOf(k: number): number {
    return this.st[k]!;
  }
  /** The block's length, negative when in use. */
  signedLength(k: number): number {
    return this.ln[k]!;
  }
  endOf(k: number): number {
    const l = this.ln[k]!;
    return this.st[k]! + (l < 0 ? -l : l);
  }
  tagOf(k: number): number {
    return this.tg[k]!;
  }
  /** The entry after `k` (in the leaf of the last descent, which holds k), or -1 at the end; moves to its leaf. */
  nextOf(k: number): number {
    const x = this.leaf;
    if (k + 1 < x * Leaf.CAP + this.cnt[x]!) return k + 1;
    const y = this.nxt[x]!;
    if (y < 0) return -1;
    this.leaf = y;
    return y * Leaf.CAP;
  }

  // ---- descents

  /** Descends to the leaf whose range holds `addr`, recording the path. */
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

  /** The block holding `addr` (inside the managed range): its handle. */
  locate(addr: number): number {
    const x = this.down(addr);
    const st = this.st;
    let lo = x * Leaf.CAP;
    let hi = lo + this.cnt[x]! - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (st[mid]! <= addr) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** First fit with no alignment or window: the lowest free block of at least `size`, or -1. */
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
    return k;
  }

  /**
   * From the path of the last descent, the next leaf in address order whose largest free block is
   * at least `size` (the path moved to it), or -1.
   */
  private nextFitting(size: number): number {
    const mx = this.mx;
    for (let lv = 0; lv < this.height; lv++) {
      const n = this.pathNode[lv]!;
      const b = n << Inner.FAN_BITS;
      const c = this.ncnt[n]!;
      for (let i = this.pathIdx[lv]! + 1; i < c; i++) {
        if (mx[b + i]! >= size) {
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
    }
    return -1;
  }

  /** Sets by findFit: the aligned address found. */
  foundAddr = 0;

  /**
   * First fit: the lowest free block holding `size` at a multiple of `align` inside `[lo, hi)`; its
   * handle (`foundAddr` set) or -1. Visits, in address order, only leaves whose largest free block
   * is big enough, from the leaf holding `lo` until one fits or `hi` is passed.
   */
  findFit(size: number, align: number, lo: number, hi: number): number {
    let x = this.down(lo);
    const st = this.st;
    const ln = this.ln;
    if (this.mx[(this.pathNode[0]! << Inner.FAN_BITS) + this.pathIdx[0]!]! < size) x = this.nextFitting(size);
    for (; x !== -1; x = this.nextFitting(size)) {
      const base = x * Leaf.CAP;
      if (st[base]! >= hi) return -1;
      const last = base + this.cnt[x]!;
      for (let k = base; k < last; k++) {
        const bs = st[k]!;
        const l = ln[k]!;
        if (bs >= hi) return -1;
        const be = bs + l;
        if (l < size || be <= lo) continue;
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

  /**
   * Makes `[a, b)` an in-use block tagged `tagId`, inside free block `k` (the last descent's
   * answer): the free block splits into up to three.
   */
  carve(k: number, a: number, b: number, tagId: number): void {
    const x = this.leaf;
    const st = this.st;
    const ln = this.ln;
    const tg = this.tg;
    const s = st[k]!;
    const len = ln[k]!;
    const e = s + len;
    const base = x * Leaf.CAP;
    const c = this.cnt[x]!;
    const adds = (a > s ? 1 : 0) + (b < e ? 1 : 0);
    this.usedCount++;
    this.freeCount += adds - 1;
    if (c + adds > Leaf.CAP) {
      this.carveSlow(k, s, e, a, b, tagId);
      return;
    }
    const pm = (this.pathNode[0]! << Inner.FAN_BITS) + this.pathIdx[0]!;
    const wasMax = len === this.mx[pm];
    if (adds !== 0) {
      for (let j = base + c - 1; j > k; j--) {
        st[j + adds] = st[j]!;
        ln[j + adds] = ln[j]!;
        tg[j + adds] = tg[j]!;
      }
      this.cnt[x] = c + adds;
    }
    let j = k;
    if (a > s) {
      ln[j] = a - s; // stays free, tag 0
      j++;
      st[j] = a;
    }
    ln[j] = a - b;
    tg[j] = tagId;
    if (b < e) {
      st[j + 1] = b;
      ln[j + 1] = e - b;
      tg[j + 1] = 0;
    }
    if (wasMax) this.raise(0, this.leafMax(x));
  }

  private carveSlow(k: number, s: number, e: number, a: number, b: number, tagId: number): void {
    if (a > s) {
      this.ln[k] = a - s;
      this.insert(a, a - b, tagId);
    } else {
      this.ln[k] = a - b;
      this.tg[k] = tagId;
    }
    if (b < e) this.insert(b, e - b, 0);
    this.fixPath(this.down(s));
    this.fixPath(this.down(a));
  }

  /**
   * Frees the in-use block starting at `addr`, merging it with free neighbours: returns its end,
   * its tag id in `removedTag`; or 0, changing nothing, if no in-use block starts at `addr`.
   */
  freeBlock(addr: number): number {
    const k = this.locate(addr);
    const ln = this.ln;
    const len = -ln[k]!;
    if (this.st[k] !== addr || len <= 0) return 0;
    this.removedTag = this.tg[k]!;
    this.tg[k] = 0;
    this.usedCount--;
    this.freeCount++;
    const x = this.leaf;
    const base = x * Leaf.CAP;
    const c = this.cnt[x]!;
    // A neighbour in the next or previous leaf: merging with it goes through the tree (rare).
    let pf: boolean;
    let nf: boolean;
    if (k === base) {
      const p = this.prv[x]!;
      if (p >= 0 && ln[p * Leaf.CAP + this.cnt[p]! - 1]! > 0) return this.freeSlow(k, addr, len);
      pf = false;
    } else pf = ln[k - 1]! > 0;
    if (k === base + c - 1) {
      const q = this.nxt[x]!;
      if (q >= 0 && ln[q * Leaf.CAP]! > 0) return this.freeSlow(k, addr, len);
      nf = false;
    } else nf = ln[k + 1]! > 0;
    let m = len;
    if (pf) {
      m += ln[k - 1]!;
      if (nf) m += ln[k + 1]!;
      ln[k - 1] = m;
      this.shiftOut(base, c, k, nf ? 2 : 1);
    } else if (nf) {
      m += ln[k + 1]!;
      ln[k] = m;
      this.shiftOut(base, c, k + 1, 1);
    } else {
      ln[k] = m;
    }
    if (m > this.mx[(this.pathNode[0]! << Inner.FAN_BITS) + this.pathIdx[0]!]!) this.raise(0, m);
    return addr + len;
  }

  /** Removes `d` entries of leaf `base` (holding `c`) from entry `k` on (none of them the first; the leaf keeps one). */
  private shiftOut(base: number, c: number, k: number, d: number): void {
    const st = this.st;
    const ln = this.ln;
    const tg = this.tg;
    const last = base + c - d;
    for (let j = k; j < last; j++) {
      st[j] = st[j + d]!;
      ln[j] = ln[j + d]!;
      tg[j] = tg[j + d]!;
    }
    for (let j = last; j < base + c; j++) {
      st[j] = 0;
      ln[j] = 0;
      tg[j] = 0;
    }
    this.cnt[base / Leaf.CAP] = c - d;
    this.freeCount -= d;
  }

  /** `freeBlock` at a leaf's first or last entry: merges through the tree. */
  private freeSlow(k: number, addr: number, len: number): number {
    this.ln[k] = len;
    this.fixPath(this.leaf);
    const e = addr + len;
    if (e < this.end) {
      const j = this.locate(e);
      const l = this.ln[j]!;
      if (l > 0) {
        this.removeEntry(j);
        this.lengthen(this.locate(addr), l);
        this.fixPath(this.leaf);
      }
    }
    if (addr > this.start) {
      const j = this.locate(addr - 1);
      if (this.ln[j]! > 0) {
        const i = this.locate(addr);
        const l = this.ln[i]!;
        this.removeEntry(i);
        this.lengthen(this.locate(addr - 1), l);
        this.fixPath(this.leaf);
      }
    }
    return addr + len;
  }

  /** Lengthens free block `k` by `l`. */
  private lengthen(k: number, l: number): void {
    this.ln[k] = this.ln[k]! + l;
  }

  /**
   * Splits in-use block `k` (the last descent's answer) at `at` (inside it): `[at, end)` becomes
   * its own in-use block with tag id `tagId`.
   */
  splitUsed(k: number, at: number, tagId: number): void {
    const s = this.st[k]!;
    const e = s - this.ln[k]!;
    this.ln[k] = s - at;
    this.insert(at, at - e, tagId);
    this.usedCount++;
  }

  /** Inserts entry (s, l, t) at its place (the block before it already shortened), splitting a full leaf. */
  private insert(s: number, l: number, t: number): void {
    let x = this.down(s);
    if (this.cnt[x] === Leaf.CAP) {
      this.splitLeaf(x);
      x = this.down(s);
    }
    const st = this.st;
    const ln = this.ln;
    const tg = this.tg;
    const base = x * Leaf.CAP;
    const c = this.cnt[x]!;
    let j = base + c;
    for (; j > base && st[j - 1]! > s; j--) {
      st[j] = st[j - 1]!;
      ln[j] = ln[j - 1]!;
      tg[j] = tg[j - 1]!;
    }
    st[j] = s;
    ln[j] = l;
    tg[j] = t;
    this.cnt[x] = c + 1;
    this.fixPath(x);
  }

  /** Removes entry `k` (the last descent's answer), and its leaf if it empties. */
  private removeEntry(k: number): void {
    const x = this.leaf;
    const base = x * Leaf.CAP;
    const c = this.cnt[x]!;
    if (c === 1) {
      this.cnt[x] = 0;
      this.st[base] = 0;
      this.ln[base] = 0;
      this.tg[base] = 0;
      this.freeCount--;
      const p = this.prv[x]!;
      const q = this.nxt[x]!;
      if (p >= 0) this.nxt[p] = q;
      if (q >= 0) this.prv[q] = p;
      this.freeLeaves.push(x);
      this.removeChild(0);
      return;
    }
    this.shiftOut(base, c, k, 1);
    if (k === base) this.setKey(0, this.st[base]!);
    this.fixPath(x);
  }

  /** The first key of the child at `lv` of the path changed to `v`: writes it up while it is a first child. */
  private setKey(lv: number, v: number): void {
    for (; lv < this.height; lv++) {
      this.key[(this.pathNode[lv]! << Inner.FAN_BITS) + this.pathIdx[lv]!] = v;
      if (this.pathIdx[lv] !== 0) return;
    }
  }

  /** Removes the path's child at level `lv` from its node; a node left empty goes, a root of one child too. */
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
      // Never the root: the tree always holds at least one block.
      this.freeNodes.push(n);
      this.removeChild(lv + 1);
      return;
    }
    if (i === 0) this.setKey(lv + 1, this.key[b]!);
    // Maxima from this node up.
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

  /** Splits full leaf `x` (the last descent's) in two halves. */
  private splitLeaf(x: number): void {
    const y = this.newLeaf();
    const xb = x * Leaf.CAP;
    const yb = y * Leaf.CAP;
    this.st.copyWithin(yb, xb + Leaf.HALF, xb + Leaf.CAP);
    this.ln.copyWithin(yb, xb + Leaf.HALF, xb + Leaf.CAP);
    this.tg.copyWithin(yb, xb + Leaf.HALF, xb + Leaf.CAP);
    this.st.fill(0, xb + Leaf.HALF, xb + Leaf.CAP);
    this.ln.fill(0, xb + Leaf.HALF, xb + Leaf.CAP);
    this.tg.fill(0, xb + Leaf.HALF, xb + Leaf.CAP);
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

  /** Adds `child` right after the path's child at level `lv`; a node that fills splits (its parent takes the new half). */
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

  /** Recomputes the maxima on the path of the last descent, which ends at leaf `x`, from the bottom. */
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
   * The child at level `lv` of the path now has largest free length `m`: updates the nodes above,
   * stopping where a node's largest does not change.
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
        // This child held the node's largest and shrank: the largest of the children.
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
      this.tg = grow(this.tg, c * Leaf.CAP);
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

  /** The handle of the first block, its leaf made current. */
  firstBlock(): number {
    let n = this.root;
    for (let lv = this.height - 1; lv >= 0; lv--) n = this.kid[n << Inner.FAN_BITS]!;
    this.leaf = n;
    return n * Leaf.CAP;
  }

  /**
   * Throws unless the blocks tile `[start, end)` in order, each non-empty, no two free ones
   * adjacent, free ones untagged; every leaf holds 1..32 blocks and is linked to its neighbours;
   * every node's keys, maxima and counts are true and its leaves at one depth; no slot leaks; the
   * counts are right. Calls `visit` on every block in order.
   */
  check(fail: (msg: string) => never, visit: (start: number, end: number, used: boolean, tagId: number) => void): void {
    let pos = this.start;
    let prevFree = false;
    let frees = 0;
    let useds = 0;
    let leaves = 0;
    let nodes = 0;
    let prevLeaf = -1;
    const walk = (n: number, lv: number): { first: number; max: number } => {
      nodes++;
      const c = this.ncnt[n]!;
      if (c < 1 || c >= Inner.FAN) fail(`block-tree node ${n} holds ${c} children`);
      const b = n << Inner.FAN_BITS;
      let max = 0;
      for (let i = 0; i < c; i++) {
        const ch = this.kid[b + i]!;
        const got = lv === 0 ? this.walkLeaf(ch, fail) : walk(ch, lv - 1);
        if (lv === 0) {
          leaves++;
          if (this.prv[ch] !== prevLeaf) fail(`block-tree leaf ${ch} links back to ${this.prv[ch]}, not ${prevLeaf}`);
          if (prevLeaf >= 0 && this.nxt[prevLeaf] !== ch) fail(`block-tree leaf ${prevLeaf} links on to ${this.nxt[prevLeaf]}, not ${ch}`);
          prevLeaf = ch;
          const base = ch * Leaf.CAP;
          for (let k = base; k < base + this.cnt[ch]!; k++) {
            const s = this.st[k]!;
            const l = this.ln[k]!;
            if (s !== pos) fail(`block at ${s} does not follow the previous block's end ${pos}`);
            if (!(l !== 0) || Number.isNaN(l)) fail(`empty block at ${s}`);
            if (l > 0) {
              if (prevFree) fail(`adjacent free blocks at ${s}`);
              if (this.tg[k] !== 0) fail(`free block at ${s} has tag id ${this.tg[k]}`);
              frees++;
            } else useds++;
            prevFree = l > 0;
            pos = s + Math.abs(l);
            visit(s, pos, l < 0, this.tg[k]!);
          }
        }
        if (this.key[b + i] !== got.first) fail(`block-tree node ${n} child ${i} has key ${this.key[b + i]}, first start ${got.first}`);
        if (this.mx[b + i] !== got.max) fail(`block-tree node ${n} child ${i} has max ${this.mx[b + i]}, true ${got.max}`);
        if (got.max > max) max = got.max;
      }
      for (let i = c; i < Inner.FAN; i++) if (this.kid[b + i] !== 0 || this.mx[b + i] !== 0) fail(`block-tree node ${n} slot ${i} not cleared`);
      return { first: this.key[b]!, max };
    };
    const got = walk(this.root, this.height - 1);
    if (got.max !== this.top) fail(`block-tree top ${this.top}, true ${got.max}`);
    if (pos !== this.end) fail(`the blocks end at ${pos}, not ${this.end}`);
    if (this.nxt[prevLeaf] !== -1) fail(`last leaf ${prevLeaf} links on to ${this.nxt[prevLeaf]}`);
    if (frees !== this.freeCount || useds !== this.usedCount) fail(`block-tree holds ${frees} free and ${useds} in-use blocks, counts say ${this.freeCount} and ${this.usedCount}`);
    if (leaves + this.freeLeaves.length !== this.leafTop) fail(`block-tree leaves leak: ${leaves} live + ${this.freeLeaves.length} free != ${this.leafTop}`);
    if (nodes + this.freeNodes.length !== this.nodeTop) fail(`block-tree nodes leak: ${nodes} live + ${this.freeNodes.length} free != ${this.nodeTop}`);
  }

  private walkLeaf(x: number, fail: (msg: string) => never): { first: number; max: number } {
    const c = this.cnt[x]!;
    if (c < 1 || c > Leaf.CAP) fail(`block-tree leaf ${x} holds ${c} blocks`);
    for (let k = x * Leaf.CAP + c; k < (x + 1) * Leaf.CAP; k++) if (this.st[k] !== 0 || this.ln[k] !== 0 || this.tg[k] !== 0) fail(`block-tree leaf ${x} slot ${k - x * Leaf.CAP} not cleared`);
    return { first: this.st[x * Leaf.CAP]!, max: this.leafMax(x) };
  }
}
