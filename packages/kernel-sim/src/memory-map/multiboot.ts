// Multiboot 1 and 2 memory maps, and the multiboot2 boot information structure.
import type { MemoryRegion } from '../api';
import { ByteReader } from './binary';
import { e820TypeName, e820TypeToKind } from './kinds';
import { parseUefiMemoryMap } from './uefi';

/** Multiboot2 tag types this package reads (multiboot2 spec 3.6). */
export const MB2_TAG = Object.freeze({ End: 0, BasicMemInfo: 4, MemoryMap: 6, EfiMemoryMap: 17 });

function mb2MemoryMapAt(r: ByteReader, off: number, tagEnd: number): MemoryRegion[] {
  const type = r.u32(off, 'tag type');
  if (type !== MB2_TAG.MemoryMap) r.fail(off, `tag type ${type} is not 6 (memory map)`);
  const size = r.u32(off + 4, 'tag size');
  if (size < 16) r.fail(off + 4, `memory map tag size ${size} is below its 16-byte header`);
  if (off + size > tagEnd) r.fail(off + 4, `memory map tag size ${size} overflows the ${tagEnd - off} bytes available`);
  const entrySize = r.u32(off + 8, 'entry_size');
  if (entrySize < 24 || entrySize % 8 !== 0) r.fail(off + 8, `entry_size ${entrySize} is not a multiple of 8 of at least 24`);
  if ((size - 16) % entrySize !== 0) r.fail(off + 4, `tag size ${size} is not 16 + a whole number of ${entrySize}-byte entries`);
  const regions: MemoryRegion[] = [];
  for (let e = off + 16; e < off + size; e += entrySize) {
    const lenLo = r.u32(e + 8, 'length');
    const lenHi = r.u32(e + 12, 'length');
    const t = r.u32(e + 16, 'entry type');
    regions.push(r.regionFromHalves(e, lenLo, lenHi, e, e820TypeToKind(t), e820TypeName(t)));
  }
  return regions;
}

/**
 * Parses a multiboot2 memory map tag (type 6): `u32 type, u32 size, u32 entry_size,
 * u32 entry_version`, then entries `u64 base_addr, u64 length, u32 type, u32 reserved` walked by
 * entry_size (multiboot2 spec 3.6.8). Types 1-5 as in the spec; others (GRUB's 20) are reserved.
 * @throws MemoryMapParseError for a wrong tag type, a size that overflows the input or is not a
 *   whole number of entries, a bad entry_size, a range wrapping past 2^64 or reaching 2^53.
 */
export function parseMultiboot2MemoryMapTag(bytes: Uint8Array): MemoryRegion[] {
  return mb2MemoryMapAt(new ByteReader(bytes), 0, bytes.length);
}

/** One tag of a multiboot2 information structure. */
export interface Multiboot2Tag {
  /** Tag type. */
  readonly type: number;
  /** Byte offset of the tag in the structure. */
  readonly offset: number;
  /** The tag's size field (header included, padding excluded). */
  readonly sizeBytes: number;
}

/** What {@link parseMultiboot2Info} found. */
export interface Multiboot2Info {
  /** The structure's total_size field. */
  readonly totalSizeBytes: number;
  /** Every tag up to and including the end tag. */
  readonly tags: readonly Multiboot2Tag[];
  /** Tag 6, if present. */
  readonly memoryMap: MemoryRegion[] | null;
  /** Tag 17 (the raw UEFI map GRUB passes under UEFI), if present. */
  readonly efiMemoryMap: MemoryRegion[] | null;
  /** Tag 4 (mem_lower / mem_upper, KiB), if present. */
  readonly basicMemInfo: { readonly memLowerKiB: number; readonly memUpperKiB: number } | null;
  /** The map a kernel should use: tag 6, else tag 17, else null. */
  readonly regions: MemoryRegion[] | null;
}

/**
 * Parses a whole multiboot2 boot information structure: `u32 total_size, u32 reserved`, then
 * tags `{u32 type, u32 size, ...}` each starting 8-byte aligned, ending with a type-0 tag of
 * size 8 (multiboot2 spec 3.6). Reads tag 6, tag 17 (EFI map: `u32 descriptor_size,
 * u32 descriptor_version`, then the map) and tag 4.
 * @throws MemoryMapParseError for a total_size larger than the input or below 16, a tag smaller
 *   than 8 bytes or overflowing total_size, a missing end tag, or a malformed map tag.
 */
export function parseMultiboot2Info(bytes: Uint8Array, options: { readonly exitedBootServices?: boolean } = {}): Multiboot2Info {
  const r = new ByteReader(bytes);
  const total = r.u32(0, 'total_size');
  if (total < 16) r.fail(0, `total_size ${total} is below 16 (header + end tag)`);
  if (total > bytes.length) r.fail(0, `total_size ${total} overflows the ${bytes.length}-byte input`);
  const tags: Multiboot2Tag[] = [];
  let memoryMap: MemoryRegion[] | null = null;
  let efiMemoryMap: MemoryRegion[] | null = null;
  let basicMemInfo: Multiboot2Info['basicMemInfo'] = null;
  let off = 8;
  for (;;) {
    if (off + 8 > total) r.fail(off, 'no end tag (type 0) before total_size');
    const type = r.u32(off, 'tag type');
    const size = r.u32(off + 4, 'tag size');
    if (size < 8) r.fail(off + 4, `tag size ${size} is below 8`);
    if (off + size > total) r.fail(off + 4, `tag size ${size} overflows total_size`);
    tags.push({ type, offset: off, sizeBytes: size });
    if (type === MB2_TAG.End) break;
    if (type === MB2_TAG.MemoryMap) memoryMap = mb2MemoryMapAt(r, off, off + size);
    else if (type === MB2_TAG.EfiMemoryMap) {
      if (size < 16) r.fail(off + 4, `EFI memory map tag size ${size} is below 16`);
      const descriptorSize = r.u32(off + 8, 'descriptor_size');
      const descriptorVersion = r.u32(off + 12, 'descriptor_version');
      efiMemoryMap = parseUefiMemoryMap(
        bytes.subarray(off + 16, off + size),
        { descriptorSize, descriptorVersion, ...(options.exitedBootServices === undefined ? {} : { exitedBootServices: options.exitedBootServices }) },
        off + 16,
      );
    } else if (type === MB2_TAG.BasicMemInfo) {
      if (size < 16) r.fail(off + 4, `basic meminfo tag size ${size} is below 16`);
      basicMemInfo = { memLowerKiB: r.u32(off + 8, 'mem_lower'), memUpperKiB: r.u32(off + 12, 'mem_upper') };
    }
    off += Math.ceil(size / 8) * 8;
  }
  return { totalSizeBytes: total, tags, memoryMap, efiMemoryMap, basicMemInfo, regions: memoryMap ?? efiMemoryMap };
}

/**
 * Parses a multiboot1 mmap buffer (the `mmap_length` bytes at `mmap_addr`): entries
 * `u32 size, u64 base_addr, u64 length, u32 type`, the next one `size + 4` bytes further
 * (`size` excludes itself; multiboot spec 3.3).
 * @throws MemoryMapParseError for an entry size below 20, an entry overflowing the buffer, a
 *   range wrapping past 2^64 or reaching 2^53.
 */
export function parseMultiboot1Mmap(bytes: Uint8Array): MemoryRegion[] {
  const r = new ByteReader(bytes);
  const regions: MemoryRegion[] = [];
  for (let off = 0; off < bytes.length; ) {
    const size = r.u32(off, 'entry size');
    if (size < 20) r.fail(off, `entry size ${size} is below 20 (base_addr, length, type)`);
    if (off + 4 + size > bytes.length) r.fail(off, `entry size ${size} overflows the ${bytes.length}-byte buffer`);
    const lenLo = r.u32(off + 12, 'length');
    const lenHi = r.u32(off + 16, 'length');
    const t = r.u32(off + 20, 'entry type');
    regions.push(r.regionFromHalves(off + 4, lenLo, lenHi, off, e820TypeToKind(t), e820TypeName(t)));
    off += 4 + size;
  }
  return regions;
}

/** Bits of the multiboot1 `multiboot_info.flags` word (multiboot spec 0.6.96, 3.3). */
export const MB1_INFO_FLAG = Object.freeze({
  /** mem_lower / mem_upper valid. */
  Mem: 1 << 0,
  /** boot_device valid. */
  BootDevice: 1 << 1,
  /** cmdline valid. */
  Cmdline: 1 << 2,
  /** mods_count / mods_addr valid. */
  Mods: 1 << 3,
  /** mmap_length / mmap_addr valid. */
  Mmap: 1 << 6,
  /** boot_loader_name valid. */
  BootLoaderName: 1 << 9,
});

/** The fields of a multiboot1 `multiboot_info` structure a memory manager needs (multiboot spec 3.3). */
export interface Multiboot1Info {
  /** The flags word. */
  readonly flags: number;
  /** mem_lower / mem_upper in KiB, when flags bit 0 is set. */
  readonly memLowerKiB: number | null;
  readonly memUpperKiB: number | null;
  /** mmap_length / mmap_addr (guest-physical), when flags bit 6 is set. */
  readonly mmapLengthBytes: number | null;
  readonly mmapAddr: number | null;
  /** mods_count / mods_addr (guest-physical address of the module list), when flags bit 3 is set. */
  readonly modsCount: number | null;
  readonly modsAddr: number | null;
  /** Guest-physical address of the kernel command line (NUL-terminated), when flags bit 2 is set. */
  readonly cmdlinePa: number | null;
  /** Guest-physical address of the boot loader's name (NUL-terminated), when flags bit 9 is set. */
  readonly bootLoaderNamePa: number | null;
}

/**
 * Reads the fields of a multiboot1 `multiboot_info` structure that a memory manager needs: memory
 * sizes, the memory map buffer, the module list, the command line and boot loader name pointers.
 * Pointers are guest-physical and 32-bit; follow them with {@link parseMultiboot1Mmap} and
 * `parseMultiboot1Modules` / `readMultiboot1Boot`.
 * @throws MemoryMapParseError when the input is too short for the fields its flags announce, or
 *   when the memory map buffer `[mmap_addr, mmap_addr + mmap_length)` reaches beyond 4 GiB
 *   (multiboot1 addresses are 32-bit: such a block is corrupt).
 */
export function parseMultiboot1Info(bytes: Uint8Array): Multiboot1Info {
  const r = new ByteReader(bytes);
  const flags = r.u32(0, 'flags');
  const has = (bit: number): boolean => (flags & bit) !== 0;
  const mmapLengthBytes = has(MB1_INFO_FLAG.Mmap) ? r.u32(44, 'mmap_length') : null;
  const mmapAddr = has(MB1_INFO_FLAG.Mmap) ? r.u32(48, 'mmap_addr') : null;
  if (mmapAddr !== null && mmapLengthBytes !== null && mmapAddr + mmapLengthBytes > 0x1_0000_0000) {
    r.fail(44, `memory map buffer [0x${mmapAddr.toString(16)}, +0x${mmapLengthBytes.toString(16)}) reaches beyond 4 GiB, which a multiboot1 pointer cannot`);
  }
  return {
    flags,
    memLowerKiB: has(MB1_INFO_FLAG.Mem) ? r.u32(4, 'mem_lower') : null,
    memUpperKiB: has(MB1_INFO_FLAG.Mem) ? r.u32(8, 'mem_upper') : null,
    mmapLengthBytes,
    mmapAddr,
    modsCount: has(MB1_INFO_FLAG.Mods) ? r.u32(20, 'mods_count') : null,
    modsAddr: has(MB1_INFO_FLAG.Mods) ? r.u32(24, 'mods_addr') : null,
    cmdlinePa: has(MB1_INFO_FLAG.Cmdline) ? r.u32(16, 'cmdline') : null,
    bootLoaderNamePa: has(MB1_INFO_FLAG.BootLoaderName) ? r.u32(64, 'boot_loader_name') : null,
  };
}
