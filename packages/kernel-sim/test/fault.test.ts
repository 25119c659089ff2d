// The kernel's page-fault policy at work: fork with copy-on-write, stack growth and its guard
// gap, the OOM killer, supervisor faults that panic, and composers' own policies.
import { describe, expect, it } from 'vitest';
import { Mode, PageFaultErrorCode as EC, PTE } from '@kmem/x86-paging';
import { KernelPanic, KernelStateError, PROT, PTE_COW, type FaultContext } from '../src/index';
import { MiB, PAGE, bootProcessKernel, drainFrames, elfFixture } from './process-helpers';

describe('fork (copy-on-write)', () => {
  it('shares every page read-only with a raised reference count, then copies on the first write', () => {
    const kernel = bootProcessKernel();
    const parent = kernel.createProcess({ name: 'parent' })!;
    const a = parent.mmap({ lengthBytes: 4 * PAGE })!;
    expect(parent.touchRange(a, 4 * PAGE, 'write', 0x11)).toBe('ok');
    const frame = parent.translate(a);
    const free = kernel.pmm.freeFrames;
    const child = kernel.fork(parent.pid)!;
    expect(child.parentPid).toBe(parent.pid);
    expect(child.stats.rssPages).toBe(4);
    expect(child.translate(a)).toBe(frame);
    expect(kernel.frames.refCount(frame)).toBe(2);
    // Only page tables were allocated for the child, no data frames.
    expect(free - kernel.pmm.freeFrames).toBe(1 + child.pageTableCount);
    kernel.checkInvariants();
    // Both PTEs lost R/W and carry the COW bit (bit 9, OS-available per SDM 4.5).
    child.pages_.lookup(a);
    expect(child.pages_.lo & (PTE.Writable | PTE_COW)).toBe(PTE_COW);
    parent.pages_.lookup(a);
    expect(parent.pages_.lo & (PTE.Writable | PTE_COW)).toBe(PTE_COW);

    expect(child.pageInfo(a + 5)).toMatchObject({ va: a, frame, present: true, writable: false, user: true, noExecute: true, copyOnWrite: true, refCount: 2 });
    expect(child.touch(a, 'write', 0x22)).toBe('ok');
    expect(child.stats.cowCopies).toBe(1);
    expect(child.pageInfo(a)).toMatchObject({ writable: true, copyOnWrite: false, refCount: 1, dirty: true });
    expect(child.pageInfo(a + 64 * PAGE)).toBeNull();
    expect(child.translate(a)).not.toBe(frame);
    kernel.switchTo(child.pid);
    expect(kernel.user.read8(a)).toBe(0x22);
    expect(kernel.user.read8(a + 1)).toBe(0x00); // the rest of the page was copied
    kernel.switchTo(parent.pid);
    expect(kernel.user.read8(a)).toBe(0x11);
    expect(kernel.frames.refCount(frame)).toBe(1);
    // The parent is now alone on its frame: its write just flips R/W back (no copy).
    expect(parent.touch(a, 'write', 0x33)).toBe('ok');
    expect(parent.stats).toMatchObject({ cowReuses: 1, cowCopies: 0 });
    expect(parent.translate(a)).toBe(frame);
    const resolutions = kernel.events.ofKind('page-fault').slice(-2).map((e) => e.resolution);
    expect(resolutions).toEqual(['cow-copy', 'cow-reuse']);
    kernel.checkInvariants();
  });

  it('invalidates the parent\'s cached writable translations at fork (a write right after fork still copies)', () => {
    const kernel = bootProcessKernel();
    kernel.cpu.tlb!.detectStaleUses = true;
    const parent = kernel.createProcess()!;
    const a = parent.mmap({ lengthBytes: PAGE })!;
    expect(parent.touch(a, 'write', 1)).toBe('ok');
    expect(parent.touch(a, 'write', 2)).toBe('ok'); // the writable translation is in the TLB now
    const child = kernel.fork(parent.pid)!;
    expect(kernel.processes.current).toBe(parent); // no context switch happened
    expect(parent.touch(a, 'write', 3)).toBe('ok');
    expect(parent.stats.cowCopies).toBe(1);
    kernel.switchTo(child.pid);
    expect(kernel.user.read8(a)).toBe(2);
    expect(kernel.cpu.tlb!.staleUseCount).toBe(0);
    kernel.checkInvariants();
  });

  it('keeps a read-only region read-only after fork (COW never grants a write the region forbids)', () => {
    const kernel = bootProcessKernel();
    const parent = kernel.createProcess()!;
    const a = parent.mmap({ lengthBytes: PAGE })!;
    parent.touch(a, 'write', 1);
    parent.mprotect(a, PAGE, PROT.Read);
    const child = parent.fork()!;
    expect(child.touch(a, 'write', 2)).toBe('segv');
    expect(child.killed).toMatchObject({ reason: 'write-to-read-only', errorCode: EC.Present | EC.Write | EC.User });
    // mprotect(RW) in the parent keeps the shared page write-protected until a write copies... or reuses.
    parent.mprotect(a, PAGE, PROT.Read | PROT.Write);
    expect(parent.touch(a, 'write', 3)).toBe('ok');
    expect(parent.stats.cowReuses).toBe(1);
    kernel.checkInvariants();
  });

  it('gives an exiting parent\'s shared frames to no pid, so nothing of the parent remains', () => {
    const kernel = bootProcessKernel();
    const parent = kernel.createProcess()!;
    const a = parent.mmap({ lengthBytes: 2 * PAGE })!;
    parent.touchRange(a, 2 * PAGE, 'write', 9);
    const child = parent.fork()!;
    const frame = child.translate(a);
    parent.exit(0);
    expect(kernel.frames.framesOfPid(parent.pid)).toBe(0);
    expect(kernel.frames.ownerOf(frame)).toEqual({ kind: 'user' });
    kernel.switchTo(child.pid);
    expect(kernel.user.read8(a)).toBe(9);
    expect(child.touch(a, 'write', 1)).toBe('ok');
    expect(child.stats.cowReuses).toBe(1);
    expect(kernel.frames.ownerOf(frame)).toEqual({ kind: 'user', pid: child.pid });
    kernel.checkInvariants();
  });

  it('forks a running ELF program and both keep running from the same text frames', () => {
    const kernel = bootProcessKernel();
    const p = kernel.exec(undefined, elfFixture('busybox-static'), ['busybox'])!;
    expect(p.touch(p.image!.entry, 'execute')).toBe('ok');
    const c = kernel.fork(p.pid)!;
    expect(c.touch(c.image!.entry, 'execute')).toBe('ok');
    expect(c.translate(c.image!.entry)).toBe(p.translate(p.image!.entry));
    const data = p.regions().find((r) => r.kind === 'data')!;
    expect(c.touch(data.start, 'write', 1)).toBe('ok');
    kernel.checkInvariants();
    c.exit(0);
    p.exit(0);
    kernel.checkInvariants();
  });

  it('returns null and leaves nothing behind when fork runs out of memory for page tables', () => {
    const kernel = bootProcessKernel({ ramMiB: 64 });
    const parent = kernel.createProcess()!;
    // Pages 1 GiB apart need a page table each in the child.
    for (let i = 0; i < 8; i++) parent.mmap({ lengthBytes: PAGE, fixed: true, va: 0x1000_0000 + i * 1024 * MiB });
    for (let i = 0; i < 8; i++) parent.touch(0x1000_0000 + i * 1024 * MiB, 'write', i);
    const refill = drainFrames(kernel, 5);
    const free = kernel.pmm.freeFrames;
    const pids = kernel.processes.count;
    expect(kernel.fork(parent.pid)).toBeNull();
    expect(kernel.pmm.freeFrames).toBe(free);
    expect(kernel.processes.count).toBe(pids);
    for (let i = 0; i < 8; i++) expect(kernel.frames.refCount(parent.translate(0x1000_0000 + i * 1024 * MiB))).toBe(1);
    refill();
    kernel.checkInvariants();
  });
});

describe('stack growth', () => {
  it('grows the stack down to a touched page within RLIMIT_STACK and maps only that page', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    const stack = p.regions().find((r) => r.kind === 'stack')!;
    const deep = stack.start - 100 * PAGE + 24;
    expect(p.touch(deep, 'write', 1)).toBe('ok');
    const grown = p.regions().find((r) => r.kind === 'stack')!;
    expect(grown.start).toBe(stack.start - 100 * PAGE);
    expect(p.stats).toMatchObject({ stackGrowth: 100, rssPages: 1 });
    expect(kernel.events.ofKind('page-fault').at(-1)?.resolution).toBe('stack-growth');
    kernel.checkInvariants();
  });

  it('kills a stack overflow past RLIMIT_STACK', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess({ stackLimitBytes: MiB })!;
    expect(p.touch(p.stackTop - MiB, 'write', 1)).toBe('ok');
    expect(p.touch(p.stackTop - MiB - 8, 'write', 1)).toBe('segv');
    expect(p.killed).toMatchObject({ reason: 'stack-limit', region: null });
  });

  it('refuses to grow within the guard gap of the mapping below', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess({ guardGapBytes: 16 * PAGE })!;
    const stack = p.regions().find((r) => r.kind === 'stack')!;
    // A fixed mapping ending 20 pages below the stack: growing 5 pages leaves a 15-page gap (< 16).
    p.mmap({ lengthBytes: PAGE, fixed: true, va: stack.start - 21 * PAGE });
    expect(p.touch(stack.start - 4 * PAGE, 'read')).toBe('ok');
    expect(p.touch(stack.start - 5 * PAGE, 'read')).toBe('segv');
    expect(p.killed).toMatchObject({ reason: 'stack-guard-gap' });
  });
});

describe('OOM', () => {
  it('kills the faulting process when no frame is left, and the kernel and other processes carry on', () => {
    const kernel = bootProcessKernel({ ramMiB: 64 });
    const other = kernel.createProcess({ name: 'other' })!;
    other.touch(other.stackTop - 1, 'write', 7);
    const hog = kernel.createProcess({ name: 'hog' })!;
    const a = hog.mmap({ lengthBytes: 256 * MiB })!;
    const free0 = kernel.pmm.freeFrames;
    const refill = drainFrames(kernel, 64);
    expect(hog.touchRange(a, 256 * MiB, 'write', 1)).toBe('oom-kill');
    expect(hog.state).toBe('killed');
    expect(hog.killed).toMatchObject({ signal: 'SIGKILL', reason: 'out-of-memory' });
    expect(kernel.events.ofKind('oom-kill').at(-1)).toMatchObject({ pid: hog.pid });
    expect(kernel.state).toBe('running');
    refill();
    // Every frame the hog touched went back, and its PML4 (allocated before free0 was read).
    expect(kernel.pmm.freeFrames).toBe(free0 + 1);
    kernel.switchTo(other.pid);
    expect(kernel.user.read8(other.stackTop - 1)).toBe(7);
    kernel.checkInvariants();
  });
});

describe('supervisor faults', () => {
  it('panics with CR2, the decoded error code, the page walk and the current process, without killing the host', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    kernel.switchTo(p.pid);
    const unmappedKernelVa = kernel.kernelSpaceBounds.end - 64 * PAGE;
    let panic: KernelPanic | null = null;
    try {
      kernel.machine.cpu.read8(unmappedKernelVa, Mode.Supervisor);
    } catch (e) {
      panic = e as KernelPanic;
    }
    expect(panic).toBeInstanceOf(KernelPanic);
    const report = panic!.report;
    expect(report.cr2).toBe(unmappedKernelVa);
    expect(report.errorCode).toBe(0);
    expect(report.errorCodeText).toMatch(/supervisor-mode read from a non-present page/);
    expect(report.walk).toMatch(/PML4\[/);
    expect(report.pid).toBe(p.pid);
    expect(report.reason).toMatch(/kernel-fault/);
    expect(kernel.state).toBe('panicked');
    expect(kernel.events.ofKind('panic')).toHaveLength(1);
    expect(kernel.events.ofKind('page-fault').at(-1)?.resolution).toBe('panic');
    // The simulated kernel is stopped; the host is not.
    expect(() => kernel.createProcess()).toThrow(KernelStateError);
    expect(() => kernel.user.read8(p.stackTop - 8)).toThrow(KernelStateError);
    expect(kernel.events.ofKind('panic')).toHaveLength(1);
  });

  it('panics on a supervisor write to a read-only user page (CR0.WP = 1, SDM 4.6.1)', () => {
    const kernel = bootProcessKernel();
    const p = kernel.exec(undefined, elfFixture('hello-static'), ['hello'])!;
    p.touch(p.image!.entry, 'execute');
    kernel.switchTo(p.pid);
    expect(() => kernel.machine.cpu.write8(p.image!.entry, 0xcc, Mode.Supervisor)).toThrow(KernelPanic);
    expect(kernel.events.ofKind('panic')[0]!.report.errorCode).toBe(EC.Present | EC.Write);
  });
});

describe('setFaultPolicy', () => {
  it('lets a composer replace the policy (here: no stack growth, and a log of every decision)', () => {
    const kernel = bootProcessKernel();
    const log: string[] = [];
    kernel.setFaultPolicy((ctx: FaultContext) => {
      const d = ctx.decide();
      log.push(`${d.action}@${ctx.fault.cr2.toString(16)}`);
      if (d.action === 'grow-stack') {
        d.action = 'segv';
        d.reason = 'stack-limit';
      }
      return ctx.apply(d);
    });
    const p = kernel.createProcess()!;
    const stack = p.regions().find((r) => r.kind === 'stack')!;
    expect(p.touch(stack.start, 'write', 1)).toBe('ok');
    expect(p.touch(stack.start - 8, 'write', 1)).toBe('segv');
    expect(log).toEqual([`map-zero@${stack.start.toString(16)}`, `grow-stack@${(stack.start - 8).toString(16)}`]);
    kernel.setFaultPolicy(null);
    const q = kernel.createProcess()!;
    expect(q.touch(stack.start - 8, 'write', 1)).toBe('ok');
    kernel.checkInvariants();
  });

  it('lets a policy map eagerly on its own terms and answer retry', () => {
    const kernel = bootProcessKernel();
    let calls = 0;
    kernel.setFaultPolicy((ctx) => {
      calls++;
      return ctx.apply(ctx.decide());
    });
    const p = kernel.createProcess()!;
    p.touch(p.stackTop - 1, 'read');
    expect(calls).toBe(1);
    expect(kernel.processes.faultPolicy).not.toBeNull();
  });
});
