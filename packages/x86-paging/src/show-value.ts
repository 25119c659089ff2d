// Internal: how an error message shows a bad argument (not exported from the package).

/**
 * `String(v)` that never throws: `String` itself throws on an object whose `toString` and
 * `valueOf` are not callable (`{ toString: 1 }`, a null-prototype object), and a bad argument
 * must still get its typed error, not a TypeError from building the message.
 */
export function show(v: unknown): string {
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
