// Mattson's one-pass LRU: the stack distance of every reference gives LRU's faults at every
// memory size at once (Mattson, Gecsei, Slutz, Traiger, "Evaluation techniques for storage
// hierarchies", IBM Systems Journal 9(2), 1970). Distances are counted with a Fenwick tree over
// reference times (Bennett & Kruskal 1975), O(log n) per reference instead of a list walk.
import { growToIndex } from './grow-array';
import { TraceOptionError } from './trace-errors';

/** Pages kept at the top of the stack in a small array, outside the tree. */
const TOP = 8;

/**
 * Feeds page ids (dense, from `PageIdTable`) one reference at a time; `missesAt(frames)` is
 * then the number of faults LRU makes with `frames` frames. Memory follows the number of
 * distinct pages: reference times are renumbered (compacted) whenever the tree fills, so the
 * trace's length does not matter. The 8 most recent pages live in an array in stack order, so
 * the common short distances cost a scan of at most 8 ids and no tree operation; the tree holds
 * the last-reference times of the pages below them.
 */
export class LruStackDistance {
  /** References seen. */
  referenceCount = 0;
  /** First references of a page (misses at every size). */
  coldMisses = 0;
  /** histogram[d]: references with stack distance d (1 = the page referenced last). */
  private histogram = new Float64Array(64);
  private maxDistance = 0;
  /** lastTime[page id]: the time slot of the page's last reference, -1 never. */
  private lastTime = new Int32Array(1024).fill(-1);
  /** Fenwick tree over time slots: 1 where a page had its last reference. */
  private tree: Int32Array;
  /** Page id whose last reference is in each time slot (-1 none). */
  private pageAt: Int32Array;
  private now = 0;
  private live = 0;
  private lastPage = -1;
  /** The most recent distinct pages, most recent first. */
  private readonly top = new Int32Array(TOP);
  private topLength = 0;
  /** Marks in the tree. */
  private treeCount = 0;

  constructor(initialSlots = 4096) {
    let cap = 16;
    while (cap < initialSlots) cap *= 2;
    this.tree = new Int32Array(cap + 1);
    this.pageAt = new Int32Array(cap).fill(-1);
  }

  /** Records a reference to page id `page`. */
  reference(page: number): void {
    this.referenceCount++;
    if (page === this.lastPage) {
      this.histogram[1]!++;
      if (this.maxDistance < 1) this.maxDistance = 1;
      return;
    }
    this.lastPage = page;
    if (page >= this.lastTime.length) this.lastTime = growToIndex(this.lastTime, page, -1);
    if (this.now === this.pageAt.length) this.compact();
    const t = this.now++;
    const top = this.top;
    const n = this.topLength;
    // Second in the stack (two pages in turn, as code and data): distance 2.
    if (n > 1 && top[1] === page) {
      top[1] = top[0]!;
      top[0] = page;
      this.histogram[2]!++;
      if (this.maxDistance < 2) this.maxDistance = 2;
      this.lastTime[page] = t;
      return;
    }
    // In the top array: the distance is its place there.
    for (let i = 2; i < n; i++) {
      if (top[i] === page) {
        for (let k = i; k > 0; k--) top[k] = top[k - 1]!;
        top[0] = page;
        this.count(i + 1);
        this.lastTime[page] = t;
        return;
      }
    }
    const last = this.lastTime[page]!;
    if (last < 0) {
      this.coldMisses++;
      this.live++;
    } else {
      // Below the top array (which is then full): the top pages and the tree's marks after `last`
      // were referenced since, plus the page itself.
      this.count(n + (this.treeCount - this.prefix(last + 1)) + 1);
      this.add(last, -1);
      this.pageAt[last] = -1;
      this.treeCount--;
    }
    // Literals for TOP (8) and TOP - 1 below: a bundler makes module consts vars the JIT cannot fold.
    if (n === 8) {
      // The least recent top page goes down into the tree at its last-reference time.
      const down = top[7]!;
      const slot = this.lastTime[down]!;
      this.add(slot, 1);
      this.pageAt[slot] = down;
      this.treeCount++;
    } else this.topLength = n + 1;
    for (let k = n < 7 ? n : 7; k > 0; k--) top[k] = top[k - 1]!;
    top[0] = page;
    this.lastTime[page] = t;
  }

  private count(d: number): void {
    if (d >= this.histogram.length) this.histogram = growToIndex(this.histogram, d);
    this.histogram[d]!++;
    if (d > this.maxDistance) this.maxDistance = d;
  }

  /** Records `count` more references to the page referenced last (distance 1). */
  repeat(count: number): void {
    if (this.lastPage < 0) throw new TraceOptionError('repeat before any reference');
    this.referenceCount += count;
    this.histogram[1]! += count;
    if (this.maxDistance < 1) this.maxDistance = 1;
  }

  /** Distinct pages seen. */
  get distinctPages(): number {
    return this.live;
  }

  /** LRU's faults with `frames` frames (frames >= 1). */
  missesAt(frames: number): number {
    let m = this.coldMisses;
    for (let d = Math.max(frames + 1, 1); d <= this.maxDistance; d++) m += this.histogram[d]!;
    return m;
  }

  /**
   * Faults for every memory size: `curve[f]` = LRU's faults with `f` frames, for f in
   * 1..distinctPages (index 0 holds the reference count: zero frames miss every time).
   * With more frames than distinct pages only the cold misses remain.
   */
  missCurve(): Float64Array {
    const n = this.live;
    const curve = new Float64Array(n + 1);
    curve[0] = this.referenceCount;
    let above = 0; // references with distance > f
    for (let d = this.maxDistance; d > n; d--) above += this.histogram[d]!;
    for (let f = n; f >= 1; f--) {
      curve[f] = this.coldMisses + above;
      above += this.histogram[f]!;
    }
    return curve;
  }

  private prefix(i: number): number {
    // Sum of slots [0, i).
    let s = 0;
    const tree = this.tree;
    for (; i > 0; i -= i & -i) s += tree[i]!;
    return s;
  }

  private add(slot: number, delta: number): void {
    const tree = this.tree;
    const n = tree.length;
    for (let i = slot + 1; i < n; i += i & -i) tree[i]! += delta;
  }

  /**
   * Renumbers the live last-reference times in order (doubling the tree when over half full):
   * the tree's pages get 0..m-1, the top array's m.. (they are all more recent). In place unless
   * the tree grows: a page only ever moves to an earlier slot.
   */
  private compact(): void {
    let cap = this.pageAt.length;
    const grow = this.live * 2 > cap;
    if (grow) cap *= 2;
    const old = this.pageAt;
    const pageAt = grow ? new Int32Array(cap) : old;
    let t = 0;
    for (let i = 0; i < this.now; i++) {
      const p = old[i]!;
      if (p < 0) continue;
      pageAt[t] = p;
      this.lastTime[p] = t;
      t++;
    }
    pageAt.fill(-1, t);
    const marks = t;
    for (let k = this.topLength - 1; k >= 0; k--) this.lastTime[this.top[k]!] = t++;
    // A Fenwick tree of ones over [0, marks): node i covers (i - lowbit(i), i].
    const tree = grow ? new Int32Array(cap + 1) : this.tree;
    for (let i = 1; i <= cap; i++) {
      const lo = i - (i & -i);
      tree[i] = Math.max(0, Math.min(i, marks) - lo);
    }
    this.tree = tree;
    this.pageAt = pageAt;
    this.now = t;
  }
}
