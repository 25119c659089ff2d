// Seed 002's boot, step by step: the 4 MiB boot tables, then sysinit in the seed's order -
// 1. the physical memory manager from the multiboot1 map, 2. lock the kernel's frames, 3. lock the
// modules' frames, 4. the virtual memory manager, 5. remap the higher half into new tables with
// 4 KiB pages and section rights (the identity map is not rebuilt), 6. allocate, map and relocate
// the stack. Each step returns its summary and details for the 'boot-step' event.
import { KernelHeap } from '@kmem/kheap';
import { BitmapFrameAllocator } from '@kmem/pmm-bitmap';
import { CR0, CR4, Mapper, Mode, PTE, PagingMode, RecursiveTableAccess, buildBootstrapTables32, formatVa32 } from '@kmem/x86-paging';
import type { MemoryRegion } from '../api';
import type { BootStepName32, FrameOwner } from '../events';
import { FrameOwners } from '../frame-owners';
import { KernelHeapBacking } from '../heap-backing';
import { formatPhysical } from '../hex';
import { findLayoutRegion, formatSize } from '../layout';
import { DEFAULT_RAM_KINDS } from '../sparse-physical-memory';
import { mapFreshKernelPages32, unmapKernelPages32 } from './kernel-pages-32';
import { KERNEL_FIRST_PDE_32, RECURSIVE_PDE_32_SLOT, type Kernel32 } from './kernel32';

const PAGE = 4096;
const FOUR_MIB = 4 * 1024 * 1024;
const FOUR_GIB = 0x1_0000_0000;
const P = PTE.Present;
const RW = PTE.Writable;
const G = PTE.Global;
/** EAX at a multiboot1 kernel's entry (multiboot spec 3.2). */
export const MULTIBOOT1_BOOTLOADER_MAGIC = 0x2bad_b002;

/** A step's summary and details. */
export type Sysinit32Result = [string, Record<string, number | string | boolean>];

/** The 32-bit kernel's boot steps over its parts. */
export class Sysinit32 {
  private bootRoot = 0;

  constructor(private readonly kernel: Kernel32) {}

  /** Runs one step. @throws whatever the step throws (the kernel turns it into a panic) */
  run(step: BootStepName32): Sysinit32Result {
    switch (step) {
      case 'boot-tables-4mib':
        return this.bootTables();
      case 'pmm-from-multiboot':
        return this.pmmFromMultiboot();
      case 'lock-kernel-frames':
        return this.lockKernelFrames();
      case 'lock-module-frames':
        return this.lockModuleFrames();
      case 'vmm-init':
        return this.vmmInit();
      case 'remap-higher-half':
        return this.remapHigherHalf();
      case 'relocate-stack':
        return this.relocateStack();
    }
  }

  /**
   * The entry code's page directory (in .bss): 4 MiB pages identity-mapping the first 3 GiB (all
   * 768 PDEs below the kernel half, the seed's choice: no page table is needed, and whatever low
   * RAM or device memory the early kernel touches is reachable), 0xc000_0000 -> the first 4 MiB
   * (Global), PDE 1023 -> the directory. Then CR3, CR4.PSE | CR4.PGE, CR0.PG | CR0.WP, and the entry
   * code's pushes onto the boot stack (kmain's arguments: the multiboot magic and info pointer).
   */
  private bootTables(): Sysinit32Result {
    const k = this.kernel;
    const cpu = k.machine.cpu;
    const image = k.image;
    const base = findLayoutRegion(k.layout, 'kernel-image')!.start;
    const boot = buildBootstrapTables32({
      memory: k.machine.memory,
      kernel: { pa: image.pa, sizeBytes: image.sizeBytes },
      pool: { pa: image.bootDirectoryPa, frameCount: 1 },
      higherHalfBase: base - (image.pa - (image.pa % FOUR_MIB)),
      recursiveSlot: RECURSIVE_PDE_32_SLOT,
      maxPhysAddr: Math.min(k.machine.maxPhysAddrBits, 40),
    });
    this.bootRoot = boot.root;
    cpu.writeCr3(boot.root);
    cpu.writeCr4(CR4.PSE | CR4.PGE);
    cpu.writeCr0(cpu.registers.cr0 | CR0.PG | CR0.WP);
    this.emitRegister('cr3', boot.root, 'the boot page directory (4 MiB pages)');
    this.emitRegister('cr4', cpu.registers.cr4, 'PSE: 4 MiB pages; PGE: Global kernel pages survive CR3 writes');
    this.emitRegister('cr0', cpu.registers.cr0, 'PG: paging on; WP: the kernel honours read-only pages');
    cpu.setHandler(14, (fault) => k.panic(`unhandled page fault in the kernel: ${fault.decoded.description}`, { cr2: fault.cr2, errorCode: fault.errorCode }));
    // The entry code: ESP = top of the boot stack, push EBX (info) and EAX (magic), call kmain.
    let esp = image.bootStack.end;
    esp -= 4;
    cpu.write32(esp, (k.options.multibootInfoPa ?? 0) >>> 0, Mode.Supervisor);
    esp -= 4;
    cpu.write32(esp, MULTIBOOT1_BOOTLOADER_MAGIC, Mode.Supervisor);
    esp -= 4;
    cpu.write32(esp, image.va >>> 0, Mode.Supervisor); // kmain's return address, in the entry code
    k.parts.esp = esp;
    const identityEnd = boot.identity?.end ?? 0;
    return [
      `boot directory at ${formatPhysical(boot.root)}: [0, ${formatVa32(identityEnd - 1)}] identity-mapped with ${identityEnd / FOUR_MIB} 4 MiB pages, ${formatVa32(boot.higherHalf.start)} -> ${formatPhysical(boot.higherHalf.start - (base - (image.pa - (image.pa % FOUR_MIB))))} (${(boot.higherHalf.end - boot.higherHalf.start) / FOUR_MIB} x 4 MiB, Global), PDE 1023 recursive; paging on, ESP ${formatVa32(esp)}`,
      { cr3: boot.root, identityBytes: identityEnd, identityPdes: identityEnd / FOUR_MIB, higherHalfVa: boot.higherHalf.start, higherHalfBytes: boot.higherHalf.end - boot.higherHalf.start, recursivePde: RECURSIVE_PDE_32_SLOT, esp },
    ];
  }

  private emitRegister(register: 'cr0' | 'cr3' | 'cr4', value: number, why: string): void {
    const events = this.kernel.events;
    if (events.wants('control-register')) events.emit({ kind: 'control-register', register, value: value >>> 0, why });
  }

  /**
   * Sysinit 1: the frame allocator from the multiboot1 map, clipped to 4 GiB - RAM at or above
   * 4 GiB is left unused and reported (32-bit paging maps it only with PSE-36 4 MiB pages, and
   * this kernel's frames are 4 KiB pages any PTE can hold). The low 1 MiB stays reserved (BIOS,
   * EBDA, VGA). The bitmap goes right after the kernel image and the modules, page aligned.
   */
  private pmmFromMultiboot(): Sysinit32Result {
    const k = this.kernel;
    const m = k.machine;
    const clipped: MemoryRegion[] = [];
    let ignored = 0;
    for (const r of m.memoryMap) {
      const end = r.base + r.lengthBytes;
      if (DEFAULT_RAM_KINDS.includes(r.kind) && end > FOUR_GIB) ignored += end - Math.max(r.base, FOUR_GIB);
      if (r.base >= FOUR_GIB) continue;
      clipped.push(end > FOUR_GIB ? { ...r, lengthBytes: FOUR_GIB - r.base } : r);
    }
    const pmm = BitmapFrameAllocator.fromMemoryMap(clipped, { maxPhysAddrBits: 32, reserveLowBytes: 1024 * 1024 });
    const frames = new FrameOwners(pmm, m.memory, k.events);
    let after = k.image.pa + k.image.sizeBytes;
    for (const mod of k.modules) after = Math.max(after, mod.endPa);
    const bitmapPa = Math.ceil(after / PAGE) * PAGE;
    const bitmapFrames = pmm.bitmapFrameCount;
    frames.claim(bitmapPa, bitmapFrames, { kind: 'bitmap' });
    pmm.placeBitmap(bitmapPa);
    frames.placeBitmap(bitmapPa);
    const reserved = frames.adoptAllUnowned({ kind: 'reserved' });
    k.parts.pmm = pmm;
    k.parts.frames = frames;
    k.parts.ignoredRamBytes = ignored;
    return [
      `frame bitmap of ${pmm.totalFrames} frames at ${formatPhysical(bitmapPa)} (${bitmapFrames} frames), ${pmm.freeFrames} free${ignored > 0 ? `; ${formatSize(ignored)} of RAM above 4 GiB ignored (4 KiB pages reach only 4 GiB)` : ''}`,
      { totalFrames: pmm.totalFrames, freeFrames: pmm.freeFrames, bitmapPa, bitmapFrames, reservedFrames: reserved, ignoredRamBytes: ignored },
    ];
  }

  /** Gives frames `[pa, pa + frameCount pages)` to `owner`: free ones claimed, in-use unowned ones adopted, ones it owns already skipped. */
  private takeFrames(pa: number, frameCount: number, owner: FrameOwner): number {
    const frames = this.kernel.frames;
    const pmm = this.kernel.pmm;
    let taken = 0;
    for (let i = 0; i < frameCount; i++) {
      const f = pa + i * PAGE;
      if (frames.kindOf(f) === owner.kind) continue;
      if (pmm.isFree(f)) frames.claim(f, 1, owner);
      else frames.adopt(f, 1, owner);
      taken++;
    }
    return taken;
  }

  /** Sysinit 2: lock the kernel's address space - the image's frames, owned 'kernel-image'. */
  private lockKernelFrames(): Sysinit32Result {
    const image = this.kernel.image;
    const n = this.takeFrames(image.pa, image.sizeBytes / PAGE, { kind: 'kernel-image' });
    return [`kernel image [${formatPhysical(image.pa)}, ${formatPhysical(image.pa + image.sizeBytes)}) locked: ${n} frames`, { pa: image.pa, sizeBytes: image.sizeBytes, frameCount: n }];
  }

  /** Sysinit 3: lock the module load locations the loader reported (mods_addr / mods_count). */
  private lockModuleFrames(): Sysinit32Result {
    let total = 0;
    const where: string[] = [];
    for (const mod of this.kernel.modules) {
      if (mod.sizeBytes === 0) continue;
      const first = mod.startPa - (mod.startPa % PAGE);
      const frameCount = Math.ceil((mod.endPa - first) / PAGE);
      total += this.takeFrames(first, frameCount, { kind: 'module' });
      where.push(`${formatPhysical(mod.startPa)}-${formatPhysical(mod.endPa)}${mod.cmdline === null ? '' : ` "${mod.cmdline}"`}`);
    }
    return [`${this.kernel.modules.length} modules locked (${total} frames)${where.length > 0 ? `: ${where.join(', ')}` : ''}`, { moduleCount: this.kernel.modules.length, frameCount: total }];
  }

  /**
   * Sysinit 4: the virtual memory manager - the recursive table access (PDE 1023), the kernel's
   * Mapper over the boot directory through it, the scratch window (one page at the heap region's
   * start, a fixmap slot for frames outside the current address space), and the heap over the rest.
   */
  private vmmInit(): Sysinit32Result {
    const k = this.kernel;
    const cpu = k.machine.cpu;
    const access = new RecursiveTableAccess(cpu, { mode: PagingMode.ThirtyTwoBit, slot: RECURSIVE_PDE_32_SLOT });
    k.parts.tableAccess = access;
    k.parts.mapper = this.kernelMapper(this.bootRoot);
    const region = findLayoutRegion(k.layout, 'kernel-heap')!;
    k.parts.scratchVa = region.start;
    const base = region.start + PAGE;
    const backing = new KernelHeapBacking(
      cpu,
      {
        mapHeapPages: (va, pageCount) => mapFreshKernelPages32(k, va, pageCount, P | RW | G, { kind: 'heap' }),
        unmapHeapPages: (va, pageCount) => unmapKernelPages32(k, va, pageCount),
      },
      base,
      region.end - base,
    );
    k.parts.heapBacking = backing;
    k.parts.heap = new KernelHeap({ backing });
    return [
      `tables through PDE 1023 (directory at 0xffff_f000, page tables at 0xffc0_0000); heap ${formatVa32(base)}-${formatVa32(region.end - 1)}; scratch window ${formatVa32(region.start)}`,
      { recursivePde: RECURSIVE_PDE_32_SLOT, heapBase: base, heapLimitBytes: region.end - base, scratchVa: region.start },
    ];
  }

  private kernelMapper(root: number): Mapper {
    const k = this.kernel;
    return new Mapper({
      access: k.tableAccess,
      allocator: k.frames.allocatorFor({ kind: 'page-table' }),
      root,
      mode: PagingMode.ThirtyTwoBit,
      reservedPml4Slots: [RECURSIVE_PDE_32_SLOT],
      tlb: k.machine.cpu,
      maxPhysAddr: 32,
    });
  }

  /**
   * Sysinit 5: a new directory whose kernel half is built with 4 KiB pages and section rights
   * (text and rodata read-only, data and bss writable; all Global), every kernel page table
   * (PDEs 768-1022) allocated now so that the kernel half never changes shape and is the same in
   * every directory, PDE 1023 pointing at the new directory. The identity map is not rebuilt.
   * The new tables are written through the boot identity map (va = pa) - the one time the kernel
   * reaches tables outside the recursive window; then CR3 switches and CR4.PGE is toggled to
   * drop the boot alias's Global 4 MiB TLB entry (SDM 4.10.4.1).
   */
  private remapHigherHalf(): Sysinit32Result {
    const k = this.kernel;
    const cpu = k.machine.cpu;
    const owner: FrameOwner = { kind: 'page-table' };
    const dir = k.frames.allocFrame(owner);
    if (dir === null) throw new Error('out of memory for the kernel page directory');
    const identityEnd = findLayoutRegion(k.layout, 'kernel-image')!.start;
    const tables: number[] = [];
    for (let i = KERNEL_FIRST_PDE_32; i < RECURSIVE_PDE_32_SLOT; i++) {
      const t = k.frames.allocFrame(owner);
      if (t === null) throw new Error('out of memory for the kernel page tables');
      tables.push(t);
    }
    for (const f of [dir, ...tables]) if (f + PAGE > identityEnd) throw new Error(`table frame ${formatPhysical(f)} lies beyond the identity map`);
    // Through the identity map: virtual = physical.
    const put = (pa: number, value: number): void => cpu.write32(pa, value >>> 0, Mode.Supervisor);
    for (let i = KERNEL_FIRST_PDE_32; i < RECURSIVE_PDE_32_SLOT; i++) put(dir + i * 4, tables[i - KERNEL_FIRST_PDE_32]! | P | RW);
    put(dir + RECURSIVE_PDE_32_SLOT * 4, dir | P | RW);
    const image = k.image;
    let textPages = 0;
    let dataPages = 0;
    for (const s of image.sections) {
      for (let off = s.start; off < s.end; off += PAGE) {
        const va = image.va + off;
        const pt = tables[(va >>> 22) - KERNEL_FIRST_PDE_32]!;
        put(pt + ((va >>> 12) & 1023) * 4, (image.pa + off) | P | G | (s.writable ? RW : 0));
        if (s.writable) dataPages++;
        else textPages++;
      }
    }
    cpu.writeCr3(dir);
    const cr4 = cpu.registers.cr4;
    cpu.writeCr4(cr4 & ~CR4.PGE);
    cpu.writeCr4(cr4 | CR4.PGE);
    this.emitRegister('cr3', dir, 'the kernel directory: higher half in 4 KiB pages, no identity map');
    this.emitRegister('cr4', cpu.registers.cr4, 'PGE toggled: the boot alias\'s Global 4 MiB entries are flushed');
    k.parts.kernelRoot = dir;
    k.parts.mapper = this.kernelMapper(dir);
    if (k.events.wants('map')) k.events.emit({ kind: 'map', va: image.va, pa: image.pa, pageCount: image.sizeBytes / PAGE, flags: P | G, what: 'kernel image (4 KiB pages, section rights)' });
    return [
      `new directory ${formatPhysical(dir)}: kernel at ${formatVa32(image.va)} in ${textPages + dataPages} 4 KiB pages (${textPages} read-only text/rodata, ${dataPages} writable data/bss, Global), ${tables.length} kernel page tables pre-allocated (PDEs 768-1022), PDE 1023 recursive; identity map gone`,
      { cr3: dir, kernelPages: textPages + dataPages, readOnlyPages: textPages, writablePages: dataPages, kernelTables: tables.length, bootDirectory: this.bootRoot },
    ];
  }

  /**
   * Sysinit 6: a kernel stack at the top of the layout's kernel-stack region (an unmapped guard
   * page below it), the live boot stack `[ESP, boot stack top)` copied to the same distance below
   * its top, and ESP moved there.
   */
  private relocateStack(): Sysinit32Result {
    const k = this.kernel;
    const cpu = k.machine.cpu;
    const region = findLayoutRegion(k.layout, 'kernel-stack')!;
    const pageCount = k.options.stackPageCount ?? 4;
    const newTop = region.end;
    const bottom = newTop - pageCount * PAGE;
    if (!mapFreshKernelPages32(k, bottom, pageCount, P | RW | G, { kind: 'kernel-stack' })) throw new Error('out of memory for the kernel stack');
    const oldTop = k.image.bootStack.end;
    const oldEsp = k.esp;
    const live = oldTop - oldEsp;
    const newEsp = newTop - live;
    for (let off = 0; off < live; off += 4) cpu.write32(newEsp + off, cpu.read32(oldEsp + off, Mode.Supervisor), Mode.Supervisor);
    k.parts.esp = newEsp;
    k.parts.stack = { oldEsp, oldTop, newEsp, newTop, copiedBytes: live };
    return [
      `stack ${formatVa32(bottom)}-${formatVa32(newTop - 1)} (${pageCount} pages, guard page at ${formatVa32(bottom - PAGE)}); ${live} live bytes copied; ESP ${formatVa32(oldEsp)} -> ${formatVa32(newEsp)}`,
      { oldEsp, newEsp, oldTop, newTop, copiedBytes: live, pageCount, guardVa: bottom - PAGE },
    ];
  }
}
