// Address formatting for error messages and reports (DESIGN.md: canonical hex, grouped by 4 digits).

/** 2^47: the first linear address of the kernel half (canonical 0xffff_8000_0000_0000). */
const HIGHER_HALF_LINEAR = 0x8000_0000_0000;
/** 2^48: one past the last 48-bit linear address. */
const LINEAR_LIMIT = 0x1_0000_0000_0000;

function group4(digits: string): string {
  const padded = digits.padStart(Math.ceil(digits.length / 4) * 4, '0');
  const parts: string[] = [];
  for (let i = 0; i < padded.length; i += 4) parts.push(padded.slice(i, i + 4));
  return parts.join('_');
}

/**
 * Formats a heap address (a 48-bit linear virtual address) in its canonical 64-bit form, 16 hex
 * digits grouped by 4: linear `0x8000_0000_1000` prints as `0xffff_8000_0000_1000`.
 * Anything that is not an address (NaN, negative, ≥ 2^48, fractional) is shown with `String()`.
 */
export function hex(va: number): string {
  if (!Number.isSafeInteger(va) || va < 0 || va >= LINEAR_LIMIT) return show(va);
  const digits = va.toString(16).padStart(12, '0');
  return `0x${group4((va >= HIGHER_HALF_LINEAR ? 'ffff' : '0000') + digits)}`;
}

/**
 * Shows any value in an error message without throwing: `String(v)` can itself throw (an object
 * whose `toString` is not callable, a Symbol in a template), and a bad argument must still get
 * its typed error.
 */
export function show(v: unknown): string {
  try {
    return typeof v === 'bigint' ? `${v}n` : String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
