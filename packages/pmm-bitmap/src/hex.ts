/**
 * Formats a physical address as 16 hex digits grouped by 4, as every kmem package prints
 * addresses: `hex(0x100000)` is `'0x0000_0000_0010_0000'`. Anything that is not a safe
 * non-negative integer prints as `String(n)` so an error message shows the bad input as given.
 */
export function hex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) return show(n);
  const digits = n.toString(16).padStart(16, '0');
  let out = '';
  for (let i = 0; i < digits.length; i += 4) out += (i === 0 ? '' : '_') + digits.slice(i, i + 4);
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
