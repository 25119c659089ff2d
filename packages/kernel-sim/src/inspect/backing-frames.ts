// Which physical frames back a virtual range: the mappings clipped to it, in order, with the
// unmapped gaps. Cost follows the number of mappings (binary search for the first).
import type { MappingRange } from '@kmem/x86-paging';

/** A piece of a virtual range: mapped to `[pa, pa + (end - start))`, or not mapped (`pa` null). */
export interface BackingPiece {
  /** First linear address of the piece. */
  readonly start: number;
  /** Exclusive end. */
  readonly end: number;
  /** Physical address of `start`, or null when not mapped. */
  readonly pa: number | null;
  /** Effective flags of the mapping (0 when unmapped). */
  readonly flags: number;
  /** Page size of the mapping (0 when unmapped). */
  readonly pageSizeBytes: number;
}

/**
 * The pieces of `[start, end)`: for each mapping overlapping it, the part inside and its
 * physical address; gaps as unmapped pieces. `mappings` must be sorted and coalesced on
 * contiguous frames (the default of `collectMappings`), not merged on rights alone.
 */
export function backingFrames(mappings: readonly MappingRange[], start: number, end: number): BackingPiece[] {
  const out: BackingPiece[] = [];
  let lo = 0;
  let hi = mappings.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (mappings[mid]!.end <= start) lo = mid + 1;
    else hi = mid;
  }
  let at = start;
  for (let i = lo; i < mappings.length && at < end; i++) {
    const m = mappings[i]!;
    if (m.start >= end) break;
    if (m.start > at) out.push({ start: at, end: m.start, pa: null, flags: 0, pageSizeBytes: 0 });
    const s = Math.max(at, m.start);
    const e = Math.min(end, m.end);
    out.push({ start: s, end: e, pa: m.pa + (s - m.start), flags: m.flags, pageSizeBytes: m.pageSizeBytes });
    at = e;
  }
  if (at < end) out.push({ start: at, end, pa: null, flags: 0, pageSizeBytes: 0 });
  return out;
}
