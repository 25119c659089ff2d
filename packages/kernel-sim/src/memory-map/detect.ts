// Format detection for a memory-map file of unknown origin (the demo's `--memmap FILE`).
import { MemoryMapParseError, type MemoryRegion } from '../api';
import { parseE820Log } from './e820-text';
import { parseLimineJson, parseLimineMemmap } from './limine';
import { parseMultiboot1Mmap, parseMultiboot2Info, parseMultiboot2MemoryMapTag } from './multiboot';
import { parseSysfsMemmap } from './sysfs-text';
import { parseUefiMemoryMap } from './uefi';

/** The memory-map formats this package reads. */
export type MemoryMapFormat = 'e820-log' | 'sysfs-memmap' | 'multiboot2-tag' | 'multiboot2-info' | 'multiboot1-mmap' | 'uefi' | 'limine' | 'limine-json';

/** Options of {@link parseMemoryMap}. */
export interface ParseMemoryMapOptions {
  /** Skip detection and parse as this format. */
  readonly format?: MemoryMapFormat;
  /** The file's name: its suffix (`.e820.txt`, `.mb2.bin`, `.efi-memmap.bin`...) decides first. */
  readonly fileName?: string;
  /** UEFI DescriptorSize / DescriptorVersion (the `.efi-memmap.json` beside a `.bin`); guessed if absent. */
  readonly uefi?: { readonly descriptorSize: number; readonly descriptorVersion?: number };
  /** UEFI maps: read as after ExitBootServices (default true). */
  readonly exitedBootServices?: boolean;
}

/** What {@link parseMemoryMap} found. */
export interface ParsedMemoryMap {
  readonly format: MemoryMapFormat;
  /** Regions in the order the firmware gave them (not normalised). */
  readonly regions: MemoryRegion[];
}

const NAME_HINTS: readonly [RegExp, MemoryMapFormat][] = [
  [/\.e820\.txt$|dmesg/i, 'e820-log'],
  [/sysfs-memmap|memmap\.txt$/i, 'sysfs-memmap'],
  [/\.mb2-info\.bin$/i, 'multiboot2-info'],
  [/\.mb2\.bin$/i, 'multiboot2-tag'],
  [/\.mb1\.bin$/i, 'multiboot1-mmap'],
  [/\.efi-memmap\.bin$|\.uefi\.bin$/i, 'uefi'],
  [/limine.*\.json$/i, 'limine-json'],
  [/limine.*\.bin$/i, 'limine'],
];

function isText(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x20 ? b !== 0x09 && b !== 0x0a && b !== 0x0d : b > 0x7e) return false;
  }
  return bytes.length > 0;
}

function decode(bytes: Uint8Array): string {
  // ASCII only (checked by isText or tolerated): one char per byte, no TextDecoder needed.
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

function parses(fn: () => MemoryRegion[] | null): MemoryRegion[] | null {
  try {
    return fn();
  } catch (e) {
    if (e instanceof MemoryMapParseError) return null;
    throw e;
  }
}

function plausibleUefi(bytes: Uint8Array, descriptorSize: number): boolean {
  if (bytes.length === 0 || bytes.length % descriptorSize !== 0) return false;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let off = 0; off < bytes.length; off += descriptorSize) {
    const type = v.getUint32(off, true);
    if (type > 15 && type < 0x7000_0000) return false;
    if (v.getUint32(off + 4, true) !== 0) return false; // padding
    if (v.getUint32(off + 24, true) === 0 && v.getUint32(off + 28, true) === 0) return false; // zero pages
  }
  return parses(() => parseUefiMemoryMap(bytes, { descriptorSize })) !== null;
}

function uefiGuess(bytes: Uint8Array): number | null {
  for (const size of [48, 40, 56, 64, 80]) if (plausibleUefi(bytes, size)) return size;
  return null;
}

/**
 * Guesses the format of a memory-map file: by file name first, then by content (text with
 * `BIOS-e820:` lines, sysfs-style lines, JSON; multiboot2 information or tag, multiboot1
 * buffer, UEFI descriptors of a plausible size, Limine entries). Never throws.
 * @returns null when nothing fits.
 */
export function detectMemoryMapFormat(bytes: Uint8Array, fileName?: string): MemoryMapFormat | null {
  if (fileName !== undefined) for (const [re, format] of NAME_HINTS) if (re.test(fileName)) return format;
  if (isText(bytes)) {
    const text = decode(bytes);
    if (text.includes('BIOS-e820:')) return 'e820-log';
    const t = text.trimStart();
    if (t.startsWith('[') || t.startsWith('{')) return 'limine-json';
    if (parses(() => parseSysfsMemmap(text)) !== null && /\S/.test(text)) return 'sysfs-memmap';
  }
  if (bytes.length >= 16) {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const w0 = v.getUint32(0, true);
    if (w0 === bytes.length && v.getUint32(4, true) === 0 && parses(() => parseMultiboot2Info(bytes).regions) !== null) return 'multiboot2-info';
    if (w0 === 6 && v.getUint32(4, true) === bytes.length && parses(() => parseMultiboot2MemoryMapTag(bytes)) !== null) return 'multiboot2-tag';
    if (w0 >= 20 && w0 <= 64 && parses(() => parseMultiboot1Mmap(bytes)) !== null) return 'multiboot1-mmap';
  }
  if (uefiGuess(bytes) !== null) return 'uefi';
  const limine = parses(() => parseLimineMemmap(bytes));
  if (limine !== null && limine.length > 0) {
    let sorted = true;
    for (let i = 1; i < limine.length; i++) sorted &&= limine[i]!.base >= limine[i - 1]!.base;
    if (sorted && limine.every((r) => !r.firmwareType?.startsWith('unknown'))) return 'limine';
  }
  return null;
}

/**
 * Parses a memory-map file of any supported format (detected unless `options.format` says).
 * @throws MemoryMapParseError when the format cannot be determined or the content is malformed
 *   (a multiboot2 information structure without a memory map tag included).
 */
export function parseMemoryMap(input: Uint8Array | string, options: ParseMemoryMapOptions = {}): ParsedMemoryMap {
  const bytes = typeof input === 'string' ? Uint8Array.from(input, (c) => c.charCodeAt(0) & 0xff) : input;
  const format = options.format ?? detectMemoryMapFormat(bytes, options.fileName);
  if (format === null) throw new MemoryMapParseError(0, 'unrecognised memory map format');
  const text = (): string => (typeof input === 'string' ? input : decode(bytes));
  const exited = options.exitedBootServices === undefined ? {} : { exitedBootServices: options.exitedBootServices };
  switch (format) {
    case 'e820-log':
      return { format, regions: parseE820Log(text()) };
    case 'sysfs-memmap':
      return { format, regions: parseSysfsMemmap(text()) };
    case 'limine-json':
      return { format, regions: parseLimineJson(text()) };
    case 'multiboot2-tag':
      return { format, regions: parseMultiboot2MemoryMapTag(bytes) };
    case 'multiboot2-info': {
      const info = parseMultiboot2Info(bytes, exited);
      if (info.regions === null) throw new MemoryMapParseError(0, 'multiboot2 information has no memory map tag (6 or 17)');
      return { format, regions: info.regions };
    }
    case 'multiboot1-mmap':
      return { format, regions: parseMultiboot1Mmap(bytes) };
    case 'uefi': {
      const descriptorSize = options.uefi?.descriptorSize ?? uefiGuess(bytes);
      if (descriptorSize === null) throw new MemoryMapParseError(0, 'UEFI map: descriptor size not given and no plausible size found');
      const version = options.uefi?.descriptorVersion;
      return { format, regions: parseUefiMemoryMap(bytes, { descriptorSize, ...(version === undefined ? {} : { descriptorVersion: version }), ...exited }) };
    }
    case 'limine':
      return { format, regions: parseLimineMemmap(bytes) };
  }
}
