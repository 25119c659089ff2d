import type { ContiguousOptions, ZoneName } from './api';

/** Zone bounds in bytes `[start, end)`, as Linux lays them out on x86_64 (arch/x86/mm/init.c). */
export const ZONE_LIMITS: readonly (readonly [ZoneName, number, number])[] = [
  ['dma', 0, 16 * 2 ** 20],
  ['dma32', 16 * 2 ** 20, 4 * 2 ** 30],
  ['normal', 4 * 2 ** 30, 2 ** 52],
];

/** What a zone needs from its allocator (structural, so there is no import cycle). */
interface ZoneHost {
  allocContiguous(frameCount: number, options?: ContiguousOptions): number | null;
  freeFramesBetween(minAddr: number, maxAddr: number): number;
}

/**
 * A window of the allocator over one zone's addresses. Allocations from a zone never fall back
 * to another: a caller that wants Linux's fallback order (normal, then dma32, then dma) tries
 * the zones in turn. Frames are freed through the allocator itself.
 */
export class Zone {
  private readonly one: ContiguousOptions;

  /** @internal built by `BitmapFrameAllocator.zones()` */
  constructor(
    private readonly host: ZoneHost,
    /** `'dma'`, `'dma32'` or `'normal'`. */
    readonly name: ZoneName,
    /** First byte of the zone, clipped to the managed range. */
    readonly startPa: number,
    /** One past the zone's last byte, clipped to the managed range (`startPa` if empty). */
    readonly endPa: number,
  ) {
    this.one = { minAddr: startPa, maxAddr: endPa };
  }

  /** Frames in the zone (free or not). */
  get totalFrames(): number {
    return (this.endPa - this.startPa) / 4096;
  }

  /** Free frames in the zone now (O(zone / 32)). */
  freeFrames(): number {
    return this.host.freeFramesBetween(this.startPa, this.endPa);
  }

  /** Lowest free frame in the zone, or null. */
  allocFrame(): number | null {
    if (this.endPa === this.startPa) return null;
    return this.host.allocContiguous(1, this.one);
  }

  /**
   * `frameCount` contiguous frames inside the zone, first frame aligned to `alignBytes`.
   * @throws as `BitmapFrameAllocator.allocContiguous`
   */
  allocContiguous(frameCount: number, alignBytes = 4096): number | null {
    return this.host.allocContiguous(frameCount, { alignBytes, minAddr: this.startPa, maxAddr: this.endPa });
  }

  /** Whether `pa` lies in the zone: false for anything that is not an integer address (NaN, 0.5, a BigInt, a string). */
  contains(pa: number): boolean {
    return Number.isSafeInteger(pa) && pa >= this.startPa && pa < this.endPa;
  }
}
