import { TagTable } from './tag-table';

/** The null slot: height 0, maxFree 0, never written. */
export const NIL = 0;

// Node record layout: 64 bytes per slot in one ArrayBuffer, seen through two views.
//   f64 view, stride 8:  [0] start [1] end [2] maxFree of the left subtree [3] maxFree of the right subtree
//   i32 view, stride 16: [8] left [9] right [10] parent [11] prev [12] next [13] used [14] tag id
//                        [15] heights of the left (bits 0-7) and right (bits 8-15) subtrees
// A block is one record (one or two cache lines): at 10^5 blocks speed is bound by memory latency,
// so a tree walk should touch one place per level. That is also why each node caches its
// children's subtree maxima and heights: first fit prunes, and an update climbs to the root,
// reading only the records on the path, never a sibling's.
// Field offsets and strides as const enums: esbuild inlines their values as literals, where
// module-level `const`s would become `var`s that V8 loads at run time in the hottest loops.
const enum Stride {
  F_LOG2 = 3,
  I_LOG2 = 4,
}
/** Offsets in the f64 view. */
const enum F {
  START = 0,
  END = 1,
  MAXL = 2,
  MAXR = 3,
}
/** Offsets in the i32 view. */
const enum I {
  LEFT = 8,
  RIGHT = 9,
  PARENT = 10,
  PREV = 11,
  NEXT = 12,
  USED = 13,
  TAG = 14,
  HEIGHTS = 15,
}
const RECORD_BYTES = 64;

/**
 * The ordered list of blocks and its index, in one typed-array record per block.
 *
 * Every block is a node slot `x` (an index into the record arrays). The slots are linked two ways
 * at once:
 *  - a doubly linked list in address order (`prev`/`next`): the model users see;
 *  - an AVL tree keyed by start address (`left`/`right`/`parent`) whose in-order walk is that same
 *    list, each node carrying the largest free block size in its subtree (`maxFree`). This is the
 *    augmented tree Linux uses for vmalloc space (mm/vmalloc.c: `subtree_max_size` on an rbtree of
 *    free areas), here over all blocks, so first fit, take and free are O(log n).
 *
 * Slot 0 is NIL. Freed slots form a free list threaded through `next`. Addresses and sizes are
 * doubles: exact for every safe integer, so 48-bit and larger spaces work; no 32-bit integer
 * operator ever touches an address (shifts below apply to slot numbers only).
 *
 * This class trusts its caller (VirtualAllocator validates everything first) and never throws
 * except from `check()`.
 * @internal
 */
export class BlockList<Tag> {
  private f: Float64Array;
  private i: Int32Array;
  /** Tag values by id; records hold the id. */
  private tags = new TagTable<Tag>();
  capacity: number;
  root = NIL;
  head = NIL;
  /** Live blocks. */
  count = 0;
  /** Head of the free list of node slots. */
  private freeSlot = NIL;
  /** The aligned address `findFirstFit` found in the node it returned. */
  foundAddr = 0;

  constructor(rangeStart: number, rangeEnd: number, capacity = 64) {
    this.capacity = capacity;
    const buf = new ArrayBuffer(capacity * RECORD_BYTES);
    this.f = new Float64Array(buf);
    this.i = new Int32Array(buf);
    this.chainFreeSlots(1, capacity);
    if (rangeEnd > rangeStart) {
      const x = this.newNode(rangeStart, rangeEnd, 0, 0);
      this.root = x;
      this.head = x;
    }
  }

  /** A deep copy (for fork): same slots, same shape, an independent buffer. */
  clone(): BlockList<Tag> {
    const c = new BlockList<Tag>(0, 0, 1);
    c.capacity = this.capacity;
    const buf = this.f.buffer.slice(0);
    c.f = new Float64Array(buf);
    c.i = new Int32Array(buf);
    c.tags = this.tags.clone();
    c.root = this.root;
    c.head = this.head;
    c.count = this.count;
    c.freeSlot = this.freeSlot;
    return c;
  }

  // ---- field access (small enough for the JIT to inline) -----------------------------------

  /** First byte of block `x`. */
  startOf(x: number): number {
    return this.f[x << Stride.F_LOG2]!;
  }
  /** One past the last byte of block `x`. */
  endOf(x: number): number {
    return this.f[(x << Stride.F_LOG2) + F.END]!;
  }
  /** The tag of block `x`. */
  tagOf(x: number): Tag | undefined {
    return this.tags.value(this.i[(x << Stride.I_LOG2) + I.TAG]!);
  }
  /** 1 if block `x` is in use, else 0. */
  usedOf(x: number): number {
    return this.i[(x << Stride.I_LOG2) + I.USED]!;
  }
  /** The block after `x` in address order, or NIL. */
  nextOf(x: number): number {
    return this.i[(x << Stride.I_LOG2) + I.NEXT]!;
  }
  /**
   * The in-use block starting exactly at `addr`, or NIL: one descent. (A hash of in-use starts
   * would find the slot in O(1), but the climb that follows a free then misses the cache on
   * every level below the hot top of the tree; a descent leaves the whole path cached, and the
   * 4 MB hash no longer competes with the tree for the cache.)
   */
  usedBlockAt(addr: number): number {
    const f = this.f;
    const i = this.i;
    let x = this.root;
    while (x !== NIL) {
      const s = f[x << Stride.F_LOG2]!;
      if (s === addr) return i[(x << Stride.I_LOG2) + I.USED] !== 0 ? x : NIL;
      x = i[(x << Stride.I_LOG2) + (addr < s ? I.LEFT : I.RIGHT)]!;
    }
    return NIL;
  }
  /** The size of the largest free block, 0 if none. */
  largestFree(): number {
    return this.subMax(this.root);
  }

  // ---- slots -------------------------------------------------------------------------------

  private chainFreeSlots(from: number, to: number): void {
    const i = this.i;
    for (let x = to - 1; x >= from; x--) {
      i[(x << Stride.I_LOG2) + I.NEXT] = this.freeSlot;
      this.freeSlot = x;
    }
  }

  private grow(): void {
    const old = this.capacity;
    const cap = old * 2;
    const buf = new ArrayBuffer(cap * RECORD_BYTES);
    new Uint8Array(buf).set(new Uint8Array(this.f.buffer));
    this.f = new Float64Array(buf);
    this.i = new Int32Array(buf);
    this.capacity = cap;
    this.chainFreeSlots(old, cap);
  }

  /** A new block holding `tagId` (whose reference the caller has acquired for it). */
  private newNode(s: number, e: number, used: number, tagId: number): number {
    if (this.freeSlot === NIL) this.grow();
    const x = this.freeSlot;
    const f = this.f;
    const i = this.i;
    const xi = x << Stride.I_LOG2;
    const xf = x << Stride.F_LOG2;
    this.freeSlot = i[xi + I.NEXT]!;
    f[xf + F.START] = s;
    f[xf + F.END] = e;
    f[xf + F.MAXL] = 0;
    f[xf + F.MAXR] = 0;
    i[xi + I.LEFT] = NIL;
    i[xi + I.RIGHT] = NIL;
    i[xi + I.PARENT] = NIL;
    i[xi + I.PREV] = NIL;
    i[xi + I.NEXT] = NIL;
    i[xi + I.HEIGHTS] = 0;
    i[xi + I.USED] = used;
    i[xi + I.TAG] = tagId;
    this.count++;
    return x;
  }

  private releaseNode(x: number): void {
    this.tags.release(this.i[(x << Stride.I_LOG2) + I.TAG]!);
    this.i[(x << Stride.I_LOG2) + I.NEXT] = this.freeSlot;
    this.freeSlot = x;
    this.count--;
  }

  // ---- tree maintenance ---------------------------------------------------------------------

  /** Largest free block size in the subtree rooted at `x` (0 for NIL), from x's record alone. */
  private subMax(x: number): number {
    if (x === NIL) return 0;
    const f = this.f;
    const xf = x << Stride.F_LOG2;
    let m = this.i[(x << Stride.I_LOG2) + I.USED] ? 0 : f[xf + F.END]! - f[xf + F.START]!;
    const ml = f[xf + F.MAXL]!;
    const mr = f[xf + F.MAXR]!;
    if (ml > m) m = ml;
    if (mr > m) m = mr;
    return m;
  }

  /** Height of the subtree rooted at `x` (0 for NIL), from x's record alone. */
  private heightOf(x: number): number {
    if (x === NIL) return 0;
    const h = this.i[(x << Stride.I_LOG2) + I.HEIGHTS]!;
    const hl = h & 0xff;
    const hr = h >>> 8;
    return (hl > hr ? hl : hr) + 1;
  }

  /** Caches the summary of child `c` in `p`'s record, on side `side` (I.LEFT or I.RIGHT). */
  private setChildSummary(p: number, side: I, c: number): void {
    const pf = p << Stride.F_LOG2;
    const pi = p << Stride.I_LOG2;
    const h = this.heightOf(c);
    const hs = this.i[pi + I.HEIGHTS]!;
    if (side === I.LEFT) {
      this.f[pf + F.MAXL] = this.subMax(c);
      this.i[pi + I.HEIGHTS] = (hs & 0xff00) | h;
    } else {
      this.f[pf + F.MAXR] = this.subMax(c);
      this.i[pi + I.HEIGHTS] = (hs & 0xff) | (h << 8);
    }
  }

  private replaceChild(p: number, old: number, child: number): void {
    if (p === NIL) this.root = child;
    else {
      const pi = p << Stride.I_LOG2;
      if (this.i[pi + I.LEFT] === old) this.i[pi + I.LEFT] = child;
      else this.i[pi + I.RIGHT] = child;
    }
  }

  /**
   * Rotates `x` down to side `down` (I.LEFT or I.RIGHT); its child `y` on the other side comes up.
   * Refreshes the cached summaries inside x and y; x's old parent is left to the caller (fixUp
   * compares its cache with y's new summary to decide whether to go on).
   */
  private rotate(x: number, down: I): number {
    const up = down === I.LEFT ? I.RIGHT : I.LEFT;
    const i = this.i;
    const xi = x << Stride.I_LOG2;
    const y = i[xi + up]!;
    const yi = y << Stride.I_LOG2;
    const b = i[yi + down]!;
    const p = i[xi + I.PARENT]!;
    i[xi + up] = b;
    if (b !== NIL) i[(b << Stride.I_LOG2) + I.PARENT] = x;
    this.setChildSummary(x, up, b);
    i[yi + down] = x;
    i[xi + I.PARENT] = y;
    i[yi + I.PARENT] = p;
    this.replaceChild(p, x, y);
    this.setChildSummary(y, down, x);
    return y;
  }

  /** Restores the AVL balance at `x` (its cached child heights are current); returns the subtree's root. */
  private rebalance(x: number): number {
    const i = this.i;
    const h = i[(x << Stride.I_LOG2) + I.HEIGHTS]!;
    const hl = h & 0xff;
    const hr = h >>> 8;
    if (hl > hr + 1) {
      const lh = i[(i[(x << Stride.I_LOG2) + I.LEFT]! << Stride.I_LOG2) + I.HEIGHTS]!;
      if ((lh & 0xff) < lh >>> 8) this.rotate(i[(x << Stride.I_LOG2) + I.LEFT]!, I.LEFT);
      return this.rotate(x, I.RIGHT);
    }
    if (hr > hl + 1) {
      const rh = i[(i[(x << Stride.I_LOG2) + I.RIGHT]! << Stride.I_LOG2) + I.HEIGHTS]!;
      if (rh >>> 8 < (rh & 0xff)) this.rotate(i[(x << Stride.I_LOG2) + I.RIGHT]!, I.RIGHT);
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
    const i = this.i;
    const f = this.f;
    while (x !== NIL) {
      const y = this.rebalance(x);
      const p = i[(y << Stride.I_LOG2) + I.PARENT]!;
      if (p === NIL) return;
      const pi = p << Stride.I_LOG2;
      const pf = p << Stride.F_LOG2;
      const m = this.subMax(y);
      const h = this.heightOf(y);
      const hs = i[pi + I.HEIGHTS]!;
      if (i[pi + I.LEFT] === y) {
        if ((hs & 0xff) === h) {
          // Height unchanged: nothing above needs rebalancing; only maxFree may still climb.
          if (f[pf + F.MAXL] === m) return;
          f[pf + F.MAXL] = m;
          this.touch(p);
          return;
        }
        f[pf + F.MAXL] = m;
        i[pi + I.HEIGHTS] = (hs & 0xff00) | h;
      } else {
        if (hs >>> 8 === h) {
          if (f[pf + F.MAXR] === m) return;
          f[pf + F.MAXR] = m;
          this.touch(p);
          return;
        }
        f[pf + F.MAXR] = m;
        i[pi + I.HEIGHTS] = (hs & 0xff) | (h << 8);
      }
      x = p;
    }
  }

  /**
   * After block `x` changed payload only (size or used), refreshes the cached maxima upwards,
   * stopping at the first parent whose cache already holds the new value.
   */
  touch(x: number): void {
    const f = this.f;
    const i = this.i;
    for (;;) {
      const p = i[(x << Stride.I_LOG2) + I.PARENT]!;
      if (p === NIL) return;
      const m = this.subMax(x);
      const slot = (p << Stride.F_LOG2) + (i[(p << Stride.I_LOG2) + I.LEFT] === x ? F.MAXL : F.MAXR);
      if (f[slot] === m) return;
      f[slot] = m;
      x = p;
    }
  }

  // ---- list + tree edits -------------------------------------------------------------------

  /** Inserts a new block right after block `x` in address order; returns its slot. Takes over the reference to `tagId`. */
  private insertAfter(x: number, s: number, e: number, used: number, tagId: number): number {
    const n = this.newNode(s, e, used, tagId); // may grow: read the views after this
    const i = this.i;
    const xi = x << Stride.I_LOG2;
    const ni = n << Stride.I_LOG2;
    const nx = i[xi + I.NEXT]!;
    // In-order successor of x: its right child when x has none, else the leftmost node of x's right
    // subtree, which is x's list successor and has no left child.
    let p: number;
    let side: I;
    if (i[xi + I.RIGHT] === NIL) {
      i[xi + I.RIGHT] = n;
      p = x;
      side = I.RIGHT;
    } else {
      i[(nx << Stride.I_LOG2) + I.LEFT] = n;
      p = nx;
      side = I.LEFT;
    }
    i[ni + I.PARENT] = p;
    i[ni + I.PREV] = x;
    i[ni + I.NEXT] = nx;
    if (nx !== NIL) i[(nx << Stride.I_LOG2) + I.PREV] = n;
    i[xi + I.NEXT] = n;
    this.setChildSummary(p, side, n);
    this.fixUp(p);
    return n;
  }

  /**
   * Removes free block `x` from the sequence (merging only ever removes free blocks, so the
   * used-start index has nothing to drop). When `x` has two children, its successor's payload moves
   * into slot `x` and the successor's slot is the one unlinked; so after this call slot `x` may
   * hold the block that followed it. Callers re-read neighbours through `prev`/`next`.
   */
  remove(x: number): void {
    const f = this.f;
    const i = this.i;
    const xi = x << Stride.I_LOG2;
    let r = x;
    if (i[xi + I.LEFT] !== NIL && i[xi + I.RIGHT] !== NIL) {
      r = i[xi + I.NEXT]!;
      const xf = x << Stride.F_LOG2;
      const rf = r << Stride.F_LOG2;
      f[xf + F.START] = f[rf + F.START]!;
      f[xf + F.END] = f[rf + F.END]!;
      i[xi + I.USED] = i[(r << Stride.I_LOG2) + I.USED]!;
      // x is free (tag 0): hand r's tag reference over to x, so releasing r drops none.
      i[xi + I.TAG] = i[(r << Stride.I_LOG2) + I.TAG]!;
      i[(r << Stride.I_LOG2) + I.TAG] = 0;
    }
    const ri = r << Stride.I_LOG2;
    const pv = i[ri + I.PREV]!;
    const nx = i[ri + I.NEXT]!;
    if (pv === NIL) this.head = nx;
    else i[(pv << Stride.I_LOG2) + I.NEXT] = nx;
    if (nx !== NIL) i[(nx << Stride.I_LOG2) + I.PREV] = pv;
    const c = i[ri + I.LEFT] !== NIL ? i[ri + I.LEFT]! : i[ri + I.RIGHT]!;
    const p = i[ri + I.PARENT]!;
    if (c !== NIL) i[(c << Stride.I_LOG2) + I.PARENT] = p;
    if (p === NIL) this.root = c;
    else {
      const side = i[(p << Stride.I_LOG2) + I.LEFT] === r ? I.LEFT : I.RIGHT;
      i[(p << Stride.I_LOG2) + side] = c;
      this.setChildSummary(p, side, c);
    }
    this.releaseNode(r);
    this.fixUp(p);
    if (r !== x) this.touch(x); // slot x now holds its successor's block
  }

  /**
   * Sets `[a, b)`, which lies inside block `x`, to the given state, splitting `x` into up to three
   * blocks; a range made free merges with free neighbours. Slots may move: re-find afterwards.
   */
  paint(x: number, a: number, b: number, used: number, tag: Tag | undefined): void {
    const xf = x << Stride.F_LOG2;
    const xi = x << Stride.I_LOG2;
    const s = this.f[xf + F.START]!;
    const e = this.f[xf + F.END]!;
    const oldUsed = this.i[xi + I.USED]!;
    const oldTagId = this.i[xi + I.TAG]!;
    const tagId = this.tags.acquire(tag);
    let m: number;
    if (a > s) {
      // x keeps [s, a); the new block follows it.
      this.f[xf + F.END] = a;
      m = this.insertAfter(x, a, b, used, tagId);
      if (b < e) this.insertAfter(m, b, e, oldUsed, this.tags.retain(oldTagId));
    } else {
      m = x;
      this.i[xi + I.USED] = used;
      this.i[xi + I.TAG] = tagId;
      if (b < e) {
        this.f[xf + F.END] = b;
        this.insertAfter(x, b, e, oldUsed, this.tags.retain(oldTagId));
      }
      this.tags.release(oldTagId);
    }
    // The views may have been replaced by a grow() inside insertAfter: touch re-reads them.
    // A block made free is touched by mergeFree once merged (ancestors stay consistent with the
    // stale stored value meanwhile, which is all fixUp's early stop relies on): one walk, not two.
    if (used || m !== x) this.touch(x);
    if (!used) this.mergeFree(m);
  }

  /** Merges free block `m` with a free successor and a free predecessor. */
  private mergeFree(m: number): void {
    const i = this.i;
    const mi = m << Stride.I_LOG2;
    const nx = i[mi + I.NEXT]!;
    // Read both neighbours' flags before any change: independent loads whose cache misses the CPU
    // overlaps, instead of paying the predecessor's miss after remove(nx) has run.
    const nxFree = nx !== NIL && i[(nx << Stride.I_LOG2) + I.USED] === 0;
    const pvFree = i[mi + I.PREV] !== NIL && i[(i[mi + I.PREV]! << Stride.I_LOG2) + I.USED] === 0;
    if (nxFree) {
      this.f[(m << Stride.F_LOG2) + F.END] = this.f[(nx << Stride.F_LOG2) + F.END]!;
      this.remove(nx);
    }
    // remove(nx) never changes m's predecessor (it unlinks nx, or moves nx's successor into nx's slot).
    const pv = this.i[(m << Stride.I_LOG2) + I.PREV]!;
    if (pvFree) {
      this.f[(pv << Stride.F_LOG2) + F.END] = this.f[(m << Stride.F_LOG2) + F.END]!;
      this.remove(m);
      m = pv;
    }
    this.touch(m);
  }

  // ---- queries -----------------------------------------------------------------------------

  /** The block containing `addr` (the last block starting at or before it); NIL if before all. */
  find(addr: number): number {
    const f = this.f;
    const i = this.i;
    let x = this.root;
    let best = NIL;
    while (x !== NIL) {
      const xf = x << Stride.F_LOG2;
      if (f[xf + F.START]! <= addr) {
        best = x;
        if (addr < f[xf + F.END]!) return x;
        x = i[(x << Stride.I_LOG2) + I.RIGHT]!;
      } else {
        x = i[(x << Stride.I_LOG2) + I.LEFT]!;
      }
    }
    return best;
  }

  /**
   * First fit: the lowest-addressed free block holding `sizeBytes` at an address that is a
   * multiple of `alignBytes`, inside `[lo, hi)`. Returns its slot (and the address in
   * `foundAddr`), or NIL.
   *
   * In-order walk of the tree that skips every subtree whose maxFree is below the size and every
   * subtree wholly outside `[lo, hi)`. Without alignment slack a subtree with maxFree >= size
   * always holds a fit (unless clipped by `lo`/`hi`, at most two blocks), so the walk descends
   * one path: O(log n). With alignment a block may be big enough yet fail once its start is
   * rounded up; the walk then moves on to the next candidate in address order, so the result is
   * still the lowest fitting address.
   */
  findFirstFit(sizeBytes: number, alignBytes: number, lo: number, hi: number): number {
    const root = this.root;
    if (root === NIL || this.subMax(root) < sizeBytes) return NIL;
    return this.search(root, sizeBytes, alignBytes, lo, hi);
  }

  /**
   * First fit when every block start is acceptable (alignment no coarser than the granularity,
   * no window): then a subtree whose maxFree fits always holds a fit at some block's start, so
   * one descent without backtracking finds the lowest: left if it fits there, else this block,
   * else right. Same result as `findFirstFit(size, granularity, rangeStart, rangeEnd)`.
   */
  findFirstFitAnywhere(sizeBytes: number): number {
    let x = this.root;
    if (x === NIL || this.subMax(x) < sizeBytes) return NIL;
    const f = this.f;
    const i = this.i;
    // The cached maxima guarantee a fit below; the NIL test only turns a broken invariant into a
    // wrong answer that checks catch, instead of a loop that never ends.
    while (x !== NIL) {
      const xf = x << Stride.F_LOG2;
      const xi = x << Stride.I_LOG2;
      if (f[xf + F.MAXL]! >= sizeBytes) {
        x = i[xi + I.LEFT]!;
      } else if (i[xi + I.USED] === 0 && f[xf + F.END]! - f[xf + F.START]! >= sizeBytes) {
        this.foundAddr = f[xf + F.START]!;
        return x;
      } else {
        x = i[xi + I.RIGHT]!; // maxFree(x) >= size, and neither the left nor x fits
      }
    }
    return NIL;
  }

  private search(x: number, size: number, align: number, lo: number, hi: number): number {
    // Caller guarantees x !== NIL and maxFree(x) >= size.
    const f = this.f;
    const i = this.i;
    const xf = x << Stride.F_LOG2;
    const xi = x << Stride.I_LOG2;
    const s = f[xf + F.START]!;
    const e = f[xf + F.END]!;
    // Left subtree blocks end at or before s: they can meet [lo, hi) only if s > lo.
    if (s > lo && f[xf + F.MAXL]! >= size) {
      const found = this.search(i[xi + I.LEFT]!, size, align, lo, hi);
      if (found !== NIL) return found;
    }
    if (i[xi + I.USED] === 0 && e - s >= size) {
      let a = s > lo ? s : lo;
      const rem = a % align; // exact on doubles: no 32-bit truncation of 48-bit addresses
      if (rem !== 0) a += align - rem;
      if (a + size <= (e < hi ? e : hi)) {
        this.foundAddr = a;
        return x;
      }
    }
    // Right subtree blocks start at or after e: they can meet [lo, hi) only if e < hi.
    if (e < hi && f[xf + F.MAXR]! >= size) return this.search(i[xi + I.RIGHT]!, size, align, lo, hi);
    return NIL;
  }

  // ---- invariants --------------------------------------------------------------------------

  /** Throws unless list and tree agree and every augmented value is right. */
  check(rangeStart: number, rangeEnd: number): void {
    const fail = (msg: string): never => {
      throw new Error(`BlockList invariant broken: ${msg}`);
    };
    const f = this.f;
    const i = this.i;
    const S = (x: number) => f[(x << Stride.F_LOG2) + F.START]!;
    const E = (x: number) => f[(x << Stride.F_LOG2) + F.END]!;
    const fld = (x: number, field: I) => i[(x << Stride.I_LOG2) + field]!;
    // List: contiguous tiling of [rangeStart, rangeEnd), no two free neighbours.
    let n = 0;
    let pos = rangeStart;
    let pv = NIL;
    for (let x = this.head; x !== NIL; x = fld(x, I.NEXT)) {
      if (++n > this.count) fail('list longer than block count (cycle?)');
      if (fld(x, I.PREV) !== pv) fail(`prev of slot ${x} is ${fld(x, I.PREV)}, expected ${pv}`);
      if (S(x) !== pos) fail(`block at slot ${x} starts at ${S(x)}, expected ${pos}`);
      if (!(E(x) > S(x))) fail(`empty block at ${pos}`);
      if (fld(x, I.USED) !== 0 && fld(x, I.USED) !== 1) fail(`slot ${x} used flag is ${fld(x, I.USED)}`);
      if (pv !== NIL && fld(pv, I.USED) === 0 && fld(x, I.USED) === 0) fail(`adjacent free blocks at ${pos}`);
      if (fld(x, I.USED) === 0 && fld(x, I.TAG) !== 0) fail(`free block at ${pos} has a tag`);
      pos = E(x);
      pv = x;
    }
    if (n !== this.count) fail(`list has ${n} blocks, count says ${this.count}`);
    if (pos !== rangeEnd) fail(`list ends at ${pos}, expected ${rangeEnd}`);
    // Tree: in-order equals list order, parents consistent; every cached child height and
    // maxFree equals the true value of that subtree; AVL balance.
    if (this.root !== NIL && fld(this.root, I.PARENT) !== NIL) fail('root has a parent');
    let expect = this.head;
    /** Returns [true height, true largest free size] of the subtree at x. */
    const walk = (x: number, p: number): [number, number] => {
      if (x === NIL) return [0, 0];
      if (fld(x, I.PARENT) !== p) fail(`slot ${x} has parent ${fld(x, I.PARENT)}, expected ${p}`);
      const [hl, ml] = walk(fld(x, I.LEFT), x);
      if (x !== expect) fail(`in-order slot ${x} but list has ${expect}`);
      expect = fld(x, I.NEXT);
      const [hr, mr] = walk(fld(x, I.RIGHT), x);
      if (Math.abs(hl - hr) > 1) fail(`slot ${x} unbalanced (${hl} vs ${hr})`);
      const hs = fld(x, I.HEIGHTS);
      if ((hs & 0xff) !== hl || hs >>> 8 !== hr) fail(`slot ${x} caches heights ${hs & 0xff}/${hs >>> 8}, true ${hl}/${hr}`);
      const xf = x << Stride.F_LOG2;
      if (f[xf + F.MAXL] !== ml || f[xf + F.MAXR] !== mr) {
        fail(`slot ${x} caches maxFree ${f[xf + F.MAXL]}/${f[xf + F.MAXR]}, true ${ml}/${mr}`);
      }
      const own = fld(x, I.USED) ? 0 : E(x) - S(x);
      return [Math.max(hl, hr) + 1, Math.max(own, ml, mr)];
    };
    walk(this.root, NIL);
    if (expect !== NIL) fail('list has blocks the tree does not');
    for (let k = 0; k < 1 << Stride.F_LOG2; k++) if (f[k] !== 0) fail('NIL slot was written');
    let free = 0;
    for (let x = this.freeSlot; x !== NIL; x = fld(x, I.NEXT)) {
      if (++free > this.capacity) fail('slot free list cycles');
    }
    if (free + this.count + 1 !== this.capacity) fail(`slots leak: ${free} free + ${this.count} live + NIL != ${this.capacity}`);
    // Tag references: one per block holding a tag.
    const tagCounts = new Map<number, number>();
    for (let x = this.head; x !== NIL; x = fld(x, I.NEXT)) {
      if (fld(x, I.TAG) !== 0) tagCounts.set(fld(x, I.TAG), (tagCounts.get(fld(x, I.TAG)) ?? 0) + 1);
    }
    this.tags.check(tagCounts, fail);
  }
}
