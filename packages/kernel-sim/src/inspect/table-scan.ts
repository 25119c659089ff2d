// One pass over the page-table graph of a dump, each table read once, level by level from CR3:
// the tables' footprint, tables reached twice, entries pointing back up the tree, table pointers
// leaving the dump, and present entries with reserved bits. It decides which entries a listing
// must not follow (a CPU never translates through them, or following them would misread a table
// as another level) and bounds what a listing will cost before it starts: never a hang.
import { PTE, addressMaskHi, entryAddress, levelSpan, reservedBits } from '@kmem/x86-paging';
import type { DumpPhysicalMemory } from './dump-memory';
import { RootOutsideDumpError, TableBudgetError } from './inspect-errors';

/** One entry of one table, as found in the dump. */
export interface EntryRef {
  /** Level of the table holding it: 4 = PML4, 3 = PDPT, 2 = PD, 1 = PT. */
  readonly level: number;
  /** Physical address of the entry. */
  readonly entryPa: number;
  /** First linear address the entry translates (48-bit form). */
  readonly va: number;
  /** Low half (bits 31:0) of the raw entry, u32. */
  readonly lo: number;
  /** High half (bits 63:32) of the raw entry, u32. */
  readonly hi: number;
}

/** A table found in the tree. */
export interface TableRef {
  /** Physical address of the table. */
  readonly frame: number;
  /** Level it is used at. */
  readonly level: number;
  /** First linear address it translates (its first reach). */
  readonly va: number;
}

/** A table reached from more than one entry. */
export interface SharedTable {
  /** Physical address of the table. */
  readonly frame: number;
  /** Level it is used at. */
  readonly level: number;
  /** Every entry pointing at it. */
  readonly refs: readonly EntryRef[];
}

/** An entry pointing at a table used at its own or a higher level. */
export interface TableLoop {
  /** The entry pointing back up. */
  readonly entry: EntryRef;
  /** The table it points at. */
  readonly targetPa: number;
  /** A PML4 entry pointing at the PML4: the recursive-mapping design (legitimate). */
  readonly recursive: boolean;
}

/** What {@link scanTables} finds. */
export interface TableScan {
  /** Physical address of the root (PML4). */
  readonly rootPa: number;
  /** Every table once, root first, then level by level. */
  readonly tables: readonly TableRef[];
  /** Tables per level: index 1 = PT ... 4 = PML4. */
  readonly tableCountByLevel: readonly number[];
  readonly shared: readonly SharedTable[];
  readonly loops: readonly TableLoop[];
  /** Table pointers to frames the dump does not hold. */
  readonly outsideDump: readonly { readonly entry: EntryRef; readonly targetPa: number }[];
  /** Present entries with reserved bits set (`mask` as x86-paging's `reservedBits`). */
  readonly reserved: readonly { readonly entry: EntryRef; readonly mask: number }[];
  /** Present leaves by page size. */
  readonly leafCount: { readonly page4K: number; readonly page2M: number; readonly page1G: number };
  /** Entry addresses a listing must treat as not present (loops, outside the dump, reserved bits). */
  readonly pruned: ReadonlySet<number>;
  /** Tables a full listing reads, counting a shared table once per reach. */
  readonly tableVisits: number;
}

/** Options of {@link scanTables}. */
export interface ScanTablesOptions {
  /** Physical address width (36..52). Default 52. */
  readonly maxPhysAddr?: number;
  /** EFER.NXE: without it bit 63 is reserved. Default true. */
  readonly nxe?: boolean;
  /** Most table reads a listing may need. Default {@link DEFAULT_TABLE_VISIT_BUDGET}. */
  readonly tableVisitBudget?: number;
}

/** 2^17 table reads (64 M entries): far above any real kernel's tables, well under a second of work. */
export const DEFAULT_TABLE_VISIT_BUDGET = 1 << 17;

interface Node {
  readonly frame: number;
  readonly level: number;
  readonly va: number;
  readonly children: number[];
  /** The entry that reached it first (null for the root). */
  readonly first: EntryRef | null;
  refs: EntryRef[] | null;
}

/**
 * Scans the tree from `rootPa`. Cost: one read of each distinct table (512 entries each).
 * @throws RootOutsideDumpError if the root table is not in the dump
 * @throws TableBudgetError if a listing would read more tables than the budget
 */
export function scanTables(memory: DumpPhysicalMemory, rootPa: number, options: ScanTablesOptions = {}): TableScan {
  const maskHi = addressMaskHi(options.maxPhysAddr ?? 52);
  const nxe = options.nxe ?? true;
  if (!memory.containsRange(rootPa, 4096)) throw new RootOutsideDumpError(rootPa);
  const nodes: Node[] = [{ frame: rootPa, level: 4, va: 0, children: [], first: null, refs: null }];
  /** frame -> highest level it is used at (first reach decides; all levels >= current are known when checked). */
  const usedAt = new Map<number, number>([[rootPa, 4]]);
  const shared: SharedTable[] = [];
  const loops: TableLoop[] = [];
  const outsideDump: { entry: EntryRef; targetPa: number }[] = [];
  const reserved: { entry: EntryRef; mask: number }[] = [];
  const pruned = new Set<number>();
  const counts = [0, 0, 0, 0, 0];
  const leaves = { page4K: 0, page2M: 0, page1G: 0 };
  let levelStart = 0;
  for (let level = 4; level >= 1; level--) {
    const levelEnd = nodes.length;
    const next = new Map<number, number>();
    for (let n = levelStart; n < levelEnd; n++) {
      const node = nodes[n]!;
      counts[level]!++;
      const w = memory.frameWords(node.frame);
      const span = levelSpan(level);
      for (let i = 0; i < 512; i++) {
        const lo = w[i * 2]!;
        if ((lo & PTE.Present) === 0) continue;
        const hi = w[i * 2 + 1]!;
        const entryPa = node.frame + i * 8;
        const ref = (): EntryRef => ({ level, entryPa, va: node.va + i * span, lo, hi });
        const rsvd = reservedBits(lo, hi, level, maskHi, nxe);
        if (rsvd !== 0) {
          // SDM 4.7: a walk through this entry faults with RSVD = 1; nothing below it translates.
          reserved.push({ entry: ref(), mask: rsvd });
          pruned.add(entryPa);
          continue;
        }
        const leaf = level === 1 || (level !== 4 && (lo & PTE.HugePage) !== 0);
        if (leaf) {
          if (level === 1) leaves.page4K++;
          else if (level === 2) leaves.page2M++;
          else leaves.page1G++;
          continue;
        }
        const target = entryAddress(lo, hi, maskHi);
        const higher = usedAt.get(target);
        if (higher !== undefined && higher >= level) {
          loops.push({ entry: ref(), targetPa: target, recursive: level === 4 && target === rootPa });
          pruned.add(entryPa);
          continue;
        }
        if (!memory.containsRange(target, 4096)) {
          outsideDump.push({ entry: ref(), targetPa: target });
          pruned.add(entryPa);
          continue;
        }
        let child = next.get(target);
        if (child === undefined) {
          child = nodes.length;
          nodes.push({ frame: target, level: level - 1, va: node.va + i * span, children: [], first: ref(), refs: null });
          next.set(target, child);
          if (!usedAt.has(target)) usedAt.set(target, level - 1);
        } else {
          const c = nodes[child]!;
          if (c.refs === null) {
            c.refs = [c.first!];
            shared.push({ frame: c.frame, level: c.level, refs: c.refs });
          }
          c.refs.push(ref());
        }
        node.children.push(child);
      }
    }
    levelStart = levelEnd;
  }
  // Reads a listing makes: a table once per path to it (children always sit at a lower level,
  // so one bottom-up pass over the nodes in reverse BFS order counts every path).
  const visits = new Float64Array(nodes.length);
  for (let n = nodes.length - 1; n >= 0; n--) {
    let v = 1;
    for (const c of nodes[n]!.children) v += visits[c]!;
    visits[n] = v;
  }
  const budget = options.tableVisitBudget ?? DEFAULT_TABLE_VISIT_BUDGET;
  if (visits[0]! > budget) throw new TableBudgetError(visits[0]!, budget);
  return {
    rootPa,
    tables: nodes.map((n) => ({ frame: n.frame, level: n.level, va: n.va })),
    tableCountByLevel: counts,
    shared,
    loops,
    outsideDump,
    reserved,
    leafCount: leaves,
    pruned,
    tableVisits: visits[0]!,
  };
}
