// Reading a page-table tree for people: one address's walk level by level (what the MMU does,
// SDM 4.5, Figure 4-8), and the whole tree coalesced into ranges (Linux's ptdump, QEMU's
// `info mem`). Both allocate their results; neither is a hot path. Both go through a
// TableAccess, so they work with every way the kernel reaches its tables.
import { show } from './show-value';
import { formatPa } from './api';
import { DEFAULT_MAX_PHYS_ADDR, PTE, addressMaskHi, flagNames, formatAccess, type DecodedEntry } from './entry';
import { FOUR_LEVEL_GEOMETRY } from './four-level-geometry';
import type { PagingGeometry } from './paging-geometry';
import type { TableAccess } from './table-access';

/** One level of a walk: which table, which entry, and the entry decoded. */
export interface WalkStep {
  /** 4 = PML4, 3 = PDPT, 2 = PD, 1 = PT. */
  readonly level: number;
  /** 'PML4', 'PDPT', 'PD' or 'PT'. */
  readonly levelName: string;
  /** Physical frame of the table read at this level. */
  readonly tableFrame: number;
  /** Index of the entry used (0..511), from the va's bits for this level. */
  readonly index: number;
  /** Physical address of the entry itself (`tableFrame + index * 8`). */
  readonly entryPa: number;
  /** The entry, decoded. */
  readonly entry: DecodedEntry;
}

/**
 * Walks the tables for `va` from `root` as the MMU would, returning every entry it reads; stops
 * at a non-present entry or a leaf. Does not set A/D bits and does not check permissions.
 * @param root physical frame of the PML4 (CR3's address field)
 * @param va linear address (any byte; only bits 47:12 matter)
 */
export function walkTables(access: TableAccess, root: number, va: number, maxPhysAddr = DEFAULT_MAX_PHYS_ADDR, geometry: PagingGeometry = FOUR_LEVEL_GEOMETRY): WalkStep[] {
  const g = geometry;
  const maskHi = addressMaskHi(maxPhysAddr);
  const steps: WalkStep[] = [];
  let table = root;
  for (let level = g.topLevel; level >= 1; level--) {
    const index = g.index(va, level);
    access.readEntry(level, va, table, index);
    const entry = decodeEntryIn(g, access.lo, access.hi, level, maxPhysAddr);
    steps.push({ level, levelName: g.levelName(level), tableFrame: table, index, entryPa: table + index * g.entryBytes, entry });
    if (!entry.present || entry.leaf || level === 1) break;
    table = g.entryAddress(access.lo, access.hi, maskHi);
  }
  return steps;
}

/**
 * Decodes an entry of `level` in the paging mode of `geometry`. Pure; allocates the result.
 * @param maxPhysAddr physical address width (32..52)
 */
export function decodeEntryIn(geometry: PagingGeometry, lo: number, hi: number, level: number, maxPhysAddr = DEFAULT_MAX_PHYS_ADDR): DecodedEntry {
  const g = geometry;
  const maskHi = addressMaskHi(maxPhysAddr);
  const present = (lo & PTE.Present) !== 0;
  const huge = level !== 1 && ((g.hugeLevels >>> level) & 1) !== 0 && (lo & PTE.HugePage) !== 0;
  const leaf = present && (level === 1 || huge);
  const flags = g.entryFlags(lo, hi, huge);
  return {
    level,
    lo: lo >>> 0,
    hi: hi >>> 0,
    present,
    leaf,
    pageSizeBytes: leaf ? g.span(level) : 0,
    pa: huge ? g.leafAddress(lo, hi, level, maskHi) : g.entryAddress(lo, hi, maskHi),
    flags,
    flagNames: flagNames(flags, level, huge),
    reserved: present ? g.reservedBits(lo, hi, level, maskHi) : 0,
  };
}

/**
 * Decodes a 4-level paging entry of `level` (4 = PML4E, 3 = PDPTE, 2 = PDE, 1 = PTE). Pure;
 * allocates the result. For other modes see {@link decodeEntryIn}.
 * @param maxPhysAddr physical address width (32..52)
 */
export function decodeEntry(lo: number, hi: number, level: number, maxPhysAddr = DEFAULT_MAX_PHYS_ADDR): DecodedEntry {
  return decodeEntryIn(FOUR_LEVEL_GEOMETRY, lo, hi, level, maxPhysAddr);
}

/** Short name of a page size: '4K', '2M', '4M', '1G'. */
export function pageSizeLabel(pageSizeBytes: number): string {
  return pageSizeBytes >= 1073741824 ? `${pageSizeBytes / 1073741824}G` : pageSizeBytes >= 1048576 ? `${pageSizeBytes / 1048576}M` : `${pageSizeBytes / 1024}K`;
}

/**
 * Multi-line text of a walk, one line per level, for teaching (`vaText`: the address as printed,
 * when `va` cannot hold it exactly — a 5-level byte above 2^53):
 * `PML4[256] @0x1000 = 0x0000_0000_0000_2003 -> table 0x2000  P RW`.
 */
export function formatWalk(va: number, steps: readonly WalkStep[], geometry: PagingGeometry = FOUR_LEVEL_GEOMETRY, vaText: string = geometry.formatVa(va)): string {
  // 4-level paging, the default, prints as it always did; other modes say which they are.
  const lines = [`walk of ${vaText}${geometry === FOUR_LEVEL_GEOMETRY ? '' : ` (${geometry.name} paging)`}`];
  for (const s of steps) {
    const h = s.entry.hi.toString(16).padStart(8, '0');
    const l = s.entry.lo.toString(16).padStart(8, '0');
    // An entry as the mode stores it: 4 bytes in 32-bit paging, 8 otherwise.
    const raw = geometry.entryBytes === 4 ? `0x${l.slice(0, 4)}_${l.slice(4)}` : `0x${h.slice(0, 4)}_${h.slice(4)}_${l.slice(0, 4)}_${l.slice(4)}`;
    const what = !s.entry.present ? 'not present' : s.entry.leaf ? `-> ${pageSizeLabel(s.entry.pageSizeBytes)} page ${formatPa(s.entry.pa)}` : `-> table ${formatPa(s.entry.pa)}`;
    lines.push(`  ${s.levelName.padEnd(4)}[${show(s.index).padStart(3)}] @${formatPa(s.entryPa)} = ${raw} ${what}  ${s.entry.flagNames.join(' ')}${s.entry.reserved !== 0 ? '  RESERVED BITS SET' : ''}`);
  }
  return lines.join('\n');
}

/** A run of virtual pages with one meaning, as `mappings()` reports it. */
export interface MappingRange {
  /** First linear address of the run. */
  readonly start: number;
  /** Linear address just past the run (exclusive). */
  readonly end: number;
  /** Physical address `start` maps to; the run maps `[pa, pa + (end - start))` contiguously unless `protectionOnly`. */
  readonly pa: number;
  /**
   * Effective flags word: R/W and U/S are ANDed over all four levels, NX ORed (SDM 4.6); other
   * bits from the leaf; A and D are cleared (they differ page by page and are not protections).
   */
  readonly flags: number;
  /** Size of the pages in the run: 4096, 2 MiB or 1 GiB. */
  readonly pageSizeBytes: number;
}

/** Options of {@link collectMappings}. */
export interface CollectMappingsOptions {
  /** Physical address width (32..52). Default 52. */
  readonly maxPhysAddr?: number;
  /** Table layout of the paging mode (default 4-level). */
  readonly geometry?: PagingGeometry;
  /** PML4 slots to skip (a recursive slot would otherwise list every table as a page). */
  readonly skipPml4Slots?: readonly number[];
  /**
   * Merge adjacent pages with equal flags even when their frames are not contiguous or their
   * page sizes differ, as QEMU's `info mem` does (`pa` and `pageSizeBytes` are then the first page's).
   */
  readonly protectionOnly?: boolean;
}

const RW_US = PTE.Writable | PTE.User;

/**
 * The whole tree from `root` as sorted, coalesced ranges. Adjacent leaves merge when their
 * effective flags (without A/D) are equal, their frames continue each other and their page sizes
 * match (or always on equal flags with `protectionOnly`). Never merges across the
 * non-canonical hole. Allocates one object per range.
 */
export function collectMappings(access: TableAccess, root: number, options: CollectMappingsOptions = {}): MappingRange[] {
  const maskHi = addressMaskHi(options.maxPhysAddr ?? DEFAULT_MAX_PHYS_ADDR);
  const g = options.geometry ?? FOUR_LEVEL_GEOMETRY;
  const top = g.topLevel;
  const skip = new Set(options.skipPml4Slots ?? []);
  const protectionOnly = options.protectionOnly === true;
  const out: MappingRange[] = [];
  let curStart = -1;
  let curEnd = -1;
  let curPa = 0;
  let curNextPa = 0;
  let curFlags = 0;
  let curSize = 0;

  const flush = (): void => {
    if (curStart >= 0) out.push({ start: curStart, end: curEnd, pa: curPa, flags: curFlags, pageSizeBytes: curSize });
    curStart = -1;
  };
  const emit = (va: number, pa: number, sizeBytes: number, flags: number): void => {
    if (
      curStart >= 0 &&
      curEnd === va &&
      va !== g.upperHalfStart &&
      curFlags === flags &&
      (protectionOnly || (curNextPa === pa && curSize === sizeBytes))
    ) {
      curEnd = va + sizeBytes;
      curNextPa = pa + sizeBytes;
      return;
    }
    flush();
    curStart = va;
    curEnd = va + sizeBytes;
    curPa = pa;
    curNextPa = pa + sizeBytes;
    curFlags = flags;
    curSize = sizeBytes;
  };

  const visit = (level: number, table: number, base: number, andRwUs: number, orNx: number): void => {
    const span = g.span(level);
    for (let i = 0, n = g.entryCount(level); i < n; i++) {
      if (level === top && skip.has(i)) continue;
      const va = base + i * span;
      if (va >= g.linearLimit) break;
      access.readEntry(level, va, table, i);
      const lo = access.lo;
      const hi = access.hi;
      if ((lo & PTE.Present) === 0) continue;
      const rwUs = andRwUs & (lo | g.impliedRights(level));
      const nx = orNx | (hi & 0x8000_0000);
      const huge = ((g.hugeLevels >>> level) & 1) !== 0 && (lo & PTE.HugePage) !== 0;
      if (level === 1 || huge) {
        const f = (g.entryFlags(lo, hi, huge) & ~(RW_US | PTE.Accessed | PTE.Dirty | PTE.NoExecute)) | (rwUs & RW_US) | nx;
        emit(va, g.leafAddress(lo, hi, level, maskHi), span, f);
      } else if (level > 1) {
        visit(level - 1, g.entryAddress(lo, hi, maskHi), va, rwUs, nx);
      }
    }
  };
  visit(top, root, 0, RW_US, 0);
  flush();
  return out;
}

/**
 * Text of `collectMappings` in the style of QEMU's `info mem`, one range per line:
 * `0xffff_8000_0000_0000-0xffff_8000_0020_0000 0x20_0000 -rw- 2M -> 0x20_0000`
 * (start-end, size, u/- r w/- x/-, page size, first physical address).
 */
export function formatMappings(ranges: readonly MappingRange[], geometry: PagingGeometry = FOUR_LEVEL_GEOMETRY): string {
  return ranges
    .map((r) => {
      // The exclusive end of a range ending at a half's top is not itself canonical: spell it out.
      return `${geometry.formatVa(r.start)}-${geometry.formatEnd(r.end)} ${formatPa(r.end - r.start)} ${formatAccess(r.flags)} ${pageSizeLabel(r.pageSizeBytes)} -> ${formatPa(r.pa)}`;
    })
    .join('\n');
}
