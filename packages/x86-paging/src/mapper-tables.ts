// Finding and creating the tables a call needs, generic over the paging mode: checks that a range
// is free (or wholly mapped) before anything changes, and makes every table down to the leaf
// level exist, each new one recorded for rollback (mapper-undo.ts).
import { NotMappedError, PageAlreadyMappedError, ParentEntryHugePageError } from './api';
import { PTE } from './entry';
import { checkFrame } from './mapper-checks';
import type { MapperOptions } from './mapper-types';
import { MapperUndoLog } from './mapper-undo';
import type { PagingGeometry } from './paging-geometry';
import type { PhysicalMemory } from './api';
import { PhysicalTableAccess } from './table-access';

const P = PTE.Present;
const PS = PTE.HugePage;
const RW_US = PTE.Writable | PTE.User;

/** Second layer of {@link Mapper}: range checks and table creation. Not used on its own. */
export abstract class MapperTables extends MapperUndoLog {
  /** `geometry.hugeLevels`: bit `l` set when PS = 1 makes a level-`l` entry a leaf. */
  protected readonly hugeLevels: number;
  /** Physical address of the leaf `findPresentLeaf` found. */
  protected scratchPa: number;
  /** Per level: one past the highest physical address a leaf there can map (entries of levels that hold no leaf: 0). */
  protected readonly leafPaLimit: Float64Array;
  /**
   * The memory of the `access` when it is exactly strategy (a), a `PhysicalTableAccess` (not a
   * subclass, which may override its writes), else null: bulk leaf writes then go straight into
   * `frameWords`, the same bytes `writeEntry` would write.
   */
  protected readonly directTables: PhysicalMemory | null;
  /** u32 words per entry: 2, or 1 in 32-bit paging. */
  protected readonly entryWords: number;

  constructor(options: MapperOptions, geometry: PagingGeometry) {
    super(options, geometry);
    this.directTables = Object.getPrototypeOf(this.access) === PhysicalTableAccess.prototype ? (this.access as PhysicalTableAccess).memory : null;
    this.entryWords = geometry.entryBytes / 4;
    this.hugeLevels = geometry.hugeLevels;
    this.scratchPa = 0;
    this.leafPaLimit = new Float64Array(this.top + 1);
    for (let level = 1; level <= this.top; level++) {
      const huge = ((geometry.hugeLevels >>> level) & 1) !== 0;
      if (level === 1 || huge) this.leafPaLimit[level] = geometry.paLimit(level, huge, this.maxPhysAddr);
    }
  }

  /** True when the present level-`level` entry with low half `lo` maps a huge page (PS = 1 where the mode allows it). */
  protected isHuge(level: number, lo: number): boolean {
    return (lo & PS) !== 0 && ((this.hugeLevels >>> level) & 1) !== 0;
  }

  /** R/W and U/S bits (plus P) an intermediate entry gets for a leaf with flags `f`. */
  protected tableBitsFor(f: number): number {
    return this.tablePolicy === 'permissive' ? P | RW_US : P | (f & RW_US);
  }

  /** Throws if any present page lies in [start, end) where leaves of `leafLevel` are to go. */
  protected validateFree(level: number, table: number, start: number, end: number, leafLevel: number): void {
    const A = this.access;
    const span = this.geometry.span(level);
    let es = start - (start % span);
    let i = this.geometry.index(start, level);
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
      const huge = this.isHuge(level, lo);
      if (level === leafLevel) {
        if (level === 1 || huge) throw new PageAlreadyMappedError(s, this.geometry.leafAddress(lo, hi, level, this.maskHi) + (s - es));
        // A table sits where the huge leaf goes: allowed only if nothing below it is mapped and
        // it is not a table preallocatePml4Slots pinned for the shared kernel half (in 32-bit
        // paging a 4 MiB leaf goes in the directory, the level those tables hang from; every
        // address space copies their entries, so replacing one would split them).
        const child = this.geometry.entryAddress(lo, hi, this.maskHi);
        if (this.pinned.has(child)) throw new PageAlreadyMappedError(s, child);
        const leafVa = this.findPresentLeaf(level - 1, child, es);
        if (leafVa >= 0) throw new PageAlreadyMappedError(leafVa, this.scratchPa);
      } else if (huge) {
        throw new ParentEntryHugePageError(s, level);
      } else {
        this.validateFree(level - 1, this.geometry.entryAddress(lo, hi, this.maskHi), s, e, leafLevel);
      }
    }
  }

  /** First va with a present leaf in the subtree (its pa in scratchPa), or -1. */
  protected findPresentLeaf(level: number, table: number, base: number): number {
    const A = this.access;
    const span = this.geometry.span(level);
    for (let i = 0, n = this.geometry.entryCount(level); i < n; i++) {
      const va = base + i * span;
      A.readEntry(level, va, table, i);
      const lo = A.lo;
      const hi = A.hi;
      if ((lo & P) === 0) continue;
      if (level === 1 || this.isHuge(level, lo)) {
        this.scratchPa = this.geometry.leafAddress(lo, hi, level, this.maskHi);
        return va;
      }
      const r = this.findPresentLeaf(level - 1, this.geometry.entryAddress(lo, hi, this.maskHi), va);
      if (r >= 0) return r;
    }
    return -1;
  }

  /** Throws NotMappedError at the first hole in [start, end). */
  protected checkAllMapped(level: number, table: number, start: number, end: number): void {
    const A = this.access;
    const span = this.geometry.span(level);
    let es = start - (start % span);
    let i = this.geometry.index(start, level);
    for (; es < end; es += span, i++) {
      A.readEntry(level, es, table, i);
      const lo = A.lo;
      const s = es > start ? es : start;
      if ((lo & P) === 0) throw new NotMappedError(s);
      if (level === 1 || this.isHuge(level, lo)) continue;
      this.checkAllMapped(level - 1, this.geometry.entryAddress(lo, A.hi, this.maskHi), s, es + span < end ? es + span : end);
    }
  }

  /** Makes every table down to `leafLevel` exist over [start, end). False on OOM (rollback pending). */
  protected ensureTables(level: number, table: number, start: number, end: number, leafLevel: number, tableBits: number): boolean {
    const A = this.access;
    const span = this.geometry.span(level);
    let es = start - (start % span);
    let i = this.geometry.index(start, level);
    for (; es < end; es += span, i++) {
      A.readEntry(level, es, table, i);
      let child: number;
      if ((A.lo & P) === 0) {
        child = this.newTable(level, es, table, i, tableBits, A.lo, A.hi);
        if (child < 0) return false;
      } else {
        child = this.geometry.entryAddress(A.lo, A.hi, this.maskHi);
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
  protected newTable(level: number, va: number, table: number, i: number, tableBits: number, oldLo: number, oldHi: number): number {
    const frame = this.allocator.allocFrame();
    if (frame === null) return -1;
    checkFrame(frame, this.paLimit);
    this.created.push(frame, level, va, table, i, oldLo, oldHi);
    this.owned.add(frame);
    // Link first, then zero through the strategy: a recursive mapping reaches the new table only
    // once its parent entry points at it.
    this.access.writeEntry(level, va, table, i, this.geometry.encodeLo(frame, tableBits & this.geometry.tableFlagsMask(level), false), this.geometry.encodeHi(frame, 0, this.maskHi));
    this.access.zeroTable(level - 1, va, frame);
    return frame;
  }

  /** Frame of the table at `level` that serves `va` (all tables above must be present). */
  protected tableFor(va: number, level: number): number {
    const A = this.access;
    let table = this.root;
    for (let l = this.top; l > level; l--) {
      A.readEntry(l, va, table, this.geometry.index(va, l));
      table = this.geometry.entryAddress(A.lo, A.hi, this.maskHi);
    }
    return table;
  }
}
