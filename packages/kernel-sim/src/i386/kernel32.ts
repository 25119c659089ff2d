// Seed 002's 32-bit higher-half kernel: entered by a multiboot1 loader in protected mode with
// paging off, its image at 1 MiB; it turns paging on with a boot page directory of 4 MiB pages
// (identity map of the first 3 GiB and 0xc000_0000 -> the first 4 MiB), then runs the seed's six
// sysinit steps in order (sysinit-32.ts). From the switch to its real tables on, it reaches page
// tables only through the recursive PDE 1023 (0xffc0_0000 / 0xffff_f000), keeps PDEs 768-1022
// identical in every page directory by pre-allocating all kernel page tables at boot, and maps
// kernel pages Global with CR4.PGE on.
import type { KernelHeap } from '@kmem/kheap';
import type { BitmapFrameAllocator } from '@kmem/pmm-bitmap';
import {
  Mode,
  PTE,
  PagingMode,
  PhysicalTableAccess,
  THIRTY_TWO_BIT_GEOMETRY,
  describePageFaultErrorCode,
  formatWalk,
  walkTables,
  type Mapper,
  type RecursiveTableAccess,
} from '@kmem/x86-paging';
import { BOOT_STEPS_32, EventLog, type BootStepName32, type KernelEventOf, type PanicReportData } from '../events';
import type { FrameOwners } from '../frame-owners';
import type { KernelHeapBacking } from '../heap-backing';
import { formatPhysical } from '../hex';
import { show } from '../show-value';
import { KernelAddressError, KernelConfigError, KernelInvariantError, KernelPanic, KernelStateError } from '../kernel-errors';
import type { KernelServices, KernelState, PanicDetails } from '../kernel-services';
import { findLayoutRegion, validateLayout, type Layout } from '../layout';
import { requireLayoutPagingMode } from './layout-paging-mode';
import { HIGHER_HALF_3G } from '../layouts';
import { ProcessManager } from '../process/process-manager';
import type { Machine } from '../machine';
import { MultibootModuleError, type Multiboot1Module } from '../memory-map/multiboot1-boot';
import { kernelImage32, type KernelImage32, type KernelImage32Options } from './kernel-image-32';
import { ProcessKernelStacks32, type ProcessKernelStack32 } from './process-kernel-stacks-32';
import { Sysinit32 } from './sysinit-32';
import { brand } from '../brand';

const PAGE = 4096;
const FOUR_GIB = 0x1_0000_0000;
/** First kernel PDE: 768 * 4 MiB = 0xc000_0000. */
export const KERNEL_FIRST_PDE_32 = 768;
/** The recursive PDE: the directory at 0xffff_f000, the page tables at 0xffc0_0000. */
export const RECURSIVE_PDE_32_SLOT = 1023;
/** Linear address of the page directory through the recursive PDE 1023. */
export const RECURSIVE_DIRECTORY_VA = 0xffff_f000;

/** Options of {@link Kernel32}. */
export interface Kernel32Options {
  /** The machine, built with `cpuMode: 'protected'` from the multiboot1 memory map. */
  readonly machine: Machine;
  /** The boot modules the loader reported (`readMultiboot1Boot(...).modules`). Default none. */
  readonly modules?: readonly Multiboot1Module[];
  /** Physical address of the multiboot_info block (EBX at entry), pushed on the boot stack. Default 0. */
  readonly multibootInfoPa?: number;
  /** Section sizes of the kernel image (loaded at the layout's kernel physical base, 1 MiB). */
  readonly image?: KernelImage32Options;
  /** The layout (default {@link HIGHER_HALF_3G}); must be a 32-bit one. */
  readonly layout?: Layout;
  /** Pages of the relocated kernel stack (default 4, 16 KiB), with an unmapped guard page below. */
  readonly stackPageCount?: number;
  /**
   * Pages of each process's kernel stack (default 2, 8 KiB: Linux i386's THREAD_SIZE), with an
   * unmapped guard page below; the stacks fill the kernel-stack region below the boot stack.
   */
  readonly processKernelStackPageCount?: number;
  /** Where events go (default a new log). */
  readonly events?: EventLog;
}

/** The stack pointer before and after sysinit step 6 moved the stack. */
export interface StackRelocation {
  /** ESP on the boot stack (in the image's .bss), as the entry code left it. */
  readonly oldEsp: number;
  /** Top of the boot stack. */
  readonly oldTop: number;
  /** ESP on the relocated stack: `newTop - (oldTop - oldEsp)`. */
  readonly newEsp: number;
  /** Top of the relocated stack (the end of the layout's kernel-stack region). */
  readonly newTop: number;
  /** Bytes of live stack copied. */
  readonly copiedBytes: number;
}

/**
 * The 32-bit kernel. Create with a machine in protected mode, then {@link boot}; afterwards
 * `kmalloc`/`kfree` work in the heap at 0xc040_1000, and {@link newAddressSpaceRoot} makes page
 * directories that share the kernel's PDEs 768-1022.
 */
export class Kernel32 implements KernelServices {
  static {
    brand(this, 'Kernel32'); // instanceof across the import and require copies (brand.ts)
  }
  readonly machine: Machine;
  readonly layout: Layout;
  readonly events: EventLog;
  /** The kernel image's placement and sections. */
  readonly image: KernelImage32;
  /** The modules locked at boot. */
  readonly modules: readonly Multiboot1Module[];
  /** Lifecycle state. */
  state: KernelState = 'created';

  /** @internal set by the sysinit steps. */
  parts: {
    pmm?: BitmapFrameAllocator;
    frames?: FrameOwners;
    tableAccess?: RecursiveTableAccess;
    kernelRoot?: number;
    mapper?: Mapper;
    heap?: KernelHeap;
    heapBacking?: KernelHeapBacking;
    scratchVa?: number;
    esp?: number;
    stack?: StackRelocation;
    ignoredRamBytes?: number;
    processes?: ProcessManager<Kernel32>;
    processStacks?: ProcessKernelStacks32;
  } = {};

  readonly options: Kernel32Options;
  private readonly roots = new Set<number>();

  /**
   * Checks everything boot will need before anything changes: the machine's CPU has paging off
   * (a multiboot1 hand-over), the layout is 32-bit, the image fits the kernel region's first
   * 4 MiB page and lies in RAM, and every module lies in RAM below 4 GiB clear of the image.
   * @throws LayoutPagingModeError for a 4-level layout (the 64-bit `Kernel` runs those)
   * @throws LayoutError (from validateLayout) for an invalid layout
   * @throws KernelConfigError for a machine in long mode, a layout without the recursive PDE 1023 or an image that does not fit
   * @throws MultibootModuleError for a module outside RAM or overlapping the kernel image
   */
  constructor(options: Kernel32Options) {
    this.options = options;
    this.machine = options.machine;
    this.layout = options.layout ?? HIGHER_HALF_3G;
    this.events = options.events ?? new EventLog();
    requireLayoutPagingMode(this.layout, '32-bit');
    validateLayout(this.layout);
    if (this.layout.tableAccess !== 'recursive' || this.layout.recursiveSlot !== RECURSIVE_PDE_32_SLOT) throw new KernelConfigError(`layout "${this.layout.name}" must reach its tables through the recursive PDE ${RECURSIVE_PDE_32_SLOT}, as seed 002's kernel does`);
    if (this.machine.cpu.pagingMode !== PagingMode.None) throw new KernelConfigError('the CPU already has paging on: a multiboot1 loader enters a 32-bit kernel with CR0.PG = 0 (build the Machine with cpuMode: "protected")');
    const kernelRegion = findLayoutRegion(this.layout, 'kernel-image')!;
    const pa = this.layout.kernelPhysicalBase;
    this.image = kernelImage32(pa, kernelRegion.start, options.image);
    const regionOffset = pa % (4 * 1024 * 1024);
    if (regionOffset + this.image.sizeBytes > kernelRegion.end - kernelRegion.start || regionOffset + this.image.sizeBytes > 4 * 1024 * 1024) {
      throw new KernelConfigError(`kernel image of ${this.image.sizeBytes} bytes at ${formatPhysical(pa)} does not fit the 4 MiB page mapped at ${formatPhysical(kernelRegion.start)}`);
    }
    if (!this.isRam(pa, this.image.sizeBytes)) throw new KernelConfigError(`kernel image [${formatPhysical(pa)}, +${this.image.sizeBytes}) is not in RAM`);
    this.modules = options.modules ?? [];
    for (const m of this.modules) {
      const at = m.index * 16;
      if (m.endPa > FOUR_GIB) throw new MultibootModuleError(at + 4, `module ${m.index} ends above 4 GiB`);
      if (m.sizeBytes > 0 && !this.isRam(m.startPa, m.sizeBytes)) throw new MultibootModuleError(at, `module ${m.index} [${formatPhysical(m.startPa)}, ${formatPhysical(m.endPa)}) is not in RAM`);
      if (m.startPa < pa + this.image.sizeBytes && pa < m.endPa) throw new MultibootModuleError(at, `module ${m.index} [${formatPhysical(m.startPa)}, ${formatPhysical(m.endPa)}) overlaps the kernel image`);
    }
    const stackPages = options.stackPageCount ?? 4;
    if (!Number.isInteger(stackPages) || stackPages < 1 || stackPages * PAGE > this.image.bootStack.end - this.image.bootStack.start + 64 * PAGE) {
      throw new KernelConfigError(`stackPageCount ${show(stackPages)} must be a positive integer`);
    }
    const perProcess = options.processKernelStackPageCount ?? 2;
    const stackRegion = findLayoutRegion(this.layout, 'kernel-stack');
    if (stackRegion === undefined) throw new KernelConfigError(`layout "${this.layout.name}" has no kernel-stack region`);
    if (!Number.isSafeInteger(perProcess) || perProcess < 1 || (stackPages + 1 + perProcess + 1) * PAGE > stackRegion.end - stackRegion.start) {
      throw new KernelConfigError(`processKernelStackPageCount ${show(perProcess)} must be a positive integer, and one such stack and the boot stack (each with a guard page) must fit the kernel-stack region`);
    }
  }

  private isRam(pa: number, sizeBytes: number): boolean {
    return this.machine.memoryMap.some((r) => (r.kind === 'usable' || r.kind === 'bootloader-reclaimable' || r.kind === 'kernel-and-modules') && r.base <= pa && pa + sizeBytes <= r.base + r.lengthBytes);
  }

  private need<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new KernelStateError(this.state, `${what} (not set up yet)`);
    return value;
  }

  get frames(): FrameOwners {
    return this.need(this.parts.frames, 'frames');
  }

  get pmm(): BitmapFrameAllocator {
    return this.need(this.parts.pmm, 'pmm');
  }

  get tableAccess(): RecursiveTableAccess {
    return this.need(this.parts.tableAccess, 'tableAccess');
  }

  /** The kernel's page directory (CR3 after sysinit step 5). */
  get kernelRoot(): number {
    return this.need(this.parts.kernelRoot, 'kernelRoot');
  }

  /** The kernel's Mapper: 32-bit paging, tables reached through the recursive PDE 1023. */
  get mapper(): Mapper {
    return this.need(this.parts.mapper, 'mapper');
  }

  /** The kernel heap (kmalloc). */
  get heap(): KernelHeap {
    return this.need(this.parts.heap, 'heap');
  }

  /**
   * Processes on this kernel: exec of i386 programs, brk / mmap / munmap / mprotect, fork with
   * copy-on-write, demand paging, stack growth and SIGSEGV, on 2-level tables (the same process
   * subsystem and fault policy as the 64-bit kernels). Made when boot finishes; it owns vector 14.
   */
  get processes(): ProcessManager<Kernel32> {
    return this.need(this.parts.processes, 'processes');
  }

  /** Every process's kernel stack, lowest slot first. */
  get processKernelStacks(): readonly ProcessKernelStack32[] {
    return this.need(this.parts.processStacks, 'processStacks').all();
  }

  /** The kernel stack of live process `pid`, or undefined (no such process, or it is gone). */
  kernelStackOf(pid: number): ProcessKernelStack32 | undefined {
    return this.need(this.parts.processStacks, 'processStacks').ofPid(pid);
  }

  /**
   * TSS.ESP0: where the CPU puts the stack pointer when the code running in the address space in
   * CR3 enters the kernel from user mode (SDM vol. 3A 7.2.1: the privilege-0 stack of the TSS) -
   * the top of that process's kernel stack, or the boot stack's top in the kernel's own tables.
   * A context switch that loads a process's directory selects its stack, as Linux's switch_to does.
   */
  get tssEsp0(): number {
    const stack = this.need(this.parts.processStacks, 'processStacks').ofRoot(this.machine.cpu.registers.cr3Frame);
    return stack === undefined ? this.stack.newTop : stack.top;
  }

  /** What sysinit step 6 did to the stack pointer. */
  get stack(): StackRelocation {
    return this.need(this.parts.stack, 'stack');
  }

  /** The stack pointer (ESP). */
  get esp(): number {
    return this.need(this.parts.esp, 'esp');
  }

  /** Bytes of RAM the map reports at or above 4 GiB, which this kernel does not use (see README). */
  get ignoredRamBytes(): number {
    return this.need(this.parts.ignoredRamBytes, 'ignoredRamBytes');
  }

  /** Boots: the 4 MiB boot tables, then the seed's six sysinit steps. @throws KernelPanic if a step fails */
  boot(): this {
    for (const _ of this.bootSteps()) {
      // each step runs as the generator advances
    }
    return this;
  }

  /** The boot one step at a time, each yielding its 'boot-step' event. */
  *bootSteps(): Generator<KernelEventOf<'boot-step'>, void, void> {
    if (this.state !== 'created') throw new KernelStateError(this.state, 'boot');
    this.state = 'booting';
    const sysinit = new Sysinit32(this);
    for (let index = 0; index < BOOT_STEPS_32.length; index++) {
      const step: BootStepName32 = BOOT_STEPS_32[index]!;
      let summary: string;
      let detail: Record<string, number | string | boolean>;
      try {
        [summary, detail] = sysinit.run(step);
      } catch (e) {
        if (e instanceof KernelPanic) throw e;
        this.panic(`boot step ${step} failed: ${e instanceof Error ? e.message : show(e)}`, { extra: { step } });
      }
      if (index === BOOT_STEPS_32.length - 1) {
        this.parts.processStacks = new ProcessKernelStacks32(this, findLayoutRegion(this.layout, 'kernel-stack')!, this.options.stackPageCount ?? 4, this.options.processKernelStackPageCount ?? 2);
        this.state = 'running';
        this.parts.processes = new ProcessManager<Kernel32>(this);
      }
      const event = this.events.emit({ kind: 'boot-step', step, index, summary, detail });
      yield (event ?? { seq: 0, kind: 'boot-step', step, index, summary, detail }) as KernelEventOf<'boot-step'>;
    }
  }

  private requireRunning(what: string): void {
    if (this.state !== 'running') throw new KernelStateError(this.state, what);
  }

  /** kmalloc: `sizeBytes` from the kernel heap, or null when out of memory. */
  kmalloc(sizeBytes: number): number | null {
    this.requireRunning('kmalloc');
    return this.heap.kmalloc(sizeBytes);
  }

  /** kfree. */
  kfree(va: number | null): void {
    this.requireRunning('kfree');
    this.heap.kfree(va);
  }

  /** Runs `fn` with frame `frame` mapped at the kernel's one-page scratch window (a fixmap slot). */
  private withFrameMapped<T>(frame: number, fn: (va: number) => T): T {
    const va = this.need(this.parts.scratchVa, 'scratchVa');
    if (!this.mapper.mapPages(va, frame, 1, PTE.Present | PTE.Writable)) throw new KernelInvariantError('the scratch window needs no table: its PDE is pre-allocated');
    try {
      return fn(va);
    } finally {
      this.mapper.unmapPages(va, 1, { freeTables: false });
    }
  }

  /**
   * A new page directory for a process: PDEs 768-1022 copied from the current directory (the
   * kernel's, identical everywhere), PDE 1023 pointing at itself, the user half empty. Written
   * through the scratch window, as a kernel without a direct map must. Given a `pid`, the process
   * also gets its kernel stack (see {@link processKernelStacks}). Null when out of memory (or out
   * of kernel-stack slots), with nothing allocated.
   */
  newAddressSpaceRoot(pid?: number): number | null {
    this.requireRunning('newAddressSpaceRoot');
    const root = this.frames.allocFrame(pid === undefined ? { kind: 'page-table' } : { kind: 'page-table', pid });
    if (root === null) return null;
    if (pid !== undefined && this.need(this.parts.processStacks, 'processStacks').alloc(pid, root) === null) {
      this.frames.freeFrame(root);
      return null;
    }
    const cpu = this.machine.cpu;
    this.withFrameMapped(root, (va) => {
      for (let i = KERNEL_FIRST_PDE_32; i < RECURSIVE_PDE_32_SLOT; i++) cpu.write32(va + i * 4, cpu.read32(RECURSIVE_DIRECTORY_VA + i * 4, Mode.Supervisor), Mode.Supervisor);
      cpu.write32(va + RECURSIVE_PDE_32_SLOT * 4, (root | PTE.Present | PTE.Writable) >>> 0, Mode.Supervisor);
    });
    this.roots.add(root);
    return root;
  }

  /** Frees a directory made by {@link newAddressSpaceRoot}, and its process's kernel stack. @throws KernelAddressError if it is unknown or has user PDEs left */
  freeAddressSpaceRoot(root: number): void {
    this.requireRunning('freeAddressSpaceRoot');
    if (!this.roots.has(root)) throw new KernelAddressError(root, 'is not a page directory made by newAddressSpaceRoot');
    if (this.machine.cpu.registers.cr3Frame === root) throw new KernelAddressError(root, 'is the page directory in CR3');
    const cpu = this.machine.cpu;
    this.withFrameMapped(root, (va) => {
      for (let i = 0; i < KERNEL_FIRST_PDE_32; i++) if ((cpu.read32(va + i * 4, Mode.Supervisor) & PTE.Present) !== 0) throw new KernelAddressError(i * 4 * 1024 * 1024, `user page table remains under PDE ${i} of ${formatPhysical(root)}`);
    });
    this.need(this.parts.processStacks, 'processStacks').freeOf(root);
    this.roots.delete(root);
    this.frames.freeFrame(root);
  }

  /** Loads `root` (the kernel's directory or one from {@link newAddressSpaceRoot}) into CR3. */
  switchTo(root: number): void {
    this.requireRunning('switchTo');
    if (root !== this.kernelRoot && !this.roots.has(root)) throw new KernelAddressError(root, 'is not a page directory of this kernel');
    this.machine.cpu.writeCr3(root);
    if (this.events.wants('tlb-flush')) this.events.emit({ kind: 'tlb-flush', reason: 'cr3-write', cr3: root });
  }

  /** The page directories made by {@link newAddressSpaceRoot}. */
  addressSpaceRoots(): number[] {
    return [...this.roots];
  }

  /** The 2-level walk of `va` in the directory in CR3, as a panic prints it. */
  formatWalk(va: number): string {
    const access = new PhysicalTableAccess(this.machine.memory, { mode: PagingMode.ThirtyTwoBit });
    return formatWalk(va, walkTables(access, this.machine.cpu.registers.cr3Frame, va, this.machine.maxPhysAddrBits, THIRTY_TWO_BIT_GEOMETRY), THIRTY_TWO_BIT_GEOMETRY);
  }

  /** Stops the kernel with a report (CR2, error code, the 2-level walk). @throws KernelPanic always */
  panic(reason: string, details: PanicDetails = {}): never {
    let walk: string | undefined;
    if (details.cr2 !== undefined && details.cr2 >= 0 && details.cr2 < FOUR_GIB && this.machine.cpu.pagingMode === PagingMode.ThirtyTwoBit) {
      try {
        walk = this.formatWalk(details.cr2);
      } catch (e) {
        walk = `walk failed: ${e instanceof Error ? e.message : show(e)}`;
      }
    }
    const report: PanicReportData = {
      reason,
      cr3: this.machine.cpu.registers.cr3Frame,
      ...(details.cr2 === undefined ? {} : { cr2: details.cr2 }),
      ...(details.errorCode === undefined ? {} : { errorCode: details.errorCode, errorCodeText: describePageFaultErrorCode(details.errorCode) }),
      ...(walk === undefined ? {} : { walk }),
      ...(details.pid === undefined ? {} : { pid: details.pid }),
      ...(details.extra === undefined ? {} : { details: details.extra }),
    };
    this.state = 'panicked';
    try {
      this.events.emit({ kind: 'panic', report });
    } catch {
      // a subscriber's error must not hide the panic
    }
    throw new KernelPanic(report);
  }

  /**
   * Checks the 32-bit kernel: frame ownership and the allocator agree; the kernel directory and
   * every process directory have PDEs 768-1022 present and identical and PDE 1023 pointing at
   * themselves; every kernel page table is owned 'page-table' (none leaked: exactly the kernel
   * directory, its 255 kernel tables and the process directories); the heap's pages are consistent;
   * every live process has its kernel stack and no gone one keeps one.
   * @throws KernelInvariantError on the first inconsistency
   */
  checkInvariants(): void {
    if (this.state !== 'running') return;
    this.frames.checkInvariants();
    this.parts.heapBacking?.checkInvariants();
    const mem = this.machine.memory;
    const kernelDir = mem.frameWords(this.kernelRoot);
    for (const root of [this.kernelRoot, ...this.roots]) {
      const dir = mem.frameWords(root);
      for (let i = KERNEL_FIRST_PDE_32; i < RECURSIVE_PDE_32_SLOT; i++) {
        if ((dir[i]! & PTE.Present) === 0) throw new KernelInvariantError(`directory ${formatPhysical(root)}: kernel PDE ${i} is not present`);
        // A and D are set by the CPU in whichever directory it walked: compare the table address and rights.
        if ((dir[i]! & ~0x60) !== (kernelDir[i]! & ~0x60)) throw new KernelInvariantError(`directory ${formatPhysical(root)}: kernel PDE ${i} differs from the kernel directory's`);
      }
      if (((dir[RECURSIVE_PDE_32_SLOT]! & ~0xfff) >>> 0) !== root) throw new KernelInvariantError(`directory ${formatPhysical(root)}: PDE 1023 does not point at itself`);
      if (this.frames.kindOf(root) !== 'page-table') throw new KernelInvariantError(`directory ${formatPhysical(root)} is not owned as a page table`);
    }
    for (let i = KERNEL_FIRST_PDE_32; i < RECURSIVE_PDE_32_SLOT; i++) {
      const table = (kernelDir[i]! & ~0xfff) >>> 0;
      if (this.frames.kindOf(table) !== 'page-table') throw new KernelInvariantError(`kernel page table of PDE ${i} at ${formatPhysical(table)} is not owned as a page table`);
    }
    const processes = this.processes;
    processes.checkInvariants();
    this.need(this.parts.processStacks, 'processStacks').checkInvariants(processes.list(), this.roots, this.options.stackPageCount ?? 4);
    let userTables = 0;
    for (const p of processes.list()) userTables += p.pages_.tableCount;
    const tables = this.frames.usageByOwner()['page-table'];
    const expected = 1 + (RECURSIVE_PDE_32_SLOT - KERNEL_FIRST_PDE_32) + this.roots.size + userTables;
    if (tables !== expected) throw new KernelInvariantError(`${tables} frames are owned as page tables, expected ${expected} (kernel directory, its kernel tables, ${this.roots.size} directories, ${userTables} user page tables)`);
  }
}
