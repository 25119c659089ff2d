// The Mapper: builds, changes and reads a 4-level page-table tree held in emulated physical
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
import {
  InvalidAddressError,
  InvalidFrameError,
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
  formatVa,
  type FrameAllocator,
  type PhysicalMemory,
  type TlbInvalidator,
} from './api';
import {
  LINEAR_LIMIT,
  PAGE_SIZE_1G,
  PAGE_SIZE_2M,
  PAGE_SIZE_4K,
  PML4_ENTRY_SPAN,
  assertLinear,
  assertRangeInOneHalf,
  levelSpan,
  pml4Index,
  tableIndex,
} from './address';
import {
  DEFAULT_MAX_PHYS_ADDR,
  HIGH_FLAGS_MASK,
  PTE,
  checkFlagsWord,
  addressMaskHi,
  encodeHi,
  encodeLo,
  entryAddress,
  entryFlags,
  leafAddress,
  reservedBits,
} from './entry';
import type { TableAccess } from './table-access';
import { collectMappings, formatMappings, formatWalk, walkTables, type CollectMappingsOptions, type MappingRange, type WalkStep } from './walk';

const TWO_32 = 4294967296;
const P = PTE.Present;
const PS = PTE.HugePage;
const RW_US = PTE.Writable | PTE.User;
const AD = PTE.Accessed | PTE.Dirty;
const NX_BIT = 0x8000_0000 | 0;
/** Numbers per undo-log record, and the two record kinds that are not a plain entry. */
const UNDO_RECORD = 6;
const ZERO_RUN = -1;
const SAVED_RUN = -2;
/** Scratch buffers grown beyond this many elements are dropped after the call. */
const SCRATCH_KEEP = 1 << 16;

/** Page sizes of 4-level paging, in bytes. */
export const PageSize = {
  /** 4 KiB, mapped by a PTE. */
  Size4K: PAGE_SIZE_4K,
  /** 2 MiB, mapped by a PDE with PS = 1. */
  Size2M: PAGE_SIZE_2M,
  /** 1 GiB, mapped by a PDPTE with PS = 1. */
  Size1G: PAGE_SIZE_1G,
} as const;
/** 4096 | 2097152 | 1073741824. */
export type PageSize = (typeof PageSize)[keyof typeof PageSize];

/** How intermediate (table-pointer) entries get their R/W and U/S bits; see the file header. */
export type TablePolicy = 'permissive' | 'leaf';

/** Options of {@link Mapper}. */
export interface MapperOptions {
  /** How the mapper reaches table entries (strategy (a) PhysicalTableAccess, or B's (b)-(d)). */
  readonly access: TableAccess;
  /** Where new page-table frames (and `mapAllocated`'s data frames) come from. */
  readonly allocator: FrameAllocator;
  /** Physical frame of the PML4 (the CR3 address). It must already be a valid table (zeroed or populated). */
  readonly root: number;
  /** Physical address width in bits, 32..52 (default 52). Addresses beyond it are rejected. */
  readonly maxPhysAddr?: number;
  /** Told about every changed or removed present leaf (`invlpg(va)`), e.g. a TLB or a Cpu. */
  readonly tlb?: TlbInvalidator;
  /** Intermediate-entry policy (default 'permissive'). */
  readonly tablePolicy?: TablePolicy;
  /** PML4 slots the mapper must never map in, walk or free (e.g. a recursive slot). */
  readonly reservedPml4Slots?: readonly number[];
  /**
   * If given, `mapAllocated` zeroes each data frame it maps (no stale data leaks to a new owner),
   * and a call undoing itself after a TableAccess exception writes an entry back here, physically,
   * when the TableAccess faults on the undo too.
   */
  readonly memory?: PhysicalMemory;
}

/** Options of {@link Mapper.create}: as {@link MapperOptions} but the root is allocated. */
export type MapperCreateOptions = Omit<MapperOptions, 'root'>;

/**
 * Result of {@link Mapper.leafEntry}: the entry that decides `va`, present or not. ONE object per
 * mapper, overwritten by the next call.
 */
export interface LeafEntry {
  /** The linear address looked up. */
  va: number;
  /** Level of the entry: 1 (PTE), or 2 / 3 for a huge leaf. */
  level: number;
  /** Raw low and high halves (u32). */
  lo: number;
  hi: number;
  /** P bit. */
  present: boolean;
  /** Flags word of the entry (bit 12 read as PAT for a huge leaf). */
  flags: number;
  /** Address field: the page (present) or whatever the OS stored there (not present). */
  pa: number;
}

/** Options of {@link Mapper.mapPages}. */
export interface MapOptions {
  /** Size of each page: 4 KiB (default), 2 MiB or 1 GiB. `va` and `pa` must be aligned to it. */
  readonly pageSize?: PageSize;
}

/** Options of {@link Mapper.mapRange}. */
export interface MapRangeOptions {
  /** Largest page size to use (default 1 GiB). */
  readonly maxPageSize?: PageSize;
}

/** Options of {@link Mapper.unmapPages}. */
export interface UnmapOptions {
  /**
   * Free page tables (allocated by this mapper) that the unmapping leaves with all 512 entries
   * zero, and clear their parent entries. Default true.
   */
  readonly freeTables?: boolean;
}

/** A run of pages an `unmapPages` call removed: free `[pa, pa + sizeBytes)` if you own it. */
export interface UnmappedRange {
  /** Linear address of the first page. */
  readonly va: number;
  /** Physical address the first page mapped; the run's frames are contiguous. */
  readonly pa: number;
  /** Bytes of the run (a multiple of `pageSizeBytes`). */
  readonly sizeBytes: number;
  /** Leaf flags word as stored (including A, D, PS for huge pages, OS bits); equal for the run. */
  readonly flags: number;
  /** 4096, 2 MiB or 1 GiB (after any split). */
  readonly pageSizeBytes: number;
}

/** Result of {@link Mapper.translate}: ONE object per mapper, overwritten by the next call. */
export interface Translation {
  /** The linear address translated. */
  va: number;
  /** Physical address of that byte. */
  pa: number;
  /** Size of the page it lies in: 4096, 2 MiB or 1 GiB. */
  pageSizeBytes: number;
  /** Level of the leaf entry: 1 (PT), 2 (PD) or 3 (PDPT). */
  level: number;
  /** Effective flags: leaf flags with R/W, U/S ANDed and NX ORed over all levels (SDM 4.6). */
  flags: number;
}

interface MutableUnmapped {
  va: number;
  pa: number;
  sizeBytes: number;
  flags: number;
  pageSizeBytes: number;
}

function leafLevelOf(pageSize: number): number {
  if (pageSize === PAGE_SIZE_4K) return 1;
  if (pageSize === PAGE_SIZE_2M) return 2;
  if (pageSize === PAGE_SIZE_1G) return 3;
  throw new InvalidOptionError('pageSize', pageSize, 'must be 4096, 2097152 (2 MiB) or 1073741824 (1 GiB)');
}

/**
 * Throws for a bad `maxPhysAddr`, `tablePolicy` or reserved slot — what `Mapper.create` checks
 * before it takes a frame for the root.
 */
function checkOptions(options: MapperCreateOptions): void {
  addressMaskHi(options.maxPhysAddr ?? DEFAULT_MAX_PHYS_ADDR);
  const policy = options.tablePolicy ?? 'permissive';
  if (policy !== 'permissive' && policy !== 'leaf') throw new InvalidOptionError('tablePolicy', policy, "must be 'permissive' or 'leaf'");
  for (const slot of options.reservedPml4Slots ?? []) {
    if (!Number.isInteger(slot) || slot < 0 || slot > 511) throw new InvalidOptionError('reservedPml4Slots', slot, 'slots are integers 0..511');
  }
}

/**
 * Throws InvalidFrameError unless `frame` (from a FrameAllocator) is a 4 KiB-aligned address
 * below `paLimit` = 2^MAXPHYADDR, which an entry's address field can hold (SDM 4.5). A NaN or a
 * fraction fails the alignment test.
 */
function checkFrame(frame: number, paLimit: number): void {
  if (frame % PAGE_SIZE_4K !== 0 || !(frame >= 0 && frame < paLimit)) throw new InvalidFrameError(frame, paLimit);
}

/** Address bits of a leaf's low half at `level` (bit 12 of a huge leaf is PAT). */
function leafLoAddrMask(level: number): number {
  return level === 1 ? 0xffff_f000 : level === 2 ? 0xffe0_0000 : 0xc000_0000;
}

/**
 * Maps, unmaps, re-protects and reads virtual memory in one 4-level page-table tree.
 * All addresses are linear (`virt()` converts canonical ones); counts are in pages.
 * Every mutating call is all or nothing: misuse throws before any change; running out of frames
 * returns false / null with nothing changed; and an exception part-way — the TableAccess throwing
 * (strategies (b)-(d): `TableAccessFaultError`) or an unusable frame from the allocator
 * (`InvalidFrameError`) — is rethrown after the call has undone everything it did.
 * Host memory: tables live in emulated memory only; the mapper keeps one Set entry per table it
 * allocated, never anything per mapping (a call's undo log lives only while the call runs).
 */
export class Mapper {
  /** Physical frame of the PML4 (what CR3 points at). */
  readonly root: number;
  /** The strategy through which every table entry is read and written. */
  readonly access: TableAccess;
  /** Source of table frames and `mapAllocated`'s data frames. */
  readonly allocator: FrameAllocator;
  /** Physical address width, 32..52. */
  readonly maxPhysAddr: number;
  /** Intermediate-entry policy. */
  readonly tablePolicy: TablePolicy;
  /** Told about every present leaf changed or removed; may be set after construction. */
  tlb: TlbInvalidator | null;

  private readonly maskHi: number;
  private readonly paLimit: number;
  private readonly reserved = new Uint8Array(512);
  private readonly hasReserved: boolean;
  private readonly memory: PhysicalMemory | null;
  private ownsRoot = false;
  /** Table frames this mapper allocated (excluding the root). */
  private readonly owned = new Set<number>();
  /** Owned PDPTs made by `preallocatePml4Slots`: never freed when they become empty. */
  private readonly pinned = new Set<number>();
  private destroyed = false;
  /**
   * Tables created by the current call (new or split): [frame, level of parent, va, parent frame,
   * parent index, parent entry's old lo, old hi]*.
   */
  private readonly created: number[] = [];
  private readonly splitPool: number[] = [];
  /**
   * Undo log of the current call, UNDO_RECORD numbers a record, replayed newest first by `abort`:
   * [level, va, table, index, lo, hi] puts an entry back (lo ≥ 0); lo = ZERO_RUN zeroes `hi`
   * entries from `index` on; lo = SAVED_RUN puts back the entries whose old values `saved` holds
   * from offset `hi` (up to the next newer run's offset).
   */
  private undo = new Float64Array(UNDO_RECORD * 32);
  private undoLen = 0;
  /** Records below this index (markers noted while validating) are replayed only once leaves are written. */
  private undoFloor = 0;
  /** Old [lo, hi] of the level-1 entries a SAVED_RUN covers. */
  private saved = new Uint32Array(2 * 512);
  private savedLen = 0;
  /** Table frames to give back once the current call cannot fail any more. */
  private readonly toFree: number[] = [];
  /** Data frames `mapAllocated` took in the current call. */
  private readonly dataFrames: number[] = [];
  /** The single run `[va, sizeBytes, leafLevel]` a multi-page `mapPages` hands to `mapRuns` (no array per call). */
  private readonly oneRun: number[] = [0, 0, 1];
  private readonly result: Translation = { va: 0, pa: 0, pageSizeBytes: 0, level: 0, flags: 0 };
  private readonly leaf: LeafEntry = { va: 0, level: 0, lo: 0, hi: 0, present: false, flags: 0, pa: 0 };
  // findLeaf() results
  private fLevel = 0;
  private fEntryStart = 0;
  private fTable = 0;
  private fIndex = 0;
  private scratchPa = 0;

  /**
   * @throws InvalidOptionError for a bad `maxPhysAddr`, `tablePolicy` or reserved slot
   * @throws MisalignedAddressError if `root` is not 4 KiB aligned
   */
  constructor(options: MapperOptions) {
    checkOptions(options);
    this.access = options.access;
    this.allocator = options.allocator;
    this.maxPhysAddr = options.maxPhysAddr ?? DEFAULT_MAX_PHYS_ADDR;
    this.maskHi = addressMaskHi(this.maxPhysAddr);
    this.paLimit = 2 ** this.maxPhysAddr;
    this.tablePolicy = options.tablePolicy ?? 'permissive';
    if (!Number.isSafeInteger(options.root) || options.root < 0 || options.root >= this.paLimit) {
      throw new InvalidAddressError(String(options.root), 'root must be a physical frame address below 2^MAXPHYADDR');
    }
    if (options.root % PAGE_SIZE_4K !== 0) throw new MisalignedAddressError('pa', options.root, PAGE_SIZE_4K);
    this.root = options.root;
    this.tlb = options.tlb ?? null;
    this.memory = options.memory ?? null;
    for (const slot of options.reservedPml4Slots ?? []) this.reserved[slot] = 1;
    this.hasReserved = (options.reservedPml4Slots ?? []).length > 0;
  }

  /**
   * A mapper over a fresh, zeroed PML4 taken from `options.allocator` (the mapper owns it).
   * Options are checked before the frame is taken; if zeroing the PML4 throws (a faulting
   * TableAccess), the frame is given back and the error rethrown.
   * @returns the mapper, or `null` if the allocator had no frame for the PML4
   * @throws InvalidOptionError for bad options; InvalidFrameError for an unusable frame (not freed)
   */
  static create(options: MapperCreateOptions): Mapper | null {
    checkOptions(options);
    const root = options.allocator.allocFrame();
    if (root === null) return null;
    checkFrame(root, 2 ** (options.maxPhysAddr ?? DEFAULT_MAX_PHYS_ADDR));
    const m = new Mapper({ ...options, root });
    try {
      m.access.zeroTable(4, 0, root);
    } catch (e) {
      options.allocator.freeFrame(root);
      throw e;
    }
    m.ownsRoot = true;
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
    const bits = P | RW_US;
    const existing: number[] = []; // owned PDPTs already there: pinned once nothing can fail
    try {
      for (let i = firstSlot; i < firstSlot + slotCount; i++) {
        const va = i * PML4_ENTRY_SPAN;
        A.readEntry(4, va, this.root, i);
        if ((A.lo & P) !== 0) {
          const child = entryAddress(A.lo, A.hi, this.maskHi);
          if (this.owned.has(child)) existing.push(child);
          continue;
        }
        const frame = this.allocator.allocFrame();
        if (frame === null) {
          this.abort();
          return false;
        }
        checkFrame(frame, this.paLimit);
        this.created.push(frame, 4, va, this.root, i, A.lo, A.hi);
        this.owned.add(frame);
        this.pinned.add(frame);
        A.writeEntry(4, va, this.root, i, encodeLo(frame, bits), encodeHi(frame, 0, this.maskHi));
        A.zeroTable(3, va, frame);
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
    for (let i = firstSlot; i < firstSlot + slotCount; i++) {
      const va = i * PML4_ENTRY_SPAN;
      S.readEntry(4, va, source.root, i);
      if ((S.lo & P) === 0) throw new NotMappedError(va);
      A.readEntry(4, va, this.root, i);
      if ((A.lo | A.hi) !== 0) throw new PageAlreadyMappedError(va, entryAddress(A.lo, A.hi, this.maskHi));
    }
    try {
      for (let i = firstSlot; i < firstSlot + slotCount; i++) {
        const va = i * PML4_ENTRY_SPAN;
        S.readEntry(4, va, source.root, i);
        this.journal(4, va, this.root, i, 0, 0); // checked above: the slot was all zero
        A.writeEntry(4, va, this.root, i, S.lo, S.hi);
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
    if (!Number.isInteger(firstSlot) || firstSlot < 0 || firstSlot > 511) throw new InvalidSizeError('firstSlot', firstSlot, 'a PML4 slot is an integer in 0..511');
    if (!Number.isInteger(slotCount) || slotCount <= 0 || firstSlot + slotCount > 512) throw new InvalidSizeError('slotCount', slotCount, 'slots must stay within 0..511');
    for (let i = firstSlot; i < firstSlot + slotCount; i++) if (this.reserved[i] === 1) throw new ReservedRegionError(i * PML4_ENTRY_SPAN, i);
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
  mapPages(va: number, pa: number, pageCount: number, flags: number, options: MapOptions = {}): boolean {
    const pageSize = options.pageSize ?? PAGE_SIZE_4K;
    const leafLevel = leafLevelOf(pageSize);
    const f = checkFlagsWord(flags);
    const sizeBytes = this.checkCount(pageCount, pageSize);
    this.checkVaRange(va, sizeBytes, pageSize);
    this.checkPa(pa, sizeBytes, pageSize);
    if (pageCount === 1 && leafLevel === 1) return this.mapOne4K(va, pa, f);
    return this.mapRuns(this.single(va, va + sizeBytes, leafLevel), pa - va, f);
  }

  /**
   * Maps `[va, va + sizeBytes)` to `[pa, pa + sizeBytes)` with the largest pages alignment allows
   * (1 GiB, then 2 MiB, then 4 KiB at unaligned edges), up to `options.maxPageSize`. All or nothing.
   * @returns true, or false when the allocator ran out (nothing changed)
   * @throws as {@link Mapper.mapPages}; InvalidSizeError unless `sizeBytes` is a positive multiple of 4096
   */
  mapRange(va: number, pa: number, sizeBytes: number, flags: number, options: MapRangeOptions = {}): boolean {
    const maxPage = options.maxPageSize ?? PAGE_SIZE_1G;
    leafLevelOf(maxPage);
    const f = checkFlagsWord(flags);
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % PAGE_SIZE_4K !== 0) {
      throw new InvalidSizeError('sizeBytes', sizeBytes, 'must be a positive multiple of 4096');
    }
    this.checkVaRange(va, sizeBytes, PAGE_SIZE_4K);
    this.checkPa(pa, sizeBytes, PAGE_SIZE_4K);
    // Decompose into runs of one page size: [va, sizeBytes, leafLevel]*.
    const runs: number[] = [];
    let cur = va;
    let rem = sizeBytes;
    while (rem > 0) {
      const p = pa + (cur - va);
      let size = PAGE_SIZE_4K;
      if (maxPage >= PAGE_SIZE_1G && cur % PAGE_SIZE_1G === 0 && p % PAGE_SIZE_1G === 0 && rem >= PAGE_SIZE_1G) size = PAGE_SIZE_1G;
      else if (maxPage >= PAGE_SIZE_2M && cur % PAGE_SIZE_2M === 0 && p % PAGE_SIZE_2M === 0 && rem >= PAGE_SIZE_2M) size = PAGE_SIZE_2M;
      let n = Math.floor(rem / size);
      // Stop a run at the next boundary where a bigger page becomes possible.
      const bigger = size === PAGE_SIZE_4K ? PAGE_SIZE_2M : size === PAGE_SIZE_2M ? PAGE_SIZE_1G : 0;
      if (bigger !== 0 && maxPage >= bigger && (cur - p) % bigger === 0) {
        n = Math.min(n, (bigger - (cur % bigger)) / size);
      }
      runs.push(cur, n * size, leafLevelOf(size));
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
  mapAllocated(va: number, pageCount: number, flags: number): boolean {
    const f = checkFlagsWord(flags);
    const end = this.checkPages(va, pageCount);
    const tableBits = this.tableBitsFor(f);
    const A = this.access;
    const loFlags = (f & 0xfff) | P;
    const hiFlags = f & HIGH_FLAGS_MASK;
    try {
      if (!this.prepareRuns(this.single(va, end, 1), tableBits)) return false;
      this.undoFloor = 0; // leaves are written from here on: markers noted while validating count
      let cur = va;
      while (cur < end) {
        const pt = this.tableFor(cur, 1);
        const chunkEnd = Math.min(end, cur - (cur % PAGE_SIZE_2M) + PAGE_SIZE_2M);
        let i = (cur >>> 12) & 511;
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
          A.writeEntry(1, cur, pt, i, encodeLo(frame, loFlags), encodeHi(frame, hiFlags, this.maskHi));
        }
      }
      if (this.tablePolicy === 'leaf') this.widen(4, this.root, va, end, 1, tableBits);
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
  unmapPages(va: number, pageCount: number, options: UnmapOptions = {}): UnmappedRange[] | null {
    const end = this.checkPages(va, pageCount);
    const out: MutableUnmapped[] = [];
    try {
      if (!this.splitEdges(va, end)) return null;
      this.clearRange(4, this.root, va, end, out, options.freeTables ?? true);
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
  updateFlags(va: number, pageCount: number, flags: number): boolean {
    const f = checkFlagsWord(flags);
    const end = this.checkPages(va, pageCount);
    this.checkAllMapped(4, this.root, va, end);
    try {
      if (!this.splitEdges(va, end)) return false;
      this.rewriteFlags(4, this.root, va, end, f);
      if (this.tablePolicy === 'leaf') this.widen(4, this.root, va, end, 1, this.tableBitsFor(f));
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
  translate(va: number): Translation | null {
    if (!(va >= 0 && va < LINEAR_LIMIT) || va !== Math.floor(va)) assertLinear(va);
    const A = this.access;
    let table = this.root;
    let andRwUs = RW_US;
    let orNx = 0;
    for (let level = 4; level >= 1; level--) {
      if (level === 4 && this.hasReserved && this.reserved[pml4Index(va)] === 1) return null;
      A.readEntry(level, va, table, tableIndex(va, level));
      const lo = A.lo;
      const hi = A.hi;
      if ((lo & P) === 0) return null;
      andRwUs &= lo;
      orNx |= hi & NX_BIT;
      const huge = level === 2 || level === 3 ? (lo & PS) !== 0 : false;
      if (level === 1 || huge) {
        const span = levelSpan(level);
        const r = this.result;
        r.va = va;
        r.pa = leafAddress(lo, hi, level, this.maskHi) + (va % span);
        r.pageSizeBytes = span;
        r.level = level;
        r.flags = (entryFlags(lo, hi, huge) & ~(RW_US | NX_BIT)) | andRwUs | orNx;
        return r;
      }
      table = entryAddress(lo, hi, this.maskHi);
    }
    return null;
  }

  /**
   * Throws unless `[va, va + sizeBytes)` could be mapped with 4 KiB pages right now: a valid,
   * 4 KiB aligned range in one canonical half, outside reserved slots, with no page mapped.
   * @throws InvalidSizeError, InvalidAddressError, MisalignedAddressError, CanonicalHoleError,
   *   ReservedRegionError, PageAlreadyMappedError, ParentEntryHugePageError
   */
  assertMappable(va: number, sizeBytes: number): void {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % PAGE_SIZE_4K !== 0) {
      throw new InvalidSizeError('sizeBytes', sizeBytes, 'must be a positive multiple of 4096');
    }
    this.checkVaRange(va, sizeBytes, PAGE_SIZE_4K);
    try {
      this.validateFree(4, this.root, va, va + sizeBytes, 1);
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
  markPages(va: number, pageCount: number, flags: number, pa = 0): boolean {
    const f = checkFlagsWord(flags) & ~P;
    const end = this.checkPages(va, pageCount);
    this.checkPa(pa, end - va, PAGE_SIZE_4K);
    const A = this.access;
    try {
      if (!this.prepareRuns(this.single(va, end, 1), this.tableBitsFor(f))) return false;
      this.undoFloor = 0;
      let cur = va;
      while (cur < end) {
        const pt = this.tableFor(cur, 1);
        const chunkEnd = Math.min(end, cur - (cur % PAGE_SIZE_2M) + PAGE_SIZE_2M);
        let i = (cur >>> 12) & 511;
        this.journal(1, cur, pt, i, ZERO_RUN, (chunkEnd - cur) / PAGE_SIZE_4K);
        for (; cur < chunkEnd; cur += PAGE_SIZE_4K, i++) {
          const p = pa + (cur - va);
          A.writeEntry(1, cur, pt, i, encodeLo(p, f & 0xfff), encodeHi(p, f & HIGH_FLAGS_MASK, this.maskHi));
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
  leafEntry(va: number): LeafEntry | null {
    assertLinear(va);
    const A = this.access;
    let table = this.root;
    for (let level = 4; level >= 1; level--) {
      if (level === 4 && this.hasReserved && this.reserved[pml4Index(va)] === 1) return null;
      A.readEntry(level, va, table, tableIndex(va, level));
      const lo = A.lo;
      const hi = A.hi;
      const present = (lo & P) !== 0;
      const huge = present && (level === 2 || level === 3) && (lo & PS) !== 0;
      if (level === 1 || huge) {
        const e = this.leaf;
        e.va = va;
        e.level = level;
        e.lo = lo;
        e.hi = hi;
        e.present = present;
        e.flags = entryFlags(lo, hi, huge);
        e.pa = huge ? leafAddress(lo, hi, level, this.maskHi) : entryAddress(lo, hi, this.maskHi);
        return e;
      }
      if (!present) return null;
      table = entryAddress(lo, hi, this.maskHi);
    }
    return null;
  }

  /** True when `va` (linear) is mapped. @throws InvalidAddressError for a non-linear `va` */
  isMapped(va: number): boolean {
    return this.translate(va) !== null;
  }

  /**
   * Every entry the MMU would read for `va`, decoded (for teaching); see {@link walkTables}.
   * @throws InvalidAddressError for a non-linear `va`
   */
  walk(va: number): WalkStep[] {
    assertLinear(va);
    return walkTables(this.access, this.root, va, this.maxPhysAddr);
  }

  /** Text of {@link Mapper.walk}, one line per level. */
  formatWalk(va: number): string {
    return formatWalk(va, this.walk(va));
  }

  /**
   * The whole tree as sorted, coalesced ranges (reserved PML4 slots skipped); see {@link collectMappings}.
   */
  mappings(options: Omit<CollectMappingsOptions, 'maxPhysAddr' | 'skipPml4Slots'> = {}): MappingRange[] {
    const skip: number[] = [];
    for (let i = 0; i < 512; i++) if (this.reserved[i] === 1) skip.push(i);
    return collectMappings(this.access, this.root, { ...options, maxPhysAddr: this.maxPhysAddr, skipPml4Slots: skip });
  }

  /** `mappings()` as text in the style of QEMU's `info mem`. */
  formatMappings(options: Omit<CollectMappingsOptions, 'maxPhysAddr' | 'skipPml4Slots'> = {}): string {
    return formatMappings(this.mappings(options));
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
    const visit = (level: number, table: number, base: number, pathRwUs: number): void => {
      const span = levelSpan(level);
      for (let i = 0; i < 512; i++) {
        if (level === 4 && this.reserved[i] === 1) continue;
        const va = base + i * span;
        A.readEntry(level, va, table, i);
        const lo = A.lo;
        const hi = A.hi;
        if ((lo & P) === 0) continue;
        const rsv = reservedBits(lo, hi, level, this.maskHi, true);
        if (rsv !== 0) throw new InvariantViolationError(`level ${level} entry ${i} of table ${formatPa(table)} (for ${formatVa(va)}) has reserved bits set (${rsv})`);
        const huge = (level === 2 || level === 3) && (lo & PS) !== 0;
        if (level === 1 || huge) {
          if (this.tablePolicy === 'leaf' && (lo & RW_US & ~pathRwUs) !== 0) {
            throw new InvariantViolationError(`leaf for ${formatVa(va)} needs R/W,U/S ${lo & RW_US} but its tables grant ${pathRwUs}`);
          }
          continue;
        }
        const child = entryAddress(lo, hi, this.maskHi);
        if (child === this.root || seen.has(child)) throw new InvariantViolationError(`table ${formatPa(child)} is reachable twice (at ${formatVa(va)}, level ${level - 1})`);
        seen.add(child);
        if (this.owned.has(child) && this.tablePolicy === 'permissive' && ((lo & RW_US) !== RW_US || (hi & NX_BIT) !== 0)) {
          throw new InvariantViolationError(`entry for table ${formatPa(child)} is not P|RW|US without NX under the permissive policy`);
        }
        visit(level - 1, child, va, pathRwUs & lo);
      }
    };
    visit(4, this.root, 0, RW_US);
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
    if (sizeBytes > LINEAR_LIMIT) throw new InvalidSizeError('pageCount', pageCount, 'larger than the address space');
    return sizeBytes;
  }

  private checkVaRange(va: number, sizeBytes: number, alignBytes: number): void {
    assertLinear(va);
    if (va % alignBytes !== 0) throw new MisalignedAddressError('va', va, alignBytes);
    assertRangeInOneHalf(va, sizeBytes);
    if (this.hasReserved) {
      const last = pml4Index(va + sizeBytes - 1);
      for (let i = pml4Index(va); i <= last; i++) {
        if (this.reserved[i] === 1) throw new ReservedRegionError(Math.max(va, i * PML4_ENTRY_SPAN), i);
      }
    }
  }

  /** Checks `pageCount` 4 KiB pages at `va` (count, alignment, canonical half, reserved slots). @returns the end of the range */
  private checkPages(va: number, pageCount: number): number {
    const sizeBytes = this.checkCount(pageCount, PAGE_SIZE_4K);
    this.checkVaRange(va, sizeBytes, PAGE_SIZE_4K);
    return va + sizeBytes;
  }

  private checkPa(pa: number, sizeBytes: number, alignBytes: number): void {
    if (!Number.isSafeInteger(pa) || pa < 0) throw new InvalidAddressError(String(pa), 'a physical address must be a non-negative safe integer');
    if (pa % alignBytes !== 0) throw new MisalignedAddressError('pa', pa, alignBytes);
    if (pa + sizeBytes > this.paLimit) throw new PhysicalAddressRangeError(pa, sizeBytes, this.paLimit);
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
        this.writeLeaves(4, this.root, runs[k]!, runs[k]! + runs[k + 1]!, runs[k + 2]!, delta, f);
        if (this.tablePolicy === 'leaf') this.widen(4, this.root, runs[k]!, runs[k]! + runs[k + 1]!, runs[k + 2]!, tableBits);
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
    for (let k = 0; k < runs.length; k += 3) this.validateFree(4, this.root, runs[k]!, runs[k]! + runs[k + 1]!, runs[k + 2]!);
    for (let k = 0; k < runs.length; k += 3) {
      if (!this.ensureTables(4, this.root, runs[k]!, runs[k]! + runs[k + 1]!, runs[k + 2]!, tableBits)) {
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

  /** R/W and U/S bits (plus P) an intermediate entry gets for a leaf with flags `f`. */
  private tableBitsFor(f: number): number {
    return this.tablePolicy === 'permissive' ? P | RW_US : P | (f & RW_US);
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
    const tableBits = this.tableBitsFor(f);
    const i = (va >>> 12) & 511;
    let table = this.root;
    let leafTable = -1; // set once the leaf is about to be written
    let oldLo = 0;
    let oldHi = 0;
    try {
      for (let level = 4; level > 1; level--) {
        const ti = tableIndex(va, level);
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
          A.writeEntry(level, va, table, ti, encodeLo(frame, tableBits), encodeHi(frame, 0, this.maskHi));
          A.zeroTable(level - 1, va, frame);
          table = frame;
        } else {
          if (level !== 4 && (lo & PS) !== 0) throw new ParentEntryHugePageError(va, level);
          table = entryAddress(lo, A.hi, this.maskHi);
        }
      }
      A.readEntry(1, va, table, i);
      if ((A.lo & P) !== 0) throw new PageAlreadyMappedError(va, entryAddress(A.lo, A.hi, this.maskHi));
      oldLo = A.lo;
      oldHi = A.hi;
      leafTable = table;
      A.writeEntry(1, va, table, i, encodeLo(pa, (f & 0xfff) | P), encodeHi(pa, f & HIGH_FLAGS_MASK, this.maskHi));
      if (this.tablePolicy === 'leaf') this.widen(4, this.root, va, va + PAGE_SIZE_4K, 1, tableBits);
    } catch (e) {
      this.replayUndo(); // widen's writes (newest)
      if (leafTable >= 0) this.restoreEntry(1, va, leafTable, i, oldLo, oldHi, true);
      this.abort();
      throw e;
    }
    this.created.length = 0;
    this.undoLen = 0;
    return true;
  }

  /** Throws if any present page lies in [start, end) where leaves of `leafLevel` are to go. */
  private validateFree(level: number, table: number, start: number, end: number, leafLevel: number): void {
    const A = this.access;
    const span = levelSpan(level);
    let es = start - (start % span);
    let i = tableIndex(start, level);
    for (; es < end; es += span, i++) {
      A.readEntry(level, es, table, i);
      const lo = A.lo;
      const hi = A.hi;
      if ((lo & P) === 0) {
        // A marker (OS bits, a swap slot) the 4 KiB leaves will overwrite: note it for the undo
        // log, kept below `undoFloor` until the caller starts writing leaves.
        if (level === 1 && (lo | hi) !== 0) {
          this.journal(1, es, table, i, lo, hi);
          this.undoFloor = this.undoLen;
        }
        continue;
      }
      const s = es > start ? es : start;
      const e = es + span < end ? es + span : end;
      const huge = (level === 2 || level === 3) && (lo & PS) !== 0;
      if (level === leafLevel) {
        if (level === 1 || huge) throw new PageAlreadyMappedError(s, leafAddress(lo, hi, level, this.maskHi) + (s - es));
        // A table sits where the huge leaf goes: allowed only if nothing below it is mapped.
        const leafVa = this.findPresentLeaf(level - 1, entryAddress(lo, hi, this.maskHi), es);
        if (leafVa >= 0) throw new PageAlreadyMappedError(leafVa, this.scratchPa);
      } else if (huge) {
        throw new ParentEntryHugePageError(s, level);
      } else {
        this.validateFree(level - 1, entryAddress(lo, hi, this.maskHi), s, e, leafLevel);
      }
    }
  }

  /** First va with a present leaf in the subtree (its pa in scratchPa), or -1. */
  private findPresentLeaf(level: number, table: number, base: number): number {
    const A = this.access;
    const span = levelSpan(level);
    for (let i = 0; i < 512; i++) {
      const va = base + i * span;
      A.readEntry(level, va, table, i);
      const lo = A.lo;
      const hi = A.hi;
      if ((lo & P) === 0) continue;
      if (level === 1 || (lo & PS) !== 0) {
        this.scratchPa = leafAddress(lo, hi, level, this.maskHi);
        return va;
      }
      const r = this.findPresentLeaf(level - 1, entryAddress(lo, hi, this.maskHi), va);
      if (r >= 0) return r;
    }
    return -1;
  }

  /** Throws NotMappedError at the first hole in [start, end). */
  private checkAllMapped(level: number, table: number, start: number, end: number): void {
    const A = this.access;
    const span = levelSpan(level);
    let es = start - (start % span);
    let i = tableIndex(start, level);
    for (; es < end; es += span, i++) {
      A.readEntry(level, es, table, i);
      const lo = A.lo;
      const s = es > start ? es : start;
      if ((lo & P) === 0) throw new NotMappedError(s);
      if (level === 1 || ((level === 2 || level === 3) && (lo & PS) !== 0)) continue;
      this.checkAllMapped(level - 1, entryAddress(lo, A.hi, this.maskHi), s, es + span < end ? es + span : end);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Table creation and rollback
  // -------------------------------------------------------------------------------------------

  /** Makes every table down to `leafLevel` exist over [start, end). False on OOM (rollback pending). */
  private ensureTables(level: number, table: number, start: number, end: number, leafLevel: number, tableBits: number): boolean {
    const A = this.access;
    const span = levelSpan(level);
    let es = start - (start % span);
    let i = tableIndex(start, level);
    for (; es < end; es += span, i++) {
      A.readEntry(level, es, table, i);
      let child: number;
      if ((A.lo & P) === 0) {
        child = this.newTable(level, es, table, i, tableBits, A.lo, A.hi);
        if (child < 0) return false;
      } else {
        child = entryAddress(A.lo, A.hi, this.maskHi);
      }
      if (level - 1 > leafLevel) {
        if (!this.ensureTables(level - 1, child, es > start ? es : start, es + span < end ? es + span : end, leafLevel, tableBits)) return false;
      }
    }
    return true;
  }

  /**
   * Allocates a table for entry `i` of the level-`level` table `table` (serving `va`), links it
   * with `tableBits` and zeroes it, recording it in `created` (with the entry's old value
   * `oldLo`/`oldHi`) for rollback — before linking, so a throwing access leaves nothing untracked.
   * @returns its frame, or -1 when the allocator is out of frames (nothing written)
   * @throws InvalidFrameError for an unusable frame; whatever the TableAccess throws
   */
  private newTable(level: number, va: number, table: number, i: number, tableBits: number, oldLo: number, oldHi: number): number {
    const frame = this.allocator.allocFrame();
    if (frame === null) return -1;
    checkFrame(frame, this.paLimit);
    this.created.push(frame, level, va, table, i, oldLo, oldHi);
    this.owned.add(frame);
    // Link first, then zero through the strategy: a recursive mapping reaches the new table only
    // once its parent entry points at it.
    this.access.writeEntry(level, va, table, i, encodeLo(frame, tableBits), encodeHi(frame, 0, this.maskHi));
    this.access.zeroTable(level - 1, va, frame);
    return frame;
  }

  /** Frame of the table at `level` that serves `va` (all tables above must be present). */
  private tableFor(va: number, level: number): number {
    const A = this.access;
    let table = this.root;
    for (let l = 4; l > level; l--) {
      A.readEntry(l, va, table, tableIndex(va, l));
      table = entryAddress(A.lo, A.hi, this.maskHi);
    }
    return table;
  }

  // -------------------------------------------------------------------------------------------
  // Undo: what lets a call interrupted by an exception leave the tree exactly as it was
  // -------------------------------------------------------------------------------------------

  /** Appends an undo record (see `undo`). */
  private journal(level: number, va: number, table: number, index: number, lo: number, hi: number): void {
    let u = this.undo;
    const n = this.undoLen;
    if (n + UNDO_RECORD > u.length) {
      const grown = new Float64Array(u.length * 2);
      grown.set(u);
      this.undo = u = grown;
    }
    u[n] = level;
    u[n + 1] = va;
    u[n + 2] = table;
    u[n + 3] = index;
    u[n + 4] = lo;
    u[n + 5] = hi;
    this.undoLen = n + UNDO_RECORD;
  }

  /**
   * Starts a SAVED_RUN for the level-1 entries from `index` of `table` (serving `va` on): the
   * caller stores each entry's old [lo, hi] in the returned buffer at `savedLen` before writing it,
   * and advances `savedLen`. Room for `entryCount` entries is made here.
   */
  private beginSavedRun(va: number, table: number, index: number, entryCount: number): Uint32Array {
    let s = this.saved;
    const need = this.savedLen + 2 * entryCount;
    if (need > s.length) {
      let size = s.length * 2;
      while (size < need) size *= 2;
      const grown = new Uint32Array(size);
      grown.set(s.subarray(0, this.savedLen));
      this.saved = s = grown;
    }
    this.journal(1, va, table, index, SAVED_RUN, this.savedLen);
    return s;
  }

  /** Stores one entry's old value in the current SAVED_RUN (`s` from `beginSavedRun`). */
  private save(s: Uint32Array, lo: number, hi: number): void {
    const w = this.savedLen;
    s[w] = lo;
    s[w + 1] = hi;
    this.savedLen = w + 2;
  }

  /**
   * Writes an entry back while undoing: through the TableAccess, or, if that throws too, straight
   * into physical memory when the mapper has it (`memory` option). `invalidate`: INVLPG `va`
   * afterwards (the entry may have been a present leaf a moment ago).
   * @returns false when the entry could not be written back (the access faults, no `memory`)
   */
  private restoreEntry(level: number, va: number, table: number, index: number, lo: number, hi: number, invalidate: boolean): boolean {
    let done = true;
    try {
      this.access.writeEntry(level, va, table, index, lo, hi);
    } catch {
      done = false;
      const memory = this.memory;
      if (memory !== null) {
        try {
          memory.write32(table + index * 8, lo);
          memory.write32(table + index * 8 + 4, hi);
          done = true;
        } catch {
          // Memory does not back the table either: the entry keeps its new value.
        }
      }
    }
    if (invalidate && this.tlb !== null) this.tlb.invlpg(va);
    return done;
  }

  /** Replays the undo log from its newest record down to `undoFloor`, then empties it. */
  private replayUndo(): void {
    const u = this.undo;
    const s = this.saved;
    let savedEnd = this.savedLen;
    for (let r = this.undoLen - UNDO_RECORD; r >= this.undoFloor; r -= UNDO_RECORD) {
      const level = u[r]!;
      const va = u[r + 1]!;
      const table = u[r + 2]!;
      const index = u[r + 3]!;
      const lo = u[r + 4]!;
      const hi = u[r + 5]!;
      if (lo >= 0) {
        this.restoreEntry(level, va, table, index, lo, hi, true);
      } else if (lo === ZERO_RUN) {
        const span = levelSpan(level);
        for (let k = 0; k < hi; k++) this.restoreEntry(level, va + k * span, table, index + k, 0, 0, true);
      } else {
        // SAVED_RUN: only entries that held something were written (a zero entry is left alone).
        for (let w = hi, k = 0; w < savedEnd; w += 2, k++) {
          if ((s[w]! | s[w + 1]!) !== 0) this.restoreEntry(1, va + k * PAGE_SIZE_4K, table, index + k, s[w]!, s[w + 1]!, true);
        }
        savedEnd = hi;
      }
    }
    this.undoLen = 0;
    this.undoFloor = 0;
    this.savedLen = 0;
  }

  /**
   * Unlinks and frees the tables the current call created, newest first, putting back the entry
   * each one replaced (not present, or the huge page a split replaced). A table whose parent entry
   * cannot be written back (the access faults and there is no `memory`) stays linked and owned.
   */
  private rollbackCreated(): void {
    const c = this.created;
    for (let k = c.length - 7; k >= 0; k -= 7) {
      const frame = c[k]!;
      const oldLo = c[k + 5]!;
      if (this.restoreEntry(c[k + 1]!, c[k + 2]!, c[k + 3]!, c[k + 4]!, oldLo, c[k + 6]!, (oldLo & P) !== 0)) {
        this.owned.delete(frame);
        this.pinned.delete(frame);
        this.allocator.freeFrame(frame);
      }
    }
    c.length = 0;
  }

  /**
   * Undoes everything the current call did, newest first: the undo log (leaves, markers, table
   * pointers, flags), then the tables it created or split; gives back the frames it took (split
   * tables not used yet, `mapAllocated`'s data frames) and forgets the tables it meant to free.
   */
  private abort(): void {
    this.replayUndo();
    this.rollbackCreated();
    const pool = this.splitPool;
    while (pool.length > 0) this.allocator.freeFrame(pool.pop()!);
    const data = this.dataFrames;
    for (let k = 0; k < data.length; k++) this.allocator.freeFrame(data[k]!);
    data.length = 0;
    this.toFree.length = 0;
    this.trimScratch();
  }

  /** Ends a call that succeeded: frees the tables it emptied, forgets its undo state. */
  private finish(): void {
    this.created.length = 0;
    this.undoLen = 0;
    this.undoFloor = 0;
    this.savedLen = 0;
    this.dataFrames.length = 0;
    const t = this.toFree;
    for (let k = 0; k < t.length; k++) {
      this.owned.delete(t[k]!);
      this.allocator.freeFrame(t[k]!);
    }
    t.length = 0;
    this.trimScratch();
  }

  /** Drops scratch buffers a very large call grew, so a mapper does not keep them for good. */
  private trimScratch(): void {
    if (this.undo.length > SCRATCH_KEEP) this.undo = new Float64Array(UNDO_RECORD * 32);
    if (this.saved.length > SCRATCH_KEEP) this.saved = new Uint32Array(2 * 512);
  }

  // -------------------------------------------------------------------------------------------
  // Writing
  // -------------------------------------------------------------------------------------------

  /**
   * Writes leaves of `leafLevel` over [start, end) mapping va to va + delta. Tables exist. Undo:
   * one ZERO_RUN record per page table (the 4 KiB entries were not present: zero, or markers
   * noted by validateFree), one record per huge leaf (its old value).
   */
  private writeLeaves(level: number, table: number, start: number, end: number, leafLevel: number, delta: number, f: number): void {
    const A = this.access;
    const span = levelSpan(level);
    let es = start - (start % span);
    let i = tableIndex(start, level);
    if (level > leafLevel) {
      for (; es < end; es += span, i++) {
        A.readEntry(level, es, table, i);
        this.writeLeaves(level - 1, entryAddress(A.lo, A.hi, this.maskHi), es > start ? es : start, es + span < end ? es + span : end, leafLevel, delta, f);
      }
      return;
    }
    const maskHi = this.maskHi;
    const hiFlags = f & HIGH_FLAGS_MASK;
    if (level === 1) {
      const loFlags = (f & 0xfff) | P;
      const pa = start + delta;
      let paLo = pa % TWO_32;
      let paHi = (pa - paLo) / TWO_32;
      this.journal(1, start, table, i, ZERO_RUN, (end - start) / PAGE_SIZE_4K);
      for (es = start; es < end; es += PAGE_SIZE_4K, i++) {
        A.writeEntry(1, es, table, i, (paLo | loFlags) >>> 0, ((paHi & maskHi) | hiFlags) >>> 0);
        paLo += PAGE_SIZE_4K;
        if (paLo === TWO_32) {
          paLo = 0;
          paHi++;
        }
      }
      return;
    }
    const loFlags = (f & 0x1f7f) | P | PS;
    for (; es < end; es += span, i++) {
      A.readEntry(level, es, table, i);
      const oldLo = A.lo;
      const oldHi = A.hi;
      // An empty table (validated: no present leaf below) gives way to the huge page; its
      // tables are freed once the call has succeeded (SDM 4.10.4.2: then INVLPG, below).
      if ((oldLo & P) !== 0) this.collectSubtree(level - 1, entryAddress(oldLo, oldHi, this.maskHi), es);
      this.journal(level, es, table, i, oldLo, oldHi);
      const pa = es + delta;
      A.writeEntry(level, es, table, i, encodeLo(pa, loFlags, true), encodeHi(pa, hiFlags, maskHi));
      if ((oldLo & P) !== 0 && this.tlb !== null) this.tlb.invlpg(es);
    }
  }

  /** Lists in `toFree` every owned table of a subtree that holds no present leaf (freed by `finish`). */
  private collectSubtree(level: number, table: number, base: number): void {
    if (level > 1) {
      const A = this.access;
      const span = levelSpan(level);
      for (let i = 0; i < 512; i++) {
        const va = base + i * span;
        A.readEntry(level, va, table, i);
        if ((A.lo & P) !== 0 && (A.lo & PS) === 0) this.collectSubtree(level - 1, entryAddress(A.lo, A.hi, this.maskHi), va);
      }
    }
    if (this.owned.has(table)) this.toFree.push(table);
  }

  /** 'leaf' policy: ORs `tableBits` into every table entry above the leaves over [start, end). */
  private widen(level: number, table: number, start: number, end: number, leafLevel: number, tableBits: number): void {
    const A = this.access;
    const span = levelSpan(level);
    let es = start - (start % span);
    let i = tableIndex(start, level);
    for (; es < end; es += span, i++) {
      A.readEntry(level, es, table, i);
      const lo = A.lo;
      const hi = A.hi;
      if ((lo & P) === 0 || ((level === 2 || level === 3) && (lo & PS) !== 0)) continue;
      if ((lo & tableBits) !== tableBits) {
        this.journal(level, es, table, i, lo, hi);
        A.writeEntry(level, es, table, i, (lo | tableBits) >>> 0, hi);
      }
      if (level - 1 > leafLevel) this.widen(level - 1, entryAddress(lo, hi, this.maskHi), es > start ? es : start, es + span < end ? es + span : end, leafLevel, tableBits);
    }
  }

  /** Rewrites the flags of every leaf in [start, end) (edges already split), logging old values. */
  private rewriteFlags(level: number, table: number, start: number, end: number, f: number): void {
    const A = this.access;
    const span = levelSpan(level);
    let es = start - (start % span);
    let i = tableIndex(start, level);
    if (level === 1) {
      const loFlags = (f & 0xfff) | P;
      const hiFlags = f & HIGH_FLAGS_MASK;
      const s = this.beginSavedRun(es, table, i, (end - es) / PAGE_SIZE_4K);
      for (; es < end; es += PAGE_SIZE_4K, i++) {
        A.readEntry(1, es, table, i);
        const lo = A.lo;
        const hi = A.hi;
        this.save(s, lo, hi);
        const nlo = ((lo & 0xffff_f000) | loFlags | (lo & AD)) >>> 0;
        const nhi = ((hi & this.maskHi) | hiFlags) >>> 0;
        if (nlo !== lo || nhi !== hi) {
          A.writeEntry(1, es, table, i, nlo, nhi);
          if (this.tlb !== null) this.tlb.invlpg(es);
        }
      }
      return;
    }
    for (; es < end; es += span, i++) {
      A.readEntry(level, es, table, i);
      const lo = A.lo;
      const hi = A.hi;
      const huge = (level === 2 || level === 3) && (lo & PS) !== 0;
      if (level === 1 || huge) {
        const loFlags = level === 1 ? (f & 0xfff) | P : (f & 0x1f7f) | P | PS;
        const nlo = ((lo & leafLoAddrMask(level)) | loFlags | (lo & AD)) >>> 0;
        const nhi = ((hi & this.maskHi) | (f & HIGH_FLAGS_MASK)) >>> 0;
        if (nlo !== lo || nhi !== hi) {
          this.journal(level, es, table, i, lo, hi);
          A.writeEntry(level, es, table, i, nlo, nhi);
          if (this.tlb !== null) this.tlb.invlpg(es);
        }
      } else {
        this.rewriteFlags(level - 1, entryAddress(lo, hi, this.maskHi), es > start ? es : start, es + span < end ? es + span : end, f);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Splitting huge pages and clearing
  // -------------------------------------------------------------------------------------------

  /** Finds the present leaf covering `va` (sets fLevel, fEntryStart, fTable, fIndex). */
  private findLeaf(va: number): boolean {
    const A = this.access;
    let table = this.root;
    for (let level = 4; level >= 1; level--) {
      const i = tableIndex(va, level);
      A.readEntry(level, va, table, i);
      if ((A.lo & P) === 0) return false;
      if (level === 1 || ((level === 2 || level === 3) && (A.lo & PS) !== 0)) {
        const span = levelSpan(level);
        this.fLevel = level;
        this.fEntryStart = va - (va % span);
        this.fTable = table;
        this.fIndex = i;
        return true;
      }
      table = entryAddress(A.lo, A.hi, this.maskHi);
    }
    return false;
  }

  /** True when a huge leaf covers `va` with `va` not at its start (sets the f* fields). */
  private partialHugeAt(va: number): boolean {
    if (va >= LINEAR_LIMIT || !this.findLeaf(va) || this.fLevel === 1) return false;
    return va % levelSpan(this.fLevel) !== 0;
  }

  /**
   * Splits huge pages straddling `start` or `end` so both are leaf boundaries. Allocates the
   * exact number of tables first. False (nothing changed) if the allocator ran out.
   */
  private splitEdges(start: number, end: number): boolean {
    let need = 0;
    let sLevel = 0;
    let sStart = -1;
    if (this.partialHugeAt(start)) {
      sLevel = this.fLevel;
      sStart = this.fEntryStart;
      need += sLevel === 3 ? 1 + (start % PAGE_SIZE_2M !== 0 ? 1 : 0) : 1;
    }
    if (this.partialHugeAt(end)) {
      if (this.fLevel === sLevel && this.fEntryStart === sStart) {
        // Same huge page: its split is counted; a 1 GiB page may need a second PT for `end`.
        const sharesPt = start % PAGE_SIZE_2M !== 0 && Math.floor(start / PAGE_SIZE_2M) === Math.floor(end / PAGE_SIZE_2M);
        if (sLevel === 3 && end % PAGE_SIZE_2M !== 0 && !sharesPt) need++;
      } else {
        need += this.fLevel === 3 ? 1 + (end % PAGE_SIZE_2M !== 0 ? 1 : 0) : 1;
      }
    }
    if (need === 0) return true;
    const pool = this.splitPool;
    for (let k = 0; k < need; k++) {
      const frame = this.allocator.allocFrame();
      if (frame === null) {
        while (pool.length > 0) this.allocator.freeFrame(pool.pop()!);
        return false;
      }
      checkFrame(frame, this.paLimit); // a bad frame is not pooled: the caller's abort frees the good ones
      pool.push(frame);
    }
    this.splitAt(start);
    this.splitAt(end);
    if (pool.length !== 0) throw new InvariantViolationError('split table count mismatch'); // the caller's abort undoes the splits
    return true;
  }

  private splitAt(va: number): void {
    while (this.partialHugeAt(va)) this.splitLeaf(this.fLevel, this.fTable, this.fIndex, this.fEntryStart);
  }

  /**
   * Replaces the huge leaf at `level` by a table of 512 leaves one level down with the same
   * translation and flags (PAT moves from bit 12 to bit 7 when the children are 4 KiB pages).
   */
  private splitLeaf(level: number, table: number, index: number, es: number): void {
    const A = this.access;
    A.readEntry(level, es, table, index);
    const lo = A.lo;
    const hi = A.hi;
    const flags = entryFlags(lo, hi, true);
    const base = leafAddress(lo, hi, level, this.maskHi);
    const frame = this.splitPool.pop()!;
    this.created.push(frame, level, es, table, index, lo, hi); // undo: the huge leaf comes back
    this.owned.add(frame);
    A.writeEntry(level, es, table, index, encodeLo(frame, this.tableBitsFor(flags)), encodeHi(frame, 0, this.maskHi));
    const childLevel = level - 1;
    const childSpan = levelSpan(childLevel);
    const childFlags = childLevel === 1 ? (flags & 0xf7f) | ((flags & PTE.PatHuge) !== 0 ? PTE.Pat4K : 0) : flags & 0x1fff;
    const hiFlags = hi & HIGH_FLAGS_MASK;
    for (let k = 0; k < 512; k++) {
      const p = base + k * childSpan;
      A.writeEntry(childLevel, es + k * childSpan, frame, k, encodeLo(p, childFlags, childLevel !== 1), encodeHi(p, hiFlags, this.maskHi));
    }
    // SDM 4.10.4.2: a page-size change must be invalidated.
    if (this.tlb !== null) this.tlb.invlpg(es);
  }

  /**
   * Zeroes every leaf in [start, end) (edges already split), recording the present ones. Undo: a
   * SAVED_RUN per page table (old value of every entry visited), a record per other entry
   * cleared; emptied tables are unlinked now and freed by `finish`.
   */
  private clearRange(level: number, table: number, start: number, end: number, out: MutableUnmapped[], freeTables: boolean): void {
    const A = this.access;
    const span = levelSpan(level);
    let es = start - (start % span);
    let i = tableIndex(start, level);
    if (level === 1) {
      const s = this.beginSavedRun(es, table, i, (end - es) / PAGE_SIZE_4K);
      for (; es < end; es += PAGE_SIZE_4K, i++) {
        A.readEntry(1, es, table, i);
        const lo = A.lo;
        const hi = A.hi;
        this.save(s, lo, hi);
        if ((lo & P) === 0) {
          if ((lo | hi) !== 0) A.writeEntry(1, es, table, i, 0, 0);
          continue;
        }
        this.record(out, es, entryAddress(lo, hi, this.maskHi), PAGE_SIZE_4K, entryFlags(lo, hi, false));
        A.writeEntry(1, es, table, i, 0, 0);
        if (this.tlb !== null) this.tlb.invlpg(es);
      }
      return;
    }
    for (; es < end; es += span, i++) {
      A.readEntry(level, es, table, i);
      const lo = A.lo;
      const hi = A.hi;
      const covered = es >= start && es + span <= end;
      if ((lo & P) === 0) {
        if ((lo | hi) !== 0 && covered) {
          this.journal(level, es, table, i, lo, hi);
          A.writeEntry(level, es, table, i, 0, 0);
        }
        continue;
      }
      if ((level === 2 || level === 3) && (lo & PS) !== 0) {
        // A huge leaf: wholly inside the range once the edges are split.
        this.record(out, es, leafAddress(lo, hi, level, this.maskHi), span, entryFlags(lo, hi, true));
        this.journal(level, es, table, i, lo, hi);
        A.writeEntry(level, es, table, i, 0, 0);
        if (this.tlb !== null) this.tlb.invlpg(es);
        continue;
      }
      const child = entryAddress(lo, hi, this.maskHi);
      this.clearRange(level - 1, child, es > start ? es : start, es + span < end ? es + span : end, out, freeTables);
      if (freeTables && this.owned.has(child) && !this.pinned.has(child) && this.isEmptyTable(level - 1, child, es)) {
        this.journal(level, es, table, i, lo, hi);
        A.writeEntry(level, es, table, i, 0, 0);
        this.toFree.push(child);
        if (this.tlb !== null) this.tlb.invlpg(es);
      }
    }
  }

  private isEmptyTable(level: number, table: number, va: number): boolean {
    const A = this.access;
    for (let i = 0; i < 512; i++) {
      A.readEntry(level, va, table, i);
      if ((A.lo | A.hi) !== 0) return false;
    }
    return true;
  }

  private record(out: MutableUnmapped[], va: number, pa: number, sizeBytes: number, flags: number): void {
    const last = out.length > 0 ? out[out.length - 1]! : null;
    if (last !== null && last.va + last.sizeBytes === va && last.pa + last.sizeBytes === pa && last.flags === flags && last.pageSizeBytes === sizeBytes) {
      last.sizeBytes += sizeBytes;
      return;
    }
    out.push({ va, pa, sizeBytes, flags, pageSizeBytes: sizeBytes });
  }
}
