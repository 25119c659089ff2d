// Shared memory: MAP_SHARED anonymous memory across fork, named objects that unrelated processes
// map (shm_open / shm_unlink), and the page cache that lets two processes running one ELF share its
// text frames. Each test answers one question and ends with the kernel's invariants.
import { describe, expect, it } from 'vitest';
import { PROT, ShmExistsError, ShmHandleError, ShmNameError, ShmNotFoundError, ShmRangeError, ShmSizeError, UserMemoryArgumentError, type Kernel, type Process } from '../src/index';
import { PAGE, bootProcessKernel, drainFrames, elfFixture } from './process-helpers';
import { bootSwapKernel } from './swap-helpers';
import { bootKernel32, grubHandOver } from './kernel32-helpers';

function read(kernel: Kernel, p: Process, va: number): number {
  kernel.switchTo(p.pid);
  return kernel.user.read8(va);
}

function resolutions(kernel: Kernel, since: number): string[] {
  return kernel.events
    .all()
    .filter((e) => e.seq > since && e.kind === 'page-fault')
    .map((e) => (e.kind === 'page-fault' ? e.resolution : ''));
}

describe('mmap({ shared: true }): MAP_SHARED | MAP_ANONYMOUS', () => {
  it('allocates a page on first touch and zero-fills it (demand zero), one frame for the object', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    const free0 = kernel.pmm.freeFrames;
    const va = p.mmap({ lengthBytes: 3 * PAGE, shared: true })!;
    const object = p.regionAt(va)!.shared!.object;
    expect(kernel.pmm.freeFrames).toBe(free0);
    expect([p.translate(va), object.residentPages, object.mappedPages, object.kind]).toEqual([-1, 0, 3, 'anonymous']);
    expect(read(kernel, p, va + PAGE)).toBe(0);
    expect(object.residentPages).toBe(1);
    expect(p.formatMaps()).toContain('rw-s 00000000 mmap');
    kernel.checkInvariants();
  });

  it('stays shared across fork: the same frame, writable in both, a write in the child seen by the parent', () => {
    const kernel = bootProcessKernel();
    const parent = kernel.createProcess()!;
    const va = parent.mmap({ lengthBytes: 2 * PAGE, shared: true })!;
    expect(parent.touch(va, 'write', 1)).toBe('ok');
    const child = parent.fork()!;
    // Not copy-on-write: fork left the page writable and shared.
    const info = child.pageInfo(va)!;
    expect([info.writable, info.copyOnWrite, info.refCount]).toEqual([true, false, 3]); // object + two PTEs
    expect(child.translate(va)).toBe(parent.translate(va));
    expect(child.touch(va, 'write', 0x42)).toBe('ok');
    expect(child.stats.cowCopies).toBe(0);
    expect(read(kernel, parent, va)).toBe(0x42);
    // A page first touched by the child after the fork is the parent's too.
    expect(child.touch(va + PAGE, 'write', 0x43)).toBe('ok');
    expect(read(kernel, parent, va + PAGE)).toBe(0x43);
    expect(parent.translate(va + PAGE)).toBe(child.translate(va + PAGE));
    kernel.checkInvariants();
  });

  it('munmap and exit drop references; the frames go back with the last mapping', () => {
    const kernel = bootProcessKernel();
    const free0 = kernel.pmm.freeFrames;
    const parent = kernel.createProcess()!;
    const va = parent.mmap({ lengthBytes: 2 * PAGE, shared: true })!;
    const object = parent.regionAt(va)!.shared!.object;
    expect(parent.touchRange(va, 2 * PAGE, 'write', 5)).toBe('ok');
    const child = parent.fork()!;
    const frame = parent.translate(va);
    expect(object.mappedPages).toBe(4);
    expect(parent.munmap(va, 2 * PAGE)).toBe(2);
    expect([object.mappedPages, object.alive, kernel.frames.refCount(frame)]).toEqual([2, true, 2]);
    expect(read(kernel, child, va + PAGE)).toBe(5);
    kernel.checkInvariants();
    child.exit(0);
    expect([object.alive, object.residentPages, kernel.frames.refCount(frame)]).toEqual([false, 0, 0]);
    kernel.checkInvariants();
    parent.exit(0);
    kernel.checkInvariants();
    expect(kernel.pmm.freeFrames).toBe(free0);
  });

  it('keeps one object through mprotect splits and merges, and a partial munmap', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    const va = p.mmap({ lengthBytes: 4 * PAGE, shared: true })!;
    expect(p.touchRange(va, 4 * PAGE, 'write', 9)).toBe('ok');
    p.mprotect(va + PAGE, PAGE, PROT.Read);
    expect(p.regions().filter((r) => r.shared !== undefined)).toHaveLength(3);
    expect(p.touch(va + PAGE, 'write', 1)).toBe('segv');
    const q = kernel.createProcess()!;
    const w = q.mmap({ lengthBytes: 4 * PAGE, shared: true })!;
    q.mprotect(w + PAGE, PAGE, PROT.Read);
    q.mprotect(w + PAGE, PAGE, PROT.Read | PROT.Write);
    expect(q.regions().filter((r) => r.shared !== undefined)).toHaveLength(1); // merged back
    const object = q.regionAt(w)!.shared!.object;
    expect(q.touch(w + 3 * PAGE, 'write', 7)).toBe('ok');
    q.munmap(w + PAGE, 2 * PAGE);
    expect([object.mappedPages, object.alive]).toEqual([2, true]);
    expect(read(kernel, q, w + 3 * PAGE)).toBe(7);
    kernel.checkInvariants();
  });
});

describe('shmOpen / shmUnlink: named shared memory', () => {
  it('lets two unrelated processes map one object and see each other’s writes in the same frame', () => {
    const kernel = bootProcessKernel();
    const a = kernel.createProcess()!;
    const b = kernel.createProcess()!;
    const shm = kernel.processes.shmOpen('/ring', { create: true, exclusive: true, sizeBytes: 2 * PAGE });
    const opened = kernel.processes.shmOpen('/ring');
    expect(opened).toBe(shm);
    expect(shm.openHandles).toBe(2);
    const va = a.mmap({ lengthBytes: 2 * PAGE, shm })!;
    // b maps only the second page (offset 4096), at another address.
    const vb = b.mmap({ lengthBytes: PAGE, shm, offsetBytes: PAGE })!;
    expect(a.touch(va + PAGE, 'write', 0x77)).toBe('ok');
    expect(read(kernel, b, vb)).toBe(0x77);
    expect(b.translate(vb)).toBe(a.translate(va + PAGE));
    expect(b.touch(vb, 'write', 0x78)).toBe('ok');
    expect(read(kernel, a, va + PAGE)).toBe(0x78);
    expect(shm.mappedPages).toBe(3);
    expect(b.formatMaps()).toContain('rw-s 00001000 mmap /ring');
    kernel.checkInvariants();
  });

  it('keeps the data while the name exists, unmapped; unlink removes the name and the last mapping frees it', () => {
    const kernel = bootProcessKernel();
    const free0 = kernel.pmm.freeFrames;
    const a = kernel.createProcess()!;
    const shm = kernel.processes.shmOpen('/keep', { create: true, sizeBytes: PAGE });
    const va = a.mmap({ lengthBytes: PAGE, shm })!;
    expect(a.touch(va, 'write', 0x11)).toBe('ok');
    a.munmap(va, PAGE);
    kernel.processes.shmClose(shm);
    expect([shm.alive, shm.residentPages, shm.openHandles, shm.mappedPages]).toEqual([true, 1, 0, 0]); // the name keeps it
    kernel.checkInvariants();
    const again = kernel.processes.shmOpen('/keep');
    const b = kernel.createProcess()!;
    const vb = b.mmap({ lengthBytes: PAGE, shm: again })!;
    expect(read(kernel, b, vb)).toBe(0x11);
    kernel.processes.shmUnlink('/keep');
    kernel.processes.shmClose(again);
    expect(kernel.processes.sharedMemory.lookup('/keep')).toBeNull();
    expect(() => kernel.processes.shmOpen('/keep')).toThrow(ShmNotFoundError);
    // The mapping keeps the unlinked object alive, data intact.
    expect([shm.alive, shm.linked]).toEqual([true, false]);
    expect(read(kernel, b, vb)).toBe(0x11);
    kernel.checkInvariants();
    // A new object under the same name is another object.
    const other = kernel.processes.shmOpen('/keep', { create: true, sizeBytes: PAGE });
    expect(other).not.toBe(shm);
    b.exit(0);
    expect(shm.alive).toBe(false);
    kernel.processes.shmUnlink('/keep');
    kernel.processes.shmClose(other);
    a.exit(0);
    kernel.checkInvariants();
    expect(kernel.processes.sharedMemory.objects()).toEqual([]);
    expect(kernel.pmm.freeFrames).toBe(free0);
  });

  it('refuses bad input with typed errors and changes nothing', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    const shm = kernel.processes.shmOpen('/ok', { create: true, sizeBytes: 2 * PAGE });
    const state = (): string => JSON.stringify([kernel.processes.sharedMemory.nameList(), kernel.processes.sharedMemory.objects().map((o) => o.describe()), kernel.pmm.freeFrames, p.formatMaps()]);
    const before = state();
    const cases: [() => unknown, new (...args: never[]) => Error, string][] = [
      [() => kernel.processes.shmOpen('noslash', { create: true, sizeBytes: PAGE }), ShmNameError, 'E_SHM_NAME'],
      [() => kernel.processes.shmOpen('/', { create: true, sizeBytes: PAGE }), ShmNameError, 'E_SHM_NAME'],
      [() => kernel.processes.shmOpen('/a/b', { create: true, sizeBytes: PAGE }), ShmNameError, 'E_SHM_NAME'],
      [() => kernel.processes.shmOpen(42 as never), ShmNameError, 'E_SHM_NAME'],
      [() => kernel.processes.shmOpen('/missing'), ShmNotFoundError, 'E_SHM_NOT_FOUND'],
      [() => kernel.processes.shmUnlink('/missing'), ShmNotFoundError, 'E_SHM_NOT_FOUND'],
      [() => kernel.processes.shmOpen('/new', { create: true, sizeBytes: 0 }), ShmSizeError, 'E_SHM_SIZE'],
      [() => kernel.processes.shmOpen('/new', { create: true, sizeBytes: 100 }), ShmSizeError, 'E_SHM_SIZE'],
      [() => kernel.processes.shmOpen('/new', { create: true, sizeBytes: -PAGE }), ShmSizeError, 'E_SHM_SIZE'],
      [() => kernel.processes.shmOpen('/new', { create: true, sizeBytes: Number.NaN }), ShmSizeError, 'E_SHM_SIZE'],
      [() => kernel.processes.shmOpen('/new', { create: true }), ShmSizeError, 'E_SHM_SIZE'],
      [() => kernel.processes.shmOpen('/new', { create: true, sizeBytes: 2 ** 41 }), ShmSizeError, 'E_SHM_SIZE'],
      [() => kernel.processes.shmOpen('/ok', { create: true, exclusive: true, sizeBytes: 2 * PAGE }), ShmExistsError, 'E_SHM_EXISTS'],
      [() => kernel.processes.shmOpen('/ok', { sizeBytes: PAGE }), ShmSizeError, 'E_SHM_SIZE'],
      [() => kernel.processes.shmOpen('/ok', { create: 'yes' as never }), UserMemoryArgumentError, 'E_USER_MEMORY_ARGUMENT'],
      [() => kernel.processes.shmClose({} as never), ShmHandleError, 'E_SHM_HANDLE'],
      [() => p.mmap({ lengthBytes: 3 * PAGE, shm }), ShmRangeError, 'E_SHM_RANGE'],
      [() => p.mmap({ lengthBytes: PAGE, shm, offsetBytes: 2 * PAGE }), ShmRangeError, 'E_SHM_RANGE'],
      [() => p.mmap({ lengthBytes: PAGE, shm, offsetBytes: 100 }), UserMemoryArgumentError, 'E_USER_MEMORY_ARGUMENT'],
      [() => p.mmap({ lengthBytes: PAGE, offsetBytes: PAGE }), UserMemoryArgumentError, 'E_USER_MEMORY_ARGUMENT'],
      [() => p.mmap({ lengthBytes: PAGE, shm: {} as never }), ShmHandleError, 'E_SHM_HANDLE'],
      [() => p.mmap({ lengthBytes: PAGE, shared: 1 as never }), UserMemoryArgumentError, 'E_USER_MEMORY_ARGUMENT'],
    ];
    for (const [call, cls, code] of cases) {
      let thrown: unknown = null;
      try {
        call();
      } catch (e) {
        thrown = e;
      }
      expect(thrown, String(call)).toBeInstanceOf(cls);
      expect((thrown as { code: string }).code).toBe(code);
      expect(state()).toBe(before);
    }
    // A closed handle cannot be closed again, nor mapped.
    kernel.processes.shmClose(shm);
    expect(() => kernel.processes.shmClose(shm)).toThrow(ShmHandleError);
    expect(() => p.mmap({ lengthBytes: PAGE, shm })).toThrow(ShmHandleError);
    kernel.checkInvariants();
  });
});

describe('the page cache: text and read-only data shared between processes running one ELF', () => {
  it('maps the same physical frame for the text of two processes running the same file', () => {
    const kernel = bootProcessKernel();
    const hello = elfFixture('hello-static');
    const a = kernel.exec(undefined, hello, ['a'])!;
    const b = kernel.exec(undefined, hello, ['b'])!;
    const cache = kernel.processes.sharedMemory.pageCache;
    let seq = kernel.events.emitted;
    expect(a.touch(0x40_1000, 'execute')).toBe('ok');
    expect(a.touch(0x40_2000, 'read')).toBe('ok'); // .rodata
    expect(resolutions(kernel, seq)).toEqual(['lazy-file', 'lazy-file']);
    seq = kernel.events.emitted;
    expect(b.touch(0x40_1000, 'execute')).toBe('ok');
    expect(b.touch(0x40_2000, 'read')).toBe('ok');
    expect(resolutions(kernel, seq)).toEqual(['page-cache', 'page-cache']);
    expect(b.translate(0x40_1000)).toBe(a.translate(0x40_1000));
    expect(b.translate(0x40_2000)).toBe(a.translate(0x40_2000));
    expect([cache.pageCount, cache.fileCount]).toEqual([2, 1]);
    const info = b.pageInfo(0x40_1000)!;
    expect([info.writable, info.copyOnWrite, info.refCount]).toEqual([false, true, 3]); // cache + two PTEs
    kernel.checkInvariants();
  });

  it('keeps writable data private (a private copy read from the file) and copies text written after mprotect', () => {
    const kernel = bootProcessKernel();
    const file = elfFixture('big-bss');
    const a = kernel.exec(undefined, file, ['a'])!;
    const b = kernel.exec(undefined, file, ['b'])!;
    const data = a.regions().find((r) => r.kind === 'data')!;
    expect(a.touch(data.start, 'read')).toBe('ok');
    expect(b.touch(data.start, 'read')).toBe('ok');
    expect(a.translate(data.start)).not.toBe(b.translate(data.start));
    expect(a.touch(data.start, 'write', 0x99)).toBe('ok');
    expect(read(kernel, b, data.start)).not.toBe(0x99);
    // Text made writable: the first write copies out of the cache; the other process and the
    // cache keep the file's bytes.
    expect(a.touch(0x40_1000, 'execute')).toBe('ok');
    expect(b.touch(0x40_1000, 'execute')).toBe('ok');
    const original = read(kernel, b, 0x40_1000);
    const cached = b.translate(0x40_1000);
    a.mprotect(0x40_1000, PAGE, PROT.Read | PROT.Write | PROT.Exec);
    expect(a.touch(0x40_1000, 'write', original ^ 0xff)).toBe('ok');
    expect(a.stats.cowCopies).toBe(1);
    expect(a.translate(0x40_1000)).not.toBe(cached);
    expect(read(kernel, b, 0x40_1000)).toBe(original);
    expect(b.translate(0x40_1000)).toBe(cached);
    kernel.checkInvariants();
  });

  it('releases a cached page with its last mapping: after every exit the cache is empty and every frame free', () => {
    const kernel = bootProcessKernel();
    const free0 = kernel.pmm.freeFrames;
    const hello = elfFixture('hello-static');
    const a = kernel.exec(undefined, hello, ['a'])!;
    expect(a.touch(0x40_1000, 'execute')).toBe('ok');
    const child = a.fork()!;
    expect(child.translate(0x40_1000)).toBe(a.translate(0x40_1000));
    const cache = kernel.processes.sharedMemory.pageCache;
    a.exit(0);
    expect(cache.pageCount).toBe(1);
    kernel.checkInvariants();
    child.exit(0);
    expect(cache.pageCount).toBe(0);
    kernel.checkInvariants();
    expect(kernel.pmm.freeFrames).toBe(free0);
  });

  it('shares nothing between two copies of the bytes (two files), nor with a PIE loaded at another address', () => {
    const kernel = bootProcessKernel();
    const a = kernel.exec(undefined, elfFixture('hello-static'), ['a'])!;
    const b = kernel.exec(undefined, elfFixture('hello-static'), ['b'])!;
    expect(a.touch(0x40_1000, 'execute')).toBe('ok');
    expect(b.touch(0x40_1000, 'execute')).toBe('ok');
    expect(a.translate(0x40_1000)).not.toBe(b.translate(0x40_1000));
    const pie = elfFixture('hello-static-pie');
    const c = kernel.exec(undefined, pie, ['c'])!;
    const d = kernel.exec(undefined, pie, ['d'], [], { loadBias: c.image!.plan.loadBias + 0x10_0000 })!;
    const text = (p: Process): number => p.regions().find((r) => r.kind === 'text')!.start;
    expect(c.touch(text(c), 'execute')).toBe('ok');
    expect(d.touch(text(d), 'execute')).toBe('ok');
    expect(read(kernel, c, text(c))).toBe(read(kernel, d, text(d)));
    expect(c.translate(text(c))).not.toBe(d.translate(text(d)));
    kernel.checkInvariants();
  });
});

describe('the invariants see shared memory', () => {
  it('catch a private frame mapped by another process without copy-on-write (isolation)', () => {
    const kernel = bootProcessKernel();
    const a = kernel.createProcess()!;
    const b = kernel.createProcess()!;
    const va = a.mmap({ lengthBytes: PAGE })!;
    const vb = b.mmap({ lengthBytes: PAGE })!;
    expect(a.touch(va, 'write', 1)).toBe('ok');
    expect(b.touch(vb, 'write', 2)).toBe('ok');
    kernel.checkInvariants();
    const stolen = a.translate(va);
    const own = b.translate(vb);
    kernel.switchTo(b.pid);
    b.pages_.lookup(vb);
    const flags = b.pageInfo(vb)!.flags;
    b.pages_.rewrite(vb, stolen, flags);
    kernel.frames.share(stolen);
    kernel.frames.freeFrame(own);
    expect(() => kernel.checkInvariants()).toThrow(/not copy-on-write/);
  });

  it('catch a shared object whose mapped-page count disagrees with the regions', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    const va = p.mmap({ lengthBytes: PAGE, shared: true })!;
    kernel.checkInvariants();
    p.regionAt(va)!.shared!.object.mappedPages++;
    expect(() => kernel.checkInvariants()).toThrow(/mapped pages/);
  });

  it('catch a page-cache page that no page maps any more (a leak)', () => {
    const kernel = bootProcessKernel();
    const p = kernel.exec(undefined, elfFixture('hello-static'), ['a'])!;
    expect(p.touch(0x40_1000, 'execute')).toBe('ok');
    const frame = p.translate(0x40_1000);
    kernel.frames.share(frame); // a reference nobody will drop
    p.munmap(0x40_1000, PAGE);
    expect(() => kernel.checkInvariants()).toThrow(/page cache keeps frame/);
  });
});

describe('running out of memory in a shared fault', () => {
  it('OOM-kills the process; the object keeps the page it made when no page table was left for the PTE', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    const shm = kernel.processes.shmOpen('/oom', { create: true, sizeBytes: PAGE });
    const va = p.mmap({ lengthBytes: PAGE, shm })!;
    const giveBack = drainFrames(kernel, 1); // the page's frame, then no frame for its page table
    expect(p.touch(va, 'write', 1)).toBe('oom-kill');
    expect([shm.residentPages, shm.mappedPages, shm.alive]).toEqual([1, 0, true]);
    giveBack();
    kernel.checkInvariants();
    const q = kernel.createProcess()!;
    const vq = q.mmap({ lengthBytes: PAGE, shm })!;
    expect(read(kernel, q, vq)).toBe(0); // the write never happened; the zeroed page is the object's
    kernel.checkInvariants();
  });

  it('OOM-kills the process and gives a page-cache page back when its PTE could not be written', () => {
    const kernel = bootProcessKernel();
    const p = kernel.exec(undefined, elfFixture('hello-static'), ['a'])!;
    const giveBack = drainFrames(kernel, 1);
    const seq = kernel.events.emitted;
    expect(p.touch(0x40_1000, 'execute')).toBe('oom-kill');
    expect(kernel.processes.sharedMemory.pageCache.pageCount).toBe(0);
    // The cache's page (pid-less) was read and given back, not just never allocated.
    const freed = kernel.events.all().filter((e) => e.seq > seq && e.kind === 'frame-free' && e.owner === 'user' && !('pid' in e));
    expect(freed).toHaveLength(1);
    giveBack();
    kernel.checkInvariants();
    expect(kernel.frames.usageByOwner().user).toBe(0);
  });
});

describe('shared memory under swap', () => {
  it('keeps shared-object pages resident (never evicted) while private pages are swapped, values intact', () => {
    const { kernel, swap } = bootSwapKernel({ maxResidentPages: 8 });
    const parent = kernel.createProcess()!;
    const shm = kernel.processes.shmOpen('/swapped', { create: true, sizeBytes: 4 * PAGE });
    const shared = parent.mmap({ lengthBytes: 4 * PAGE, shm })!;
    const anon = parent.mmap({ lengthBytes: 4 * PAGE, shared: true })!;
    for (let i = 0; i < 4; i++) {
      expect(parent.touch(shared + i * PAGE, 'write', 0x10 + i)).toBe('ok');
      expect(parent.touch(anon + i * PAGE, 'write', 0x20 + i)).toBe('ok');
    }
    const frames = [0, 1, 2, 3].map((i) => [parent.translate(shared + i * PAGE), parent.translate(anon + i * PAGE)]);
    const child = parent.fork()!;
    const priv = child.mmap({ lengthBytes: 32 * PAGE })!;
    expect(child.touchRange(priv, 32 * PAGE, 'write', 0x33)).toBe('ok');
    expect(swap.counters.swappedOut).toBeGreaterThan(0);
    kernel.checkInvariants();
    for (let i = 0; i < 4; i++) {
      expect([parent.translate(shared + i * PAGE), parent.translate(anon + i * PAGE)]).toEqual(frames[i]);
      expect([read(kernel, child, shared + i * PAGE), read(kernel, child, anon + i * PAGE)]).toEqual([0x10 + i, 0x20 + i]);
      expect(swap.describeEntry(child, anon + i * PAGE)).toMatch(/^resident/);
    }
    expect(read(kernel, child, priv)).toBe(0x33); // swapped back in
    kernel.checkInvariants();
  });

  it('drops a page-cache page from every process that maps it (a clean file page) and reads it again on the next fault', () => {
    const { kernel, swap } = bootSwapKernel({ maxResidentPages: 64 });
    const hello = elfFixture('hello-static');
    const a = kernel.exec(undefined, hello, ['a'])!;
    const b = kernel.exec(undefined, hello, ['b'])!;
    expect(a.touch(0x40_1000, 'execute')).toBe('ok');
    expect(b.touch(0x40_1000, 'execute')).toBe('ok');
    const byte = read(kernel, a, 0x40_1000);
    const dropped = swap.counters.fileDropped;
    swap.reclaim(swap.residentPages, true);
    kernel.checkInvariants();
    expect(swap.counters.fileDropped).toBeGreaterThan(dropped);
    expect([swap.describeEntry(a, 0x40_1000), swap.describeEntry(b, 0x40_1000)]).toEqual(['no page', 'no page']);
    expect(kernel.processes.sharedMemory.pageCache.holds(a.translate(0x40_1000))).toBe(false);
    const seq = kernel.events.emitted;
    expect(read(kernel, b, 0x40_1000)).toBe(byte);
    expect(read(kernel, a, 0x40_1000)).toBe(byte);
    expect(resolutions(kernel, seq)).toEqual(['lazy-file', 'page-cache']);
    expect(a.translate(0x40_1000)).toBe(b.translate(0x40_1000));
    kernel.checkInvariants();
  });
});

describe('shared memory on seed 002’s 32-bit kernel (2-level tables, i386 programs)', () => {
  it('shares MAP_SHARED pages across fork, a named object between processes and an i386 program’s text', () => {
    const k = bootKernel32(grubHandOver('seabios-grub-128m'));
    const free0 = k.pmm.freeFrames;
    const file = elfFixture('i386-hello-static');
    const a = k.processes.exec(undefined, file, ['a'])!;
    const b = k.processes.exec(undefined, file, ['b'])!;
    const text = a.regions().find((r) => r.kind === 'text')!.start;
    expect([a.touch(text, 'execute'), b.touch(text, 'execute')]).toEqual(['ok', 'ok']);
    expect(b.translate(text)).toBe(a.translate(text));
    const va = a.mmap({ lengthBytes: PAGE, shared: true })!;
    const child = a.fork()!;
    expect(child.touch(va, 'write', 0x21)).toBe('ok');
    k.processes.switchTo(a.pid);
    expect(k.processes.user.read8(va)).toBe(0x21);
    const shm = k.processes.shmOpen('/i386', { create: true, sizeBytes: PAGE });
    const vb = b.mmap({ lengthBytes: PAGE, shm })!;
    const vc = child.mmap({ lengthBytes: PAGE, shm })!;
    expect(b.touch(vb, 'write', 0x22)).toBe('ok');
    k.processes.switchTo(child.pid);
    expect(k.processes.user.read8(vc)).toBe(0x22);
    k.checkInvariants();
    for (const p of [a, b, child]) p.exit(0);
    k.processes.shmUnlink('/i386');
    k.processes.shmClose(shm);
    k.checkInvariants();
    expect(k.pmm.freeFrames).toBe(free0);
  });
});
