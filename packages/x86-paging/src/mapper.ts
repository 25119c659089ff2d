// The Mapper: builds, changes and reads a page-table tree of any x86 paging mode held in emulated physical
// memory (SDM vol. 3A 4.5), reaching the tables only through a TableAccess strategy.
//
// Every mutating call follows the same shape, so nothing is ever half-done:
//   1. validate arguments and the existing tree (typed errors, no state touched);
//   2. obtain every frame the call can need (new tables, split tables, data frames); on running
//      out, undo what this call created and return false / null — the tree is as before;
//   3. write entries, invalidating the TLB for every present entry changed.
// Phases 2 and 3 can still be interrupted by an exception: a TableAccess that reaches tables
// through the MMU throws when its access faults, and a frame from the allocator may be unusable
// (InvalidFrameError). So they keep an undo log — tables created (with the entry each replaced),
// old values of the entries overwritten, tables to free only once the call has succeeded — and on
// any exception the call undoes itself, newest first, and rethrows (see `abort`).
//
// Intermediate-entry policy (SDM 4.6: rights combine across levels — writable only if R/W = 1 at
// every level, user only if U/S = 1 at every level, no-execute if NX = 1 at any level):
//   'permissive' (default, as Linux's _PAGE_TABLE): table entries are P|RW|US and never NX, so
//      the leaf alone decides a page's rights; changing a leaf is enough to change them.
//   'leaf' (as rust-osdev/x86_64's parent-table flags): a table entry carries only the R/W and
//      U/S any leaf below it needs, widened (never narrowed) as mappings are added, so a
//      supervisor-only subtree is supervisor-only at every level.
import { show } from './show-value';
import {
  InvalidAddressError,
  InvalidOptionError,
  InvalidSizeError,
  InvariantViolationError,
  MisalignedAddressError,
  NotMappedError,
  PageAlreadyMappedError,
  ParentEntryHugePageError,
  PhysicalAddressRangeError,
  ReservedRegionError,
  formatPa,
} from './api';
import { DEFAULT_MAX_PHYS_ADDR, HIGH_FLAGS_MASK, PTE, checkFlagsWord } from './entry';
import { MapperLocate } from './mapper-locate';
import { PAGE_SIZE_4M, UnencodableEntryError } from './entry-32bit';
import { checkFrame, checkMapperOptions, checkModeFlags, checkOptionsObject } from './mapper-checks';
import { geometryOf } from './paging-geometries';
import { PagingMode, PagingModeError } from './paging-mode';
import type { MutableUnmapped } from './mapper-leaves';
import { formatVa57 } from './address-57';
import type { LeafEntry, LinearAddress, LocateOptions, MapOptions, MapRangeOptions, MapperCreateOptions, MapperOptions, PageLocation, Translation, UnmapOptions, UnmappedRange } from './mapper-types';
import { ZERO_RUN } from './mapper-undo';
import { collectMappings, formatMappings, formatWalk, walkTables, type CollectMappingsOptions, type MappingRange, type WalkStep } from './walk';
import { brand } from './brand';

const P = PTE.Present;
const RW_US = PTE.Writable | PTE.User;
const NX_BIT = 0x8000_0000 | 0;
const PAGE_SIZE_4K = 4096;
const TWO_53 = 9007199254740992;

/**
 * Maps, unmaps, re-protects and reads virtual memory in one page-table tree (4-level paging by default).
 * All addresses are linear (`virt()` converts canonical ones); counts are in pages.
 * Every mutating call is all or nothing: misuse throws before any change; running out of frames
 * returns false / null with nothing changed; and an exception part-way — the TableAccess throwing
 * (strategies (b)-(d): `TableAccessFaultError`) or an unusable frame from the allocator
 * (`InvalidFrameError`) — is rethrown after the call has undone everything it did.
 * Host memory: tables live in emulated memory only; the mapper keeps one Set entry per table it
 * allocated, never anything per mapping (a call's undo log lives only while the call runs).
 */
export class Mapper extends MapperLocate {
  static {
    brand(this, 'Mapper'); // instanceof across the import and require copies (brand.ts)
  }
  private readonly reserved: Uint8Array;
  private readonly hasReserved: boolean;
  private destroyed: boolean;
  /** The single run `[va, sizeBytes, leafLevel]` a multi-page `mapPages` hands to `mapRuns` (no array per call). */
  private readonly oneRun: number[];
  private readonly result: Translation;
  private readonly leaf: LeafEntry;
  /** `geometry.linearLimit`. */
  private readonly linearLimit: number;
  /** Byte offset of the address `pageOf` split last. */
  private addressOffset: number;
  /** Numbers below this are linear addresses the fast checks accept: min(linearLimit, 2^53). */
  private readonly numberLimit: number;
  /** Flags-word bits this mode's entries cannot hold. */
  private readonly invalidFlags: number;
  /** `geometry.upperHalfStart`. */
  private readonly upperHalfStart: number;
  /** Per level: the R/W and U/S bits a table entry there grants whatever it holds (`geometry.impliedRights`). */
  private readonly impliedRights: Int32Array;
  /** Largest leaf level of the mode (3 for 1 GiB pages, 2 where 2 MiB / 4 MiB pages are the largest). */
  private readonly largestLeafLevel: number;

  /**
   * @throws InvalidOptionError for a bad `maxPhysAddr`, `tablePolicy` or reserved slot
   * @throws MisalignedAddressError if `root` is not 4 KiB aligned
   */
  constructor(options: MapperOptions) {
    super(options, geometryOf(options.mode ?? PagingMode.FourLevel));
    this.reserved = new Uint8Array(this.geometry.entryCount(this.top));
    for (const slot of options.reservedPml4Slots ?? []) this.reserved[slot] = 1;
    this.hasReserved = (options.reservedPml4Slots ?? []).length > 0;
    this.destroyed = false;
    this.oneRun = [0, 0, 1];
    this.result = { va: 0, pa: 0, pageSizeBytes: 0, level: 0, flags: 0 };
    this.leaf = { va: 0, level: 0, lo: 0, hi: 0, present: false, flags: 0, pa: 0 };
    const g = this.geometry;
    this.linearLimit = g.linearLimit;
    this.upperHalfStart = g.upperHalfStart;
    this.invalidFlags = ~g.flagsMask;
    this.addressOffset = 0;
    this.numberLimit = Math.min(g.linearLimit, TWO_53);
    this.impliedRights = new Int32Array(this.top + 1);
    let largest = 1;
    for (let level = 1; level <= this.top; level++) {
      this.impliedRights[level] = g.impliedRights(level);
      if (level > 1 && ((g.hugeLevels >>> level) & 1) !== 0) largest = level;
    }
    this.largestLeafLevel = largest;
  }

  /**
   * A mapper over a fresh, zeroed root table (PML4, PML5, PAE PDPT or 32-bit page directory) taken
   * from `options.allocator` (the mapper owns it). In PAE paging it also makes the four page
   * directories and pins them (PDPTEs are read only at MOV to CR3, SDM 4.4.1). Options are checked
   * before the frame is taken; if zeroing the root throws (a faulting TableAccess), the frame is
   * given back and the error rethrown.
   * @returns the mapper, or `null` if the allocator had too few frames (nothing kept)
   * @throws InvalidOptionError for bad options; InvalidFrameError for an unusable frame (not freed)
   */
  static create(options: MapperCreateOptions): Mapper | null {
    const g = geometryOf(options.mode ?? PagingMode.FourLevel);
    checkMapperOptions(options, g);
    const root = options.allocator.allocFrame();
    if (root === null) return null;
    checkFrame(root, g.rootLimit(options.maxPhysAddr ?? DEFAULT_MAX_PHYS_ADDR));
    const m = new Mapper({ ...options, root });
    try {
      m.access.zeroTable(g.topLevel, 0, root);
    } catch (e) {
      options.allocator.freeFrame(root);
      throw e;
    }
    m.ownsRoot = true;
    // PAE: the CPU reads the four PDPTEs only at MOV to CR3 (SDM 4.4.1), so a page directory linked
    // later would stay invisible. Make all four now and keep them for good, as Linux's PAE pgd_alloc does.
    if (g.mode === PagingMode.Pae) {
      for (let slot = 0; slot < g.entryCount(g.topLevel); slot++) {
        if (m.reserved[slot] === 1) continue;
        if (!m.preallocatePml4Slots(slot, 1)) {
          m.destroy();
          return null;
        }
      }
    }
    return m;
  }

  /** Page-table frames this mapper allocated and still uses (the root included if it allocated it). */
  get tableFrameCount(): number {
    return this.owned.size + (this.ownsRoot ? 1 : 0);
  }

  /** The table frames this mapper allocated and still uses, root first if owned (a copy). */
  tableFrames(): number[] {
    return this.ownsRoot ? [this.root, ...this.owned] : [...this.owned];
  }

  /**
   * Makes sure every PML4 slot in `[firstSlot, firstSlot + slotCount)` points at a PDPT, creating
   * zeroed ones, and pins them: they stay even when empty. This is how a kernel shares its half
   * among address spaces (Linux preallocates the kernel's top-level entries): copied PML4 entries
   * stay valid because the PDPTs they point at never go away.
   * @returns true, or false when the allocator ran out (nothing changed)
   * @throws InvalidSizeError for a slot range outside 0..511, ReservedRegionError for a reserved slot;
   *   InvalidFrameError / a TableAccess exception — after undoing the call
   */
  preallocatePml4Slots(firstSlot: number, slotCount: number): boolean {
    this.checkSlots(firstSlot, slotCount);
    const A = this.access;
    const top = this.top;
    const bits = (P | RW_US) & this.geometry.tableFlagsMask(top);
    const existing: number[] = []; // owned PDPTs already there: pinned once nothing can fail
    try {
      for (let i = firstSlot; i < firstSlot + slotCount; i++) {
        const va = i * this.geometry.span(top);
        A.readEntry(top, va, this.root, i);
        if ((A.lo & P) !== 0) {
          const child = this.geometry.entryAddress(A.lo, A.hi, this.maskHi);
          if (this.owned.has(child)) existing.push(child);
          continue;
        }
        const frame = this.allocator.allocFrame();
        if (frame === null) {
          this.abort();
          return false;
        }
        checkFrame(frame, this.paLimit);
        this.created.push(frame, top, va, this.root, i, A.lo, A.hi);
        this.owned.add(frame);
        this.pinned.add(frame);
        A.writeEntry(top, va, this.root, i, this.geometry.encodeLo(frame, bits, false), this.geometry.encodeHi(frame, 0, this.maskHi));
        A.zeroTable(top - 1, va, frame);
      }
    } catch (e) {
      this.abort();
      throw e;
    }
    this.created.length = 0;
    for (const child of existing) this.pinned.add(child);
    return true;
  }

  /**
   * Copies PML4 entries `[firstSlot, firstSlot + slotCount)` from `source`'s PML4 into this one, so
   * both address spaces share those subtrees (typically the kernel half, slots 256..511). Shared
   * tables stay owned by `source`; this mapper never frees them. Pin them in `source` first
   * ({@link Mapper.preallocatePml4Slots}) so they outlive any unmapping there.
   * @throws NotMappedError if a source slot is empty; PageAlreadyMappedError if a slot here is
   *   in use; InvalidSizeError / ReservedRegionError for bad slots — before any change; a
   *   TableAccess exception — after undoing the call
   */
  sharePml4Slots(source: Mapper, firstSlot: number, slotCount: number): void {
    this.checkSlots(firstSlot, slotCount);
    const A = this.access;
    const S = source.access;
    const top = this.top;
    if (source.geometry !== this.geometry) throw new InvalidOptionError('source', source.geometry.name, `a ${this.geometry.name} mapper shares slots only with a ${this.geometry.name} mapper`);
    for (let i = firstSlot; i < firstSlot + slotCount; i++) {
      const va = i * this.geometry.span(top);
      S.readEntry(top, va, source.root, i);
      if ((S.lo & P) === 0) throw new NotMappedError(va);
      A.readEntry(top, va, this.root, i);
      if ((A.lo | A.hi) !== 0) throw new PageAlreadyMappedError(va, this.geometry.entryAddress(A.lo, A.hi, this.maskHi));
    }
    try {
      for (let i = firstSlot; i < firstSlot + slotCount; i++) {
        const va = i * this.geometry.span(top);
        S.readEntry(top, va, source.root, i);
        this.journal(top, va, this.root, i, 0, 0); // checked above: the slot was all zero
        A.writeEntry(top, va, this.root, i, S.lo, S.hi);
      }
    } catch (e) {
      this.abort();
      throw e;
    }
    this.undoLen = 0;
  }

  /**
   * Gives every table frame this mapper allocated back to the allocator (pinned PDPTs and the
   * root included, if it allocated them) — the end of an address space. Leaves are not reported:
   * unmap first whatever you need back (`unmapPages` returns the data frames). Tables shared from
   * another mapper are left alone. The mapper must not be used afterwards.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const frame of this.owned) this.allocator.freeFrame(frame);
    this.owned.clear();
    this.pinned.clear();
    if (this.ownsRoot) this.allocator.freeFrame(this.root);
    this.ownsRoot = false;
  }

  private checkSlots(firstSlot: number, slotCount: number): void {
    const n = this.geometry.entryCount(this.top);
    if (!Number.isInteger(firstSlot) || firstSlot < 0 || firstSlot >= n) throw new InvalidSizeError('firstSlot', firstSlot, `a ${this.geometry.levelName(this.top)} slot is an integer in 0..${n - 1}`);
    if (!Number.isInteger(slotCount) || slotCount <= 0 || firstSlot + slotCount > n) throw new InvalidSizeError('slotCount', slotCount, `slots must stay within 0..${n - 1}`);
    for (let i = firstSlot; i < firstSlot + slotCount; i++) if (this.reserved[i] === 1) throw new ReservedRegionError(i * this.geometry.span(this.top), i);
  }

  // -------------------------------------------------------------------------------------------
  // Public operations
  // -------------------------------------------------------------------------------------------

  /**
   * Maps `pageCount` pages of `options.pageSize` bytes at `va` to the physical range at `pa`,
   * creating (zeroed) intermediate tables as needed. P is always set; PS is set for 2 MiB / 1 GiB
   * pages. Bit 7 of `flags` is PAT for 4 KiB pages (`PTE.Pat4K`); bit 12 (`PTE.PatHuge`) is PAT
   * for huge pages and ignored for 4 KiB ones. No TLB invalidation is needed (not-present to
   * present, SDM 4.10.4.3), except where a huge page replaces an empty table.
   * @returns true, or false when the allocator ran out (nothing changed)
   * @throws InvalidOptionError (page size), InvalidSizeError (pageCount), InvalidFlagsError (bits 13-19),
   *   InvalidAddressError, MisalignedAddressError, CanonicalHoleError, PhysicalAddressRangeError,
   *   ReservedRegionError, PageAlreadyMappedError (a present page in the range),
   *   ParentEntryHugePageError (a huge page where a table is needed) — all before any change;
   *   InvalidFrameError (the allocator handed out an unusable frame) and whatever the TableAccess
   *   throws (e.g. TableAccessFaultError) — after undoing everything the call did
   */
  mapPages(address: LinearAddress, pa: number, pageCount: number, flags: number, options: MapOptions = {}): boolean {
    checkOptionsObject(options);
    const pageSize = options.pageSize ?? PAGE_SIZE_4K;
    const leafLevel = pageSize === PAGE_SIZE_4K ? 1 : this.leafLevelOf(pageSize);
    const f = this.checkFlags(flags);
    const sizeBytes = this.checkCount(pageCount, pageSize);
    const va = typeof address === 'number' && address < TWO_53 ? address : this.toVa(address);
    this.checkVaRange(va, sizeBytes, pageSize);
    this.checkPa(pa, sizeBytes, pageSize, leafLevel);
    if (pageCount === 1 && leafLevel === 1) return this.mapOne4K(va, pa, f);
    return this.mapRuns(this.single(va, va + sizeBytes, leafLevel), pa - va, f);
  }

  /**
   * Maps `[va, va + sizeBytes)` to `[pa, pa + sizeBytes)` with the largest pages alignment allows
   * (1 GiB, then 2 MiB, then 4 KiB at unaligned edges), up to `options.maxPageSize`. All or nothing.
   * @returns true, or false when the allocator ran out (nothing changed)
   * @throws as {@link Mapper.mapPages}; InvalidSizeError unless `sizeBytes` is a positive multiple of 4096
   */
  mapRange(address: LinearAddress, pa: number, sizeBytes: number, flags: number, options: MapRangeOptions = {}): boolean {
    checkOptionsObject(options);
    const maxLevel = options.maxPageSize === undefined ? this.largestLeafLevel : this.leafLevelOf(options.maxPageSize);
    const f = this.checkFlags(flags);
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % PAGE_SIZE_4K !== 0) {
      throw new InvalidSizeError('sizeBytes', sizeBytes, 'must be a positive multiple of 4096');
    }
    const va = this.toVa(address);
    this.checkVaRange(va, sizeBytes, PAGE_SIZE_4K);
    this.checkPa(pa, sizeBytes, PAGE_SIZE_4K, 1);
    // Decompose into runs of one page size: [va, sizeBytes, leafLevel]*. Leaf levels are 1 up to
    // `largestLeafLevel` in every mode, so the next bigger page is always one level up.
    const g = this.geometry;
    const runs: number[] = [];
    let cur = va;
    let rem = sizeBytes;
    while (rem > 0) {
      const p = pa + (cur - va);
      let level = maxLevel;
      while (level > 1) {
        const span = g.span(level);
        if (cur % span === 0 && p % span === 0 && rem >= span) break;
        level--;
      }
      const size = g.span(level);
      let n = Math.floor(rem / size);
      // Stop a run at the next boundary where a bigger page becomes possible.
      if (level < maxLevel) {
        const bigger = g.span(level + 1);
        if ((cur - p) % bigger === 0) n = Math.min(n, (bigger - (cur % bigger)) / size);
      }
      runs.push(cur, n * size, level);
      cur += n * size;
      rem -= n * size;
    }
    return this.mapRuns(runs, pa - va, f);
  }

  /**
   * Allocates `pageCount` data frames from the allocator and maps them as 4 KiB pages at `va`
   * (zeroing each frame if the mapper was given `memory`). The mapping half of a kernel's
   * `mem_map_pages_at`.
   * @returns true, or false when the allocator ran out — then every frame and table this call
   *   took is given back and nothing is mapped
   * @throws as {@link Mapper.mapPages}; an unusable data frame (InvalidFrameError) is not given
   *   back to the allocator, everything else the call took is
   */
  mapAllocated(address: LinearAddress, pageCount: number, flags: number): boolean {
    const f = this.checkFlags(flags);
    const va = this.toVa(address);
    const end = this.checkPages(va, pageCount);
    const tableBits = this.tableBitsFor(f);
    const A = this.access;
    const loFlags = (f & 0xfff) | P;
    const hiFlags = f & HIGH_FLAGS_MASK;
    const ptSpan = this.geometry.span(2);
    try {
      if (!this.prepareRuns(this.single(va, end, 1), tableBits)) return false;
      this.undoFloor = 0; // leaves are written from here on: markers noted while validating count
      let cur = va;
      while (cur < end) {
        const pt = this.tableFor(cur, 1);
        const chunkEnd = Math.min(end, cur - (cur % ptSpan) + ptSpan);
        let i = this.geometry.index(cur, 1);
        this.journal(1, cur, pt, i, ZERO_RUN, (chunkEnd - cur) / PAGE_SIZE_4K);
        for (; cur < chunkEnd; cur += PAGE_SIZE_4K, i++) {
          const frame = this.allocator.allocFrame();
          if (frame === null) {
            this.abort();
            return false;
          }
          checkFrame(frame, this.paLimit);
          this.dataFrames.push(frame);
          if (this.memory !== null) this.memory.zeroFrame(frame);
          A.writeEntry(1, cur, pt, i, this.geometry.encodeLo(frame, loFlags, false), this.geometry.encodeHi(frame, hiFlags, this.maskHi));
        }
      }
      if (this.tablePolicy === 'leaf') this.widen(this.top, this.root, va, end, 1, tableBits);
    } catch (e) {
      this.abort();
      throw e;
    }
    this.finish();
    return true;
  }

  /**
   * Removes every mapping in `[va, va + pageCount * 4096)`. Holes are skipped. A 2 MiB / 1 GiB page
   * only partly inside the range is first split into smaller pages (which needs up to four new
   * table frames); the part outside stays mapped. Non-present entries wholly inside the range are
   * zeroed too (any OS markers in them are dropped). Each removed present leaf gets `invlpg`.
   * @returns what was mapped, coalesced into runs of contiguous frames with equal flags and page
   *   size (callers free the frames they own), or `null` when a needed split table could not be
   *   allocated (nothing changed)
   * @throws InvalidSizeError, InvalidAddressError, MisalignedAddressError, CanonicalHoleError,
   *   ReservedRegionError — before any change; InvalidFrameError / a TableAccess exception — after undoing the call
   */
  unmapPages(address: LinearAddress, pageCount: number, options: UnmapOptions = {}): UnmappedRange[] | null {
    checkOptionsObject(options);
    const va = this.toVa(address);
    const end = this.checkPages(va, pageCount);
    const out: MutableUnmapped[] = [];
    try {
      if (!this.splitEdges(va, end)) return null;
      this.clearRange(this.top, this.root, va, end, out, options.freeTables ?? true);
    } catch (e) {
      this.abort();
      throw e;
    }
    this.finish();
    return out;
  }

  /**
   * Replaces the flags of every page in `[va, va + pageCount * 4096)` with `flags` (P and PS kept
   * as the page needs; the CPU-set A and D bits are preserved). Huge pages partly inside the
   * range are split first. Each changed leaf gets `invlpg`.
   * @returns true, or false when a needed split table could not be allocated (nothing changed)
   * @throws NotMappedError if any page in the range is not mapped; InvalidFlagsError,
   *   InvalidSizeError, InvalidAddressError, MisalignedAddressError, CanonicalHoleError,
   *   ReservedRegionError — before any change; InvalidFrameError / a TableAccess exception — after undoing the call
   */
  updateFlags(address: LinearAddress, pageCount: number, flags: number): boolean {
    const f = this.checkFlags(flags);
    const va = this.toVa(address);
    const end = this.checkPages(va, pageCount);
    this.checkAllMapped(this.top, this.root, va, end);
    try {
      if (!this.splitEdges(va, end)) return false;
      this.rewriteFlags(this.top, this.root, va, end, f);
      if (this.tablePolicy === 'leaf') this.widen(this.top, this.root, va, end, 1, this.tableBitsFor(f));
    } catch (e) {
      this.abort();
      throw e;
    }
    this.finish();
    return true;
  }

  /**
   * Software translation of `va` (no A/D updates, no permission check, no TLB).
   * @returns the mapper's single reusable {@link Translation} (overwritten by the next call), or
   *   `null` if `va` is not mapped or lies in a reserved PML4 slot
   * @throws InvalidAddressError if `va` is not an integer in [0, 2^48)
   */
  translate(address: LinearAddress): Translation | null {
    let va: number;
    let offset = 0;
    if (typeof address === 'number') {
      va = address;
      if (!(va >= 0 && va < this.numberLimit) || va !== Math.floor(va)) this.assertNumberVa(va);
    } else {
      va = this.pageOf(address);
      offset = this.addressOffset;
    }
    // Everything the loop reads from `this` in locals: a store to `A.lo` would otherwise make V8
    // reload each field on every level (the generic walk measured 0.80-0.86 of 4-level-only code).
    const A = this.access;
    const g = this.geometry;
    const top = this.top;
    const maskHi = this.maskHi;
    const implied = this.impliedRights;
    const hugeLevels = this.hugeLevels;
    if (this.hasReserved && this.reserved[g.index(va, top)] === 1) return null;
    let table = this.root;
    let andRwUs = RW_US;
    let orNx = 0;
    for (let level = top; level >= 1; level--) {
      A.readEntry(level, va, table, g.index(va, level));
      const lo = A.lo;
      const hi = A.hi;
      if ((lo & P) === 0) return null;
      andRwUs &= lo | implied[level]!;
      orNx |= hi & NX_BIT;
      const huge = (lo & PTE.HugePage) !== 0 && ((hugeLevels >>> level) & 1) !== 0;
      if (level === 1 || huge) {
        const span = g.span(level);
        const r = this.result;
        r.va = offset === 0 ? va : va < TWO_53 ? va + offset : NaN;
        r.pa = g.leafAddress(lo, hi, level, maskHi) + (va % span) + offset;
        r.pageSizeBytes = span;
        r.level = level;
        r.flags = (g.entryFlags(lo, hi, huge) & ~(RW_US | NX_BIT)) | andRwUs | orNx;
        return r;
      }
      table = g.entryAddress(lo, hi, maskHi);
    }
    return null;
  }

  /**
   * Throws unless `[va, va + sizeBytes)` could be mapped with 4 KiB pages right now: a valid,
   * 4 KiB aligned range in one canonical half, outside reserved slots, with no page mapped.
   * @throws InvalidSizeError, InvalidAddressError, MisalignedAddressError, CanonicalHoleError,
   *   ReservedRegionError, PageAlreadyMappedError, ParentEntryHugePageError
   */
  assertMappable(address: LinearAddress, sizeBytes: number): void {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % PAGE_SIZE_4K !== 0) {
      throw new InvalidSizeError('sizeBytes', sizeBytes, 'must be a positive multiple of 4096');
    }
    const va = this.toVa(address);
    this.checkVaRange(va, sizeBytes, PAGE_SIZE_4K);
    try {
      this.validateFree(this.top, this.root, va, va + sizeBytes, 1);
    } finally {
      this.undoLen = 0; // markers validation noted: nothing follows to undo
      this.undoFloor = 0;
    }
  }

  /**
   * Writes NOT-present 4 KiB entries for `[va, va + pageCount * 4096)` that carry `flags` (P
   * forced to 0; typically OS-available bits marking a lazy, swapped-out or guard page) and an
   * address field of `pa + i * 4096` (e.g. a swap slot). The CPU ignores every bit of a
   * not-present entry (SDM 4.5), so such pages fault. Creates tables as needed; replaces earlier
   * markers; no TLB invalidation needed.
   * @returns true, or false when the allocator ran out (nothing changed)
   * @throws as {@link Mapper.mapPages} (a present page in the range is `E_ALREADY_MAPPED`)
   */
  markPages(address: LinearAddress, pageCount: number, flags: number, pa = 0): boolean {
    const f = this.checkFlags(flags) & ~P;
    const va = this.toVa(address);
    const end = this.checkPages(va, pageCount);
    this.checkPa(pa, end - va, PAGE_SIZE_4K, 1);
    const A = this.access;
    const ptSpan = this.geometry.span(2);
    try {
      if (!this.prepareRuns(this.single(va, end, 1), this.tableBitsFor(f))) return false;
      this.undoFloor = 0;
      let cur = va;
      while (cur < end) {
        const pt = this.tableFor(cur, 1);
        const chunkEnd = Math.min(end, cur - (cur % ptSpan) + ptSpan);
        let i = this.geometry.index(cur, 1);
        this.journal(1, cur, pt, i, ZERO_RUN, (chunkEnd - cur) / PAGE_SIZE_4K);
        for (; cur < chunkEnd; cur += PAGE_SIZE_4K, i++) {
          const p = pa + (cur - va);
          A.writeEntry(1, cur, pt, i, this.geometry.encodeLo(p, f & 0xfff, false), this.geometry.encodeHi(p, f & HIGH_FLAGS_MASK, this.maskHi));
        }
      }
    } catch (e) {
      this.abort();
      throw e;
    }
    this.finish();
    return true;
  }

  /**
   * The entry that decides `va`: its 4 KiB PTE (present or not — e.g. a marker written by
   * `markPages`) or its huge leaf. For a page-fault handler deciding what a fault means.
   * @returns the mapper's single reusable {@link LeafEntry}, or `null` when no page table
   *   reaches down to `va` (a table entry above the leaf is not present)
   * @throws InvalidAddressError if `va` is not an integer in [0, 2^48)
   */
  leafEntry(address: LinearAddress): LeafEntry | null {
    const va = this.pageOf(address);
    const offset = this.addressOffset;
    const A = this.access;
    const top = this.top;
    let table = this.root;
    for (let level = top; level >= 1; level--) {
      if (level === top && this.hasReserved && this.reserved[this.geometry.index(va, top)] === 1) return null;
      A.readEntry(level, va, table, this.geometry.index(va, level));
      const lo = A.lo;
      const hi = A.hi;
      const present = (lo & P) !== 0;
      const huge = present && this.isHuge(level, lo);
      if (level === 1 || huge) {
        const e = this.leaf;
        e.va = offset === 0 ? va : va < TWO_53 ? va + offset : NaN;
        e.level = level;
        e.lo = lo;
        e.hi = hi;
        e.present = present;
        e.flags = this.geometry.entryFlags(lo, hi, huge);
        e.pa = huge ? this.geometry.leafAddress(lo, hi, level, this.maskHi) : this.geometry.entryAddress(lo, hi, this.maskHi);
        return e;
      }
      if (!present) return null;
      table = this.geometry.entryAddress(lo, hi, this.maskHi);
    }
    return null;
  }

  /**
   * Seed 004's `Pagemap::LocatePage`: where the entry that maps `address` lives — the table's
   * physical address, the index, the level and the bytes it maps — for a kernel that reads or
   * writes that entry in place. The walk stops at the level of `options.pageSize` (the PTE by
   * default), or earlier at a huge leaf above it (that leaf decides the address; `huge` is set).
   * With `options.create`, each missing table on the way is made (zeroed, linked as `mapPages`
   * would link it); all or nothing. Writing the entry is the caller's part, TLB included: a
   * present entry changed needs INVLPG (SDM 4.10.4.1).
   * @returns the mapper's single reusable {@link PageLocation} (overwritten by the next call); or
   *   `null` when a table above the entry is missing and `create` is false, or the allocator ran
   *   out while creating (nothing changed)
   * @throws InvalidAddressError, CanonicalHoleError (not an address of the mode),
   *   ReservedRegionError (a reserved top-level slot), InvalidOptionError / PagingModeError (a
   *   page size the mode lacks), InvalidFlagsError, ParentEntryHugePageError (`create` below a huge
   *   page) — before any change; InvalidFrameError / a TableAccess exception — after undoing the call
   */
  locatePage(address: LinearAddress, options: LocateOptions = {}): PageLocation | null {
    checkOptionsObject(options);
    if (options.create !== undefined && typeof options.create !== 'boolean') throw new InvalidOptionError('create', options.create, 'must be a boolean');
    const va = this.pageOf(address);
    const level = options.pageSize === undefined ? 1 : this.leafLevelOf(options.pageSize);
    const f = options.flags === undefined ? RW_US : this.checkFlags(options.flags);
    const top = this.top;
    if (this.hasReserved && this.reserved[this.geometry.index(va, top)] === 1) throw new ReservedRegionError(va, this.geometry.index(va, top));
    return this.locateEntry(va, level, options.create === true, f);
  }

  /** True when `va` (linear) is mapped. @throws InvalidAddressError for a non-linear `va` */
  isMapped(address: LinearAddress): boolean {
    return this.translate(address) !== null;
  }

  /**
   * Every entry the MMU would read for `va`, decoded (for teaching); see {@link walkTables}.
   * @throws InvalidAddressError for a non-linear `va`
   */
  walk(address: LinearAddress): WalkStep[] {
    return walkTables(this.access, this.root, this.pageOf(address), this.maxPhysAddr, this.geometry);
  }

  /** Text of {@link Mapper.walk}, one line per level, the address in the mode's own form. */
  formatWalk(address: LinearAddress): string {
    const steps = this.walk(address);
    const page = this.pageOf(address);
    const offset = this.addressOffset;
    // A byte above 2^53 (5-level): print it exactly from the page's halves.
    const text = offset === 0 || page + offset < TWO_53 ? this.geometry.formatVa(page + offset) : formatVa57(Math.floor(page / 4294967296), (page % 4294967296) + offset);
    return formatWalk(page + (page < TWO_53 ? offset : 0), steps, this.geometry, text);
  }

  /**
   * The whole tree as sorted, coalesced ranges (reserved PML4 slots skipped); see {@link collectMappings}.
   */
  mappings(options: Omit<CollectMappingsOptions, 'maxPhysAddr' | 'skipPml4Slots' | 'geometry'> = {}): MappingRange[] {
    checkOptionsObject(options);
    const skip: number[] = [];
    for (let i = 0; i < this.reserved.length; i++) if (this.reserved[i] === 1) skip.push(i);
    return collectMappings(this.access, this.root, { ...options, maxPhysAddr: this.maxPhysAddr, skipPml4Slots: skip, geometry: this.geometry });
  }

  /** `mappings()` as text in the style of QEMU's `info mem`. */
  formatMappings(options: Omit<CollectMappingsOptions, 'maxPhysAddr' | 'skipPml4Slots' | 'geometry'> = {}): string {
    return formatMappings(this.mappings(options), this.geometry);
  }

  /**
   * Checks the tree: every table frame reachable exactly once (no sharing, no cycles, root never
   * reached again), no reserved bits in present entries (SDM 4.5), every table this mapper
   * allocated still reachable (none leaked), and the intermediate-entry policy holds.
   * @throws InvariantViolationError describing the first inconsistency
   */
  checkInvariants(): void {
    const seen = new Set<number>();
    const A = this.access;
    const g = this.geometry;
    const top = this.top;
    const visit = (level: number, table: number, base: number, pathRwUs: number): void => {
      const span = this.geometry.span(level);
      for (let i = 0, n = this.geometry.entryCount(level); i < n; i++) {
        if (level === top && this.reserved[i] === 1) continue;
        const va = base + i * span;
        A.readEntry(level, va, table, i);
        const lo = A.lo;
        const hi = A.hi;
        if ((lo & P) === 0) continue;
        const rsv = g.reservedBits(lo, hi, level, this.maskHi);
        if (rsv !== 0) throw new InvariantViolationError(`level ${level} entry ${i} of table ${formatPa(table)} (for ${g.formatVa(va)}) has reserved bits set (${rsv})`);
        const huge = this.isHuge(level, lo);
        if (level === 1 || huge) {
          if (this.tablePolicy === 'leaf' && (lo & RW_US & ~pathRwUs) !== 0) {
            throw new InvariantViolationError(`leaf for ${g.formatVa(va)} needs R/W,U/S ${lo & RW_US} but its tables grant ${pathRwUs}`);
          }
          continue;
        }
        const child = this.geometry.entryAddress(lo, hi, this.maskHi);
        if (child === this.root || seen.has(child)) throw new InvariantViolationError(`table ${formatPa(child)} is reachable twice (at ${g.formatVa(va)}, level ${level - 1})`);
        seen.add(child);
        const rights = lo | this.impliedRights[level]!;
        if (this.owned.has(child) && this.tablePolicy === 'permissive' && ((rights & RW_US) !== RW_US || (hi & NX_BIT) !== 0)) {
          throw new InvariantViolationError(`entry for table ${formatPa(child)} is not P|RW|US without NX under the permissive policy`);
        }
        visit(level - 1, child, va, pathRwUs & rights);
      }
    };
    visit(top, this.root, 0, RW_US);
    for (const f of this.owned) {
      if (!seen.has(f)) throw new InvariantViolationError(`table frame ${formatPa(f)} was allocated by the mapper but is not reachable (leaked)`);
    }
    for (const f of this.pinned) if (!this.owned.has(f)) throw new InvariantViolationError(`pinned table ${formatPa(f)} is not owned`);
    if (this.created.length !== 0 || this.splitPool.length !== 0 || this.undoLen !== 0 || this.savedLen !== 0 || this.toFree.length !== 0 || this.dataFrames.length !== 0) {
      throw new InvariantViolationError('scratch lists not empty between calls');
    }
  }

  // -------------------------------------------------------------------------------------------
  // Validation
  // -------------------------------------------------------------------------------------------

  private checkCount(pageCount: number, pageSize: number): number {
    if (!Number.isSafeInteger(pageCount) || pageCount <= 0) throw new InvalidSizeError('pageCount', pageCount);
    const sizeBytes = pageCount * pageSize;
    if (sizeBytes > this.linearLimit) throw new InvalidSizeError('pageCount', pageCount, 'larger than the address space');
    return sizeBytes;
  }

  private checkVaRange(va: number, sizeBytes: number, alignBytes: number): void {
    const g = this.geometry;
    const end = va + sizeBytes;
    const upper = this.upperHalfStart;
    // Fast path: a safe integer inside one half (what the geometry's checks accept).
    if (!(Number.isSafeInteger(va) && va >= 0 && end <= this.linearLimit && (va >= upper || end <= upper))) {
      g.assertLinear(va);
      if (va % alignBytes !== 0) throw new MisalignedAddressError('va', va, alignBytes);
      g.assertRange(va, sizeBytes);
    }
    // va is a safe integer here and alignBytes a power of two below 2^32: its low 32 bits decide
    // (`va % alignBytes` on a number above 2^31 is a call to fmod, most of a one-page map's checks).
    if (((va >>> 0) & (alignBytes - 1)) !== 0) throw new MisalignedAddressError('va', va, alignBytes);
    if (this.hasReserved) {
      const top = this.top;
      const last = g.index(va + sizeBytes - 1, top);
      for (let i = g.index(va, top); i <= last; i++) {
        if (this.reserved[i] === 1) throw new ReservedRegionError(Math.max(va, i * g.span(top)), i);
      }
    }
  }

  /** Checks `pageCount` 4 KiB pages at `va` (count, alignment, canonical half, reserved slots). @returns the end of the range */
  private checkPages(va: number, pageCount: number): number {
    const sizeBytes = this.checkCount(pageCount, PAGE_SIZE_4K);
    this.checkVaRange(va, sizeBytes, PAGE_SIZE_4K);
    return va + sizeBytes;
  }

  /** Throws unless `[pa, pa + sizeBytes)` is aligned and every byte fits a leaf of `leafLevel` in this mode. */
  private checkPa(pa: number, sizeBytes: number, alignBytes: number, leafLevel: number): void {
    if (!Number.isSafeInteger(pa) || pa < 0) throw new InvalidAddressError(show(pa), 'a physical address must be a non-negative safe integer');
    if (((pa >>> 0) & (alignBytes - 1)) !== 0) throw new MisalignedAddressError('pa', pa, alignBytes); // as for va (checkVaRange)
    const limit = this.leafPaLimit[leafLevel]!;
    if (pa + sizeBytes > limit) {
      // Below 2^MAXPHYADDR but beyond what this mode's entry can hold (2^32 in a 32-bit PTE,
      // PSE-36's reach in a 4 MiB PDE): the entry cannot encode it.
      if (limit < 2 ** this.maxPhysAddr) throw new UnencodableEntryError(pa, `a ${this.geometry.name} ${leafLevel === 1 ? '4 KiB' : 'huge'} leaf holds physical addresses below ${formatPa(limit)} only`);
      throw new PhysicalAddressRangeError(pa, sizeBytes, limit);
    }
  }

  /**
   * Level of the leaf that maps a page of `pageSize` bytes in this mode (1 for 4 KiB).
   * @throws InvalidOptionError for a size that is no page size of this mode
   */
  private leafLevelOf(pageSize: number): number {
    if (pageSize === PAGE_SIZE_4K) return 1;
    const g = this.geometry;
    for (let level = 2; level <= this.largestLeafLevel; level++) if (g.span(level) === pageSize) return level;
    // A page size of another mode: the operation needs that mode.
    if (pageSize === PAGE_SIZE_4M) throw new PagingModeError(g.mode, 'a 4 MiB page', '32-bit paging (CR4.PSE = 1)');
    if (pageSize === 2097152) throw new PagingModeError(g.mode, 'a 2 MiB page', 'PAE, 4-level or 5-level paging');
    if (pageSize === 1073741824) throw new PagingModeError(g.mode, 'a 1 GiB page', '4-level or 5-level paging');
    const sizes: string[] = [];
    for (let level = 1; level <= this.largestLeafLevel; level++) sizes.push(String(g.span(level)));
    throw new InvalidOptionError('pageSize', pageSize, `must be ${sizes.join(', ')} in ${g.name} paging`);
  }

  /**
   * The internal linear number of an API address: a number (a safe integer, checked later) as it
   * is; a bigint through the geometry (canonical 64-bit form in the long modes).
   * @throws InvalidAddressError for a number at or above 2^53 (it cannot hold an exact address) or
   *   a value that is no address; what `geometry.fromBigint` throws
   */
  private toVa(address: LinearAddress): number {
    if (typeof address === 'bigint') return this.geometry.fromBigint(address);
    if (typeof address !== 'number') throw new InvalidAddressError(show(address), 'an address is a number or a bigint');
    if (address >= TWO_53) throw new InvalidAddressError(show(address), 'numbers at or above 2^53 cannot hold an exact address; pass a bigint (the canonical 64-bit form)');
    return address;
  }

  /** Throws for a number that is no linear address of the mode (or is at or above 2^53). */
  private assertNumberVa(va: number): void {
    this.toVa(va);
    this.geometry.assertLinear(va);
  }

  /**
   * The page (4 KiB aligned, exact) of an API address, its byte offset left in `addressOffset`:
   * how translate / leafEntry / walk take any byte, even a 5-level one above 2^53.
   */
  private pageOf(address: LinearAddress): number {
    if (typeof address === 'number') {
      this.assertNumberVa(address);
      const offset = address % PAGE_SIZE_4K;
      this.addressOffset = offset;
      return address - offset;
    }
    if (typeof address !== 'bigint') throw new InvalidAddressError(show(address), 'an address is a number or a bigint');
    const offset = Number(address & 0xfffn);
    this.addressOffset = offset;
    return this.geometry.fromBigint(address - BigInt(offset));
  }

  /** `flags` checked as a flags word and against what this mode's entries can hold. */
  private checkFlags(flags: number): number {
    const f = checkFlagsWord(flags);
    if ((f & this.invalidFlags) !== 0) checkModeFlags(f, this.geometry);
    return f;
  }

  /**
   * Maps runs `[va, sizeBytes, leafLevel]*` (checked arguments, va + delta = pa) all or nothing:
   * validates every run, creates every table (rolled back on out of memory), then writes leaves.
   */
  private mapRuns(runs: readonly number[], delta: number, f: number): boolean {
    const tableBits = this.tableBitsFor(f);
    try {
      if (!this.prepareRuns(runs, tableBits)) return false;
      this.undoFloor = 0; // leaves are written from here on: markers noted while validating count
      for (let k = 0; k < runs.length; k += 3) {
        this.writeLeaves(this.top, this.root, runs[k]!, runs[k]! + runs[k + 1]!, runs[k + 2]!, delta, f);
        if (this.tablePolicy === 'leaf') this.widen(this.top, this.root, runs[k]!, runs[k]! + runs[k + 1]!, runs[k + 2]!, tableBits);
      }
    } catch (e) {
      this.abort();
      throw e;
    }
    this.finish();
    return true;
  }

  /**
   * First phases of every map: throws if a run `[va, sizeBytes, leafLevel]` would overlap a
   * present page or needs a table where a huge page is (noting, in the undo log below
   * `undoFloor`, the not-present 4 KiB entries with OS bits the runs will overwrite), then
   * creates every table the runs need. The caller wraps it in its try/catch → `abort`.
   * @returns true with the new tables still listed in `created` (the caller clears it once it
   *   cannot fail), or false when the allocator ran out (every table created here rolled back)
   */
  private prepareRuns(runs: readonly number[], tableBits: number): boolean {
    for (let k = 0; k < runs.length; k += 3) this.validateFree(this.top, this.root, runs[k]!, runs[k]! + runs[k + 1]!, runs[k + 2]!);
    for (let k = 0; k < runs.length; k += 3) {
      // Leaves in the root itself (32-bit paging's 4 MiB PDEs) need no table.
      if (runs[k + 2]! < this.top && !this.ensureTables(this.top, this.root, runs[k]!, runs[k]! + runs[k + 1]!, runs[k + 2]!, tableBits)) {
        this.abort();
        return false;
      }
    }
    return true;
  }

  /** `oneRun` set to `[va, end - va, leafLevel]`. */
  private single(va: number, end: number, leafLevel: number): readonly number[] {
    const run = this.oneRun;
    run[0] = va;
    run[1] = end - va;
    run[2] = leafLevel;
    return run;
  }

  /**
   * One 4 KiB page (a page-fault handler's common case) in a single walk. Checks happen on the
   * way down, but only before the first table is created: below a new (zeroed) table nothing can
   * be present. Once creating, the allocator may run out (then rolled back, false) and the
   * TableAccess may throw (then rolled back and rethrown); the leaf's old value is kept in locals,
   * not in the undo log, so the common path writes nothing extra.
   */
  private mapOne4K(va: number, pa: number, f: number): boolean {
    const A = this.access;
    const g = this.geometry;
    const maskHi = this.maskHi;
    const tableBits = this.tableBitsFor(f);
    const i = g.index(va, 1);
    let table = this.root;
    let leafTable = -1; // set once the leaf is about to be written
    let oldLo = 0;
    let oldHi = 0;
    try {
      for (let level = this.top; level > 1; level--) {
        const ti = g.index(va, level);
        A.readEntry(level, va, table, ti);
        const lo = A.lo;
        if ((lo & P) === 0) {
          // newTable's steps, written out: a call here cost the one-page path ~20 % (bench/mapper).
          const frame = this.allocator.allocFrame();
          if (frame === null) {
            this.abort();
            return false;
          }
          checkFrame(frame, this.paLimit);
          this.created.push(frame, level, va, table, ti, lo, A.hi);
          this.owned.add(frame);
          A.writeEntry(level, va, table, ti, g.encodeLo(frame, tableBits & g.tableFlagsMask(level), false), g.encodeHi(frame, 0, maskHi));
          A.zeroTable(level - 1, va, frame);
          table = frame;
        } else {
          if ((lo & PTE.HugePage) !== 0 && ((this.hugeLevels >>> level) & 1) !== 0) throw new ParentEntryHugePageError(va, level);
          table = g.entryAddress(lo, A.hi, maskHi);
        }
      }
      A.readEntry(1, va, table, i);
      if ((A.lo & P) !== 0) throw new PageAlreadyMappedError(va, g.entryAddress(A.lo, A.hi, maskHi));
      oldLo = A.lo;
      oldHi = A.hi;
      leafTable = table;
      A.writeEntry(1, va, table, i, g.encodeLo(pa, (f & 0xfff) | P, false), g.encodeHi(pa, f & HIGH_FLAGS_MASK, maskHi));
      if (this.tablePolicy === 'leaf') this.widen(this.top, this.root, va, va + PAGE_SIZE_4K, 1, tableBits);
    } catch (e) {
      this.replayUndo(); // widen's writes (newest)
      if (leafTable >= 0) this.restoreEntry(1, va, leafTable, i, oldLo, oldHi, true);
      this.abort();
      throw e;
    }
    if (this.created.length !== 0) this.created.length = 0; // the length setter is a builtin call
    this.undoLen = 0;
    return true;
  }
}
