// Garbage arguments for the "bad input gets a typed error and leaves state unchanged" property
// tests of the building-block packages (issue 14: NaN, ±Infinity, -1, 0.5, 2^53, bigint, strings,
// null, undefined, objects). Each package adds its own misaligned and interior addresses.
import fc from 'fast-check';
import { expect } from 'vitest';

/** A value that is never a valid count, size or address: not a safe non-negative integer number. */
export function notANumber(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom<unknown>(NaN, Infinity, -Infinity, -1, -4096, 0.5, 4096.5, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e300),
    fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
    fc.constantFrom<unknown>('4096', '0x1000', '', 'abc', '1e3'),
    fc.string({ maxLength: 8 }),
    fc.constantFrom<unknown>(null, true, false, Symbol('garbage'), () => 4096, { valueOf: () => 4096 }, [4096], new Uint8Array(4)),
    // Objects `String()` cannot convert (it throws a TypeError): an error message must still be built.
    fc.constantFrom<unknown>(Object.create(null), { toString: 1, valueOf: 1 }),
    fc.object({ maxDepth: 1, maxKeys: 2 }),
  );
}

/** {@link notANumber} or `undefined` (for a required argument). */
export function garbage(): fc.Arbitrary<unknown> {
  return fc.oneof(notANumber(), fc.constant(undefined));
}

/** The error contract every kmem package keeps: a class with a stable upper-case `code`. */
interface Coded {
  code: string;
}

/**
 * Runs `call` on garbage and checks the contract: it either throws an instance of `errorBase`
 * (the package's KmemError) with a stable `E_…` code, or returns one of `allowed` (the documented
 * null / false / no-op); either way `snapshot()` (the package's exported state plus
 * checkInvariants) is the same after as before.
 */
export function expectRejected(
  errorBase: abstract new (...args: never[]) => Error,
  snapshot: () => string,
  call: () => unknown,
  allowed: readonly unknown[] = [],
): void {
  const before = snapshot();
  let threw = false;
  try {
    const r = call();
    if (!allowed.includes(r)) expect.fail(`returned ${String(r)} instead of throwing a typed error`);
  } catch (e) {
    threw = true;
    if (!(e instanceof errorBase)) throw e;
    expect((e as unknown as Coded).code).toMatch(/^E_[A-Z0-9_]+$/);
  }
  expect(snapshot(), threw ? 'state changed by a call that threw' : 'state changed by a no-op').toBe(before);
}

/** Shows garbage in a test name or a counterexample. */
export function showGarbage(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol' || typeof v === 'function') return String(v);
  return JSON.stringify(v) ?? String(v);
}
