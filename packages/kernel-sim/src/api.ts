// Types, ports and error classes of @kmem/kernel-sim (foundation: machine memory, memory maps, layouts).
import { formatPhysical } from './hex';
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
 * The physical-memory port of `@kmem/x86-paging` (see its `PhysicalMemory`), declared here so
 * kernel-sim can check structurally that {@link SparsePhysicalMemory} fits it. Addresses are
 * physical byte addresses; words are little-endian unsigned 32-bit values.
 */
export interface PhysicalMemoryPort {
  /** Reads the little-endian u32 at `pa` (4-byte aligned). */
  read32(pa: number): number;
  /** Writes `value` (taken modulo 2^32) at `pa` (4-byte aligned). */
  write32(pa: number, value: number): void;
  /** Reads the byte at `pa`. */
  read8(pa: number): number;
  /** Writes the low 8 bits of `value` at `pa`. */
  write8(pa: number, value: number): void;
  /** Live view of the 1024 u32 words of the 4 KiB frame at `frame` (4 KiB aligned). */
  frameWords(frame: number): Uint32Array;
  /** Zeroes the whole 4 KiB frame at `frame`. */
  zeroFrame(frame: number): void;
}

// ---------------------------------------------------------------------------------------------
// Machine errors
// ---------------------------------------------------------------------------------------------

/** Base class of errors raised by the emulated machine itself (bus, memory image). */
export abstract class MachineError extends KmemError {}

/**
 * A physical access hit no RAM: a hole in the memory map, MMIO or an address above the
 * installed memory. A real machine would return all-ones or raise a machine check; the
 * simulator refuses, so a kernel bug shows up at once instead of as a silent zero.
 */
export class BusError extends MachineError {
  readonly code = 'E_BUS_ERROR';
  constructor(
    /** The physical address accessed. */
    readonly pa: number,
    /** Width of the access in bytes (1, 4 or 4096 for a whole frame). */
    readonly accessBytes: number,
    /** Whether the access was a write. */
    readonly isWrite: boolean,
  ) {
    super(`${isWrite ? 'write' : 'read'} of ${accessBytes} byte(s) at physical ${formatPhysical(pa)} hits no RAM (hole, MMIO or above installed memory)`);
  }
}

/** A physical address that is not a non-negative integer below 2^MAXPHYADDR, or is misaligned. */
export class InvalidPhysicalAddressError extends MachineError {
  readonly code = 'E_INVALID_PHYSICAL_ADDRESS';
  constructor(
    /** The offending address (as given). */
    readonly pa: number,
    reason: string,
  ) {
    super(`invalid physical address ${Number.isSafeInteger(pa) && pa >= 0 ? formatPhysical(pa) : show(pa)}: ${reason}`);
  }
}

/** A memory access given something other than the bytes or value it needs (e.g. `writeBytes(pa, undefined)`, a bigint value). */
export class MemoryArgumentError extends MachineError {
  readonly code = 'E_MEMORY_ARGUMENT';
}

/** A RAM range description (constructor input, options) that cannot describe a machine. */
export class InvalidMachineConfigError extends MachineError {
  readonly code = 'E_INVALID_MACHINE_CONFIG';
}

/** A memory image (sparse or raw) that cannot be read, with the byte offset of the problem. */
export class MemoryImageError extends MachineError {
  readonly code = 'E_MEMORY_IMAGE';
  constructor(
    /** Byte offset in the image where the problem was found. */
    readonly offset: number,
    reason: string,
  ) {
    super(`memory image: ${reason} (at byte offset ${offset})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Memory maps
// ---------------------------------------------------------------------------------------------

/**
 * What a range of the physical address space holds, in one vocabulary for every firmware
 * format (the Limine protocol's, which is also what `@kmem/pmm-bitmap`'s `fromMemoryMap` takes).
 */
export type MemoryKind =
  | 'usable'
  | 'reserved'
  | 'acpi-reclaimable'
  | 'acpi-nvs'
  | 'bad-memory'
  | 'bootloader-reclaimable'
  | 'kernel-and-modules'
  | 'framebuffer';

/** One entry of a normalised memory map: `[base, base + lengthBytes)`, both safe integers. */
export interface MemoryRegion {
  /** First physical byte address of the range. */
  readonly base: number;
  /** Length of the range in bytes (the end is `base + lengthBytes`, exclusive). */
  readonly lengthBytes: number;
  /** What the range holds. */
  readonly kind: MemoryKind;
  /** The firmware's own name for the type (e.g. `EfiBootServicesData (4)`), when parsed from firmware data. */
  readonly firmwareType?: string;
}

/**
 * Malformed memory-map input. Binary formats give the byte `offset`; text formats also give the
 * 1-based `line` and `column`. Parsers throw nothing else, whatever the input.
 */
export class MemoryMapParseError extends KmemError {
  readonly code = 'E_MEMMAP_PARSE';
  constructor(
    /** Byte offset (binary) or character offset (text) where the problem was found. */
    readonly offset: number,
    reason: string,
    /** 1-based line number, for text formats. */
    readonly line?: number,
    /** 1-based column, for text formats. */
    readonly column?: number,
  ) {
    super(line === undefined ? `memory map: ${reason} (at byte offset ${offset})` : `memory map: ${reason} (line ${line}, column ${column ?? 1}, offset ${offset})`);
  }
}

/** A region handed to {@link normalizeMemoryMap} that is not a valid region (bad number or kind). */
export class InvalidMemoryRegionError extends KmemError {
  readonly code = 'E_INVALID_MEMORY_REGION';
}

// ---------------------------------------------------------------------------------------------
// Layouts
// ---------------------------------------------------------------------------------------------

/** Base class of the errors {@link validateLayout} throws. */
export abstract class LayoutError extends KmemError {}

/** Two regions of a layout overlap. */
export class LayoutOverlapError extends LayoutError {
  readonly code = 'E_LAYOUT_OVERLAP';
}

/** An address of a layout is not a 48-bit linear address (so has no canonical form). */
export class NonCanonicalLayoutError extends LayoutError {
  readonly code = 'E_LAYOUT_NON_CANONICAL';
}

/** An address of a 32-bit layout lies outside the 4 GiB a 32-bit linear address can name. */
export class LayoutAddressSpaceError extends LayoutError {
  readonly code = 'E_LAYOUT_ADDRESS_SPACE';
}

/** A region of a layout spans the canonical hole between the user and the kernel half. */
export class LayoutCrossesHoleError extends LayoutError {
  readonly code = 'E_LAYOUT_CROSSES_HOLE';
}

/** Any other inconsistency of a layout (misalignment, missing region, empty range...). */
export class InvalidLayoutError extends LayoutError {
  readonly code = 'E_LAYOUT_INVALID';
}
