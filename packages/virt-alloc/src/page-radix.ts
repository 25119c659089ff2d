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
  /** 2^SPLIT_BITS, a literal (a module `const` is a context load in V8's code). */
  SPLIT = 268435456,
  /** An inline entry packs its page offset (4 bits) and tag id (6 bits) in its low 10 bits, its length in pages above. */
  INLINE_BITS = 10,
  INLINE_LOW_MASK = 1023,
  /** Tag ids below this fit inline. */
  INLINE_TAGS = 64,
  /** Lengths below this many pages fit inline (2^21: the packed value stays within 31 bits). */
  INLINE_PAGES = 2097152,
}

/** Bit offset of the index at inner level `lv` (0 = the level whose children are leaves). */
function offsetOf(lv: number): number {
  return (R.LEAF_BITS + (lv << 3)) | 0; // int32 arithmetic: no overflow check
}

/**
 * A bottom-node slot holding one block inline: ~(offset | tagId << 4 | pageCount << 10), a
 * negative 32-bit integer; 1 when it does not fit (a tag id of 64 or more, 2^21 pages or more).
 */
function packInline(offset: number, tagId: number, pageCount: number): number {
  if (tagId >= R.INLINE_TAGS || pageCount >= R.INLINE_PAGES) return 1;
  return ~(offset | (tagId << R.LEAF_BITS) | (pageCount << R.INLINE_BITS));
}
/** The length in pages of an inline slot `v`. */
function inlinePages(v: number): number {
  return ~v >>> R.INLINE_BITS;
}
/** The low 10 bits of an inline slot `v` (page offset | tag id << 4). */
function inlineLow(v: number): number {
  return ~v & R.INLINE_LOW_MASK;
}

/**
 * The in-use blocks, keyed by the page (granule) number of their first byte: a sparse radix tree
 * shaped like an x86 page table. Inner nodes have 256 children; each child of a bottom node covers
 * 16 pages and holds either nothing, one block inline (its page offset, length and tag id packed in
 * the slot itself), or a leaf of 16 entries (a block's end address and tag id) when more than one
 * block starts in those 16 pages or the one block does not pack. Nodes and leaves are created on
 * demand and dropped when they empty, so the memory follows the regions in use, never the length
 * of the address space.
 *
 * Why a radix tree and not a hash: `free` of a random block touches one bottom node slot (and its
 * leaf if it has one), and blocks that are near in the address space share them; the levels above
 * are few and stay cached. A hash scatters neighbours over random lines (bench/free-interval-sketch.ts
 * measured the difference: README, "Benchmarks"). Why inline: blocks of many pages (the sized mix
 * averages 128) rarely share 16 pages, so a leaf each cost a 256-byte line-scattered record per
 * block and one more cache miss per operation. An inline slot is a 32-bit integer (6 bits of tag
 * id, 21 of length): a block with a tag id of 64 or more or of 2^21 pages or more takes a leaf.
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
  /**
   * 256 slots per node (32-bit integers: a bottom node is 1 KiB, half what doubles took, so the
   * sized mix's ~3,400 bottom nodes fit 3.4 MB instead of 6.7 MB and a free's one cache miss lands
   * in a smaller, less often evicted set): above the bottom level a child node (0 = none); in a
   * bottom node a leaf (> 0), nothing (0) or an inline block (< 0, `packInline`).
   */
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
  /** Bytes per page and its exact reciprocal: an inline block stores its length in pages. */
  private readonly g: number;
  private readonly perG: number;
  /** Blocks held. */
  count = 0;
  /** The tag id of the block `remove` last removed. */
  removedTag = 0;
  /** Where the last successful `get` found its block: a leaf entry (>= 0) or ~(bottom node slot). */
  private slot = 0;
  /** The key and tag id of the block the last successful `get` found. */
  private slotKey = 0;
  private slotTag = 0;
  private slotKi = 0;
  /** `bottomSlot`'s key offset (no `%` on a key: on a double above 2^31 it is a runtime call). */
  private keyOff = 0;
  private readonly pathNode = new Int32Array(7);
  private readonly pathIdx = new Int32Array(7);

  /** @param granularityBytes - bytes per page (a power of two): ends are addresses, keys page numbers. */
  constructor(granularityBytes: number) {
    this.g = granularityBytes;
    this.perG = 1 / granularityBytes;
    this.kids = new Int32Array(4 << R.FAN_BITS);
    this.kidCount = new Int32Array(4);
    this.rec = new Float64Array(8 << R.LEAF_BITS);
    this.leafCount = new Int32Array(4);
  }

  clone(): PageRadix {
    const c = new PageRadix(this.g);
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

  /**
   * The bottom node slot covering page `key` (key < limit), or -1 if there is none; the path's nodes
   * and indices in pathNode / pathIdx, key's page offset in its 16 pages in `keyOff`.
   */
  private bottomSlot(key: number): number {
    const hi = key < R.SPLIT ? 0 : Math.floor(key / R.SPLIT);
    const lo = key - hi * R.SPLIT;
    this.keyOff = lo & R.LEAF_MASK;
    const kids = this.kids;
    let n = 0;
    for (let lv = this.levels - 1; lv > 0; lv = (lv - 1) | 0) {
      const off = offsetOf(lv);
      const i = off < R.SPLIT_BITS ? (lo >>> off) & R.FAN_MASK : (hi >>> (off - R.SPLIT_BITS)) & R.FAN_MASK;
      this.pathNode[lv] = n;
      this.pathIdx[lv] = i;
      n = kids[((n << R.FAN_BITS) + i) | 0]!;
      if (n === 0) return -1;
    }
    this.pathNode[0] = n;
    return ((n << R.FAN_BITS) + ((lo >>> R.LEAF_BITS) & R.FAN_MASK)) | 0;
  }

  /** The end of the block starting at page `key`, or 0 if none; remembers where it was for `tagAtSlot`, `setEndAtSlot`. */
  get(key: number): number {
    if (key >= this.limit) return 0;
    const ki = this.bottomSlot(key);
    if (ki < 0) return 0;
    const c = this.kids[ki]!;
    const off = this.keyOff;
    this.slotKi = ki;
    if (c > 0) {
      const s = ((c << R.LEAF_BITS) + off) | 0;
      const end = this.rec[s << 1]!;
      if (end === 0) return 0;
      this.slot = s;
      this.slotKey = key;
      this.slotTag = this.rec[(s << 1) + 1]!;
      return end;
    }
    if (c === 0) return 0;
    const low = inlineLow(c);
    if ((low & R.LEAF_MASK) !== off) return 0;
    this.slot = ~ki;
    this.slotKey = key;
    this.slotTag = low >>> R.LEAF_BITS;
    return (key + inlinePages(c)) * this.g;
  }

  /** Tag id of the block `get` last found. */
  tagAtSlot(): number {
    return this.slotTag;
  }

  /** Changes the end of the block `get` last found. */
  setEndAtSlot(end: number): void {
    const s = this.slot;
    const key = this.slotKey;
    const ki = this.slotKi;
    const off = s >= 0 ? s & R.LEAF_MASK : inlineLow(this.kids[ki]!) & R.LEAF_MASK;
    if (s >= 0) {
      this.rec[s << 1] = end;
      const leaf = this.kids[ki]!;
      if (this.leafCount[leaf] === 1) this.unleaf(ki, leaf, key - off);
      return;
    }
    const v = packInline(off, this.slotTag, end * this.perG - key);
    if (v < 0) {
      this.kids[ki] = v;
      return;
    }
    // No longer packs: the block moves to a leaf of its own.
    const leaf = this.newLeaf();
    this.kids[ki] = leaf;
    this.put(leaf, off, end, this.slotTag);
    this.slot = ((leaf << R.LEAF_BITS) + off) | 0;
  }

  private put(leaf: number, off: number, end: number, tagId: number): void {
    const s = ((leaf << R.LEAF_BITS) + off) | 0;
    this.rec[s << 1] = end;
    this.rec[(s << 1) + 1] = tagId;
    this.leafCount[leaf]!++;
  }

  /** Adds a block starting at page `key` (no block may start there yet). */
  insert(key: number, end: number, tagId: number): void {
    while (key >= this.limit) this.addLevel();
    const hi = key < R.SPLIT ? 0 : Math.floor(key / R.SPLIT);
    const lo = key - hi * R.SPLIT;
    let n = 0;
    for (let lv = this.levels - 1; lv > 0; lv = (lv - 1) | 0) {
      const off = offsetOf(lv);
      const i = ((n << R.FAN_BITS) + (off < R.SPLIT_BITS ? (lo >>> off) & R.FAN_MASK : (hi >>> (off - R.SPLIT_BITS)) & R.FAN_MASK)) | 0;
      let c = this.kids[i]!;
      if (c === 0) {
        c = this.newNode(); // may grow kids: index again
        this.kids[i] = c;
        this.kidCount[n]!++;
      }
      n = c;
    }
    const i = ((n << R.FAN_BITS) + ((lo >>> R.LEAF_BITS) & R.FAN_MASK)) | 0;
    const off = lo & R.LEAF_MASK;
    this.count++;
    let leaf = this.kids[i]!;
    if (leaf === 0) {
      const v = packInline(off, tagId, end * this.perG - key);
      this.kidCount[n]!++;
      if (v < 0) {
        this.kids[i] = v;
        return;
      }
      leaf = this.newLeaf();
      this.kids[i] = leaf;
    } else if (leaf < 0) {
      // A second block in these 16 pages: the inline one moves to a new leaf.
      const low = inlineLow(leaf);
      const o = low & R.LEAF_MASK;
      const e = (key - off + o + inlinePages(leaf)) * this.g;
      leaf = this.newLeaf();
      this.kids[i] = leaf;
      this.put(leaf, o, e, low >>> R.LEAF_BITS);
    }
    this.put(leaf, off, end, tagId);
  }

  /**
   * Removes the block starting at page `key`, if any: returns its end (0 if no block starts there,
   * changing nothing), its tag id in `removedTag`. A leaf left with one block that packs goes back
   * inline; empty leaves and nodes go.
   */
  remove(key: number): number {
    if (key >= this.limit) return 0;
    const ki = this.bottomSlot(key);
    if (ki < 0) return 0;
    const kids = this.kids;
    const c = kids[ki]!;
    const off = this.keyOff;
    let end: number;
    if (c < 0) {
      const low = inlineLow(c);
      if ((low & R.LEAF_MASK) !== off) return 0;
      end = (key + inlinePages(c)) * this.g;
      this.removedTag = low >>> R.LEAF_BITS;
    } else {
      if (c === 0) return 0;
      const rec = this.rec;
      const s = ((c << R.LEAF_BITS) + off) | 0;
      end = rec[s << 1]!;
      if (end === 0) return 0;
      this.removedTag = rec[(s << 1) + 1]!;
      rec[s << 1] = 0;
      rec[(s << 1) + 1] = 0;
      const left = --this.leafCount[c]!;
      if (left !== 0) {
        if (left === 1) this.unleaf(ki, c, key - off);
        this.count--;
        return end;
      }
      this.freeLeaves.push(c);
    }
    this.count--;
    kids[ki] = 0;
    // Drop the inner nodes left empty, bottom up (never the root).
    let n = this.pathNode[0]!;
    for (let lv = 0; ; lv++) {
      if (--this.kidCount[n]! !== 0 || lv + 1 >= this.levels) break;
      this.freeNodes.push(n);
      const p = this.pathNode[lv + 1]!;
      kids[(p << R.FAN_BITS) + this.pathIdx[lv + 1]!] = 0;
      n = p;
    }
    return end;
  }

  /** Leaf `leaf` (in bottom slot `ki`, its pages from `base`) holds one block: inline it if it packs. */
  private unleaf(ki: number, leaf: number, base: number): void {
    const rec = this.rec;
    let s = leaf << R.LEAF_BITS;
    while (rec[s << 1] === 0) s++;
    const o = s - (leaf << R.LEAF_BITS);
    const v = packInline(o, rec[(s << 1) + 1]!, rec[s << 1]! * this.perG - base - o);
    if (v > 0) return;
    rec[s << 1] = 0;
    rec[(s << 1) + 1] = 0;
    this.leafCount[leaf] = 0;
    this.freeLeaves.push(leaf);
    this.kids[ki] = v;
  }

  /** The largest key <= `key` that holds a block, or -1. */
  pred(key: number): number {
    if (key >= this.limit) key = this.limit - 1;
    const hi = key < R.SPLIT ? 0 : Math.floor(key / R.SPLIT);
    const lo = key - hi * R.SPLIT;
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
        const j = this.lastIn(c, lo & R.LEAF_MASK);
        if (j >= 0) return this.keyOf(j);
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
        return this.keyOf(this.lastIn(c, R.LEAF_MASK));
      }
      if (++lv >= this.levels) return -1;
      from = idx[lv]! - 1;
    }
  }

  /** In bottom slot value `c` (non-zero), the largest page offset <= `off` where a block starts, or -1. */
  private lastIn(c: number, off: number): number {
    if (c < 0) {
      const o = inlineLow(c) & R.LEAF_MASK;
      return o <= off ? o : -1;
    }
    for (let j = off; j >= 0; j--) if (this.rec[((c << R.LEAF_BITS) + j) << 1] !== 0) return j;
    return -1;
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
   * Throws unless every node's and leaf's count is true, no empty node or leaf is kept, a leaf of
   * one block holds one that cannot be inline, every inline slot decodes to a block, no slot leaks
   * and `count` is right; calls `visit` on every entry (in key order).
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
          if (!(c > 0 && Number.isInteger(c))) fail(`radix node ${n} slot ${i} holds ${c}, not a node`);
          nodes++;
          walk(c, lv - 1, b);
          continue;
        }
        if (c < 0) {
          const pages = inlinePages(c);
          const low = inlineLow(c);
          if (!Number.isInteger(c) || pages < 1) fail(`radix node ${n} slot ${i} holds ${c}, not an inline block`);
          entries++;
          visit(b + (low & R.LEAF_MASK), (b + (low & R.LEAF_MASK) + pages) * this.g, low >>> R.LEAF_BITS);
          continue;
        }
        leaves++;
        let held = 0;
        let lone = 0;
        for (let j = 0; j < R.LEAF; j++) {
          const s = (c << R.LEAF_BITS) + j;
          if (this.rec[s << 1] === 0) {
            if (this.rec[(s << 1) + 1] !== 0) fail(`radix leaf ${c} slot ${j}: a tag without a block`);
            continue;
          }
          held++;
          entries++;
          lone = j;
          visit(b + j, this.rec[s << 1]!, this.rec[(s << 1) + 1]!);
        }
        if (held !== this.leafCount[c]) fail(`radix leaf ${c} counts ${this.leafCount[c]} blocks, holds ${held}`);
        if (held === 0) fail(`radix leaf ${c} is empty but kept`);
        const s = (c << R.LEAF_BITS) + lone;
        if (held === 1 && packInline(lone, this.rec[(s << 1) + 1]!, this.rec[s << 1]! * this.perG - b - lone) < 0) {
          fail(`radix leaf ${c} holds one block that fits inline`);
        }
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
