// Can user space map the page just below the canonical hole, 0x0000_7fff_ffff_f000? Linux never
// maps it (TASK_SIZE_MAX = 2^47 - 4096): a SYSRET to the non-canonical RIP that follows code
// executed there is a known privilege-escalation hazard on Intel CPUs (SDM vol. 2B, SYSRET: #GP
// in ring 0 when RCX is not canonical; vol. 3A 3.3.7.1: canonical addressing). The Linux-like layouts keep
// that rule; identity-low keeps seed 000's choice of a user range up to 2^47 on purpose, so there
// the page may be mapped (issue 14, defect 6).
import { describe, expect, it } from 'vitest';
import { HIGHER_HALF, LIMINE_HIGHER_HALF, PROT, UserMemoryArgumentError, type LayoutName } from '../src/index';
import { bootProcessKernel } from './process-helpers';

const LAST_PAGE = 0x7fff_ffff_f000;

describe('the last user page below the canonical hole', () => {
  for (const layout of ['higher-half', 'limine-higher-half'] as const satisfies readonly LayoutName[]) {
    it(`${layout}: is outside the user range: MAP_FIXED refused, hints placed elsewhere, brk refused, touches SIGSEGV`, () => {
      const kernel = bootProcessKernel({ layout, ramMiB: 64 });
      const p = kernel.createProcess()!;
      expect(p.userEnd).toBe(LAST_PAGE);
      expect(p.stackTop).toBe(LAST_PAGE);
      expect(() => p.mmap({ fixed: true, va: LAST_PAGE, lengthBytes: 4096, prot: PROT.Read | PROT.Write | PROT.Exec })).toThrow(UserMemoryArgumentError);
      expect(() => p.mmap({ fixed: true, va: LAST_PAGE - 4096, lengthBytes: 8192 })).toThrow(UserMemoryArgumentError);
      const hinted = p.mmap({ va: LAST_PAGE, lengthBytes: 4096 })!;
      expect(hinted + 4096).toBeLessThanOrEqual(LAST_PAGE);
      expect(p.brk(2 ** 47)).toBe(p.brkEnd);
      for (const access of ['read', 'write', 'execute'] as const) {
        const q = kernel.createProcess()!;
        expect(q.touch(LAST_PAGE, access, 1)).toBe('segv');
        expect(q.killed?.reason).toBe('outside-user-range');
      }
      expect(p.regions().every((r) => r.end <= LAST_PAGE)).toBe(true);
      kernel.checkInvariants();
    });
  }

  it('the Linux-like layouts say so in their data', () => {
    for (const l of [HIGHER_HALF, LIMINE_HIGHER_HALF]) expect([l.userRange.end, l.userStackTop]).toEqual([LAST_PAGE, LAST_PAGE]);
  });

  it('identity-low: seed 000 runs user space and the stack to 2^47, so the last page holds the stack top (explicit choice)', () => {
    const kernel = bootProcessKernel({ layout: 'identity-low', ramMiB: 64 });
    const p = kernel.createProcess()!;
    expect([p.userEnd, p.stackTop]).toEqual([2 ** 47, 2 ** 47]);
    // The highest stack byte is 0x7fff_ffff_ffff: a push at the top lands in the last page.
    expect(p.touch(LAST_PAGE + 4095, 'write', 7)).toBe('ok');
    // The stack is never executable (NX): the SYSRET hazard needs code there, which only an
    // executable mmap of the page could bring (see the README, Layouts).
    expect(p.touch(LAST_PAGE, 'execute', 1)).toBe('segv');
    const q = kernel.createProcess()!;
    expect(q.munmap(LAST_PAGE, 4096)).toBeGreaterThanOrEqual(0);
    expect(q.mmap({ fixed: true, va: LAST_PAGE, lengthBytes: 4096, prot: PROT.Read | PROT.Exec })).toBe(LAST_PAGE);
    kernel.checkInvariants();
  });
});
