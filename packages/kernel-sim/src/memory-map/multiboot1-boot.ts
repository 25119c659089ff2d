// What a multiboot1 loader (GRUB's `multiboot` command, QEMU's -kernel) hands a 32-bit kernel, read
// whole: the multiboot_info block, the memory map buffer at mmap_addr and the module list at
// mods_addr with each module's command line (multiboot spec 0.6.96, 3.3). Pointers in the block are
// guest-physical, so the reader is given a way to read guest-physical bytes.
import { KmemError, MemoryMapParseError, type MemoryRegion } from '../api';
import { ByteReader } from './binary';
import { parseMultiboot1Info, parseMultiboot1Mmap, type Multiboot1Info } from './multiboot';
import { show } from '../show-value';

/** Size of one multiboot1 module entry: `u32 mod_start, u32 mod_end, u32 string, u32 reserved`. */
export const MB1_MODULE_ENTRY_BYTES = 16;

/**
 * Most modules read from one list. GRUB has no fixed limit; a kernel that copies the list into
 * its own memory bounds it, and so does this reader, so its work never follows a corrupt count.
 */
export const MAX_MB1_MODULES = 1024;

/** Longest module command line read (bytes, without its NUL), as a kernel's fixed buffer would. */
export const MAX_MB1_STRING_BYTES = 4096;

const FOUR_GIB = 0x1_0000_0000;

/**
 * A malformed multiboot1 module list: a list that runs past 4 GiB or past what the loader left in
 * memory, more than {@link MAX_MB1_MODULES} entries, a module whose end is below its start, two
 * modules that overlap, or a command line that is not NUL-terminated within
 * {@link MAX_MB1_STRING_BYTES}. `offset` is the byte offset in the module list (the list's
 * `mods_addr` is `listPa`), or in the info block for the count and address fields.
 */
export class MultibootModuleError extends KmemError {
  readonly code = 'E_MULTIBOOT_MODULE';
  constructor(
    /** Byte offset of the offending field: in the module list, or (with `inInfoBlock`) in multiboot_info. */
    readonly offset: number,
    /** What is wrong, in words. */
    readonly reason: string,
    /** True when `offset` is in the multiboot_info block (mods_count / mods_addr). */
    readonly inInfoBlock = false,
  ) {
    super(`multiboot1 module list: ${reason} (at byte offset ${offset} of ${inInfoBlock ? 'multiboot_info' : 'the module list'})`);
  }
}

/** One boot module as the loader placed it. */
export interface Multiboot1Module {
  /** Position in the list (0-based). */
  readonly index: number;
  /** `mod_start`: first physical byte of the module. */
  readonly startPa: number;
  /** `mod_end`: first physical byte after the module (exclusive, as GRUB and QEMU write it). */
  readonly endPa: number;
  /** `mod_end - mod_start` (bytes). */
  readonly sizeBytes: number;
  /** `string`: physical address of the module's command line, 0 when it has none. */
  readonly stringPa: number;
  /** The command line (Latin-1 decoded), or null when `stringPa` is 0 or was not read. */
  readonly cmdline: string | null;
}

/**
 * Reads guest-physical bytes `[pa, pa + lengthBytes)` for the reader, or returns null when nothing
 * is known there (the loader left no data at that address).
 */
export type ReadPhysical = (pa: number, lengthBytes: number) => Uint8Array | null;

/**
 * Parses a multiboot1 module list: `count` entries of {@link MB1_MODULE_ENTRY_BYTES} bytes. When
 * `readPhysical` is given, each non-zero `string` pointer is followed and its command line read.
 *
 * @param bytes - the list (at least `count * 16` bytes)
 * @param count - `mods_count`
 * @param readPhysical - optional: reads each module's command line
 * @returns the modules in list order
 * @throws {@link MultibootModuleError} (`E_MULTIBOOT_MODULE`) for a count above
 *   {@link MAX_MB1_MODULES}, a list shorter than `count` entries, `mod_end < mod_start`, two
 *   overlapping modules, or a command line that cannot be read or has no NUL in its first
 *   {@link MAX_MB1_STRING_BYTES} + 1 bytes
 */
export function parseMultiboot1Modules(bytes: Uint8Array, count: number, readPhysical?: ReadPhysical): Multiboot1Module[] {
  if (!Number.isInteger(count) || count < 0 || count > MAX_MB1_MODULES) {
    throw new MultibootModuleError(0, `mods_count ${show(count)} is not 0..${MAX_MB1_MODULES}`);
  }
  if (bytes.length < count * MB1_MODULE_ENTRY_BYTES) {
    throw new MultibootModuleError(bytes.length, `${count} modules need ${count * MB1_MODULE_ENTRY_BYTES} bytes, the list has ${bytes.length}`);
  }
  const r = new ByteReader(bytes);
  const modules: Multiboot1Module[] = [];
  for (let index = 0; index < count; index++) {
    const at = index * MB1_MODULE_ENTRY_BYTES;
    const startPa = r.u32(at, 'mod_start');
    const endPa = r.u32(at + 4, 'mod_end');
    const stringPa = r.u32(at + 8, 'string');
    if (endPa < startPa) {
      throw new MultibootModuleError(at + 4, `module ${index} ends at 0x${endPa.toString(16)}, below its start 0x${startPa.toString(16)}`);
    }
    const cmdline = stringPa === 0 || readPhysical === undefined ? null : readString(readPhysical, stringPa, at + 8, index);
    modules.push({ index, startPa, endPa, sizeBytes: endPa - startPa, stringPa, cmdline });
  }
  // Disjointness: sort a copy by start (count is bounded) and compare neighbours.
  const sorted = modules.filter((m) => m.sizeBytes > 0).sort((a, b) => a.startPa - b.startPa);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.startPa < a.endPa) {
      throw new MultibootModuleError(
        b.index * MB1_MODULE_ENTRY_BYTES,
        `module ${b.index} [0x${b.startPa.toString(16)}, 0x${b.endPa.toString(16)}) overlaps module ${a.index} [0x${a.startPa.toString(16)}, 0x${a.endPa.toString(16)})`,
      );
    }
  }
  return modules;
}

function readString(readPhysical: ReadPhysical, pa: number, fieldOffset: number, index: number): string {
  const want = Math.min(MAX_MB1_STRING_BYTES + 1, FOUR_GIB - pa);
  const bytes = readPhysical(pa, want);
  if (bytes === null) throw new MultibootModuleError(fieldOffset, `module ${index}'s command line at 0x${pa.toString(16)} lies in no memory the loader wrote`);
  const end = bytes.subarray(0, want).indexOf(0);
  if (end < 0) throw new MultibootModuleError(fieldOffset, `module ${index}'s command line at 0x${pa.toString(16)} has no NUL within ${MAX_MB1_STRING_BYTES} bytes`);
  let text = '';
  for (let i = 0; i < end; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}

/** Everything {@link readMultiboot1Boot} found. */
export interface Multiboot1Boot {
  /** The info block's fields. */
  readonly info: Multiboot1Info;
  /** The memory map (flags bit 6), or null when the loader gave none. */
  readonly regions: MemoryRegion[] | null;
  /** The boot modules (flags bit 3), in list order; empty when there are none. */
  readonly modules: readonly Multiboot1Module[];
}

/**
 * Reads what a multiboot1 loader handed over: the info block, the memory map buffer at
 * `mmap_addr` and the module list at `mods_addr` (with each module's command line).
 *
 * @param infoBytes - the `multiboot_info` block (116 bytes from GRUB)
 * @param readPhysical - reads the guest-physical bytes the block points at
 * @returns the fields, the map and the modules
 * @throws MemoryMapParseError for a truncated block, a map buffer reaching beyond 4 GiB, a map
 *   buffer the loader left nothing at, or a malformed map
 * @throws {@link MultibootModuleError} (`E_MULTIBOOT_MODULE`) for a module list reaching beyond
 *   4 GiB or lying where the loader wrote nothing, or a malformed list (see
 *   {@link parseMultiboot1Modules})
 */
export function readMultiboot1Boot(infoBytes: Uint8Array, readPhysical: ReadPhysical): Multiboot1Boot {
  const info = parseMultiboot1Info(infoBytes);
  let regions: MemoryRegion[] | null = null;
  if (info.mmapAddr !== null && info.mmapLengthBytes !== null) {
    const buffer = readPhysical(info.mmapAddr, info.mmapLengthBytes);
    if (buffer === null || buffer.length < info.mmapLengthBytes) {
      throw new MemoryMapParseError(48, `memory map buffer at 0x${info.mmapAddr.toString(16)} (${info.mmapLengthBytes} bytes) lies in no memory the loader wrote`);
    }
    regions = parseMultiboot1Mmap(buffer.subarray(0, info.mmapLengthBytes));
  }
  let modules: Multiboot1Module[] = [];
  if (info.modsCount !== null && info.modsAddr !== null && info.modsCount > 0) {
    const count = info.modsCount;
    if (count > MAX_MB1_MODULES) throw new MultibootModuleError(20, `mods_count ${count} is above the ${MAX_MB1_MODULES} modules read`, true);
    const listBytes = count * MB1_MODULE_ENTRY_BYTES;
    if (info.modsAddr + listBytes > FOUR_GIB) {
      throw new MultibootModuleError(24, `module list [0x${info.modsAddr.toString(16)}, +${listBytes}) reaches beyond 4 GiB, which a multiboot1 pointer cannot`, true);
    }
    const list = readPhysical(info.modsAddr, listBytes);
    if (list === null || list.length < listBytes) {
      throw new MultibootModuleError(24, `module list at 0x${info.modsAddr.toString(16)} (${listBytes} bytes) lies in no memory the loader wrote`, true);
    }
    modules = parseMultiboot1Modules(list, count, readPhysical);
  }
  return { info, regions, modules };
}
