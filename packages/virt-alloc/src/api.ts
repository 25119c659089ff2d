import { hex, show } from './hex';
import { brandErrors, markErrorClasses } from './brand';

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

/** Turns an address (a plain safe integer) into the text an error message shows. */
export type AddressFormatter = (addr: number) => string;

/** A half-open address range `[start, end)` in bytes, `end` exclusive (as Serenity's VirtualRange). */
export interface AddressRange {
  /** First byte of the range. */
  readonly start: number;
  /** One past the last byte of the range. */
  readonly end: number;
}

/** Options of {@link VirtualAllocator}'s constructor. */
export interface VirtualAllocatorOptions {
  /** First byte address managed (a multiple of `granularityBytes`, >= 0). */
  start: number;
  /** One past the last byte managed (a multiple of `granularityBytes`, <= `Number.MAX_SAFE_INTEGER`). */
  end: number;
  /**
   * The unit every address and size must be a multiple of, in bytes: a power of two.
   * Default 4096 (one x86 page); use 1 to manage page numbers instead of byte addresses.
   */
  granularityBytes?: number | undefined;
  /**
   * How error messages print addresses. Default: plain hex grouped by 4 digits
   * (`0x7fff_ffff_f000`). kernel-sim passes its canonical-form formatter here, since this
   * package knows nothing of x86.
   */
  formatAddress?: AddressFormatter | undefined;
}

/** Options of {@link VirtualAllocator.alloc}. */
export interface AllocOptions<Tag = string> {
  /**
   * The returned address is a multiple of this, in bytes: a power of two. Alignment is absolute
   * (address % alignBytes === 0), not relative to the managed range's start. Values below
   * `granularityBytes` mean `granularityBytes`. Default `granularityBytes`.
   */
  alignBytes?: number | undefined;
  /** What the block is for (kernel heap, stack, mmio...), shown by `blocks()` and `blockAt()`. */
  tag?: Tag | undefined;
  /**
   * Search only this sub-range of the managed range (granule multiples, inside the managed
   * range), e.g. the kernel heap region or the user mmap area. Default: the whole range.
   */
  within?: AddressRange | undefined;
}

/** Options of {@link VirtualAllocator.take}. */
export interface TakeOptions<Tag = string> {
  /** What the block is for, shown by `blocks()` and `blockAt()`. */
  tag?: Tag | undefined;
}

/** One block of the ordered list, as a user sees it. */
export interface BlockInfo<Tag = string> {
  /** First byte of the block. */
  start: number;
  /** One past the last byte of the block. */
  end: number;
  /** True for an in-use block, false for a free one. */
  used: boolean;
  /** The tag given when the block was allocated or taken; `undefined` for free blocks and untagged ones. */
  tag: Tag | undefined;
}

/** Totals of a {@link VirtualAllocator}, all sizes in bytes. */
export interface VirtualAllocatorStats {
  /** Bytes in in-use blocks. */
  usedBytes: number;
  /** Bytes in free blocks. */
  freeBytes: number;
  /** Number of blocks in the list (free and in use). */
  blockCount: number;
  /** Number of in-use blocks. */
  usedBlockCount: number;
  /** Size of the largest free block (0 when full). An `alloc` of this size with no alignment succeeds. */
  largestFreeBytes: number;
}

/** A size that is 0, negative, NaN, not a safe integer, or larger than the whole managed range. */
export class InvalidSizeError extends KmemError {
  readonly code = 'E_INVALID_SIZE';
  /** @param sizeBytes The size given, in bytes. */
  constructor(readonly sizeBytes: number) {
    super(`size ${show(sizeBytes)} bytes is not a positive safe integer no larger than the managed range`);
  }
}

/** A size that is not a whole multiple of the allocator's granularity (sizes are never rounded). */
export class UnalignedSizeError extends KmemError {
  readonly code = 'E_UNALIGNED_SIZE';
  /**
   * @param sizeBytes The size given, in bytes.
   * @param granularityBytes The allocator's granularity, in bytes.
   */
  constructor(
    readonly sizeBytes: number,
    readonly granularityBytes: number,
  ) {
    super(`size ${hex(sizeBytes)} bytes is not a multiple of the granularity ${hex(granularityBytes)}`);
  }
}

/** An address that is not a multiple of the allocator's granularity. */
export class MisalignedAddressError extends KmemError {
  readonly code = 'E_MISALIGNED_ADDRESS';
  /**
   * @param addr The misaligned address.
   * @param granularityBytes The allocator's granularity, in bytes.
   */
  constructor(
    readonly addr: number,
    readonly granularityBytes: number,
    format: AddressFormatter = hex,
  ) {
    super(`address ${format(addr)} is not a multiple of the granularity ${hex(granularityBytes)}`);
  }
}

/** An address (or the end of a range starting there) outside the managed range, or not a safe integer. */
export class AddressOutOfRangeError extends KmemError {
  readonly code = 'E_ADDRESS_OUT_OF_RANGE';
  /**
   * @param addr The address given.
   * @param sizeBytes The size of the range starting there, in bytes (0 for an address alone).
   * @param range The managed range.
   */
  constructor(
    readonly addr: number,
    readonly sizeBytes: number,
    readonly range: AddressRange,
    format: AddressFormatter = hex,
  ) {
    const what = Number.isSafeInteger(addr) ? format(addr) : show(addr);
    const span = sizeBytes > 0 && Number.isSafeInteger(addr) ? `..${format(addr + sizeBytes)}` : '';
    super(`address ${what}${span} is outside the managed range ${format(range.start)}..${format(range.end)}`);
  }
}

/** An alignment (or granularity) that is not a power-of-two safe integer. */
export class InvalidAlignmentError extends KmemError {
  readonly code = 'E_INVALID_ALIGNMENT';
  /** @param alignBytes The alignment given, in bytes. */
  constructor(readonly alignBytes: number) {
    super(`alignment ${show(alignBytes)} bytes is not a power of two`);
  }
}

/** A malformed range: the constructor's `{ start, end }` or an alloc's `within`. */
export class InvalidRangeError extends KmemError {
  readonly code = 'E_INVALID_RANGE';
  /** @param range The range given. */
  constructor(
    readonly range: AddressRange,
    reason: string,
    format: AddressFormatter = hex,
  ) {
    const shown = (n: number) => (Number.isSafeInteger(n) && n >= 0 ? format(n) : show(n));
    super(`range ${shown(range.start)}..${shown(range.end)} is invalid: ${reason}`);
  }
}

/** Freeing a range of which some part is not in use: a double free, or never allocated. */
export class DoubleFreeError extends KmemError {
  readonly code = 'E_DOUBLE_FREE';
  /**
   * @param addr The start of the range being freed.
   * @param sizeBytes Its size in bytes.
   */
  constructor(
    readonly addr: number,
    readonly sizeBytes: number,
    format: AddressFormatter = hex,
  ) {
    super(`range ${format(addr)}..${format(addr + sizeBytes)} is not (all) in use: double free or never allocated`);
  }
}

/** `free(addr)` without a size, where `addr` is inside an in-use block but not at its start. */
export class NotBlockStartError extends KmemError {
  readonly code = 'E_NOT_BLOCK_START';
  /**
   * @param addr The address given.
   * @param blockStart The start of the in-use block that contains it.
   */
  constructor(
    readonly addr: number,
    readonly blockStart: number,
    format: AddressFormatter = hex,
  ) {
    super(
      `address ${format(addr)} is inside the in-use block at ${format(blockStart)}, not its start: pass a size to free part of a block`,
    );
  }
}

/** An options argument that is not an object, or an option of the wrong type (e.g. a `formatAddress` that is not a function). */
export class InvalidOptionError extends KmemError {
  readonly code = 'E_INVALID_OPTION';
  /** @param option The option's name. */
  constructor(
    readonly option: string,
    reason: string,
  ) {
    super(`option ${option}: ${reason}`);
  }
}
