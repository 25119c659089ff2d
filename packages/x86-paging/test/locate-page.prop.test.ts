// Mapper.locatePage against a reference, in every paging mode and every table-access strategy:
// the location it returns is the one the independent walker (walkTables) reads for the address; it
// creates exactly the tables the walk lacked, or — when the allocator cannot give them all — none;
// a leaf written at the location is what the mode's MMU then translates. checkInvariants() after
// every step.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PTE, type PageSize } from '../src/index';
import { treeDump } from './mapper-fixture';
import { FIVE_LEVEL, FOUR_LEVEL, PAE, THIRTY_TWO_BIT, codeOf, modeMachine, type ModeConfig, type ModeMachine } from './mode-machines';

type Op =
  | { kind: 'locate'; page: number; create: boolean; huge: boolean }
  | { kind: 'install'; page: number; frame: number }
  | { kind: 'mapHuge'; slot: number; frame: number }
  | { kind: 'unmap'; page: number; pageCount: number }
  | { kind: 'squeeze'; keep: number }
  | { kind: 'release' };

const LEAF = PTE.Present | PTE.Writable | PTE.User;

function opArb(pages: number): fc.Arbitrary<Op> {
  const page = fc.integer({ min: 0, max: pages - 1 });
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('locate' as const), page, create: fc.boolean(), huge: fc.boolean() }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('install' as const), page, frame: fc.integer({ min: 0, max: 1023 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('mapHuge' as const), slot: fc.integer({ min: 0, max: 1 }), frame: fc.integer({ min: 0, max: 7 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('unmap' as const), page, pageCount: fc.integer({ min: 1, max: pages }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('squeeze' as const), keep: fc.integer({ min: 0, max: 3 }) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'release' as const }) },
  );
}

interface State {
  readonly m: ModeMachine;
  /** Reference: page index → physical address of every mapped 4 KiB page of the area. */
  readonly model: Map<number, number>;
  /** Frames taken from the allocator by 'squeeze'. */
  readonly held: number[];
}

/** Everything that must stay as it was when a call changes nothing. */
function fingerprint(config: ModeConfig, strategy: string, s: State): string {
  // A/D bits masked: strategies that reach tables through the MMU set them on the entries they use.
  const dump = strategy === 'window' ? '' : treeDump(s.m.memory, s.m.root, [config.recursiveSlot], s.m.mapper.geometry).map((e) => e.replace(/:([0-9a-f]+):([0-9a-f]+)$/, (_, lo: string, hi: string) => `:${(parseInt(lo, 16) & ~(PTE.Accessed | PTE.Dirty)).toString(16)}:${hi}`)).join();
  return `${dump}|${s.m.allocator.freeCount}|${s.m.mapper.tableFrameCount}`;
}

function step(config: ModeConfig, strategy: string, s: State, op: Op): void {
  const { m, model } = s;
  const base = config.userBase;
  const hugePages = config.hugeBytes / 4096;
  if (op.kind === 'locate') {
    const va = base + op.page * 4096;
    const target = op.huge ? 2 : 1;
    const steps = m.mapper.walk(va);
    const last = steps[steps.length - 1]!;
    const atTarget = steps.find((x) => x.level === target);
    const before = fingerprint(config, strategy, s);
    const freeBefore = m.allocator.freeCount;
    const options = { create: op.create, pageSize: (op.huge ? config.hugeBytes : 4096) as PageSize };
    if (atTarget === undefined && last.entry.present && last.entry.pageSizeBytes !== undefined && op.create) {
      expect(codeOf(() => m.mapper.locatePage(va, options))).toBe('E_PARENT_HUGE_PAGE');
      expect(fingerprint(config, strategy, s)).toBe(before);
      return;
    }
    const loc = m.mapper.locatePage(va, options);
    if (atTarget !== undefined || last.entry.present) {
      const at = atTarget ?? last; // a huge leaf above the target decides va
      expect(loc).toMatchObject({ level: at.level, table: at.tableFrame, index: at.index, entryPa: at.entryPa, present: at.entry.present, tablesCreated: 0 });
      expect(fingerprint(config, strategy, s)).toBe(before);
      return;
    }
    const missing = last.level - target;
    if (!op.create || freeBefore < missing) {
      expect(loc).toBeNull();
      expect(fingerprint(config, strategy, s)).toBe(before);
      return;
    }
    expect(loc).toMatchObject({ level: target, present: false, lo: 0, hi: 0, tablesCreated: missing });
    expect(m.allocator.freeCount).toBe(freeBefore - missing);
    const after = m.mapper.walk(va).find((x) => x.level === target)!;
    expect([loc!.table, loc!.index, loc!.entryPa]).toEqual([after.tableFrame, after.index, after.entryPa]);
    return;
  }
  if (op.kind === 'install') {
    const va = base + op.page * 4096;
    const pa = 0x40_0000 + op.frame * 4096;
    let loc;
    try {
      loc = m.mapper.locatePage(va, { create: true, flags: LEAF });
    } catch (e) {
      expect((e as { code?: string }).code).toBe('E_PARENT_HUGE_PAGE');
      return;
    }
    if (loc === null || loc.present) return;
    const g = m.mapper.geometry;
    // The kernel's own write of the PTE, through its strategy (not-present → present: no INVLPG).
    m.access.writeEntry(1, va, loc.table, loc.index, g.encodeLo(pa, LEAF, false), g.encodeHi(pa, 0, 0xfffff));
    model.set(op.page, pa);
    return;
  }
  if (op.kind === 'mapHuge') {
    const first = op.slot * hugePages;
    const pa = 0x4000_0000 + op.frame * config.hugeBytes;
    try {
      if (!m.mapper.mapPages(base + first * 4096, pa, 1, LEAF, { pageSize: config.hugeBytes as PageSize })) return;
    } catch (e) {
      expect(['E_ALREADY_MAPPED', 'E_PARENT_HUGE_PAGE']).toContain((e as { code?: string }).code);
      return;
    }
    for (let k = 0; k < hugePages; k++) model.set(first + k, pa + k * 4096);
    return;
  }
  if (op.kind === 'unmap') {
    if (m.mapper.unmapPages(base + op.page * 4096, op.pageCount) === null) return;
    for (let k = op.page; k < op.page + op.pageCount; k++) model.delete(k);
    return;
  }
  if (op.kind === 'squeeze') {
    while (m.allocator.freeCount > op.keep) s.held.push(m.allocator.allocFrame()!);
    return;
  }
  while (s.held.length > 0) m.allocator.freeFrame(s.held.pop()!);
}

/** The model's pages are exactly what the Mapper and the mode's MMU translate (A/D set by probes ignored). */
function checkAgainstModel(config: ModeConfig, s: State, pages: number): void {
  for (let page = 0; page < pages; page++) {
    const va = config.userBase + page * 4096;
    const want = s.model.get(page);
    expect(s.m.mapper.translate(va)?.pa ?? null).toBe(want ?? null);
    const r = s.m.cpu.mmu.probe(va);
    expect(r.fault ? null : r.pa).toBe(want ?? null);
  }
}

for (const config of [THIRTY_TWO_BIT, PAE, FOUR_LEVEL, FIVE_LEVEL]) {
  const pages = (2 * config.hugeBytes) / 4096;
  describe(`Mapper.locatePage in ${config.name} paging`, () => {
    for (const strategy of config.strategies) {
      it(`agrees with the walker and the MMU, and is all or nothing (${strategy} access)`, () => {
        fc.assert(
          fc.property(fc.array(opArb(pages), { minLength: 1, maxLength: 25 }), (ops) => {
            const s: State = { m: modeMachine(config, strategy), model: new Map(), held: [] };
            for (const op of ops) {
              step(config, strategy, s, op);
              s.m.mapper.checkInvariants();
              s.m.allocator.checkInvariants();
            }
            checkAgainstModel(config, s, pages);
          }),
          { numRuns: Number(process.env.NUM_RUNS ?? 8) },
        );
      });
    }
  });
}
