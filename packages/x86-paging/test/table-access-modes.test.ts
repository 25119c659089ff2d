// Every paging mode, every table-access strategy that makes sense in it: the same random mapping
// operations must give the same outcomes and the same translations whichever way the kernel
// reaches its tables — and the Mapper's software translation must agree with the MMU walker of
// that mode on every page (outcome, physical address, page size, effective flags; SDM 4.3-4.6).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PTE, TableAccessFaultError } from '../src/index';
import { FIVE_LEVEL, FOUR_LEVEL, PAE, THIRTY_TWO_BIT, modeMachine, type ModeConfig, type ModeMachine } from './mode-machines';

type Op =
  | { kind: 'map'; page: number; pageCount: number; frame: number; flags: number; huge: boolean }
  | { kind: 'unmap'; page: number; pageCount: number }
  | { kind: 'protect'; page: number; pageCount: number; flags: number };

/** Pages the operations touch: two page tables' worth plus change (4096 + 512 pages). */
const PAGES = 4096 + 512;

function opArb(config: ModeConfig): fc.Arbitrary<Op> {
  const flagsArb = fc.constantFrom(...config.flagChoices);
  return fc.oneof(
    fc.record({ kind: fc.constant('map' as const), page: fc.integer({ min: 0, max: 4095 }), pageCount: fc.integer({ min: 1, max: 40 }), frame: fc.integer({ min: 0, max: 2047 }), flags: flagsArb, huge: fc.boolean() }),
    fc.record({ kind: fc.constant('unmap' as const), page: fc.integer({ min: 0, max: 4095 }), pageCount: fc.integer({ min: 1, max: 600 }) }),
    fc.record({ kind: fc.constant('protect' as const), page: fc.integer({ min: 0, max: 4095 }), pageCount: fc.integer({ min: 1, max: 40 }), flags: flagsArb }),
  );
}

/** Applies one op, ignoring the typed misuse errors a random op may trigger (same on every strategy). */
function apply(config: ModeConfig, m: ModeMachine, op: Op): string {
  const base = config.userBase;
  try {
    if (op.kind === 'map') {
      if (op.huge) {
        const pageSize = config.hugeBytes;
        const va = base + Math.floor((op.page * 4096) / pageSize) * pageSize;
        return String(m.mapper.mapPages(va, 0x4000_0000 + (op.frame % 64) * pageSize, 1, op.flags, { pageSize: pageSize as 4096 }));
      }
      return String(m.mapper.mapPages(base + op.page * 4096, 0x8000_0000 + op.frame * 4096, op.pageCount, op.flags));
    }
    if (op.kind === 'unmap') return String(m.mapper.unmapPages(base + op.page * 4096, op.pageCount)?.length ?? 'null');
    return String(m.mapper.updateFlags(base + op.page * 4096, op.pageCount, op.flags));
  } catch (e) {
    if (e instanceof TableAccessFaultError) throw e;
    return (e as { code?: string }).code ?? 'error';
  }
}

/** Every page's translation as the MMU of the mode sees it (A/D masked: they record accesses, not mappings). */
function snapshot(config: ModeConfig, m: ModeMachine): string[] {
  const out: string[] = [];
  for (let page = 0; page < PAGES; page++) {
    const r = m.cpu.mmu.probe(config.userBase + page * 4096);
    if (!r.fault) out.push(`${page}:${r.pa}:${r.pageSizeBytes}:${r.flags & ~(PTE.Accessed | PTE.Dirty)}`);
  }
  return out;
}

/** The Mapper's software translations of the same pages, in the same form (no A/D, no PS). */
function softwareSnapshot(config: ModeConfig, m: ModeMachine): string[] {
  const out: string[] = [];
  for (let page = 0; page < PAGES; page++) {
    const t = m.mapper.translate(config.userBase + page * 4096);
    if (t !== null) out.push(`${page}:${t.pa}:${t.pageSizeBytes}:${t.flags & ~(PTE.Accessed | PTE.Dirty)}`);
  }
  return out;
}

for (const config of [THIRTY_TWO_BIT, PAE, FOUR_LEVEL, FIVE_LEVEL]) {
  describe(`TableAccess strategies in ${config.name} paging`, () => {
    it(`build identical translations (${config.strategies.join(', ')}) that the ${config.name} MMU walker agrees with`, () => {
      let mapped = 0;
      fc.assert(
        fc.property(fc.array(opArb(config), { minLength: 1, maxLength: 20 }), (ops) => {
          const machines = config.strategies.map((s) => modeMachine(config, s));
          for (const op of ops) {
            const outcomes = machines.map((m) => apply(config, m, op));
            expect(new Set(outcomes).size, `${JSON.stringify(op)} → ${outcomes.join(', ')}`).toBe(1);
          }
          const reference = snapshot(config, machines[0]!);
          mapped = Math.max(mapped, reference.length);
          // The walker of the mode reads what the Mapper meant (PS is a leaf bit the walker reports; drop it).
          const strip = (list: string[]): string[] => list.map((s) => s.replace(/:(\d+)$/, (_, f: string) => `:${Number(f) & ~PTE.HugePage}`));
          expect(strip(softwareSnapshot(config, machines[0]!))).toEqual(strip(reference));
          for (const m of machines.slice(1)) expect(snapshot(config, m)).toEqual(reference);
          for (const m of machines) {
            m.mapper.checkInvariants();
            m.cpu.checkInvariants();
          }
        }),
        { numRuns: 12 },
      );
      // The comparison is only worth something if the random operations left pages mapped.
      expect(mapped).toBeGreaterThan(100);
    });
  });
}
