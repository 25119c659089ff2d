// Model-based: one process's address space against a tiny reference (a Map page -> rights and
// bytes). Random mmap (fixed) / munmap / mprotect / reads / writes / fetches / fork-and-write,
// over a 48-page window so operations collide; the process and frame invariants after every
// command, kernel.checkInvariants() after every run.
// A fault the model says must kill does kill (SIGSEGV), and the model starts a fresh process.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PROT, RegionRangeError, type Kernel, type Process } from '../src/index';
import { PAGE, bootProcessKernel } from './process-helpers';

const BASE = 0x1000_0000;
const WINDOW = 48;
const OFFSETS = [0, 1, 2047, 4095];

interface Page {
  prot: number;
  bytes: Map<number, number>;
}
interface Model {
  pages: Map<number, Page>;
}
interface Real {
  kernel: Kernel;
  p: Process;
}

function fresh(r: Real, m: Model): void {
  if (r.p.alive) r.p.exit(0);
  r.p = r.kernel.createProcess({ name: 'model' })!;
  m.pages.clear();
}

function value(m: Model, page: number, offset: number): number {
  return m.pages.get(page)?.bytes.get(offset) ?? 0;
}

type Cmd = fc.Command<Model, Real>;

class MmapFixed implements Cmd {
  constructor(readonly page: number, readonly count: number, readonly prot: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const n = Math.min(this.count, WINDOW - this.page);
    expect(r.p.mmap({ lengthBytes: n * PAGE, fixed: true, va: BASE + this.page * PAGE, prot: this.prot })).toBe(BASE + this.page * PAGE);
    for (let i = 0; i < n; i++) m.pages.set(this.page + i, { prot: this.prot, bytes: new Map() });
  }
  toString(): string {
    return `mmap(${this.page}, ${this.count}, ${this.prot})`;
  }
}

class Munmap implements Cmd {
  constructor(readonly page: number, readonly count: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const n = Math.min(this.count, WINDOW - this.page);
    r.p.munmap(BASE + this.page * PAGE, n * PAGE);
    for (let i = 0; i < n; i++) m.pages.delete(this.page + i);
  }
  toString(): string {
    return `munmap(${this.page}, ${this.count})`;
  }
}

class Mprotect implements Cmd {
  constructor(readonly page: number, readonly count: number, readonly prot: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const n = Math.min(this.count, WINDOW - this.page);
    let covered = true;
    for (let i = 0; i < n; i++) if (!m.pages.has(this.page + i)) covered = false;
    if (!covered) {
      expect(() => r.p.mprotect(BASE + this.page * PAGE, n * PAGE, this.prot)).toThrow(RegionRangeError);
      return;
    }
    r.p.mprotect(BASE + this.page * PAGE, n * PAGE, this.prot);
    for (let i = 0; i < n; i++) m.pages.get(this.page + i)!.prot = this.prot;
  }
  toString(): string {
    return `mprotect(${this.page}, ${this.count}, ${this.prot})`;
  }
}

class Access implements Cmd {
  constructor(readonly page: number, readonly offset: number, readonly kind: 'read' | 'write' | 'execute', readonly byte: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const pg = m.pages.get(this.page);
    const prot = pg?.prot ?? -1;
    const allowed = prot < 0 ? false : this.kind === 'write' ? (prot & PROT.Write) !== 0 : this.kind === 'execute' ? (prot & PROT.Exec) !== 0 : prot !== PROT.None;
    const va = BASE + this.page * PAGE + this.offset;
    const outcome = r.p.touch(va, this.kind, this.byte);
    expect(outcome).toBe(allowed ? 'ok' : 'segv');
    if (!allowed) {
      expect(r.p.killed!.va).toBe(va);
      fresh(r, m);
      return;
    }
    if (this.kind === 'write') pg!.bytes.set(this.offset, this.byte);
    r.kernel.switchTo(r.p.pid);
    expect(r.kernel.user.read8(va)).toBe(value(m, this.page, this.offset));
  }
  toString(): string {
    return `${this.kind}(${this.page}+${this.offset}${this.kind === 'write' ? `=${this.byte}` : ''})`;
  }
}

class ForkAndWrite implements Cmd {
  constructor(readonly page: number, readonly offset: number) {}
  check(m: Model): boolean {
    const pg = m.pages.get(this.page);
    return pg !== undefined && (pg.prot & PROT.Write) !== 0;
  }
  run(m: Model, r: Real): void {
    const child = r.kernel.fork(r.p.pid)!;
    const va = BASE + this.page * PAGE + this.offset;
    expect(child.touch(va, 'write', 0xee)).toBe('ok');
    r.kernel.switchTo(child.pid);
    expect(r.kernel.user.read8(va)).toBe(0xee);
    r.kernel.processes.checkInvariants();
    child.exit(0);
    r.kernel.switchTo(r.p.pid);
    expect(r.kernel.user.read8(va)).toBe(value(m, this.page, this.offset));
  }
  toString(): string {
    return `fork+write(${this.page}+${this.offset})`;
  }
}

const protArb = fc.constantFrom(PROT.None, PROT.Read, PROT.Read | PROT.Write, PROT.Read | PROT.Exec, PROT.Read | PROT.Write | PROT.Exec);
const pageArb = fc.integer({ min: 0, max: WINDOW - 1 });
const countArb = fc.integer({ min: 1, max: 12 });
const offsetArb = fc.constantFrom(...OFFSETS);

const commands = [
  fc.tuple(pageArb, countArb, protArb).map(([p, c, pr]) => new MmapFixed(p, c, pr)),
  fc.tuple(pageArb, countArb).map(([p, c]) => new Munmap(p, c)),
  fc.tuple(pageArb, countArb, protArb).map(([p, c, pr]) => new Mprotect(p, c, pr)),
  fc.tuple(pageArb, offsetArb, fc.constantFrom<'read' | 'write' | 'execute'>('read', 'write', 'write', 'execute'), fc.integer({ min: 1, max: 255 })).map(([p, o, k, b]) => new Access(p, o, k, b)),
  fc.tuple(pageArb, offsetArb).map(([p, o]) => new ForkAndWrite(p, o)),
];

describe('Process address space (model-based)', () => {
  it('behaves like a map of page -> rights and bytes under random mmap/munmap/mprotect/access/fork', () => {
    const kernel = bootProcessKernel({ ramMiB: 128 });
    kernel.machine.cpu.tlb!.detectStaleUses = true;
    const free0 = kernel.pmm.freeFrames;
    const real: Real = { kernel, p: kernel.createProcess({ name: 'model' })! };
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 80 }), (cmds) => {
        const model: Model = { pages: new Map() };
        fresh(real, model);
        fc.modelRun(
          () => ({ model, real }),
          [...cmds].map((c) => {
            // checkInvariants after every command
            const wrapped: Cmd = {
              check: (m) => c.check(m),
              run: (m, r) => {
                c.run(m, r);
                // The process side in full, plus frame ownership; the whole kernel once per run below.
                r.kernel.processes.checkInvariants();
                r.kernel.frames.checkInvariants();
              },
              toString: () => c.toString(),
            };
            return wrapped;
          }),
        );
        kernel.checkInvariants();
      }),
      { numRuns: 50 },
    );
    real.p.exit(0);
    expect(kernel.cpu.tlb!.staleUseCount).toBe(0);
    expect(kernel.pmm.freeFrames).toBe(free0);
    kernel.checkInvariants();
  }, 120_000);
});
