// Hex formatting shared by error messages, tables and layouts (STYLE.md: grouped by 4 digits).
import { show } from './show-value';

const TWO_32 = 0x1_0000_0000;
/** 2^47: the first linear address of the kernel half (canonical 0xffff_8000_0000_0000). */
export const HIGHER_HALF_LINEAR = 0x8000_0000_0000;
/** 2^48: one past the last 48-bit linear address. */
export const LINEAR_LIMIT = 0x1_0000_0000_0000;

function group4(digits: string): string {
  const padded = digits.padStart(Math.ceil(digits.length / 4) * 4, '0');
  const parts: string[] = [];
  for (let i = 0; i < padded.length; i += 4) parts.push(padded.slice(i, i + 4));
  return parts.join('_');
}

/** Hex digits of a non-negative safe integer, without relying on `<<` above 2^32. */
function hexDigits(n: number): string {
  if (n < TWO_32) return n.toString(16);
  const hi = Math.floor(n / TWO_32);
  const lo = n - hi * TWO_32;
  return hi.toString(16) + lo.toString(16).padStart(8, '0');
}

/**
 * Formats a physical address or size as `0x` + hex grouped by 4 digits, e.g. `0x0009_fc00`.
 * Anything that is not a non-negative safe integer is shown as it is (`String(value)`, `12n` for a bigint), without throwing.
 */
export function formatPhysical(pa: number): string {
  if (!Number.isSafeInteger(pa) || pa < 0) return show(pa);
  return `0x${group4(hexDigits(pa))}`;
}

/**
 * Formats a 48-bit linear virtual address in its canonical 64-bit form, 16 digits grouped by 4:
 * linear `0x8000_0000_0000` prints as `0xffff_8000_0000_0000`. The linear end of the address
 * space (2^48, an exclusive end) prints as `0x1_0000_0000_0000_0000`, i.e. 2^64.
 */
export function formatCanonical(va: number): string {
  if (!Number.isSafeInteger(va) || va < 0 || va > LINEAR_LIMIT) return show(va);
  if (va === LINEAR_LIMIT) return '0x1_0000_0000_0000_0000';
  const digits = va.toString(16).padStart(12, '0');
  return `0x${group4((va >= HIGHER_HALF_LINEAR ? 'ffff' : '0000') + digits)}`;
}
