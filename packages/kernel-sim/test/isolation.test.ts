// Isolation is a security property: these scenarios try to break it and check the exact page-fault
// error codes the CPU reports (Intel SDM vol. 3A 4.6 "Access Rights", 4.7 "Page-Fault
// Exceptions", Figure 4-12: P bit 0, W/R bit 1, U/S bit 2, RSVD bit 3, I/D bit 4).
import { describe, expect, it } from 'vitest';
import { PageFaultErrorCode as EC } from '@kmem/x86-paging';
import { PROT, type LayoutName } from '../src/index';
import { MiB, PAGE, bootProcessKernel } from './process-helpers';

describe('isolation: access rights (SDM 4.6)', () => {
  for (const layout of ['higher-half', 'limine-higher-half'] as LayoutName[]) {
    it(`a user read of a present supervisor page faults with P | U/S = 0x5 (${layout}: the kernel image)`, () => {
      const kernel = bootProcessKernel({ layout });
      const p = kernel.createProcess()!;
      // The kernel's text is mapped (present) in every address space, U/S = 0 (SDM 4.6.1: user-mode
      // data accesses need U/S = 1 at every level).
      expect(kernel.machine.cpu.translate(kernel.image.va, 0, 0).fault).toBe(false);
      expect(p.touch(kernel.image.va, 'read')).toBe('segv');
      expect(p.killed).toMatchObject({ va: kernel.image.va, errorCode: EC.Present | EC.User, reason: 'supervisor-page', region: null });
      expect(p.killed!.decoded).toMatchObject({ present: true, user: true, write: false, instructionFetch: false });
    });
  }

  it('a user read of the identity-mapped kernel below the user range faults with P | U/S (identity-low)', () => {
    const kernel = bootProcessKernel({ layout: 'identity-low' });
    const p = kernel.createProcess()!;
    expect(p.touch(kernel.image.va + 0x100, 'read')).toBe('segv');
    expect(p.killed).toMatchObject({ errorCode: EC.Present | EC.User, reason: 'supervisor-page' });
  });

  it('a user write to a present read-only page faults with P | W/R | U/S = 0x7', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    const a = p.mmap({ lengthBytes: PAGE, prot: PROT.Read })!;
    expect(p.touch(a, 'read')).toBe('ok'); // now present, read-only
    expect(p.touch(a, 'write', 1)).toBe('segv');
    expect(p.killed).toMatchObject({ errorCode: EC.Present | EC.Write | EC.User, reason: 'write-to-read-only' });
    expect(p.killed!.region).toMatchObject({ start: a, prot: PROT.Read });
  });

  it('an instruction fetch from a present NX page faults with P | U/S | I/D = 0x15 (SDM 4.6.2, EFER.NXE = 1)', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    const a = p.mmap({ lengthBytes: PAGE })!;
    expect(p.touch(a, 'write', 0xc3)).toBe('ok'); // present, RW, NX
    expect(p.touch(a, 'execute')).toBe('segv');
    expect(p.killed).toMatchObject({ errorCode: EC.Present | EC.User | EC.InstructionFetch, reason: 'execute-non-executable' });
  });

  it('a fetch from an executable page succeeds and the same page\'s write faults', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    const a = p.mmap({ lengthBytes: PAGE, prot: PROT.Read | PROT.Exec })!;
    expect(p.touch(a, 'execute')).toBe('ok');
    expect(p.touch(a, 'write', 0x90)).toBe('segv');
    expect(p.killed?.errorCode).toBe(EC.Present | EC.Write | EC.User);
  });
});

describe('isolation: fresh frames are zeroed', () => {
  it('a process never reads bytes another process wrote, although it gets the same frames', () => {
    const kernel = bootProcessKernel();
    const pages = 256;
    const writer = kernel.createProcess({ name: 'writer' })!;
    const a = writer.mmap({ lengthBytes: pages * PAGE })!;
    kernel.switchTo(writer.pid);
    const secret = new Uint8Array(PAGE).fill(0xa5);
    for (let i = 0; i < pages; i++) kernel.user.writeBytes(a + i * PAGE, secret);
    const frames = new Set<number>();
    for (let i = 0; i < pages; i++) frames.add(writer.translate(a + i * PAGE));
    writer.exit(0);
    // The frames still hold the secret (free does not clear: the next owner gets them zeroed).
    const stale = [...frames].filter((f) => kernel.memory.read8(f) === 0xa5).length;
    expect(stale).toBe(pages);

    const reader = kernel.createProcess({ name: 'reader' })!;
    const b = reader.mmap({ lengthBytes: pages * PAGE })!;
    kernel.switchTo(reader.pid);
    let reused = 0;
    for (let i = 0; i < pages; i++) {
      const bytes = kernel.user.readBytes(b + i * PAGE, PAGE);
      expect(bytes.every((x) => x === 0)).toBe(true);
      if (frames.has(reader.translate(b + i * PAGE))) reused++;
    }
    // The allocator handed the writer's frames out again: the zeroing is what protected them.
    expect(reused).toBeGreaterThan(pages / 2);
  });

  it('a page table frame reused as a user page reads as zero, and vice versa', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    // Touch pages 1 GiB apart: each needs a fresh PDPT entry, PD and PT.
    for (let i = 0; i < 4; i++) p.mmap({ lengthBytes: PAGE, fixed: true, va: 0x4000_0000 * (i + 1) });
    for (let i = 0; i < 4; i++) p.touch(0x4000_0000 * (i + 1), 'write', 0xff);
    p.exit(0);
    const q = kernel.createProcess()!;
    const a = q.mmap({ lengthBytes: 16 * PAGE })!;
    kernel.switchTo(q.pid);
    for (let i = 0; i < 16; i++) expect(kernel.user.readBytes(a + i * PAGE, PAGE).every((x) => x === 0)).toBe(true);
  });
});

describe('isolation: address spaces', () => {
  it('processes cannot reach each other\'s pages: the same address maps different frames or nothing', () => {
    const kernel = bootProcessKernel();
    const a = kernel.createProcess({ name: 'a' })!;
    const b = kernel.createProcess({ name: 'b' })!;
    const va = a.mmap({ lengthBytes: PAGE, va: 0x5000_0000 })!;
    a.touch(va, 'write', 0x42);
    // b has nothing there: the access faults (P = 0) and kills b.
    expect(b.touch(va, 'read')).toBe('segv');
    expect(b.killed).toMatchObject({ errorCode: EC.User, reason: 'not-mapped' });
    const c = kernel.createProcess({ name: 'c' })!;
    expect(c.mmap({ lengthBytes: PAGE, va })).toBe(va);
    kernel.switchTo(c.pid);
    expect(kernel.user.read8(va)).toBe(0);
    expect(c.translate(va)).not.toBe(a.translate(va));
    // Nothing of a's address space appears in c's tables.
    const aFrames = new Set<number>();
    a.pages_.forEachLeaf(a.userStart, a.userEnd, (_v, f) => aFrames.add(f));
    c.pages_.forEachLeaf(c.userStart, c.userEnd, (_v, f) => expect(aFrames.has(f)).toBe(false));
    expect(new Set(a.pages_.tables).size + new Set(c.pages_.tables).size).toBe(new Set([...a.pages_.tables, ...c.pages_.tables]).size);
  });

  it('after exit nothing of the process stays mapped: no user entry in its old root, no frame with its pid, no TLB entry', () => {
    const kernel = bootProcessKernel({ kernel: { pcid: true } });
    const tlb = kernel.machine.cpu.tlb!;
    const p = kernel.createProcess()!;
    const a = p.mmap({ lengthBytes: 2 * MiB })!;
    p.touchRange(a, 2 * MiB, 'write', 1);
    const frames: number[] = [];
    p.pages_.forEachLeaf(p.userStart, p.userEnd, (_v, f) => frames.push(f));
    const tables = [...p.pages_.tables];
    const root = p.root;
    p.exit(0);
    expect(kernel.frames.framesOfPid(p.pid)).toBe(0);
    for (const f of [...frames, ...tables, root]) expect(kernel.frames.ownerOf(f)).toBeNull();
    // Global entries (the kernel half, G = 1) are shared by every PCID; none of the process's own survive.
    let kernelGlobals = 0;
    for (const entry of tlb.entries()) {
      if (entry.global) kernelGlobals++;
      else expect(entry.pcid).not.toBe(p.pcid);
    }
    expect(kernelGlobals).toBeGreaterThan(0);
    expect(kernel.addressSpaceRoots()).toHaveLength(0);
    // Every user-half entry of the freed PML4 was cleared before it was freed.
    const words = kernel.memory.frameWords(root);
    for (let i = 0; i < 256; i++) expect(words[i * 2]! & 1).toBe(0);
    kernel.checkInvariants();
  });

  it('a process cannot touch another\'s page tables or frames through the kernel half', () => {
    const kernel = bootProcessKernel();
    const a = kernel.createProcess()!;
    a.touch(a.stackTop - 1, 'write', 1);
    const b = kernel.createProcess()!;
    // The direct map shows all RAM, a's frames included, but only to the supervisor.
    const directMapVa = kernel.directMapOffset + a.translate(a.stackTop - 1);
    expect(b.touch(directMapVa, 'read')).toBe('segv');
    expect(b.killed).toMatchObject({ errorCode: EC.Present | EC.User, reason: 'supervisor-page' });
  });
});
