/**
 * Formats a non-negative safe integer as hex grouped by 4 digits from the right:
 * `hex(0x7fffffff000)` is `'0x7ff_ffff_f000'`. This package knows nothing of x86, so it prints the
 * plain number; pass `formatAddress` to the allocator for canonical x86 addresses.
 */
export function hex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) return show(n);
  const digits = n.toString(16);
  let out = '';
  for (let i = digits.length; i > 0; i -= 4) {
    const group = digits.slice(Math.max(0, i - 4), i);
    out = out === '' ? group : `${group}_${out}`;
  }
  return `0x${out}`;
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
