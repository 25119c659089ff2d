// Per-page arrays indexed by dense page id grow by doubling as new pages appear.

type NumericArray = Int32Array | Float64Array | Uint8Array;

/**
 * A copy of `array` long enough to index `index` (the length doubled until it is), new slots set
 * to `fill`. Returns `array` itself when it is already long enough.
 */
export function growToIndex<T extends NumericArray>(array: T, index: number, fill = 0): T {
  let n = array.length;
  if (index < n) return array;
  while (n <= index) n *= 2;
  const grown = new (array.constructor as new (length: number) => T)(n);
  if (fill !== 0) grown.fill(fill);
  grown.set(array);
  return grown;
}
