// Isolation on seed 002's 32-bit kernel (layout higher-half-3g), the scenarios of
// isolation.test.ts on 2-level tables: can a process read the kernel, the page tables the
// recursive PDE 1023 exposes, or another process's kernel stack; reach another process's pages;
// see bytes a gone process left behind? Each checks the exact page-fault error code (Intel SDM
// vol. 3A 4.6 "Access Rights", 4.7 "Page-Fault Exceptions": P bit 0, W/R bit 1, U/S bit 2; I/D is
// never reported in 32-bit paging).
import { describe, expect, it } from 'vitest';
import { PageFaultErrorCode as EC } from '@kmem/x86-paging';
import { PROT } from '../src/index';
import { bootKernel32, grubHandOver } from './kernel32-helpers';

const PAGE = 4096;
const boot = () => bootKernel32(grubHandOver('seabios-grub-128m'));

describe('isolation on higher-half-3g: access rights (SDM 4.6.1: user accesses need U/S = 1 in the PDE and the PTE)', () => {
  it('a user read of the kernel image (present, supervisor, Global) faults with P | U/S = 0x5', () => {
    const k = boot();
    const p = k.processes.create()!;
    expect(k.machine.cpu.translate(k.image.va, 0, 0).fault).toBe(false);
    expect(p.touch(k.image.va + 0x10, 'read')).toBe('segv');
    expect(p.killed).toMatchObject({ va: k.image.va + 0x10, errorCode: EC.Present | EC.User, reason: 'supervisor-page', region: null });
  });

  it('the recursive window shows the page directory and page tables to the kernel only: a process cannot read even its own tables', () => {
    const k = boot();
    const p = k.processes.create()!;
    const a = p.mmap({ lengthBytes: PAGE, prot: PROT.Read | PROT.Write })!;
    expect(p.touch(a, 'write', 1)).toBe('ok');
    // Its own page table of `a`, through PDE 1023: present to the kernel.
    const tableVa = 0xffc0_0000 + (a >>> 22) * PAGE;
    expect(k.machine.cpu.translate(tableVa, 0, 0).fault).toBe(false);
    expect(p.touch(tableVa, 'read')).toBe('segv');
    expect(p.killed).toMatchObject({ errorCode: EC.Present | EC.User, reason: 'supervisor-page' });
    const q = k.processes.create()!;
    expect(q.touch(0xffff_f000 + 768 * 4, 'write', 0xff)).toBe('segv'); // its directory's kernel PDEs
    expect(q.killed).toMatchObject({ errorCode: EC.Present | EC.Write | EC.User, reason: 'supervisor-page' });
  });

  it("a process cannot read or write another process's kernel stack (nor its own)", () => {
    const k = boot();
    const a = k.processes.create()!;
    const b = k.processes.create()!;
    const sa = k.kernelStackOf(a.pid)!;
    expect(b.touch(sa.top - 4, 'write', 0)).toBe('segv');
    expect(b.killed).toMatchObject({ errorCode: EC.Present | EC.Write | EC.User, reason: 'supervisor-page' });
    const sc = k.kernelStackOf(k.processes.create()!.pid)!;
    const c = k.processes.get(sc.pid);
    expect(c.touch(sc.bottom, 'read')).toBe('segv');
    expect(c.killed).toMatchObject({ errorCode: EC.Present | EC.User });
    k.checkInvariants();
  });

  it('a user write to a present read-only page faults with P | W/R | U/S = 0x7', () => {
    const k = boot();
    const p = k.processes.create()!;
    const a = p.mmap({ lengthBytes: PAGE, prot: PROT.Read })!;
    expect(p.touch(a, 'read')).toBe('ok');
    expect(p.touch(a, 'write', 1)).toBe('segv');
    expect(p.killed).toMatchObject({ errorCode: EC.Present | EC.Write | EC.User, reason: 'write-to-read-only' });
  });
});

describe('isolation on higher-half-3g: address spaces', () => {
  it("processes cannot reach each other's pages: the same address maps different frames or nothing, and no user page table is shared", () => {
    const k = boot();
    const a = k.processes.create({ name: 'a' })!;
    const b = k.processes.create({ name: 'b' })!;
    const va = a.mmap({ lengthBytes: PAGE, va: 0x5000_0000 })!;
    expect(a.touch(va, 'write', 0x42)).toBe('ok');
    expect(b.touch(va, 'read')).toBe('segv');
    expect(b.killed).toMatchObject({ errorCode: EC.User, reason: 'not-mapped' });
    const c = k.processes.create({ name: 'c' })!;
    expect(c.mmap({ lengthBytes: PAGE, va })).toBe(va);
    k.processes.switchTo(c.pid);
    expect(k.processes.user.read8(va)).toBe(0);
    expect(c.translate(va)).not.toBe(a.translate(va));
    // The recursive window shows the tables of the directory in CR3 only: walk each in its own space.
    const aFrames = new Set<number>();
    k.processes.switchTo(a.pid);
    a.pages_.forEachLeaf(a.userStart, a.userEnd, (_v, f) => aFrames.add(f));
    expect(aFrames.size).toBeGreaterThan(0);
    k.processes.switchTo(c.pid);
    c.pages_.forEachLeaf(c.userStart, c.userEnd, (_v, f) => expect(aFrames.has(f)).toBe(false));
    expect(new Set([...a.pages_.tables, ...c.pages_.tables]).size).toBe(new Set(a.pages_.tables).size + new Set(c.pages_.tables).size);
    // The user halves of the directories differ; the kernel halves (PDEs 768-1022) are the same tables.
    const da = k.machine.memory.frameWords(a.root);
    const dc = k.machine.memory.frameWords(c.root);
    expect(da[va >>> 22]! & ~0xfff).not.toBe(dc[va >>> 22]! & ~0xfff);
    for (let i = 768; i < 1023; i++) expect(da[i]! & ~0xfff).toBe(dc[i]! & ~0xfff);
  });

  it("a fork's child and parent share frames only copy-on-write: a write in one is never seen by the other", () => {
    const k = boot();
    const parent = k.processes.create()!;
    const a = parent.mmap({ lengthBytes: PAGE })!;
    expect(parent.touch(a, 'write', 0x11)).toBe('ok');
    const child = k.processes.fork(parent.pid)!;
    expect(child.translate(a)).toBe(parent.translate(a));
    expect(child.touch(a, 'write', 0x22)).toBe('ok');
    expect(child.translate(a)).not.toBe(parent.translate(a));
    k.processes.switchTo(parent.pid);
    expect(k.processes.user.read8(a)).toBe(0x11);
    k.processes.switchTo(child.pid);
    expect(k.processes.user.read8(a)).toBe(0x22);
    k.checkInvariants();
  });

  it('after exit nothing of the process stays: no user PDE in its old directory, no frame with its pid, no TLB entry for its frames', () => {
    const k = boot();
    const tlb = k.machine.cpu.tlb!;
    const p = k.processes.create()!;
    const a = p.mmap({ lengthBytes: 64 * PAGE })!;
    expect(p.touchRange(a, 64 * PAGE, 'write', 1)).toBe('ok');
    const frames: number[] = [];
    k.processes.switchTo(p.pid);
    p.pages_.forEachLeaf(p.userStart, p.userEnd, (_v, f) => frames.push(f));
    expect(frames.length).toBeGreaterThanOrEqual(64);
    const tables = [...p.pages_.tables];
    const root = p.root;
    const stack = k.kernelStackOf(p.pid)!;
    p.exit(0);
    expect(k.frames.framesOfPid(p.pid)).toBe(0);
    for (const f of [...frames, ...tables, root]) expect(k.frames.ownerOf(f)).toBeNull();
    const gone = new Set([...frames, ...tables, root]);
    for (const e of tlb.entries()) {
      expect(gone.has(e.pa - (e.pa % PAGE))).toBe(false);
      expect(e.va >= stack.bottom && e.va < stack.top).toBe(false);
    }
    const words = k.machine.memory.frameWords(root);
    for (let i = 0; i < 768; i++) expect(words[i]! & 1).toBe(0);
    expect(k.addressSpaceRoots()).toHaveLength(0);
    k.checkInvariants();
  });

  it('a process never reads bytes a gone process wrote, although it gets the same frames (fresh frames are zeroed)', () => {
    const k = boot();
    const pages = 128;
    const writer = k.processes.create({ name: 'writer' })!;
    const a = writer.mmap({ lengthBytes: pages * PAGE })!;
    k.processes.switchTo(writer.pid);
    const secret = new Uint8Array(PAGE).fill(0xa5);
    for (let i = 0; i < pages; i++) k.processes.user.writeBytes(a + i * PAGE, secret);
    const frames = new Set<number>();
    for (let i = 0; i < pages; i++) frames.add(writer.translate(a + i * PAGE));
    writer.exit(0);
    expect([...frames].filter((f) => k.machine.memory.read8(f) === 0xa5)).toHaveLength(pages);
    const reader = k.processes.create({ name: 'reader' })!;
    const b = reader.mmap({ lengthBytes: pages * PAGE })!;
    k.processes.switchTo(reader.pid);
    let reused = 0;
    for (let i = 0; i < pages; i++) {
      expect(k.processes.user.readBytes(b + i * PAGE, PAGE).every((x) => x === 0)).toBe(true);
      if (frames.has(reader.translate(b + i * PAGE))) reused++;
    }
    expect(reused).toBeGreaterThan(pages / 2);
  });
});
