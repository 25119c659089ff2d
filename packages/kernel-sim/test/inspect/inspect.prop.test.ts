// Model-based: random map / unmap / change-rights sequences on a Mapper; after every step the
// dump of its memory reads back exactly as the Mapper's own mappings() and as a page-by-page
// reference model, the Mapper's invariants hold, and the diff of consecutive dumps is exactly
// the pages the step changed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PTE, type MappingRange } from '@kmem/x86-paging';
import { BytesDumpSource, diffMappings, inspectPageTables, openDump, resolvePagingState } from '../../src/index';
import { tablesInMemory } from './dump-builder';

const K = 0x8000_0000_0000;
const PAGE = 4096;
/** 64 pages at the bottom of the kernel half: room for runs, holes and rights changes. */
const SLOTS = 64;
const FLAG_CHOICES = [PTE.Present, PTE.Present | PTE.Writable, PTE.Present | PTE.Writable | PTE.NoExecute, PTE.Present | PTE.Global | PTE.NoExecute, PTE.Present | PTE.CacheDisable];

type Op = { kind: 'map'; slot: number; pageCount: number; frame: number; flags: number } | { kind: 'unmap'; slot: number; pageCount: number } | { kind: 'protect'; slot: number; pageCount: number; flags: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('map' as const), slot: fc.nat(SLOTS - 1), pageCount: fc.integer({ min: 1, max: 6 }), frame: fc.nat(200), flags: fc.constantFrom(...FLAG_CHOICES) }),
  fc.record({ kind: fc.constant('unmap' as const), slot: fc.nat(SLOTS - 1), pageCount: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('protect' as const), slot: fc.nat(SLOTS - 1), pageCount: fc.integer({ min: 1, max: 6 }), flags: fc.constantFrom(...FLAG_CHOICES) }),
);

/** Reference: page slot -> [pa, flags]. */
type Model = Map<number, [number, number]>;

function expand(ranges: readonly MappingRange[]): Model {
  const m: Model = new Map();
  for (const r of ranges) for (let va = r.start; va < r.end; va += PAGE) m.set((va - K) / PAGE, [r.pa + (va - r.start), r.flags]);
  return m;
}

function read(bytes: Uint8Array, root: number): MappingRange[] {
  const dump = openDump(new BytesDumpSource(bytes.slice()));
  return inspectPageTables(dump.memory, resolvePagingState({ cr3: root }, undefined)).mappings as MappingRange[];
}

describe('inspect (model-based)', () => {
  it('dumps read back as the Mapper and the model say; diffs are exactly the pages a step changed', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 25 }), (ops) => {
        const { memory, mapper } = tablesInMemory(2 << 20);
        const model: Model = new Map();
        let prev = read(memory.bytes, mapper.root);
        for (const op of ops) {
          const slots = Array.from({ length: Math.min(op.pageCount, SLOTS - op.slot) }, (_, i) => op.slot + i);
          const va = K + op.slot * PAGE;
          if (op.kind === 'map') {
            if (slots.some((s) => model.has(s))) continue;
            expect(mapper.mapPages(va, op.frame * PAGE, slots.length, op.flags)).toBe(true);
            slots.forEach((s, i) => model.set(s, [(op.frame + i) * PAGE, op.flags]));
          } else if (op.kind === 'unmap') {
            if (!slots.every((s) => model.has(s))) continue;
            mapper.unmapPages(va, slots.length);
            for (const s of slots) model.delete(s);
          } else {
            if (!slots.every((s) => model.has(s))) continue;
            expect(mapper.updateFlags(va, slots.length, op.flags)).toBe(true);
            for (const s of slots) model.set(s, [model.get(s)![0], op.flags]);
          }
          mapper.checkInvariants();
          const now = read(memory.bytes, mapper.root);
          expect(now).toEqual(mapper.mappings());
          expect(expand(now)).toEqual(model);
          // The diff, expanded to pages, is the set of pages whose [pa, flags] changed.
          const before = expand(prev);
          const changedPages = new Set([...before.keys(), ...model.keys()].filter((s) => JSON.stringify(before.get(s)) !== JSON.stringify(model.get(s))));
          const diffPages = new Set<number>();
          for (const d of diffMappings(prev, now)) for (let a = d.start; a < d.end; a += PAGE) diffPages.add((a - K) / PAGE);
          expect(diffPages).toEqual(changedPages);
          prev = now;
        }
      }),
      { numRuns: 40 },
    );
  });
});
