// A set of pages in a circular doubly-linked order, over typed arrays: the list every policy
// keeps (FIFO order, the clock's circle, an LRU stack, Linux's active and inactive lists).
// Page numbers can be anything (frame numbers, virtual page numbers): small ones (frame numbers
// of up to 64 GiB of RAM) find their slot in a directly indexed Int32Array, others in a Map; the
// links live in Int32Arrays, so moving a page allocates nothing.
import { KernelInvariantError } from '../../kernel-errors';

/** Pages below this are indexed directly (2^24 frames = 64 GiB). */
const DENSE_LIMIT = 2 ** 24;

/** A circular list of pages with one value (counter, time) and one flag byte per page. */
export class PageRing {
  /** page → slot + 1 (0: absent), for pages below DENSE_LIMIT. */
  private dense = new Int32Array(1024);
  /** page → slot, for the others. */
  private readonly sparse = new Map<number, number>();
  private count = 0;
  private pageOf = new Float64Array(16);
  private prev = new Int32Array(16);
  private next = new Int32Array(16);
  /** Per-slot value (an aging counter, a last-use time). Index with `slot(page)`. */
  value = new Float64Array(16);
  /** Per-slot flags (a referenced bit, a list tag). */
  flag = new Uint8Array(16);
  private free: number[] = [];
  private used = 0;
  /** Slot of the first page (the oldest), -1 when empty. */
  head = -1;

  /** Pages in the ring. */
  get size(): number {
    return this.count;
  }

  /** Whether the page is in the ring. */
  has(page: number): boolean {
    return this.slot(page) >= 0;
  }

  /**
   * Sizes the direct index for pages below `pageCount` (up to 2^24) at once, and the slot arrays
   * for as many pages (a ring of frame numbers never holds more): growing them by doubling inside
   * the first faults copied ~50 bytes per admitted page and grew external memory, which the
   * garbage collector reacts to.
   */
  reserve(pageCount: number): void {
    const n = Math.min(DENSE_LIMIT, pageCount);
    if (n <= this.dense.length) return;
    const d = new Int32Array(n);
    d.set(this.dense);
    this.dense = d;
    this.growSlots(n);
  }

  /** The page's slot, or -1. */
  slot(page: number): number {
    const dense = this.dense;
    // A page inside the dense index is a small non-negative integer (page >>> 0 === page).
    if (page < dense.length && page >>> 0 === page) return dense[page]! - 1;
    return this.slotOutside(page);
  }

  private slotOutside(page: number): number {
    if (page >= 0 && page < DENSE_LIMIT && Number.isInteger(page)) return -1;
    return this.sparse.get(page) ?? -1;
  }

  private setSlot(page: number, slot: number): void {
    const dense = this.dense;
    if (page < dense.length && page >>> 0 === page) {
      dense[page] = slot + 1;
      return;
    }
    this.setSlotOutside(page, slot);
  }

  private setSlotOutside(page: number, slot: number): void {
    if (page >= 0 && page < DENSE_LIMIT && Number.isInteger(page)) {
      if (page >= this.dense.length) {
        let cap = this.dense.length;
        while (cap <= page) cap *= 2;
        const d = new Int32Array(cap);
        d.set(this.dense);
        this.dense = d;
      }
      this.dense[page] = slot + 1;
    } else if (slot < 0) this.sparse.delete(page);
    else this.sparse.set(page, slot);
  }

  /** The page in a slot. */
  pageAt(slot: number): number {
    return this.pageOf[slot]!;
  }

  /** Slot after `slot` (circular). */
  after(slot: number): number {
    return this.next[slot]!;
  }

  /** Slot of the last page (the newest), -1 when empty. */
  get tail(): number {
    return this.head < 0 ? -1 : this.prev[this.head]!;
  }

  /** Adds the page at the tail (before `head`); value and flag start at 0. @returns its slot, or -1 if present */
  push(page: number): number {
    if (this.slot(page) >= 0) return -1;
    // A free slot, else the next unused one; growing (rare) is out of line.
    const free = this.free;
    const s = free.length > 0 ? free.pop()! : this.used < this.pageOf.length ? this.used++ : this.grow();
    this.setSlot(page, s);
    this.count++;
    this.pageOf[s] = page;
    this.value[s] = 0;
    this.flag[s] = 0;
    if (this.head < 0) {
      this.head = s;
      this.prev[s] = s;
      this.next[s] = s;
    } else this.linkBeforeHead(s);
    return s;
  }

  /** Removes the page. @returns its former slot, or -1 if absent */
  delete(page: number): number {
    const s = this.slot(page);
    if (s < 0) return -1;
    this.unlink(s);
    this.setSlot(page, -1);
    this.count--;
    this.free.push(s);
    return s;
  }

  /** Moves a slot to the tail (most recent). */
  moveToTail(slot: number): void {
    if (this.next[slot] === slot) return;
    this.unlink(slot);
    this.linkBeforeHead(slot);
  }

  /** Links are consistent and every page is reachable once. @throws KernelInvariantError */
  checkInvariants(what: string): void {
    let n = 0;
    if (this.head >= 0) {
      let s = this.head;
      do {
        if (this.prev[this.next[s]!] !== s) throw new KernelInvariantError(`${what}: broken link at slot ${s}`);
        if (this.slot(this.pageOf[s]!) !== s) throw new KernelInvariantError(`${what}: slot ${s} holds page ${this.pageOf[s]!} indexed elsewhere`);
        s = this.next[s]!;
        if (++n > this.count) throw new KernelInvariantError(`${what}: cycle longer than its ${this.count} pages`);
      } while (s !== this.head);
    }
    if (n !== this.count) throw new KernelInvariantError(`${what}: ${n} pages linked, ${this.count} indexed`);
  }

  private linkBeforeHead(s: number): void {
    const h = this.head;
    const t = this.prev[h]!;
    this.prev[s] = t;
    this.next[s] = h;
    this.next[t] = s;
    this.prev[h] = s;
  }

  private unlink(s: number): void {
    const p = this.prev[s]!;
    const n = this.next[s]!;
    if (n === s) {
      this.head = -1;
      return;
    }
    this.next[p] = n;
    this.prev[n] = p;
    if (this.head === s) this.head = n;
  }

  private grow(): number {
    const s = this.used++;
    if (s >= this.pageOf.length) this.growSlots(this.pageOf.length * 2);
    return s;
  }

  /** Makes room for `cap` slots (the used ones copied). */
  private growSlots(cap: number): void {
    if (cap <= this.pageOf.length) return;
    const used = this.used;
    const f64 = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(cap);
      b.set(a.subarray(0, used));
      return b;
    };
    const i32 = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(cap);
      b.set(a.subarray(0, used));
      return b;
    };
    this.pageOf = f64(this.pageOf);
    this.value = f64(this.value);
    this.prev = i32(this.prev);
    this.next = i32(this.next);
    const f = new Uint8Array(cap);
    f.set(this.flag.subarray(0, used));
    this.flag = f;
  }
}
