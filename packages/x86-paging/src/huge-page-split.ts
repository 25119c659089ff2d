// Splitting huge pages (1 GiB, 2 MiB, or 32-bit paging's 4 MiB) so that a range's edges become
// leaf boundaries before an unmap or a flags change that covers only part of one. The exact
// number of tables is allocated first; each split is recorded in `created`, so undoing the call
// puts the huge leaf back.
import { InvariantViolationError, formatPa } from './api';
import { UnencodableEntryError } from './entry-32bit';
import { HIGH_FLAGS_MASK, PTE } from './entry';
import { checkFrame } from './mapper-checks';
import { MapperLeaves } from './mapper-leaves';
import type { MapperOptions } from './mapper-types';
import type { PagingGeometry } from './paging-geometry';

const P = PTE.Present;

/** Fourth layer of {@link Mapper}: finding a leaf and splitting huge pages. Not used on its own. */
export abstract class MapperHugePageSplit extends MapperLeaves {
  // findLeaf() results
  protected fLevel: number;
  protected fEntryStart: number;
  protected fTable: number;
  protected fIndex: number;

  constructor(options: MapperOptions, geometry: PagingGeometry) {
    super(options, geometry);
    this.fLevel = 0;
    this.fEntryStart = 0;
    this.fTable = 0;
    this.fIndex = 0;
  }

  /** Finds the present leaf covering `va` (sets fLevel, fEntryStart, fTable, fIndex). */
  protected findLeaf(va: number): boolean {
    const A = this.access;
    let table = this.root;
    for (let level = this.top; level >= 1; level--) {
      const i = this.geometry.index(va, level);
      A.readEntry(level, va, table, i);
      if ((A.lo & P) === 0) return false;
      if (level === 1 || this.isHuge(level, A.lo)) {
        const span = this.geometry.span(level);
        this.fLevel = level;
        this.fEntryStart = va - (va % span);
        this.fTable = table;
        this.fIndex = i;
        return true;
      }
      table = this.geometry.entryAddress(A.lo, A.hi, this.maskHi);
    }
    return false;
  }

  /** True when a huge leaf covers `va` with `va` not at its start (sets the f* fields). */
  protected partialHugeAt(va: number): boolean {
    if (va >= this.geometry.linearLimit || !this.findLeaf(va) || this.fLevel === 1) return false;
    return va % this.geometry.span(this.fLevel) !== 0;
  }

  /**
   * Splits huge pages straddling `start` or `end` so both are leaf boundaries. Allocates the
   * exact number of tables first. False (nothing changed) if the allocator ran out.
   */
  protected splitEdges(start: number, end: number): boolean {
    let need = 0;
    let sLevel = 0;
    let sStart = -1;
    if (this.partialHugeAt(start)) {
      sLevel = this.fLevel;
      sStart = this.fEntryStart;
      this.checkSplittable();
      need += this.splitsNeeded(start, sLevel);
    }
    if (this.partialHugeAt(end)) {
      this.checkSplittable();
      if (this.fLevel === sLevel && this.fEntryStart === sStart) {
        // Same huge page: its first split is counted; below it, `end` needs its own table at each
        // level where it is not on a boundary and does not share the piece `start` split.
        const g = this.geometry;
        for (let l = sLevel - 1; l >= 2 && end % g.span(l) !== 0; l--) {
          const span = g.span(l);
          const shared = start % span !== 0 && Math.floor(start / span) === Math.floor(end / span);
          if (!shared) need++;
        }
      } else {
        need += this.splitsNeeded(end, this.fLevel);
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

  /**
   * Throws UnencodableEntryError (before anything changes) when the huge leaf `findLeaf` found maps
   * memory the smaller leaves of this mode cannot reach: a PSE-36 4 MiB page above 4 GiB in 32-bit
   * paging cannot become 4 KiB pages (a PTE holds 32 address bits, SDM 4.3).
   */
  protected checkSplittable(): void {
    const A = this.access;
    A.readEntry(this.fLevel, this.fEntryStart, this.fTable, this.fIndex);
    const base = this.geometry.leafAddress(A.lo, A.hi, this.fLevel, this.maskHi);
    const limit = this.leafPaLimit[this.fLevel - 1]!;
    if (base + this.geometry.span(this.fLevel) > limit) {
      throw new UnencodableEntryError(base, `this ${this.geometry.name} huge page cannot be split: its smaller pages would need entries that hold addresses up to ${formatPa(limit)} only`);
    }
  }

  /**
   * Tables needed to make `va` a leaf boundary inside a huge leaf of `level`: one for the leaf,
   * and one more for each level below whose (huge) piece `va` still falls inside.
   */
  protected splitsNeeded(va: number, level: number): number {
    let need = 1;
    for (let l = level - 1; l >= 2 && va % this.geometry.span(l) !== 0; l--) need++;
    return need;
  }

  protected splitAt(va: number): void {
    while (this.partialHugeAt(va)) this.splitLeaf(this.fLevel, this.fTable, this.fIndex, this.fEntryStart);
  }

  /**
   * Replaces the huge leaf at `level` by a table of leaves (512, or 1024 in 32-bit paging) one level down with the same
   * translation and flags (PAT moves from bit 12 to bit 7 when the children are 4 KiB pages).
   */
  protected splitLeaf(level: number, table: number, index: number, es: number): void {
    const A = this.access;
    A.readEntry(level, es, table, index);
    const lo = A.lo;
    const hi = A.hi;
    const flags = this.geometry.entryFlags(lo, hi, true);
    const base = this.geometry.leafAddress(lo, hi, level, this.maskHi);
    const frame = this.splitPool.pop()!;
    this.created.push(frame, level, es, table, index, lo, hi); // undo: the huge leaf comes back
    this.owned.add(frame);
    A.writeEntry(level, es, table, index, this.geometry.encodeLo(frame, this.tableBitsFor(flags) & this.geometry.tableFlagsMask(level), false), this.geometry.encodeHi(frame, 0, this.maskHi));
    const childLevel = level - 1;
    const childSpan = this.geometry.span(childLevel);
    const childFlags = childLevel === 1 ? (flags & 0xf7f) | ((flags & PTE.PatHuge) !== 0 ? PTE.Pat4K : 0) : flags & 0x1fff;
    const hiFlags = hi & HIGH_FLAGS_MASK;
    for (let k = 0, n = this.geometry.entryCount(childLevel); k < n; k++) {
      const p = base + k * childSpan;
      A.writeEntry(childLevel, es + k * childSpan, frame, k, this.geometry.encodeLo(p, childFlags, childLevel !== 1), this.geometry.encodeHi(p, hiFlags, this.maskHi));
    }
    // SDM 4.10.4.2: a page-size change must be invalidated.
    if (this.tlb !== null) this.invlpg(es);
  }
}
