// Does normalisation agree, byte for byte, with the obvious brute-force answer on small maps?
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MEMORY_KINDS_BY_RESTRICTIVENESS, normalizeMemoryMap, restrictivenessOf, type MemoryKind, type MemoryRegion } from '../src/index';

const SPACE = 64;
const region = fc.record({
  base: fc.nat(SPACE - 1),
  lengthBytes: fc.nat(24),
  kind: fc.constantFrom(...MEMORY_KINDS_BY_RESTRICTIVENESS),
});

/** Kind of every byte 0..SPACE+24: the most restrictive kind covering it, or null. */
function bruteForce(regions: MemoryRegion[]): (MemoryKind | null)[] {
  const bytes: (MemoryKind | null)[] = new Array<MemoryKind | null>(SPACE + 32).fill(null);
  for (const r of regions) {
    for (let b = r.base; b < r.base + r.lengthBytes; b++) {
      const cur = bytes[b];
      if (cur === null || cur === undefined || restrictivenessOf(r.kind) > restrictivenessOf(cur)) bytes[b] = r.kind;
    }
  }
  return bytes;
}

describe('normalizeMemoryMap (properties)', () => {
  it('matches the brute-force per-byte answer, sorted, disjoint, same-kind neighbours merged', () => {
    fc.assert(
      fc.property(fc.array(region, { maxLength: 12 }), (input) => {
        const { regions, changes } = normalizeMemoryMap(input);
        // Sorted, non-empty, non-overlapping, touching neighbours of one kind merged.
        for (let i = 0; i < regions.length; i++) {
          expect(regions[i]!.lengthBytes).toBeGreaterThan(0);
          if (i > 0) {
            const prev = regions[i - 1]!;
            expect(prev.base + prev.lengthBytes).toBeLessThanOrEqual(regions[i]!.base);
            if (prev.base + prev.lengthBytes === regions[i]!.base) expect(prev.kind).not.toBe(regions[i]!.kind);
          }
        }
        // Every byte has the most restrictive kind of the inputs covering it; holes stay holes.
        const want = bruteForce(input);
        const got = bruteForce(regions);
        expect(got).toEqual(want);
        // The report is honest: overlaps reported iff two different kinds meet somewhere.
        const kindsAt = new Array(SPACE + 32).fill(0).map(() => new Set<MemoryKind>());
        for (const r of input) for (let b = r.base; b < r.base + r.lengthBytes; b++) kindsAt[b]!.add(r.kind);
        const conflict = kindsAt.some((s) => s.size > 1);
        expect(changes.some((c) => c.type === 'overlap-resolved')).toBe(conflict);
        for (const c of changes) {
          if (c.type !== 'overlap-resolved') continue;
          for (let b = c.base; b < c.base + c.lengthBytes; b++) {
            expect([...kindsAt[b]!].sort()).toEqual([...c.kinds].sort());
            expect(want[b]).toBe(c.winner);
          }
        }
        expect(changes.filter((c) => c.type === 'dropped-empty').length).toBe(input.filter((r) => r.lengthBytes === 0).length);
        // Idempotent: a normalised map needs no change.
        expect(normalizeMemoryMap(regions)).toEqual({ regions, changes: [] });
      }),
      { numRuns: 3000 },
    );
  });

  it('does not depend on input order', () => {
    fc.assert(
      fc.property(fc.array(region, { maxLength: 10 }).chain((a) => fc.tuple(fc.constant(a), fc.shuffledSubarray(a, { minLength: a.length, maxLength: a.length }))), ([a, b]) => {
        expect(normalizeMemoryMap(b).regions).toEqual(normalizeMemoryMap(a).regions);
      }),
      { numRuns: 1000 },
    );
  });
});
