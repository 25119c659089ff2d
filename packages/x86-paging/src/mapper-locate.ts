// Seed 004's `Pagemap::LocatePage`: find the entry that maps an address, creating the missing
// tables on the way when asked — the walk every Mapper call makes inside, as one call of its own.
// A kernel uses it to read or write one entry in place (a fault handler installing a PTE, a
// swapper storing a slot in a not-present entry) without a second walk.
import { ParentEntryHugePageError } from './api';
import { PTE } from './entry';
import { MapperHugePageSplit } from './huge-page-split';
import type { PageLocation } from './mapper-types';
import type { MapperOptions } from './mapper-types';
import type { PagingGeometry } from './paging-geometry';

const P = PTE.Present;

/** Fourth layer of {@link Mapper}: locating (and creating the tables of) one entry. Not used on its own. */
export abstract class MapperLocate extends MapperHugePageSplit {
  /** The one {@link PageLocation} `locatePage` fills in. */
  private readonly location: PageLocation;

  constructor(options: MapperOptions, geometry: PagingGeometry) {
    super(options, geometry);
    this.location = { va: 0, level: 0, pageSizeBytes: 0, table: 0, index: 0, entryPa: 0, entryBytes: geometry.entryBytes, lo: 0, hi: 0, present: false, huge: false, tablesCreated: 0 };
  }

  /**
   * The walk of `locatePage` for a checked page address `va` down to `targetLevel`.
   * First a read-only pass finds where the tables end and refuses a huge page in the way of
   * `create`; then, with `create`, it makes each missing table (rolled back together when the
   * allocator runs out), widening the path under the 'leaf' table policy.
   * @returns the reusable location, or null (no table reaches `targetLevel` and `create` is
   *   false; or the allocator ran out — nothing changed)
   * @throws ParentEntryHugePageError (create, a huge page above `targetLevel`) before any change;
   *   InvalidFrameError / a TableAccess exception after undoing the call
   */
  protected locateEntry(va: number, targetLevel: number, create: boolean, leafFlags: number): PageLocation | null {
    const A = this.access;
    const g = this.geometry;
    const maskHi = this.maskHi;
    const widen = create && this.tablePolicy === 'leaf';
    const tableBits = this.tableBitsFor(leafFlags);
    // Pass 1, read only: how far do present tables reach?
    let table = this.root;
    let level = this.top;
    for (; level > targetLevel; level--) {
      A.readEntry(level, va, table, g.index(va, level));
      const lo = A.lo;
      if ((lo & P) === 0) break;
      if (this.isHuge(level, lo)) {
        if (create) throw new ParentEntryHugePageError(va, level);
        return this.fill(va, level, table, lo, A.hi, 0); // the huge leaf decides va
      }
      table = g.entryAddress(lo, A.hi, maskHi);
    }
    if (level === targetLevel) {
      A.readEntry(level, va, table, g.index(va, level));
      const lo = A.lo;
      const hi = A.hi;
      if (widen) {
        try {
          this.widen(this.top, this.root, va, va + g.span(targetLevel), targetLevel, tableBits);
        } catch (e) {
          this.abort();
          throw e;
        }
        this.finish();
      }
      return this.fill(va, level, table, lo, hi, 0);
    }
    if (!create) return null;
    // Pass 2: the tables from `level` down, all or nothing. The entry found at the end lies in a
    // table made (and zeroed) here: it is 0, and nothing is read after the call has succeeded.
    let made = 0;
    try {
      for (; level > targetLevel; level--) {
        const i = g.index(va, level);
        A.readEntry(level, va, table, i); // not present (pass 1, or in a table this call just made)
        const child = this.newTable(level, va, table, i, tableBits, A.lo, A.hi);
        if (child < 0) {
          this.abort();
          return null;
        }
        made++;
        table = child;
      }
      if (widen) this.widen(this.top, this.root, va, va + g.span(targetLevel), targetLevel, tableBits);
    } catch (e) {
      this.abort();
      throw e;
    }
    this.finish();
    return this.fill(va, targetLevel, table, 0, 0, made);
  }

  /** Fills the reusable location with the level-`level` entry (`lo`, `hi`) of `table` for `va`. */
  private fill(va: number, level: number, table: number, lo: number, hi: number, made: number): PageLocation {
    const g = this.geometry;
    const r = this.location;
    const span = g.span(level);
    const i = g.index(va, level);
    r.va = va - (va % span);
    r.level = level;
    r.pageSizeBytes = span;
    r.table = table;
    r.index = i;
    r.entryPa = table + i * g.entryBytes;
    r.lo = lo;
    r.hi = hi;
    r.present = (lo & P) !== 0;
    r.huge = r.present && level > 1 && this.isHuge(level, lo);
    r.tablesCreated = made;
    return r;
  }
}
