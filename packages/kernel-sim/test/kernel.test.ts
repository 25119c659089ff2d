// Panics, address spaces for processes, the event log, frame ownership and memory images: the
// kernel parts other packages build on.
import { describe, expect, it } from 'vitest';
import { Access, Cpu, Mode, PTE, walkTables, PhysicalTableAccess } from '@kmem/x86-paging';
import {
  EventLog,
  FrameOwners,
  Kernel,
  KernelPanic,
  Machine,
  SparsePhysicalMemory,
  exportRawImage,
  importRawImage,
  importSparseImage,
  type KernelEvent,
} from '../src/index';
import { LAYOUT_NAMES, bootKernel, smallMap } from './boot-helpers';

const USER_RW = PTE.Present | PTE.Writable | PTE.User | PTE.NoExecute;

describe('Kernel.panic', () => {
  it('stops the kernel with a report (CR2, error code, the walk of CR2), throws KernelPanic, and the host goes on', () => {
    const k = bootKernel(smallMap(), 'higher-half');
    const seen: KernelEvent[] = [];
    k.events.subscribe((e) => seen.push(e));
    k.cpu.onPageFault((fault) => k.panicOnFault(fault));
    const va = k.virtaddrAlloc(4096)!; // reserved but never mapped
    let caught: unknown;
    try {
      k.cpu.write32(va, 1, Mode.Supervisor);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(KernelPanic);
    const panic = caught as KernelPanic;
    expect(panic.code).toBe('E_KERNEL_PANIC');
    expect(panic.report.cr2).toBe(va);
    expect(panic.report.errorCode).toBe(0b10); // not present, write, supervisor
    expect(panic.report.errorCodeText).toContain('write');
    expect(panic.report.walk).toContain('PML4');
    expect(panic.report.walk).toContain('not present');
    expect(panic.report.cr3).toBe(k.kernelRoot);
    expect(k.state).toBe('panicked');
    expect(seen.filter((e) => e.kind === 'panic')).toHaveLength(1);
    expect(() => k.kmalloc(8)).toThrow(expect.objectContaining({ code: 'E_KERNEL_STATE' }));
    // the panicked kernel's state still checks out (nothing was half-done)
    k.checkInvariants();
  });

  it('panics with a plain reason and extra details', () => {
    const k = bootKernel(smallMap(), 'identity-low');
    expect(() => k.panic('out of ideas', { extra: { answer: 42 } })).toThrow(KernelPanic);
    const e = k.events.ofKind('panic')[0]!;
    expect(e.report.reason).toBe('out of ideas');
    expect(e.report.details).toEqual({ answer: 42 });
    expect(e.report.walk).toBeUndefined();
  });

  it('a boot step that cannot finish panics instead of crashing the host', () => {
    // 6 MiB of RAM: the kernel image fits, the higher-half kernel's shared tables do not.
    const machine = new Machine({ memoryMap: [{ base: 0, lengthBytes: 0x9f000, kind: 'usable' }, { base: 0x100000, lengthBytes: 0x1100000, kind: 'usable' }] });
    const k = new Kernel(machine, { layout: 'higher-half', kernelImage: { textBytes: 4096 * 256, rodataBytes: 4096, dataBytes: 4096, bssBytes: 256 * 1024 } });
    // leave almost nothing free after the image
    let err: unknown;
    try {
      const steps = k.bootSteps();
      steps.next();
      steps.next();
      while (k.pmm.freeFrames > 100) k.frames.allocFrame({ kind: 'kernel-data' });
      for (;;) if (steps.next().done === true) break;
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelPanic);
    expect((err as KernelPanic).report.reason).toContain('boot step table-access failed');
    expect(k.state).toBe('panicked');
  });
});

describe('Kernel.newAddressSpaceRoot / mapperFor', () => {
  for (const layout of LAYOUT_NAMES) {
    it(`${layout}: a new root shares the kernel, and kernel mappings made later are seen through it`, () => {
      const k = bootKernel(smallMap(), layout);
      const root = k.newAddressSpaceRoot(7)!;
      expect(k.frames.ownerOf(root)).toEqual({ kind: 'page-table', pid: 7 });
      const user = k.mapperFor(root, 7);
      const text = k.image.sections[0]!.va;
      expect(user.translate(text)!.pa).toBe(k.image.pa);
      // a user page in the process...
      const uva = k.layout.userRange.start + 0x10_0000;
      // (owned 'kernel-data': 'user' frames belong to processes the process layer tracks)
      const frame = k.frames.allocFrame({ kind: 'kernel-data' })!;
      expect(user.mapPages(uva, frame, 1, USER_RW)).toBe(true);
      for (const t of user.tableFrames()) expect(k.frames.ownerOf(t)).toEqual({ kind: 'page-table', pid: 7 });
      // ...is not in the kernel's tables
      expect(k.kernelMapper.isMapped(uva)).toBe(false);
      // a heap page mapped after the root was made is visible in it
      const p = k.kmalloc(200_000)!;
      expect(user.translate(p)!.pa).toBe(k.kernelMapper.translate(p)!.pa);
      // through the CPU: switch CR3, user reaches its page, not the kernel's
      k.cpu.writeCr3(root);
      expect(k.cpu.translate(uva, Access.Write, Mode.User).fault).toBe(false);
      expect(k.cpu.translate(text, Access.Read, Mode.User).fault).toBe(true);
      expect(k.cpu.translate(p, Access.Read, Mode.Supervisor).fault).toBe(false);
      k.cpu.writeCr3(k.kernelRoot);
      k.checkInvariants();
      // tear down: refuses while user pages remain, then frees everything
      expect(() => k.freeAddressSpaceRoot(root)).toThrow(expect.objectContaining({ code: 'E_KERNEL_ADDRESS' }));
      const runs = user.unmapPages(uva, 1)!;
      for (const r of runs) k.frames.freeFrame(r.pa);
      k.freeAddressSpaceRoot(root);
      expect(k.frames.framesOfPid(7)).toBe(0);
      expect(k.addressSpaceRoots()).toEqual([]);
      k.checkInvariants();
    });
  }

  it('returns null and allocates nothing when memory is exhausted', () => {
    const k = bootKernel(smallMap(), 'identity-low');
    const hog: number[] = [];
    while (k.pmm.freeFrames > 2) hog.push(k.frames.allocFrame({ kind: 'kernel-data' })!);
    const free = k.pmm.freeFrames;
    expect(k.newAddressSpaceRoot(3)).toBeNull(); // identity-low needs three frames
    expect(k.pmm.freeFrames).toBe(free);
    k.checkInvariants();
  });
});

describe('EventLog', () => {
  it('keeps the last `capacity` events, counts all of them, and says how many it dropped', () => {
    const log = new EventLog({ capacity: 3 });
    for (let i = 0; i < 5; i++) log.emit({ kind: 'tlb-flush', reason: 'invlpg', va: i * 4096 });
    expect(log.all().map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(log.dropped).toBe(2);
    expect(log.count('tlb-flush')).toBe(5);
    expect(log.emitted).toBe(5);
    log.checkInvariants();
  });

  it('tells subscribers synchronously until they unsubscribe; excluded kinds are not recorded', () => {
    const log = new EventLog({ exclude: ['frame-alloc'] });
    const got: number[] = [];
    const off = log.subscribe((e) => got.push(e.seq));
    log.emit({ kind: 'unmap', va: 0, pageCount: 1, what: 'x' });
    expect(log.emit({ kind: 'frame-alloc', frame: 0x1000, owner: 'heap' })).toBeNull();
    expect(log.wants('frame-alloc')).toBe(false);
    off();
    log.emit({ kind: 'unmap', va: 0, pageCount: 1, what: 'y' });
    expect(got).toEqual([1]);
    expect(log.count('frame-alloc')).toBe(0);
  });

  it('records a boot as JSON Lines and replays it', () => {
    const k = bootKernel(smallMap(), 'higher-half');
    const text = k.events.toJSONLines();
    const replay = EventLog.fromJSONLines(text);
    expect(replay.all()).toEqual(k.events.all());
    expect(replay.ofKind('boot-step').map((e) => e.step)).toEqual(k.events.ofKind('boot-step').map((e) => e.step));
    expect(replay.toJSONLines()).toBe(text);
    replay.emit({ kind: 'unmap', va: 0, pageCount: 1, what: 'after replay' });
    expect(replay.all().at(-1)!.seq).toBe(k.events.emitted + 1);
  });

  it('refuses malformed JSON Lines with the line number', () => {
    expect(() => EventLog.fromJSONLines('{"seq":1,"kind":"x"}\nnot json')).toThrow(expect.objectContaining({ code: 'E_EVENT_LOG_PARSE', line: 2 }));
    expect(() => EventLog.fromJSONLines('{"seq":2,"kind":"x"}\n{"seq":1,"kind":"x"}')).toThrow(expect.objectContaining({ line: 2 }));
    expect(() => EventLog.fromJSONLines('[1]')).toThrow(expect.objectContaining({ code: 'E_EVENT_LOG_PARSE' }));
    expect(() => new EventLog({ capacity: 0 })).toThrow(expect.objectContaining({ code: 'E_EVENT_LOG_OPTION' }));
  });
});

describe('FrameOwners', () => {
  it('refuses a double free and a free of an unowned frame, changing nothing', () => {
    const k = bootKernel(smallMap(), 'higher-half');
    const f = k.frames.allocFrame({ kind: 'kernel-data' })!;
    k.frames.freeFrame(f);
    const free = k.pmm.freeFrames;
    expect(() => k.frames.freeFrame(f)).toThrow(expect.objectContaining({ code: 'E_FRAME_OWNERSHIP' }));
    expect(() => k.frames.freeFrame(f + 1)).toThrow(expect.objectContaining({ code: 'E_FRAME_OWNERSHIP' }));
    expect(k.pmm.freeFrames).toBe(free);
    k.checkInvariants();
  });

  it('counts references of shared frames; the last free returns the frame', () => {
    const k = bootKernel(smallMap(), 'higher-half');
    const f = k.frames.allocFrame({ kind: 'user', pid: 1 })!;
    expect(k.frames.share(f)).toBe(2);
    expect(k.frames.refCount(f)).toBe(2);
    k.frames.freeFrame(f);
    expect(k.frames.refCount(f)).toBe(1);
    expect(k.pmm.isFree(f)).toBe(false);
    k.frames.transfer(f, { kind: 'user', pid: 2 });
    expect(k.frames.framesOfPid(1)).toBe(0);
    expect(k.frames.framesOfPid(2)).toBe(1);
    k.frames.freeFrame(f);
    expect(k.frames.refCount(f)).toBe(0);
    expect(k.pmm.isFree(f)).toBe(true);
    k.checkInvariants();
  });

  it('hands out zeroed frames even when the last owner left data behind', () => {
    const k = bootKernel(smallMap(), 'higher-half');
    const f = k.frames.allocFrame({ kind: 'user', pid: 1 })!;
    k.memory.write32(f + 64, 0xabcdef);
    k.frames.freeFrame(f);
    const g = k.frames.allocFrame({ kind: 'user', pid: 2 })!;
    expect(g).toBe(f);
    expect(k.memory.read32(g + 64)).toBe(0);
  });

  it('checkInvariants catches a frame taken behind its back', () => {
    const k = bootKernel(smallMap(), 'higher-half');
    k.pmm.allocFrame();
    expect(() => k.frames.checkInvariants()).toThrow(expect.objectContaining({ code: 'E_KERNEL_INVARIANT' }));
  });

  it('owns exactly the frames the allocator counts as used', () => {
    const k = bootKernel(smallMap(), 'higher-half');
    expect(k.frames).toBeInstanceOf(FrameOwners);
    expect(k.frames.ownedFrames).toBe(k.pmm.stats().usedFrames);
  });
});

describe('Kernel.exportImage', () => {
  for (const layout of LAYOUT_NAMES) {
    it(`${layout}: the exported memory and CR3, loaded into a fresh CPU, translate every address the same way`, () => {
      const k = bootKernel(smallMap(), layout);
      const p = k.kmalloc(5000)!;
      k.cpu.write32(p, 0xfeedface);
      const image = importSparseImage(k.exportImage());
      expect(image.registers.cr3).toBe(k.kernelRoot);
      const cpu = new Cpu({ memory: image.memory, registers: { cr0: image.registers.cr0 | 0, cr3Frame: image.registers.cr3 - (image.registers.cr3 % 4096), cr4: image.registers.cr4 | 0, efer: image.registers.efer | 0 } });
      const probes = [k.image.sections[0]!.va, k.image.sections[2]!.va + 8, p, k.kernelStacks[0]!.top - 8, k.kernelStacks[0]!.guard];
      if (k.directMapOffset >= 0) probes.push(k.directMapOffset + 0x200_0000);
      for (const va of probes) {
        for (const access of [Access.Read, Access.Write, Access.Execute]) {
          const a = k.cpu.mmu.probe(va);
          const b = cpu.mmu.probe(va);
          expect([b.fault, b.pa, b.pageSizeBytes, b.flags & ~(PTE.Accessed | PTE.Dirty)]).toEqual([a.fault, a.pa, a.pageSizeBytes, a.flags & ~(PTE.Accessed | PTE.Dirty)]);
          expect(cpu.translate(va, access, Mode.Supervisor).fault).toBe(k.cpu.translate(va, access, Mode.Supervisor).fault);
        }
      }
      expect(cpu.read32(p)).toBe(0xfeedface);
      // the page walk read from the raw image is the same too
      const raw = exportRawImage(k.memory, { limitBytes: 128 * 1024 * 1024 });
      const bitmap = k.pmm.bitmapPa!;
      const words = k.pmm.exportWords();
      expect(new DataView(raw.buffer).getUint32(bitmap, true)).toBe(words[0]);
      const steps = walkTables(new PhysicalTableAccess(image.memory), k.kernelRoot, p);
      expect(steps.at(-1)!.entry.pa).toBe(k.kernelMapper.translate(p)!.pa - (k.kernelMapper.translate(p)!.pa % 4096));
      // The flat raw image (what QEMU's -device loader takes) plus CR3 gives the same translations.
      const flat = SparsePhysicalMemory.fromMemoryMap(k.machine.memoryMap);
      importRawImage(flat, raw);
      const rawCpu = new Cpu({ memory: flat, registers: { cr0: k.cpu.registers.cr0, cr3Frame: k.kernelRoot, cr4: k.cpu.registers.cr4, efer: k.cpu.registers.efer } });
      for (const va of probes) {
        const a = k.cpu.mmu.probe(va);
        const b = rawCpu.mmu.probe(va);
        expect([b.fault, b.pa, b.pageSizeBytes]).toEqual([a.fault, a.pa, a.pageSizeBytes]);
      }
      expect(rawCpu.read32(p)).toBe(0xfeedface);
    });
  }
});

describe('Kernel.allocKernelStack', () => {
  for (const layout of LAYOUT_NAMES) {
    it(`${layout}: stacks go down the stack region, each with an unmapped guard page; freed slots are reused`, () => {
      const k = bootKernel(smallMap(), layout);
      const a = k.allocKernelStack()!;
      const b = k.allocKernelStack()!;
      expect(a.top).toBe(k.kernelStacks[0]!.guard);
      expect(b.top).toBe(a.guard);
      for (const s of [a, b]) {
        expect(k.cpu.translate(s.top - 8, Access.Write, Mode.Supervisor).fault).toBe(false);
        expect(k.cpu.translate(s.guard, Access.Read, Mode.Supervisor).fault).toBe(true);
        expect(k.frames.kindOf(k.kernelMapper.translate(s.bottom)!.pa)).toBe('kernel-stack');
      }
      k.checkInvariants();
      k.freeKernelStack(a.top);
      expect(k.kernelMapper.isMapped(a.bottom)).toBe(false);
      expect(k.allocKernelStack()!.top).toBe(a.top);
      expect(() => k.freeKernelStack(k.stackPointer)).toThrow(expect.objectContaining({ code: 'E_KERNEL_ADDRESS' }));
      expect(() => k.freeKernelStack(12345)).toThrow(expect.objectContaining({ code: 'E_KERNEL_ADDRESS' }));
      k.checkInvariants();
    });
  }

  it('returns null when the stack region is full', () => {
    const k = bootKernel(smallMap(), 'higher-half', { kernelStackBytes: 1024 * 1024 });
    let n = 1;
    while (k.allocKernelStack() !== null) n++;
    // 16 MiB region, 1 MiB + a 4 KiB guard each
    expect(n).toBe(15);
    k.checkInvariants();
  });
});
