// Does the kernel boot on every real firmware map, with every shipped layout, and on 64 GiB, and
// does the whole system check out afterwards (ownership, mappings, every block's invariants)?
import { describe, expect, it } from 'vitest';
import { BOOT_STEPS, EventLog, Kernel, Machine, type LayoutName } from '../src/index';
import { Access, Mode, PTE } from '@kmem/x86-paging';
import { LAYOUT_NAMES, bigMemoryMap, bootFixtures, bootKernel, smallMap } from './boot-helpers';

const fixtures = bootFixtures();

describe('Kernel.boot', () => {
  it('finds the fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(28);
  });

  for (const layout of LAYOUT_NAMES) {
    it(`boots ${layout} on every fixture memory map and passes checkInvariants`, () => {
      for (const f of fixtures) {
        const kernel = bootKernel(f.regions, layout);
        expect(kernel.state, f.name).toBe('running');
        const p = kernel.kmalloc(200);
        expect(p, f.name).not.toBeNull();
        kernel.checkInvariants();
      }
    });

    it(`boots ${layout} on 64 GiB and passes checkInvariants`, () => {
      const kernel = bootKernel(bigMemoryMap(64), layout);
      expect(kernel.state).toBe('running');
      expect(kernel.pmm.totalFrames).toBe(65 * 262144);
      kernel.checkInvariants();
      // The direct map reaches the last byte of RAM (higher-half layouts).
      if (kernel.directMapOffset >= 0) {
        const last = 65 * 1024 ** 3 - 4096;
        const r = kernel.cpu.translate(kernel.directMapOffset + last, Access.Read, Mode.Supervisor);
        expect(r.fault).toBe(false);
        expect(r.pa).toBe(last);
      }
    });
  }

  it('emits one boot-step event per step, in order, with increasing seq', () => {
    const kernel = new Kernel(new Machine({ memoryMap: smallMap() }), { layout: 'higher-half', events: new EventLog() });
    const yielded: string[] = [];
    for (const e of kernel.bootSteps()) {
      yielded.push(e.step);
      expect(kernel.state).toBe(e.index === BOOT_STEPS.length - 1 ? 'running' : 'booting');
    }
    expect(yielded).toEqual([...BOOT_STEPS]);
    const steps = kernel.events.ofKind('boot-step');
    expect(steps.map((e) => e.step)).toEqual([...BOOT_STEPS]);
    expect(steps.map((e) => e.index)).toEqual(BOOT_STEPS.map((_, i) => i));
    for (let i = 1; i < steps.length; i++) expect(steps[i]!.seq).toBeGreaterThan(steps[i - 1]!.seq);
  });

  it('can be stepped: after the bootstrap-tables step CR3 holds the boot tables in .bss', () => {
    const kernel = new Kernel(new Machine({ memoryMap: smallMap() }), { layout: 'higher-half' });
    const it = kernel.bootSteps();
    it.next();
    it.next();
    const e = it.next();
    expect(e.value && e.value.step).toBe('bootstrap-tables');
    const pool = kernel.image.bootstrapPool;
    expect(kernel.cpu.registers.cr3Frame).toBeGreaterThanOrEqual(pool.pa);
    expect(kernel.cpu.registers.cr3Frame).toBeLessThan(pool.pa + pool.frameCount * 4096);
    // identity map and higher-half alias, both with 2 MiB pages
    const id = kernel.cpu.translate(kernel.image.pa, Access.Read, Mode.Supervisor);
    expect(id.fault).toBe(false);
    expect(id.pageSizeBytes).toBe(2 * 1024 * 1024);
    const alias = kernel.cpu.translate(kernel.image.va, Access.Read, Mode.Supervisor);
    expect(alias.pa).toBe(kernel.image.pa);
    expect(alias.pageSizeBytes).toBe(2 * 1024 * 1024);
    for (const _ of it) {
      // finish
    }
    expect(kernel.state).toBe('running');
  });

  it('refuses to boot twice', () => {
    const kernel = bootKernel(smallMap(), 'higher-half');
    expect(() => kernel.boot()).toThrow(expect.objectContaining({ code: 'E_KERNEL_STATE' }));
  });

  for (const layout of LAYOUT_NAMES) {
    it(`${layout}: text is R-X, rodata R--, data and bss RW- NX, through the MMU with WP/NXE on`, () => {
      const kernel = bootKernel(smallMap(), layout);
      const [text, rodata, data, bss] = kernel.image.sections;
      const cpu = kernel.cpu;
      const t = cpu.translate(text!.va, Access.Execute, Mode.Supervisor);
      expect(t.fault).toBe(false);
      expect(t.pageSizeBytes).toBe(4096);
      expect(cpu.translate(text!.va, Access.Write, Mode.Supervisor).fault).toBe(true);
      expect(cpu.translate(rodata!.va, Access.Read, Mode.Supervisor).fault).toBe(false);
      expect(cpu.translate(rodata!.va, Access.Write, Mode.Supervisor).fault).toBe(true);
      expect(cpu.translate(rodata!.va, Access.Execute, Mode.Supervisor).fault).toBe(true);
      expect(cpu.translate(data!.va, Access.Write, Mode.Supervisor).fault).toBe(false);
      expect(cpu.translate(data!.va, Access.Execute, Mode.Supervisor).fault).toBe(true);
      expect(cpu.translate(bss!.va + bss!.sizeBytes - 8, Access.Write, Mode.Supervisor).fault).toBe(false);
      // user mode reaches nothing of the kernel
      expect(cpu.translate(text!.va, Access.Read, Mode.User).fault).toBe(true);
      // the kernel image's signature is readable through the higher-half mapping
      expect(String.fromCharCode(cpu.read8(text!.va), cpu.read8(text!.va + 1), cpu.read8(text!.va + 2), cpu.read8(text!.va + 3))).toBe('KMEM');
    });

    it(`${layout}: the kernel stack is mapped RW NX with an unmapped guard page below`, () => {
      const kernel = bootKernel(smallMap(), layout);
      const [stack] = kernel.kernelStacks;
      expect(kernel.stackPointer).toBe(stack!.top);
      const cpu = kernel.cpu;
      expect(cpu.translate(stack!.top - 8, Access.Write, Mode.Supervisor).fault).toBe(false);
      expect(cpu.translate(stack!.bottom, Access.Write, Mode.Supervisor).fault).toBe(false);
      const g = cpu.translate(stack!.guard, Access.Write, Mode.Supervisor);
      expect(g.fault).toBe(true);
      expect(g.errorCode & 1).toBe(0); // not present
      expect(kernel.frames.kindOf(kernel.kernelMapper.translate(stack!.bottom)!.pa)).toBe('kernel-stack');
    });
  }

  it('higher-half: the lower half is empty after the switch (the identity map died with the boot tables)', () => {
    const kernel = bootKernel(smallMap(), 'higher-half');
    expect(kernel.kernelMapper.mappings().filter((m) => m.start < 0x8000_0000_0000)).toEqual([]);
    expect(kernel.cpu.translate(kernel.image.pa, Access.Read, Mode.Supervisor).fault).toBe(true);
  });

  it('higher-half: the direct map uses 1 GiB pages where alignment allows and is NX and global', () => {
    const kernel = bootKernel(bigMemoryMap(8), 'higher-half');
    const ranges = kernel.kernelMapper.mappings().filter((m) => m.start >= kernel.directMapOffset);
    expect(ranges.some((m) => m.pageSizeBytes === 1024 ** 3)).toBe(true);
    for (const m of ranges) {
      expect(m.flags & PTE.NoExecute).not.toBe(0);
      expect(m.flags & PTE.Global).not.toBe(0);
    }
  });

  it('turns on CR0.WP, EFER.NXE, CR4.PGE and SMEP (SMAP only when asked)', () => {
    const a = bootKernel(smallMap(), 'higher-half');
    expect(a.cpu.registers.writeProtect).toBe(true);
    expect(a.cpu.registers.noExecuteEnabled).toBe(true);
    expect(a.cpu.registers.globalPagesEnabled).toBe(true);
    expect(a.cpu.registers.smep).toBe(true);
    expect(a.cpu.registers.smap).toBe(false);
    const b = bootKernel(smallMap(), 'higher-half', { smap: true, smep: false });
    expect(b.cpu.registers.smap).toBe(true);
    expect(b.cpu.registers.smep).toBe(false);
  });

  it('places the frame bitmap in RAM and keeps it equal to the allocator after allocations', () => {
    const kernel = bootKernel(smallMap(), 'limine-higher-half');
    const pa = kernel.pmm.bitmapPa!;
    expect(kernel.frames.kindOf(pa)).toBe('bitmap');
    const got: number[] = [];
    for (let i = 0; i < 100; i++) got.push(kernel.frames.allocFrame({ kind: 'kernel-data' })!);
    const words = kernel.pmm.exportWords();
    for (let w = 0; w < words.length; w++) expect(kernel.memory.read32(pa + w * 4)).toBe(words[w]);
    for (const f of got) kernel.frames.freeFrame(f);
    kernel.checkInvariants();
  });

  it('gives every used frame exactly one owner: image, bitmap, tables, reserved add up to the used count', () => {
    const kernel = bootKernel(smallMap(), 'higher-half');
    const usage = kernel.frames.usageByOwner();
    const sum = Object.values(usage).reduce((a, b) => a + b, 0);
    const s = kernel.pmm.stats();
    expect(sum).toBe(s.usedFrames);
    expect(usage['kernel-image']).toBe(kernel.image.sizeBytes / 4096);
    expect(usage.bitmap).toBe(kernel.pmm.bitmapFrameCount);
    expect(usage['page-table']).toBeGreaterThan(256);
    expect(usage['kernel-stack']).toBe(4);
  });

  it('boots a custom layout object', () => {
    const machine = new Machine({ memoryMap: smallMap() });
    const base = bootKernel(smallMap(), 'higher-half').layout;
    const layout = { ...base, name: 'custom', kernelPhysicalBase: 32 * 1024 * 1024, regions: base.regions.map((r) => (r.role === 'kernel-image' ? { ...r, start: r.start + 16 * 1024 * 1024 } : r)) };
    const kernel = new Kernel(machine, { layout });
    kernel.boot();
    expect(kernel.image.pa).toBe(32 * 1024 * 1024);
    kernel.checkInvariants();
  });

  it.each(LAYOUT_NAMES)('%s: typed error when the kernel image is not in usable RAM', (layout: LayoutName) => {
    const machine = new Machine({ memoryMap: [{ base: 0, lengthBytes: 64 * 1024 * 1024, kind: 'usable' }, { base: 0, lengthBytes: 48 * 1024 * 1024, kind: 'reserved' }] });
    expect(() => new Kernel(machine, { layout })).toThrow(expect.objectContaining({ code: 'E_KERNEL_CONFIG' }));
  });
});

describe('Kernel.bootSteps', () => {
  it('keeps checkInvariants true after every step', () => {
    const kernel = new Kernel(new Machine({ memoryMap: smallMap() }), { layout: 'limine-higher-half' });
    kernel.checkInvariants();
    for (const e of kernel.bootSteps()) {
      expect(() => kernel.checkInvariants(), e.step).not.toThrow();
    }
  });

  it('boots a Limine-style map where the kernel and a module sit in kernel-and-modules ranges', () => {
    const MiB = 1024 * 1024;
    const regions = [
      { base: 0x1000, lengthBytes: 0x9e000, kind: 'usable' as const },
      { base: 0x100000, lengthBytes: MiB, kind: 'usable' as const },
      { base: 2 * MiB, lengthBytes: 4 * MiB, kind: 'kernel-and-modules' as const },
      { base: 6 * MiB, lengthBytes: 122 * MiB, kind: 'usable' as const },
    ];
    const kernel = bootKernel(regions, 'limine-higher-half', { modules: [{ name: 'initrd', pa: 4 * MiB, sizeBytes: 1.5 * MiB }] });
    expect(kernel.frames.kindOf(2 * MiB)).toBe('kernel-image');
    expect(kernel.frames.kindOf(4 * MiB)).toBe('module');
    expect(kernel.frames.kindOf(5.5 * MiB)).toBe('reserved');
    kernel.checkInvariants();
  });
});
