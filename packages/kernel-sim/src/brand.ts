// `instanceof` across two copies of this package. Node loads a dual package once for `import`
// (dist/index.js) and once more for `require` (dist/index.cjs): two copies of every class, so an
// object made by one copy would not be `instanceof` the other copy's class. A branded class marks
// its prototype with a symbol from the global registry (`Symbol.for`), named after this package and
// the class, which both copies share; its `Symbol.hasInstance` accepts an object carrying the mark.
// Only `instanceof` runs this code, and it tries the ordinary prototype check first.
//
// Every package keeps its own copy of this file (packages import nothing from each other); they
// differ only in PACKAGE, which tests/dual-instanceof.test.ts checks.

const PACKAGE = '@kmem/kernel-sim';

const ordinaryHasInstance = Function.prototype[Symbol.hasInstance];
/** Class (of this copy) → the registry symbol its instances carry. */
const marks = new WeakMap<object, symbol>();

function mark(cls: object, key: string): void {
  const symbol = Symbol.for(`${PACKAGE}/${key}`);
  marks.set(cls, symbol);
  Object.defineProperty((cls as { prototype: object }).prototype, symbol, { value: true });
}

/** `value instanceof this`, where `value` may come from either copy. */
function hasBrand(this: object, value: unknown): boolean {
  if (ordinaryHasInstance.call(this, value)) return true;
  const symbol = marks.get(this); // only the class that was branded: a subclass checks its own mark
  return symbol !== undefined && typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[symbol] === true;
}

/**
 * Brands a main class under a fixed key (`static { brand(this, 'Mapper'); }`), so `instanceof`
 * holds across copies. A subclass that is not branded itself gets only the ordinary check.
 */
export function brand(cls: object, key: string): void {
  mark(cls, key);
  Object.defineProperty(cls, Symbol.hasInstance, { value: hasBrand });
}

/** This package's error base class (its `KmemError`), once `brandErrors` has run. */
let errorBase: object | undefined;

/**
 * Brands the error base class and, through it, every subclass under its class name (the `name`
 * each error already shows): `static { brandErrors(this); }` in the base, and
 * `markErrorClasses(new.target)` in its constructor.
 */
export function brandErrors(base: object): void {
  errorBase = base;
  mark(base, (base as { name: string }).name);
  Object.defineProperty(base, Symbol.hasInstance, {
    value(this: { name: string }, value: unknown): boolean {
      if (!marks.has(this)) mark(this, this.name); // a subclass not constructed in this copy yet
      return hasBrand.call(this, value);
    },
  });
}

/** Marks `cls` and its ancestors below the error base (once per class): their instances carry the marks. */
export function markErrorClasses(cls: object): void {
  for (let c = cls; c !== errorBase; c = Object.getPrototypeOf(c) as object) {
    if (!marks.has(c)) mark(c, (c as { name: string }).name);
  }
}
