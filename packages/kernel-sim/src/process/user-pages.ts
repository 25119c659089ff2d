// The user half of one process's page tables, as the kernel's software sees them: leaf lookups
// for the fault handler, leaf writes with the TLB invalidation they need, table creation and
// teardown. Every table entry is reached through the kernel's TableAccess (direct map or physical
// access, per layout), never by peeking at emulated RAM behind the kernel's back.
//
// Why not x86-paging's Mapper: user pages need entries the Mapper does not write on purpose
// (not-present entries that still hold a frame, for PROT_NONE; copy-on-write markers rewritten in
// place) and the fault path wants one cached page-table lookup per fault, not three validated
// walks. Tables created here are owned ('page-table', pid) and recorded in `tables`.
import { PTE, encodeHi, encodeLo, entryAddress, type TableAccess } from '@kmem/x86-paging';
import type { FrameOwners } from '../frame-owners';
import type { FrameOwner } from '../events';
import { PTE_PROT_NONE } from '../fault-policy';
import { formatCanonical, formatPhysical } from '../hex';
import { KernelInvariantError } from '../kernel-errors';

const PAGE = 4096;
const TWO_MIB = 2 * 1024 * 1024;
const ONE_GIB = 1024 * 1024 * 1024;
const PML4_SPAN = 2 ** 39;
const P = PTE.Present;
/** Table entries above user leaves: P | R/W | U/S, never NX, so the leaf alone decides (as Linux's _PAGE_TABLE). */
const TABLE_ENTRY = PTE.Present | PTE.Writable | PTE.User;
/** The flag bits of an entry's high half (bits 52-63 of the entry: OS bits, protection key, NX). */
const HI_FLAGS = 0xfff0_0000 | 0;

function span(level: number): number {
  return level === 1 ? PAGE : level === 2 ? TWO_MIB : level === 3 ? ONE_GIB : PML4_SPAN;
}

function index(va: number, level: number): number {
  return level === 1 ? (va >>> 12) & 511 : level === 2 ? (va >>> 21) & 511 : level === 3 ? Math.floor(va / ONE_GIB) & 511 : Math.floor(va / PML4_SPAN) & 511;
}

/** A leaf entry holds a frame: present, or a PROT_NONE marker (not present, frame kept). */
export function leafHoldsFrame(lo: number): boolean {
  return (lo & (P | PTE_PROT_NONE)) !== 0;
}

/** The flags word of a leaf (x86-paging's layout: low bits 0-11 and high bits 20-31). */
export function leafFlags(lo: number, hi: number): number {
  return (lo & 0xfff) | (hi & HI_FLAGS);
}

/** Called with every leaf that holds a frame; may rewrite it with `UserPageTables.rewrite`. */
export type LeafVisitor = (va: number, frame: number, flags: number) => void;

/** Called with every non-empty leaf that holds no frame (a swap entry, or garbage): its raw halves. */
export type RawLeafVisitor = (va: number, lo: number, hi: number) => void;

/**
 * Page tables of the user range `[userStart, userEnd)` of one address space (root = its PML4).
 * Host cost: a Set entry per table created, nothing per page.
 */
export class UserPageTables {
  /** PML4 frame. */
  readonly root: number;
  /** Table frames created here (PDPTs, PDs, PTs), owned ('page-table', pid). */
  readonly tables = new Set<number>();
  /**
   * Where each table created here is linked: parent table frame, entry index, the parent's
   * level and a linear address the entry serves (for the recursive strategy). Lets teardown
   * unlink and free tables without re-reading every upper-level entry (as Linux keeps per-table
   * metadata in struct page).
   */
  private readonly links = new Map<number, { readonly parent: number; readonly index: number; readonly level: number; readonly va: number }>();
  /** After {@link lookup}: the leaf's low and high halves (0 when no page table covers the address). */
  lo = 0;
  hi = 0;
  /** After {@link lookup}: frame of the page table holding the leaf, or -1. */
  ptFrame = -1;
  private readonly owner: FrameOwner;
  // One cached page table: the fault path and sequential touches hit the same 2 MiB block.
  private cacheBase = -1;
  private cachePt = -1;

  constructor(
    root: number,
    private readonly access: TableAccess,
    private readonly frames: FrameOwners,
    readonly pid: number,
    private readonly maskHi: number,
    /** Drops the TLB entries of one page of this address space (INVLPG or INVPCID). */
    private readonly invalidate: (va: number) => void,
    readonly userStart: number,
    readonly userEnd: number,
  ) {
    this.root = root;
    this.owner = { kind: 'page-table', pid };
  }

  /**
   * Reads the leaf PTE for `va` into `lo`/`hi` (0/0 when a table on the way is missing).
   * @returns true when a page table covers `va`
   */
  lookup(va: number): boolean {
    const base = va - (va % TWO_MIB);
    let pt = base === this.cacheBase ? this.cachePt : -1;
    if (pt < 0) {
      pt = this.walkToPt(va, false);
      if (pt < 0) {
        this.lo = 0;
        this.hi = 0;
        this.ptFrame = -1;
        return false;
      }
      this.cacheBase = base;
      this.cachePt = pt;
    }
    this.ptFrame = pt;
    const A = this.access;
    A.readEntry(1, va, pt, (va >>> 12) & 511);
    this.lo = A.lo;
    this.hi = A.hi;
    return true;
  }

  /**
   * Writes a new leaf for `va` where there was none (creating tables), no TLB work needed
   * (not present → present, SDM 4.10.4.3).
   * @returns false when a table frame could not be allocated (tables made so far stay, empty)
   */
  mapNew(va: number, frame: number, flags: number): boolean {
    const base = va - (va % TWO_MIB);
    let pt = base === this.cacheBase ? this.cachePt : -1;
    if (pt < 0) {
      pt = this.walkToPt(va, true);
      if (pt < 0) return false;
      this.cacheBase = base;
      this.cachePt = pt;
    }
    this.access.writeEntry(1, va, pt, (va >>> 12) & 511, encodeLo(frame, flags & 0xfff), encodeHi(frame, flags & HI_FLAGS, this.maskHi));
    return true;
  }

  /**
   * Rewrites the leaf of `va` (which must exist: after `lookup` returned true) with `frame` and
   * `flags`, and invalidates the TLB for it if the old entry was present (SDM 4.10.4.2).
   */
  rewrite(va: number, frame: number, flags: number): void {
    this.writeLeaf(va, encodeLo(frame, flags & 0xfff), encodeHi(frame, flags & HI_FLAGS, this.maskHi));
  }

  /**
   * Calls `visit` for every leaf holding a frame in `[start, end)` (page aligned), in address
   * order. The visitor may call {@link rewrite} / {@link clear} for that va.
   */
  forEachLeaf(start: number, end: number, visit: LeafVisitor): void {
    const maskHi = this.maskHi;
    this.visit(4, this.root, 0, start, end, true, (va, lo, hi) => visit(va, entryAddress(lo, hi, maskHi), leafFlags(lo, hi)));
  }

  /**
   * Calls `visit` for every leaf in `[start, end)` that is not empty and holds no frame (swap
   * entries; anything else there is corruption the caller reports), in address order. The
   * visitor may call {@link writeLeaf} / {@link clear} for that va.
   */
  forEachNonFrameLeaf(start: number, end: number, visit: RawLeafVisitor): void {
    this.visit(4, this.root, 0, start, end, false, visit);
  }

  /**
   * Writes raw halves into the existing leaf of `va` (a swap entry, or a present entry with A
   * cleared), invalidating the TLB if the old entry was present (SDM 4.10.4.2).
   * @throws KernelInvariantError when no page table covers `va`
   */
  writeLeaf(va: number, lo: number, hi: number): void {
    const A = this.access;
    const pt = this.ptFrame >= 0 && this.cacheBase === va - (va % TWO_MIB) ? this.ptFrame : this.walkToPt(va, false);
    if (pt < 0) throw new KernelInvariantError(`write of the leaf of ${formatCanonical(va)}: no page table`);
    const i = (va >>> 12) & 511;
    A.readEntry(1, va, pt, i);
    const wasPresent = (A.lo & P) !== 0;
    A.writeEntry(1, va, pt, i, lo >>> 0, hi >>> 0);
    if (wasPresent) this.invalidate(va);
  }

  /**
   * Writes raw halves for `va` where there was no leaf, creating tables (a not-present entry:
   * no TLB work). @returns false when a table frame could not be allocated
   */
  mapNewRaw(va: number, lo: number, hi: number): boolean {
    const pt = this.walkToPt(va, true);
    if (pt < 0) return false;
    this.access.writeEntry(1, va, pt, (va >>> 12) & 511, lo >>> 0, hi >>> 0);
    return true;
  }

  /**
   * Zeroes the leaf of `va` (after `lookup`), invalidating the TLB if it was present. Does not
   * free the frame: the caller drops its reference.
   */
  clear(va: number): void {
    const pt = this.walkToPt(va, false);
    if (pt < 0) return;
    const A = this.access;
    const i = (va >>> 12) & 511;
    A.readEntry(1, va, pt, i);
    const wasPresent = (A.lo & P) !== 0;
    A.writeEntry(1, va, pt, i, 0, 0);
    if (wasPresent) this.invalidate(va);
  }

  /**
   * Frees the tables created here that hold nothing over `[start, end)` (after an unmap),
   * clearing their parent entries. Tables shared with the kernel are never touched.
   * @returns the number of table frames freed
   */
  freeEmptyTables(start: number, end: number): number {
    this.cacheBase = -1;
    this.cachePt = -1;
    return this.prune(4, this.root, 0, start, end);
  }

  /**
   * Tears the user range down (exit): calls `release` for every leaf holding a frame in the
   * given ranges (the process's regions: leaves exist nowhere else), then frees every table
   * created here, clearing the entries of tables it did not create (the root, identity-low's
   * private PDPT and PD) that pointed at them, so the root's user range is empty. No INVLPG: the
   * caller leaves the address space (CR3 write, or INVPCID with PCIDs) before anyone can use it.
   * @returns the number of table frames freed
   */
  destroy(ranges: readonly { readonly start: number; readonly end: number }[], release: LeafVisitor): number {
    for (const r of ranges) this.forEachLeaf(r.start, r.end, release);
    this.cacheBase = -1;
    this.cachePt = -1;
    this.ptFrame = -1;
    const A = this.access;
    let freed = 0;
    for (const [t, link] of this.links) {
      if (!this.tables.has(link.parent)) A.writeEntry(link.level, link.va, link.parent, link.index, 0, 0);
      this.frames.freeFrame(t);
      freed++;
    }
    this.tables.clear();
    this.links.clear();
    return freed;
  }

  /** Page tables this address space uses that were created here. */
  get tableCount(): number {
    return this.tables.size;
  }

  /**
   * Every table in `tables` is reachable once from the root within the user range, no leaf is huge,
   * and every leaf holding a frame lies in `[userStart, userEnd)`.
   * @throws KernelInvariantError
   */
  checkInvariants(): void {
    const seen = new Set<number>();
    const A = this.access;
    const walk = (level: number, table: number, base: number): void => {
      const first = Math.max(0, Math.floor((this.userStart - base) / span(level)));
      const last = Math.min(511, Math.floor((this.userEnd - 1 - base) / span(level)));
      for (let i = first; i <= last; i++) {
        const va = base + i * span(level);
        A.readEntry(level, va, table, i);
        const lo = A.lo;
        const hi = A.hi;
        if (level === 1) continue;
        if ((lo & P) === 0) continue;
        if ((lo & PTE.HugePage) !== 0 && level !== 4) throw new KernelInvariantError(`user page tables of pid ${this.pid}: huge page at ${formatCanonical(va)}`);
        const child = entryAddress(lo, hi, this.maskHi);
        if (!this.tables.has(child)) {
          // A table the kernel shares (identity-low's first GiB): it must not reach into the user range.
          const childEnd = va + span(level);
          if (va >= this.userStart && childEnd <= this.userEnd) throw new KernelInvariantError(`user page tables of pid ${this.pid}: table ${formatPhysical(child)} at ${formatCanonical(va)} is not one of the process's`);
          if (level - 1 >= 1 && !(childEnd <= this.userStart || va >= this.userEnd)) walk(level - 1, child, va);
          continue;
        }
        if (seen.has(child)) throw new KernelInvariantError(`user page tables of pid ${this.pid}: table ${formatPhysical(child)} reached twice`);
        seen.add(child);
        if ((lo & TABLE_ENTRY) !== TABLE_ENTRY || (hi & PTE.NoExecute) !== 0) throw new KernelInvariantError(`user page tables of pid ${this.pid}: table entry for ${formatCanonical(va)} is not P|RW|US without NX`);
        const owner = this.frames.kindOf(child);
        if (owner !== 'page-table' || this.frames.pidOf(child) !== this.pid) throw new KernelInvariantError(`user page table ${formatPhysical(child)} of pid ${this.pid} is owned by ${owner ?? 'nobody'} of pid ${this.frames.pidOf(child)}`);
        walk(level - 1, child, va);
      }
    };
    walk(4, this.root, 0);
    for (const t of this.tables) if (!seen.has(t)) throw new KernelInvariantError(`user page table ${formatPhysical(t)} of pid ${this.pid} is not reachable (leaked)`);
  }

  // --- internals -----------------------------------------------------------------------------

  /** Frame of the PT serving `va`, creating missing tables when `create`; -1 if missing (or OOM). */
  private walkToPt(va: number, create: boolean): number {
    const A = this.access;
    let table = this.root;
    for (let level = 4; level > 1; level--) {
      const i = index(va, level);
      A.readEntry(level, va, table, i);
      if ((A.lo & P) !== 0) {
        table = entryAddress(A.lo, A.hi, this.maskHi);
        continue;
      }
      if (!create) return -1;
      const t = this.frames.allocFrame(this.owner);
      if (t === null) return -1;
      this.tables.add(t);
      this.links.set(t, { parent: table, index: i, level, va: va - (va % span(level)) });
      // Zeroed by allocFrame; link it (not present → present: no TLB work).
      A.writeEntry(level, va, table, i, encodeLo(t, TABLE_ENTRY), encodeHi(t, 0, this.maskHi));
      table = t;
    }
    return table;
  }

  /** Calls `fn` with the raw halves of each leaf in [start, end) that holds a frame (`frames`) or that is non-empty without one. */
  private visit(level: number, table: number, base: number, start: number, end: number, frames: boolean, fn: RawLeafVisitor): void {
    const s = span(level);
    const first = Math.max(0, Math.floor((start - base) / s));
    const last = Math.min(511, Math.floor((end - 1 - base) / s));
    const A = this.access;
    for (let i = first; i <= last; i++) {
      const va = base + i * s;
      A.readEntry(level, va, table, i);
      const lo = A.lo;
      const hi = A.hi;
      if (level === 1) {
        if (frames ? !leafHoldsFrame(lo) : leafHoldsFrame(lo) || (lo === 0 && hi === 0)) continue;
        this.ptFrame = table;
        this.cacheBase = va - (va % TWO_MIB);
        this.cachePt = table;
        fn(va, lo, hi);
        continue;
      }
      if ((lo & P) === 0) continue;
      // Tables the kernel shares (identity-low's first PD entries) serve addresses below the
      // user range, so the clipping to [start, end) never enters them.
      this.visit(level - 1, entryAddress(lo, hi, this.maskHi), va, start, end, frames, fn);
    }
  }

  /** Frees empty tables of ours under `table` over [start, end); returns how many. */
  private prune(level: number, table: number, base: number, start: number, end: number): number {
    const s = span(level);
    const first = Math.max(0, Math.floor((start - base) / s));
    const last = Math.min(511, Math.floor((end - 1 - base) / s));
    const A = this.access;
    let freed = 0;
    for (let i = first; i <= last; i++) {
      const va = base + i * s;
      A.readEntry(level, va, table, i);
      if ((A.lo & P) === 0) continue;
      const child = entryAddress(A.lo, A.hi, this.maskHi);
      if (!this.tables.has(child)) continue;
      if (level > 2) freed += this.prune(level - 1, child, va, start, end);
      if (this.isEmpty(level - 1, child, va)) {
        A.writeEntry(level, va, table, i, 0, 0);
        // A table entry went from present to not present: paging-structure caches may hold it
        // (SDM 4.10.4.1); INVLPG of an address it served drops them.
        this.invalidate(va);
        this.tables.delete(child);
        this.links.delete(child);
        this.frames.freeFrame(child);
        freed++;
      }
    }
    return freed;
  }

  private isEmpty(level: number, table: number, base: number): boolean {
    const A = this.access;
    const s = span(level);
    for (let i = 0; i < 512; i++) {
      A.readEntry(level, base + i * s, table, i);
      if (A.lo !== 0 || A.hi !== 0) return false;
    }
    return true;
  }
}

