import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PageRadix } from '../src/page-radix';

// The in-use index on its own, against a Map: a block alone in its 16 pages is held inline in its
// bottom node slot (page offset, tag id and length in pages packed in one 32-bit integer) unless
// its tag id is 64 or more or it spans 2^21 pages or more; a second block in the same 16 pages moves both
// to a leaf, and a leaf left with one block that packs goes back inline. Keys sit at 0, across 2^32
// bytes, at 2^47 bytes and just below 2^53, where a 32-bit operator on a key would truncate.

interface Config {
  granularityBytes: number;
  /** First key (page number) of the window the keys are drawn from. */
  base: number;
  /** Some keys far above the window (2^12, 2^20, 2^28 pages and multiples), so the tree grows levels over blocks it holds. */
  spread?: boolean;
}

const configs: Config[] = [
  { granularityBytes: 4096, base: 0 },
  { granularityBytes: 4096, base: 2 ** 20 - 64 }, // addresses cross 2^32
  { granularityBytes: 4096, base: 2 ** 35 }, // addresses at 2^47
  { granularityBytes: 1, base: 2 ** 32 - 64 }, // keys cross 2^32
  { granularityBytes: 1, base: 2 ** 47 },
  { granularityBytes: 1, base: 2 ** 53 - 2 ** 41 }, // keys near 2^53 (ends of 2^40 pages still safe)
  { granularityBytes: 4096, base: 0, spread: true },
];

/** Key `k` (0..199) of a window: `base + k`, or with `spread`, for k >= 150, (k - 149) * 2^(12, 20 or 28). */
function keyOf(cfg: Config, k: number): number {
  return cfg.spread === true && k >= 150 ? (k - 149) * 2 ** (12 + 8 * (k % 3)) : cfg.base + k;
}

/** Lengths in pages: small, and around 2^21, where a block stops fitting inline. */
const pagesArb = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(2 ** 21 - 1, 2 ** 21, 2 ** 40));
/** Tag ids: 0 (none), small, and around 64, where a block stops fitting inline. */
const tagArb = fc.constantFrom(0, 1, 7, 63, 64, 100_000);
const keyArb = fc.nat({ max: 199 });

type Op =
  | { op: 'insert'; k: number; pages: number; tag: number }
  | { op: 'remove' | 'get' | 'pred'; k: number }
  | { op: 'setEnd'; k: number; pages: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('insert' as const), k: keyArb, pages: pagesArb, tag: tagArb }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('remove' as const), k: keyArb }), weight: 3 },
  fc.record({ op: fc.constantFrom('get' as const, 'pred' as const), k: keyArb }),
  fc.record({ op: fc.constant('setEnd' as const), k: keyArb, pages: pagesArb }),
);

function fail(msg: string): never {
  throw new Error(msg);
}

function run(cfg: Config, ops: Op[]): void {
  const g = cfg.granularityBytes;
  const radix = new PageRadix(g);
  const model = new Map<number, { end: number; tag: number }>();
  for (const o of ops) {
    const key = keyOf(cfg, o.k);
    const have = model.get(key);
    switch (o.op) {
      case 'insert':
        if (have !== undefined) continue; // a key holds one block
        radix.insert(key, (key + o.pages) * g, o.tag);
        model.set(key, { end: (key + o.pages) * g, tag: o.tag });
        break;
      case 'remove': {
        const end = radix.remove(key);
        expect(end).toBe(have?.end ?? 0);
        if (have !== undefined) expect(radix.removedTag).toBe(have.tag);
        model.delete(key);
        break;
      }
      case 'get':
        expect(radix.get(key)).toBe(have?.end ?? 0);
        if (have !== undefined) expect(radix.tagAtSlot()).toBe(have.tag);
        break;
      case 'setEnd':
        if (have === undefined) continue;
        expect(radix.get(key)).toBe(have.end);
        radix.setEndAtSlot((key + o.pages) * g);
        have.end = (key + o.pages) * g;
        break;
      case 'pred': {
        let want = -1;
        for (const k of model.keys()) if (k <= key && k > want) want = k;
        expect(radix.pred(key)).toBe(want);
        break;
      }
    }
    const seen: [number, number, number][] = [];
    radix.check(fail, (k, end, tag) => seen.push([k, end, tag]));
    const want = [...model].sort((a, b) => a[0] - b[0]).map(([k, v]): [number, number, number] => [k, v.end, v.tag]);
    expect(seen).toEqual(want);
    expect(radix.count).toBe(model.size);
  }
}

describe('PageRadix (model-based, against a Map)', () => {
  it('holds exactly the blocks a Map holds, inline or in leaves, for keys across 2^32, at 2^47 and near 2^53', () => {
    fc.assert(
      fc.property(fc.constantFrom(...configs), fc.array(opArb, { maxLength: 300 }), (cfg, ops) => run(cfg, ops)),
      { numRuns: 300 },
    );
  });

  it('moves an inline block to a leaf when a second block starts in its 16 pages, and back when it is alone again', () => {
    const radix = new PageRadix(4096);
    radix.insert(0x20, 0x28 * 4096, 3); // pages 0x20..0x28, alone in pages 0x20..0x2f: inline
    const leaves = (): number => (radix as unknown as { leafTop: number; freeLeaves: number[] }).leafTop - 1 - (radix as unknown as { freeLeaves: number[] }).freeLeaves.length;
    expect(leaves()).toBe(0);
    radix.insert(0x28, 0x30 * 4096, 5); // a second block in the same 16 pages: a leaf of two
    expect(leaves()).toBe(1);
    expect(radix.get(0x20)).toBe(0x28 * 4096);
    expect(radix.tagAtSlot()).toBe(3);
    expect(radix.remove(0x28)).toBe(0x30 * 4096);
    expect(leaves()).toBe(0); // the one left packs: inline again
    expect(radix.pred(0x2f)).toBe(0x20);
    radix.check(fail, () => {});
  });

  it('keeps a block in a leaf when its tag id or its length does not pack', () => {
    const radix = new PageRadix(1);
    radix.insert(2 ** 47, 2 ** 47 + 2 ** 21, 0); // 2^21 pages: too long to pack
    radix.insert(2 ** 47 + 16, 2 ** 47 + 17, 64); // tag id 64: too large to pack
    const leafTop = (radix as unknown as { leafTop: number }).leafTop;
    expect(leafTop).toBe(3); // two leaves made (leaf 0 is never used)
    expect(radix.get(2 ** 47)).toBe(2 ** 47 + 2 ** 21);
    radix.setEndAtSlot(2 ** 47 + 2 ** 21 - 1); // now it packs: back inline
    expect((radix as unknown as { freeLeaves: number[] }).freeLeaves.length).toBe(1);
    radix.check(fail, () => {});
  });
});
