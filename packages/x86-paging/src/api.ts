// Ports (structural interfaces this package needs from its host) and every misuse error it throws.
// Errors carry a stable `code`; addresses in messages are printed in canonical hex (DESIGN.md "Errors").
import { show } from './show-value';
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

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

/**
 * Emulated physical memory, as the CPU and the kernel see it. Addresses are byte addresses
 * (`pa`, safe integers below 2^MAXPHYADDR). Words are little-endian, as on x86.
 *
 * Page tables live here and only here: a table built in this memory is the exact byte image a
 * real CPU would walk (SDM vol. 3A 4.5).
 */
export interface PhysicalMemory {
  /** Reads the unsigned little-endian 32-bit word at `pa` (4-byte aligned). */
  read32(pa: number): number;
  /** Writes the low 32 bits of `value` at `pa` (4-byte aligned), little-endian. */
  write32(pa: number, value: number): void;
  /** Reads the byte at `pa`. */
  read8(pa: number): number;
  /** Writes the low 8 bits of `value` at `pa`. */
  write8(pa: number, value: number): void;
  /**
   * Live view of the 1024 u32 words of the frame at `frame` (4 KiB aligned): writes through the
   * view are writes to memory. May create backing on first touch. The MMU's hot path uses this.
   */
  frameWords(frame: number): Uint32Array;
  /** Fills the 4 KiB frame at `frame` with zeros. */
  zeroFrame(frame: number): void;
}

/**
 * Source of 4 KiB physical frames. Running out is expected: `allocFrame()` then returns `null`.
 * The frame's contents are unspecified; a caller that needs zeros (a new page table) zeroes it.
 * Any physical frame allocator with this shape fits (e.g. @kmem/pmm-bitmap's).
 */
export interface FrameAllocator {
  /** A free 4 KiB frame's physical address, or `null` when none is left. */
  allocFrame(): number | null;
  /** Returns a frame obtained from `allocFrame()`. */
  freeFrame(pa: number): void;
}

/**
 * Something that must hear about every change to a present entry, so stale translations are
 * dropped (SDM 4.10.4: a changed present entry is not seen until INVLPG or a CR3 write). A TLB
 * or a Cpu fits; the Mapper calls `invlpg(va)` once per leaf page it changes or removes.
 */
export interface TlbInvalidator {
  /**
   * Drops any cached translation of the page containing linear address `va`: a number, or (only
   * for a 5-level address at or above 2^53, which no number holds exactly) its canonical 64-bit
   * form as a bigint, as `Cpu.invlpg` takes it.
   */
  invlpg(va: number | bigint): void;
}

// ---------------------------------------------------------------------------------------------
// Formatting used in messages (kept here so errors need nothing else)
// ---------------------------------------------------------------------------------------------

const TWO_32 = 4294967296;
const TWO_47 = 140737488355328;
const TWO_48 = 281474976710656;

function group4(hexDigits: string): string {
  let out = '';
  for (let end = hexDigits.length; end > 0; end -= 4) {
    const part = hexDigits.slice(Math.max(0, end - 4), end);
    out = out === '' ? part : `${part}_${out}`;
  }
  return `0x${out}`;
}

/**
 * Formats a 48-bit linear virtual address in its canonical 64-bit hex form, grouped by four
 * digits: `0xffff_8000_0000_1000`. Values outside [0, 2^48) are shown as `<invalid va …>`.
 */
export function formatVa(va: number): string {
  if (!Number.isSafeInteger(va) || va < 0 || va >= TWO_48) return `<invalid va ${show(va)}>`;
  const hi = Math.floor(va / TWO_32);
  const lo = va % TWO_32;
  const hiHex = (va >= TWO_47 ? hi + 0xffff0000 : hi).toString(16).padStart(8, '0');
  return group4(hiHex + lo.toString(16).padStart(8, '0'));
}

/** Formats a physical address (or any non-negative integer) in hex grouped by four digits. */
export function formatPa(pa: number): string {
  if (!Number.isSafeInteger(pa) || pa < 0) return `<invalid pa ${show(pa)}>`;
  return group4(pa.toString(16));
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** An address in 64-bit form whose bits 63:48 are not all copies of bit 47 (SDM 3.3.7.1). */
export class NonCanonicalAddressError extends KmemError {
  readonly code = 'E_NON_CANONICAL';
  /** @param input the rejected value as written by the caller */
  constructor(readonly input: string) {
    super(`${input} is not a canonical 48-bit address (bits 63:48 must equal bit 47)`);
  }
}

/** A value that is not a usable address: not a safe integer, negative, or out of range. */
export class InvalidAddressError extends KmemError {
  readonly code = 'E_INVALID_ADDRESS';
  /** @param input The rejected value as written by the caller. */
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`${input}: ${reason}`);
  }
}

/** An address that is not aligned to the page or frame size an operation needs. */
export class MisalignedAddressError extends KmemError {
  readonly code = 'E_MISALIGNED';
  /**
   * @param what `'va'` or `'pa'`.
   * @param address The misaligned address: the linear va or the pa.
   * @param alignBytes The alignment the operation needs, in bytes.
   */
  constructor(
    readonly what: 'va' | 'pa',
    readonly address: number,
    readonly alignBytes: number,
  ) {
    super(`${what} ${what === 'va' ? formatVa(address) : formatPa(address)} is not aligned to ${formatPa(alignBytes)} bytes`);
  }
}

/** A count or size that is zero, negative, NaN, fractional or too large. */
export class InvalidSizeError extends KmemError {
  readonly code = 'E_INVALID_SIZE';
  /**
   * @param parameter The parameter's name.
   * @param value The value given.
   */
  constructor(
    readonly parameter: string,
    readonly value: number,
    reason = 'must be a positive safe integer',
  ) {
    super(`${parameter} = ${show(value)}: ${reason}`);
  }
}

/**
 * A virtual range that would cross the non-canonical hole (linear 0x8000_0000_0000, where the
 * user half ends and the canonical kernel half 0xffff_8000_0000_0000 begins) or run past 2^48.
 */
export class CanonicalHoleError extends KmemError {
  readonly code = 'E_CROSSES_CANONICAL_HOLE';
  /**
   * @param va The start of the range.
   * @param sizeBytes Its size in bytes.
   */
  constructor(
    readonly va: number,
    readonly sizeBytes: number,
  ) {
    super(`range at ${formatVa(va)} of ${formatPa(sizeBytes)} bytes crosses the non-canonical hole or the end of the address space`);
  }
}

/** A physical range that reaches 2^MAXPHYADDR or beyond. */
export class PhysicalAddressRangeError extends KmemError {
  readonly code = 'E_PA_OUT_OF_RANGE';
  /**
   * @param pa The start of the range.
   * @param sizeBytes Its size in bytes.
   * @param limit 2^MAXPHYADDR, the first address out of reach.
   */
  constructor(
    readonly pa: number,
    readonly sizeBytes: number,
    readonly limit: number,
  ) {
    super(`physical range ${formatPa(pa)} + ${formatPa(sizeBytes)} bytes reaches beyond ${formatPa(limit)}`);
  }
}

/** A flags word with bits the operation does not accept (see `PTE` in entry.ts). */
export class InvalidFlagsError extends KmemError {
  readonly code = 'E_INVALID_FLAGS';
  /** @param flags The flags word given. */
  constructor(
    readonly flags: number,
    reason: string,
  ) {
    super(`flags ${formatPa(flags >>> 0)}: ${reason}`);
  }
}

/** An option that is out of its allowed set (e.g. MAXPHYADDR outside 32..52, an unknown page size). */
export class InvalidOptionError extends KmemError {
  readonly code = 'E_INVALID_OPTION';
  /**
   * @param option The option's name.
   * @param value The value given.
   */
  constructor(
    readonly option: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`option ${option} = ${show(value)}: ${reason}`);
  }
}

/** Mapping over an existing mapping (x86_64 crate: `MapToError::PageAlreadyMapped`). */
export class PageAlreadyMappedError extends KmemError {
  readonly code = 'E_ALREADY_MAPPED';
  /**
   * @param va The first page of the requested range that is already mapped.
   * @param pa What it maps to.
   */
  constructor(
    readonly va: number,
    readonly pa: number,
  ) {
    super(`page ${formatVa(va)} is already mapped (to ${formatPa(pa)})`);
  }
}

/**
 * A huge page (PS = 1) sits where the operation needs a page table
 * (x86_64 crate: `MapToError::ParentEntryHugePage`).
 */
export class ParentEntryHugePageError extends KmemError {
  readonly code = 'E_PARENT_HUGE_PAGE';
  /**
   * @param va The address being mapped.
   * @param level The level of the huge entry (2: a 2 MiB or 4 MiB page, 3: a 1 GiB page).
   */
  constructor(
    readonly va: number,
    readonly level: number,
  ) {
    super(`a huge page at level ${level} covers ${formatVa(va)} where a page table is needed`);
  }
}

/** An operation that needs a mapping found none (e.g. `updateFlags` over a hole). */
export class NotMappedError extends KmemError {
  readonly code = 'E_NOT_MAPPED';
  /** @param va The first page found unmapped. */
  constructor(readonly va: number) {
    super(`page ${formatVa(va)} is not mapped`);
  }
}

/** A range touching a PML4 slot the Mapper was told to leave alone (e.g. a recursive slot). */
export class ReservedRegionError extends KmemError {
  readonly code = 'E_RESERVED_REGION';
  /**
   * @param va The address in the reserved slot.
   * @param pml4Slot The PML4 slot the Mapper was told to leave alone.
   */
  constructor(
    readonly va: number,
    readonly pml4Slot: number,
  ) {
    super(`${formatVa(va)} lies in reserved PML4 slot ${pml4Slot}`);
  }
}

/**
 * A frame the {@link FrameAllocator} handed out that no entry can hold: not a non-negative safe
 * integer, not 4 KiB aligned, or at or above 2^MAXPHYADDR (SDM 4.5: an entry's address field
 * holds bits MAXPHYADDR-1:12; bits 51:MAXPHYADDR are reserved). A misbehaving allocator is misuse;
 * the call that got the frame undoes everything else it did, but does not free that frame.
 */
export class InvalidFrameError extends KmemError {
  readonly code = 'E_INVALID_FRAME';
  /**
   * @param frame What `allocFrame()` returned.
   * @param limit 2^MAXPHYADDR.
   */
  constructor(
    readonly frame: number,
    readonly limit: number,
  ) {
    const usable = Number.isSafeInteger(frame) && frame >= 0;
    const why = !usable ? 'not a non-negative safe integer' : frame % 4096 !== 0 ? 'not 4 KiB aligned' : `at or above 2^MAXPHYADDR (${formatPa(limit)})`;
    super(`the frame allocator returned ${usable ? formatPa(frame) : show(frame)}, which is ${why}: no page-table entry can point at it`);
  }
}

/** Freeing a frame that is already free. */
export class DoubleFreeError extends KmemError {
  readonly code = 'E_DOUBLE_FREE';
  /** @param pa The frame that was already free. */
  constructor(readonly pa: number) {
    super(`frame ${formatPa(pa)} is already free`);
  }
}

/** Freeing a frame the allocator never handed out or does not manage. */
export class FrameNotOwnedError extends KmemError {
  readonly code = 'E_FRAME_NOT_OWNED';
  /** @param pa The frame given. */
  constructor(readonly pa: number) {
    super(`frame ${formatPa(pa)} does not belong to this allocator`);
  }
}

/** A physical access outside the memory that backs it. */
export class PhysicalAccessError extends KmemError {
  readonly code = 'E_PHYSICAL_ACCESS';
  /**
   * @param pa The first byte of the access.
   * @param sizeBytes Its size in bytes.
   */
  constructor(
    readonly pa: number,
    readonly sizeBytes: number,
  ) {
    super(`physical access at ${formatPa(pa)} (${sizeBytes} bytes) is outside memory or misaligned`);
  }
}

/** The fixed pool of bootstrap page-table frames inside the kernel image is too small. */
export class BootstrapPoolExhaustedError extends KmemError {
  readonly code = 'E_BOOT_POOL_EXHAUSTED';
  /**
   * @param poolFrameCount Frames in the pool.
   * @param framesNeeded Frames the tables need.
   */
  constructor(
    readonly poolFrameCount: number,
    readonly framesNeeded: number,
  ) {
    super(`bootstrap page tables need ${framesNeeded} frames but the pool holds ${poolFrameCount}`);
  }
}

/** Inconsistent internal state found by a `checkInvariants()` call. */
export class InvariantViolationError extends KmemError {
  readonly code = 'E_INVARIANT';
}
