// Model-based test of the TLB as the Cpu uses it (SDM 4.10): random PTE rewrites WITHOUT
// invalidation, INVLPG, CR3 writes, CR4.PGE toggles and user reads/writes, checked against a tiny
// model — a Map of the page tables and a Map of what the TLB must still be holding. The TLB is
// big enough (64 sets x 16 ways) that the 4 pages in play are never evicted, so the model is exact.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Access, Cpu, CR4, Mode, PageFaultErrorCode as E, PTE } from '../src/index';
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
