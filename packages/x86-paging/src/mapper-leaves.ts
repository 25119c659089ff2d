// Writing leaves, generic over the paging mode: mapping a range (4 KiB or huge leaves), widening
// table entries under the 'leaf' policy, rewriting flags, and clearing a range (unmap), each
// change logged for undo (mapper-undo.ts) and each changed present leaf INVLPGed.
import { PTE, HIGH_FLAGS_MASK } from './entry';
import { MapperTables } from './mapper-tables';
import { ZERO_RUN } from './mapper-undo';

const TWO_32 = 4294967296;
const PAGE_SIZE_4K = 4096;
const P = PTE.Present;
const PS = PTE.HugePage;
const AD = PTE.Accessed | PTE.Dirty;

/** A run of removed pages while `unmapPages` collects them (the mutable form of UnmappedRange). */
export interface MutableUnmapped {
  va: number;
  pa: number;
  sizeBytes: number;
  flags: number;
  pageSizeBytes: number;
}

/** Third layer of {@link Mapper}: writing, re-flagging and clearing leaves. Not used on its own. */
export abstract class MapperLeaves extends MapperTables {
  /**
   * Writes leaves of `leafLevel` over [start, end) mapping va to va + delta. Tables exist. Undo:
   * one ZERO_RUN record per page table (the 4 KiB entries were not present: zero, or markers
   * noted by validateFree), one record per huge leaf (its old value).
   */
  protected writeLeaves(level: number, table: number, start: number, end: number, leafLevel: number, delta: number, f: number): void {
    const A = this.access;
    const span = this.geometry.span(level);
    let es = start - (start % span);
    let i = this.geometry.index(start, level);
    if (level > leafLevel) {
      for (; es < end; es += span, i++) {
        A.readEntry(level, es, table, i);
        this.writeLeaves(level - 1, this.geometry.entryAddress(A.lo, A.hi, this.maskHi), es > start ? es : start, es + span < end ? es + span : end, leafLevel, delta, f);
      }
      return;
    }
    if (level === 1) {
      const pageCount = (end - start) / PAGE_SIZE_4K;
      this.journal(1, start, table, i, ZERO_RUN, pageCount);
      this.writeLeafRun(table, i, start, pageCount, start + delta, f);
      return;
    }
    const maskHi = this.maskHi;
    const hiFlags = f & HIGH_FLAGS_MASK;
    const loFlags = (f & 0x1f7f) | P | PS;
    for (; es < end; es += span, i++) {
      A.readEntry(level, es, table, i);
      const oldLo = A.lo;
      const oldHi = A.hi;
      // An empty table (validated: no present leaf below) gives way to the huge page; its
      // tables are freed once the call has succeeded (SDM 4.10.4.2: then INVLPG, below).
      if ((oldLo & P) !== 0) this.collectSubtree(level - 1, this.geometry.entryAddress(oldLo, oldHi, this.maskHi), es);
      this.journal(level, es, table, i, oldLo, oldHi);
      const pa = es + delta;
      A.writeEntry(level, es, table, i, this.geometry.encodeLo(pa, loFlags, true), this.geometry.encodeHi(pa, hiFlags, maskHi));
      if ((oldLo & P) !== 0 && this.tlb !== null) this.invlpg(es);
    }
  }

  /**
   * Writes `pageCount` present 4 KiB leaves into page table `table` from entry `i` on (the first
   * serving `va`), mapping consecutive frames from `pa` with flags `f`. Its own small function, so
   * the JIT compiles this loop on its own whatever else `writeLeaves` holds; with strategy (a) it
   * writes the table's words straight into `frameWords` (one bounds check per table, not two
   * `write32` checks per entry), as `PhysicalTableAccess.writeEntry` would, byte for byte.
   */
  private writeLeafRun(table: number, i: number, va: number, pageCount: number, pa: number, f: number): void {
    const loFlags = (f & 0xfff) | P;
    const hiFlags = f & HIGH_FLAGS_MASK;
    const maskHi = this.maskHi;
    let paLo = pa % TWO_32;
    let paHi = (pa - paLo) / TWO_32;
    const direct = this.directTables;
    if (direct !== null) {
      const words = direct.frameWords(table);
      const entryWords = this.entryWords;
      let w = i * entryWords;
      for (let n = 0; n < pageCount; n++, w += entryWords) {
        words[w] = paLo | loFlags;
        if (entryWords === 2) words[w + 1] = (paHi & maskHi) | hiFlags;
        paLo += PAGE_SIZE_4K;
        if (paLo === TWO_32) {
          paLo = 0;
          paHi++;
        }
      }
      return;
    }
    const A = this.access;
    for (let n = 0; n < pageCount; n++, va += PAGE_SIZE_4K, i++) {
      A.writeEntry(1, va, table, i, (paLo | loFlags) >>> 0, ((paHi & maskHi) | hiFlags) >>> 0);
      paLo += PAGE_SIZE_4K;
      if (paLo === TWO_32) {
        paLo = 0;
        paHi++;
      }
    }
  }

  /** Lists in `toFree` every owned table of a subtree that holds no present leaf (freed by `finish`). */
  protected collectSubtree(level: number, table: number, base: number): void {
    if (level > 1) {
      const A = this.access;
      const span = this.geometry.span(level);
      for (let i = 0, n = this.geometry.entryCount(level); i < n; i++) {
        const va = base + i * span;
        A.readEntry(level, va, table, i);
        if ((A.lo & P) !== 0 && !this.isHuge(level, A.lo)) this.collectSubtree(level - 1, this.geometry.entryAddress(A.lo, A.hi, this.maskHi), va);
      }
    }
    if (this.owned.has(table)) this.toFree.push(table);
  }

  /** 'leaf' policy: ORs `tableBits` into every table entry above the leaves over [start, end). */
  protected widen(level: number, table: number, start: number, end: number, leafLevel: number, tableBits: number): void {
    const A = this.access;
    const span = this.geometry.span(level);
    let es = start - (start % span);
    let i = this.geometry.index(start, level);
    for (; es < end; es += span, i++) {
      A.readEntry(level, es, table, i);
      const lo = A.lo;
      const hi = A.hi;
      if ((lo & P) === 0 || this.isHuge(level, lo)) continue;
      const bits = tableBits & this.geometry.tableFlagsMask(level); // none for PAE's PDPTEs
      if ((lo & bits) !== bits) {
        this.journal(level, es, table, i, lo, hi);
        A.writeEntry(level, es, table, i, (lo | bits) >>> 0, hi);
      }
      if (level - 1 > leafLevel) this.widen(level - 1, this.geometry.entryAddress(lo, hi, this.maskHi), es > start ? es : start, es + span < end ? es + span : end, leafLevel, tableBits);
    }
  }

  /** Rewrites the flags of every leaf in [start, end) (edges already split), logging old values. */
  protected rewriteFlags(level: number, table: number, start: number, end: number, f: number): void {
    const A = this.access;
    const span = this.geometry.span(level);
    let es = start - (start % span);
    let i = this.geometry.index(start, level);
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
          if (this.tlb !== null) this.invlpg(es);
        }
      }
      return;
    }
    for (; es < end; es += span, i++) {
      A.readEntry(level, es, table, i);
      const lo = A.lo;
      const hi = A.hi;
      const huge = this.isHuge(level, lo);
      if (level === 1 || huge) {
        const loFlags = level === 1 ? (f & 0xfff) | P : (f & 0x1f7f) | P | PS;
        const nlo = ((lo & this.geometry.leafLoAddressMask(level)) | loFlags | (lo & AD)) >>> 0;
        const nhi = ((hi & this.maskHi) | (f & HIGH_FLAGS_MASK)) >>> 0;
        if (nlo !== lo || nhi !== hi) {
          this.journal(level, es, table, i, lo, hi);
          A.writeEntry(level, es, table, i, nlo, nhi);
          if (this.tlb !== null) this.invlpg(es);
        }
      } else {
        this.rewriteFlags(level - 1, this.geometry.entryAddress(lo, hi, this.maskHi), es > start ? es : start, es + span < end ? es + span : end, f);
      }
    }
  }

  /**
   * Zeroes every leaf in [start, end) (edges already split), recording the present ones. Undo: a
   * SAVED_RUN per page table (old value of every entry visited), a record per other entry
   * cleared; emptied tables are unlinked now and freed by `finish`.
   */
  protected clearRange(level: number, table: number, start: number, end: number, out: MutableUnmapped[], freeTables: boolean): void {
    const A = this.access;
    const span = this.geometry.span(level);
    let es = start - (start % span);
    let i = this.geometry.index(start, level);
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
        this.record(out, es, this.geometry.entryAddress(lo, hi, this.maskHi), PAGE_SIZE_4K, this.geometry.entryFlags(lo, hi, false));
        A.writeEntry(1, es, table, i, 0, 0);
        if (this.tlb !== null) this.invlpg(es);
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
      if (this.isHuge(level, lo)) {
        // A huge leaf: wholly inside the range once the edges are split.
        this.record(out, es, this.geometry.leafAddress(lo, hi, level, this.maskHi), span, this.geometry.entryFlags(lo, hi, true));
        this.journal(level, es, table, i, lo, hi);
        A.writeEntry(level, es, table, i, 0, 0);
        if (this.tlb !== null) this.invlpg(es);
        continue;
      }
      const child = this.geometry.entryAddress(lo, hi, this.maskHi);
      this.clearRange(level - 1, child, es > start ? es : start, es + span < end ? es + span : end, out, freeTables);
      if (freeTables && this.owned.has(child) && !this.pinned.has(child) && this.isEmptyTable(level - 1, child, es)) {
        this.journal(level, es, table, i, lo, hi);
        A.writeEntry(level, es, table, i, 0, 0);
        this.toFree.push(child);
        if (this.tlb !== null) this.invlpg(es);
      }
    }
  }

  protected isEmptyTable(level: number, table: number, va: number): boolean {
    const A = this.access;
    for (let i = 0, n = this.geometry.entryCount(level); i < n; i++) {
      A.readEntry(level, va, table, i);
      if ((A.lo | A.hi) !== 0) return false;
    }
    return true;
  }

  protected record(out: MutableUnmapped[], va: number, pa: number, sizeBytes: number, flags: number): void {
    const last = out.length > 0 ? out[out.length - 1]! : null;
    if (last !== null && last.va + last.sizeBytes === va && last.pa + last.sizeBytes === pa && last.flags === flags && last.pageSizeBytes === sizeBytes) {
      last.sizeBytes += sizeBytes;
      return;
    }
    out.push({ va, pa, sizeBytes, flags, pageSizeBytes: sizeBytes });
  }
}
