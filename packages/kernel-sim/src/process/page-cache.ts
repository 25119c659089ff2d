// The page cache of ELF files: one frame per (file, page offset), mapped read-only into every
// process that runs the file, so two processes running the same program share its text and
// read-only data frames (Linux's address_space of the inode). The cache holds one reference to
// each of its frames; each PTE mapping one adds a reference. Its pages are clean (file bytes, never
// written: they are mapped copy-on-write) and a page leaves the cache with its last mapping (or
// when reclaim drops it: it is re-read from the file on the next fault), so after every process
// exits the cache is empty and leak checks see every frame free.
//
// File identity is the file's bytes: the `Uint8Array` given to exec (or a parsed ELF's `bytes`).
// Two execs of the same array are the same file, as two execs of one inode; a copy of the bytes is
// another file (another inode), and shares nothing.
import type { ElfLoadPlan } from '../elf/load-plan';
import { brand } from '../brand';

const PAGE = 4096;

/** What one cached page is: a page of a file, and where processes map it. */
export interface PageCacheKey {
  /** The file (its bytes). */
  readonly file: Uint8Array;
  /** Byte offset of the page in the file (a multiple of 4096). */
  readonly offsetBytes: number;
  /**
   * The linear address every process maps it at. A process that shows the same file page at
   * another address (a PIE given another `loadBias`) gets a private copy: reclaim finds a page's
   * mappings at one address in every address space (see the README).
   */
  readonly va: number;
}

/**
 * The file offset of page `pageVa` of segment `segmentIndex` when that page is exactly a page of
 * the file (the page cache may serve it), else -1: a page past the file pages (zero fill), or the
 * page where a bss starts, whose tail must read as zero (binfmt_elf's padzero), is private.
 */
export function cacheableFileOffset(plan: ElfLoadPlan, segmentIndex: number, pageVa: number): number {
  const s = plan.segments[segmentIndex];
  if (s === undefined || pageVa < s.filePages.start || pageVa >= s.filePages.end) return -1;
  const from = s.filePages.fileOffset + (pageVa - s.filePages.start);
  if (s.bss.end > s.bss.start && from + PAGE > s.file.offset + s.file.sizeBytes) return -1;
  return from;
}

/** Cached file pages, by file and offset, and by frame. */
export class PageCache {
  static {
    brand(this, 'PageCache'); // instanceof across the import and require copies (brand.ts)
  }
  private readonly files = new Map<Uint8Array, Map<number, number>>();
  private readonly byFrame = new Map<number, PageCacheKey>();
  /** Pages found in the cache (a fault mapped a frame another process had read). */
  hits = 0;
  /** Pages read into the cache (a fault found none). */
  misses = 0;

  /** Frames in the cache. */
  get pageCount(): number {
    return this.byFrame.size;
  }

  /** Files with at least one cached page. */
  get fileCount(): number {
    return this.files.size;
  }

  /** The frame caching page `offsetBytes` of `file`, or -1. */
  lookup(file: Uint8Array, offsetBytes: number): number {
    return this.files.get(file)?.get(offsetBytes) ?? -1;
  }

  /** Whether `frame` is a page of the cache. */
  holds(frame: number): boolean {
    return this.byFrame.has(frame);
  }

  /** Which file page `frame` caches, or undefined. */
  keyOf(frame: number): PageCacheKey | undefined {
    return this.byFrame.get(frame);
  }

  /** @internal Records `frame` as page `offsetBytes` of `file`, mapped at `va` (the cache owns the allocation's reference). */
  insert(file: Uint8Array, offsetBytes: number, va: number, frame: number): void {
    let pages = this.files.get(file);
    if (pages === undefined) this.files.set(file, (pages = new Map<number, number>()));
    pages.set(offsetBytes, frame);
    this.byFrame.set(frame, { file, offsetBytes, va });
  }

  /** @internal Forgets `frame` (the caller frees it). */
  remove(frame: number): void {
    const key = this.byFrame.get(frame);
    if (key === undefined) return;
    this.byFrame.delete(frame);
    const pages = this.files.get(key.file)!;
    pages.delete(key.offsetBytes);
    if (pages.size === 0) this.files.delete(key.file);
  }

  /** Every cached (frame, key). */
  forEachPage(visit: (frame: number, key: PageCacheKey) => void): void {
    for (const [f, k] of this.byFrame) visit(f, k);
  }
}
