// Soak: 50 processes, 100,000 random operations — touches (read / write / fetch), mmap, munmap,
// mprotect, brk, fork, exit, and faults that must kill — with checkInvariants() after each batch.
// The oracle for every touch is the process's own region list: allowed iff a region covers the
// address and its rights allow the access; anything else must end in SIGSEGV. At the end every
// process exits and the free frame count equals the count right after boot (no leak).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PROT, type Process, type Region } from '../src/index';
import { PAGE, bootProcessKernel } from './process-helpers';
import { mulberry32 as rng } from '../../../test-support/mulberry32';

const PROCESSES = 50;
const OPERATIONS = 100_000;
const BATCH = 2_500;
const WINDOW_BASE = 0x1000_0000;
const WINDOW_PAGES = 128;
const PROTS = [PROT.None, PROT.Read, PROT.Read | PROT.Write, PROT.Read | PROT.Exec, PROT.Read | PROT.Write | PROT.Exec];

function windowRegions(p: Process): Region[] {
  return p.regions().filter((r) => r.start >= WINDOW_BASE && r.end <= WINDOW_BASE + WINDOW_PAGES * PAGE);
}

function expectedOutcome(p: Process, va: number, access: 'read' | 'write' | 'execute'): 'ok' | 'segv' {
  const r = p.regionAt(va);
  if (r === null) return 'segv';
  if (access === 'write') return (r.prot & PROT.Write) !== 0 ? 'ok' : 'segv';
  if (access === 'execute') return (r.prot & PROT.Exec) !== 0 ? 'ok' : 'segv';
  return r.prot !== PROT.None ? 'ok' : 'segv';
}

describe('soak', () => {
  it('survives 100,000 random operations over 50 processes with no invariant broken and no frame leaked', () => {
    const kernel = bootProcessKernel({ ramMiB: 256 });
    const freeAfterBoot = kernel.pmm.freeFrames;
    const seed = fc.sample(fc.integer(), 1)[0]!;
    const rand = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const live: Process[] = [];
    const spawn = (): void => {
      const p = kernel.createProcess({ name: `soak${live.length}` })!;
      live.push(p);
    };
    for (let i = 0; i < PROCESSES; i++) spawn();
    const counts: Record<string, number> = {};
    const count = (k: string): void => {
      counts[k] = (counts[k] ?? 0) + 1;
    };
    const replaceDead = (): void => {
      for (let i = live.length - 1; i >= 0; i--) if (!live[i]!.alive) live.splice(i, 1);
      while (live.length < PROCESSES) spawn();
    };

    for (let op = 0; op < OPERATIONS; op++) {
      const p = pick(live);
      const page = Math.floor(rand() * WINDOW_PAGES);
      const va = WINDOW_BASE + page * PAGE;
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
        if (got !== want) throw new Error(`op ${op} (seed ${seed}): ${access} at 0x${at.toString(16)} in pid ${p.pid} gave ${got}, expected ${want}`);
        count(got === 'ok' ? `touch-${access}` : 'segv');
      } else if (roll < 0.67) {
        p.mmap({ lengthBytes: n * PAGE, fixed: true, va: Math.min(va, WINDOW_BASE + (WINDOW_PAGES - n) * PAGE), prot: pick(PROTS) });
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
        expect(p.brk(target)).toBe(target);
        if (p.brkEnd > p.brkStart) expect(p.touch(p.brkEnd - 1, 'write', 1)).toBe('ok');
        count('brk');
      } else if (roll < 0.93) {
        const child = kernel.fork(p.pid);
        expect(child).not.toBeNull();
        live.push(child!);
        count('fork');
        // Keep about PROCESSES alive: a fork is paired with an exit of a random other process.
        const victim = pick(live.filter((x) => x !== child));
        victim.exit(op & 0x7f);
        count('exit');
      } else if (roll < 0.96) {
        // Faults that must kill: far outside every region, or in the kernel half.
        const bad = rand() < 0.5 ? 0x6000_0000_0000 + page * PAGE : 0xffff_8000_0000 + page * PAGE;
        expect(p.touch(bad, pick(['read', 'write', 'execute'] as const), 1)).toBe('segv');
        count('segv-forced');
      } else {
        p.exit(0);
        count('exit');
      }
      replaceDead();
      if ((op + 1) % BATCH === 0) kernel.checkInvariants();
    }
    expect(kernel.cpu.tlb!.staleUseCount).toBe(0);
    console.log(`soak (seed ${seed}):`, JSON.stringify(counts));
    for (const p of live) p.exit(0);
    kernel.checkInvariants();
    expect(kernel.processes.count).toBe(0);
    expect(kernel.pmm.freeFrames).toBe(freeAfterBoot);
    expect(kernel.frames.usageByOwner().user).toBe(0);
    // Every kind of operation happened many times.
    for (const k of ['touch-write', 'touch-read', 'touch-execute', 'segv', 'segv-forced', 'mmap', 'munmap', 'mprotect', 'brk', 'fork', 'exit']) {
      expect(counts[k] ?? 0, `${k} in ${JSON.stringify(counts)}`).toBeGreaterThan(500);
    }
    // About 8 s of CPU time; the limit leaves room for a machine shared with other test runs.
  }, 180_000);
});
