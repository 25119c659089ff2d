// Soak: 50 processes, 100,000 random operations — touches (read / write / fetch), mmap, munmap,
// mprotect, brk, fork, exit, and faults that must kill — with checkInvariants() after each batch.
// The oracle for every touch is the process's own region list: allowed iff a region covers the
// address and its rights allow the access; anything else must end in SIGSEGV. At the end every
// process exits and the free frame count equals the count right after boot (no leak). The run
// itself is soak/random-operations.ts (seed 002's 32-bit kernel runs it too: kernel32-soak.test.ts).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PROT } from '../src/index';
import { PAGE, bootProcessKernel } from './process-helpers';
import { runSoak } from './soak/random-operations';

describe('soak', () => {
  it('survives 100,000 random operations over 50 processes with no invariant broken and no frame leaked', () => {
    const kernel = bootProcessKernel({ ramMiB: 256 });
    const freeAfterBoot = kernel.pmm.freeFrames;
    const seed = fc.sample(fc.integer(), 1)[0]!;
    const { counts, live } = runSoak(
      {
        createProcess: (name) => kernel.createProcess({ name }),
        fork: (pid) => kernel.fork(pid),
        checkInvariants: () => kernel.checkInvariants(),
        // EFER.NXE is on: a fetch needs PROT_EXEC.
        canExecute: (prot) => (prot & PROT.Exec) !== 0,
        // Far outside every region, or in the kernel half.
        badAddress: (page, coin) => (coin < 0.5 ? 0x6000_0000_0000 : 0xffff_8000_0000) + page * PAGE,
      },
      { processes: 50, operations: 100_000, batch: 2_500, seed, windowBase: 0x1000_0000, windowPages: 128 },
    );
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
