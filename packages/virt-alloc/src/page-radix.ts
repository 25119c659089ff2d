/* eslint-disable @typescript-eslint/no-unsafe-enum-comparison -- the const enums below are named numeric constants (inlined by esbuild) */
import { grow } from './grow';

const enum R {
  LEAF_BITS = 4,
  LEAF = 16,
  LEAF_MASK = 15,
  FAN_BITS = 8,
  FAN = 256,
  FAN_MASK = 255,
  /** Keys split at 2^28: bit offsets 4, 12, 20 fall in the low part, 28, 36, 44, 52 in the high part. */
  SPLIT_BITS = 28,
}
const SPLIT = 2 ** 28;

/** Bit offset of the index at inner level `lv` (0 = the level whose children are leaves). */
function offsetOf(lv: number): number {
  return R.LEAF_BITS + R.FAN_BITS * lv;
}

/**
 * The in-use blocks, keyed by the page (granule) number of their first byte: a sparse radix tree
 * shaped like an x86 page table. Inner nodes have 256 children, leaves 16 entries (a block's end
 * address and tag id); nodes and leaves are created on demand and dropped when they empty, so the
 * memory follows the regions in use, never the length of the address space.
 *
 * Why a radix tree and not a hash: `free` of a random block touches one leaf, and blocks that are
 * near in the address space share a leaf (16 entries: four cache lines); the levels above are few and
 * stay cached. A hash scatters neighbours over random lines (bench/free-interval-sketch.ts measured
 * the difference: README, "Benchmarks").
 *
 * Keys are page numbers below 2^53. No 32-bit operator touches a whole key: it is cut into a low
 * part (below 2^28) and a high part, each a 32-bit integer.
 * @internal
 */
export class PageRadix {
  /**
   * Inner levels (1..7); node 0 is the root, at level `levels - 1`. The tree grows a level on top
   * when a key at or above `limit` arrives (as Linux's radix tree grows with its largest index), so
   * a space whose blocks sit at low pages walks few levels.
   */
  levels = 1;
  /** Keys below this fit under the root: 2^(4 + 8 * levels). */
  private limit = 2 ** offsetOf(1);
  private kids: Int32Array;
  private kidCount: Int32Array;
  private nodeTop = 1;
  private freeNodes: number[] = [];
  /**
   * Per leaf entry, side by side (one cache line holds both): [2s] the block's end address (0 = no
   * block starts here), [2s + 1] its tag id. A leaf is 256 bytes.
   */
  private rec: Float64Array;
  private leafCount: Int32Array;
  /** Leaf 0 is never used: a child 0 means "none". */
  private leafTop = 1;
  private freeLeaves: number[] = [];
  /** Blocks held. */
  count = 0;
  /** The tag id of the block `remove` last removed. */
  removedTag = 0;
  /** The entry index the last successful `get` found (for `tagAtSlot`, `setEndAtSlot`). */
  slot = 0;
  private readonly pathNode = new Int32Array(7);
  private readonly pathIdx = new Int32Array(7);

  constructor() {
    this.kids = new Int32Array(4 << R.FAN_BITS);
    this.kidCount = new Int32Array(4);
    this.rec = new Float64Array(8 << R.LEAF_BITS);
    this.leafCount = new Int32Array(4);
  }

  clone(): PageRadix {
    const c = new PageRadix();
    c.levels = this.levels;
    c.limit = this.limit;
    c.kids = this.kids.slice();
    c.kidCount = this.kidCount.slice();
    c.nodeTop = this.nodeTop;
    c.freeNodes = this.freeNodes.slice();
    c.rec = this.rec.slice();
    c.leafCount = this.leafCount.slice();
    c.leafTop = this.leafTop;
    c.freeLeaves = this.freeLeaves.slice();
    c.count = this.count;
    return c;
  }

  /** The end of the block starting at page `key`, or 0 if none; sets `slot` when found. */
  get(key: number): number {
    if (key >= this.limit) return 0;
    const hi = key < SPLIT ? 0 : Math.floor(key / SPLIT);
    const lo = key - hi * SPLIT;
    const kids = this.kids;
    let n = 0;
    for (let lv = this.levels - 1; lv > 0; lv--) {
      const off = R.LEAF_BITS + R.FAN_BITS * lv;
      const i = off < R.SPLIT_BITS ? (lo >>> off) & R.FAN_MASK : (hi >>> (off - R.SPLIT_BITS)) & R.FAN_MASK;
      n = kids[(n << R.FAN_BITS) + i]!;
      if (n === 0) return 0;
    }
    const leaf = kids[(n << R.FAN_BITS) + ((lo >>> R.LEAF_BITS) & R.FAN_MASK)]!;
    if (leaf === 0) return 0;
    const s = (leaf << R.LEAF_BITS) + (lo & R.LEAF_MASK);
    this.slot = s;
    return this.rec[s << 1]!;
  }

  /** Tag id of the entry `get` last found. */
  tagAtSlot(): number {
    return this.rec[(this.slot << 1) + 1]!;
  }

  /** Changes the end of the entry `get` last found. */
  setEndAtSlot(end: number): void {
    this.rec[this.slot << 1] = end;
  }

  /** Adds a block starting at page `key` (no block may start there yet). */
  insert(key: number, end: number, tagId: number): void {
    while (key >= this.limit) this.addLevel();
    const hi = key < SPLIT ? 0 : Math.floor(key / SPLIT);
    const lo = key - hi * SPLIT;
    let n = 0;
    for (let lv = this.levels - 1; lv > 0; lv--) {
      const off = offsetOf(lv);
      const i = (n << R.FAN_BITS) + (off < R.SPLIT_BITS ? (lo >>> off) & R.FAN_MASK : (hi >>> (off - R.SPLIT_BITS)) & R.FAN_MASK);
      let c = this.kids[i]!;
      if (c === 0) {
        c = this.newNode(); // may grow kids: index again
        this.kids[i] = c;
        this.kidCount[n]!++;
      }
      n = c;
    }
    const i = (n << R.FAN_BITS) + ((lo >>> R.LEAF_BITS) & R.FAN_MASK);
    let leaf = this.kids[i]!;
    if (leaf === 0) {
      leaf = this.newLeaf();
      this.kids[i] = leaf;
      this.kidCount[n]!++;
    }
    const s = (leaf << R.LEAF_BITS) + (lo & R.LEAF_MASK);
    this.rec[s << 1] = end;
    this.rec[(s << 1) + 1] = tagId;
    this.leafCount[leaf]!++;
    this.count++;
  }

  /**
   * Removes the block starting at page `key`, if any: returns its end (0 if no block starts there,
   * changing nothing), its tag id in `removedTag`. Empty leaves and nodes go.
   */
  remove(key: number): number {
    if (key >= this.limit) return 0;
    const hi = key < SPLIT ? 0 : Math.floor(key / SPLIT);
    const lo = key - hi * SPLIT;
    const kids = this.kids;
    const pathNode = this.pathNode;
    const pathIdx = this.pathIdx;
    let n = 0;
    for (let lv = this.levels - 1; lv > 0; lv--) {
      const off = offsetOf(lv);
      const i = off < R.SPLIT_BITS ? (lo >>> off) & R.FAN_MASK : (hi >>> (off - R.SPLIT_BITS)) & R.FAN_MASK;
      pathNode[lv] = n;
      pathIdx[lv] = i;
      n = kids[(n << R.FAN_BITS) + i]!;
      if (n === 0) return 0;
    }
    const i0 = (lo >>> R.LEAF_BITS) & R.FAN_MASK;
    const leaf = kids[(n << R.FAN_BITS) + i0]!;
    if (leaf === 0) return 0;
    const s = (leaf << R.LEAF_BITS) + (lo & R.LEAF_MASK);
    const end = this.rec[s << 1]!;
    if (end === 0) return 0;
    this.removedTag = this.rec[(s << 1) + 1]!;
    this.rec[s << 1] = 0;
    this.rec[(s << 1) + 1] = 0;
    this.count--;
    if (--this.leafCount[leaf]! !== 0) return end;
    this.freeLeaves.push(leaf);
    kids[(n << R.FAN_BITS) + i0] = 0;
    // Drop the inner nodes left empty, bottom up (never the root).
    for (let lv = 0; ; lv++) {
      if (--this.kidCount[n]! !== 0 || lv + 1 >= this.levels) break;
      this.freeNodes.push(n);
      const p = pathNode[lv + 1]!;
      kids[(p << R.FAN_BITS) + pathIdx[lv + 1]!] = 0;
      n = p;
    }
    return end;
  }

  /** The largest key <= `key` that holds a block, or -1. */
  pred(key: number): number {
    if (key >= this.limit) key = this.limit - 1;
    const hi = key < SPLIT ? 0 : Math.floor(key / SPLIT);
    const lo = key - hi * SPLIT;
    const kids = this.kids;
    const idx = this.pathIdx;
    const nodes = this.pathNode;
    for (let lv = this.levels - 1; lv >= 0; lv--) {
      const off = offsetOf(lv);
      idx[lv] = off < R.SPLIT_BITS ? (lo >>> off) & R.FAN_MASK : (hi >>> (off - R.SPLIT_BITS)) & R.FAN_MASK;
    }
    // Follow key's own path as far as it exists.
    let n = 0;
    let lv = this.levels - 1;
    let from = -1; // where to search downwards from, at level lv
    for (;;) {
      nodes[lv] = n;
      const c = kids[(n << R.FAN_BITS) + idx[lv]!]!;
      if (c === 0) {
        from = idx[lv]! - 1;
        break;
      }
      if (lv === 0) {
        for (let j = lo & R.LEAF_MASK; j >= 0; j--) {
          if (this.rec[((c << R.LEAF_BITS) + j) << 1] !== 0) return this.keyOf(j);
        }
        from = idx[0]! - 1;
        break;
      }
      n = c;
      lv--;
    }
    // Back up until some level has a non-empty child left of the path, then take its largest key.
    for (;;) {
      n = nodes[lv]!;
      let j = from;
      while (j >= 0 && kids[(n << R.FAN_BITS) + j] === 0) j--;
      if (j >= 0) {
        idx[lv] = j;
        let c = kids[(n << R.FAN_BITS) + j]!;
        for (let l = lv - 1; l >= 0; l--) {
          let k = R.FAN_MASK as number;
          while (kids[(c << R.FAN_BITS) + k] === 0) k--;
          idx[l] = k;
          c = kids[(c << R.FAN_BITS) + k]!;
        }
        let k = R.LEAF_MASK as number;
        while (this.rec[((c << R.LEAF_BITS) + k) << 1] === 0) k--;
        return this.keyOf(k);
      }
      if (++lv >= this.levels) return -1;
      from = idx[lv]! - 1;
    }
  }

  /** The key whose inner-level indices are in pathIdx, with leaf index `j`. */
  private keyOf(j: number): number {
    let key = j;
    for (let lv = 0; lv < this.levels; lv++) key += this.pathIdx[lv]! * 2 ** offsetOf(lv);
    return key;
  }

  /** A new root above the old one, which becomes its child 0 (node 0 stays the root). */
  private addLevel(): void {
    if (this.kidCount[0] !== 0) {
      const m = this.newNode();
      const kids = this.kids;
      kids.copyWithin(m << R.FAN_BITS, 0, R.FAN);
      kids.fill(0, 0, R.FAN);
      kids[0] = m;
      this.kidCount[m] = this.kidCount[0]!;
      this.kidCount[0] = 1;
    }
    this.levels++;
    this.limit = 2 ** offsetOf(this.levels);
  }

  private newNode(): number {
    const reuse = this.freeNodes.pop();
    if (reuse !== undefined) return reuse;
    const n = this.nodeTop++;
    if (n === this.kidCount.length) {
      this.kids = grow(this.kids, this.kids.length * 2);
      this.kidCount = grow(this.kidCount, n * 2);
    }
    return n;
  }

  private newLeaf(): number {
    const reuse = this.freeLeaves.pop();
    if (reuse !== undefined) return reuse;
    const l = this.leafTop++;
    if (l === this.leafCount.length) {
      this.rec = grow(this.rec, this.rec.length * 2);
      this.leafCount = grow(this.leafCount, l * 2);
    }
    return l;
  }

  /**
   * Throws unless every node's and leaf's count is true, no empty node or leaf is kept, no slot
   * leaks and `count` is right; calls `visit` on every entry (in key order).
   */
  check(fail: (msg: string) => never, visit: (key: number, end: number, tagId: number) => void): void {
    let nodes = 1;
    let leaves = 0;
    let entries = 0;
    const walk = (n: number, lv: number, base: number): void => {
      let kidsSeen = 0;
      for (let i = 0; i < R.FAN; i++) {
        const c = this.kids[(n << R.FAN_BITS) + i]!;
        if (c === 0) continue;
        kidsSeen++;
        const b = base + i * 2 ** offsetOf(lv);
        if (lv > 0) {
          nodes++;
          walk(c, lv - 1, b);
          continue;
        }
        leaves++;
        let held = 0;
        for (let j = 0; j < R.LEAF; j++) {
          const s = (c << R.LEAF_BITS) + j;
          if (this.rec[s << 1] === 0) {
            if (this.rec[(s << 1) + 1] !== 0) fail(`radix leaf ${c} slot ${j}: a tag without a block`);
            continue;
          }
          held++;
          entries++;
          visit(b + j, this.rec[s << 1]!, this.rec[(s << 1) + 1]!);
        }
        if (held !== this.leafCount[c]) fail(`radix leaf ${c} counts ${this.leafCount[c]} blocks, holds ${held}`);
        if (held === 0) fail(`radix leaf ${c} is empty but kept`);
      }
      if (kidsSeen !== this.kidCount[n]) fail(`radix node ${n} counts ${this.kidCount[n]} children, has ${kidsSeen}`);
      if (kidsSeen === 0 && n !== 0) fail(`radix node ${n} is empty but kept`);
    };
    walk(0, this.levels - 1, 0);
    if (entries !== this.count) fail(`radix holds ${entries} blocks, count says ${this.count}`);
    if (nodes + this.freeNodes.length !== this.nodeTop) fail(`radix nodes leak: ${nodes} live + ${this.freeNodes.length} free != ${this.nodeTop}`);
    if (leaves + this.freeLeaves.length + 1 !== this.leafTop) fail(`radix leaves leak: ${leaves} live + ${this.freeLeaves.length} free + 1 != ${this.leafTop}`);
  }
}
