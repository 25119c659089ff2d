import { StartIndex } from './start-index';
import { TagTable } from './tag-table';

/** The null slot: height 0, maxFree 0, never written. */
export const NIL = 0;

// Node record layout: 64 bytes per slot in one ArrayBuffer, seen through two views.
//   f64 view, stride 8:  [0] start  [1] end  [2] maxFree (largest free block size in the subtree)
//   i32 view, stride 16: [6] left [7] right [8] parent [9] prev [10] next [11] height [12] used [13] tag id
// One record per cache line (or two): a tree descent touches one place per level instead of one
// per field array, which is what bounds speed at 10^5 blocks (memory latency, not arithmetic).
const F_STRIDE_LOG2 = 3;
const I_STRIDE_LOG2 = 4;
const START = 0;
const END = 1;
const MAXFREE = 2;
const LEFT = 6;
const RIGHT = 7;
const PARENT = 8;
const PREV = 9;
const NEXT = 10;
const HEIGHT = 11;
const USED = 12;
const TAG = 13;
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
  /** Start address of every in-use block -> its slot. */
  private usedStarts = new StartIndex();
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
    c.usedStarts = this.usedStarts.clone();
    c.root = this.root;
    c.head = this.head;
    c.count = this.count;
    c.freeSlot = this.freeSlot;
    return c;
  }

  // ---- field access (small enough for the JIT to inline) -----------------------------------

  /** First byte of block `x`. */
  startOf(x: number): number {
    return this.f[x << F_STRIDE_LOG2]!;
  }
  /** One past the last byte of block `x`. */
  endOf(x: number): number {
    return this.f[(x << F_STRIDE_LOG2) + END]!;
  }
  /** The tag of block `x`. */
  tagOf(x: number): Tag | undefined {
    return this.tags.value(this.i[(x << I_STRIDE_LOG2) + TAG]!);
  }
  /** 1 if block `x` is in use, else 0. */
  usedOf(x: number): number {
    return this.i[(x << I_STRIDE_LOG2) + USED]!;
  }
  /** The block after `x` in address order, or NIL. */
  nextOf(x: number): number {
    return this.i[(x << I_STRIDE_LOG2) + NEXT]!;
  }
  /** The in-use block starting exactly at `addr`, or NIL: O(1) expected. */
  usedBlockAt(addr: number): number {
    return this.usedStarts.get(addr);
  }
  /** The size of the largest free block, 0 if none. */
  largestFree(): number {
    return this.f[(this.root << F_STRIDE_LOG2) + MAXFREE]!;
  }

  // ---- slots -------------------------------------------------------------------------------

  private chainFreeSlots(from: number, to: number): void {
    const i = this.i;
    for (let x = to - 1; x >= from; x--) {
      i[(x << I_STRIDE_LOG2) + NEXT] = this.freeSlot;
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
    const xi = x << I_STRIDE_LOG2;
    const xf = x << F_STRIDE_LOG2;
    this.freeSlot = i[xi + NEXT]!;
    f[xf + START] = s;
    f[xf + END] = e;
    f[xf + MAXFREE] = used ? 0 : e - s;
    i[xi + LEFT] = NIL;
    i[xi + RIGHT] = NIL;
    i[xi + PARENT] = NIL;
    i[xi + PREV] = NIL;
    i[xi + NEXT] = NIL;
    i[xi + HEIGHT] = 1;
    i[xi + USED] = used;
    i[xi + TAG] = tagId;
    this.count++;
    if (used) this.usedStarts.set(s, x);
    return x;
  }

  private releaseNode(x: number): void {
    this.tags.release(this.i[(x << I_STRIDE_LOG2) + TAG]!);
    this.i[(x << I_STRIDE_LOG2) + NEXT] = this.freeSlot;
    this.freeSlot = x;
    this.count--;
  }

  // ---- tree maintenance ---------------------------------------------------------------------

  /** Recomputes height and maxFree of `x` from its children and its own block. */
  private pull(x: number): void {
    const f = this.f;
    const i = this.i;
    const xi = x << I_STRIDE_LOG2;
    const xf = x << F_STRIDE_LOG2;
    const l = i[xi + LEFT]!;
    const r = i[xi + RIGHT]!;
    const hl = i[(l << I_STRIDE_LOG2) + HEIGHT]!;
    const hr = i[(r << I_STRIDE_LOG2) + HEIGHT]!;
    i[xi + HEIGHT] = (hl > hr ? hl : hr) + 1;
    let m = i[xi + USED] ? 0 : f[xf + END]! - f[xf + START]!;
    const ml = f[(l << F_STRIDE_LOG2) + MAXFREE]!;
    const mr = f[(r << F_STRIDE_LOG2) + MAXFREE]!;
    if (ml > m) m = ml;
    if (mr > m) m = mr;
    f[xf + MAXFREE] = m;
  }

  private replaceChild(p: number, old: number, child: number): void {
    if (p === NIL) this.root = child;
    else {
      const pi = p << I_STRIDE_LOG2;
      if (this.i[pi + LEFT] === old) this.i[pi + LEFT] = child;
      else this.i[pi + RIGHT] = child;
    }
  }

  /** Rotates `x` down to the side `down` (LEFT or RIGHT); its child on the other side comes up. */
  private rotate(x: number, down: number): number {
    const up = LEFT + RIGHT - down;
    const i = this.i;
    const xi = x << I_STRIDE_LOG2;
    const y = i[xi + up]!;
    const yi = y << I_STRIDE_LOG2;
    const b = i[yi + down]!;
    const p = i[xi + PARENT]!;
    i[xi + up] = b;
    if (b !== NIL) i[(b << I_STRIDE_LOG2) + PARENT] = x;
    i[yi + down] = x;
    i[xi + PARENT] = y;
    i[yi + PARENT] = p;
    this.replaceChild(p, x, y);
    this.pull(x);
    this.pull(y);
    return y;
  }

  /** Restores the AVL balance at `x` (children already correct); returns the subtree's new root. */
  private rebalance(x: number): number {
    const i = this.i;
    const xi = x << I_STRIDE_LOG2;
    const l = i[xi + LEFT]!;
    const r = i[xi + RIGHT]!;
    const li = l << I_STRIDE_LOG2;
    const ri = r << I_STRIDE_LOG2;
    const hl = i[li + HEIGHT]!;
    const hr = i[ri + HEIGHT]!;
    if (hl > hr + 1) {
      if (i[(i[li + LEFT]! << I_STRIDE_LOG2) + HEIGHT]! < i[(i[li + RIGHT]! << I_STRIDE_LOG2) + HEIGHT]!) {
        this.rotate(l, LEFT);
      }
      return this.rotate(x, RIGHT);
    }
    if (hr > hl + 1) {
      if (i[(i[ri + RIGHT]! << I_STRIDE_LOG2) + HEIGHT]! < i[(i[ri + LEFT]! << I_STRIDE_LOG2) + HEIGHT]!) {
        this.rotate(r, RIGHT);
      }
      return this.rotate(x, LEFT);
    }
    this.pull(x);
    return x;
  }

  /**
   * Rebalances and recomputes nodes from `x` upwards after a structural change below `x`. Stops at
   * the first node that needed no rotation and whose height and maxFree did not change: its
   * ancestors depend on nothing else below. A node whose own block changed is not covered: call
   * `touch` on it afterwards.
   */
  private fixUp(x: number): void {
    const i = this.i;
    const f = this.f;
    while (x !== NIL) {
      const h = i[(x << I_STRIDE_LOG2) + HEIGHT];
      const m = f[(x << F_STRIDE_LOG2) + MAXFREE];
      const y = this.rebalance(x);
      if (y === x && i[(x << I_STRIDE_LOG2) + HEIGHT] === h && f[(x << F_STRIDE_LOG2) + MAXFREE] === m) return;
      x = i[(y << I_STRIDE_LOG2) + PARENT]!;
    }
  }

  /**
   * After block `x` changed payload only (size or used), refreshes maxFree upwards, stopping as
   * soon as a node's value does not change (its ancestors then cannot change either).
   */
  touch(x: number): void {
    const f = this.f;
    const i = this.i;
    while (x !== NIL) {
      const xi = x << I_STRIDE_LOG2;
      const xf = x << F_STRIDE_LOG2;
      let m = i[xi + USED] ? 0 : f[xf + END]! - f[xf + START]!;
      const ml = f[(i[xi + LEFT]! << F_STRIDE_LOG2) + MAXFREE]!;
      const mr = f[(i[xi + RIGHT]! << F_STRIDE_LOG2) + MAXFREE]!;
      if (ml > m) m = ml;
      if (mr > m) m = mr;
      if (f[xf + MAXFREE] === m) return;
      f[xf + MAXFREE] = m;
      x = i[xi + PARENT]!;
    }
  }

  // ---- list + tree edits -------------------------------------------------------------------

  /** Inserts a new block right after block `x` in address order; returns its slot. Takes over the reference to `tagId`. */
  private insertAfter(x: number, s: number, e: number, used: number, tagId: number): number {
    const n = this.newNode(s, e, used, tagId); // may grow: read the views after this
    const i = this.i;
    const xi = x << I_STRIDE_LOG2;
    const ni = n << I_STRIDE_LOG2;
    const nx = i[xi + NEXT]!;
    // In-order successor of x: its right child when x has none, else the leftmost node of x's right
    // subtree, which is x's list successor and has no left child.
    let p: number;
    if (i[xi + RIGHT] === NIL) {
      i[xi + RIGHT] = n;
      p = x;
    } else {
      i[(nx << I_STRIDE_LOG2) + LEFT] = n;
      p = nx;
    }
    i[ni + PARENT] = p;
    i[ni + PREV] = x;
    i[ni + NEXT] = nx;
    if (nx !== NIL) i[(nx << I_STRIDE_LOG2) + PREV] = n;
    i[xi + NEXT] = n;
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
    const xi = x << I_STRIDE_LOG2;
    let r = x;
    if (i[xi + LEFT] !== NIL && i[xi + RIGHT] !== NIL) {
      r = i[xi + NEXT]!;
      const xf = x << F_STRIDE_LOG2;
      const rf = r << F_STRIDE_LOG2;
      f[xf + START] = f[rf + START]!;
      f[xf + END] = f[rf + END]!;
      i[xi + USED] = i[(r << I_STRIDE_LOG2) + USED]!;
      // x is free (tag 0): hand r's tag reference over to x, so releasing r drops none.
      i[xi + TAG] = i[(r << I_STRIDE_LOG2) + TAG]!;
      i[(r << I_STRIDE_LOG2) + TAG] = 0;
      if (i[xi + USED]) this.usedStarts.set(f[xf + START]!, x); // the successor's block moved to slot x
    }
    const ri = r << I_STRIDE_LOG2;
    const pv = i[ri + PREV]!;
    const nx = i[ri + NEXT]!;
    if (pv === NIL) this.head = nx;
    else i[(pv << I_STRIDE_LOG2) + NEXT] = nx;
    if (nx !== NIL) i[(nx << I_STRIDE_LOG2) + PREV] = pv;
    const c = i[ri + LEFT] !== NIL ? i[ri + LEFT]! : i[ri + RIGHT]!;
    const p = i[ri + PARENT]!;
    if (c !== NIL) i[(c << I_STRIDE_LOG2) + PARENT] = p;
    this.replaceChild(p, r, c);
    this.releaseNode(r);
    this.fixUp(p);
    if (r !== x) this.touch(x); // slot x now holds its successor's block
  }

  /**
   * Sets `[a, b)`, which lies inside block `x`, to the given state, splitting `x` into up to three
   * blocks; a range made free merges with free neighbours. Slots may move: re-find afterwards.
   */
  paint(x: number, a: number, b: number, used: number, tag: Tag | undefined): void {
    const xf = x << F_STRIDE_LOG2;
    const xi = x << I_STRIDE_LOG2;
    const s = this.f[xf + START]!;
    const e = this.f[xf + END]!;
    const oldUsed = this.i[xi + USED]!;
    const oldTagId = this.i[xi + TAG]!;
    const tagId = this.tags.acquire(tag);
    let m: number;
    if (a > s) {
      // x keeps [s, a); the new block follows it.
      this.f[xf + END] = a;
      m = this.insertAfter(x, a, b, used, tagId);
      if (b < e) this.insertAfter(m, b, e, oldUsed, this.tags.retain(oldTagId));
    } else {
      m = x;
      if (oldUsed !== used) {
        if (used) this.usedStarts.set(s, x);
        else this.usedStarts.delete(s);
      }
      this.i[xi + USED] = used;
      this.i[xi + TAG] = tagId;
      if (b < e) {
        this.f[xf + END] = b;
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
    const nx = this.i[(m << I_STRIDE_LOG2) + NEXT]!;
    if (nx !== NIL && this.i[(nx << I_STRIDE_LOG2) + USED] === 0) {
      this.f[(m << F_STRIDE_LOG2) + END] = this.f[(nx << F_STRIDE_LOG2) + END]!;
      this.remove(nx);
    }
    const pv = this.i[(m << I_STRIDE_LOG2) + PREV]!;
    if (pv !== NIL && this.i[(pv << I_STRIDE_LOG2) + USED] === 0) {
      this.f[(pv << F_STRIDE_LOG2) + END] = this.f[(m << F_STRIDE_LOG2) + END]!;
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
      const xf = x << F_STRIDE_LOG2;
      if (f[xf + START]! <= addr) {
        best = x;
        if (addr < f[xf + END]!) return x;
        x = i[(x << I_STRIDE_LOG2) + RIGHT]!;
      } else {
        x = i[(x << I_STRIDE_LOG2) + LEFT]!;
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
    if (root === NIL || this.f[(root << F_STRIDE_LOG2) + MAXFREE]! < sizeBytes) return NIL;
    return this.search(root, sizeBytes, alignBytes, lo, hi);
  }

  private search(x: number, size: number, align: number, lo: number, hi: number): number {
    // Caller guarantees x !== NIL and maxFree(x) >= size.
    const f = this.f;
    const i = this.i;
    const xf = x << F_STRIDE_LOG2;
    const xi = x << I_STRIDE_LOG2;
    const s = f[xf + START]!;
    const e = f[xf + END]!;
    // Left subtree blocks end at or before s: they can meet [lo, hi) only if s > lo.
    if (s > lo) {
      const l = i[xi + LEFT]!;
      if (f[(l << F_STRIDE_LOG2) + MAXFREE]! >= size) {
        const found = this.search(l, size, align, lo, hi);
        if (found !== NIL) return found;
      }
    }
    if (i[xi + USED] === 0 && e - s >= size) {
      let a = s > lo ? s : lo;
      const rem = a % align; // exact on doubles: no 32-bit truncation of 48-bit addresses
      if (rem !== 0) a += align - rem;
      if (a + size <= (e < hi ? e : hi)) {
        this.foundAddr = a;
        return x;
      }
    }
    // Right subtree blocks start at or after e: they can meet [lo, hi) only if e < hi.
    if (e < hi) {
      const r = i[xi + RIGHT]!;
      if (f[(r << F_STRIDE_LOG2) + MAXFREE]! >= size) return this.search(r, size, align, lo, hi);
    }
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
    const S = (x: number) => f[(x << F_STRIDE_LOG2) + START]!;
    const E = (x: number) => f[(x << F_STRIDE_LOG2) + END]!;
    const M = (x: number) => f[(x << F_STRIDE_LOG2) + MAXFREE]!;
    const I = (x: number, field: number) => i[(x << I_STRIDE_LOG2) + field]!;
    // List: contiguous tiling of [rangeStart, rangeEnd), no two free neighbours.
    let n = 0;
    let pos = rangeStart;
    let pv = NIL;
    for (let x = this.head; x !== NIL; x = I(x, NEXT)) {
      if (++n > this.count) fail('list longer than block count (cycle?)');
      if (I(x, PREV) !== pv) fail(`prev of slot ${x} is ${I(x, PREV)}, expected ${pv}`);
      if (S(x) !== pos) fail(`block at slot ${x} starts at ${S(x)}, expected ${pos}`);
      if (!(E(x) > S(x))) fail(`empty block at ${pos}`);
      if (I(x, USED) !== 0 && I(x, USED) !== 1) fail(`slot ${x} used flag is ${I(x, USED)}`);
      if (pv !== NIL && I(pv, USED) === 0 && I(x, USED) === 0) fail(`adjacent free blocks at ${pos}`);
      if (I(x, USED) === 0 && I(x, TAG) !== 0) fail(`free block at ${pos} has a tag`);
      pos = E(x);
      pv = x;
    }
    if (n !== this.count) fail(`list has ${n} blocks, count says ${this.count}`);
    if (pos !== rangeEnd) fail(`list ends at ${pos}, expected ${rangeEnd}`);
    // Tree: in-order equals list order, parents consistent, AVL heights and maxFree exact.
    if (this.root !== NIL && I(this.root, PARENT) !== NIL) fail('root has a parent');
    let expect = this.head;
    const walk = (x: number, p: number): void => {
      if (x === NIL) return;
      if (I(x, PARENT) !== p) fail(`slot ${x} has parent ${I(x, PARENT)}, expected ${p}`);
      walk(I(x, LEFT), x);
      if (x !== expect) fail(`in-order slot ${x} but list has ${expect}`);
      expect = I(x, NEXT);
      walk(I(x, RIGHT), x);
      const hl = I(I(x, LEFT), HEIGHT);
      const hr = I(I(x, RIGHT), HEIGHT);
      if (Math.abs(hl - hr) > 1) fail(`slot ${x} unbalanced (${hl} vs ${hr})`);
      if (I(x, HEIGHT) !== Math.max(hl, hr) + 1) fail(`slot ${x} height wrong`);
      const own = I(x, USED) ? 0 : E(x) - S(x);
      const m = Math.max(own, M(I(x, LEFT)), M(I(x, RIGHT)));
      if (M(x) !== m) fail(`slot ${x} maxFree ${M(x)} expected ${m}`);
    };
    walk(this.root, NIL);
    if (expect !== NIL) fail('list has blocks the tree does not');
    if (I(NIL, HEIGHT) !== 0 || M(NIL) !== 0) fail('NIL slot was written');
    let free = 0;
    for (let x = this.freeSlot; x !== NIL; x = I(x, NEXT)) {
      if (++free > this.capacity) fail('slot free list cycles');
    }
    if (free + this.count + 1 !== this.capacity) fail(`slots leak: ${free} free + ${this.count} live + NIL != ${this.capacity}`);
    // Tag references: one per block holding a tag.
    const tagCounts = new Map<number, number>();
    for (let x = this.head; x !== NIL; x = I(x, NEXT)) {
      if (I(x, TAG) !== 0) tagCounts.set(I(x, TAG), (tagCounts.get(I(x, TAG)) ?? 0) + 1);
    }
    this.tags.check(tagCounts, fail);
    // Used-start index: exactly the in-use blocks, each mapped to its slot.
    let usedCount = 0;
    for (let x = this.head; x !== NIL; x = I(x, NEXT)) {
      if (I(x, USED) === 0) continue;
      usedCount++;
      if (this.usedStarts.get(S(x)) !== x) fail(`used-start index misses block ${S(x)} (slot ${x})`);
    }
    if (this.usedStarts.size !== usedCount) fail(`used-start index holds ${this.usedStarts.size} entries for ${usedCount} in-use blocks`);
    for (const [key, slot] of this.usedStarts.entries()) {
      if (S(slot) !== key || I(slot, USED) !== 1) fail(`used-start index maps ${key} to slot ${slot}`);
    }
  }
}
