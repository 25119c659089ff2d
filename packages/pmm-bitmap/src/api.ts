import { hex, show } from './hex';
import { brandErrors, markErrorClasses } from './brand';

/** Bytes in one physical frame (x86_64 base page, SDM 4.5). */
export const FRAME_BYTES = 4096;

/**
 * What a firmware memory-map entry says about its bytes (the Limine vocabulary, which the
 * e820, multiboot and UEFI types map onto; the parsers live in kernel-sim).
 */
export type RegionKind =
  | 'usable'
  | 'reserved'
  | 'acpi-reclaimable'
  | 'acpi-nvs'
  | 'bad-memory'
  | 'bootloader-reclaimable'
  | 'kernel-and-modules'
  | 'framebuffer';

/** Every {@link RegionKind}, in Limine type order (0..7). */
export const REGION_KINDS: readonly RegionKind[] = [
  'usable',
  'reserved',
  'acpi-reclaimable',
  'acpi-nvs',
  'bad-memory',
  'bootloader-reclaimable',
  'kernel-and-modules',
  'framebuffer',
];

/**
 * The kinds that are RAM in use at boot which the kernel may give back later with
 * `freeContiguous` (Linux: "reclaimable"). They start in use but are not never-usable.
 */
export const RECLAIMABLE_KINDS: readonly RegionKind[] = ['acpi-reclaimable', 'bootloader-reclaimable', 'kernel-and-modules'];

/** One firmware memory-map entry. Bytes `[base, base + lengthBytes)`. */
export interface MemoryRegion {
  /** First byte's physical address (any alignment). */
  readonly base: number;
  /** Length in bytes (any value >= 0; 0 is allowed and ignored). */
  readonly lengthBytes: number;
  /** What the firmware says the bytes are. */
  readonly kind: RegionKind;
}

/** An extra range to take out of the free pool at construction (kernel image, boot modules). */
export interface ReservedRange {
  /** First byte's physical address (rounded down to a frame). */
  readonly base: number;
  /** Length in bytes (the end is rounded up to a frame). */
  readonly lengthBytes: number;
  /**
   * `true`: the frames become never-usable, so freeing them later is an error
   * (`E_FREE_RESERVED`). Default `false`: in use, and the kernel may free them later (as
   * Linux frees its init sections and an initrd once unpacked).
   */
  readonly permanent?: boolean;
}

/** Options shared by both ways of building an allocator. */
export interface AllocatorOptions {
  /**
   * Bytes from physical address 0 that are never handed out (reserved as never-usable). Frame 0
   * is always reserved whatever this says (physical address 0 doubles as a null pointer, and the
   * real-mode IVT lives there). Default: 1 MiB for `fromMemoryMap` (BIOS data, EBDA, VGA, option
   * ROMs, as Linux's `reserve_real_mode` does), 0 for the frame-count constructor.
   */
  readonly reserveLowBytes?: number;
  /** Extra ranges taken out of the free pool once the map has been applied. */
  readonly reserved?: readonly ReservedRange[];
  /**
   * Where the bitmap itself lives in physical memory. Its `bitmapFrameCount` frames from here are
   * reserved permanently (see {@link BitmapFrameAllocator.placeBitmap}). Default: nowhere, the
   * caller places it later or never.
   */
  readonly bitmapPa?: number;
}

/** Options of {@link BitmapFrameAllocator.fromMemoryMap}. */
export interface MemoryMapOptions extends AllocatorOptions {
  /** MAXPHYADDR in bits, 32..52 (default 52). Regions past 2^bits are clipped there. */
  readonly maxPhysAddrBits?: number;
  /**
   * Kinds whose frames start free. Default `['usable']`. Add `'bootloader-reclaimable'` and/or
   * `'acpi-reclaimable'` once the kernel no longer needs what the boot loader or the ACPI tables
   * left there (Limine's advice). Other kinds are refused (`E_BAD_OPTION`).
   */
  readonly usableKinds?: readonly RegionKind[];
  /**
   * The largest managed frame count (default 2^28 frames = 1 TiB, a 32 MiB bitmap; at most 2^31).
   * RAM above it is ignored and counted in `ignoredBytes`, so a hostile map with a usable entry
   * near 2^52 cannot make the allocator ask for petabytes.
   */
  readonly maxFrameCount?: number;
}

/** Options of `allocContiguous`. All addresses in bytes. */
export interface ContiguousOptions {
  /** Alignment of the first frame in bytes: a power of two, at least 4096 (default 4096). */
  readonly alignBytes?: number;
  /** Lowest acceptable first byte (inclusive; rounded up to a frame). Default 0. */
  readonly minAddr?: number;
  /**
   * Exclusive upper bound on the whole run: the run's last byte is below `maxAddr` (rounded down
   * to a frame). Default: the end of the managed range. `16 MiB` gives ISA DMA memory, `4 GiB`
   * memory a 32-bit device can reach.
   */
  readonly maxAddr?: number;
}

/** Counts of frames, from `stats()`. */
export interface AllocatorStats {
  /** Frames in the managed range `[0, totalFrames)`. */
  readonly totalFrames: number;
  /** Frames free now. */
  readonly freeFrames: number;
  /** Frames in use now (allocated, reserved or never-usable): `totalFrames - freeFrames`. */
  readonly usedFrames: number;
  /** Frames that can never be handed out (holes, firmware-reserved, low memory, permanent reservations). */
  readonly reservedFrames: number;
  /** Frames that may ever be free: `totalFrames - reservedFrames`. */
  readonly usableFrames: number;
  /** Length in frames of the longest run of free frames. */
  readonly largestFreeRunFrames: number;
}

/** A maximal run of free frames, from `freeRuns()`. */
export interface FreeRun {
  /** Physical address of the run's first frame. */
  readonly start: number;
  /** Number of frames in the run (>= 1). */
  readonly frameCount: number;
}

/** Linux's zones on x86_64: DMA below 16 MiB, DMA32 below 4 GiB, Normal above. */
export type ZoneName = 'dma' | 'dma32' | 'normal';

/**
 * Base class of every misuse error this package throws: a stable `code` a caller can switch on.
 * Each package declares its own (packages import nothing from each other, see DESIGN.md).
 */
export abstract class KmemError extends Error {
  // `instanceof` holds for an error thrown by the other copy of this package (import vs require).
  static {
    brandErrors(this);
  }
  /** Stable machine-readable identifier, e.g. `E_DOUBLE_FREE`. */
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
    markErrorClasses(new.target);
  }
}

/** An address that is not a safe non-negative integer below 2^52 (NaN, negative, fractional, huge). */
export class InvalidAddressError extends KmemError {
  readonly code = 'E_BAD_ADDRESS';
  /** @param pa The value given as the address. */
  constructor(readonly pa: number, what = 'physical address') {
    super(`${what} ${show(pa)} is not an integer in [0, 2^52)`);
  }
}

/** A frame address that is not a multiple of 4096. */
export class MisalignedAddressError extends KmemError {
  readonly code = 'E_MISALIGNED';
  /** @param pa The misaligned address. */
  constructor(readonly pa: number) {
    super(`physical address ${hex(pa)} is not 4 KiB aligned`);
  }
}

/** A frame (or part of a run) outside the managed range `[0, totalFrames * 4096)`. */
export class AddressOutOfRangeError extends KmemError {
  readonly code = 'E_OUT_OF_RANGE';
  /**
   * @param pa The first frame outside the range.
   * @param endPa The end of the managed range (exclusive).
   */
  constructor(readonly pa: number, readonly endPa: number) {
    super(`frame ${hex(pa)} is outside the managed range [0x0, ${hex(endPa)})`);
  }
}

/** Freeing a frame that is already free. `pa` is the first such frame. */
export class DoubleFreeError extends KmemError {
  readonly code = 'E_DOUBLE_FREE';
  /** @param pa The first frame that was already free. */
  constructor(readonly pa: number) {
    super(`frame ${hex(pa)} is already free`);
  }
}

/** Freeing a frame that was never usable (a hole, firmware-reserved, low memory, permanent). */
export class FreeReservedFrameError extends KmemError {
  readonly code = 'E_FREE_RESERVED';
  /** @param pa The never-usable frame. */
  constructor(readonly pa: number) {
    super(`frame ${hex(pa)} is reserved as never-usable and cannot be freed`);
  }
}

/** A frame count that is 0, negative, NaN, fractional, or larger than the managed range. */
export class InvalidFrameCountError extends KmemError {
  readonly code = 'E_BAD_COUNT';
  /** @param frameCount The frame count given. */
  constructor(readonly frameCount: number, limit: number) {
    super(`frame count ${show(frameCount)} is not an integer in [1, ${limit}]`);
  }
}

/** An alignment that is not a power of two multiple of 4096 bytes. */
export class InvalidAlignmentError extends KmemError {
  readonly code = 'E_BAD_ALIGNMENT';
  /** @param alignBytes The alignment given, in bytes. */
  constructor(readonly alignBytes: number) {
    super(`alignment ${show(alignBytes)} bytes is not a power of two >= 4096`);
  }
}

/** `minAddr` / `maxAddr` that are not addresses, or `minAddr > maxAddr`. */
export class InvalidRangeError extends KmemError {
  readonly code = 'E_BAD_RANGE';
  /**
   * @param minAddr The lowest address given.
   * @param maxAddr The end address given (exclusive).
   */
  constructor(readonly minAddr: number, readonly maxAddr: number) {
    super(`address range [${hex(minAddr)}, ${hex(maxAddr)}) is not a valid range`);
  }
}

/** A memory-map entry that is not `{ base, lengthBytes, kind }` with integer bytes and a known kind. */
export class MemoryMapError extends KmemError {
  readonly code = 'E_BAD_MEMORY_MAP';
  /** @param index The index of the bad entry in the map. */
  constructor(readonly index: number, reason: string) {
    super(`memory map entry ${index}: ${reason}`);
  }
}

/** An option outside its documented domain. */
export class InvalidOptionError extends KmemError {
  readonly code = 'E_BAD_OPTION';
  /** @param option The option's name. */
  constructor(readonly option: string, reason: string) {
    super(`option ${option}: ${reason}`);
  }
}

/** `placeBitmap` called a second time. */
export class BitmapAlreadyPlacedError extends KmemError {
  readonly code = 'E_BITMAP_PLACED';
  /** @param pa Where the bitmap already is. */
  constructor(readonly pa: number) {
    super(`the bitmap is already placed at ${hex(pa)}`);
  }
}

/** Imported bitmap words of the wrong length, or freeing a never-usable frame or a padding bit. */
export class BitmapImportError extends KmemError {
  readonly code = 'E_BAD_IMPORT';
  constructor(reason: string) {
    super(`cannot import bitmap: ${reason}`);
  }
}

/** `checkInvariants()` found the allocator's state inconsistent (a bug, or a corrupted live bitmap). */
export class InvariantViolationError extends KmemError {
  readonly code = 'E_INVARIANT';
}
