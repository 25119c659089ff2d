// decideFault: the default page-fault policy as a pure function of (region, error code, access, mode, PTE).
// Error-code bits per Intel SDM vol. 3A 4.7 (Figure 4-12): P bit 0, W/R bit 1, U/S bit 2, RSVD bit 3, I/D bit 4, PK bit 5.
import { describe, expect, it } from 'vitest';
import { Access, Mode, PTE, PageFaultErrorCode as EC } from '@kmem/x86-paging';
import { PROT, PTE_COW, PTE_PROT_NONE, decideFault, emptyFaultDecision, emptyFaultQuery, type FaultQuery, type Region } from '../src/index';

const PAGE = 4096;
const MiB = 1024 * 1024;
const region = (start: number, end: number, prot: number, extra: Partial<Region> = {}): Region => ({ start, end, prot, kind: 'mmap', backing: null, growsDown: false, name: '', ...extra });
const stack = region(0x7fff_0000_0000, 0x7fff_0010_0000, PROT.Read | PROT.Write, { kind: 'stack', growsDown: true });

function query(over: Partial<FaultQuery>): FaultQuery {
  return Object.assign(emptyFaultQuery(), { hasProcess: true, userStart: 0x40_0000, userEnd: 2 ** 47, stackLimitBytes: 8 * MiB, guardGapBytes: MiB, mode: Mode.User }, over);
}
const decide = (over: Partial<FaultQuery>): [string, string] => {
  const d = decideFault(query(over), emptyFaultDecision());
  return [d.action, d.reason];
};
const rw = region(0x1000_0000, 0x1001_0000, PROT.Read | PROT.Write);
const ro = region(0x1000_0000, 0x1001_0000, PROT.Read);
const rx = region(0x1000_0000, 0x1001_0000, PROT.Read | PROT.Exec);
const presentUser = PTE.Present | PTE.User;

describe('decideFault', () => {
  it('maps a zeroed page on a not-present fault inside an anonymous region (lazy allocation)', () => {
    expect(decide({ va: 0x1000_0123, errorCode: EC.User, access: Access.Read, region: rw })).toEqual(['map-zero', '']);
    expect(decide({ va: 0x1000_0123, errorCode: EC.User | EC.Write, access: Access.Write, region: rw })).toEqual(['map-zero', '']);
  });

  it('kills on a write to a read-only region, a fetch from a non-executable one, any access to PROT_NONE', () => {
    expect(decide({ va: 0x1000_0000, errorCode: EC.User | EC.Write, access: Access.Write, region: ro })).toEqual(['segv', 'write-to-read-only']);
    expect(decide({ va: 0x1000_0000, errorCode: EC.User | EC.InstructionFetch, access: Access.Execute, region: rw })).toEqual(['segv', 'execute-non-executable']);
    expect(decide({ va: 0x1000_0000, errorCode: EC.User, access: Access.Read, region: region(0x1000_0000, 0x1001_0000, PROT.None) })).toEqual(['segv', 'no-access']);
    expect(decide({ va: 0x1000_0000, errorCode: EC.User | EC.InstructionFetch, access: Access.Execute, region: rx })).toEqual(['map-zero', '']);
  });

  it('kills outside every region, and calls a present supervisor page or the kernel half by name', () => {
    expect(decide({ va: 0x2000_0000, errorCode: EC.User, access: Access.Read })).toEqual(['segv', 'not-mapped']);
    // SDM 4.6.1: a user access to a page with U/S = 0 is a protection fault (P = 1).
    expect(decide({ va: 0x8000_0000_0000, errorCode: EC.User | EC.Present, access: Access.Read })).toEqual(['segv', 'supervisor-page']);
    expect(decide({ va: 0x8000_0000_0000, errorCode: EC.User, access: Access.Read })).toEqual(['segv', 'outside-user-range']);
    expect(decide({ va: 0x1000, errorCode: EC.User | EC.Present, access: Access.Read })).toEqual(['segv', 'supervisor-page']);
  });

  it('grows the stack down to a fault below it within the limit, leaving the guard gap', () => {
    const below = stack.start - 5 * PAGE + 12;
    const d = decideFault(query({ va: below, errorCode: EC.User | EC.Write, access: Access.Write, regionAbove: stack, belowEnd: 0x40_0000 }), emptyFaultDecision());
    expect([d.action, d.newStackStart]).toEqual(['grow-stack', stack.start - 5 * PAGE]);
    expect(decide({ va: stack.end - 8 * MiB - PAGE, errorCode: EC.User, access: Access.Read, regionAbove: stack, belowEnd: 0x40_0000 })).toEqual(['segv', 'stack-limit']);
    // Far below the stack's reach: an ordinary unmapped address.
    expect(decide({ va: stack.end - 8 * MiB - 2 * MiB, errorCode: EC.User, access: Access.Read, regionAbove: stack, belowEnd: 0x40_0000 })).toEqual(['segv', 'not-mapped']);
    expect(decide({ va: stack.start - PAGE, errorCode: EC.User, access: Access.Read, regionAbove: stack, belowEnd: stack.start - PAGE - MiB + PAGE })).toEqual(['segv', 'stack-guard-gap']);
    expect(decide({ va: stack.start - PAGE, errorCode: EC.User, access: Access.Read, regionAbove: stack, belowEnd: stack.start - PAGE - MiB })).toEqual(['grow-stack', '']);
    expect(decide({ va: stack.start - PAGE, errorCode: EC.User | EC.InstructionFetch, access: Access.Execute, regionAbove: stack, belowEnd: 0x40_0000 })).toEqual(['segv', 'execute-non-executable']);
    // A region above that is not a stack does not grow.
    expect(decide({ va: rw.start - PAGE, errorCode: EC.User, access: Access.Read, regionAbove: rw, belowEnd: 0x40_0000 })).toEqual(['segv', 'not-mapped']);
  });

  it('copies a shared copy-on-write page on write and reuses it when no one else holds the frame', () => {
    const cow = { va: 0x1000_0000, errorCode: EC.User | EC.Write | EC.Present, access: Access.Write, region: rw, ptePresent: true, pteFlags: presentUser | PTE_COW, pteUserPath: true };
    expect(decide({ ...cow, frameRefCount: 2 })).toEqual(['cow-copy', '']);
    expect(decide({ ...cow, frameRefCount: 1 })).toEqual(['cow-reuse', '']);
    // COW-marked but the region is read-only: the write is still a SIGSEGV.
    expect(decide({ ...cow, region: ro, frameRefCount: 2 })).toEqual(['segv', 'write-to-read-only']);
  });

  it('retries a protection fault whose PTE already allows the access (stale TLB entry), panics on a PTE that contradicts its region', () => {
    const base = { va: 0x1000_0000, errorCode: EC.User | EC.Write | EC.Present, access: Access.Write, region: rw, ptePresent: true, pteUserPath: true };
    expect(decide({ ...base, pteFlags: presentUser | PTE.Writable })).toEqual(['spurious', '']);
    expect(decide({ ...base, pteFlags: presentUser })).toEqual(['panic', 'pte-mismatch']);
    expect(decide({ va: 0x1000_0000, errorCode: EC.User, access: Access.Read, region: rw, pteFlags: PTE_PROT_NONE })).toEqual(['panic', 'pte-mismatch']);
  });

  it('panics on a reserved-bit fault in any mode (a corrupted page table)', () => {
    expect(decide({ va: 0x1000_0000, errorCode: EC.User | EC.Present | EC.ReservedBit, access: Access.Read, region: rw })).toEqual(['panic', 'reserved-bit']);
    expect(decide({ va: 0x1000_0000, errorCode: EC.Present | EC.ReservedBit, access: Access.Read, mode: Mode.Supervisor, region: rw })).toEqual(['panic', 'reserved-bit']);
  });

  it('resolves supervisor faults in user regions like user ones (copy_to_user) and panics on anything else', () => {
    const sup = { mode: Mode.Supervisor };
    expect(decide({ ...sup, va: 0x1000_0000, errorCode: EC.Write, access: Access.Write, region: rw })).toEqual(['map-zero', '']);
    expect(decide({ ...sup, va: 0x1000_0000, errorCode: EC.Write | EC.Present, access: Access.Write, region: rw, ptePresent: true, pteFlags: presentUser | PTE_COW, pteUserPath: true, frameRefCount: 2 })).toEqual(['cow-copy', '']);
    expect(decide({ ...sup, va: 0x2000_0000, errorCode: 0, access: Access.Read })).toEqual(['panic', 'kernel-fault']);
    expect(decide({ ...sup, va: 0x1000_0000, errorCode: EC.Write, access: Access.Write, region: ro })).toEqual(['panic', 'kernel-fault']);
    expect(decide({ ...sup, va: 0x8000_0000_1000, errorCode: 0, access: Access.Read })).toEqual(['panic', 'kernel-fault']);
    expect(decide({ ...sup, hasProcess: false, va: 0x1000_0000, errorCode: EC.Write, access: Access.Write })).toEqual(['panic', 'kernel-fault']);
    // SMEP/SMAP: a present user page the supervisor may not use is not "spurious".
    expect(decide({ ...sup, va: 0x1000_0000, errorCode: EC.Present | EC.InstructionFetch, access: Access.Execute, region: rx, ptePresent: true, pteFlags: presentUser, pteUserPath: true })).toEqual(['panic', 'kernel-fault']);
  });

  it('reads file pages of an ELF-backed region and zero-fills past them', () => {
    const plan = { segments: [{ filePages: { start: 0x40_0000, end: 0x40_2000 } }] } as unknown as NonNullable<Region['backing']>['plan'];
    const text = region(0x40_0000, 0x40_4000, PROT.Read | PROT.Exec, { kind: 'text', backing: { plan, segmentIndex: 0 } });
    expect(decide({ va: 0x40_1fff, errorCode: EC.User | EC.InstructionFetch, access: Access.Execute, region: text })).toEqual(['map-file', '']);
    expect(decide({ va: 0x40_2000, errorCode: EC.User | EC.InstructionFetch, access: Access.Execute, region: text })).toEqual(['map-zero', '']);
  });

  it('kills on a protection-key violation (SEGV_PKUERR)', () => {
    expect(decide({ va: 0x1000_0000, errorCode: EC.User | EC.Present | EC.ProtectionKey, access: Access.Read, region: rw, ptePresent: true, pteFlags: presentUser, pteUserPath: true })).toEqual(['segv', 'protection-key']);
  });
});
