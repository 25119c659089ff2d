// Export and import of emulated physical memory: a raw flat image (for QEMU's
// `-device loader,file=...,addr=0`) and a sparse image with the control registers.
import { BusError, InvalidMachineConfigError, MemoryImageError } from './api';
import { formatPhysical } from './hex';
import { show } from './show-value';
import { FRAME_BYTES, SparsePhysicalMemory } from './sparse-physical-memory';

/** The 8 magic bytes that open a sparse image: ASCII `KMEMIMG` and a NUL. */
export const SPARSE_IMAGE_MAGIC: readonly number[] = Object.freeze([0x4b, 0x4d, 0x45, 0x4d, 0x49, 0x4d, 0x47, 0x00]);
/** Format version written by {@link exportSparseImage}. */
export const SPARSE_IMAGE_VERSION = 1;
/** Header size in bytes. */
export const SPARSE_IMAGE_HEADER_BYTES = 64;
const RANGE_RECORD_BYTES = 16;
const FRAME_RECORD_BYTES = 8 + FRAME_BYTES;
const TWO_32 = 0x1_0000_0000;
/** Host byte order: frame words can be copied as bytes only on a little-endian host. */
const LITTLE_ENDIAN_HOST = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
/** Largest raw image this package builds: 4 GiB (a typed array's practical limit). */
export const MAX_RAW_IMAGE_BYTES = 4 * 1024 * 1024 * 1024;

/**
 * Control-register state saved with a sparse image (values as the CPU holds them; each a
 * non-negative safe integer). CR3 carries the PML4 frame (and PCID bits if CR4.PCIDE).
 */
export interface ControlRegisterState {
  /** CR0 (PG bit 31, WP bit 16). */
  readonly cr0: number;
  /** CR3: the root table's frame (and PCID bits if CR4.PCIDE). */
  readonly cr3: number;
  /** CR4 (PAE bit 5, PGE bit 7, LA57 bit 12, PCIDE bit 17, SMEP bit 20, SMAP bit 21). */
  readonly cr4: number;
  /** IA32_EFER (MSR 0xC000_0080): LME bit 8, NXE bit 11. */
  readonly efer: number;
}

/** What {@link importSparseImage} returns. */
export interface SparseImage {
  /** A new memory with the image's RAM ranges, MAXPHYADDR and exactly its backed frames. */
  readonly memory: SparsePhysicalMemory;
  /** The control registers saved with it. */
  readonly registers: ControlRegisterState;
}

function setU64(v: DataView, off: number, value: number): void {
  const hi = Math.floor(value / TWO_32);
  v.setUint32(off, value - hi * TWO_32, true);
  v.setUint32(off + 4, hi, true);
}

/**
 * Serialises `memory` and `registers` into the sparse image format (byte layout in the README,
 * all little-endian): a 64-byte header (magic, version, header size, CR3, CR0, CR4, EFER,
 * MAXPHYADDR, range and frame counts), the RAM ranges (u64 base, u64 length), then every backed
 * frame as (u64 pa, 4096 bytes) in ascending address order. Frames never touched are absent
 * and read as zero.
 * @throws InvalidMachineConfigError if a register value is not a non-negative safe integer.
 */
export function exportSparseImage(memory: SparsePhysicalMemory, registers: ControlRegisterState): Uint8Array {
  for (const name of ['cr0', 'cr3', 'cr4', 'efer'] as const) {
    const value = registers[name];
    if (!Number.isSafeInteger(value) || value < 0) throw new InvalidMachineConfigError(`${name} ${show(value)} is not a non-negative safe integer`);
  }
  const ranges = memory.ramRanges;
  const frameCount = memory.touchedFrameCount;
  const out = new Uint8Array(SPARSE_IMAGE_HEADER_BYTES + ranges.length * RANGE_RECORD_BYTES + frameCount * FRAME_RECORD_BYTES);
  const v = new DataView(out.buffer);
  out.set(SPARSE_IMAGE_MAGIC, 0);
  v.setUint32(8, SPARSE_IMAGE_VERSION, true);
  v.setUint32(12, SPARSE_IMAGE_HEADER_BYTES, true);
  setU64(v, 16, registers.cr3);
  setU64(v, 24, registers.cr0);
  setU64(v, 32, registers.cr4);
  setU64(v, 40, registers.efer);
  v.setUint32(48, memory.maxPhysAddrBits, true);
  v.setUint32(52, ranges.length, true);
  v.setUint32(56, frameCount, true);
  let off = SPARSE_IMAGE_HEADER_BYTES;
  for (const r of ranges) {
    setU64(v, off, r.base);
    setU64(v, off + 8, r.lengthBytes);
    off += RANGE_RECORD_BYTES;
  }
  memory.forEachTouchedFrame((frame, words) => {
    setU64(v, off, frame);
    if (LITTLE_ENDIAN_HOST) out.set(new Uint8Array(words.buffer, words.byteOffset, FRAME_BYTES), off + 8);
    else for (let i = 0; i < 1024; i++) v.setUint32(off + 8 + i * 4, words[i]!, true);
    off += FRAME_RECORD_BYTES;
  });
  return out;
}

/**
 * Reads a sparse image written by {@link exportSparseImage}. Everything is validated before the
 * memory is built.
 * @throws MemoryImageError (with the byte offset) for a wrong magic or version, a truncated
 *   image or trailing bytes, a value of 2^53 or more, a bad MAXPHYADDR, RAM ranges that are
 *   empty, unsorted, overlapping or above MAXPHYADDR, or frames that are misaligned, not in
 *   ascending order or outside RAM.
 */
export function importSparseImage(image: Uint8Array): SparseImage {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const need = (off: number, n: number): void => {
    if (off + n > image.length) throw new MemoryImageError(image.length, `truncated: ${off + n} bytes needed, image has ${image.length}`);
  };
  const u64 = (off: number, what: string): number => {
    need(off, 8);
    const hi = v.getUint32(off + 4, true);
    if (hi >= 0x20_0000) throw new MemoryImageError(off, `${what} is 2^53 or more`);
    return hi * TWO_32 + v.getUint32(off, true);
  };
  need(0, SPARSE_IMAGE_HEADER_BYTES);
  for (let i = 0; i < 8; i++) if (image[i] !== SPARSE_IMAGE_MAGIC[i]) throw new MemoryImageError(i, 'bad magic (expected "KMEMIMG\\0")');
  const version = v.getUint32(8, true);
  if (version !== SPARSE_IMAGE_VERSION) throw new MemoryImageError(8, `unsupported version ${version}`);
  if (v.getUint32(12, true) !== SPARSE_IMAGE_HEADER_BYTES) throw new MemoryImageError(12, `header size ${v.getUint32(12, true)} is not ${SPARSE_IMAGE_HEADER_BYTES}`);
  const registers: ControlRegisterState = { cr3: u64(16, 'CR3'), cr0: u64(24, 'CR0'), cr4: u64(32, 'CR4'), efer: u64(40, 'EFER') };
  const bits = v.getUint32(48, true);
  if (bits < 36 || bits > 52) throw new MemoryImageError(48, `MAXPHYADDR ${bits} is not in 36..52`);
  const rangeCount = v.getUint32(52, true);
  const frameCount = v.getUint32(56, true);
  if (v.getUint32(60, true) !== 0) throw new MemoryImageError(60, 'reserved header word is not zero');
  const expected = SPARSE_IMAGE_HEADER_BYTES + rangeCount * RANGE_RECORD_BYTES + frameCount * FRAME_RECORD_BYTES;
  if (expected > image.length) throw new MemoryImageError(image.length, `truncated: counts need ${expected} bytes, image has ${image.length}`);
  if (expected < image.length) throw new MemoryImageError(expected, `${image.length - expected} trailing bytes after the last frame`);
  const ranges: { base: number; lengthBytes: number }[] = [];
  let off = SPARSE_IMAGE_HEADER_BYTES;
  for (let i = 0; i < rangeCount; i++, off += RANGE_RECORD_BYTES) {
    const base = u64(off, 'range base');
    const lengthBytes = u64(off + 8, 'range length');
    if (lengthBytes === 0) throw new MemoryImageError(off + 8, 'empty RAM range');
    if (base + lengthBytes > 2 ** bits) throw new MemoryImageError(off, `RAM range at ${formatPhysical(base)} ends above 2^${bits}`);
    const prev = ranges[ranges.length - 1];
    if (prev && base <= prev.base + prev.lengthBytes) throw new MemoryImageError(off, `RAM range at ${formatPhysical(base)} is not above the previous one`);
    ranges.push({ base, lengthBytes });
  }
  const memory = new SparsePhysicalMemory(ranges, { maxPhysAddrBits: bits });
  const frames: number[] = [];
  for (let i = 0; i < frameCount; i++, off += FRAME_RECORD_BYTES) {
    const pa = u64(off, 'frame address');
    if (pa % FRAME_BYTES !== 0) throw new MemoryImageError(off, `frame address ${formatPhysical(pa)} is not 4 KiB aligned`);
    if (frames.length > 0 && pa <= frames[frames.length - 1]!) throw new MemoryImageError(off, `frame ${formatPhysical(pa)} is not above the previous frame`);
    if (!memory.isRam(pa)) throw new MemoryImageError(off, `frame ${formatPhysical(pa)} is not in the image's RAM`);
    frames.push(pa);
  }
  off = SPARSE_IMAGE_HEADER_BYTES + rangeCount * RANGE_RECORD_BYTES;
  for (const pa of frames) {
    const words = memory.frameWords(pa);
    if (LITTLE_ENDIAN_HOST) new Uint8Array(words.buffer, words.byteOffset, FRAME_BYTES).set(image.subarray(off + 8, off + 8 + FRAME_BYTES));
    else for (let i = 0; i < 1024; i++) words[i] = v.getUint32(off + 8 + i * 4, true);
    off += FRAME_RECORD_BYTES;
  }
  return { memory, registers };
}

/** Options of {@link exportRawImage}. */
export interface RawImageOptions {
  /** Bytes of physical memory to write, from address 0. Default: up to the end of the highest backed frame. */
  readonly limitBytes?: number;
}

/**
 * A flat image of physical memory `[0, limitBytes)`: RAM as it is, holes and untouched frames
 * as zero. Load it into QEMU with `-device loader,file=mem.bin,addr=0` (see the README).
 * @throws InvalidMachineConfigError if `limitBytes` is not a non-negative safe integer up to 4 GiB.
 */
export function exportRawImage(memory: SparsePhysicalMemory, options: RawImageOptions = {}): Uint8Array {
  let limit = options.limitBytes;
  if (limit === undefined) {
    limit = 0;
    memory.forEachTouchedFrame((frame) => {
      limit = frame + FRAME_BYTES;
    });
  }
  if (!Number.isSafeInteger(limit) || limit < 0 || limit > MAX_RAW_IMAGE_BYTES) {
    throw new InvalidMachineConfigError(`raw image limit ${show(limit)} is not a byte count in 0..${MAX_RAW_IMAGE_BYTES}`);
  }
  const out = new Uint8Array(limit);
  const v = new DataView(out.buffer);
  memory.forEachTouchedFrame((frame, words) => {
    if (frame >= limit!) return;
    const n = Math.min(1024, (limit! - frame) >>> 2);
    if (LITTLE_ENDIAN_HOST) out.set(new Uint8Array(words.buffer, words.byteOffset, n * 4), frame);
    else for (let i = 0; i < n; i++) v.setUint32(frame + i * 4, words[i]!, true);
    for (let b = frame + n * 4; b < Math.min(frame + FRAME_BYTES, limit!); b++) out[b] = (words[(b - frame) >>> 2]! >>> (((b - frame) & 3) * 8)) & 0xff;
  });
  return out;
}

/**
 * Loads a flat image into `memory` at physical address 0, so that afterwards
 * `[0, image.length)` reads exactly as the image. 4 KiB chunks that are all zero are skipped
 * when their frame has no backing (it reads as zero already). Checked whole before anything
 * is written.
 * @throws BusError if a chunk holding a non-zero byte lies outside RAM (nothing is written then).
 */
export function importRawImage(memory: SparsePhysicalMemory, image: Uint8Array): void {
  const chunks: number[] = [];
  for (let at = 0; at < image.length; at += FRAME_BYTES) {
    const end = Math.min(at + FRAME_BYTES, image.length);
    let nonZero = false;
    for (let i = at; i < end && !nonZero; i++) nonZero = image[i] !== 0;
    if (!nonZero && !memory.isBacked(at)) continue;
    if (!memory.isRam(at)) throw new BusError(at, end - at, true);
    chunks.push(at);
  }
  for (const at of chunks) memory.writeBytes(at, image.subarray(at, Math.min(at + FRAME_BYTES, image.length)));
}
