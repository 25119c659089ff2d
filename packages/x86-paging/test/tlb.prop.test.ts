// Model-based test of the TLB as the Cpu uses it (SDM 4.10): random PTE rewrites WITHOUT
// invalidation, INVLPG, CR3 writes, CR4.PGE toggles and user reads/writes, checked against a tiny
// model — a Map of the page tables and a Map of what the TLB must still be holding. The TLB is
// big enough (64 sets x 16 ways) that the 4 pages in play are never evicted, so the model is exact.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Access, Cpu, CR4, Mode, PageFaultErrorCode as E, PTE, Tlb } from '../src/index';
import { RawPaging } from './raw-paging';

const BASE = 0x5555_0000_0000;
const PAGES = 4;

interface TableEntry {
  frame: number;
  flags: number;
  dirty: boolean;
}
interface Cached {
  frame: number;
  writable: boolean;
  user: boolean;
  dirty: boolean;
  global: boolean;
}
interface Model {
  tables: Map<number, TableEntry>;
  tlb: Map<number, Cached>;
  pge: boolean;
}
interface Real {
  t: RawPaging;
  cpu: Cpu;
}

const FLAG_CHOICES = [0, PTE.Present | PTE.User, PTE.Present | PTE.User | PTE.Writable, PTE.Present | PTE.User | PTE.Writable | PTE.Global, PTE.Present | PTE.Writable];

class SetPte implements fc.Command<Model, Real> {
  constructor(
    readonly page: number,
    readonly frame: number,
    readonly flags: number,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    r.t.map(BASE + this.page * 4096, this.frame * 4096, this.flags); // no INVLPG: the bug under study
    m.tables.set(this.page, { frame: this.frame * 4096, flags: this.flags, dirty: false });
    r.cpu.checkInvariants();
  }
  toString = () => `SetPte(${this.page}, ${this.frame}, 0x${this.flags.toString(16)})`;
}

class Invlpg implements fc.Command<Model, Real> {
  constructor(readonly page: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    r.cpu.invlpg(BASE + this.page * 4096 + 123);
    m.tlb.delete(this.page);
    r.cpu.checkInvariants();
  }
  toString = () => `Invlpg(${this.page})`;
}

class WriteCr3 implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real): void {
    r.cpu.writeCr3(r.cpu.registers.cr3Frame);
    for (const [page, c] of m.tlb) if (!c.global) m.tlb.delete(page);
    r.cpu.checkInvariants();
  }
  toString = () => 'WriteCr3';
}

class TogglePge implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real): void {
    r.cpu.writeCr4(r.cpu.registers.cr4 ^ CR4.PGE);
    m.pge = !m.pge;
    m.tlb.clear();
    r.cpu.checkInvariants();
  }
  toString = () => 'TogglePge';
}

class UserAccess implements fc.Command<Model, Real> {
  constructor(
    readonly page: number,
    readonly write: boolean,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const va = BASE + this.page * 4096 + 8;
    const got = r.cpu.translate(va, this.write ? Access.Write : Access.Read, Mode.User);
    const base = E.User | (this.write ? E.Write : 0);
    // Model: a cached entry answers (rights from the cache) unless it is a write with D = 0.
    const cached = m.tlb.get(this.page);
    let expected: { fault: boolean; errorCode: number; pa: number };
    if (cached !== undefined && !(cached.user && (!this.write || cached.writable))) {
      m.tlb.delete(this.page);
      expected = { fault: true, errorCode: base | E.Present, pa: 0 };
    } else if (cached !== undefined && !(this.write && !cached.dirty)) {
      expected = { fault: false, errorCode: 0, pa: cached.frame + 8 };
    } else {
      const t = m.tables.get(this.page);
      if (t === undefined || (t.flags & PTE.Present) === 0) {
        m.tlb.delete(this.page);
        expected = { fault: true, errorCode: base, pa: 0 };
      } else if ((t.flags & PTE.User) === 0 || (this.write && (t.flags & PTE.Writable) === 0)) {
        m.tlb.delete(this.page);
        expected = { fault: true, errorCode: base | E.Present, pa: 0 };
      } else {
        if (this.write) t.dirty = true;
        m.tlb.set(this.page, {
          frame: t.frame,
          writable: (t.flags & PTE.Writable) !== 0,
          user: true,
          dirty: t.dirty,
          global: m.pge && (t.flags & PTE.Global) !== 0,
        });
        expected = { fault: false, errorCode: 0, pa: t.frame + 8 };
      }
    }
    expect({ fault: got.fault, errorCode: got.errorCode, pa: got.fault ? 0 : got.pa }).toEqual(expected);
    expect(r.cpu.tlb!.validCount()).toBe(m.tlb.size);
    // SDM 4.8: D in memory is set exactly when a write went through the walk.
    const t = m.tables.get(this.page);
    if (t !== undefined && (t.flags & PTE.Present) !== 0) expect((r.t.get(1, va)[0] & PTE.Dirty) !== 0).toBe(t.dirty);
    r.cpu.checkInvariants();
  }
  toString = () => `${this.write ? 'Write' : 'Read'}(${this.page})`;
}

const page = fc.integer({ min: 0, max: PAGES - 1 });
const commands = [
  fc.tuple(page, fc.integer({ min: 0x400, max: 0x40f }), fc.constantFrom(...FLAG_CHOICES)).map(([p, f, fl]) => new SetPte(p, f, fl)),
  page.map((p) => new Invlpg(p)),
  fc.constant(new WriteCr3()),
  fc.constant(new TogglePge()),
  fc.tuple(page, fc.boolean()).map(([p, w]) => new UserAccess(p, w)),
  fc.tuple(page, fc.boolean()).map(([p, w]) => new UserAccess(p, w)),
];

describe('Tlb (model-based: stale entries, INVLPG, CR3, PGE, D-bit walks)', () => {
  it('behaves like the model over random command sequences', () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 80 }), (cmds) => {
        const t = new RawPaging();
        const cpu = new Cpu({ memory: t.memory, registers: { cr3Frame: t.pml4, cr4: CR4.PAE | CR4.PGE }, tlb: { setCount: 64, wayCount: 16 } });
        t.table(1, BASE); // create the path once so SetPte never changes table pointers
        fc.modelRun(() => ({ model: { tables: new Map(), tlb: new Map(), pge: true }, real: { t, cpu } }), cmds);
      }),
      { numRuns: 500 },
    );
  });
});

// The huge-page index behind INVLPG (which 2 MiB / 1 GiB pages have pieces cached): a tiny TLB
// (32 slots, a 64-slot index) so evictions and index collisions are constant, against a brute-force
// reference of what INVLPG must drop, computed from `entries()` before each call.
describe('Tlb.invalidatePage with huge pieces (model: a scan of every entry)', () => {
  const HUGE_BASE = 0x7f00_0000_0000 / 4096; // a 1 GiB-aligned page number
  const op = fc.oneof(
    fc.record({ kind: fc.constant('fill' as const), page: fc.integer({ min: 0, max: 1023 }), level: fc.constantFrom(1, 2, 2, 3), pcid: fc.integer({ min: 0, max: 1 }), global: fc.boolean() }),
    fc.record({ kind: fc.constant('invlpg' as const), page: fc.integer({ min: 0, max: 1023 }), pcid: fc.integer({ min: 0, max: 1 }), keepGlobal: fc.boolean() }),
  );
  it('drops exactly the entries of the page or of the huge page containing the address, and keeps its index exact', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const tlb = new Tlb({ setCount: 16, wayCount: 2 });
        for (const o of ops) {
                    // 2 MiB pages 32 apart share an index home (long probe runs), some runs wrap around its end.
          const page = HUGE_BASE + (o.page % 8) * 262144 + ((Math.floor(o.page / 8) % 16) * 32 + (Math.floor(o.page / 128) % 2) * 31) * 512 + (Math.floor(o.page / 256) % 2);
          if (o.kind === 'fill') {
            tlb.insertPage(page, o.pcid, 0x10_0000 + (page % 512) * 4096, PTE.Present, o.level, o.global);
          } else {
            const span = (level: number): number => (level === 3 ? 262144 : level === 2 ? 512 : 1);
            const before = tlb.entries();
            const expected = before.filter(
              (e) =>
                Math.floor(e.va / 4096 / span(e.level)) === Math.floor(page / span(e.level)) && (e.global ? !o.keepGlobal : e.pcid === o.pcid),
            ).length;
            expect(tlb.invalidatePage(page * 4096 + 0x123, o.pcid, o.keepGlobal)).toBe(expected);
            expect(tlb.validCount()).toBe(before.length - expected);
          }
          tlb.checkInvariants();
        }
      }),
      { numRuns: 300 },
    );
  });
});

// Replacement and the way predictor (Tlb.hints): a tiny TLB under many pages, so sets overflow and
// pages sharing a hint slot (page numbers 128 apart share the hash's low 7 bits) keep overwriting
// each other's hints. The model is the replacement policy alone — per set, the ways in order, the
// first empty way else a round-robin victim — and says for every access whether it hits and what
// it returns. A stale or wrong hint may cost a scan of the set but must never change either.
describe('Tlb replacement and way prediction (model: per-set ways with a round-robin victim)', () => {
  const PAGE0 = 0x1234_5600_0000 / 4096;
  const offsets = [0, 1, 2, 3, 5, 8, 128, 129, 131, 256, 257, 384, 1024, 1152, 4096, 4097];
  const op = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('read' as const), i: fc.integer({ min: 0, max: offsets.length - 1 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('invlpg' as const), i: fc.integer({ min: 0, max: offsets.length - 1 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('scramble' as const), seed: fc.nat() }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'cr3' as const }) },
  );
  it.each([
    [4, 2],
    [2, 4],
    [1, 3],
    [8, 1],
  ])('%i sets x %i ways: hits, misses and victims as the model says', (setCount, wayCount) => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const t = new RawPaging();
        const cpu = new Cpu({ memory: t.memory, registers: { cr3Frame: t.pml4 }, tlb: { setCount, wayCount } });
        const tlb = cpu.tlb!;
        for (const [i, off] of offsets.entries()) t.map((PAGE0 + off) * 4096, (0x400 + i) * 4096, PTE.Present | PTE.User);
        const sets = Array.from({ length: setCount }, () => new Array<number | null>(wayCount).fill(null));
        const victims = new Array<number>(setCount).fill(0);
        const setOf = (page: number): number => tlb.setIndex(Math.floor(page / 1048576), page % 1048576);
        for (const o of ops) {
          if (o.kind === 'read') {
            const page = PAGE0 + offsets[o.i]!;
            const ways = sets[setOf(page)]!;
            const cached = ways.includes(page);
            if (!cached) {
              const empty = ways.indexOf(null);
              const s = setOf(page);
              if (empty >= 0) ways[empty] = page;
              else {
                ways[victims[s]!] = page;
                victims[s] = (victims[s]! + 1) % wayCount;
              }
            }
            const r = cpu.translate(page * 4096 + 0x10, Access.Read, Mode.User);
            expect({ fault: r.fault, tlbHit: r.tlbHit, pa: r.pa }).toEqual({ fault: false, tlbHit: cached, pa: (0x400 + o.i) * 4096 + 0x10 });
          } else if (o.kind === 'invlpg') {
            const page = PAGE0 + offsets[o.i]!;
            cpu.invlpg(page * 4096);
            const ways = sets[setOf(page)]!;
            const w = ways.indexOf(page);
            if (w >= 0) ways[w] = null;
          } else if (o.kind === 'scramble') {
            // Hints are guesses: any value in 0..wayCount-1 must leave every answer unchanged.
            for (let h = 0; h < tlb.hints.length; h++) tlb.hints[h] = (o.seed + h * 7) % wayCount;
          } else {
            cpu.writeCr3(cpu.registers.cr3Frame);
            for (const ways of sets) ways.fill(null);
          }
          expect(tlb.validCount()).toBe(sets.flat().filter((p) => p !== null).length);
          tlb.checkInvariants();
        }
      }),
      { numRuns: 150 },
    );
  });
});
