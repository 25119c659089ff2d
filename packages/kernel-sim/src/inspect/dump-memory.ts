// A dump's physical memory behind x86-paging's PhysicalMemory port, read-only and lazy: a frame
// is read from the dump (at its file offset) the first time something asks for it and kept in a
// bounded cache, so inspecting tables costs host memory in proportion to the tables read.
import type { RamRange } from '../sparse-physical-memory';
import type { DumpSegment } from './elf-core';
import type { DumpSource } from './dump-source';
import { DumpReadOnlyError, OutsideDumpError } from './inspect-errors';

const FRAME = 4096;
/** Frames kept by default: 64 MiB of cached frames, far more than any kernel's tables. */
export const DEFAULT_DUMP_CACHE_FRAMES = 16384;

/** Options of {@link DumpPhysicalMemory}. */
export interface DumpPhysicalMemoryOptions {
  /** Frames kept in the cache (oldest dropped first). Default {@link DEFAULT_DUMP_CACHE_FRAMES}. */
  readonly cacheFrames?: number;
}

/**
 * Physical memory as a dump holds it: each segment maps `[pa, pa + memBytes)`; bytes past a
 * segment's file part read as zero; any other address throws {@link OutsideDumpError}. Writes
 * throw {@link DumpReadOnlyError}. Structurally an x86-paging `PhysicalMemory`.
 */
export class DumpPhysicalMemory {
  /** The physical ranges the dump holds, sorted, merged where they touch. */
  readonly ramRanges: readonly RamRange[];
  private readonly segs: readonly DumpSegment[];
  private readonly segPa: Float64Array;
  private readonly cache = new Map<number, Uint32Array>();
  private readonly cacheFrames: number;
  private reads = 0;

  /** @param segments non-overlapping segments (any order) */
  constructor(
    private readonly source: DumpSource,
    segments: readonly DumpSegment[],
    options: DumpPhysicalMemoryOptions = {},
  ) {
    this.segs = [...segments].sort((a, b) => a.pa - b.pa);
    this.segPa = Float64Array.from(this.segs, (s) => s.pa);
    this.cacheFrames = Math.max(16, options.cacheFrames ?? DEFAULT_DUMP_CACHE_FRAMES);
    const ranges: { base: number; lengthBytes: number }[] = [];
    for (const s of this.segs) {
      const last = ranges[ranges.length - 1];
      if (last && last.base + last.lengthBytes === s.pa) last.lengthBytes += s.memBytes;
      else ranges.push({ base: s.pa, lengthBytes: s.memBytes });
    }
    this.ramRanges = ranges;
  }

  /** Frames read from the dump so far (cache misses). */
  get framesRead(): number {
    return this.reads;
  }

  /** Frames in the cache now. */
  get cachedFrameCount(): number {
    return this.cache.size;
  }

  /** The segment holding `pa`, or -1. Binary search: cost follows the segment count's log. */
  private segmentIndex(pa: number): number {
    let lo = 0;
    let hi = this.segPa.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segPa[mid]! <= pa) lo = mid + 1;
      else hi = mid - 1;
    }
    if (hi < 0) return -1;
    const s = this.segs[hi]!;
    return pa < s.pa + s.memBytes ? hi : -1;
  }

  /** True when the dump holds the byte at `pa`. */
  contains(pa: number): boolean {
    return Number.isFinite(pa) && this.segmentIndex(pa) >= 0;
  }

  /** True when the dump holds every byte of `[pa, pa + sizeBytes)`. Cost: O(log segments + segments crossed). */
  containsRange(pa: number, sizeBytes: number): boolean {
    let at = pa;
    const end = pa + sizeBytes;
    while (at < end) {
      const i = this.segmentIndex(at);
      if (i < 0) return false;
      const s = this.segs[i]!;
      at = s.pa + s.memBytes;
    }
    return true;
  }

  /**
   * The parts of `[pa, pa + sizeBytes)` the dump does not hold, in order. Cost: O(log segments +
   * segments crossed).
   */
  gaps(pa: number, sizeBytes: number): { pa: number; sizeBytes: number }[] {
    const out: { pa: number; sizeBytes: number }[] = [];
    const end = pa + sizeBytes;
    let at = pa;
    while (at < end) {
      const i = this.segmentIndex(at);
      if (i >= 0) {
        const s = this.segs[i]!;
        at = s.pa + s.memBytes;
        continue;
      }
      // Next segment above `at` (binary search on starts).
      let lo = 0;
      let hi = this.segPa.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.segPa[mid]! <= at) lo = mid + 1;
        else hi = mid;
      }
      const next = lo < this.segPa.length ? Math.min(end, this.segPa[lo]!) : end;
      out.push({ pa: at, sizeBytes: next - at });
      at = next;
    }
    return out;
  }

  /**
   * The 1024 words of the frame at `frame` (a copy read from the dump, cached; treat as read-only).
   * @throws OutsideDumpError if any byte of the frame is not in the dump
   */
  frameWords(frame: number): Uint32Array {
    const hit = this.cache.get(frame);
    if (hit !== undefined) return hit;
    if (!Number.isSafeInteger(frame) || frame % FRAME !== 0) throw new OutsideDumpError(frame);
    const bytes = new Uint8Array(FRAME);
    let at = frame;
    while (at < frame + FRAME) {
      const i = this.segmentIndex(at);
      if (i < 0) throw new OutsideDumpError(at);
      const s = this.segs[i]!;
      const upto = Math.min(frame + FRAME, s.pa + s.memBytes);
      const fileEnd = s.pa + s.fileBytes;
      if (at < fileEnd) this.source.read(s.fileOffset + (at - s.pa), bytes.subarray(at - frame, Math.min(upto, fileEnd) - frame));
      at = upto;
    }
    this.reads++;
    const words = new Uint32Array(bytes.buffer);
    if (this.cache.size >= this.cacheFrames) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(frame, words);
    return words;
  }

  /** @throws OutsideDumpError outside the dump */
  read32(pa: number): number {
    const frame = pa - (pa % FRAME);
    return this.frameWords(frame)[(pa - frame) >>> 2]!;
  }

  /** @throws OutsideDumpError outside the dump */
  read8(pa: number): number {
    const frame = pa - (pa % FRAME);
    const off = pa - frame;
    return (this.frameWords(frame)[off >>> 2]! >>> ((off & 3) * 8)) & 0xff;
  }

  /** @throws DumpReadOnlyError always */
  write32(pa: number, _value: number): void {
    throw new DumpReadOnlyError(pa);
  }

  /** @throws DumpReadOnlyError always */
  write8(pa: number, _value: number): void {
    throw new DumpReadOnlyError(pa);
  }

  /** @throws DumpReadOnlyError always */
  zeroFrame(frame: number): void {
    throw new DumpReadOnlyError(frame);
  }
}
