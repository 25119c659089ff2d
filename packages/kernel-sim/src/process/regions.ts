// A process's regions (Linux's VMAs, Serenity's Regions): ordered, disjoint page ranges with the
// rights user code has there, what the pages are for, and where a page's first contents come from.
// Nothing here touches page tables: the region list is the kernel's *intent*, the page tables
// its *cache* of that intent, filled on demand by the page-fault handler.
import type { ElfLoadPlan } from '../elf/load-plan';
import { formatCanonical } from '../hex';
import { show } from '../show-value';
import { KmemError } from '../api';
import type { SharedBacking } from './shared-memory-object';

const PAGE = 4096;
/** 2^47: one past the last user (lower-half) linear address. */
const USER_HALF_END = 0x8000_0000_0000;

/**
 * Region rights, with POSIX's `PROT_*` values (`PROT_READ = 1`, `PROT_WRITE = 2`,
 * `PROT_EXEC = 4`). x86 paging cannot express write-only or execute-only pages (SDM 4.6: a
 * present user page is always readable), so any non-zero `prot` makes the page readable, as on
 * Linux/x86.
 */
export const PROT = {
  /** No access at all (PROT_NONE): every access faults. */
  None: 0,
  /** PROT_READ. */
  Read: 1,
  /** PROT_WRITE. */
  Write: 2,
  /** PROT_EXEC: without it the pages are mapped NX (EFER.NXE = 1). */
  Exec: 4,
} as const;

/** What a region is for (the names /proc/PID/maps would show, plus the ELF segment kinds). */
export type RegionKind = 'text' | 'rodata' | 'data' | 'bss' | 'heap' | 'stack' | 'mmap';

/**
 * Where a region's pages come from on first touch: a segment of an ELF load plan (file bytes
 * through `pageContents`, zero past them). Page `va` of the region is page `va` of segment
 * `segmentIndex`: regions split from one segment keep the same backing.
 */
export interface ElfBacking {
  /** The plan (its `elf.bytes` are the file). */
  readonly plan: ElfLoadPlan;
  /** Index into `plan.segments`. */
  readonly segmentIndex: number;
}

/** One region: `[start, end)` page aligned, rights, kind, backing. Immutable: edits make new regions. */
export interface Region {
  /** First byte (page aligned, linear). */
  readonly start: number;
  /** One past the last byte (page aligned, exclusive). */
  readonly end: number;
  /** `PROT` bits. */
  readonly prot: number;
  /** What it is for. */
  readonly kind: RegionKind;
  /** File backing, or null for anonymous memory (zero-filled on first touch). */
  readonly backing: ElfBacking | null;
  /** The stack: the fault handler may extend it downwards (see the fault policy). */
  readonly growsDown: boolean;
  /** Optional label for people (`[stack]`, `busybox`...). */
  readonly name: string;
  /**
   * A shared mapping (MAP_SHARED): the pages are the object's, every sharer maps the same frames
   * writable (when `prot` allows), fork does not make them copy-on-write. Absent: private memory.
   */
  readonly shared?: SharedBacking;
}

/** A `[start, end)` range given to a region operation that is not page aligned, empty, or outside the user half. */
export class RegionRangeError extends KmemError {
  readonly code = 'E_REGION_RANGE';
  constructor(
    /** First byte given. */
    readonly va: number,
    reason: string,
  ) {
    super(`${Number.isSafeInteger(va) && va >= 0 && va < 2 ** 48 ? formatCanonical(va) : show(va)}: ${reason}`);
  }
}

/** A region that would overlap one already in the list. */
export class RegionOverlapError extends KmemError {
  readonly code = 'E_REGION_OVERLAP';
  constructor(
    /** Start of the new region. */
    readonly va: number,
    existing: Region,
  ) {
    super(`region at ${formatCanonical(va)} overlaps ${describeRegion(existing)}`);
  }
}

/** `prot` that is not a combination of `PROT` bits. */
export class InvalidProtError extends KmemError {
  readonly code = 'E_INVALID_PROT';
  constructor(readonly prot: number) {
    super(`prot ${show(prot)} is not a combination of PROT.Read | PROT.Write | PROT.Exec`);
  }
}

/** `r-xp`-style rights of a `prot` (as /proc/PID/maps prints them; `p` = private, `s` = shared). */
export function formatProt(prot: number, shared = false): string {
  return `${(prot & PROT.Read) !== 0 ? 'r' : '-'}${(prot & PROT.Write) !== 0 ? 'w' : '-'}${(prot & PROT.Exec) !== 0 ? 'x' : '-'}${shared ? 's' : 'p'}`;
}

/** One line for a region: `0x0000_0040_0000-0x0000_0040_1000 r--p text hello`. */
export function describeRegion(r: Region): string {
  return `${formatCanonical(r.start)}-${formatCanonical(r.end)} ${formatProt(r.prot, r.shared !== undefined)} ${r.kind}${r.name === '' ? '' : ` ${r.name}`}`;
}

/** @throws InvalidProtError unless `prot` is an integer combination of PROT bits */
export function checkProt(prot: number): void {
  if (!Number.isInteger(prot) || prot < 0 || prot > 7) throw new InvalidProtError(prot);
}

function sameBacking(a: ElfBacking | null, b: ElfBacking | null): boolean {
  if (a === null || b === null) return a === b;
  return a.plan === b.plan && a.segmentIndex === b.segmentIndex;
}

function sameShared(a: SharedBacking | undefined, b: SharedBacking | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.object === b.object && a.baseVa === b.baseVa;
}

/** Two regions that touch and could be one (same rights, kind, backing, shared object and offset, name, growth). */
export function canMerge(a: Region, b: Region): boolean {
  return a.end === b.start && a.prot === b.prot && a.kind === b.kind && a.growsDown === b.growsDown && a.name === b.name && sameBacking(a.backing, b.backing) && sameShared(a.shared, b.shared);
}

/**
 * The ordered region list of one address space. Sorted by start, disjoint, each non-empty and
 * page aligned, all below 2^47; neighbours that {@link canMerge} are merged after every change,
 * as Linux's vma_merge does (so a split undone by the reverse mprotect leaves one region).
 * `find` is a binary search with no allocation (the page-fault handler's first question).
 */
export class RegionList {
  private list: Region[] = [];

  /** Number of regions. */
  get length(): number {
    return this.list.length;
  }

  /** The regions, ascending (a copy). */
  all(): Region[] {
    return this.list.slice();
  }

  /** The region at position `i` (ascending), or undefined. */
  at(i: number): Region | undefined {
    return this.list[i];
  }

  /** Index of the region containing `va`, or -1. No allocation. */
  indexOf(va: number): number {
    const l = this.list;
    let lo = 0;
    let hi = l.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = l[mid]!;
      if (va < r.start) hi = mid - 1;
      else if (va >= r.end) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /** The region containing `va`, or null. No allocation. */
  find(va: number): Region | null {
    const i = this.indexOf(va);
    return i < 0 ? null : this.list[i]!;
  }

  /** Index of the first region starting above `va` (= regions.length when none). No allocation. */
  indexAbove(va: number): number {
    const l = this.list;
    let lo = 0;
    let hi = l.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (l[mid]!.start <= va) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first region starting above `va`, or null (the stack-growth candidate). No allocation. */
  above(va: number): Region | null {
    return this.list[this.indexAbove(va)] ?? null;
  }

  /** The last region ending at or below `va`, or null. No allocation. */
  below(va: number): Region | null {
    let i = this.indexAbove(va) - 1;
    // indexAbove - 1 is the last region starting at or below va; it may contain va.
    if (i >= 0 && this.list[i]!.end > va) i--;
    return i >= 0 ? this.list[i]! : null;
  }

  /** The first region overlapping `[start, end)`, or null. */
  firstOverlap(start: number, end: number): Region | null {
    const i = this.indexAbove(start) - 1;
    if (i >= 0 && this.list[i]!.end > start) return this.list[i]!;
    const n = this.list[i + 1];
    return n !== undefined && n.start < end ? n : null;
  }

  /** Whether every page of `[start, end)` lies in some region. */
  covers(start: number, end: number): boolean {
    let pos = start;
    let i = this.indexOf(pos);
    if (i < 0) return false;
    while (pos < end) {
      const r = this.list[i];
      if (r === undefined || r.start > pos) return false;
      pos = r.end;
      i++;
    }
    return true;
  }

  /**
   * Adds a region (merged with touching neighbours that {@link canMerge}).
   * @throws RegionRangeError for a range that is empty, not page aligned or not below 2^47
   * @throws InvalidProtError for bad `prot`
   * @throws RegionOverlapError if it overlaps a region; nothing changes
   */
  insert(region: Region): void {
    checkRange(region.start, region.end);
    checkProt(region.prot);
    const clash = this.firstOverlap(region.start, region.end);
    if (clash !== null) throw new RegionOverlapError(region.start, clash);
    const at = this.indexAbove(region.start);
    this.list.splice(at, 0, { ...region });
    this.mergeAround(at);
  }

  /**
   * Removes `[start, end)` from every region it overlaps (partial regions are cut, a region
   * spanning the whole range is split in two). Holes are fine (munmap of nothing succeeds).
   * @returns the pieces removed, ascending (each a region with its own range)
   * @throws RegionRangeError for a bad range; nothing changes
   */
  remove(start: number, end: number): Region[] {
    checkRange(start, end);
    const removed: Region[] = [];
    const kept: Region[] = [];
    let i = this.indexAbove(start) - 1;
    if (i < 0 || this.list[i]!.end <= start) i++;
    const first = i;
    for (; i < this.list.length && this.list[i]!.start < end; i++) {
      const r = this.list[i]!;
      if (r.start < start) kept.push({ ...r, end: start });
      removed.push({ ...r, start: Math.max(r.start, start), end: Math.min(r.end, end) });
      if (r.end > end) kept.push({ ...r, start: end });
    }
    this.list.splice(first, i - first, ...kept);
    return removed;
  }

  /**
   * Sets `prot` on every page of `[start, end)`, splitting the regions at the edges and merging
   * neighbours that end up alike. Every page must lie in a region (Linux's mprotect fails with
   * ENOMEM on a hole).
   * @returns the regions as they were over the range (for undoing, or for the caller's page work)
   * @throws RegionRangeError for a bad range or one with a hole; InvalidProtError; nothing changes
   */
  protect(start: number, end: number, prot: number): Region[] {
    checkRange(start, end);
    checkProt(prot);
    if (!this.covers(start, end)) throw new RegionRangeError(start, `[${formatCanonical(start)}, ${formatCanonical(end)}) is not entirely inside regions`);
    const before = this.remove(start, end);
    for (const piece of before) {
      const at = this.indexAbove(piece.start);
      this.list.splice(at, 0, { ...piece, prot });
    }
    // Merge across the whole affected span (edges included).
    let i = Math.max(0, this.indexAbove(start) - 2);
    while (i < this.list.length - 1 && this.list[i]!.start <= end) {
      if (canMerge(this.list[i]!, this.list[i + 1]!)) this.mergeAt(i);
      else i++;
    }
    return before;
  }

  /**
   * Replaces the region containing `at` by `replacement` covering an overlapping range (used to
   * grow the stack downwards and the heap upwards). The new range may only extend into free space.
   * @throws RegionRangeError if no region contains `at` or the range is bad; RegionOverlapError if
   *   the new range overlaps another region; nothing changes
   */
  resize(at: number, newStart: number, newEnd: number): Region {
    const i = this.indexOf(at);
    if (i < 0) throw new RegionRangeError(at, 'no region contains this address');
    checkRange(newStart, newEnd);
    const prev = this.list[i - 1];
    const next = this.list[i + 1];
    if (prev !== undefined && prev.end > newStart) throw new RegionOverlapError(newStart, prev);
    if (next !== undefined && next.start < newEnd) throw new RegionOverlapError(newStart, next);
    const r: Region = { ...this.list[i]!, start: newStart, end: newEnd };
    this.list[i] = r;
    this.mergeAround(i);
    return r;
  }

  /** A deep copy (regions are immutable, so the array is enough): what fork gives the child. */
  clone(): RegionList {
    const c = new RegionList();
    c.list = this.list.slice();
    return c;
  }

  /** Removes every region. */
  clear(): void {
    this.list = [];
  }

  /**
   * Sorted, disjoint, non-empty, page aligned, below 2^47, valid prot, no mergeable neighbours,
   * ELF backings inside their segment, shared mappings inside their live object.
   * @throws Error describing the first inconsistency
   */
  checkInvariants(): void {
    let prevEnd = -1;
    let prev: Region | null = null;
    for (const r of this.list) {
      if (r.start % PAGE !== 0 || r.end % PAGE !== 0 || r.end <= r.start || r.end > USER_HALF_END) throw new Error(`region ${describeRegion(r)} is not a non-empty page-aligned user range`);
      if (r.start < prevEnd) throw new Error(`region ${describeRegion(r)} overlaps or is out of order`);
      if (!Number.isInteger(r.prot) || r.prot < 0 || r.prot > 7) throw new Error(`region ${describeRegion(r)} has prot ${r.prot}`);
      if (prev !== null && canMerge(prev, r)) throw new Error(`regions ${describeRegion(prev)} and ${describeRegion(r)} should have been merged`);
      if (r.backing !== null) {
        const s = r.backing.plan.segments[r.backing.segmentIndex];
        if (s === undefined || r.start < s.start || r.end > s.end) throw new Error(`region ${describeRegion(r)} lies outside its ELF segment ${r.backing.segmentIndex}`);
      }
      if (r.shared !== undefined) {
        const { object, baseVa } = r.shared;
        if (r.backing !== null || !object.alive || r.start < baseVa || r.end - baseVa > object.sizeBytes || (r.start - baseVa) % PAGE !== 0) throw new Error(`shared region ${describeRegion(r)} does not lie inside its live object (${object.describe()})`);
      }
      prevEnd = r.end;
      prev = r;
    }
  }

  private mergeAround(i: number): void {
    if (i + 1 < this.list.length && canMerge(this.list[i]!, this.list[i + 1]!)) this.mergeAt(i);
    if (i > 0 && canMerge(this.list[i - 1]!, this.list[i]!)) this.mergeAt(i - 1);
  }

  private mergeAt(i: number): void {
    const a = this.list[i]!;
    const b = this.list[i + 1]!;
    this.list.splice(i, 2, { ...a, end: b.end });
  }
}

function checkRange(start: number, end: number): void {
  if (!Number.isSafeInteger(start) || start < 0 || start % PAGE !== 0) throw new RegionRangeError(start, 'start is not a page-aligned linear address');
  if (!Number.isSafeInteger(end) || end <= start || end % PAGE !== 0) throw new RegionRangeError(start, `end ${show(end)} is not a page-aligned address above the start`);
  if (end > USER_HALF_END) throw new RegionRangeError(start, `end ${formatCanonical(end)} is above the user half (2^47)`);
}
