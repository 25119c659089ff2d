// Normalisation: sorted, disjoint, same-kind neighbours merged, overlaps resolved to the most
// restrictive kind, and a report of every change.
import { InvalidMemoryRegionError, type MemoryKind, type MemoryRegion } from '../api';
import { formatPhysical } from '../hex';
import { show } from '../show-value';
import { formatSize } from '../layout';
import { MEMORY_KINDS_BY_RESTRICTIVENESS, restrictivenessOf } from './kinds';

/** One thing {@link normalizeMemoryMap} changed. Indices refer to the input array. */
export type MemoryMapChange =
  | { readonly type: 'reordered' }
  | { readonly type: 'dropped-empty'; readonly index: number; readonly base: number }
  | { readonly type: 'merged'; readonly base: number; readonly lengthBytes: number; readonly kind: MemoryKind; readonly sourceIndices: readonly number[] }
  | {
      readonly type: 'overlap-resolved';
      readonly base: number;
      readonly lengthBytes: number;
      /** The distinct kinds claiming the range, least restrictive first. */
      readonly kinds: readonly MemoryKind[];
      /** The kind it was given: the most restrictive of `kinds`. */
      readonly winner: MemoryKind;
      readonly sourceIndices: readonly number[];
    };

/** Result of {@link normalizeMemoryMap}. */
export interface NormalizedMemoryMap {
  /** Sorted by base, disjoint, non-empty; two touching regions never share a kind. */
  readonly regions: MemoryRegion[];
  /** What was changed to get there, in address order (after a leading `reordered`, if any). */
  readonly changes: MemoryMapChange[];
}

const KIND_COUNT = MEMORY_KINDS_BY_RESTRICTIVENESS.length;

/**
 * Normalises a memory map: sorts by base, drops empty entries, resolves overlaps in favour of
 * the most restrictive kind (order in {@link MEMORY_KINDS_BY_RESTRICTIVENESS}) and merges
 * touching or overlapping ranges of the same kind. Holes stay holes. No alignment is applied
 * (the frame allocator rounds usable ranges inward). O(n log n + n·k) for n entries and at
 * most k entries overlapping any point.
 * @throws InvalidMemoryRegionError if a region's base or length is not a non-negative safe
 *   integer, it ends beyond 2^53, or its kind is not a {@link MemoryKind}.
 */
export function normalizeMemoryMap(regions: readonly MemoryRegion[]): NormalizedMemoryMap {
  regions.forEach((r, i) => {
    if (!Number.isSafeInteger(r.base) || r.base < 0) throw new InvalidMemoryRegionError(`region ${i}: base ${show(r.base)} is not a non-negative safe integer`);
    if (!Number.isSafeInteger(r.lengthBytes) || r.lengthBytes < 0) throw new InvalidMemoryRegionError(`region ${i} at ${formatPhysical(r.base)}: lengthBytes ${show(r.lengthBytes)} is not a non-negative safe integer`);
    if (r.lengthBytes > 2 ** 53 - r.base) throw new InvalidMemoryRegionError(`region ${i} at ${formatPhysical(r.base)} ends beyond 2^53`);
    if (restrictivenessOf(r.kind) < 0) throw new InvalidMemoryRegionError(`region ${i} at ${formatPhysical(r.base)}: "${show(r.kind)}" is not a memory kind`);
  });
  const changes: MemoryMapChange[] = [];
  for (let i = 1; i < regions.length; i++) {
    if (regions[i]!.base < regions[i - 1]!.base) {
      changes.push({ type: 'reordered' });
      break;
    }
  }
  // Sweep events: position, +1/-1, input index. Ends sort before starts at the same position
  // (irrelevant for the kinds, but keeps the active sets minimal).
  const events: { at: number; delta: 1 | -1; index: number }[] = [];
  regions.forEach((r, index) => {
    if (r.lengthBytes === 0) {
      changes.push({ type: 'dropped-empty', index, base: r.base });
      return;
    }
    events.push({ at: r.base, delta: 1, index }, { at: r.base + r.lengthBytes, delta: -1, index });
  });
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);

  const active: Set<number>[] = Array.from({ length: KIND_COUNT }, () => new Set<number>());
  const out: { base: number; end: number; kind: MemoryKind; sources: Set<number> }[] = [];
  const overlaps: { base: number; end: number; kinds: MemoryKind[]; winner: MemoryKind; sources: Set<number> }[] = [];
  let e = 0;
  while (e < events.length) {
    const at = events[e]!.at;
    for (; e < events.length && events[e]!.at === at; e++) {
      const ev = events[e]!;
      const set = active[restrictivenessOf(regions[ev.index]!.kind)]!;
      if (ev.delta === 1) set.add(ev.index);
      else set.delete(ev.index);
    }
    if (e === events.length) break;
    const next = events[e]!.at;
    let winnerRank = -1;
    let kindsActive = 0;
    for (let k = KIND_COUNT - 1; k >= 0; k--) {
      if (active[k]!.size > 0) {
        kindsActive++;
        if (winnerRank < 0) winnerRank = k;
      }
    }
    if (winnerRank < 0) continue; // a hole
    const winner = MEMORY_KINDS_BY_RESTRICTIVENESS[winnerRank]!;
    const last = out[out.length - 1];
    if (last && last.end === at && last.kind === winner) {
      last.end = next;
      for (const i of active[winnerRank]!) last.sources.add(i);
    } else out.push({ base: at, end: next, kind: winner, sources: new Set(active[winnerRank]) });
    if (kindsActive > 1) {
      const kinds: MemoryKind[] = [];
      const sources = new Set<number>();
      for (let k = 0; k < KIND_COUNT; k++) {
        if (active[k]!.size === 0) continue;
        kinds.push(MEMORY_KINDS_BY_RESTRICTIVENESS[k]!);
        for (const i of active[k]!) sources.add(i);
      }
      const prev = overlaps[overlaps.length - 1];
      if (prev && prev.end === at && prev.winner === winner && prev.kinds.join() === kinds.join()) {
        prev.end = next;
        for (const i of sources) prev.sources.add(i);
      } else overlaps.push({ base: at, end: next, kinds, winner, sources });
    }
  }
  const addressOrdered: { at: number; change: MemoryMapChange }[] = [];
  for (const o of out) {
    if (o.sources.size > 1) {
      addressOrdered.push({ at: o.base, change: { type: 'merged', base: o.base, lengthBytes: o.end - o.base, kind: o.kind, sourceIndices: [...o.sources].sort((a, b) => a - b) } });
    }
  }
  for (const o of overlaps) {
    addressOrdered.push({
      at: o.base,
      change: { type: 'overlap-resolved', base: o.base, lengthBytes: o.end - o.base, kinds: o.kinds, winner: o.winner, sourceIndices: [...o.sources].sort((a, b) => a - b) },
    });
  }
  addressOrdered.sort((a, b) => a.at - b.at);
  for (const c of addressOrdered) changes.push(c.change);
  return { regions: out.map((o) => ({ base: o.base, lengthBytes: o.end - o.base, kind: o.kind })), changes };
}

/** Sum of `lengthBytes` over the regions of `kind` (default `usable`). */
export function totalBytes(regions: readonly MemoryRegion[], kind: MemoryKind = 'usable'): number {
  let sum = 0;
  for (const r of regions) if (r.kind === kind) sum += r.lengthBytes;
  return sum;
}

/**
 * One line per region, in the given order, like Linux's `e820__print_table`:
 * `[mem 0x0000_0000_0000_0000-0x0000_0000_0009_fbff] usable  (639 KiB)`. The end is inclusive,
 * as Linux prints it; addresses are 16 hex digits grouped by 4; the firmware's own type name is
 * appended when it differs from the kind.
 */
export function formatMemoryMap(regions: readonly MemoryRegion[]): string {
  const pad = (n: number): string => formatPhysical(n).replace(/^0x/, '').replace(/_/g, '').padStart(16, '0').replace(/(.{4})(?!$)/g, '$1_');
  return regions
    .map((r) => {
      const last = r.lengthBytes === 0 ? r.base : r.base + r.lengthBytes - 1;
      const source = r.firmwareType !== undefined && r.firmwareType !== r.kind ? ` [${r.firmwareType}]` : '';
      return `[mem 0x${pad(r.base)}-0x${pad(last)}] ${r.kind.padEnd(22)} ${formatSize(r.lengthBytes).padStart(10)}${source}`;
    })
    .join('\n');
}
