// What does PROT_EXEC mean on seed 002's 32-bit kernel? 32-bit paging has no XD bit, and its
// page-fault error code never says a fault was an instruction fetch (SDM vol. 3A 4.7: I/D is
// reported only with CR4.SMEP = 1, or with PAE/4-level paging and EFER.NXE = 1). So the kernel
// cannot tell a fetch from a read: any page a process may read it may execute, present or not,
// as on Linux i386 without NX. Only PROT_NONE and unmapped addresses stop a fetch.
import { describe, expect, it } from 'vitest';
import { PageFaultErrorCode as EC, PTE } from '@kmem/x86-paging';
import { EventLog, PROT } from '../src/index';
import { bootKernel32, grubHandOver } from './kernel32-helpers';
import { bootProcessKernel } from './process-helpers';

const PAGE = 4096;

describe('PROT_EXEC on 32-bit paging (no XD)', () => {
  it('executes from a read/write mapping, whether its page is present yet or not; the fault reads as a read (I/D = 0)', () => {
    const events = new EventLog();
    const k = bootKernel32(grubHandOver('seabios-grub-128m'), { events });
    const p = k.processes.create()!;
    k.processes.switchTo(p.pid);
    const a = p.mmap({ lengthBytes: 2 * PAGE, prot: PROT.Read | PROT.Write })!;
    expect(p.touch(a, 'execute')).toBe('ok');
    const fault = events.ofKind('page-fault').at(-1)!;
    expect(fault.va).toBe(a);
    expect(fault.errorCode & EC.InstructionFetch).toBe(0);
    expect(fault.resolution).toBe('lazy-zero');
    expect(p.touch(a + PAGE, 'write', 1)).toBe('ok');
    expect(p.touch(a + PAGE, 'execute')).toBe('ok');
    // A 4-byte PTE has no bit 63: nothing in the entry could forbid the fetch.
    expect(p.pageInfo(a + PAGE)!.noExecute).toBe(false);
    k.checkInvariants();
  });

  it('still stops a fetch from PROT_NONE, and the 64-bit kernel (NXE on, I/D reported) refuses the same fetch', () => {
    const k = bootKernel32(grubHandOver('seabios-grub-128m'));
    const p = k.processes.create()!;
    k.processes.switchTo(p.pid);
    const none = p.mmap({ lengthBytes: PAGE, prot: PROT.None })!;
    expect(p.touch(none, 'execute')).toBe('segv');
    const k64 = bootProcessKernel();
    const q = k64.createProcess()!;
    k64.switchTo(q.pid);
    const b = q.mmap({ lengthBytes: PAGE, prot: PROT.Read | PROT.Write })!;
    expect(q.touch(b, 'write', 1)).toBe('ok');
    expect(q.pageInfo(b)!.flags & PTE.NoExecute).not.toBe(0);
    expect(q.touch(b, 'execute')).toBe('segv');
  });
});
