// Seed 002's 32-bit higher-half kernel, point by point: does it boot on real multiboot1 hand-overs
// with the seed's boot tables and its six sysinit steps in order, is the identity map gone after
// the remap, do the kernel's PDEs stay the same in every directory, are kernel pages Global?
import { describe, expect, it } from 'vitest';
import { CR0, CR4, Mode, PTE, PagingMode } from '@kmem/x86-paging';
import {
  BOOT_STEPS_32,
  EventLog,
  Kernel32,
  KernelConfigError,
  KernelPanic,
  HIGHER_HALF_3G,
  Machine,
  MultibootModuleError,
} from '../src/index';
import { thrown } from '../../../test-support/thrown';
import { bootKernel32, grubHandOver, qemuHandOver } from './kernel32-helpers';

const MiB = 2 ** 20;

describe('Kernel32 boot', () => {
  it("runs the boot tables and the seed's six sysinit steps in order, as named boot steps", () => {
    const events = new EventLog();
    const k = bootKernel32(qemuHandOver('128m'), { events });
    const steps = events.ofKind('boot-step');
    expect(steps.map((e) => e.step)).toEqual([...BOOT_STEPS_32]);
    expect(steps.map((e) => e.step)).toEqual(['boot-tables-4mib', 'pmm-from-multiboot', 'lock-kernel-frames', 'lock-module-frames', 'vmm-init', 'remap-higher-half', 'relocate-stack']);
    expect(k.state).toBe('running');
    k.checkInvariants();
  });

  it('turns paging on with 4 MiB pages: identity [0, 3 GiB) and 0xc000_0000 -> the first 4 MiB (SDM 4.3: CR4.PSE, PDE.PS)', () => {
    const events = new EventLog();
    const k = bootKernel32(grubHandOver('seabios-grub-128m'), { events });
    const first = events.ofKind('boot-step')[0]!;
    expect(first.detail).toMatchObject({ identityBytes: 3 * 1024 * MiB, identityPdes: 768, higherHalfVa: 0xc000_0000, higherHalfBytes: 4 * MiB, recursivePde: 1023 });
    // The boot directory is in the image's .bss and still holds those entries: PDE 0 a 4 MiB page at 0, PDE 768 one at 0 too.
    const bootDir = k.machine.memory.frameWords(k.image.bootDirectoryPa);
    expect(bootDir[0]! & (PTE.Present | PTE.HugePage)).toBe(PTE.Present | PTE.HugePage);
    expect(bootDir[767]! >>> 22).toBe(767);
    expect(bootDir[768]! & ~0x3fffff).toBe(0);
    expect(bootDir[768]! & PTE.Global).toBe(PTE.Global);
    expect(bootDir[1023]! & ~0xfff).toBe(k.image.bootDirectoryPa);
    const regs = k.machine.cpu.registers;
    expect(k.machine.cpu.pagingMode).toBe(PagingMode.ThirtyTwoBit);
    expect(regs.cr0 & (CR0.PG | CR0.WP)).toBe(CR0.PG | CR0.WP);
    expect(regs.cr4 & (CR4.PSE | CR4.PGE | CR4.PAE)).toBe(CR4.PSE | CR4.PGE);
  });

  it('loads the image at 1 MiB and runs it at 0xc010_0000; locks its frames, the modules and the bitmap after them', () => {
    const k = bootKernel32(qemuHandOver('128m'));
    expect(k.image.pa).toBe(MiB);
    expect(k.image.va).toBe(0xc010_0000);
    expect(k.machine.cpu.mmu.probe(0xc010_0000).pa).toBe(MiB);
    for (let f = MiB; f < MiB + k.image.sizeBytes; f += 4096) expect(k.frames.kindOf(f)).toBe('kernel-image');
    expect(k.modules.map((m) => m.cmdline)).toEqual(['mod-one.bin root=/dev/ram0 quiet', 'mod-two.bin']);
    for (const m of k.modules) for (let f = m.startPa; f < m.endPa; f += 4096) expect(k.frames.kindOf(f - (f % 4096))).toBe('module');
    const bitmapPa = k.frames.bitmapAddress!;
    expect(bitmapPa).toBeGreaterThanOrEqual(k.modules.at(-1)!.endPa);
    expect(k.frames.kindOf(bitmapPa)).toBe('bitmap');
    k.checkInvariants();
  });

  it('remaps the higher half with 4 KiB pages and section rights, Global, in a new directory', () => {
    const k = bootKernel32(grubHandOver('seabios-grub-128m'));
    expect(k.machine.cpu.registers.cr3Frame).toBe(k.kernelRoot);
    expect(k.kernelRoot).not.toBe(k.image.bootDirectoryPa);
    const text = k.mapper.translate(0xc010_0000)!;
    expect([text.pa, text.pageSizeBytes, text.flags & (PTE.Writable | PTE.Global)]).toEqual([MiB, 4096, PTE.Global]);
    const bss = k.image.sections.find((s) => s.name === 'bss')!;
    const data = k.mapper.translate(k.image.va + bss.start)!;
    expect(data.flags & (PTE.Writable | PTE.Global)).toBe(PTE.Writable | PTE.Global);
    // SDM 4.6 with CR0.WP = 1: a supervisor write to read-only text faults (and panics this kernel).
    const e = thrown(() => k.machine.cpu.write32(0xc010_0000, 0, Mode.Supervisor));
    expect(e).toBeInstanceOf(KernelPanic);
    expect((e as KernelPanic).report.errorCode! & 0b11).toBe(0b11); // P = 1 (protection), W/R = 1
  });

  it('does not rebuild the identity map: an access through it after step 5 faults (not present) and panics with a 2-level walk', () => {
    const k = bootKernel32(grubHandOver('seabios-grub-128m'));
    const e = thrown(() => k.machine.cpu.read32(MiB, Mode.Supervisor)); // the image, by its physical address
    expect(e).toBeInstanceOf(KernelPanic);
    const report = (e as KernelPanic).report;
    expect(report.cr2).toBe(MiB);
    expect(report.errorCode! & 1).toBe(0); // P = 0: no translation (SDM 4.7)
    expect(report.walk).toMatch(/32-bit paging/);
    expect(report.walk).toMatch(/PD +\[ *0\]/);
    expect(k.state).toBe('panicked');
  });

  it('edits its tables through the recursive PDE 1023: the directory at 0xffff_f000, the page tables at 0xffc0_0000', () => {
    const k = bootKernel32(grubHandOver('seabios-grub-128m'));
    const cpu = k.machine.cpu;
    expect(cpu.mmu.probe(0xffff_f000).pa).toBe(k.kernelRoot);
    const pde768 = cpu.read32(0xffff_f000 + 768 * 4, Mode.Supervisor);
    expect(cpu.mmu.probe(0xffc0_0000 + 768 * 4096).pa).toBe((pde768 & ~0xfff) >>> 0);
    expect(k.tableAccess.recursiveAddress(2, 0)).toBe(0xffff_f000);
    // A kernel mapping made after boot is written through the window: its PTE reads back through 0xffc0_0000.
    const va = k.kmalloc(8192)!;
    const pte = cpu.read32(0xffc0_0000 + (va >>> 12) * 4, Mode.Supervisor);
    expect(pte & (PTE.Present | PTE.Global)).toBe(PTE.Present | PTE.Global);
  });

  it('allocates, maps and relocates the stack: the live boot stack copied, ESP moved, old and new shown', () => {
    const events = new EventLog();
    const k = bootKernel32(qemuHandOver('128m'), { events, multibootInfoPa: 0x9500 });
    const s = k.stack;
    expect(s.oldTop).toBe(k.image.bootStack.end);
    expect(s.newTop).toBe(0xffc0_0000);
    expect(s.copiedBytes).toBe(12); // kmain's return address, the magic, the info pointer
    expect(s.newEsp).toBe(0xffc0_0000 - 12);
    expect(k.esp).toBe(s.newEsp);
    const cpu = k.machine.cpu;
    expect([cpu.read32(s.newEsp, Mode.Supervisor), cpu.read32(s.newEsp + 4, Mode.Supervisor), cpu.read32(s.newEsp + 8, Mode.Supervisor)]).toEqual([k.image.va, 0x2bad_b002, 0x9500]);
    const step = events.ofKind('boot-step').at(-1)!;
    expect(step.summary).toMatch(/ESP 0xc01[0-9a-f]_[0-9a-f]{4} -> 0xffbf_fff4/);
    // The guard page below the stack is not mapped.
    expect(k.mapper.translate(step.detail.guardVa as number)).toBeNull();
  });
});

describe('Kernel32 address spaces', () => {
  it('shares PDEs 768-1022 with every directory, so a kmalloc after process creation is visible under every CR3', () => {
    const k = bootKernel32(grubHandOver('seabios-grub-128m'));
    const roots = [k.newAddressSpaceRoot(1)!, k.newAddressSpaceRoot(2)!];
    k.checkInvariants();
    const va = k.kmalloc(64 * 1024)!; // new heap pages, mapped after both directories were made
    k.machine.cpu.write32(va + 60 * 1024, 0x5eed_0002, Mode.Supervisor);
    for (const root of roots) {
      k.switchTo(root);
      expect(k.machine.cpu.read32(va + 60 * 1024, Mode.Supervisor)).toBe(0x5eed_0002);
      // Each directory's PDE 1023 is itself: the window shows this directory.
      expect(k.machine.cpu.mmu.probe(0xffff_f000).pa).toBe(root);
    }
    k.switchTo(k.kernelRoot);
    k.checkInvariants();
    for (const root of roots) k.freeAddressSpaceRoot(root);
    k.kfree(va);
    k.checkInvariants();
  });

  it('keeps Global kernel pages in the TLB across a CR3 switch (CR4.PGE, SDM 4.10.2.4) and drops the rest', () => {
    const k = bootKernel32(grubHandOver('seabios-grub-128m'));
    const root = k.newAddressSpaceRoot(1)!;
    const cpu = k.machine.cpu;
    cpu.read32(0xc010_0000, Mode.Supervisor); // kernel text: Global
    cpu.read32(0xffff_f000, Mode.Supervisor); // the directory through the window: not Global
    const cached = (va: number): boolean => cpu.tlb!.entries().some((e) => e.pageNumber === Math.floor(va / 4096));
    expect(cached(0xc010_0000) && cached(0xffff_f000)).toBe(true);
    k.switchTo(root);
    expect(cached(0xc010_0000)).toBe(true);
    expect(cached(0xffff_f000)).toBe(false);
  });

  it('refuses to free a directory with user page tables left, or one it did not make', () => {
    const k = bootKernel32(grubHandOver('seabios-grub-128m'));
    expect(thrown(() => k.freeAddressSpaceRoot(k.kernelRoot))).toMatchObject({ code: 'E_KERNEL_ADDRESS' });
  });
});

describe('Kernel32 on more RAM than 32-bit paging reaches', () => {
  for (const name of ['seabios-grub-5g', 'seabios-q35-grub-5g', 'ovmf-grub-5g']) {
    it(`boots on ${name} and leaves the RAM above 4 GiB unused, with the reason reported`, () => {
      const events = new EventLog();
      const handOver = grubHandOver(name);
      const k = bootKernel32(handOver, { events });
      const above = handOver.regions!.filter((r) => r.kind === 'usable' && r.base >= 2 ** 32).reduce((n, r) => n + r.lengthBytes, 0);
      expect(above).toBeGreaterThanOrEqual(2 * 1024 * MiB);
      expect(k.ignoredRamBytes).toBe(above);
      expect(k.pmm.totalFrames * 4096).toBeLessThanOrEqual(2 ** 32);
      const step = events.ofKind('boot-step')[1]!;
      expect(step.summary).toMatch(/above 4 GiB ignored/);
      k.checkInvariants();
    });
  }
});

describe('Kernel32 bad input', () => {
  it('refuses a machine already in long mode and a 4-level layout, before anything changes', () => {
    const regions = grubHandOver('seabios-grub-128m').regions!;
    expect(thrown(() => new Kernel32({ machine: new Machine({ memoryMap: regions }) }))).toBeInstanceOf(KernelConfigError);
    const machine = new Machine({ memoryMap: regions, cpuMode: 'protected' });
    expect(thrown(() => new Kernel32({ machine, layout: { ...HIGHER_HALF_3G, pagingMode: '4-level' } }))).toMatchObject({ code: 'E_LAYOUT_PAGING_MODE' });
    expect(machine.cpu.pagingMode).toBe(PagingMode.None);
  });

  it('validates its layout: overlapping regions, an address outside 4 GiB, no recursive PDE 1023 are refused, nothing booted', () => {
    const machine = new Machine({ memoryMap: grubHandOver('seabios-grub-128m').regions!, cpuMode: 'protected' });
    const regions = HIGHER_HALF_3G.regions;
    const overlap = { ...HIGHER_HALF_3G, regions: regions.map((r) => (r.name === 'kernel-heap' ? { ...r, start: 0xc030_0000 } : r)) };
    expect(thrown(() => new Kernel32({ machine, layout: overlap }))).toMatchObject({ code: 'E_LAYOUT_OVERLAP' });
    const beyond = { ...HIGHER_HALF_3G, regions: regions.map((r) => (r.name === 'page-directory' ? { ...r, end: 0x1_0000_1000 } : r)) };
    expect(thrown(() => new Kernel32({ machine, layout: beyond }))).toMatchObject({ code: 'E_LAYOUT_ADDRESS_SPACE' });
    const { recursiveSlot: _slot, ...noSlot } = HIGHER_HALF_3G;
    expect(thrown(() => new Kernel32({ machine, layout: { ...noSlot, tableAccess: 'physical' } }))).toBeInstanceOf(KernelConfigError);
    expect(machine.cpu.pagingMode).toBe(PagingMode.None);
    expect(machine.cpu.registers.cr3Frame).toBe(0);
  });

  it('refuses a module over the kernel image or outside RAM with E_MULTIBOOT_MODULE, nothing booted', () => {
    const handOver = qemuHandOver('128m');
    const machine = new Machine({ memoryMap: handOver.regions!, cpuMode: 'protected' });
    const overKernel = [{ ...handOver.modules[0]!, startPa: 0x10_1000, endPa: 0x10_2000, sizeBytes: 0x1000 }];
    expect(thrown(() => new Kernel32({ machine, modules: overKernel }))).toMatchObject({ code: 'E_MULTIBOOT_MODULE' });
    const outside = [{ ...handOver.modules[0]!, startPa: 0xf000_0000, endPa: 0xf000_1000, sizeBytes: 0x1000 }];
    expect(thrown(() => new Kernel32({ machine, modules: outside }))).toBeInstanceOf(MultibootModuleError);
    expect(machine.cpu.pagingMode).toBe(PagingMode.None);
    expect(machine.cpu.registers.cr3Frame).toBe(0);
  });
});

