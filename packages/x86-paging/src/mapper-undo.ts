// The state every Mapper call shares, and the undo log that lets a call interrupted by an
// exception leave the tree exactly as it was. A call keeps, while it runs: the tables it created
// (with the entry each replaced), the old values of the entries it overwrote, the tables to free
// once it has succeeded, and the data frames it took. On any exception it replays them newest
// first (`abort`) and rethrows; on success `finish` frees what the call emptied and forgets the
// rest. Nothing here depends on the paging mode except the entry size (`geometry.entryBytes`).
import { show } from './show-value';
import { InvalidAddressError, MisalignedAddressError, formatPa, type FrameAllocator, type PhysicalMemory, type TlbInvalidator } from './api';
import { DEFAULT_MAX_PHYS_ADDR, addressMaskHi } from './entry';
import { checkMapperOptions } from './mapper-checks';
import type { MapperOptions, TablePolicy } from './mapper-types';
import type { PagingGeometry } from './paging-geometry';
import type { TableAccess } from './table-access';

/** Numbers per undo-log record, and the two record kinds that are not a plain entry. */
export const UNDO_RECORD = 6;
/** Undo record kind (in the `lo` slot): zero `hi` entries from `index` on. */
export const ZERO_RUN = -1;
/** Undo record kind (in the `lo` slot): put back saved level-1 entries from `saved[hi]` on. */
export const SAVED_RUN = -2;
/** Scratch buffers grown beyond this many elements are dropped after the call. */
const SCRATCH_KEEP = 1 << 16;

/**
 * Base of {@link Mapper}: what it maps with (access, allocator, geometry), the tables it owns,
 * and the undo log of the call in progress. Not used on its own.
 */
export abstract class MapperUndoLog {
  /** Physical address of the root table (what CR3 points at: the PML4, PML5, PAE PDPT or 32-bit PD). */
  readonly root: number;
  /** The strategy through which every table entry is read and written. */
  readonly access: TableAccess;
  /** Source of table frames and `mapAllocated`'s data frames. */
  readonly allocator: FrameAllocator;
  /** Physical address width, 32..52. */
  readonly maxPhysAddr: number;
  /** Intermediate-entry policy. */
  readonly tablePolicy: TablePolicy;
  /** Table layout and entry encoding of this mapper's paging mode. */
  readonly geometry: PagingGeometry;
  /** Told about every present leaf changed or removed; may be set after construction. */
  tlb: TlbInvalidator | null;

  /** Level of the root table. */
  protected readonly top: number;
  /** `addressMaskHi(maxPhysAddr)`. */
  protected readonly maskHi: number;
  /** One past the highest frame a table pointer or 4 KiB leaf can hold in this mode. */
  protected readonly paLimit: number;
  protected readonly memory: PhysicalMemory | null;
  protected ownsRoot: boolean;
  /** Table frames this mapper allocated (excluding the root). */
  protected readonly owned: Set<number>;
  /** Owned tables below the root made by `preallocatePml4Slots`: never freed when they become empty. */
  protected readonly pinned: Set<number>;
  /**
   * Tables created by the current call (new or split): [frame, level of parent, va, parent frame,
   * parent index, parent entry's old lo, old hi]*.
   */
  protected readonly created: number[];
  protected readonly splitPool: number[];
  /**
   * Undo log of the current call, UNDO_RECORD numbers a record, replayed newest first by `abort`:
   * [level, va, table, index, lo, hi] puts an entry back (lo ≥ 0); lo = ZERO_RUN zeroes `hi`
   * entries from `index` on; lo = SAVED_RUN puts back the entries whose old values `saved` holds
   * from offset `hi` (up to the next newer run's offset).
   */
  protected undo: Float64Array;
  protected undoLen: number;
  /** Records below this index (markers noted while validating) are replayed only once leaves are written. */
  protected undoFloor: number;
  /** Old [lo, hi] of the level-1 entries a SAVED_RUN covers. */
  protected saved: Uint32Array;
  protected savedLen: number;
  /** Table frames to give back once the current call cannot fail any more. */
  protected readonly toFree: number[];
  /** Data frames `mapAllocated` took in the current call. */
  protected readonly dataFrames: number[];

  /**
   * @throws InvalidOptionError for a bad `maxPhysAddr`, `tablePolicy` or reserved slot
   * @throws InvalidAddressError / MisalignedAddressError for a root CR3 cannot hold in this mode
   */
  constructor(options: MapperOptions, geometry: PagingGeometry) {
    checkMapperOptions(options, geometry);
    this.geometry = geometry;
    this.top = geometry.topLevel;
    this.access = options.access;
    this.allocator = options.allocator;
    this.maxPhysAddr = options.maxPhysAddr ?? DEFAULT_MAX_PHYS_ADDR;
    this.maskHi = addressMaskHi(this.maxPhysAddr);
    this.paLimit = geometry.paLimit(1, false, this.maxPhysAddr);
    this.tablePolicy = options.tablePolicy ?? 'permissive';
    const rootLimit = geometry.rootLimit(this.maxPhysAddr);
    if (!Number.isSafeInteger(options.root) || options.root < 0 || options.root >= rootLimit) {
      throw new InvalidAddressError(show(options.root), `root must be a physical address below ${formatPa(rootLimit)} in ${geometry.name} paging`);
    }
    if (options.root % geometry.rootAlignBytes !== 0) throw new MisalignedAddressError('pa', options.root, geometry.rootAlignBytes);
    this.root = options.root;
    this.tlb = options.tlb ?? null;
    this.memory = options.memory ?? null;
    this.ownsRoot = false;
    this.owned = new Set<number>();
    this.pinned = new Set<number>();
    this.created = [];
    this.splitPool = [];
    this.undo = new Float64Array(UNDO_RECORD * 32);
    this.undoLen = 0;
    this.undoFloor = 0;
    this.saved = new Uint32Array(2 * 512);
    this.savedLen = 0;
    this.toFree = [];
    this.dataFrames = [];
  }

  /**
   * Tells the TLB invalidator about `va` (the caller checked `tlb !== null`): as a number below
   * 2^53, above it (5-level paging) as the canonical bigint a Cpu takes, so nothing is rounded.
   */
  protected invlpg(va: number): void {
    this.tlb!.invlpg(va < 9007199254740992 ? va : this.geometry.cpuAddress(va));
  }

  /** Appends an undo record (see `undo`). */
  protected journal(level: number, va: number, table: number, index: number, lo: number, hi: number): void {
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
  protected beginSavedRun(va: number, table: number, index: number, entryCount: number): Uint32Array {
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
  protected save(s: Uint32Array, lo: number, hi: number): void {
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
  protected restoreEntry(level: number, va: number, table: number, index: number, lo: number, hi: number, invalidate: boolean): boolean {
    let done = true;
    try {
      this.access.writeEntry(level, va, table, index, lo, hi);
    } catch {
      done = false;
      const memory = this.memory;
      if (memory !== null) {
        try {
          const bytes = this.geometry.entryBytes;
          memory.write32(table + index * bytes, lo);
          if (bytes === 8) memory.write32(table + index * 8 + 4, hi);
          done = true;
        } catch {
          // Memory does not back the table either: the entry keeps its new value.
        }
      }
    }
    if (invalidate && this.tlb !== null) this.invlpg(va);
    return done;
  }

  /** Replays the undo log from its newest record down to `undoFloor`, then empties it. */
  protected replayUndo(): void {
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
        const span = this.geometry.span(level);
        for (let k = 0; k < hi; k++) this.restoreEntry(level, va + k * span, table, index + k, 0, 0, true);
      } else {
        // SAVED_RUN: only entries that held something were written (a zero entry is left alone).
        for (let w = hi, k = 0; w < savedEnd; w += 2, k++) {
          if ((s[w]! | s[w + 1]!) !== 0) this.restoreEntry(1, va + k * 4096, table, index + k, s[w]!, s[w + 1]!, true);
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
  protected rollbackCreated(): void {
    const c = this.created;
    for (let k = c.length - 7; k >= 0; k -= 7) {
      const frame = c[k]!;
      const oldLo = c[k + 5]!;
      if (this.restoreEntry(c[k + 1]!, c[k + 2]!, c[k + 3]!, c[k + 4]!, oldLo, c[k + 6]!, (oldLo & 1) !== 0)) { // P: the old entry was present (a split huge page)
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
  protected abort(): void {
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
  protected finish(): void {
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
  protected trimScratch(): void {
    if (this.undo.length > SCRATCH_KEEP) this.undo = new Float64Array(UNDO_RECORD * 32);
    if (this.saved.length > SCRATCH_KEEP) this.saved = new Uint32Array(2 * 512);
  }
}
