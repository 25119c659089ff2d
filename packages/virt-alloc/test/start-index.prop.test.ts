import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StartIndex } from '../src/start-index';

// The used-start hash (an internal index) against a Map, with keys that collide on purpose:
// granule multiples, values above 2^32, and keys differing only in their high half.
describe('StartIndex', () => {
  it('agrees with a Map through random set/delete/get sequences, across resizes', () => {
    const key = fc.oneof(
      fc.nat({ max: 200 }).map((n) => n * 4096),
      fc.nat({ max: 200 }).map((n) => n * 2 ** 32),
      fc.nat({ max: 200 }).map((n) => 2 ** 47 + n * 2 ** 21),
    );
    const op = fc.tuple(fc.constantFrom('set', 'delete', 'get'), key, fc.nat({ max: 1000 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const h = new StartIndex(1);
        const m = new Map<number, number>();
        for (const [kind, k, v] of ops) {
          if (kind === 'set') {
            h.set(k, v + 1);
            m.set(k, v + 1);
          } else if (kind === 'delete') {
            h.delete(k);
            m.delete(k);
          }
          expect(h.get(k)).toBe(m.get(k) ?? 0);
          expect(h.size).toBe(m.size);
        }
        for (const [k, v] of m) expect(h.get(k)).toBe(v);
        expect(new Map(h.entries())).toEqual(m);
      }),
      { numRuns: 300 },
    );
  });
});
