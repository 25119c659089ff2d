// Reading a dump's page tables end to end: scan the graph once (footprint, sharing, loops,
// reserved bits), then list every mapping with x86-paging's collectMappings through a
// TableAccess that hides the entries the scan says a CPU never translates through.
import { collectMappings, type MappingRange } from '@kmem/x86-paging';
import type { DumpPhysicalMemory } from './dump-memory';
import { DumpTableAccess } from './dump-table-access';
import { TableLoopError } from './inspect-errors';
import type { PagingState } from './paging-state';
import { scanTables, type TableScan } from './table-scan';

/** Options of {@link inspectPageTables}. */
export interface InspectOptions {
  /** Merge runs on equal rights alone, as QEMU's `info mem` (frames need not continue each other). */
  readonly protectionOnly?: boolean;
  /** Loops in the tables: 'error' throws {@link TableLoopError}; 'prune' leaves them to the lint. Default 'error'. */
  readonly loops?: 'error' | 'prune';
  /** See {@link ScanTablesOptions.tableVisitBudget}. */
  readonly tableVisitBudget?: number;
}

/** A dump's tables, read. */
export interface PageTableInspection {
  readonly state: PagingState;
  readonly scan: TableScan;
  /** Every mapping, sorted, coalesced (effective rights, leaf cache/G/OS bits). */
  readonly mappings: readonly MappingRange[];
  /** The access used (pruned entries read as not present). */
  readonly access: DumpTableAccess;
}

/**
 * Reads every table reachable from CR3 once, then every mapping.
 * @throws RootOutsideDumpError, TableBudgetError (from the scan), TableLoopError for an entry
 *   pointing back up the tree (a PML4 slot pointing at the PML4 is allowed and skipped), unless `loops: 'prune'`
 */
export function inspectPageTables(memory: DumpPhysicalMemory, state: PagingState, options: InspectOptions = {}): PageTableInspection {
  const scan = scanTables(memory, state.rootPa, {
    maxPhysAddr: state.maxPhysAddr,
    nxe: state.nxe,
    ...(options.tableVisitBudget === undefined ? {} : { tableVisitBudget: options.tableVisitBudget }),
  });
  if (options.loops !== 'prune') {
    const bad = scan.loops.find((l) => !l.recursive);
    if (bad !== undefined) throw new TableLoopError(bad.entry.entryPa, bad.entry.level, bad.targetPa);
  }
  const access = new DumpTableAccess(memory, scan.pruned);
  const mappings = collectMappings(access, state.rootPa, { maxPhysAddr: state.maxPhysAddr, protectionOnly: options.protectionOnly === true });
  return { state, scan, mappings, access };
}
