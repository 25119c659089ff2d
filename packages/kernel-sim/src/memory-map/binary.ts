// Bounds-checked little-endian reads for the binary memory-map parsers. Never throws anything
// but MemoryMapParseError, whatever the input.
import { MemoryMapParseError, type MemoryKind, type MemoryRegion } from '../api';

const TWO_32 = 0x1_0000_0000;
/** 2^53 / 2^32: a high half at or above this makes the value unsafe. */
const SAFE_HI_LIMIT = 0x20_0000;

/** A view over untrusted bytes; `reportBase` is added to offsets in error messages. */
export class ByteReader {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly reportBase = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  fail(offset: number, reason: string): never {
    throw new MemoryMapParseError(this.reportBase + offset, reason);
  }

  /** Throws unless `[offset, offset + n)` lies inside the bytes. */
  need(offset: number, n: number, what: string): void {
    if (offset < 0 || offset + n > this.bytes.length) {
      this.fail(offset, `truncated: ${what} needs ${n} bytes at offset ${this.reportBase + offset}, input has ${this.reportBase + this.bytes.length}`);
    }
  }

  u32(offset: number, what: string): number {
    this.need(offset, 4, what);
    return this.view.getUint32(offset, true);
  }

  /** Reads a u64 that must be below 2^53. */
  u64(offset: number, what: string): number {
    const lo = this.u32(offset, what);
    const hi = this.u32(offset + 4, what);
    if (hi >= SAFE_HI_LIMIT) this.fail(offset, `${what} 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is 2^53 or more`);
    return hi * TWO_32 + lo;
  }

  /**
   * A region from a u64 base at `baseOffset` and a u64 length given as halves (already read):
   * wrapping past 2^64 and ends at or beyond 2^53 are errors reported at `entryOffset`.
   */
  regionFromHalves(baseOffset: number, lenLo: number, lenHi: number, entryOffset: number, kind: MemoryKind, firmwareType: string): MemoryRegion {
    const baseLo = this.u32(baseOffset, 'base address');
    const baseHi = this.u32(baseOffset + 4, 'base address');
    return checkedRegion(baseLo, baseHi, lenLo, lenHi, this.reportBase + entryOffset, kind, firmwareType);
  }
}

/**
 * The promise every parser keeps for each region it returns: `base` and `lengthBytes` are
 * non-negative safe integers and `base + lengthBytes <= 2^53`. The exclusive end may be 2^53
 * exactly, but not from base 0: the length would then be 2^53, which is not a safe integer.
 * @returns why a region breaks it, or null when it does not
 */
export function regionLimitProblem(base: number, lengthBytes: number): string | null {
  if (!Number.isSafeInteger(base) || base < 0) return 'base address is 2^53 or more (beyond any MAXPHYADDR, not a safe integer)';
  if (!Number.isSafeInteger(lengthBytes) || lengthBytes < 0) return 'length is 2^53 or more (not a safe integer)';
  if (lengthBytes > 2 ** 53 - base) return 'region ends beyond 2^53 (beyond any MAXPHYADDR, not a safe integer)';
  return null;
}

/** Builds a region from u64 halves, rejecting wrap past 2^64 and values beyond 2^53. */
export function checkedRegion(baseLo: number, baseHi: number, lenLo: number, lenHi: number, reportOffset: number, kind: MemoryKind, firmwareType: string, line?: number, column?: number): MemoryRegion {
  const carry = baseLo + lenLo >= TWO_32 ? 1 : 0;
  const endHi = baseHi + lenHi + carry;
  const fail = (reason: string): never => {
    throw new MemoryMapParseError(reportOffset, reason, line, column);
  };
  if (endHi > 0xffff_ffff && !(endHi === TWO_32 && (baseLo + lenLo) % TWO_32 === 0)) fail('base + length wraps past 2^64');
  if (baseHi >= SAFE_HI_LIMIT) fail('base address is 2^53 or more (beyond any MAXPHYADDR, not a safe integer)');
  // The exclusive end may be 2^53 exactly (the last byte is then 2^53 - 1, a safe integer).
  if (endHi > SAFE_HI_LIMIT || (endHi === SAFE_HI_LIMIT && (baseLo + lenLo) % TWO_32 !== 0)) fail('region ends beyond 2^53 (beyond any MAXPHYADDR, not a safe integer)');
  const base = baseHi * TWO_32 + baseLo;
  const lengthBytes = lenHi * TWO_32 + lenLo;
  const problem = regionLimitProblem(base, lengthBytes);
  if (problem !== null) fail(problem);
  return { base, lengthBytes, kind, firmwareType };
}

/**
 * Splits a string of hex digits (no prefix) into u32 halves.
 * @returns null when it has more than 16 significant digits (does not fit 64 bits).
 */
export function hexHalves(digits: string): { lo: number; hi: number } | null {
  let i = 0;
  while (i < digits.length - 1 && digits.charCodeAt(i) === 0x30) i++;
  const s = digits.slice(i);
  if (s.length > 16) return null;
  const cut = Math.max(0, s.length - 8);
  return { hi: cut === 0 ? 0 : parseInt(s.slice(0, cut), 16), lo: parseInt(s.slice(cut), 16) };
}
