// The error a call throws, for tests that check its class, code and fields with toMatchObject.

/** Runs `run` and returns what it threw; fails the test when it returns normally. */
export function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error, but the call returned');
}
