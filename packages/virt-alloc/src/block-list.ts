/* eslint-disable @typescript-eslint/no-unsafe-enum-comparison -- the const enums below are named numeric constants (inlined by esbuild), compared with plain numbers on purpose */
import { TagTable } from './tag-table';

/** The null slot and the null block handle: leaf 0 is never used, its record is never written. */
export const NIL = 0;

// The blocks live in leaves of up to 32, in address order; an AVL tree indexes the leaves.
//
// Block handle h = leaf << 5 | index in the leaf. Block storage, by handle:
//   se   (f64): [2h] start, [2h + 1] end
//   meta (i32): [h] tag id << 1 | used
// Leaf / tree node record, 64 bytes per slot in one ArrayBuffer seen through two views:
//   f64 view, stride 8:  [0] start of the leaf's first block [1] end of its last block
//                        [2] maxFree of the left subtree [3] maxFree of the right subtree
//                        [4] largest free block in this leaf
//   i32 view, stride 16: [10] left [11] right [12] parent [13] prev leaf [14] next leaf
//                        [15] heights of the left (bits 0-7) and right (bits 8-15) subtrees
//   cnt  (i32): [leaf] number of blocks in the leaf (1..32)
// At 10^5 blocks the speed is bound by memory latency. A tree with one node per block is ~17
// levels deep and every level below the cached top is a dependent cache miss; with 32 blocks to a
// leaf the tree has ~20x fewer nodes (its records fit in L2), and the last step is a binary
// search inside one leaf, whose 512 bytes of addresses are adjacent in memory.
//
// Field offsets and sizes are const enums: esbuild inlines them as literals, where module-level
// `const`s would become `var`s that V8 loads at run time in the hottest loops.
const enum Stride {
  F_LOG2 = 3,
  I_LOG2 = 4,
}
/** Offsets in the node record's f64 view. */
const enum F {
  START = 0,
  END = 1,
  MAXL = 2,
  MAXR = 3,
  OWN = 4,
}
/** Offsets in the node record's i32 view. */
const enum I {
  LEFT = 10,
  RIGHT = 11,
  PARENT = 12,
  PREV = 13,
  NEXT = 14,
  HEIGHTS = 15,
}
const enum Leaf {
  LOG2 = 5,
  /** Blocks per leaf: 1 << LOG2. */
  CAP = 32,
  MASK = 31,
  /** A leaf left with fewer blocks merges into a neighbour when both fit in MERGE_MAX. */
  MIN = 8,
  MERGE_MAX = 24,
}
const RECORD_BYTES = 64;

/**
 * The ordered list of blocks and its index.
 *
 * The list (the model users see) is a sequence of leaves, each an array of up to 32 blocks in
 * address order, the leaves linked in address order (`prev`/`next`). The leaves are the nodes of
 * an AVL tree keyed by address (`left`/`right`/`parent`) whose in-order walk is that same sequence;
 * each node caches the largest free block size in each child subtree and in its own leaf. This is
 * the augmented tree Linux uses for vmalloc space (mm/vmalloc.c: `subtree_max_size` on an rbtree
 * of free areas), here over leaves of blocks (free and in use), so first fit, take and free are
 * O(log n) tree levels plus O(32) work inside one leaf.
 *
 * A block is named by its handle (leaf << 5 | index); handles change whenever the list changes
 * (blocks shift inside a leaf, leaves split and merge), so callers re-find after every edit.
 * Addresses and sizes are doubles: exact for every safe integer, so 48-bit and larger spaces work;
 * no 32-bit integer operator ever touches an address (shifts below apply to handles only).
 *
 * This class trusts its caller (VirtualAllocator validates everything first) and never throws
 * except from `check()`.
 * @internal
 */
export class BlockList<Tag> {
  private nf: Float64Array;
  private ni: Int32Array;
  private se: Float64Array;
  private meta: Int32Array;
  private cnt: Int32Array;
  /** Tag values by id; blocks hold the id. */
  private tags = new TagTable<Tag>();
  /** Leaf slots allocated (slot 0 is NIL). */
  capacity: number;
  root = NIL;
  /** The leaf holding the lowest addresses. */
  headLeaf = NIL;
  /** Live blocks. */
  count = 0;
  /** Head of the free list of leaf slots. */
  private freeSlot = NIL;
  /** The aligned address `findFirstFit` found in the block it returned. */
  foundAddr = 0;

  constructor(rangeStart: number, rangeEnd: number, capacity = 4) {
    this.capacity = capacity;
    const buf = new ArrayBuffer(capacity * RECORD_BYTES);
    this.nf = new Float64Array(buf);
    this.ni = new Int32Array(buf);
    this.se = new Float64Array(capacity << (Leaf.LOG2 + 1));
    this.meta = new Int32Array(capacity << Leaf.LOG2);
    this.cnt = new Int32Array(capacity);
    this.chainFreeSlots(1, capacity);
    if (rangeEnd > rangeStart) {
      const x = this.newNode();
      const h = x << Leaf.LOG2;
      this.se[h << 1] = rangeStart;
      this.se[(h << 1) + 1] = rangeEnd;
      this.cnt[x] = 1;
      this.count = 1;
      this.nf[(x << Stride.F_LOG2) + F.START] = rangeStart;
      this.nf[(x << Stride.F_LOG2) + F.END] = rangeEnd;
      this.nf[(x << Stride.F_LOG2) + F.OWN] = rangeEnd - rangeStart;
      this.root = x;
      this.headLeaf = x;
    }
  }

  /** A deep copy (for fork): same slots, same shape, independent buffers. */
  clone(): BlockList<Tag> {
    const c = new BlockList<Tag>(0, 0, 1);
    c.capacity = this.capacity;
    const buf = this.nf.buffer.slice(0);
    c.nf = new Float64Array(buf);
    c.ni = new Int32Array(buf);
    c.se = this.se.slice();
    c.meta = this.meta.slice();
    c.cnt = this.cnt.slice();
    c.tags = this.tags.clone();
    c.root = this.root;
    c.headLeaf = this.headLeaf;
    c.count = this.count;
    c.freeSlot = this.freeSlot;
    return c;
  }

  // ---- block access (small enough for the JIT to inline) -----------------------------------

  /** The first block in address order (NIL if none). */
  first(): number {
    return this.headLeaf << Leaf.LOG2;
  }
  /** First byte of block `h`. */
  startOf(h: number): number {
    return this.se[h << 1]!;
  }
  /** One past the last byte of block `h`. */
  endOf(h: number): number {
    return this.se[(h << 1) + 1]!;
  }
  /** The tag of block `h`. */
  tagOf(h: number): Tag | undefined {
    return this.tags.value(this.meta[h]! >>> 1);
  }
  /** 1 if block `h` is in use, else 0. */
  usedOf(h: number): number {
    return this.meta[h]! & 1;
  }
  /** The block after `h` in address order, or NIL. */
  nextOf(h: number): number {
    const x = h >>> Leaf.LOG2;
    if ((h & Leaf.MASK) + 1 < this.cnt[x]!) return h + 1;
    return this.ni[(x << Stride.I_LOG2) + I.NEXT]! << Leaf.LOG2;
  }
  /** The in-use block starting exactly at `addr`, or NIL. */
  usedBlockAt(addr: number): number {
    const h = this.find(addr);
    return this.se[h << 1] === addr && (this.meta[h]! & 1) !== 0 ? h : NIL;
  }
  /** The size of the largest free block, 0 if none. */
  largestFree(): number {
    return this.subMax(this.root);
  }

  // ---- slots -------------------------------------------------------------------------------

  private chainFreeSlots(from: number, to: number): void {
    const ni = this.ni;
    for (let x = to - 1; x >= from; x--) {
      ni[(x << Stride.I_LOG2) + I.NEXT] = this.freeSlot;
      this.freeSlot = x;
    }
  }

  private grow(): void {
    const old = this.capacity;
    const cap = old * 2;
    const buf = new ArrayBuffer(cap * RECORD_BYTES);
    new Uint8Array(buf).set(new Uint8Array(this.nf.buffer));
    this.nf = new Float64Array(buf);
    this.ni = new Int32Array(buf);
    const se = new Float64Array(cap << (Leaf.LOG2 + 1));
    se.set(this.se);
    this.se = se;
    const meta = new Int32Array(cap << Leaf.LOG2);
    meta.set(this.meta);
    this.meta = meta;
    const cnt = new Int32Array(cap);
    cnt.set(this.cnt);
    this.cnt = cnt;
    this.capacity = cap;
    this.chainFreeSlots(old, cap);
  }

  /** A new empty leaf, not yet in the tree. May grow the arrays: callers re-read them after. */
  private newNode(): number {
    if (this.freeSlot === NIL) this.grow();
    const x = this.freeSlot;
    const nf = this.nf;
    const ni = this.ni;
    const xi = x << Stride.I_LOG2;
    const xf = x << Stride.F_LOG2;
    this.freeSlot = ni[xi + I.NEXT]!;
    nf[xf + F.START] = 0;
    nf[xf + F.END] = 0;
    nf[xf + F.MAXL] = 0;
    nf[xf + F.MAXR] = 0;
    nf[xf + F.OWN] = 0;
    ni[xi + I.LEFT] = NIL;
    ni[xi + I.RIGHT] = NIL;
    ni[xi + I.PARENT] = NIL;
    ni[xi + I.PREV] = NIL;
    ni[xi + I.NEXT] = NIL;
    ni[xi + I.HEIGHTS] = 0;
    this.cnt[x] = 0;
    return x;
  }

  /** Returns slot `x` to the free list; its blocks must already be gone or moved (tags untouched). */
  private releaseNode(x: number): void {
    this.ni[(x << Stride.I_LOG2) + I.NEXT] = this.freeSlot;
    this.freeSlot = x;
    this.cnt[x] = 0;
  }

  // ---- tree maintenance ---------------------------------------------------------------------

  /** Largest free block size in the subtree rooted at `x` (0 for NIL), from x's record alone. */
  private subMax(x: number): number {
    if (x === NIL) return 0;
    const nf = this.nf;
    const xf = x << Stride.F_LOG2;
    let m = nf[xf + F.OWN]!;
    const ml = nf[xf + F.MAXL]!;
    const mr = nf[xf + F.MAXR]!;
    if (ml > m) m = ml;
    if (mr > m) m = mr;
    return m;
  }

  /** Height of the subtree rooted at `x` (0 for NIL), from x's record alone. */
  private heightOf(x: number): number {
    if (x === NIL) return 0;
    const h = this.ni[(x << Stride.I_LOG2) + I.HEIGHTS]!;
    const hl = h & 0xff;
    const hr = h >>> 8;
    return (hl > hr ? hl : hr) + 1;
  }

  /** Caches the summary of child `c` in `p`'s record, on side `side` (I.LEFT or I.RIGHT). */
  private setChildSummary(p: number, side: I, c: number): void {
    const pf = p << Stride.F_LOG2;
    const pi = p << Stride.I_LOG2;
    const h = this.heightOf(c);
    const hs = this.ni[pi + I.HEIGHTS]!;
    if (side === I.LEFT) {
      this.nf[pf + F.MAXL] = this.subMax(c);
      this.ni[pi + I.HEIGHTS] = (hs & 0xff00) | h;
    } else {
      this.nf[pf + F.MAXR] = this.subMax(c);
      this.ni[pi + I.HEIGHTS] = (hs & 0xff) | (h << 8);
    }
  }

  private replaceChild(p: number, old: number, child: number): void {
    if (p === NIL) this.root = child;
    else {
      const pi = p << Stride.I_LOG2;
      if (this.ni[pi + I.LEFT] === old) this.ni[pi + I.LEFT] = child;
      else this.ni[pi + I.RIGHT] = child;
    }
  }

  /**
   * Rotates `x` down to side `down` (I.LEFT or I.RIGHT); its child `y` on the other side comes up.
   * Refreshes the cached summaries inside x and y; x's old parent is left to the caller (fixUp
   * compares its cache with y's new summary to decide whether to go on).
   */
  private rotate(x: number, down: I): number {
    const up = down === I.LEFT ? I.RIGHT : I.LEFT;
    const ni = this.ni;
    const xi = x << Stride.I_LOG2;
    const y = ni[xi + up]!;
    const yi = y << Stride.I_LOG2;
    const b = ni[yi + down]!;
    const p = ni[xi + I.PARENT]!;
    ni[xi + up] = b;
    if (b !== NIL) ni[(b << Stride.I_LOG2) + I.PARENT] = x;
    this.setChildSummary(x, up, b);
    ni[yi + down] = x;
    ni[xi + I.PARENT] = y;
    ni[yi + I.PARENT] = p;
    this.replaceChild(p, x, y);
    this.setChildSummary(y, down, x);
    return y;
  }

  /** Restores the AVL balance at `x` (its cached child heights are current); returns the subtree's root. */
  private rebalance(x: number): number {
    const ni = this.ni;
    const h = ni[(x << Stride.I_LOG2) + I.HEIGHTS]!;
    const hl = h & 0xff;
    const hr = h >>> 8;
    if (hl > hr + 1) {
      const lh = ni[(ni[(x << Stride.I_LOG2) + I.LEFT]! << Stride.I_LOG2) + I.HEIGHTS]!;
      if ((lh & 0xff) < lh >>> 8) this.rotate(ni[(x << Stride.I_LOG2) + I.LEFT]!, I.LEFT);
      return this.rotate(x, I.RIGHT);
    }
    if (hr > hl + 1) {
      const rh = ni[(ni[(x << Stride.I_LOG2) + I.RIGHT]! << Stride.I_LOG2) + I.HEIGHTS]!;
      if (rh >>> 8 < (rh & 0xff)) this.rotate(ni[(x << Stride.I_LOG2) + I.RIGHT]!, I.RIGHT);
      return this.rotate(x, I.LEFT);
    }
    return x;
  }

  /**
   * After the children of `x` changed (its cached child summaries are current), rebalances and
   * climbs: each parent's cache of the subtree below is refreshed, stopping at the first parent
   * whose cache already holds the subtree's height and maxFree (nothing above can change).
   */
  private fixUp(x: number): void {
    const ni = this.ni;
    const nf = this.nf;
    while (x !== NIL) {
      const y = this.rebalance(x);
      const p = ni[(y << Stride.I_LOG2) + I.PARENT]!;
      if (p === NIL) return;
      const pi = p << Stride.I_LOG2;
      const pf = p << Stride.F_LOG2;
      const m = this.subMax(y);
      const h = this.heightOf(y);
      const hs = ni[pi + I.HEIGHTS]!;
      if (ni[pi + I.LEFT] === y) {
        if ((hs & 0xff) === h) {
          // Height unchanged: nothing above needs rebalancing; only maxFree may still climb.
          if (nf[pf + F.MAXL] === m) return;
          nf[pf + F.MAXL] = m;
          this.touch(p);
          return;
        }
        nf[pf + F.MAXL] = m;
        ni[pi + I.HEIGHTS] = (hs & 0xff00) | h;
      } else {
        if (hs >>> 8 === h) {
          if (nf[pf + F.MAXR] === m) return;
          nf[pf + F.MAXR] = m;
          this.touch(p);
          return;
        }
        nf[pf + F.MAXR] = m;
        ni[pi + I.HEIGHTS] = (hs & 0xff) | (h << 8);
      }
      x = p;
    }
  }

  /**
   * After leaf `x`'s own largest free size changed, refreshes the cached maxima upwards, stopping
   * at the first parent whose cache already holds the new value. Each changed leaf is touched
   * once; the order does not matter (each climb repairs the caches above one change).
   */
  private touch(x: number): void {
    const nf = this.nf;
    const ni = this.ni;
    for (;;) {
      const p = ni[(x << Stride.I_LOG2) + I.PARENT]!;
      if (p === NIL) return;
      const m = this.subMax(x);
      const slot = (p << Stride.F_LOG2) + (ni[(p << Stride.I_LOG2) + I.LEFT] === x ? F.MAXL : F.MAXR);
      if (nf[slot] === m) return;
      nf[slot] = m;
      x = p;
    }
  }

  /** Links leaf `n` (its payload and own maximum set) into the sequence and tree right after leaf `x`. */
  private linkAfter(x: number, n: number): void {
    const ni = this.ni;
    const xi = x << Stride.I_LOG2;
    const ni_ = n << Stride.I_LOG2;
    const nx = ni[xi + I.NEXT]!;
    // In-order successor of x: its right child when x has none, else the leftmost node of x's right
    // subtree, which is x's successor in the sequence and has no left child.
    let p: number;
    let side: I;
    if (ni[xi + I.RIGHT] === NIL) {
      ni[xi + I.RIGHT] = n;
      p = x;
      side = I.RIGHT;
    } else {
      ni[(nx << Stride.I_LOG2) + I.LEFT] = n;
      p = nx;
      side = I.LEFT;
    }
    ni[ni_ + I.PARENT] = p;
    ni[ni_ + I.PREV] = x;
    ni[ni_ + I.NEXT] = nx;
    if (nx !== NIL) ni[(nx << Stride.I_LOG2) + I.PREV] = n;
    ni[xi + I.NEXT] = n;
    this.setChildSummary(p, side, n);
    this.fixUp(p);
  }

  /**
   * Removes leaf `x` from the sequence and the tree; its blocks must already be gone or moved.
   * When `x` has two children, its successor's leaf moves into slot `x` and the successor's slot
   * is the one unlinked: after this call slot `x` may hold the leaf that followed it.
   */
  private removeNode(x: number): void {
    const nf = this.nf;
    const ni = this.ni;
    const xi = x << Stride.I_LOG2;
    let r = x;
    if (ni[xi + I.LEFT] !== NIL && ni[xi + I.RIGHT] !== NIL) {
      r = ni[xi + I.NEXT]!;
      const xf = x << Stride.F_LOG2;
      const rf = r << Stride.F_LOG2;
      nf[xf + F.START] = nf[rf + F.START]!;
      nf[xf + F.END] = nf[rf + F.END]!;
      nf[xf + F.OWN] = nf[rf + F.OWN]!;
      this.moveBlocks(r, 0, x, 0, this.cnt[r]!);
      this.cnt[x] = this.cnt[r]!;
    }
    const ri = r << Stride.I_LOG2;
    const pv = ni[ri + I.PREV]!;
    const nx = ni[ri + I.NEXT]!;
    if (pv === NIL) this.headLeaf = nx;
    else ni[(pv << Stride.I_LOG2) + I.NEXT] = nx;
    if (nx !== NIL) ni[(nx << Stride.I_LOG2) + I.PREV] = pv;
    const c = ni[ri + I.LEFT] !== NIL ? ni[ri + I.LEFT]! : ni[ri + I.RIGHT]!;
    const p = ni[ri + I.PARENT]!;
    if (c !== NIL) ni[(c << Stride.I_LOG2) + I.PARENT] = p;
    if (p === NIL) this.root = c;
    else {
      const side = ni[(p << Stride.I_LOG2) + I.LEFT] === r ? I.LEFT : I.RIGHT;
      ni[(p << Stride.I_LOG2) + side] = c;
      this.setChildSummary(p, side, c);
    }
    this.releaseNode(r);
    this.fixUp(p);
    if (r !== x) this.touch(x); // slot x now holds its successor's leaf
  }

  // ---- leaf edits --------------------------------------------------------------------------

  /** Copies `n` blocks from leaf `a` index `i` to leaf `b` index `j` (regions may overlap within one leaf when j < i). */
  private moveBlocks(a: number, i: number, b: number, j: number, n: number): void {
    const se = this.se;
    const meta = this.meta;
    const from = (a << Leaf.LOG2) + i;
    const to = (b << Leaf.LOG2) + j;
    for (let k = 0; k < n; k++) {
      se[(to + k) << 1] = se[(from + k) << 1]!;
      se[((to + k) << 1) + 1] = se[((from + k) << 1) + 1]!;
      meta[to + k] = meta[from + k]!;
    }
  }

  /** Deletes `n` blocks (free ones, or ones whose tags the caller has moved) at index `j` of leaf `x`. */
  private deleteBlocks(x: number, j: number, n: number): void {
    const c = this.cnt[x]!;
    this.moveBlocks(x, j + n, x, j, c - j - n);
    this.cnt[x] = c - n;
    this.count -= n;
  }

  /** Recomputes leaf `x`'s own largest free size (the caller touches it). */
  private rescan(x: number): void {
    const se = this.se;
    const meta = this.meta;
    const base = x << Leaf.LOG2;
    const end = base + this.cnt[x]!;
    let m = 0;
    for (let h = base; h < end; h++) {
      if ((meta[h]! & 1) === 0) {
        const size = se[(h << 1) + 1]! - se[h << 1]!;
        if (size > m) m = size;
      }
    }
    this.nf[(x << Stride.F_LOG2) + F.OWN] = m;
  }

  /** Moves the upper half of full leaf `x` into a new leaf linked after it; returns the new leaf. */
  private split(x: number): number {
    const y = this.newNode(); // may grow: read the arrays after this
    const n = this.cnt[x]!;
    const keep = n >>> 1;
    this.moveBlocks(x, keep, y, 0, n - keep);
    this.cnt[x] = keep;
    this.cnt[y] = n - keep;
    const nf = this.nf;
    const se = this.se;
    const yf = y << Stride.F_LOG2;
    nf[yf + F.START] = se[(y << Leaf.LOG2) << 1]!;
    nf[yf + F.END] = nf[(x << Stride.F_LOG2) + F.END]!;
    nf[(x << Stride.F_LOG2) + F.END] = nf[yf + F.START]!;
    this.rescan(y);
    this.linkAfter(x, y);
    this.rescan(x);
    this.touch(x);
    return y;
  }

  /** Leaf `x` holds fewer than Leaf.MIN blocks: merges it with a neighbour if the two fit in Leaf.MERGE_MAX. */
  private compact(x: number): void {
    const nf = this.nf;
    const ni = this.ni;
    const cnt = this.cnt;
    const n = cnt[x]!;
    const nx = ni[(x << Stride.I_LOG2) + I.NEXT]!;
    let a = x;
    let b = nx;
    if (nx === NIL || n + cnt[nx]! > Leaf.MERGE_MAX) {
      const pv = ni[(x << Stride.I_LOG2) + I.PREV]!;
      if (pv === NIL || cnt[pv]! + n > Leaf.MERGE_MAX) return;
      a = pv;
      b = x;
    }
    // Leaf b's blocks move to the end of leaf a; b leaves the tree.
    this.moveBlocks(b, 0, a, cnt[a]!, cnt[b]!);
    cnt[a] = cnt[a]! + cnt[b]!;
    cnt[b] = 0;
    const af = a << Stride.F_LOG2;
    const bf = b << Stride.F_LOG2;
    nf[af + F.END] = nf[bf + F.END]!;
    if (nf[bf + F.OWN]! > nf[af + F.OWN]!) {
      nf[af + F.OWN] = nf[bf + F.OWN]!;
      this.touch(a);
    }
    this.removeNode(b);
  }

  /**
   * Sets `[a, b)`, which lies inside block `h`, to the given state, splitting the block into up to
   * three; a range made free merges with free neighbours. Handles change: re-find afterwards.
   */
  paint(h: number, a: number, b: number, used: number, tag: Tag | undefined): void {
    let x = h >>> Leaf.LOG2;
    let j = h & Leaf.MASK;
    const s = this.se[h << 1]!;
    const e = this.se[(h << 1) + 1]!;
    const oldMeta = this.meta[h]!;
    const extra = (a > s ? 1 : 0) + (b < e ? 1 : 0);
    const tagId = this.tags.acquire(tag);
    if (extra !== 0 && this.cnt[x]! + extra > Leaf.CAP) {
      const y = this.split(x);
      const keep = this.cnt[x]!;
      if (j >= keep) {
        x = y;
        j -= keep;
      }
    }
    // Read the arrays only now: split() may have grown them.
    const se = this.se;
    const meta = this.meta;
    const base = x << Leaf.LOG2;
    let k = base + j;
    if (extra !== 0) {
      const n = this.cnt[x]!;
      for (let t = base + n - 1; t > k; t--) {
        se[(t + extra) << 1] = se[t << 1]!;
        se[((t + extra) << 1) + 1] = se[(t << 1) + 1]!;
        meta[t + extra] = meta[t]!;
      }
      this.cnt[x] = n + extra;
      this.count += extra;
    }
    if (a > s) {
      se[(k << 1) + 1] = a; // the piece before keeps [s, a) and the old state
      k++;
    }
    const m = k;
    se[k << 1] = a;
    se[(k << 1) + 1] = b;
    meta[k] = (tagId << 1) | used;
    if (b < e) {
      k++;
      se[k << 1] = b;
      se[(k << 1) + 1] = e;
      meta[k] = oldMeta;
    }
    // The old block's tag reference now belongs to each piece that keeps the old state.
    const oldTagId = oldMeta >>> 1;
    if (extra === 0) this.tags.release(oldTagId);
    else if (extra === 2) this.tags.retain(oldTagId);
    if (used === 0) {
      this.mergeFree(x, m - base);
    } else if ((oldMeta & 1) === 0 && e - s >= this.nf[(x << Stride.F_LOG2) + F.OWN]!) {
      // A free block shrank and may have been the leaf's largest (the pieces left are smaller).
      this.rescan(x);
      this.touch(x);
    }
  }

  /** Block `j` of leaf `x` was just made free (the leaf's own maximum does not count it yet): merges it with free neighbours. */
  private mergeFree(x: number, j: number): void {
    const se = this.se;
    const meta = this.meta;
    const nf = this.nf;
    const ni = this.ni;
    const cnt = this.cnt;
    const base = x << Leaf.LOG2;
    const k = base + j;
    let lo = se[k << 1]!;
    let hi = se[(k << 1) + 1]!;
    // Read both neighbours' flags before any change: independent loads whose cache misses overlap.
    const lastInLeaf = j + 1 === cnt[x]!;
    const nxLeaf = lastInLeaf ? ni[(x << Stride.I_LOG2) + I.NEXT]! : NIL;
    const nxFree = lastInLeaf ? nxLeaf !== NIL && (meta[nxLeaf << Leaf.LOG2]! & 1) === 0 : (meta[k + 1]! & 1) === 0;
    const pvLeaf = j === 0 ? ni[(x << Stride.I_LOG2) + I.PREV]! : NIL;
    const pvFree = j !== 0 ? (meta[k - 1]! & 1) === 0 : pvLeaf !== NIL && (meta[(pvLeaf << Leaf.LOG2) + cnt[pvLeaf]! - 1]! & 1) === 0;
    let drop = 0; // blocks after k, in this leaf, merged into it
    if (nxFree) {
      if (!lastInLeaf) {
        hi = se[((k + 1) << 1) + 1]!;
        drop = 1;
      } else {
        // The first block of the next leaf merges into k: it leaves that leaf.
        const nb = nxLeaf << Leaf.LOG2;
        hi = se[(nb << 1) + 1]!;
        const size = hi - se[nb << 1]!;
        this.deleteBlocks(nxLeaf, 0, 1);
        if (cnt[nxLeaf] === 0) this.removeNode(nxLeaf); // moves only leaves after x
        else {
          nf[(nxLeaf << Stride.F_LOG2) + F.START] = se[nb << 1]!;
          if (size >= nf[(nxLeaf << Stride.F_LOG2) + F.OWN]!) {
            this.rescan(nxLeaf);
            this.touch(nxLeaf);
          }
        }
        nf[(x << Stride.F_LOG2) + F.END] = hi;
      }
    }
    if (pvFree && j === 0) {
      // k (and what merged into it) joins the last block of the previous leaf.
      const pk = (pvLeaf << Leaf.LOG2) + cnt[pvLeaf]! - 1;
      se[(pk << 1) + 1] = hi;
      const pf = pvLeaf << Stride.F_LOG2;
      nf[pf + F.END] = hi;
      if (hi - se[pk << 1]! > nf[pf + F.OWN]!) {
        nf[pf + F.OWN] = hi - se[pk << 1]!;
        this.touch(pvLeaf);
      }
      this.deleteBlocks(x, 0, 1 + drop);
      if (cnt[x] === 0) {
        this.removeNode(x); // moves only leaves after pvLeaf, which is done with
        return;
      }
      nf[(x << Stride.F_LOG2) + F.START] = se[base << 1]!;
      this.rescan(x);
      this.touch(x);
    } else {
      if (pvFree) {
        lo = se[(k - 1) << 1]!;
        se[((k - 1) << 1) + 1] = hi;
        this.deleteBlocks(x, j, 1 + drop);
      } else {
        se[(k << 1) + 1] = hi;
        if (drop !== 0) this.deleteBlocks(x, j + 1, 1);
      }
      // The merged block contains every free block it absorbed: the leaf's maximum only grows.
      const own = (x << Stride.F_LOG2) + F.OWN;
      if (hi - lo > nf[own]!) {
        nf[own] = hi - lo;
        this.touch(x);
      }
    }
    if (cnt[x]! < Leaf.MIN) this.compact(x);
  }

  // ---- queries -----------------------------------------------------------------------------

  /** The block containing `addr` (the last block starting at or before it); NIL if before all. */
  find(addr: number): number {
    const nf = this.nf;
    const ni = this.ni;
    let x = this.root;
    let best = NIL;
    while (x !== NIL) {
      const xf = x << Stride.F_LOG2;
      if (nf[xf + F.START]! <= addr) {
        best = x;
        if (addr < nf[xf + F.END]!) break;
        x = ni[(x << Stride.I_LOG2) + I.RIGHT]!;
      } else {
        x = ni[(x << Stride.I_LOG2) + I.LEFT]!;
      }
    }
    if (best === NIL) return NIL;
    // Binary search in the leaf: the last block starting at or before addr.
    const se = this.se;
    const base = best << Leaf.LOG2;
    let lo = base;
    let hi = base + this.cnt[best]! - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (se[mid << 1]! <= addr) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * First fit: the lowest-addressed free block holding `sizeBytes` at an address that is a
   * multiple of `alignBytes`, inside `[lo, hi)`. Returns its handle (and the address in
   * `foundAddr`), or NIL.
   *
   * In-order walk of the tree that skips every subtree whose maxFree is below the size and every
   * subtree wholly outside `[lo, hi)`, scanning a leaf's blocks when its own maximum fits. Without
   * alignment slack a subtree with maxFree >= size always holds a fit (unless clipped by `lo`/`hi`,
   * at most two leaves), so the walk descends one path: O(log n). With alignment a block may be
   * big enough yet fail once its start is rounded up; the walk then moves on to the next candidate
   * in address order, so the result is still the lowest fitting address.
   */
  findFirstFit(sizeBytes: number, alignBytes: number, lo: number, hi: number): number {
    const root = this.root;
    if (root === NIL || this.subMax(root) < sizeBytes) return NIL;
    return this.search(root, sizeBytes, alignBytes, lo, hi);
  }

  /**
   * First fit when every block start is acceptable (alignment no coarser than the granularity,
   * no window): then a subtree whose maxFree fits always holds a fit at some block's start, so
   * one descent without backtracking finds the leaf: left if it fits there, else this leaf, else
   * right; then the first free block in the leaf that is big enough. Same result as
   * `findFirstFit(size, granularity, rangeStart, rangeEnd)`.
   */
  findFirstFitAnywhere(sizeBytes: number): number {
    let x = this.root;
    if (x === NIL || this.subMax(x) < sizeBytes) return NIL;
    const nf = this.nf;
    const ni = this.ni;
    // The cached maxima guarantee a fit below; the NIL test only turns a broken invariant into a
    // wrong answer that checks catch, instead of a loop that never ends.
    while (x !== NIL) {
      const xf = x << Stride.F_LOG2;
      if (nf[xf + F.MAXL]! >= sizeBytes) {
        x = ni[(x << Stride.I_LOG2) + I.LEFT]!;
      } else if (nf[xf + F.OWN]! >= sizeBytes) {
        const se = this.se;
        const meta = this.meta;
        const base = x << Leaf.LOG2;
        const end = base + this.cnt[x]!;
        for (let h = base; h < end; h++) {
          if ((meta[h]! & 1) === 0 && se[(h << 1) + 1]! - se[h << 1]! >= sizeBytes) {
            this.foundAddr = se[h << 1]!;
            return h;
          }
        }
        return NIL;
      } else {
        x = ni[(x << Stride.I_LOG2) + I.RIGHT]!; // maxFree(x) >= size, and neither the left nor x fits
      }
    }
    return NIL;
  }

  private search(x: number, size: number, align: number, lo: number, hi: number): number {
    // Caller guarantees x !== NIL and maxFree(x) >= size.
    const nf = this.nf;
    const ni = this.ni;
    const xf = x << Stride.F_LOG2;
    const xi = x << Stride.I_LOG2;
    const s = nf[xf + F.START]!;
    const e = nf[xf + F.END]!;
    // Left subtree blocks end at or before s: they can meet [lo, hi) only if s > lo.
    if (s > lo && nf[xf + F.MAXL]! >= size) {
      const found = this.search(ni[xi + I.LEFT]!, size, align, lo, hi);
      if (found !== NIL) return found;
    }
    if (nf[xf + F.OWN]! >= size && e > lo && s < hi) {
      const se = this.se;
      const meta = this.meta;
      const base = x << Leaf.LOG2;
      const last = base + this.cnt[x]!;
      for (let h = base; h < last; h++) {
        const bs = se[h << 1]!;
        const be = se[(h << 1) + 1]!;
        if (bs >= hi) break;
        if ((meta[h]! & 1) !== 0 || be - bs < size || be <= lo) continue;
        let a = bs > lo ? bs : lo;
        const rem = a % align; // exact on doubles: no 32-bit truncation of 48-bit addresses
        if (rem !== 0) a += align - rem;
        if (a + size <= (be < hi ? be : hi)) {
          this.foundAddr = a;
          return h;
        }
      }
    }
    // Right subtree blocks start at or after e: they can meet [lo, hi) only if e < hi.
    if (e < hi && nf[xf + F.MAXR]! >= size) return this.search(ni[xi + I.RIGHT]!, size, align, lo, hi);
    return NIL;
  }

  // ---- invariants --------------------------------------------------------------------------

  /** Throws unless the blocks tile the range, the leaves and the tree agree, and every cached value is right. */
  check(rangeStart: number, rangeEnd: number): void {
    const fail = (msg: string): never => {
      throw new Error(`BlockList invariant broken: ${msg}`);
    };
    const nf = this.nf;
    const ni = this.ni;
    const se = this.se;
    const meta = this.meta;
    const cnt = this.cnt;
    const fld = (x: number, field: I) => ni[(x << Stride.I_LOG2) + field]!;
    const nfld = (x: number, field: F) => nf[(x << Stride.F_LOG2) + field]!;
    // Sequence: leaves of 1..32 blocks tiling [rangeStart, rangeEnd); no two free neighbours;
    // each leaf's cached bounds and own largest free size are true.
    const tagCounts = new Map<number, number>();
    let blocks = 0;
    let leaves = 0;
    let pos = rangeStart;
    let prevFree = false;
    let pv = NIL;
    for (let x = this.headLeaf; x !== NIL; x = fld(x, I.NEXT)) {
      if (++leaves >= this.capacity) fail('leaf list longer than the slots (cycle?)');
      if (fld(x, I.PREV) !== pv) fail(`prev of leaf ${x} is ${fld(x, I.PREV)}, expected ${pv}`);
      const n = cnt[x]!;
      if (n < 1 || n > Leaf.CAP) fail(`leaf ${x} holds ${n} blocks`);
      if (nfld(x, F.START) !== pos) fail(`leaf ${x} caches start ${nfld(x, F.START)}, expected ${pos}`);
      let own = 0;
      for (let h = x << Leaf.LOG2; h < (x << Leaf.LOG2) + n; h++) {
        const s = se[h << 1]!;
        const e = se[(h << 1) + 1]!;
        const used = meta[h]! & 1;
        const tagId = meta[h]! >>> 1;
        if (s !== pos) fail(`block ${h} starts at ${s}, expected ${pos}`);
        if (!(e > s)) fail(`empty block at ${pos}`);
        if (!used && prevFree) fail(`adjacent free blocks at ${pos}`);
        if (!used && tagId !== 0) fail(`free block at ${pos} has a tag`);
        if (!used && e - s > own) own = e - s;
        if (tagId !== 0) tagCounts.set(tagId, (tagCounts.get(tagId) ?? 0) + 1);
        pos = e;
        prevFree = !used;
        blocks++;
      }
      if (nfld(x, F.END) !== pos) fail(`leaf ${x} caches end ${nfld(x, F.END)}, expected ${pos}`);
      if (nfld(x, F.OWN) !== own) fail(`leaf ${x} caches maxFree ${nfld(x, F.OWN)}, true ${own}`);
      pv = x;
    }
    if (blocks !== this.count) fail(`list has ${blocks} blocks, count says ${this.count}`);
    if (pos !== rangeEnd) fail(`list ends at ${pos}, expected ${rangeEnd}`);
    // Tree: in-order equals the leaf sequence, parents consistent; every cached child height and
    // maxFree equals the true value of that subtree; AVL balance.
    if (this.root !== NIL && fld(this.root, I.PARENT) !== NIL) fail('root has a parent');
    let expect = this.headLeaf;
    /** Returns [true height, true largest free size] of the subtree at x. */
    const walk = (x: number, p: number): [number, number] => {
      if (x === NIL) return [0, 0];
      if (fld(x, I.PARENT) !== p) fail(`slot ${x} has parent ${fld(x, I.PARENT)}, expected ${p}`);
      const [hl, ml] = walk(fld(x, I.LEFT), x);
      if (x !== expect) fail(`in-order slot ${x} but the sequence has ${expect}`);
      expect = fld(x, I.NEXT);
      const [hr, mr] = walk(fld(x, I.RIGHT), x);
      if (Math.abs(hl - hr) > 1) fail(`slot ${x} unbalanced (${hl} vs ${hr})`);
      const hs = fld(x, I.HEIGHTS);
      if ((hs & 0xff) !== hl || hs >>> 8 !== hr) fail(`slot ${x} caches heights ${hs & 0xff}/${hs >>> 8}, true ${hl}/${hr}`);
      if (nfld(x, F.MAXL) !== ml || nfld(x, F.MAXR) !== mr) {
        fail(`slot ${x} caches maxFree ${nfld(x, F.MAXL)}/${nfld(x, F.MAXR)}, true ${ml}/${mr}`);
      }
      return [Math.max(hl, hr) + 1, Math.max(nfld(x, F.OWN), ml, mr)];
    };
    walk(this.root, NIL);
    if (expect !== NIL) fail('the sequence has leaves the tree does not');
    for (let k = 0; k < RECORD_BYTES / 8; k++) if (nf[k] !== 0) fail('NIL slot was written');
    for (let k = 0; k < Leaf.CAP; k++) if (se[2 * k] !== 0 || se[2 * k + 1] !== 0 || meta[k] !== 0) fail('NIL leaf was written');
    if (cnt[NIL] !== 0) fail('NIL leaf has blocks');
    let free = 0;
    for (let x = this.freeSlot; x !== NIL; x = fld(x, I.NEXT)) {
      if (++free > this.capacity) fail('slot free list cycles');
    }
    if (free + leaves + 1 !== this.capacity) fail(`slots leak: ${free} free + ${leaves} live + NIL != ${this.capacity}`);
    this.tags.check(tagCounts, fail);
  }
}
