/**
 * Not used by BlockList any more: `free(addr)` now descends the tree, which leaves the path the
 * update climbs in cache and measured faster at 10^5 blocks than this hash (see the README).
 *
 * Open-addressing hash map from the start address of each in-use block to its node slot, so
 * `free(addr)` of a whole block finds it in O(1) expected instead of descending the tree (a random
 * descent at 10^5 blocks is a chain of cache misses). Linear probing with backward-shift deletion
 * (no tombstones); keys are doubles so any safe-integer address is exact; resized at half full.
 * @internal
 */
export class StartIndex {
  private keys: Float64Array;
  private slots: Int32Array;
  /** 32 - log2(capacity): Fibonacci hashing takes the product's top bits. */
  private shift: number;
  private mask: number;
  size = 0;

  constructor(capacityLog2 = 6) {
    const cap = 1 << capacityLog2;
    this.keys = new Float64Array(cap).fill(-1);
    this.slots = new Int32Array(cap);
    this.shift = 32 - capacityLog2;
    this.mask = cap - 1;
  }

  clone(): StartIndex {
    const c = new StartIndex(1);
    c.keys = this.keys.slice();
    c.slots = this.slots.slice();
    c.shift = this.shift;
    c.mask = this.mask;
    c.size = this.size;
    return c;
  }

  private home(key: number): number {
    // Mix both 32-bit halves of the address (a hash, not address arithmetic: truncation is fine
    // here). Addresses are granule multiples, so the low bits are zero: use the product's top bits.
    const lo = key % 4294967296;
    const hi = (key - lo) / 4294967296;
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> this.shift;
  }

  /** The slot stored for `key`, or 0 (NIL) if absent. */
  get(key: number): number {
    const keys = this.keys;
    const mask = this.mask;
    for (let h = this.home(key); ; h = (h + 1) & mask) {
      const k = keys[h]!;
      if (k === key) return this.slots[h]!;
      if (k === -1) return 0;
    }
  }

  /** Stores `slot` for `key`, inserting or replacing. */
  set(key: number, slot: number): void {
    if ((this.size + 1) * 2 > this.mask + 1) this.grow();
    const keys = this.keys;
    const mask = this.mask;
    for (let h = this.home(key); ; h = (h + 1) & mask) {
      const k = keys[h]!;
      if (k === key) {
        this.slots[h] = slot;
        return;
      }
      if (k === -1) {
        keys[h] = key;
        this.slots[h] = slot;
        this.size++;
        return;
      }
    }
  }

  /** Removes `key` if present, shifting later entries of its probe run back (no tombstones). */
  delete(key: number): void {
    const keys = this.keys;
    const slots = this.slots;
    const mask = this.mask;
    let h = this.home(key);
    for (; ; h = (h + 1) & mask) {
      const k = keys[h]!;
      if (k === key) break;
      if (k === -1) return;
    }
    this.size--;
    // Backward-shift: move each following entry whose home is not in (h, j] into the hole.
    let hole = h;
    for (let j = (h + 1) & mask; ; j = (j + 1) & mask) {
      const k = keys[j]!;
      if (k === -1) break;
      const home = this.home(k);
      const fromHoleToJ = (j - hole) & mask;
      const fromHomeToJ = (j - home) & mask;
      if (fromHomeToJ >= fromHoleToJ) {
        keys[hole] = k;
        slots[hole] = slots[j]!;
        hole = j;
      }
    }
    keys[hole] = -1;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldSlots = this.slots;
    const cap = (this.mask + 1) * 2;
    this.keys = new Float64Array(cap).fill(-1);
    this.slots = new Int32Array(cap);
    this.mask = cap - 1;
    this.shift--;
    this.size = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i]!;
      if (k !== -1) this.set(k, oldSlots[i]!);
    }
  }

  /** Every stored (key, slot) pair, for invariant checks. */
  *entries(): IterableIterator<[number, number]> {
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i]!;
      if (k !== -1) yield [k, this.slots[i]!];
    }
  }
}
