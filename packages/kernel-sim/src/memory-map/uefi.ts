// UEFI GetMemoryMap() output: EFI_MEMORY_DESCRIPTOR records walked by DescriptorSize.
import type { MemoryRegion } from '../api';
import { ByteReader } from './binary';
import { UEFI_MEMORY_TYPE_NAMES, uefiTypeToKind } from './kinds';
import { show } from '../show-value';

/** sizeof(EFI_MEMORY_DESCRIPTOR) in UEFI 2.x: Type, pad, PhysicalStart, VirtualStart, NumberOfPages, Attribute. */
export const EFI_MEMORY_DESCRIPTOR_BYTES = 40;

/** Options of {@link parseUefiMemoryMap}. */
export interface UefiMemoryMapOptions {
  /** The DescriptorSize GetMemoryMap returned (48 on OVMF): records are walked by it, never by 40. */
  readonly descriptorSize: number;
  /** The DescriptorVersion GetMemoryMap returned; 1 (EFI_MEMORY_DESCRIPTOR_VERSION) or later. Default 1. */
  readonly descriptorVersion?: number;
  /**
   * Whether the map is read as a kernel after ExitBootServices sees it (default true): loader
   * and boot-services code/data (types 1-4) are then `usable`; with false they are
   * `bootloader-reclaimable`.
   */
  readonly exitedBootServices?: boolean;
}

/**
 * Parses a UEFI memory map buffer (an array of EFI_MEMORY_DESCRIPTOR records, UEFI spec 7.2
 * GetMemoryMap). Regions come back in firmware order (OVMF's q35 maps are not sorted).
 * `reportBase` is added to error offsets (used when the map sits inside a larger structure).
 * @throws MemoryMapParseError for a descriptor size below 40 or not a multiple of 8, a version
 *   of 0, a buffer that is not a whole number of descriptors, a PhysicalStart that is not 4 KiB
 *   aligned, a range wrapping past 2^64 or reaching 2^53.
 */
export function parseUefiMemoryMap(bytes: Uint8Array, options: UefiMemoryMapOptions, reportBase = 0): MemoryRegion[] {
  const r = new ByteReader(bytes, reportBase);
  const size = options.descriptorSize;
  const version = options.descriptorVersion ?? 1;
  const exited = options.exitedBootServices ?? true;
  if (!Number.isInteger(size) || size < EFI_MEMORY_DESCRIPTOR_BYTES || size % 8 !== 0 || size > 0x1_0000) {
    r.fail(0, `descriptor size ${show(size)} is not a multiple of 8 in ${EFI_MEMORY_DESCRIPTOR_BYTES}..65536`);
  }
  if (!Number.isInteger(version) || version < 1 || version > 0xffff_ffff) r.fail(0, `descriptor version ${show(version)} is not 1 or later`);
  if (bytes.length % size !== 0) {
    r.fail(bytes.length - (bytes.length % size), `map size ${bytes.length} is not a whole number of ${size}-byte descriptors`);
  }
  const regions: MemoryRegion[] = [];
  for (let off = 0; off < bytes.length; off += size) {
    const type = r.u32(off, 'descriptor Type');
    const startLo = r.u32(off + 8, 'PhysicalStart');
    if ((startLo & 0xfff) !== 0) r.fail(off + 8, 'PhysicalStart is not 4 KiB aligned');
    const pagesLo = r.u32(off + 24, 'NumberOfPages');
    const pagesHi = r.u32(off + 28, 'NumberOfPages');
    if (pagesHi >= 0x10_0000) r.fail(off + 24, 'NumberOfPages * 4096 wraps past 2^64');
    // length = pages * 4096, as u32 halves without overflow: shift the 64-bit page count left 12.
    const lenLo = (pagesLo << 12) >>> 0;
    const lenHi = pagesHi * 4096 + (pagesLo >>> 20);
    const name = type < UEFI_MEMORY_TYPE_NAMES.length ? UEFI_MEMORY_TYPE_NAMES[type]! : type >= 0x8000_0000 ? 'OS-defined' : type >= 0x7000_0000 ? 'OEM-defined' : 'unknown';
    regions.push(r.regionFromHalves(off + 8, lenLo, lenHi, off, uefiTypeToKind(type, exited), `${name} (${type})`));
  }
  return regions;
}
