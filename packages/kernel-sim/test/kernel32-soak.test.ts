// Soak on seed 002's 32-bit kernel (layout higher-half-3g): the same random run as the 64-bit
// soak (soak/random-operations.ts) — touches, mmap, munmap, mprotect, brk, fork, exit, faults that
// must kill — on 2-level tables, with Kernel32.checkInvariants() (kernel PDEs identical in every
// directory, no leaked table, one owner per frame, one kernel stack per live process) after each
// batch. Fetches follow 32-bit paging's rule (no XD bit: whatever may be read may run), and the
// addresses that must kill include the kernel image, the recursive page-table window and the
// kernel stacks. At the end every process exits and the free frame count is back to the boot's.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PROT } from '../src/index';
import { bootKernel32, grubHandOver } from './kernel32-helpers';
import { runSoak } from './soak/random-operations';

const PAGE = 4096;

describe('soak on higher-half-3g (Kernel32)', () => {
  it('survives 20,000 random operations over 30 processes with no invariant broken and no frame leaked', () => {
    const k = bootKernel32(grubHandOver('seabios-grub-128m'));
    const freeAfterBoot = k.pmm.freeFrames;
    const seed = fc.sample(fc.integer(), 1)[0]!;
    const { counts, live } = runSoak(
      {
        createProcess: (name) => k.processes.create({ name }),
        fork: (pid) => k.processes.fork(pid),
        checkInvariants: () => k.checkInvariants(),
        canExecute: (prot) => prot !== PROT.None,
        badAddress: (page, coin) =>
          coin < 0.4
            ? 0x2000_0000 + page * PAGE // user space, no region
            : coin < 0.6
              ? 0xc010_0000 + page * PAGE // the kernel image (present, supervisor)
              : coin < 0.8
                ? 0xffc0_0000 + page * PAGE // the page tables through the recursive PDE 1023
                : 0xffc0_0000 - (page + 1) * PAGE, // the kernel stacks (live ones and their guards)
      },
      { processes: 30, operations: 20_000, batch: 1_000, seed, windowBase: 0x1000_0000, windowPages: 128 },
    );
    expect(k.machine.cpu.tlb!.staleUseCount).toBe(0);
    console.log(`kernel32 soak (seed ${seed}):`, JSON.stringify(counts));
    for (const p of live) p.exit(0);
    k.checkInvariants();
    expect(k.processes.count).toBe(0);
    expect(k.processKernelStacks).toHaveLength(0);
    expect(k.pmm.freeFrames).toBe(freeAfterBoot);
    expect(k.frames.usageByOwner().user).toBe(0);
    for (const kind of ['touch-write', 'touch-read', 'touch-execute', 'segv', 'segv-forced', 'mmap', 'munmap', 'mprotect', 'brk', 'fork', 'exit']) {
      expect(counts[kind] ?? 0, `${kind} in ${JSON.stringify(counts)}`).toBeGreaterThan(100);
    }
  }, 180_000);
});
