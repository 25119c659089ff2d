/** The null slot: height 0, maxFree 0, never written. */
export const NIL = 0;

/**
 * The ordered list of blocks and its index, in struct-of-arrays form.
 *
 * Every block is a node slot `x` (an index into the typed arrays below). The slots are linked two
 * ways at once:
 *  - a doubly linked list in address order (`prev`/`next`): the model users see;
 *  - an AVL tree keyed by start address (`left`/`right`/`parent`) whose in-order walk is that same
 *    list, each node carrying the largest free block size in its subtree (`maxFree`). This is the
 *    augmented tree Linux uses for vmalloc space (mm/vmalloc.c: `subtree_max_size` on an rbtree of
 *    free areas), here over all blocks, so first fit, take and free are O(log n).
 *
 * Slot 0 is NIL: height 0, maxFree 0, never written. Freed slots form a free list threaded through
 * `next`. Addresses and sizes are doubles (Float64Array): exact for every safe integer, so 48-bit
 * and larger spaces work; nothing here uses 32-bit integer operators on an address.
 *
 * This class trusts its caller (VirtualAllocator validates everything first) and never throws
 * except from `check()`.
 * @internal
 */
export class BlockList<Tag> {
  start: Float64Array;
  end: Float64Array;
  maxFree: Float64Array;
  used: Uint8Array;
  height: Uint8Array;
  prev: Int32Array;
  next: Int32Array;
  left: Int32Array;
  right: Int32Array;
  parent: Int32Array;
  tags: (Tag | undefined)[];
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
    this.start = new Float64Array(capacity);
    this.end = new Float64Array(capacity);
    this.maxFree = new Float64Array(capacity);
    this.used = new Uint8Array(capacity);
    this.height = new Uint8Array(capacity);
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.left = new Int32Array(capacity);
    this.right = new Int32Array(capacity);
    this.parent = new Int32Array(capacity);
    this.tags = new Array<Tag | undefined>(capacity).fill(undefined);
    this.chainFreeSlots(1, capacity);
    if (rangeEnd > rangeStart) {
      const x = this.newNode(rangeStart, rangeEnd, 0, undefined);
      this.root = x;
      this.head = x;
    }
  }

  /** A deep copy (for fork): same slots, same shape, independent arrays. */
  clone(): BlockList<Tag> {
    const c = new BlockList<Tag>(0, 0, 1);
    c.capacity = this.capacity;
    c.start = this.start.slice();
    c.end = this.end.slice();
    c.maxFree = this.maxFree.slice();
    c.used = this.used.slice();
    c.height = this.height.slice();
    c.prev = this.prev.slice();
    c.next = this.next.slice();
    c.left = this.left.slice();
    c.right = this.right.slice();
    c.parent = this.parent.slice();
    c.tags = this.tags.slice();
    c.root = this.root;
    c.head = this.head;
    c.count = this.count;
    c.freeSlot = this.freeSlot;
    return c;
  }

  // ---- slots -------------------------------------------------------------------------------

  private chainFreeSlots(from: number, to: number): void {
    for (let i = to - 1; i >= from; i--) {
      this.next[i] = this.freeSlot;
      this.freeSlot = i;
    }
  }

  private grow(): void {
    const old = this.capacity;
    const cap = old * 2;
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    const u8 = (a: Uint8Array) => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    this.start = f64(this.start);
    this.end = f64(this.end);
    this.maxFree = f64(this.maxFree);
    this.used = u8(this.used);
    this.height = u8(this.height);
    this.prev = i32(this.prev);
    this.next = i32(this.next);
    this.left = i32(this.left);
    this.right = i32(this.right);
    this.parent = i32(this.parent);
    for (let i = old; i < cap; i++) this.tags.push(undefined);
    this.capacity = cap;
    this.chainFreeSlots(old, cap);
  }

  private newNode(s: number, e: number, used: number, tag: Tag | undefined): number {
    if (this.freeSlot === NIL) this.grow();
    const x = this.freeSlot;
    this.freeSlot = this.next[x]!;
    this.start[x] = s;
    this.end[x] = e;
    this.used[x] = used;
    this.tags[x] = tag;
    this.left[x] = NIL;
    this.right[x] = NIL;
    this.parent[x] = NIL;
    this.prev[x] = NIL;
    this.next[x] = NIL;
    this.height[x] = 1;
    this.maxFree[x] = used ? 0 : e - s;
    this.count++;
    return x;
  }

  private releaseNode(x: number): void {
    this.tags[x] = undefined;
    this.next[x] = this.freeSlot;
    this.freeSlot = x;
    this.count--;
  }

  // ---- tree maintenance ---------------------------------------------------------------------

  /** Recomputes height and maxFree of `x` from its children and its own block. */
  private pull(x: number): void {
    const l = this.left[x]!;
    const r = this.right[x]!;
    const hl = this.height[l]!;
    const hr = this.height[r]!;
    this.height[x] = (hl > hr ? hl : hr) + 1;
    let m = this.used[x] ? 0 : this.end[x]! - this.start[x]!;
    const ml = this.maxFree[l]!;
    const mr = this.maxFree[r]!;
    if (ml > m) m = ml;
    if (mr > m) m = mr;
    this.maxFree[x] = m;
  }

  private replaceChild(p: number, old: number, child: number): void {
    if (p === NIL) this.root = child;
    else if (this.left[p] === old) this.left[p] = child;
    else this.right[p] = child;
  }

  private rotateLeft(x: number): number {
    const y = this.right[x]!;
    const b = this.left[y]!;
    const p = this.parent[x]!;
    this.right[x] = b;
    if (b !== NIL) this.parent[b] = x;
    this.left[y] = x;
    this.parent[x] = y;
    this.parent[y] = p;
    this.replaceChild(p, x, y);
    this.pull(x);
    this.pull(y);
    return y;
  }

  private rotateRight(x: number): number {
    const y = this.left[x]!;
    const b = this.right[y]!;
    const p = this.parent[x]!;
    this.left[x] = b;
    if (b !== NIL) this.parent[b] = x;
    this.right[y] = x;
    this.parent[x] = y;
    this.parent[y] = p;
    this.replaceChild(p, x, y);
    this.pull(x);
    this.pull(y);
    return y;
  }

  /** Restores the AVL balance at `x` (children already correct); returns the subtree's new root. */
  private rebalance(x: number): number {
    const h = this.height;
    const l = this.left[x]!;
    const r = this.right[x]!;
    const hl = h[l]!;
    const hr = h[r]!;
    if (hl > hr + 1) {
      if (h[this.left[l]!]! < h[this.right[l]!]!) this.rotateLeft(l);
      return this.rotateRight(x);
    }
    if (hr > hl + 1) {
      if (h[this.right[r]!]! < h[this.left[r]!]!) this.rotateRight(r);
      return this.rotateLeft(x);
    }
    this.pull(x);
    return x;
  }

  /** Rebalances and recomputes every node from `x` up to the root, after a structural change below `x`. */
  private fixUp(x: number): void {
    while (x !== NIL) {
      x = this.rebalance(x);
      x = this.parent[x]!;
    }
  }

  /**
   * After block `x` changed payload only (size or used), refreshes maxFree upwards, stopping as
   * soon as a node's value does not change (its ancestors then cannot change either).
   */
  touch(x: number): void {
    const maxFree = this.maxFree;
    while (x !== NIL) {
      const l = this.left[x]!;
      const r = this.right[x]!;
      let m = this.used[x] ? 0 : this.end[x]! - this.start[x]!;
      const ml = maxFree[l]!;
      const mr = maxFree[r]!;
      if (ml > m) m = ml;
      if (mr > m) m = mr;
      if (maxFree[x] === m) return;
      maxFree[x] = m;
      x = this.parent[x]!;
    }
  }

  // ---- list + tree edits -------------------------------------------------------------------

  /** Inserts a new block right after block `x` in address order; returns its slot. */
  insertAfter(x: number, s: number, e: number, used: number, tag: Tag | undefined): number {
    const n = this.newNode(s, e, used, tag);
    const nx = this.next[x]!;
    // In-order successor of x: its right child when x has none, else the leftmost node of x's right
    // subtree, which is x's list successor and has no left child.
    if (this.right[x] === NIL) {
      this.right[x] = n;
      this.parent[n] = x;
    } else {
      this.left[nx] = n;
      this.parent[n] = nx;
    }
    this.prev[n] = x;
    this.next[n] = nx;
    if (nx !== NIL) this.prev[nx] = n;
    this.next[x] = n;
    this.fixUp(this.parent[n]);
    return n;
  }

  /**
   * Removes block `x` from the sequence. When `x` has two children, its successor's payload moves
   * into slot `x` and the successor's slot is the one unlinked; so after this call slot `x` may
   * hold the block that followed it. Callers re-read neighbours through `prev`/`next`.
   */
  remove(x: number): void {
    let r = x;
    if (this.left[x] !== NIL && this.right[x] !== NIL) {
      r = this.next[x]!;
      this.start[x] = this.start[r]!;
      this.end[x] = this.end[r]!;
      this.used[x] = this.used[r]!;
      this.tags[x] = this.tags[r];
    }
    const pv = this.prev[r]!;
    const nx = this.next[r]!;
    if (pv === NIL) this.head = nx;
    else this.next[pv] = nx;
    if (nx !== NIL) this.prev[nx] = pv;
    const c = this.left[r] !== NIL ? this.left[r]! : this.right[r]!;
    const p = this.parent[r]!;
    if (c !== NIL) this.parent[c] = p;
    this.replaceChild(p, r, c);
    this.releaseNode(r);
    this.fixUp(p);
  }

  /**
   * Sets `[a, b)`, which lies inside block `x`, to the given state, splitting `x` into up to three
   * blocks; a range made free merges with free neighbours. Returns nothing: slots may move.
   */
  paint(x: number, a: number, b: number, used: number, tag: Tag | undefined): void {
    const s = this.start[x]!;
    const e = this.end[x]!;
    const oldUsed = this.used[x]!;
    const oldTag = this.tags[x];
    let m: number;
    if (a > s) {
      // x keeps [s, a); the new block follows it (a descendant of x, so fixUp passes x).
      this.end[x] = a;
      m = this.insertAfter(x, a, b, used, tag);
      if (b < e) this.insertAfter(m, b, e, oldUsed, oldTag);
    } else if (b < e) {
      this.end[x] = b;
      this.used[x] = used;
      this.tags[x] = tag;
      this.insertAfter(x, b, e, oldUsed, oldTag);
      m = x;
    } else {
      this.used[x] = used;
      this.tags[x] = tag;
      this.touch(x);
      m = x;
    }
    if (!used) this.mergeFree(m);
  }

  /** Merges free block `m` with a free successor and a free predecessor. */
  private mergeFree(m: number): void {
    const nx = this.next[m]!;
    if (nx !== NIL && this.used[nx] === 0) {
      this.end[m] = this.end[nx]!;
      this.remove(nx);
    }
    const pv = this.prev[m]!;
    if (pv !== NIL && this.used[pv] === 0) {
      this.end[pv] = this.end[m]!;
      this.remove(m);
      m = pv;
    }
    this.touch(m);
  }

  // ---- queries -----------------------------------------------------------------------------

  /** The block containing `addr` (the last block starting at or before it); NIL if before all. */
  find(addr: number): number {
    let x = this.root;
    let best = NIL;
    const start = this.start;
    while (x !== NIL) {
      if (start[x]! <= addr) {
        best = x;
        if (addr < this.end[x]!) return x;
        x = this.right[x]!;
      } else {
        x = this.left[x]!;
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
    if (root === NIL || this.maxFree[root]! < sizeBytes) return NIL;
    return this.search(root, sizeBytes, alignBytes, lo, hi);
  }

  private search(x: number, size: number, align: number, lo: number, hi: number): number {
    // Caller guarantees x !== NIL and maxFree[x] >= size.
    const s = this.start[x]!;
    const e = this.end[x]!;
    // Left subtree blocks end at or before s: they can meet [lo, hi) only if s > lo.
    if (s > lo) {
      const l = this.left[x]!;
      if (this.maxFree[l]! >= size) {
        const found = this.search(l, size, align, lo, hi);
        if (found !== NIL) return found;
      }
    }
    if (this.used[x] === 0 && e - s >= size) {
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
      const r = this.right[x]!;
      if (this.maxFree[r]! >= size) return this.search(r, size, align, lo, hi);
    }
    return NIL;
  }

  // ---- invariants --------------------------------------------------------------------------

  /** Throws unless list and tree agree and every augmented value is right. */
  check(rangeStart: number, rangeEnd: number): void {
    const fail = (msg: string): never => {
      throw new Error(`BlockList invariant broken: ${msg}`);
    };
    // List: contiguous tiling of [rangeStart, rangeEnd), no two free neighbours.
    let n = 0;
    let pos = rangeStart;
    let pv = NIL;
    for (let x = this.head; x !== NIL; x = this.next[x]!) {
      if (++n > this.count) fail('list longer than block count (cycle?)');
      if (this.prev[x] !== pv) fail(`prev of slot ${x} is ${this.prev[x]}, expected ${pv}`);
      if (this.start[x] !== pos) fail(`block at slot ${x} starts at ${this.start[x]}, expected ${pos}`);
      if (!(this.end[x]! > this.start[x]!)) fail(`empty block at ${pos}`);
      if (pv !== NIL && this.used[pv] === 0 && this.used[x] === 0) fail(`adjacent free blocks at ${pos}`);
      if (this.used[x] === 0 && this.tags[x] !== undefined) fail(`free block at ${pos} has a tag`);
      pos = this.end[x]!;
      pv = x;
    }
    if (n !== this.count) fail(`list has ${n} blocks, count says ${this.count}`);
    if (pos !== rangeEnd) fail(`list ends at ${pos}, expected ${rangeEnd}`);
    // Tree: in-order equals list order, parents consistent, AVL heights and maxFree exact.
    if (this.root !== NIL && this.parent[this.root] !== NIL) fail('root has a parent');
    let expect = this.head;
    const walk = (x: number, p: number): void => {
      if (x === NIL) return;
      if (this.parent[x] !== p) fail(`slot ${x} has parent ${this.parent[x]}, expected ${p}`);
      walk(this.left[x]!, x);
      if (x !== expect) fail(`in-order slot ${x} but list has ${expect}`);
      expect = this.next[x]!;
      walk(this.right[x]!, x);
      const hl = this.height[this.left[x]!]!;
      const hr = this.height[this.right[x]!]!;
      if (Math.abs(hl - hr) > 1) fail(`slot ${x} unbalanced (${hl} vs ${hr})`);
      if (this.height[x] !== Math.max(hl, hr) + 1) fail(`slot ${x} height wrong`);
      const own = this.used[x] ? 0 : this.end[x]! - this.start[x]!;
      const m = Math.max(own, this.maxFree[this.left[x]!]!, this.maxFree[this.right[x]!]!);
      if (this.maxFree[x] !== m) fail(`slot ${x} maxFree ${this.maxFree[x]} expected ${m}`);
    };
    walk(this.root, NIL);
    if (expect !== NIL) fail('list has blocks the tree does not');
    if (this.height[NIL] !== 0 || this.maxFree[NIL] !== 0) fail('NIL slot was written');
    let free = 0;
    for (let x = this.freeSlot; x !== NIL; x = this.next[x]!) {
      if (++free > this.capacity) fail('slot free list cycles');
    }
    if (free + this.count + 1 !== this.capacity) fail(`slots leak: ${free} free + ${this.count} live + NIL != ${this.capacity}`);
  }
}
