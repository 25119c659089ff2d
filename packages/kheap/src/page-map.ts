// Which allocator owns each page of the region: the heap's analogue of Linux's `struct page`
// array (mem_map), which the page allocator keeps outside the pages themselves. kfree uses it to
// route a pointer in O(1) (as virt_to_page() + PageSlab() do); per-block metadata stays in memory.
import { BackingError, PAGE_SIZE, type HeapBacking } from './api';
import { hex } from './hex';

/** Page not held by the heap. */
export const PAGE_NONE = 0;
/** Page of a slab. */
export const PAGE_SLAB = 1;
/** Page of a TLSF arena. */
export const PAGE_TLSF = 2;
/** Page of a large (page-granular) allocation. */
export const PAGE_LARGE = 3;

/** Page ownership table plus the calls that get and return pages. */
export class PageMap {
  /** Per page: `(runHeadPage << 2) | kind`. */
  readonly info: Int32Array;
  /** Per run head page: pages in the run. */
  readonly runPages: Int32Array;
  /** Per run head page: owner detail (slab: cache id; large: bytes requested). */
  readonly runAux: Uint32Array;
  pagesHeld = 0;

  constructor(
    private readonly backing: HeapBacking,
    private readonly base: number,
    limitBytes: number,
  ) {
    const pages = limitBytes / PAGE_SIZE;
    this.info = new Int32Array(pages);
    this.runPages = new Int32Array(pages);
    this.runAux = new Uint32Array(pages); // a request is at most the region, 2^31 bytes
  }

  /** Gets `pageCount` contiguous pages for `kind`; returns the offset of the first, or -1 when the backing has none. */
  acquire(pageCount: number, kind: number, aux: number): number {
    const va = this.backing.grow(pageCount * PAGE_SIZE);
    if (va === null) return -1;
    const off = va - this.base;
    const first = off / PAGE_SIZE;
    if (!Number.isSafeInteger(first) || first < 0 || first + pageCount > this.info.length) {
      throw new BackingError(`grow returned ${hex(va)}, not a page-aligned run inside the region`);
    }
    for (let i = first; i < first + pageCount; i++) {
      if (this.info[i] !== PAGE_NONE) throw new BackingError(`grow returned ${hex(va)}, whose page ${hex(this.base + i * PAGE_SIZE)} the heap already holds`);
      this.info[i] = (first << 2) | kind;
    }
    this.runPages[first] = pageCount;
    this.runAux[first] = aux;
    this.pagesHeld += pageCount;
    return off;
  }

  /** Returns the run starting at offset `off` to the backing. */
  release(off: number): void {
    const first = off / PAGE_SIZE;
    const count = this.runPages[first]!;
    this.info.fill(PAGE_NONE, first, first + count);
    this.runPages[first] = 0;
    this.runAux[first] = 0;
    this.pagesHeld -= count;
    this.backing.shrink(this.base + off, count * PAGE_SIZE);
  }

  /** Kind of the page holding offset `off` (PAGE_NONE outside the region). */
  kindAt(off: number): number {
    if (off < 0 || off >= this.info.length * PAGE_SIZE) return PAGE_NONE;
    return this.info[off >>> 12]! & 3;
  }

  /** Offset of the first page of the run holding offset `off` (which must be held). */
  runStart(off: number): number {
    return (this.info[off >>> 12]! >> 2) * PAGE_SIZE;
  }

  /** Calls `visit(runOffset, kind, pageCount)` for each held run, in address order. */
  forEachRun(visit: (off: number, kind: number, pageCount: number) => void): void {
    const info = this.info;
    for (let i = 0; i < info.length; ) {
      const v = info[i]!;
      if ((v & 3) === PAGE_NONE) {
        i++;
        continue;
      }
      const count = this.runPages[i]!;
      visit(i * PAGE_SIZE, v & 3, count);
      i += count;
    }
  }

  /** Throws if runs overlap, are malformed, or the page count is off. */
  checkInvariants(): void {
    let held = 0;
    const info = this.info;
    for (let i = 0; i < info.length; ) {
      const v = info[i]!;
      if ((v & 3) === PAGE_NONE) {
        i++;
        continue;
      }
      const count = this.runPages[i]!;
      if (v >> 2 !== i || count <= 0) throw new Error(`page map: page ${i} is not the head of its run`);
      for (let j = i; j < i + count; j++) {
        if (info[j] !== v) throw new Error(`page map: run at page ${i} (${count} pages) broken at page ${j}`);
      }
      held += count;
      i += count;
    }
    if (held !== this.pagesHeld) throw new Error(`page map: ${held} pages in runs but ${this.pagesHeld} counted`);
  }
}
