/** A copy of typed array `a` with length `len` (>= a.length), the new tail zeroed. @internal */
export function grow<T extends Float64Array | Int32Array>(a: T, len: number): T {
  const b = new (a.constructor as new (n: number) => T)(len);
  b.set(a);
  return b;
}
