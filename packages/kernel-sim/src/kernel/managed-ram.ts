// How much physical memory the frame allocator manages: its bitmap costs one bit per 4 KiB frame
// from 0 to the end of the last RAM it manages, so a stray usable page far above RAM (a 3 GiB map
// plus 4 KiB at 16 TiB, found by fuzzing a real OVMF map) would make boot pay for the whole span
// (8,192 bitmap frames, seconds of host time). RAM ranges are taken in address order as long as
// the span they reach stays within SPAN_PER_RAM_BYTE times the RAM below it; the rest is left
// unmanaged and reported (`pmm.ignoredBytes`, the 'frame-allocator' boot step), as a kernel
// booted with `mem=` ignores RAM above it. The bitmap then costs at most 1/512 of the RAM managed.
import type { MemoryRegion } from '../api';

const FRAME = 4096;
/** The span (bytes from 0) the allocator may cover per byte of RAM inside it. */
export const SPAN_PER_RAM_BYTE = 64;
/** Kinds the frame allocator counts as RAM it can hand out (now or once reclaimed). */
const RAM_KINDS = new Set(['usable', 'acpi-reclaimable', 'bootloader-reclaimable', 'kernel-and-modules']);

/** What the frame allocator will manage. */
export interface ManagedRam {
  /** Frames from physical 0 the allocator covers (its `maxFrameCount`). */
  readonly frameCount: number;
  /** RAM regions (or parts) left out, lowest first. */
  readonly ignored: readonly { readonly base: number; readonly lengthBytes: number }[];
}

/**
 * The frames to manage for `memoryMap`: up to the end of the highest RAM range whose end is at
 * most {@link SPAN_PER_RAM_BYTE} times the RAM at or below it. Work: O(n log n) in the regions.
 */
export function managedRam(memoryMap: readonly MemoryRegion[]): ManagedRam {
  const ram = memoryMap.filter((r) => RAM_KINDS.has(r.kind) && r.lengthBytes > 0).sort((a, b) => a.base - b.base);
  let ramBytes = 0;
  let end = 0;
  for (const r of ram) {
    ramBytes += r.lengthBytes;
    const rEnd = r.base + r.lengthBytes;
    if (rEnd <= SPAN_PER_RAM_BYTE * ramBytes) end = Math.max(end, rEnd);
  }
  // pmm-bitmap manages at most 2^31 frames (8 TiB).
  const frameCount = Math.min(2 ** 31, Math.max(1, Math.ceil(end / FRAME)));
  const limit = frameCount * FRAME;
  const ignored: { base: number; lengthBytes: number }[] = [];
  for (const r of ram) {
    const rEnd = r.base + r.lengthBytes;
    if (rEnd <= limit) continue;
    const base = Math.max(r.base, limit);
    ignored.push({ base, lengthBytes: rEnd - base });
  }
  return { frameCount, ignored };
}
