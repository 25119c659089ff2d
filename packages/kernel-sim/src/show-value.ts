// Internal: how an error message shows a bad argument (not exported from the package).

/**
 * Shows any value in an error message without throwing: `String(v)` can itself throw (an object
 * whose `toString` is not callable, a Symbol in a template), and a bad argument must still get
 * its typed error, not a TypeError from building the message.
 */
export function show(v: unknown): string {
  try {
    return typeof v === 'bigint' ? `${v}n` : String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
