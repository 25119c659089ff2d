// Dense ids for page numbers (up to 2^36), so per-page state can live in typed arrays.
import { growToIndex } from './grow-array';

/**
 * An open-addressing hash table (linear probing, doubling at half full) from page numbers to
 * ids 0, 1, 2, ... in order of first sight. Memory follows the number of distinct pages, never
 * the trace's length; a lookup allocates nothing.
 */
export class PageIdTable {
  private keys: Float64Array;
  private ids: Int32Array;
  private mask: number;
  /** Page number of each id. */
  private pagesById: Float64Array;
  /** Distinct pages seen. */
  size = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.keys = new Float64Array(cap).fill(-1);
    this.ids = new Int32Array(cap);
    this.mask = cap - 1;
    this.pagesById = new Float64Array(Math.max(16, initialCapacity));
  }

  /** The id of `page` (a non-negative integer below 2^36), assigning the next one on first sight. */
  idOf(page: number): number {
    let h = hashPage(page) & this.mask;
    const keys = this.keys;
    for (;;) {
      const k = keys[h]!;
      if (k === page) return this.ids[h]!;
      if (k === -1) break;
      h = (h + 1) & this.mask;
    }
    const id = this.size++;
    keys[h] = page;
    this.ids[h] = id;
    if (id >= this.pagesById.length) this.pagesById = growToIndex(this.pagesById, id);
    this.pagesById[id] = page;
    if (this.size * 2 > keys.length) this.grow();
    return id;
  }

  /** The page number given id `id`. */
  pageOf(id: number): number {
    return this.pagesById[id]!;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldIds = this.ids;
    const cap = oldKeys.length * 2;
    this.keys = new Float64Array(cap).fill(-1);
    this.ids = new Int32Array(cap);
    this.mask = cap - 1;
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i]!;
      if (k === -1) continue;
      let h = hashPage(k) & this.mask;
      while (this.keys[h] !== -1) h = (h + 1) & this.mask;
      this.keys[h] = k;
      this.ids[h] = oldIds[i]!;
    }
  }
}

/** A 32-bit mix of a page number below 2^36 (multiplicative hash of its two halves). */
function hashPage(page: number): number {
  const lo = page | 0;
  const hi = (page / 4294967296) | 0;
  return Math.imul(lo ^ Math.imul(hi, 0x27d4eb2d), 0x9e3779b1) >>> 12;
}
