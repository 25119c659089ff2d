// Two dumps' mappings side by side (before and after a change to a kernel): which ranges were
// added, removed, or changed (rights, frames, page size, memory type, global, OS bits). A sweep
// over both sorted lists: cost follows the number of ranges, never the size of the address space.
import { PTE, formatAccess, formatPa, formatVa, type MappingRange } from '@kmem/x86-paging';
import { PAT_POWER_ON, cacheTypeName, patIndex } from './cache-type';
import { formatEnd, pageSizeLabel } from './mapping-view';

/** What happened to a range. */
export type DiffKind = 'added' | 'removed' | 'changed';

/** One piece of the difference. */
export interface MappingDiffEntry {
  readonly kind: DiffKind;
  /** Linear range (48-bit form, end exclusive). */
  readonly start: number;
  /** Exclusive end (48-bit form). */
  readonly end: number;
  /** The mapping before (removed, changed) and after (added, changed), restricted to the range. */
  readonly before: MappingRange | null;
  /** The mapping after (added, changed), restricted to the range. */
  readonly after: MappingRange | null;
  /** For 'changed': what differs, e.g. `rights -rw- -> -r--`, `frames`, `page size 4K -> 2M`. */
  readonly changes: readonly string[];
}

const RIGHTS = PTE.Writable | PTE.User | PTE.NoExecute;

function piece(m: MappingRange, start: number, end: number): MappingRange {
  return { start, end, pa: m.pa + (start - m.start), flags: m.flags, pageSizeBytes: m.pageSizeBytes };
}

function describeChanges(a: MappingRange, b: MappingRange, pat: readonly [number, number]): string[] {
  const c: string[] = [];
  if ((a.flags & RIGHTS) !== (b.flags & RIGHTS)) c.push(`rights ${formatAccess(a.flags)} -> ${formatAccess(b.flags)}`);
  if (a.pa !== b.pa) c.push(`frames ${formatPa(a.pa)} -> ${formatPa(b.pa)}`);
  if (a.pageSizeBytes !== b.pageSizeBytes) c.push(`page size ${pageSizeLabel(a.pageSizeBytes)} -> ${pageSizeLabel(b.pageSizeBytes)}`);
  const ta = cacheTypeName(patIndex(a.flags, a.pageSizeBytes), pat);
  const tb = cacheTypeName(patIndex(b.flags, b.pageSizeBytes), pat);
  if (ta !== tb) c.push(`memory type ${ta} -> ${tb}`);
  if ((a.flags & PTE.Global) !== (b.flags & PTE.Global)) c.push((b.flags & PTE.Global) !== 0 ? 'global set' : 'global cleared');
  const osMask = 0xe00 | 0x7ff0_0000;
  if ((a.flags & osMask) !== (b.flags & osMask)) c.push('OS bits');
  return c;
}

/**
 * The difference from `before` to `after` (each sorted and non-overlapping, as `mappings()`
 * returns them). Adjacent pieces of the same kind and the same changes are merged.
 * @param pat IA32_PAT as [low, high] halves, to compare memory types
 */
export function diffMappings(before: readonly MappingRange[], after: readonly MappingRange[], pat: readonly [number, number] = PAT_POWER_ON): MappingDiffEntry[] {
  const out: MappingDiffEntry[] = [];
  const push = (kind: DiffKind, start: number, end: number, wholeA: MappingRange | null, wholeB: MappingRange | null): void => {
    const a = wholeA === null ? null : piece(wholeA, start, end);
    const b = wholeB === null ? null : piece(wholeB, start, end);
    const changes = a !== null && b !== null ? describeChanges(a, b, pat) : [];
    if (kind === 'changed' && changes.length === 0) return;
    const last = out[out.length - 1];
    const label = changes.map((c) => c.replace(/0x[0-9a-f_]+ -> 0x[0-9a-f_]+/, 'frames')).join(';');
    if (last !== undefined && last.kind === kind && last.end === start && last.changes.map((c) => c.replace(/0x[0-9a-f_]+ -> 0x[0-9a-f_]+/, 'frames')).join(';') === label) {
      out[out.length - 1] = {
        ...last,
        end,
        before: last.before === null || a === null ? last.before : { ...last.before, end },
        after: last.after === null || b === null ? last.after : { ...last.after, end },
      };
      return;
    }
    out.push({ kind, start, end, before: a, after: b, changes });
  };
  let i = 0;
  let j = 0;
  let at = 0;
  while (i < before.length || j < after.length) {
    const a = before[i];
    const b = after[j];
    const aStart = a === undefined ? Infinity : Math.max(a.start, at);
    const bStart = b === undefined ? Infinity : Math.max(b.start, at);
    const start = Math.min(aStart, bStart);
    const inA = a !== undefined && aStart === start;
    const inB = b !== undefined && bStart === start;
    // The piece ends at the nearest boundary of either list.
    let end = Infinity;
    if (inA) end = Math.min(end, a.end);
    else if (a !== undefined) end = Math.min(end, a.start);
    if (inB) end = Math.min(end, b.end);
    else if (b !== undefined) end = Math.min(end, b.start);
    if (inA && inB) push('changed', start, end, a, b);
    else if (inA) push('removed', start, end, a, null);
    else push('added', start, end, null, b!);
    at = end;
    if (a !== undefined && a.end <= at) i++;
    if (b !== undefined && b.end <= at) j++;
  }
  return out;
}

/** Text of a diff: `+ range  rights size -> pa`, `- ...`, `~ range  changes`. */
export function formatMappingDiff(entries: readonly MappingDiffEntry[]): string {
  return entries
    .map((e) => {
      const range = `${formatVa(e.start)}-${formatEnd(e.end)}`;
      const m = e.after ?? e.before!;
      const desc = `${formatAccess(m.flags)} ${pageSizeLabel(m.pageSizeBytes)} -> ${formatPa(m.pa)}`;
      if (e.kind === 'added') return `+ ${range}  ${desc}`;
      if (e.kind === 'removed') return `- ${range}  ${desc}`;
      return `~ ${range}  ${e.changes.join(', ')}`;
    })
    .join('\n');
}
