import { FRAME_BYTES, InvalidOptionError, MemoryMapError, REGION_KINDS, RECLAIMABLE_KINDS } from './api';
import { show } from './hex';
import type { MemoryMapOptions, MemoryRegion, RegionKind } from './api';

/** 2^52: the architectural ceiling of MAXPHYADDR (SDM 4.1.4). */
export const MAX_PHYS_LIMIT = 2 ** 52;
/** Hard ceiling of a managed range: frame numbers must fit 31 bits for the word arithmetic. */
export const MAX_FRAME_COUNT = 2 ** 31;
/** Default managed ceiling for maps: 2^28 frames (1 TiB of RAM, a 32 MiB bitmap). */
export const DEFAULT_MAX_FRAME_COUNT = 2 ** 28;

/** Kinds a caller may ask to start free (`usableKinds`). */
const FREEABLE_KINDS: readonly RegionKind[] = ['usable', 'bootloader-reclaimable', 'acpi-reclaimable'];

/** A memory map reduced to frame ranges `[start, end)` (frame numbers, end exclusive). */
export interface MapPlan {
  /** Frames managed: one past the highest RAM frame (at least 1). */
  readonly frameCount: number;
  /** RAM bytes past `maxFrameCount` that the allocator will not manage. */
  readonly ignoredBytes: number;
  /** Frames that start free (usable kinds, rounded inward). */
  readonly free: readonly (readonly [number, number])[];
  /** Frames that are RAM and may be freed one day (all RAM kinds, rounded inward). */
  readonly ram: readonly (readonly [number, number])[];
  /** Frames that start in use: every non-free kind, rounded outward (reserved wins). */
  readonly inUse: readonly (readonly [number, number])[];
  /** Frames that are never usable: reserved, ACPI NVS, bad memory, framebuffer (rounded outward). */
  readonly never: readonly (readonly [number, number])[];
}

/** Throws `MemoryMapError` for the first entry that is not a well-formed region. */
export function validateRegions(regions: readonly MemoryRegion[]): void {
  if (!Array.isArray(regions)) throw new MemoryMapError(-1, 'the memory map is not an array');
  for (let i = 0; i < regions.length; i++) {
    const r = regions[i] as Partial<MemoryRegion> | null | undefined;
    if (typeof r !== 'object' || r === null) throw new MemoryMapError(i, 'not an object');
    if (!Number.isSafeInteger(r.base) || (r.base as number) < 0) {
      throw new MemoryMapError(i, `base ${show(r.base)} is not a non-negative safe integer`);
    }
    if (!Number.isSafeInteger(r.lengthBytes) || (r.lengthBytes as number) < 0) {
      throw new MemoryMapError(i, `lengthBytes ${show(r.lengthBytes)} is not a non-negative safe integer`);
    }
    if (!REGION_KINDS.includes(r.kind as RegionKind)) throw new MemoryMapError(i, `unknown kind ${show(r.kind)}`);
  }
}

/** Validates the map-only options; returns them with defaults applied. */
export function mapOptions(options: MemoryMapOptions): {
  maxPhys: number;
  usableKinds: readonly RegionKind[];
  maxFrameCount: number;
} {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'not an object');
  const bits = options.maxPhysAddrBits === undefined ? 52 : options.maxPhysAddrBits;
  if (!Number.isInteger(bits) || bits < 32 || bits > 52) {
    throw new InvalidOptionError('maxPhysAddrBits', `${show(bits)} is not an integer in [32, 52]`);
  }
  const usableKinds = options.usableKinds === undefined ? ['usable' as const] : options.usableKinds;
  if (!Array.isArray(usableKinds)) throw new InvalidOptionError('usableKinds', 'not an array');
  for (const k of usableKinds as readonly unknown[]) {
    if (!FREEABLE_KINDS.includes(k as RegionKind)) {
      throw new InvalidOptionError('usableKinds', `${show(k)} cannot start free (allowed: ${FREEABLE_KINDS.join(', ')})`);
    }
  }
  const maxFrameCount = options.maxFrameCount === undefined ? DEFAULT_MAX_FRAME_COUNT : options.maxFrameCount;
  if (!Number.isInteger(maxFrameCount) || maxFrameCount < 1 || maxFrameCount > MAX_FRAME_COUNT) {
    throw new InvalidOptionError('maxFrameCount', `${show(maxFrameCount)} is not an integer in [1, 2^31]`);
  }
  return { maxPhys: 2 ** bits, usableKinds, maxFrameCount };
}

/**
 * Reduces a validated map to frame ranges. Usable and RAM ranges round inward (a partial frame
 * is not usable RAM), everything else rounds outward (a partial reserved frame is reserved);
 * applying `inUse` after `free` makes reserved win where they overlap. Regions past MAXPHYADDR
 * are clipped there.
 */
export function planMemoryMap(
  regions: readonly MemoryRegion[],
  maxPhys: number,
  usableKinds: readonly RegionKind[],
  maxFrameCount: number,
): MapPlan {
  const free: [number, number][] = [];
  const ram: [number, number][] = [];
  const inUse: [number, number][] = [];
  const never: [number, number][] = [];
  let top = 0;
  for (const r of regions) {
    const base = Math.min(r.base, maxPhys);
    const end = Math.min(r.base + r.lengthBytes, maxPhys);
    if (end <= base) continue;
    const inStart = Math.ceil(base / FRAME_BYTES);
    const inEnd = Math.floor(end / FRAME_BYTES);
    const outStart = Math.floor(base / FRAME_BYTES);
    const outEnd = Math.ceil(end / FRAME_BYTES);
    const isRam = r.kind === 'usable' || RECLAIMABLE_KINDS.includes(r.kind);
    if (isRam && inStart < inEnd) {
      ram.push([inStart, inEnd]);
      if (inEnd > top) top = inEnd;
    }
    if (usableKinds.includes(r.kind)) {
      if (inStart < inEnd) free.push([inStart, inEnd]);
    } else {
      inUse.push([outStart, outEnd]);
      if (!isRam) never.push([outStart, outEnd]);
    }
  }
  let ignoredBytes = 0;
  if (top > maxFrameCount) {
    for (const [s, e] of free) if (e > maxFrameCount) ignoredBytes += (e - Math.max(s, maxFrameCount)) * FRAME_BYTES;
    top = maxFrameCount;
  }
  return { frameCount: Math.max(top, 1), ignoredBytes, free, ram, inUse, never };
}
