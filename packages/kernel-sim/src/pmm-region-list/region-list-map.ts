// From a firmware memory map to the frame ranges of each state, with pmm-bitmap's rules (so the
// region list and the bitmap start from the same state): RAM rounded inward, everything else
// rounded outward, the most restrictive state winning where entries overlap.
import { InvalidOptionError, MemoryMapError, REGION_KINDS, RECLAIMABLE_KINDS, type MemoryRegion } from '@kmem/pmm-bitmap';
import { show } from '../show-value';

const FRAME = 4096;

/** Options of `RegionListFrameAllocator.fromMemoryMap` (the same as pmm-bitmap's, less `bitmapPa`). */
export interface RegionListMapOptions {
  /** MAXPHYADDR, 32..52 (default 52): map entries above 2^bits are clipped. */
  readonly maxPhysAddrBits?: number;
  /** Bytes from 0 never handed out (default 1 MiB; frame 0 always). */
  readonly reserveLowBytes?: number;
  /** Most frames to manage from 0 (default 2^28); RAM above is reported as `ignoredBytes`. */
  readonly maxFrameCount?: number;
}

/** Frame ranges `[start, end)` per state, in the order to apply them. */
export interface RegionListPlan {
  readonly frameCount: number;
  readonly ignoredBytes: number;
  readonly reserveLowBytes: number;
  /** RAM (usable or reclaimable, rounded inward): in use unless free below. */
  readonly ram: readonly (readonly [number, number])[];
  /** Usable (rounded inward). */
  readonly free: readonly (readonly [number, number])[];
  /** Every other kind (rounded outward): at least in use. */
  readonly inUse: readonly (readonly [number, number])[];
  /** Kinds that are not RAM (rounded outward): never usable. */
  readonly never: readonly (readonly [number, number])[];
}

/**
 * Validates `regions` and `options` and reduces them to frame ranges.
 * @throws MemoryMapError for a malformed entry; InvalidOptionError for a bad option
 */
export function planRegionList(regions: readonly MemoryRegion[], options: RegionListMapOptions): RegionListPlan {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'not an object');
  const bits = options.maxPhysAddrBits ?? 52;
  if (!Number.isInteger(bits) || bits < 32 || bits > 52) throw new InvalidOptionError('maxPhysAddrBits', `${show(bits)} is not an integer in [32, 52]`);
  const low = options.reserveLowBytes ?? 1024 * 1024;
  if (!Number.isSafeInteger(low) || low < 0) throw new InvalidOptionError('reserveLowBytes', `${show(low)} is not a non-negative safe integer`);
  const maxFrames = options.maxFrameCount ?? 2 ** 28;
  if (!Number.isInteger(maxFrames) || maxFrames < 1 || maxFrames > 2 ** 31) throw new InvalidOptionError('maxFrameCount', `${show(maxFrames)} is not an integer in [1, 2^31]`);
  if (!Array.isArray(regions)) throw new MemoryMapError(-1, 'the memory map is not an array');
  const maxPhys = 2 ** bits;
  const ram: [number, number][] = [];
  const free: [number, number][] = [];
  const inUse: [number, number][] = [];
  const never: [number, number][] = [];
  let top = 0;
  regions.forEach((r: Partial<MemoryRegion> | null | undefined, i) => {
    if (typeof r !== 'object' || r === null) throw new MemoryMapError(i, 'not an object');
    if (!Number.isSafeInteger(r.base) || r.base! < 0) throw new MemoryMapError(i, `base ${show(r.base)} is not a non-negative safe integer`);
    if (!Number.isSafeInteger(r.lengthBytes) || r.lengthBytes! < 0) throw new MemoryMapError(i, `lengthBytes ${show(r.lengthBytes)} is not a non-negative safe integer`);
    if (r.kind === undefined || !REGION_KINDS.includes(r.kind)) throw new MemoryMapError(i, `unknown kind ${show(r.kind)}`);
    const base = Math.min(r.base!, maxPhys);
    const end = Math.min(r.base! + r.lengthBytes!, maxPhys);
    if (end <= base) return;
    const inS = Math.ceil(base / FRAME);
    const inE = Math.floor(end / FRAME);
    const isRam = r.kind === 'usable' || RECLAIMABLE_KINDS.includes(r.kind);
    if (isRam && inS < inE) {
      ram.push([inS, inE]);
      top = Math.max(top, inE);
    }
    if (r.kind === 'usable') {
      if (inS < inE) free.push([inS, inE]);
    } else {
      inUse.push([Math.floor(base / FRAME), Math.ceil(end / FRAME)]);
      if (!isRam) never.push([Math.floor(base / FRAME), Math.ceil(end / FRAME)]);
    }
  });
  let ignoredBytes = 0;
  if (top > maxFrames) {
    for (const [s, e] of free) if (e > maxFrames) ignoredBytes += (e - Math.max(s, maxFrames)) * FRAME;
    top = maxFrames;
  }
  return { frameCount: Math.max(top, 1), ignoredBytes, reserveLowBytes: low, ram, free, inUse, never };
}
