// The soak's random run, for any kernel that runs processes (the 64-bit Kernel, seed 002's
// Kernel32): touches (read / write / fetch), mmap, munmap, mprotect, brk, fork, exit, and faults
// that must kill, over a window of the user space, with checkInvariants() after each batch. The
// oracle for every touch is the process's own region list (and the paging mode's rule for
// fetches): allowed iff a region covers the address and its rights allow the access; anything
// else must end in SIGSEGV.
import { PROT, type Process, type Region } from '../../src/index';
import { mulberry32 as rng } from '../../../../test-support/mulberry32';

const PAGE = 4096;
const PROTS = [PROT.None, PROT.Read, PROT.Read | PROT.Write, PROT.Read | PROT.Exec, PROT.Read | PROT.Write | PROT.Exec];

/** What the soak needs from a kernel. */
export interface SoakSystem {
  createProcess(name: string): Process | null;
  fork(pid: number): Process | null;
  checkInvariants(): void;
  /** Whether a region with rights `prot` lets a user fetch run (no XD bit: whenever it may be read). */
  canExecute(prot: number): boolean;
  /** An address whose every user access must kill: `page` in 0..windowPages-1, `coin` in [0, 1). */
  badAddress(page: number, coin: number): number;
}

/** How big a run. */
export interface SoakOptions {
  readonly processes: number;
  readonly operations: number;
  /** Operations between checkInvariants() calls. */
  readonly batch: number;
  readonly seed: number;
  /** First byte of the window the processes map in (page aligned, user space). */
  readonly windowBase: number;
  readonly windowPages: number;
}

/** Runs the soak; returns how often each kind of operation happened and the processes still alive. */
export function runSoak(system: SoakSystem, o: SoakOptions): { counts: Record<string, number>; live: Process[] } {
  const rand = rng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const windowRegions = (p: Process): Region[] => p.regions().filter((r) => r.start >= o.windowBase && r.end <= o.windowBase + o.windowPages * PAGE);
  const expectedOutcome = (p: Process, va: number, access: 'read' | 'write' | 'execute'): 'ok' | 'segv' => {
    const r = p.regionAt(va);
    if (r === null) return 'segv';
    if (access === 'write') return (r.prot & PROT.Write) !== 0 ? 'ok' : 'segv';
    if (access === 'execute') return system.canExecute(r.prot) ? 'ok' : 'segv';
    return r.prot !== PROT.None ? 'ok' : 'segv';
  };
  const fail = (op: number, what: string): never => {
    throw new Error(`op ${op} (seed ${o.seed}): ${what}`);
  };
  const live: Process[] = [];
  const spawn = (): void => {
    live.push(system.createProcess(`soak${live.length}`) ?? fail(-1, 'out of memory creating a process'));
  };
  for (let i = 0; i < o.processes; i++) spawn();
  const counts: Record<string, number> = {};
  const count = (k: string): void => {
    counts[k] = (counts[k] ?? 0) + 1;
  };
  for (let op = 0; op < o.operations; op++) {
    const p = pick(live);
    const page = Math.floor(rand() * o.windowPages);
    const va = o.windowBase + page * PAGE;
    const n = 1 + Math.floor(rand() * 8);
    const roll = rand();
    if (roll < 0.55) {
      // Mostly inside one of the process's mappings with an access its rights allow (so pages
      // get shared, copied, protected); sometimes anything anywhere in the window (must kill
      // where the regions say so).
      const mine = windowRegions(p);
      const r = mine.length > 0 && rand() < 0.97 ? pick(mine) : null;
      const at = r === null ? va + Math.floor(rand() * PAGE) : r.start + Math.floor(rand() * (r.end - r.start));
      let access: 'read' | 'write' | 'execute' = roll < 0.3 ? 'write' : roll < 0.5 ? 'read' : 'execute';
      if (r !== null && rand() < 0.9) access = (r.prot & PROT.Write) !== 0 && roll < 0.3 ? 'write' : (r.prot & PROT.Exec) !== 0 && roll >= 0.5 ? 'execute' : 'read';
      const want = expectedOutcome(p, at, access);
      const got = p.touch(at, access, op & 0xff);
      if (got !== want) fail(op, `${access} at 0x${at.toString(16)} in pid ${p.pid} gave ${got}, expected ${want}`);
      count(got === 'ok' ? `touch-${access}` : 'segv');
    } else if (roll < 0.67) {
      p.mmap({ lengthBytes: n * PAGE, fixed: true, va: Math.min(va, o.windowBase + (o.windowPages - n) * PAGE), prot: pick(PROTS) });
      count('mmap');
    } else if (roll < 0.75) {
      p.munmap(va, n * PAGE);
      count('munmap');
    } else if (roll < 0.82) {
      const mine = windowRegions(p);
      if (mine.length > 0) {
        const r = pick(mine);
        const first = r.start + Math.floor(rand() * ((r.end - r.start) / PAGE)) * PAGE;
        const pages = 1 + Math.floor(rand() * ((r.end - first) / PAGE));
        p.mprotect(first, pages * PAGE, pick(PROTS));
        count('mprotect');
      } else count('mprotect-skipped');
    } else if (roll < 0.88) {
      const grow = rand() < 0.6;
      const delta = (1 + Math.floor(rand() * 4)) * PAGE;
      const target = grow ? p.brkEnd + delta : Math.max(p.brkStart, p.brkEnd - delta);
      if (p.brk(target) !== target) fail(op, `brk(0x${target.toString(16)}) of pid ${p.pid} did not move the break`);
      if (p.brkEnd > p.brkStart && p.touch(p.brkEnd - 1, 'write', 1) !== 'ok') fail(op, `the last byte below the break of pid ${p.pid} is not writable`);
      count('brk');
    } else if (roll < 0.93) {
      const child = system.fork(p.pid) ?? fail(op, `fork of pid ${p.pid} ran out of memory`);
      live.push(child);
      count('fork');
      // Keep about `processes` alive: a fork is paired with an exit of a random other process.
      pick(live.filter((x) => x !== child)).exit(op & 0x7f);
      count('exit');
    } else if (roll < 0.96) {
      const bad = system.badAddress(page, rand());
      const got = p.touch(bad, pick(['read', 'write', 'execute'] as const), 1);
      if (got !== 'segv') fail(op, `a touch of 0x${bad.toString(16)} by pid ${p.pid} gave ${got}, expected segv`);
      count('segv-forced');
    } else {
      p.exit(0);
      count('exit');
    }
    for (let i = live.length - 1; i >= 0; i--) if (!live[i]!.alive) live.splice(i, 1);
    while (live.length < o.processes) spawn();
    if ((op + 1) % o.batch === 0) system.checkInvariants();
  }
  return { counts, live };
}
