// Hex addresses of text traces, read byte by byte into the 48-bit linear form without BigInt.

/** Result of {@link parseHexAddress} when a byte is not a hex digit or there are none. */
export const HEX_BAD_DIGIT = -1;
/** Result of {@link parseHexAddress} when the number has more than 64 bits. */
export const HEX_TOO_LONG = -2;
/** Result of {@link parseHexAddress} when the 64-bit value is not canonical (bits 63:47 differ). */
export const HEX_NON_CANONICAL = -3;

/**
 * Value of the hex digit `c` (an ASCII code), or -1.
 */
export function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/**
 * Reads the hex number in `bytes[start, end)` (an optional `0x` prefix allowed) as a 64-bit
 * canonical address and returns its 48-bit linear form (DESIGN.md: 0xffff_8000_0000_0000 is
 * linear 0x8000_0000_0000), or one of the negative `HEX_*` codes. Two 32-bit halves, no BigInt.
 */
export function parseHexAddress(bytes: Uint8Array, start: number, end: number): number {
  let p = start;
  if (end - p > 2 && bytes[p] === 48 && (bytes[p + 1]! | 0x20) === 120) p += 2;
  if (p >= end) return HEX_BAD_DIGIT;
  while (p < end - 1 && bytes[p] === 48) p++; // leading zeros do not count towards 16 digits
  if (end - p > 16) return HEX_TOO_LONG;
  let hi = 0;
  let lo = 0;
  for (; p < end; p++) {
    const d = hexDigit(bytes[p]!);
    if (d < 0) return HEX_BAD_DIGIT;
    hi = hi * 16 + (lo >>> 28);
    lo = ((lo << 4) | d) >>> 0;
  }
  const top = hi >>> 15; // bits 63:47
  if (top !== 0 && top !== 0x1ffff) return HEX_NON_CANONICAL;
  return (hi & 0xffff) * 4294967296 + lo;
}
