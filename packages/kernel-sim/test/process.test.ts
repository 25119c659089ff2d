// Processes on a booted kernel: address spaces, brk, mmap/munmap/mprotect, exec of real ELF files,
// exit and its leak check, context switches, events. Each scenario opens with the question it answers.
import { describe, expect, it } from 'vitest';
import { Mode, PageFaultErrorCode as EC, RFLAGS } from '@kmem/x86-paging';
import { EventLog, ElfLoadError, HIGHER_HALF, IDENTITY_LOW, Kernel, Machine, linearFromCanonical, validateLayout, type Layout, PROT, ProcessKilledError, ProcessStateError, RegionRangeError, UserMemoryArgumentError, elfLoadPlan, parseElf64, pageContents, findSegment, defaultPieLoadBias } from '../src/index';
import { MiB, PAGE, bootProcessKernel, drainFrames, elfFixture, ramMap } from './process-helpers';

describe('createProcess', () => {
  it('gives a process its own PML4 whose kernel half is the kernel\'s, and maps nothing until touched', () => {
    const kernel = bootProcessKernel();
    const free0 = kernel.pmm.freeFrames;
    const p = kernel.createProcess({ name: 'empty' })!;
    expect(p.root).not.toBe(kernel.kernelRoot);
    const mine = kernel.memory.frameWords(p.root);
    const kern = kernel.memory.frameWords(kernel.kernelRoot);
    // PML4 entries 256..511 (the kernel half) are copied; entries 0..255 (user half) start empty.
    for (let i = 256 * 2; i < 1024; i++) expect(mine[i]).toBe(kern[i]);
    for (let i = 0; i < 256 * 2; i++) expect(mine[i]).toBe(0);
    expect(kernel.pmm.freeFrames).toBe(free0 - 1);
    expect(p.stats.rssPages).toBe(0);
    expect(p.regions().map((r) => [r.kind, r.end - r.start])).toEqual([['stack', 128 * 1024]]);
    expect(p.stackTop).toBe(0x7fff_ffff_f000);
    expect(kernel.frames.ownerOf(p.root)).toEqual({ kind: 'page-table', pid: p.pid });
    kernel.checkInvariants();
  });

  it('allocates a zeroed frame on the first touch of a stack page and maps it user, writable, NX', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    expect(p.touch(p.stackTop - 8, 'write', 0x41)).toBe('ok');
    expect(p.stats).toMatchObject({ rssPages: 1, faults: 1, lazyZero: 1 });
    const pa = p.translate(p.stackTop - 8);
    expect(pa).toBeGreaterThan(0);
    expect(kernel.memory.read8(pa)).toBe(0x41);
    expect(kernel.frames.ownerOf(pa - (pa % PAGE))).toEqual({ kind: 'user', pid: p.pid });
    const fault = kernel.events.ofKind('page-fault').at(-1)!;
    expect(fault).toMatchObject({ pid: p.pid, va: p.stackTop - 8, errorCode: EC.User | EC.Write, resolution: 'lazy-zero', mode: 'user', access: 'write' });
    // The second touch hits the mapping: no new fault.
    expect(p.touch(p.stackTop - 16, 'read')).toBe('ok');
    expect(p.stats.faults).toBe(1);
    kernel.checkInvariants();
  });

  it('rejects bad limits before creating anything', () => {
    const kernel = bootProcessKernel();
    expect(() => kernel.createProcess({ stackSizeBytes: 1000 })).toThrow(/stackSizeBytes/);
    expect(() => kernel.createProcess({ stackLimitBytes: PAGE, stackSizeBytes: 2 * PAGE })).toThrow(/stackLimitBytes/);
    expect(kernel.processes.count).toBe(0);
  });
});

describe('brk and sbrk', () => {
  it('grows the heap lazily, faults beyond the break, and frees frames when it shrinks', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    const start = p.brkStart;
    expect(p.sbrk(3 * PAGE + 100)).toBe(start);
    expect(p.brkEnd).toBe(start + 3 * PAGE + 100);
    expect(p.touchRange(start, 4 * PAGE, 'write', 7)).toBe('ok');
    expect(p.stats.rssPages).toBe(4);
    const free = kernel.pmm.freeFrames;
    expect(p.brk(start + PAGE)).toBe(start + PAGE);
    expect(p.stats.rssPages).toBe(1);
    expect(kernel.pmm.freeFrames).toBe(free + 3);
    kernel.checkInvariants();
    expect(p.touch(start + PAGE, 'read')).toBe('segv');
    expect(p.killed).toMatchObject({ reason: 'not-mapped', signal: 'SIGSEGV', region: null, errorCode: EC.User });
  });

  it('refuses a break below the heap start or into another mapping, keeping the old one', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    expect(p.brk(p.brkStart - 1)).toBe(p.brkStart);
    p.mmap({ lengthBytes: PAGE, fixed: true, va: p.brkStart + 2 * PAGE });
    expect(p.sbrk(4 * PAGE)).toBeNull();
    expect(p.brkEnd).toBe(p.brkStart);
    expect(p.sbrk(2 * PAGE)).toBe(p.brkStart);
    expect(() => p.brk(0.5)).toThrow(UserMemoryArgumentError);
    kernel.checkInvariants();
  });
});

describe('mmap and munmap', () => {
  it('places anonymous mappings in the mmap area bottom-up and allocates nothing until touched', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    const a = p.mmap({ lengthBytes: 5000 })!;
    const b = p.mmap({ lengthBytes: PAGE, prot: PROT.Read })!;
    expect(a).toBe(p.mmapBase);
    expect(b).toBe(a + 2 * PAGE);
    expect(p.stats.rssPages).toBe(0);
    expect(p.touch(a + PAGE, 'read')).toBe('ok');
    expect(kernel.memory.read8(p.translate(a + PAGE))).toBe(0);
    expect(p.regionAt(a)).toMatchObject({ kind: 'mmap', prot: PROT.Read | PROT.Write, start: a, end: a + 2 * PAGE });
    kernel.checkInvariants();
  });

  it('MAP_FIXED replaces a mapping (old frames freed, new pages zero), MAP_FIXED_NOREPLACE refuses', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    const a = p.mmap({ lengthBytes: 4 * PAGE })!;
    expect(p.touchRange(a, 4 * PAGE, 'write', 0x99)).toBe('ok');
    expect(p.mmap({ lengthBytes: PAGE, fixed: true, noReplace: true, va: a + PAGE })).toBeNull();
    const free = kernel.pmm.freeFrames;
    expect(p.mmap({ lengthBytes: 2 * PAGE, fixed: true, va: a + PAGE, prot: PROT.Read })).toBe(a + PAGE);
    expect(kernel.pmm.freeFrames).toBe(free + 2);
    kernel.switchTo(p.pid);
    expect(kernel.user.read8(a + PAGE)).toBe(0);
    expect(kernel.user.read8(a)).toBe(0x99);
    expect(p.regions().filter((r) => r.kind === 'mmap').map((r) => [(r.start - a) / PAGE, (r.end - a) / PAGE, r.prot])).toEqual([
      [0, 1, 3],
      [1, 3, 1],
      [3, 4, 3],
    ]);
    kernel.checkInvariants();
  });

  it('partial munmap splits a region, frees its frames and empty page tables, and the hole faults', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    // 4 MiB: two page tables' worth.
    const a = p.mmap({ lengthBytes: 4 * MiB, va: 0x1000_0000 })!;
    expect(a).toBe(0x1000_0000);
    expect(p.touchRange(a, 4 * MiB, 'write', 1)).toBe('ok');
    const tables = p.pageTableCount;
    expect(p.munmap(a + 2 * MiB, 2 * MiB)).toBe(512);
    expect(p.pageTableCount).toBe(tables - 1);
    expect(p.munmap(a + PAGE, PAGE)).toBe(1);
    expect(p.regions().filter((r) => r.kind === 'mmap').map((r) => [r.start - a, r.end - a])).toEqual([
      [0, PAGE],
      [2 * PAGE, 2 * MiB],
    ]);
    kernel.checkInvariants();
    expect(p.touch(a + PAGE, 'read')).toBe('segv');
    expect(p.killed?.reason).toBe('not-mapped');
  });

  it('invalidates the TLB when it unmaps a present page (no stale translation survives)', () => {
    const kernel = bootProcessKernel();
    const tlb = kernel.machine.cpu.tlb!;
    tlb.detectStaleUses = true;
    const p = kernel.createProcess()!;
    const a = p.mmap({ lengthBytes: PAGE })!;
    expect(p.touch(a, 'write', 5)).toBe('ok');
    expect(p.touch(a, 'read')).toBe('ok'); // now cached in the TLB
    p.munmap(a, PAGE);
    expect(p.touch(a, 'read')).toBe('segv');
    expect(tlb.staleUseCount).toBe(0);
    expect(kernel.events.ofKind('tlb-flush').some((e) => e.reason === 'invlpg' && e.va === a)).toBe(true);
  });

  it('rejects misaligned or empty ranges and addresses outside user space before changing anything', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    expect(() => p.munmap(0x1000_0001, PAGE)).toThrow(UserMemoryArgumentError);
    expect(() => p.munmap(0x1000_0000, 0)).toThrow(UserMemoryArgumentError);
    expect(() => p.mmap({ lengthBytes: 0 })).toThrow(UserMemoryArgumentError);
    expect(() => p.mmap({ lengthBytes: PAGE, fixed: true, va: 0x8000_0000_0000 })).toThrow(UserMemoryArgumentError);
    expect(() => p.mmap({ lengthBytes: PAGE, prot: 9 })).toThrow(/prot/);
    expect(p.regions()).toHaveLength(1);
  });
});

describe('mprotect', () => {
  it('makes a written page read-only at once (INVLPG) and writable again', () => {
    const kernel = bootProcessKernel();
    const tlb = kernel.machine.cpu.tlb!;
    tlb.detectStaleUses = true;
    const p = kernel.createProcess()!;
    const a = p.mmap({ lengthBytes: 3 * PAGE })!;
    expect(p.touch(a + PAGE, 'write', 1)).toBe('ok');
    p.mprotect(a + PAGE, PAGE, PROT.Read);
    expect(p.regions().filter((r) => r.kind === 'mmap')).toHaveLength(3);
    expect(p.touch(a + PAGE, 'read')).toBe('ok');
    p.mprotect(a + PAGE, PAGE, PROT.Read | PROT.Write);
    expect(p.regions().filter((r) => r.kind === 'mmap')).toHaveLength(1);
    expect(p.touch(a + PAGE, 'write', 2)).toBe('ok');
    p.mprotect(a, 3 * PAGE, PROT.Read);
    kernel.checkInvariants();
    expect(p.touch(a + PAGE, 'write', 3)).toBe('segv');
    // SDM 4.7: a user write to a present read-only page: P = 1, W/R = 1, U/S = 1.
    expect(p.killed).toMatchObject({ reason: 'write-to-read-only', errorCode: EC.Present | EC.Write | EC.User });
    expect(tlb.staleUseCount).toBe(0);
  });

  it('keeps the contents of a PROT_NONE page and gives them back when access returns', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    const a = p.mmap({ lengthBytes: PAGE })!;
    expect(p.touch(a, 'write', 0x5a)).toBe('ok');
    p.mprotect(a, PAGE, PROT.None);
    expect(p.translate(a)).toBe(-1);
    expect(p.stats.rssPages).toBe(1);
    kernel.checkInvariants();
    p.mprotect(a, PAGE, PROT.Read);
    kernel.switchTo(p.pid);
    expect(kernel.user.read8(a)).toBe(0x5a);
    p.mprotect(a, PAGE, PROT.None);
    // A PROT_NONE page is not present (as Linux's _PAGE_PROTNONE): P = 0 in the error code.
    expect(p.touch(a, 'read')).toBe('segv');
    expect(p.killed).toMatchObject({ reason: 'no-access', errorCode: EC.User });
  });

  it('refuses a range with a hole (ENOMEM) and changes nothing', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    const a = p.mmap({ lengthBytes: PAGE, va: 0x2000_0000 })!;
    expect(() => p.mprotect(a, 2 * PAGE, PROT.Read)).toThrow(RegionRangeError);
    expect(p.regionAt(a)?.prot).toBe(PROT.Read | PROT.Write);
  });
});

describe('exec', () => {
  for (const name of ['hello-static', 'hello-static-pie', 'big-bss', 'busybox-static']) {
    it(`loads ${name}: one region per PT_LOAD, file bytes read on first touch, bss zero, argv on the stack`, () => {
      const kernel = bootProcessKernel();
      const file = elfFixture(name);
      const p = kernel.exec(undefined, file, [name, 'arg1'], ['HOME=/'])!;
      expect(p).not.toBeNull();
      const elf = parseElf64(file);
      // PIEs at Linux's ELF_ET_DYN_BASE for the stack top, as gdb shows them with ASLR off.
      const plan = elfLoadPlan(elf, { userStartVa: p.userStart, userEndVa: p.stackTop - p.limits.stackLimitBytes - p.limits.guardGapBytes, ...(elf.positionIndependent ? { loadBias: defaultPieLoadBias(elf) } : {}) });
      if (name === 'hello-static-pie') expect(p.image!.plan.imageStart).toBe(0x5555_5555_4000);
      expect(p.image!.plan.segments.map((x) => [x.start, x.end])).toEqual(plan.segments.map((x) => [x.start, x.end]));
      const image = p.regions().filter((r) => r.kind !== 'stack');
      // Every segment's pages are covered by regions with its rights (NX wherever X is absent).
      for (const s of plan.segments) {
        for (const r of image.filter((x) => x.start >= s.start && x.end <= s.end)) {
          expect(r.prot).toBe((s.permissions.read ? PROT.Read : 0) | (s.permissions.write ? PROT.Write : 0) | (s.permissions.execute ? PROT.Exec : 0));
        }
        expect(image.filter((x) => x.start >= s.start && x.end <= s.end).reduce((n, r) => n + r.end - r.start, 0)).toBe(s.end - s.start);
      }
      kernel.switchTo(p.pid);
      const expected = new Uint8Array(PAGE);
      for (const [i, s] of plan.segments.entries()) {
        // First page of each segment: fetch for text, read otherwise; compare 64 bytes with the file.
        const va = s.start;
        const got = kernel.user.readBytes(va, 64);
        pageContents(plan, i, va, expected);
        expect([...got]).toEqual([...expected.subarray(0, 64)]);
        if (s.permissions.execute) expect(p.touch(plan.entry, 'execute')).toBe('ok');
        if (s.bss.end > s.bss.start) {
          const last = s.bss.end - 1;
          expect(kernel.user.read8(last)).toBe(0);
          expect(findSegment(plan, last)).toBe(i);
        }
      }
      // argc, argv[0] and envp[0] at the initial stack pointer (x86-64 SysV ABI).
      const img = p.image!;
      expect(kernel.user.read32(img.rsp)).toBe(2);
      const argv0 = img.stack.argvVa[0]!;
      expect(new TextDecoder().decode(kernel.user.readBytes(argv0, name.length))).toBe(name);
      expect(p.brkStart).toBe(plan.imageEnd);
      expect(p.stats.lazyFile).toBeGreaterThan(0);
      kernel.checkInvariants();
      // Writing to text is a protection fault (present, read-only): SIGSEGV.
      expect(p.touch(plan.entry, 'write', 0xcc)).toBe('segv');
      expect(p.killed).toMatchObject({ reason: 'write-to-read-only', errorCode: EC.Present | EC.Write | EC.User });
      expect(p.killed?.region?.kind).toBe('text');
      kernel.checkInvariants();
    });
  }

  it('gives big-bss 2048 zero pages that cost nothing until touched', () => {
    const kernel = bootProcessKernel();
    const p = kernel.exec(undefined, elfFixture('big-bss'), ['big-bss'])!;
    const bss = p.regions().find((r) => r.kind === 'bss')!;
    expect((bss.end - bss.start) / PAGE).toBe(2048);
    const rss = p.stats.rssPages;
    expect(p.touchRange(bss.start, 64 * PAGE, 'read')).toBe('ok');
    expect(p.stats.rssPages).toBe(rss + 64);
    expect(p.stats.lazyZero).toBeGreaterThanOrEqual(64);
  });

  it('refuses a dynamically linked program before creating anything', () => {
    const kernel = bootProcessKernel();
    expect(() => kernel.exec(undefined, elfFixture('hello-dynamic'), ['hello'])).toThrow(ElfLoadError);
    expect(kernel.processes.count).toBe(0);
    kernel.checkInvariants();
  });

  it('replaces the image of a running process, freeing the old one', () => {
    const kernel = bootProcessKernel();
    const p = kernel.exec(undefined, elfFixture('hello-static'), ['hello'])!;
    p.touch(p.image!.entry, 'execute');
    const a = p.mmap({ lengthBytes: 8 * PAGE })!;
    p.touchRange(a, 8 * PAGE, 'write');
    const again = kernel.exec(p.pid, elfFixture('busybox-static'), ['busybox', 'true'])!;
    expect(again).toBe(p);
    expect(p.name).toBe('busybox');
    expect(p.regionAt(a)).toBeNull();
    expect(p.regions().some((r) => r.name === 'busybox' && r.kind === 'text')).toBe(true);
    kernel.checkInvariants();
  });
});

describe('exit', () => {
  it('returns every frame and page-table frame: free frames equal the count before the process', () => {
    const kernel = bootProcessKernel();
    const free0 = kernel.pmm.freeFrames;
    const used0 = kernel.frames.usageByOwner();
    const p = kernel.exec(undefined, elfFixture('busybox-static'), ['busybox'])!;
    const a = p.mmap({ lengthBytes: 3 * MiB })!;
    p.touchRange(a, 3 * MiB, 'write', 3);
    p.sbrk(64 * PAGE);
    p.touchRange(p.brkStart, 64 * PAGE, 'write', 4);
    p.touch(p.image!.entry, 'execute');
    expect(kernel.pmm.freeFrames).toBeLessThan(free0 - 800);
    const root = p.root;
    p.exit(3);
    expect(p.state).toBe('exited');
    expect(p.exitCode).toBe(3);
    expect(kernel.pmm.freeFrames).toBe(free0);
    expect(kernel.frames.usageByOwner()).toEqual(used0);
    expect(kernel.frames.framesOfPid(p.pid)).toBe(0);
    expect(kernel.addressSpaceRoots()).not.toContain(root);
    expect(kernel.processes.current).toBeNull();
    expect(kernel.machine.cpu.registers.cr3Frame).toBe(kernel.kernelRoot);
    expect(() => p.touch(a, 'read')).toThrow(ProcessStateError);
    expect(kernel.events.ofKind('process-exit').at(-1)).toMatchObject({ pid: p.pid, code: 3, cause: 'exit' });
    kernel.checkInvariants();
  });
});

describe('kernel.user', () => {
  it('reads and writes the current process through the CPU in user mode and throws ProcessKilledError on a kill', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    const a = p.mmap({ lengthBytes: PAGE })!;
    kernel.switchTo(p.pid);
    kernel.user.write32(a + 8, 0xdeadbeef);
    expect(kernel.user.read32(a + 8)).toBe(0xdeadbeef);
    kernel.user.writeBytes(a + 100, new Uint8Array([1, 2, 3]));
    expect([...kernel.user.readBytes(a + 100, 3)]).toEqual([1, 2, 3]);
    expect(() => kernel.user.fetch8(a)).toThrow(ProcessKilledError);
    expect(p.killed?.reason).toBe('execute-non-executable');
    expect(() => kernel.user.read8(a)).toThrow(ProcessStateError);
  });
});

describe('context switches', () => {
  it('loads each process\'s CR3 and emits context-switch events; without PCIDs the switch flushes the TLB', () => {
    const kernel = bootProcessKernel();
    const a = kernel.createProcess()!;
    const b = kernel.createProcess()!;
    a.touch(a.stackTop - 8, 'write', 1);
    b.touch(b.stackTop - 8, 'write', 2);
    expect(kernel.machine.cpu.registers.cr3Frame).toBe(b.root);
    a.touch(a.stackTop - 8, 'read');
    expect(kernel.machine.cpu.registers.cr3Frame).toBe(a.root);
    expect(kernel.events.ofKind('context-switch').slice(-3).map((e) => e.pid)).toEqual([a.pid, b.pid, a.pid]);
    kernel.switchTo(null);
    expect(kernel.machine.cpu.registers.cr3Frame).toBe(kernel.kernelRoot);
  });

  it('with PCIDs keeps other address spaces\' entries and invalidates a non-current one with INVPCID', () => {
    const kernel = bootProcessKernel({ kernel: { pcid: true } });
    const cpu = kernel.machine.cpu;
    cpu.tlb!.detectStaleUses = true;
    const a = kernel.createProcess()!;
    const b = kernel.createProcess()!;
    expect(a.pcid).not.toBe(b.pcid);
    const va = a.mmap({ lengthBytes: PAGE, va: 0x3000_0000 })!;
    expect(b.mmap({ lengthBytes: PAGE, va: 0x3000_0000 })).toBe(va);
    a.touch(va, 'write', 0xa);
    b.touch(va, 'write', 0xb);
    a.touch(va, 'read');
    const hits = cpu.tlb!.hits;
    kernel.switchTo(b.pid);
    expect(kernel.user.read8(va)).toBe(0xb);
    expect(cpu.tlb!.hits).toBeGreaterThan(hits); // b's entry survived the switch to a and back
    // Unmapping in a while b runs: a's cached translation must go (INVPCID individual address).
    a.munmap(va, PAGE);
    expect(a.touch(va, 'read')).toBe('segv');
    expect(cpu.tlb!.staleUseCount).toBe(0);
    kernel.checkInvariants();
  });
});

describe('events', () => {
  it('records a process\'s life in order and replays it from JSON lines', () => {
    const events = new EventLog();
    const kernel = bootProcessKernel({ events });
    const p = kernel.createProcess({ name: 'life' })!;
    p.sbrk(PAGE);
    p.touch(p.brkStart, 'write', 1);
    p.exit(0);
    const first = (k: string): number => events.all().findIndex((e) => e.kind === k && 'pid' in e && e.pid === p.pid);
    const order = ['process-create', 'brk', 'context-switch', 'page-fault', 'frame-alloc', 'process-exit'].map(first);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order.slice(0, 4)).toEqual([...order.slice(0, 4)].sort((x, y) => x - y));
    expect(order[5]).toBeGreaterThan(order[3]!);
    const replay = EventLog.fromJSONLines(events.toJSONLines());
    expect(replay.ofKind('page-fault').map((e) => e.resolution)).toEqual(events.ofKind('page-fault').map((e) => e.resolution));
  });

  it('reports system-wide frame usage by owner and by pid', () => {
    const kernel = bootProcessKernel();
    const p = kernel.createProcess()!;
    p.touch(p.stackTop - 1, 'write', 1);
    const u = kernel.processes.frameUsage();
    expect(u.byOwner.user).toBe(1);
    expect(u.byPid.get(p.pid)).toBe(p.pageTableCount + 1 + 1); // tables, root, one page
    expect(u.freeFrames).toBe(kernel.pmm.freeFrames);
  });
});

describe('supervisor accesses to user memory', () => {
  it('resolves a kernel write into a lazily mapped user page (copy_to_user) and panics on SMAP without STAC', () => {
    const kernel = bootProcessKernel({ kernel: { smap: true } });
    const p = kernel.createProcess()!;
    const a = p.mmap({ lengthBytes: PAGE })!;
    kernel.switchTo(p.pid);
    const cpu = kernel.machine.cpu;
    cpu.stac();
    cpu.write8(a, 0x77, Mode.Supervisor);
    cpu.clac();
    expect(p.stats.lazyZero).toBe(1);
    expect(kernel.user.read8(a)).toBe(0x77);
    // SDM 4.6.1: with CR4.SMAP = 1 and RFLAGS.AC = 0 a supervisor data access to a user page faults.
    expect(() => cpu.read8(a, Mode.Supervisor)).toThrow(/kernel panic/);
    expect(kernel.state).toBe('panicked');
  });
});

describe('processes with every table-access mechanism', () => {
  const noDirectMap = HIGHER_HALF.regions.filter((r) => r.role !== 'direct-map');
  const layouts: Layout[] = [
    validateLayout({ ...HIGHER_HALF, name: 'recursive', regions: noDirectMap, tableAccess: 'recursive', recursiveSlot: 510 }),
    validateLayout({
      ...HIGHER_HALF,
      name: 'window',
      regions: [...noDirectMap, { name: 'windows', role: 'table-window', start: linearFromCanonical('0xffff_fe00_0000_0000'), end: linearFromCanonical('0xffff_fe00_0020_0000'), purpose: 'table windows' }],
      tableAccess: 'window',
    }),
    IDENTITY_LOW,
  ];
  for (const layout of layouts) {
    it(`${layout.name}: exec, fork with COW, changes to a process that is not current, exit without leaks`, () => {
      const kernel = new Kernel(new Machine({ memoryMap: ramMap(256) }), { layout, events: new EventLog() });
      kernel.boot();
      kernel.cpu.tlb!.detectStaleUses = true;
      const free0 = kernel.pmm.freeFrames;
      const p = kernel.exec(undefined, elfFixture('hello-static-pie'), ['pie'])!;
      expect(p.touch(p.image!.entry, 'execute')).toBe('ok');
      const a = p.mmap({ lengthBytes: 3 * MiB })!;
      expect(p.touchRange(a, 3 * MiB, 'write', 0x5c)).toBe('ok');
      const c = kernel.fork(p.pid)!;
      expect(c.touch(a, 'write', 1)).toBe('ok');
      kernel.checkInvariants();
      // p is not current: its tables change while c's are loaded.
      expect(kernel.processes.current).toBe(c);
      p.mprotect(a, PAGE, PROT.Read);
      expect(p.munmap(a + MiB, MiB)).toBe(256);
      expect(p.translate(a)).toBeGreaterThan(0);
      kernel.checkInvariants();
      expect(p.touch(a, 'write', 2)).toBe('segv');
      kernel.switchTo(c.pid);
      expect(kernel.user.read8(a + MiB)).toBe(0x5c);
      c.exit(0);
      kernel.checkInvariants();
      expect(kernel.pmm.freeFrames).toBe(free0);
      expect(kernel.cpu.tlb!.staleUseCount).toBe(0);
    });
  }
});

describe('exec edge cases', () => {
  it('writes the initial stack under SMAP bracketed by STAC/CLAC (copy_to_user) and leaves RFLAGS.AC clear', () => {
    const kernel = bootProcessKernel({ kernel: { smap: true } });
    const p = kernel.exec(undefined, elfFixture('hello-static'), ['hello', 'x', 'y'])!;
    expect(kernel.user.read32(p.image!.rsp)).toBe(3);
    expect(kernel.cpu.registers.rflags & RFLAGS.AC).toBe(0);
    expect(kernel.events.ofKind('page-fault').filter((e) => e.pid === p.pid && e.mode === 'supervisor').length).toBeGreaterThan(0);
    kernel.checkInvariants();
  });

  it('OOM-kills the process when exec runs out of memory past the point of no return, and returns null', () => {
    const kernel = bootProcessKernel({ ramMiB: 64 });
    const p = kernel.createProcess({ name: 'victim' })!;
    const refill = drainFrames(kernel, 0);
    expect(kernel.exec(p.pid, elfFixture('hello-static'), ['hello'])).toBeNull();
    expect(p.state).toBe('killed');
    expect(p.killed).toMatchObject({ signal: 'SIGKILL', reason: 'out-of-memory' });
    refill();
    kernel.checkInvariants();
  });
});
