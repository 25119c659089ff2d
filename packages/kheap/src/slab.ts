// Slab caches: fixed-size objects carved out of page runs, O(1) alloc and free (as Linux's SLUB).
//
// A slab is a run of 1..8 pages. Its descriptor sits in its first bytes, IN the managed memory;
// objects are packed against the END of the run, so an object whose stride is a power of two is
// naturally aligned (kmalloc-64 objects are 64-aligned, as in Linux).
//
//   slab start                                                         slab end
//   | magic | cache | inuse | free | next | prev | cap | first | bitmap… | pad | obj 0 | obj 1 | … |
//     0       4       8       12     16     20     24    28      32
//
// `free` heads a singly linked list threaded through the free objects (the link is the first word
// of the object slot, offsets from the region base, -1 ends it). The bitmap has one bit per object,
// set while allocated: kfree uses it to reject a double free in O(1) even outside debug mode.
//
// Debug mode slot:  | left red zone (lrz bytes; word 0 = request size, or the free link) | object | right red zone ≥ 8 |
import { HeapCorruptionError, PAGE_SIZE, type CacheStats, type CorruptionReport, type HeapBlock } from './api';
import { POISON_END, POISON_FREE, RED_ACTIVE, RED_INACTIVE, firstMismatch } from './debug-patterns';
import { hex } from './hex';
import type { Mem } from './mem';
import { PAGE_SLAB, type PageMap } from './page-map';

const SLAB_MAGIC = 0x51ab_c0de;
const D_MAGIC = 0;
const D_CACHE = 4;
const D_INUSE = 8;
const D_FREE = 12;
const D_NEXT = 16;
const D_PREV = 20;
const D_CAP = 24;
const D_FIRST = 28;
const D_BITMAP = 32;

/** Empty slabs a cache keeps (beyond that they go back to the backing at once); trim() returns them all. */
const KEEP_EMPTY_SLABS = 1;

/** Results of {@link SlabAllocator.locate}: the pointer is an allocated object's start. */
export const SLAB_OK = 0;
/** The pointer is in the slab descriptor, before the first object. */
export const SLAB_DESCRIPTOR = 1;
/** The pointer is inside an object, not at its start. */
export const SLAB_INTERIOR = 2;
/** The pointer is an object start, but the object is free. */
export const SLAB_FREE = 3;

/** All slab caches of one heap: per-cache roots in JS (like Linux's static kmalloc_caches[]), slabs in memory. */
export class SlabAllocator {
  /** Per cache id. */
  names: string[] = [];
  objSize: number[] = [];
  stride: number[] = [];
  /** 1 / stride, for {@link indexOf}: a multiply where a division would be (kfree and kmalloc of small objects). */
  invStride: number[] = [];
  lrz: number[] = [];
  slabBytes: number[] = [];
  cap: number[] = [];
  first: number[] = [];
  partial: number[] = [];
  empty: number[] = [];
  emptyCount: number[] = [];
  slabCount: number[] = [];
  inUse: number[] = [];
  alive: boolean[] = [];
  /** Set by {@link locate}: the slab's start and the object's slot offset. */
  slab = 0;
  slot = 0;
  /**
   * Bytes requested of the objects in use, counted in debug mode only (where each object records
   * its request); outside it an object counts as its size, and {@link totals} multiplies.
   */
  private debugRequested = 0;

  constructor(
    private readonly m: Mem,
    private readonly pages: PageMap,
    private readonly base: number,
    readonly debug: boolean,
  ) {}

  /** Creates a cache (arguments already validated); returns its id. */
  create(name: string, objSizeBytes: number, alignBytes: number): number {
    const align = Math.max(8, alignBytes);
    const lrz = this.debug ? Math.max(16, align) : 0;
    const raw = this.debug ? lrz + objSizeBytes + 8 : Math.max(objSizeBytes, 4);
    const stride = Math.ceil(raw / align) * align;
    // Smallest slab (1, 2, 4 or 8 pages) wasting at most 1/8 of itself, else the least wasteful.
    let bestPages = 8;
    let bestWaste = Infinity;
    for (let p = 1; p <= 8; p *= 2) {
      const cap = capacity(p * PAGE_SIZE, stride);
      if (cap < 1) continue;
      const waste = (p * PAGE_SIZE - cap * stride) / (p * PAGE_SIZE);
      if (waste <= 1 / 8) {
        bestPages = p;
        break;
      }
      if (waste < bestWaste) {
        bestWaste = waste;
        bestPages = p;
      }
    }
    const bytes = bestPages * PAGE_SIZE;
    const cap = capacity(bytes, stride);
    const id = this.names.length;
    this.names.push(name);
    this.objSize.push(objSizeBytes);
    this.stride.push(stride);
    this.invStride.push(1 / stride);
    this.lrz.push(lrz);
    this.slabBytes.push(bytes);
    this.cap.push(cap);
    this.first.push(bytes - cap * stride);
    this.partial.push(-1);
    this.empty.push(-1);
    this.emptyCount.push(0);
    this.slabCount.push(0);
    this.inUse.push(0);
    this.alive.push(true);
    return id;
  }

  /** Largest object size a cache can hold. */
  static readonly MAX_OBJECT_BYTES = 8192;

  /**
   * Allocates one object of cache `c`; returns its offset (what the caller gets, minus base), or -1
   * when no page is available. `requested` is recorded in debug mode.
   * @throws {@link HeapCorruptionError} (debug) when the object's poison shows a use-after-free write.
   */
  alloc(c: number, requested: number): number {
    const m = this.m;
    let s = this.partial[c]!;
    if (s === -1 || this.debug) {
      s = this.slabToAllocFrom(c, s);
      if (s === -1) return -1;
    }
    const slot = m.rd(s + D_FREE);
    const next = m.rd(slot);
    m.wr(s + D_FREE, next);
    m.wr(s + D_INUSE, m.rd(s + D_INUSE) + 1);
    const idx = this.indexOf(c, slot - s - this.first[c]!);
    const bw = s + D_BITMAP + ((idx >> 5) << 2);
    m.wr(bw, m.rd(bw) | (1 << (idx & 31)));
    if (next === -1) {
      // Full: off the partial list (full slabs are on no list, as in SLUB).
      const n = m.rd(s + D_NEXT);
      this.partial[c] = n;
      if (n !== -1) m.wr(n + D_PREV, -1);
    }
    this.inUse[c]!++;
    return this.debug ? this.armDebugSlot(c, slot, requested) : slot;
  }

  /**
   * {@link alloc}'s rarer part, kept apart so alloc stays small enough to inline: the slab to take
   * an object from when cache `c` has no partial slab (`s` is -1: the kept empty one or a new one;
   * -1 when the backing is out of pages), and in debug mode the check of the object about to be
   * handed out (nothing may change on a throw).
   */
  private slabToAllocFrom(c: number, s: number): number {
    const m = this.m;
    if (s === -1) {
      // Debug: check the kept empty slab's first free object before moving the slab.
      const e = this.empty[c]!;
      if (this.debug && e !== -1) this.checkFreeSlot(c, e, m.rd(e + D_FREE));
      s = this.refill(c);
      if (s === -1) return -1;
    }
    if (this.debug) this.checkFreeSlot(c, s, m.rd(s + D_FREE));
    return s;
  }

  /** Debug: records the request of the object just taken from `slot` and arms its red zones; returns the caller's pointer. */
  private armDebugSlot(c: number, slot: number, requested: number): number {
    const m = this.m;
    const lrz = this.lrz[c]!;
    this.debugRequested += requested;
    m.wr(slot, requested);
    m.fill8(slot + 4, lrz - 4, RED_ACTIVE);
    const user = slot + lrz;
    m.fill8(user + requested, slot + this.stride[c]! - user - requested, RED_ACTIVE);
    return user;
  }

  /** Takes an empty slab (kept or new) and puts it on the partial list; -1 when the backing is out of pages. */
  private refill(c: number): number {
    const m = this.m;
    let s = this.empty[c]!;
    if (s !== -1) {
      const n = m.rd(s + D_NEXT);
      this.empty[c] = n;
      if (n !== -1) m.wr(n + D_PREV, -1);
      this.emptyCount[c]!--;
    } else {
      s = this.pages.acquire(this.slabBytes[c]! / PAGE_SIZE, PAGE_SLAB, c);
      if (s === -1) return -1;
      this.initSlab(c, s);
      this.slabCount[c]!++;
    }
    m.wr(s + D_NEXT, -1);
    m.wr(s + D_PREV, -1);
    this.partial[c] = s;
    return s;
  }

  private initSlab(c: number, s: number): void {
    const m = this.m;
    const cap = this.cap[c]!;
    const stride = this.stride[c]!;
    const first = s + this.first[c]!;
    m.wr(s + D_MAGIC, SLAB_MAGIC ^ s);
    m.wr(s + D_CACHE, c);
    m.wr(s + D_INUSE, 0);
    m.wr(s + D_FREE, first);
    m.wr(s + D_CAP, cap);
    m.wr(s + D_FIRST, this.first[c]!);
    for (let w = 0; w < (cap + 31) >> 5; w++) m.wr(s + D_BITMAP + 4 * w, 0);
    for (let i = 0; i < cap; i++) {
      const slot = first + i * stride;
      if (this.debug) this.poisonSlot(c, slot);
      m.wr(slot, i + 1 < cap ? slot + stride : -1);
    }
  }

  /** Debug: a free slot's pattern (inactive red zones, poisoned object; the link is written after). */
  private poisonSlot(c: number, slot: number): void {
    const m = this.m;
    const lrz = this.lrz[c]!;
    const size = this.objSize[c]!;
    m.fill8(slot + 4, lrz - 4, RED_INACTIVE);
    m.fill8(slot + lrz, size, POISON_FREE);
    m.wr8(slot + lrz + size - 1, POISON_END);
    m.fill8(slot + lrz + size, this.stride[c]! - lrz - size, RED_INACTIVE);
  }

  /**
   * Classifies offset `off`, known to lie in a slab page: sets {@link slab} and {@link slot}.
   * @throws {@link HeapCorruptionError} when the slab descriptor is damaged.
   */
  locate(off: number): number {
    const m = this.m;
    const s = this.pages.runStart(off);
    this.slab = s;
    if (m.rd(s + D_MAGIC) !== (SLAB_MAGIC ^ s)) this.badMagic(s);
    const c = this.cacheOf(s);
    const lrz = this.lrz[c]!;
    const stride = this.stride[c]!;
    const rel = off - s - this.first[c]!;
    if (rel < 0) return SLAB_DESCRIPTOR;
    // Objects are packed to the run's end, so any offset past `first` lies in object idx < cap.
    const idx = this.indexOf(c, rel);
    const slot = s + this.first[c]! + idx * stride;
    this.slot = slot;
    if (off !== slot + lrz) return SLAB_INTERIOR;
    if ((m.rd(s + D_BITMAP + ((idx >> 5) << 2)) & (1 << (idx & 31))) === 0) return SLAB_FREE;
    return SLAB_OK;
  }

  private badMagic(s: number): never {
    throw new HeapCorruptionError(this.report('slab-descriptor', s, this.first[this.cacheOf(s)]!, s, s, `descriptor of the slab at ${hex(this.base + s)} overwritten (magic word)`));
  }

  /** Cache id of slab `s` (from the page map, which the heap's callers cannot overwrite). */
  cacheOf(s: number): number {
    return this.pages.runAux[s >>> 12]! | 0; // s: a slab's offset, page aligned, below 2^31
  }

  /**
   * Index of the object holding byte `rel` (≥ 0) counted from cache `c`'s first object:
   * floor(rel / stride) by a multiply. Exact: (rel + 0.5) / stride lies at least 0.5 / stride from
   * an integer (2^-15 or more: a stride is at most 16 KiB, an 8 KiB object aligned to 4 KiB in
   * debug mode), and the multiply's rounding error is below 2^-30 for rel inside a slab (at most
   * 8 pages, 2^15 bytes). test/slab-every-byte-interior.test.ts checks every byte of a slab.
   */
  private indexOf(c: number, rel: number): number {
    return ((rel + 0.5) * this.invStride[c]!) | 0;
  }

  /**
   * Frees the allocated object whose caller pointer is at offset `off` (in a slab page) and
   * returns true; returns false, changing nothing, when `off` is not an allocated object's start
   * (a pointer into the descriptor or inside an object, a free object), which the heap then
   * reports. The checks are {@link locate}'s, in the same order; kfree's fast path, and the
   * general way's after locate().
   *
   * One method (no locate() call, the object's index worked out once, the list moves written out):
   * it is what most frees of small objects run, and at ~520 bytes of bytecode V8 (Node 20) never
   * inlines it, so kfree's own compiled code holds only the TLSF's fast path (see KernelHeap.kfree).
   * @throws {@link HeapCorruptionError} when the slab descriptor is damaged (as locate), or (debug)
   * when a red zone was overwritten; nothing changes then.
   */
  free(off: number): boolean {
    const m = this.m;
    const s = this.pages.runStart(off);
    if (m.rd(s + D_MAGIC) !== (SLAB_MAGIC ^ s)) this.badMagic(s);
    const c = this.cacheOf(s);
    const first = s + this.first[c]!;
    if (off < first) return false;
    // Objects are packed to the run's end, so any offset past `first` lies in object idx < cap.
    const idx = this.indexOf(c, off - first);
    const slot = first + idx * this.stride[c]!;
    if (off !== slot + this.lrz[c]!) return false;
    const bw = s + D_BITMAP + ((idx >> 5) << 2);
    const bits = m.rd(bw);
    const bit = 1 << (idx & 31);
    if ((bits & bit) === 0) return false;
    if (this.debug) {
      this.checkUsedSlot(c, s, slot);
      this.debugRequested -= m.rd(slot);
      this.poisonSlot(c, slot);
    }
    m.wr(bw, bits & ~bit);
    const head = m.rd(s + D_FREE);
    m.wr(slot, head);
    m.wr(s + D_FREE, slot);
    const inuse = m.rd(s + D_INUSE) - 1;
    m.wr(s + D_INUSE, inuse);
    this.inUse[c]!--;
    if (head === -1 && inuse > 0) {
      // Was full: back on the partial list.
      this.push(c, s, true);
    } else if (inuse === 0) {
      // Empty: off the partial list (unless it held one object), onto the empty list (one kept) or back to the backing.
      if (head !== -1) this.unlink(c, s, true);
      if (this.emptyCount[c]! < KEEP_EMPTY_SLABS) {
        this.push(c, s, false);
        this.emptyCount[c]!++;
      } else {
        this.slabCount[c]!--;
        this.pages.release(s);
      }
    }
    return true;
  }

  private push(c: number, s: number, partial: boolean): void {
    const m = this.m;
    const h = partial ? this.partial[c]! : this.empty[c]!;
    m.wr(s + D_NEXT, h);
    m.wr(s + D_PREV, -1);
    if (h !== -1) m.wr(h + D_PREV, s);
    if (partial) this.partial[c] = s;
    else this.empty[c] = s;
  }

  private unlink(c: number, s: number, partial: boolean): void {
    const m = this.m;
    const n = m.rd(s + D_NEXT);
    const p = m.rd(s + D_PREV);
    if (n !== -1) m.wr(n + D_PREV, p);
    if (p !== -1) m.wr(p + D_NEXT, n);
    else if (partial) this.partial[c] = n;
    else this.empty[c] = n;
  }

  /** Returns every kept empty slab of every cache to the backing; returns pages released. */
  trim(): number {
    let pages = 0;
    for (let c = 0; c < this.names.length; c++) {
      while (this.empty[c] !== -1) {
        const s = this.empty[c]!;
        this.unlink(c, s, false);
        this.emptyCount[c]!--;
        this.slabCount[c]!--;
        pages += this.slabBytes[c]! / PAGE_SIZE;
        this.pages.release(s);
      }
    }
    return pages;
  }

  /** Usable bytes of an allocated object at `slot` (debug: the request size). */
  usable(c: number, slot: number): number {
    return this.debug ? this.m.rd(slot) : this.stride[c]!;
  }

  /** Request size recorded for the object (debug), else the cache's object size. */
  requested(c: number, slot: number): number {
    return this.debug ? this.m.rd(slot) : this.objSize[c]!;
  }

  /** User address offset of the object in `slot`. */
  userOf(c: number, slot: number): number {
    return slot + this.lrz[c]!;
  }

  private checkFreeSlot(c: number, s: number, slot: number): void {
    const m = this.m;
    const lrz = this.lrz[c]!;
    const size = this.objSize[c]!;
    const stride = this.stride[c]!;
    const user = slot + lrz;
    let bad = firstMismatch(m, user, size - 1, POISON_FREE);
    let expected = POISON_FREE;
    if (bad === -1 && m.rd8(user + size - 1) !== POISON_END) {
      bad = user + size - 1;
      expected = POISON_END;
    }
    if (bad !== -1) {
      throw new HeapCorruptionError(this.report('poison', slot, stride, user, bad, `use-after-free write: freed object ${hex(this.base + user)} of ${this.names[c]!} modified at offset ${bad - user}`, expected, c));
    }
    bad = firstMismatch(m, slot + 4, lrz - 4, RED_INACTIVE);
    if (bad === -1) bad = firstMismatch(m, user + size, stride - lrz - size, RED_INACTIVE);
    if (bad !== -1) {
      throw new HeapCorruptionError(this.report('redzone', slot, stride, user, bad, `red zone of free object ${hex(this.base + user)} of ${this.names[c]!} overwritten at offset ${bad - user}`, RED_INACTIVE, c));
    }
  }

  private checkUsedSlot(c: number, s: number, slot: number): void {
    const m = this.m;
    const lrz = this.lrz[c]!;
    const stride = this.stride[c]!;
    const user = slot + lrz;
    const req = m.rd(slot);
    if (req < 0 || req > this.objSize[c]!) {
      throw new HeapCorruptionError(this.report('redzone', slot, stride, user, slot, `left red zone of ${hex(this.base + user)} (${this.names[c]!}) overwritten: its size word reads ${req}`, undefined, c));
    }
    let bad = firstMismatch(m, slot + 4, lrz - 4, RED_ACTIVE);
    if (bad === -1) bad = firstMismatch(m, user + req, stride - lrz - req, RED_ACTIVE);
    if (bad !== -1) {
      const where = bad < user ? 'left red zone' : `right red zone (${bad - user - req} bytes past the ${req} requested)`;
      throw new HeapCorruptionError(this.report('redzone', slot, stride, user, bad, `${where} of ${hex(this.base + user)} (${this.names[c]!}) overwritten at offset ${bad - user}`, RED_ACTIVE, c));
    }
  }

  private report(
    kind: 'redzone' | 'poison' | 'slab-descriptor' | 'freelist',
    blockStart: number,
    blockSizeBytes: number,
    ptr: number,
    bad: number,
    message: string,
    expected?: number,
    c?: number,
  ): CorruptionReport {
    const base = this.base;
    return {
      kind,
      blockStart: base + blockStart,
      blockSizeBytes,
      ptr: base + ptr,
      offset: bad - ptr,
      address: base + bad,
      actual: this.m.rd8(bad),
      message,
      ...(expected === undefined ? {} : { expected }),
      ...(c === undefined ? {} : { cache: this.names[c]! }),
    };
  }

  /** Appends the blocks of slab `s` to `out`. */
  walk(s: number, out: HeapBlock[]): void {
    const m = this.m;
    const c = this.cacheOf(s);
    const cap = this.cap[c]!;
    const stride = this.stride[c]!;
    for (let i = 0; i < cap; i++) {
      const slot = s + this.first[c]! + i * stride;
      const used = (m.rd(s + D_BITMAP + ((i >> 5) << 2)) & (1 << (i & 31))) !== 0;
      const b: HeapBlock = {
        start: this.base + slot,
        sizeBytes: stride,
        kind: 'slab',
        used,
        ptr: this.base + slot + this.lrz[c]!,
        usableBytes: used ? this.usable(c, slot) : this.debug ? this.objSize[c]! : stride,
        cache: this.names[c]!,
      };
      if (used && this.debug) b.requestedBytes = m.rd(slot);
      out.push(b);
    }
  }

  /** Set by {@link checkSlab}: bytes requested by the slab's live objects (as counted in stats). */
  checkedRequested = 0;

  /** Checks slab `s` thoroughly; returns its in-use count. Throws on any inconsistency. */
  checkSlab(s: number, pageCount: number): number {
    const m = this.m;
    const fail = (what: string): never => {
      throw new HeapCorruptionError(this.report('slab-descriptor', s, pageCount * PAGE_SIZE, s, s, `slab at ${hex(this.base + s)}: ${what}`));
    };
    if (m.rd(s + D_MAGIC) !== (SLAB_MAGIC ^ s)) fail('magic overwritten');
    const c = this.cacheOf(s);
    if (!this.alive[c]) fail(`belongs to destroyed cache ${c}`);
    if (m.rd(s + D_CACHE) !== c) fail(`cache word ${m.rd(s + D_CACHE)} but page map says ${c}`);
    if (this.slabBytes[c] !== pageCount * PAGE_SIZE) fail('run length differs from the cache slab size');
    const cap = this.cap[c]!;
    if (m.rd(s + D_CAP) !== cap || m.rd(s + D_FIRST) !== this.first[c]) fail('capacity or first-object word overwritten');
    const stride = this.stride[c]!;
    const first = s + this.first[c]!;
    let used = 0;
    let requested = 0;
    for (let i = 0; i < cap; i++) {
      if ((m.rd(s + D_BITMAP + ((i >> 5) << 2)) & (1 << (i & 31))) !== 0) {
        used++;
        requested += this.requested(c, first + i * stride);
      }
    }
    this.checkedRequested = requested;
    if (m.rd(s + D_INUSE) !== used) fail(`inuse word ${m.rd(s + D_INUSE)} but bitmap has ${used}`);
    // Free list: each entry a free slot of this slab, no repeats, as many as free bits.
    let n = 0;
    const seen = new Set<number>();
    for (let slot = m.rd(s + D_FREE); slot !== -1; slot = m.rd(slot)) {
      const idx = (slot - first) / stride;
      if (!Number.isInteger(idx) || idx < 0 || idx >= cap) {
        throw new HeapCorruptionError(this.report('freelist', s, pageCount * PAGE_SIZE, s, s, `slab at ${hex(this.base + s)} (${this.names[c]!}): free-list link ${hex(this.base + slot)} is not an object of the slab`, undefined, c));
      }
      if (seen.has(idx)) fail('free list has a cycle');
      seen.add(idx);
      if ((m.rd(s + D_BITMAP + ((idx >> 5) << 2)) & (1 << (idx & 31))) !== 0) fail(`allocated object ${idx} is on the free list`);
      if (this.debug) this.checkFreeSlot(c, s, slot);
      n++;
    }
    if (n !== cap - used) fail(`free list has ${n} objects, bitmap says ${cap - used}`);
    if (this.debug) {
      for (let i = 0; i < cap; i++) {
        if ((m.rd(s + D_BITMAP + ((i >> 5) << 2)) & (1 << (i & 31))) !== 0) this.checkUsedSlot(c, s, first + i * stride);
      }
    }
    return used;
  }

  /** Checks list membership and counters of every cache against the slabs found by the page walk. */
  checkLists(slabsSeen: Map<number, number>): void {
    const m = this.m;
    for (let c = 0; c < this.names.length; c++) {
      let empties = 0;
      for (const [head, isPartial] of [
        [this.partial[c]!, true],
        [this.empty[c]!, false],
      ] as const) {
        let prev = -1;
        for (let s = head; s !== -1; s = m.rd(s + D_NEXT)) {
          const inuse = slabsSeen.get(s);
          if (inuse === undefined || this.cacheOf(s) !== c) throw new Error(`cache ${this.names[c]!}: list entry ${hex(this.base + s)} is not one of its slabs`);
          if (m.rd(s + D_PREV) !== prev) throw new Error(`cache ${this.names[c]!}: broken prev link at ${hex(this.base + s)}`);
          if (isPartial && (inuse === 0 || inuse === this.cap[c])) throw new Error(`cache ${this.names[c]!}: slab ${hex(this.base + s)} on the partial list holds ${inuse}`);
          if (!isPartial) {
            if (inuse !== 0) throw new Error(`cache ${this.names[c]!}: non-empty slab on the empty list`);
            empties++;
          }
          slabsSeen.set(s, -1);
          prev = s;
        }
      }
      if (empties !== this.emptyCount[c]) throw new Error(`cache ${this.names[c]!}: ${empties} empty slabs listed, ${this.emptyCount[c]!} counted`);
    }
    for (const [s, inuse] of slabsSeen) {
      const c = this.cacheOf(s);
      if (inuse !== -1 && inuse !== this.cap[c]) throw new Error(`slab ${hex(this.base + s)} (${this.names[c]!}) has free objects but is on no list`);
      if (inuse !== -1 && inuse === 0) throw new Error(`empty slab ${hex(this.base + s)} is on no list`);
    }
  }

  /** Objects in use over all caches, the bytes they requested (outside debug mode: their object size) and their slot bytes. */
  totals(): { objects: number; bytesRequested: number; bytesInUse: number } {
    let objects = 0;
    let requested = 0;
    let bytesInUse = 0;
    for (let c = 0; c < this.names.length; c++) {
      const n = this.inUse[c]!;
      objects += n;
      requested += n * this.objSize[c]!;
      bytesInUse += n * this.stride[c]!;
    }
    return { objects, bytesRequested: this.debug ? this.debugRequested : requested, bytesInUse };
  }

  /** Counters of cache `c`. */
  stats(c: number): CacheStats {
    return {
      name: this.names[c]!,
      objectSizeBytes: this.objSize[c]!,
      strideBytes: this.stride[c]!,
      slabBytes: this.slabBytes[c]!,
      objectsPerSlab: this.cap[c]!,
      slabCount: this.slabCount[c]!,
      objectsInUse: this.inUse[c]!,
    };
  }
}

/** Objects of `stride` bytes that fit a slab of `bytes` after the descriptor and its bitmap. */
function capacity(bytes: number, stride: number): number {
  let cap = Math.floor((bytes - D_BITMAP - 4) / stride);
  while (cap > 0 && D_BITMAP + 4 * ((cap + 31) >> 5) > bytes - cap * stride) cap--;
  return cap;
}
