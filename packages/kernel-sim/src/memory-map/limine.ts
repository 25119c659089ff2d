// Limine memory map response entries: binary `{u64 base, u64 length, u64 type}` and JSON-like objects.
import { MemoryMapParseError, type MemoryKind, type MemoryRegion } from '../api';
import { ByteReader, checkedRegion, hexHalves } from './binary';
import { LIMINE_TYPE_NAMES, isMemoryKind, limineTypeNumber, limineTypeToKind } from './kinds';
import { show } from '../show-value';

/** Bytes of one `struct limine_memmap_entry`. */
export const LIMINE_MEMMAP_ENTRY_BYTES = 24;

function limineName(type: number): string {
  return `${LIMINE_TYPE_NAMES[type] ?? 'unknown'} (${type})`;
}

/**
 * Parses an array of binary Limine memmap entries (`u64 base, u64 length, u64 type`, 24 bytes
 * each, as the response's `entries` point at). Types 0-8 per the Limine protocol; unknown
 * types are `reserved`.
 * @throws MemoryMapParseError for an input that is not a whole number of entries, a type
 *   above 2^32, a range wrapping past 2^64 or reaching 2^53.
 */
export function parseLimineMemmap(bytes: Uint8Array): MemoryRegion[] {
  const r = new ByteReader(bytes);
  if (bytes.length % LIMINE_MEMMAP_ENTRY_BYTES !== 0) {
    r.fail(bytes.length - (bytes.length % LIMINE_MEMMAP_ENTRY_BYTES), `input of ${bytes.length} bytes is not a whole number of 24-byte entries`);
  }
  const regions: MemoryRegion[] = [];
  for (let off = 0; off < bytes.length; off += LIMINE_MEMMAP_ENTRY_BYTES) {
    const lenLo = r.u32(off + 8, 'length');
    const lenHi = r.u32(off + 12, 'length');
    const type = r.u32(off + 16, 'type');
    if (r.u32(off + 20, 'type') !== 0) r.fail(off + 16, 'type is 2^32 or more');
    regions.push(r.regionFromHalves(off, lenLo, lenHi, off, limineTypeToKind(type), limineName(type)));
  }
  return regions;
}

/**
 * One Limine memmap entry as a plain object (e.g. from a JSON dump). `base` and `length` are
 * safe integers or hex strings (`"0x..."`); `type` is a Limine type number or a
 * {@link MemoryKind} string.
 */
export interface LimineEntryObject {
  readonly base: number | string;
  readonly length: number | string;
  readonly type: number | string;
}

function fail(index: number, reason: string): never {
  throw new MemoryMapParseError(index, `entry ${index}: ${reason}`);
}

function halvesOf(value: unknown, index: number, what: string): { lo: number; hi: number } {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) fail(index, `${what} ${show(value)} is not a non-negative safe integer`);
    const hi = Math.floor(value / 0x1_0000_0000);
    return { hi, lo: value - hi * 0x1_0000_0000 };
  }
  if (typeof value === 'string') {
    const m = /^0x([0-9a-fA-F]+)$/.exec(value.replace(/_/g, '')) ?? /^()(\d{1,15})$/.exec(value);
    if (m?.[1] !== undefined && m[1] !== '') {
      const h = hexHalves(m[1]);
      if (h === null) fail(index, `${what} ${value.slice(0, 40)} does not fit 64 bits`);
      return h;
    }
    if (m?.[2] !== undefined) return halvesOf(Number(m[2]), index, what);
    fail(index, `${what} "${value.slice(0, 40)}" is not a number or 0x-hex string`);
  }
  fail(index, `${what} is ${value === null ? 'null' : typeof value}, not a number or hex string`);
}

/**
 * Converts Limine memmap entries given as objects. Error offsets are entry indices.
 * @throws MemoryMapParseError for a non-object entry, a missing or malformed field, an unknown
 *   type string, a range wrapping past 2^64 or reaching 2^53.
 */
export function limineEntriesToRegions(entries: readonly unknown[]): MemoryRegion[] {
  return entries.map((entry, index) => {
    if (typeof entry !== 'object' || entry === null) fail(index, 'is not an object');
    const e = entry as Record<string, unknown>;
    const base = halvesOf(e.base, index, 'base');
    const length = halvesOf(e.length, index, 'length');
    let kind: MemoryKind;
    let name: string;
    if (typeof e.type === 'number') {
      if (!Number.isInteger(e.type) || e.type < 0 || e.type > 0xffff_ffff) fail(index, `type ${e.type} is not a u32`);
      kind = limineTypeToKind(e.type);
      name = limineName(e.type);
    } else if (isMemoryKind(e.type)) {
      kind = e.type;
      name = e.type;
    } else {
      const named = typeof e.type === 'string' ? limineTypeNumber(e.type) : -1;
      if (named < 0) fail(index, `type ${typeof e.type === 'string' ? `"${e.type.slice(0, 40)}"` : typeof e.type} is not a Limine type number, LIMINE_MEMMAP_* name or memory kind`);
      kind = limineTypeToKind(named);
      name = limineName(named);
    }
    return checkedRegion(base.lo, base.hi, length.lo, length.hi, index, kind, name);
  });
}

/**
 * Parses JSON text holding Limine memmap entries: an array of {@link LimineEntryObject}, or an
 * object with an `entries` array (as a response dump would have). Error offsets are character
 * offsets for JSON syntax errors, entry indices otherwise.
 * @throws MemoryMapParseError for invalid JSON or invalid entries.
 */
export function parseLimineJson(text: string): MemoryRegion[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const position = /position (\d+)/.exec(e instanceof Error ? e.message : '');
    const offset = position ? Number(position[1]) : 0;
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    throw new MemoryMapParseError(offset, `invalid JSON: ${e instanceof Error ? e.message.slice(0, 120) : 'syntax error'}`, line, offset - before.lastIndexOf('\n'));
  }
  const entries = Array.isArray(value) ? value : typeof value === 'object' && value !== null && Array.isArray((value as { entries?: unknown }).entries) ? (value as { entries: unknown[] }).entries : null;
  if (entries === null) throw new MemoryMapParseError(0, 'JSON is neither an array of entries nor an object with an "entries" array');
  return limineEntriesToRegions(entries);
}
