// Tag-only simulation of set-associative TLBs, several geometries and levels in one pass.
import { TraceOptionError } from './trace-errors';

/** A TLB's shape: `entryCount` entries in sets of `wayCount` ways. */
export interface TlbGeometry {
  /** Entries in total. */
  readonly entryCount: number;
  /** Associativity (ways per set). */
  readonly wayCount: number;
}

/** The default: a 64-entry 4-way L1 dTLB backed by a 1,536-entry 12-way STLB. */
export const DEFAULT_TLB_HIERARCHY: readonly TlbGeometry[] = [
  { entryCount: 64, wayCount: 4 },
  { entryCount: 1536, wayCount: 12 },
];

/**
 * Parses `ENTRIESxWAYS` (`64x4`, `1536x12`) and, for a hierarchy, levels joined by `+`
 * (`64x4+1536x12`: an L1 backed by an L2). Entries must be a multiple of ways.
 * @throws TraceOptionError for anything else
 */
export function parseTlbHierarchy(text: string): TlbGeometry[] {
  const levels = text.split('+').map((part) => {
    const m = /^\s*(\d+)\s*x\s*(\d+)\s*$/i.exec(part);
    if (m === null) throw new TraceOptionError(`TLB geometry ${JSON.stringify(part)} is not ENTRIESxWAYS (e.g. 64x4)`);
    const entryCount = Number(m[1]);
    const wayCount = Number(m[2]);
    checkGeometry({ entryCount, wayCount });
    return { entryCount, wayCount };
  });
  return levels;
}

/** Name of a hierarchy as `parseTlbHierarchy` reads it (`64x4+1536x12`). */
export function formatTlbHierarchy(levels: readonly TlbGeometry[]): string {
  return levels.map((l) => `${l.entryCount}x${l.wayCount}`).join('+');
}

function checkGeometry(g: TlbGeometry): void {
  const { entryCount, wayCount } = g;
  if (!Number.isInteger(entryCount) || !Number.isInteger(wayCount) || wayCount < 1 || entryCount < wayCount || entryCount > 1 << 20 || entryCount % wayCount !== 0) {
    throw new TraceOptionError(`TLB geometry ${entryCount}x${wayCount}: entries must be a multiple of ways, 1..2^20`);
  }
}

/**
 * One hierarchy of set-associative TLBs with true LRU in each set, fed page numbers. A lookup
 * goes to L1; on a miss to L2 and so on; an entry found at level k is filled into every level
 * above it, a miss everywhere is a page walk that fills all levels (non-inclusive: evictions are
 * per level, as Intel's STLB does not back-invalidate the L1). Set index = page number mod sets
 * (Intel indexes its TLBs by the low bits of the page number; for a set count that is not a power
 * of two, (page number mod 2^30) mod sets). Typed arrays only; nothing is
 * allocated per lookup.
 */
export class TlbHierarchySim {
  /** The levels, L1 first. */
  readonly levels: readonly TlbGeometry[];
  /** Lookups that reached each level. */
  readonly lookups: Float64Array;
  /** Hits at each level. */
  readonly hits: Float64Array;
  /** Lookups that missed every level (page walks). */
  walks = 0;
  private readonly tags: Int32Array[];
  private readonly stamps: Float64Array[];
  private readonly setCounts: Int32Array;
  /** setCount - 1 where the set count is a power of two (the set is then `setKey & mask`), else -1. */
  private readonly setMasks: Int32Array;
  private readonly wayCounts: Int32Array;
  private clock = 0;

  /** @throws TraceOptionError for an empty list or a bad geometry */
  constructor(levels: readonly TlbGeometry[]) {
    if (levels.length === 0) throw new TraceOptionError('a TLB hierarchy needs at least one level');
    for (const g of levels) checkGeometry(g);
    this.levels = levels.map((g) => ({ ...g }));
    const n = levels.length;
    this.lookups = new Float64Array(n);
    this.hits = new Float64Array(n);
    this.setCounts = new Int32Array(n);
    this.setMasks = new Int32Array(n);
    this.wayCounts = new Int32Array(n);
    this.tags = [];
    this.stamps = [];
    for (let i = 0; i < n; i++) {
      const g = levels[i]!;
      const sets = g.entryCount / g.wayCount;
      this.setCounts[i] = sets;
      this.setMasks[i] = (sets & (sets - 1)) === 0 ? sets - 1 : -1;
      this.wayCounts[i] = g.wayCount;
      this.tags.push(new Int32Array(g.entryCount).fill(-1));
      this.stamps.push(new Float64Array(g.entryCount));
    }
  }

  /**
   * Looks up a page through the levels: `setKey` picks the set (`setKey mod sets`: give the page
   * number mod 2^30, whose low bits are the page number's), `tag` names the page (its page id, or
   * the page number when below 2^31). Returns the level that hit (0-based) or -1 for a walk.
   */
  access(setKey: number, tag: number): number {
    const n = this.setCounts.length;
    const now = ++this.clock;
    for (let level = 0; level < n; level++) {
      this.lookups[level]!++;
      const ways = this.wayCounts[level]!;
      const base = this.setBase(level, setKey);
      const tags = this.tags[level]!;
      for (let s = base, end = base + ways; s < end; s++) {
        if (tags[s] === tag) {
          this.stamps[level]![s] = now;
          this.hits[level]!++;
          // Fill the levels above that missed.
          for (let l = 0; l < level; l++) this.fill(l, setKey, tag, now);
          return level;
        }
      }
    }
    // A miss at every level: a page walk, which fills them all.
    this.walks++;
    for (let l = 0; l < n; l++) this.fill(l, setKey, tag, now);
    return -1;
  }

  /**
   * Counts `count` more L1 hits on the page accessed last (a repeated access to the MRU page
   * changes no LRU order, so the caller may batch them).
   */
  repeatHits(count: number): void {
    this.lookups[0]! += count;
    this.hits[0]! += count;
  }

  /** First slot of the set `setKey` falls in at `level`. */
  private setBase(level: number, setKey: number): number {
    const mask = this.setMasks[level]!;
    return (mask >= 0 ? setKey & mask : setKey % this.setCounts[level]!) * this.wayCounts[level]!;
  }

  private fill(level: number, setKey: number, tag: number, now: number): void {
    const ways = this.wayCounts[level]!;
    const base = this.setBase(level, setKey);
    const tags = this.tags[level]!;
    const stamps = this.stamps[level]!;
    let victim = base;
    let oldest = Infinity;
    for (let w = 0; w < ways; w++) {
      const s = base + w;
      if (tags[s] === -1) {
        victim = s;
        break;
      }
      if (stamps[s]! < oldest) {
        oldest = stamps[s]!;
        victim = s;
      }
    }
    tags[victim] = tag;
    stamps[victim] = now;
  }
}
