// The kernel: boots in named, observable steps on a Machine, then offers the kernel memory API
// (mem_map_pages_at, mem_map_addr, virtaddr_alloc / virtaddr_take, kmalloc / kfree), address
// spaces for processes, panics and a whole-system invariant check. This file composes the parts:
// configuration (kernel/kernel-parts.ts), boot steps (kernel/boot-steps.ts), kernel mappings and
// stacks, address-space roots, invariants, panics (kernel/*), and processes (process/*), which
// reach the kernel only through the KernelServices port.
import type { KernelHeap, KmallocOptions } from '@kmem/kheap';
import { BitmapFrameAllocator } from '@kmem/pmm-bitmap';
import type { AllocOptions, TakeOptions, VirtualAllocator } from '@kmem/virt-alloc';
import type { BootstrapTables, FaultAnswer, Mapper, PageFaultInfo, TableAccess } from '@kmem/x86-paging';
import type { KernelImage } from './boot/kernel-image';
import { BOOT_STEPS, type EventLog, type KernelEventOf } from './events';
import type { FrameOwners } from './frame-owners';
import type { KernelHeapBacking } from './heap-backing';
import type { KernelHeapArenas } from './heap-arenas';
import type { PageSlab } from './slab/page-slab';
import { KernelPanic, KernelStateError } from './kernel-errors';
import type { KernelServices, KernelState, PanicDetails } from './kernel-services';
import type { Layout } from './layout';
import type { Machine } from './machine';
import { exportSparseImage, type ControlRegisterState } from './memory-image';
import type { ElfExecutable } from './elf/parse-elf';
import { AddressSpaceRoots } from './kernel/address-space-roots';
import { BootSteps } from './kernel/boot-steps';
import { checkKernelMappings, checkKernelTables } from './kernel/kernel-invariants';
import { KernelMappings, type PhysicalMapping } from './kernel/kernel-mappings';
import type { BootModule, KernelOptions } from './kernel/kernel-options';
import { KernelParts } from './kernel/kernel-parts';
import type { KernelFrameAllocator } from './kernel/frame-allocator-choice';
import { KernelStacks, type KernelStack } from './kernel/kernel-stacks';
import { panicReport } from './kernel/panic-report';
import type { PageFaultContext, PageFaultPolicy } from './process/fault-context';
import type { Process } from './process/process';
import type { CreateProcessOptions, ExecOptions } from './process/process-limits';
import { ProcessManager } from './process/process-manager';
import type { UserAccess } from './process/user-access';
import type { SwapManager, SwapOptions } from './swap/swap-manager';
import { brand } from './brand';

/** Bytes of a page: kmalloc of exactly this size goes to the slab cache. */
const PAGE_BYTES = 4096;

/**
 * What a fault policy gets: the fault, the current process, the facts gathered for the default
 * decision (`query`), and the two halves of the default policy. ONE object, reused per fault.
 */
export type FaultContext = PageFaultContext<Kernel>;

/**
 * A page-fault policy: decides and acts, answering the CPU ('retry' after fixing the cause,
 * 'abort' after killing the process). The default is `ctx => ctx.apply(ctx.decide())`.
 */
export type FaultPolicy = PageFaultPolicy<Kernel>;

/** The default policy: `decideFault`, then the default mechanisms. */
export const defaultFaultPolicy: FaultPolicy = (ctx: FaultContext): FaultAnswer => ctx.apply(ctx.decide());

/**
 * A kernel booting on a {@link Machine}. Create, then `boot()` (or step through `bootSteps()`);
 * afterwards `state === 'running'` and the memory API is available.
 */
export class Kernel implements KernelServices {
  static {
    brand(this, 'Kernel'); // instanceof across the import and require copies (brand.ts)
  }
  /** The machine it runs on. */
  readonly machine: Machine;
  /** The layout (validated). */
  readonly layout: Layout;
  /** The event stream. */
  readonly events: EventLog;
  /** The kernel image's placement. */
  readonly image: KernelImage;
  /** Boot modules. */
  readonly modules: readonly BootModule[];
  /** Processes, their address spaces and the page-fault policy (src/process/*); its #PF handler is registered on the CPU. */
  readonly processes: ProcessManager<Kernel>;

  private readonly parts: KernelParts;
  private readonly mappings: KernelMappings;
  private readonly stacks: KernelStacks;
  private readonly roots: AddressSpaceRoots;
  private readonly steps: BootSteps;

  /**
   * Checks everything it can before any state changes.
   * @throws KernelConfigError for an unknown layout name, an image that does not fit or is not in
   *   usable RAM, a table-access mechanism this kernel does not implement, bad stack/heap sizes
   * @throws LayoutError (from validateLayout) for an invalid custom layout
   * @throws LayoutPagingModeError for a 32-bit layout, by object or by name (`Kernel32` runs those)
   */
  constructor(machine: Machine, options: KernelOptions) {
    const parts = new KernelParts(machine, options);
    this.parts = parts;
    this.machine = machine;
    this.layout = parts.layout;
    this.events = parts.events;
    this.image = parts.image;
    this.modules = parts.modules;
    this.mappings = new KernelMappings(parts);
    this.stacks = new KernelStacks(parts, this.mappings);
    this.roots = new AddressSpaceRoots(parts);
    this.steps = new BootSteps(parts, this.mappings, this.stacks);
    this.processes = new ProcessManager<Kernel>(this, { pcid: options.pcid ?? false, defaultPolicy: defaultFaultPolicy, mmapPolicy: options.mmapPolicy ?? 'first-fit', ...(options.exitHistory === undefined ? {} : { exitHistory: options.exitHistory }) });
  }

  /** Lifecycle state. */
  get state(): KernelState {
    return this.parts.state;
  }
  set state(state: KernelState) {
    this.parts.state = state;
  }

  /** The stack pointer after the last boot step: the top of the kernel stack. */
  get stackPointer(): number {
    return this.parts.stackPointer;
  }
  /** Sets the stack pointer, as kernel code that switches stacks does. */
  set stackPointer(sp: number) {
    this.parts.stackPointer = sp;
  }

  // --- parts (available once the step that creates them ran) -------------------------------------

  /**
   * The bitmap frame allocator (the default `frameAllocator`).
   * @throws KernelStateError before the frame-allocator step, or on a kernel booted with `frameAllocator: 'region-list'` (see {@link frameAllocator})
   */
  get pmm(): BitmapFrameAllocator {
    const pmm = this.parts.need(this.parts.pmm, 'pmm');
    if (!(pmm instanceof BitmapFrameAllocator)) throw new KernelStateError(this.state, 'pmm (booted with the region-list allocator: use kernel.frameAllocator)');
    return pmm;
  }
  /** The frame allocator the kernel booted with (`frameAllocator` option). @throws KernelStateError before the frame-allocator step */
  get frameAllocator(): KernelFrameAllocator {
    return this.parts.need(this.parts.pmm, 'pmm');
  }
  /** Frame ownership records (allocate kernel frames here). @throws KernelStateError before the frame-allocator step */
  get frames(): FrameOwners {
    return this.parts.need(this.parts.frames, 'frames');
  }
  /** The kernel's virtual address allocator. @throws KernelStateError before the kernel-vas step */
  get kernelSpace(): VirtualAllocator<string> {
    return this.parts.need(this.parts.kernelSpace, 'kernelSpace');
  }
  /** The kernel's PML4 frame. @throws KernelStateError before the table-access step */
  get kernelRoot(): number {
    if (this.parts.kernelRoot < 0) throw new KernelStateError(this.state, 'kernelRoot');
    return this.parts.kernelRoot;
  }
  /** The Mapper over the kernel's tables. @throws KernelStateError before the table-access step */
  get kernelMapper(): Mapper {
    return this.parts.need(this.parts.kernelMapper, 'kernelMapper');
  }
  /** How the kernel reaches page tables after boot (per layout). @throws KernelStateError before the table-access step */
  get tableAccess(): TableAccess {
    return this.parts.need(this.parts.tableAccess, 'tableAccess');
  }
  /**
   * The kernel heap's 2 GiB kheap arenas over the whole heap region (seed 001's 31 GiB included);
   * `kmalloc` / `kfree` go through them. @throws KernelStateError before the kernel-heap step
   */
  get heapArenas(): KernelHeapArenas {
    return this.parts.need(this.parts.heapArenas, 'heapArenas');
  }
  /**
   * Seed 001's cache of 4 KiB kernel objects over the layout's `slab` region, or null when the
   * layout has none. @throws KernelStateError before the kernel-heap step
   */
  get slab(): PageSlab | null {
    if (this.parts.heapArenas === null) throw new KernelStateError(this.state, 'slab (not created yet by the boot)');
    return this.parts.slab;
  }
  /** The kernel heap's first arena (the whole heap when the region is at most 2 GiB). @throws KernelStateError before the kernel-heap step */
  get heap(): KernelHeap {
    return this.parts.need(this.parts.heap, 'heap');
  }
  /** The heap's backing. @throws KernelStateError before the kernel-heap step */
  get heapBacking(): KernelHeapBacking {
    return this.parts.need(this.parts.heapBacking, 'heapBacking');
  }
  /** The boot page tables (inside the image). @throws KernelStateError before the bootstrap-tables step */
  get bootstrapTables(): BootstrapTables {
    return this.parts.need(this.parts.bootstrap, 'bootstrapTables');
  }
  /** The machine's CPU. */
  get cpu(): Machine['cpu'] {
    return this.machine.cpu;
  }
  /** The machine's physical memory. */
  get memory(): Machine['memory'] {
    return this.machine.memory;
  }
  /** Linear address of physical 0 in the direct map, or -1 for layouts without one. */
  get directMapOffset(): number {
    return this.parts.directMapBase;
  }
  /** The kernel's virtual range (what `kernelSpace` manages). */
  get kernelSpaceBounds(): { readonly start: number; readonly end: number } {
    return this.parts.kernelSpaceRange;
  }
  /** Kernel stacks mapped so far (the boot's first). */
  get kernelStacks(): readonly KernelStack[] {
    return this.stacks.stacks;
  }
  /** Physical ranges mapped with memMapAddr. */
  get physicalMappings(): readonly PhysicalMapping[] {
    return this.mappings.physMappings;
  }

  // --- boot ---------------------------------------------------------------------------------------

  /** Runs every boot step. @throws KernelStateError unless the state is 'created'; KernelPanic if a step fails */
  boot(): void {
    for (const _ of this.bootSteps()) {
      // each step emitted its event
    }
  }

  /**
   * The boot as a generator: each `next()` runs one step and yields its 'boot-step' event.
   * Steps, in order: memory-map, frame-allocator, bootstrap-tables, table-access, kernel-vas,
   * remap-kernel, kernel-heap, kernel-stack. A step that fails panics the kernel (KernelPanic).
   * @throws KernelStateError unless the state is 'created' (on the first `next()`)
   */
  *bootSteps(): Generator<KernelEventOf<'boot-step'>, void, void> {
    if (this.state !== 'created') throw new KernelStateError(this.state, 'boot');
    this.state = 'booting';
    for (let index = 0; index < BOOT_STEPS.length; index++) {
      const step = BOOT_STEPS[index]!;
      let summary: string;
      let detail: Record<string, number | string | boolean>;
      try {
        [summary, detail] = this.steps.run(step);
      } catch (e) {
        if (e instanceof KernelPanic) throw e;
        this.panic(`boot step ${step} failed: ${e instanceof Error ? e.message : String(e)}`, { extra: { step } });
      }
      if (index === BOOT_STEPS.length - 1) this.state = 'running';
      const event = this.events.emit({ kind: 'boot-step', step, index, summary, detail });
      if (event !== null) yield event as KernelEventOf<'boot-step'>;
      else yield { seq: 0, kind: 'boot-step', step, index, summary, detail };
    }
  }

  // --- kernel stacks -------------------------------------------------------------------------------

  /**
   * Maps another kernel stack (e.g. one per process) in the layout's stack region, below the
   * stacks already there, each with an unmapped guard page below it; a freed slot is reused first.
   * @returns the stack, or null when the region is full or memory ran out (nothing changed)
   * @throws KernelStateError unless running
   */
  allocKernelStack(): KernelStack | null {
    return this.stacks.alloc();
  }

  /**
   * Unmaps a stack from {@link allocKernelStack} (by its top) and frees its frames.
   * @throws KernelStateError unless running; KernelAddressError if no such stack, or it is the
   *   one the stack pointer is in
   */
  freeKernelStack(top: number): void {
    this.stacks.free(top);
  }

  // --- the kernel memory API ------------------------------------------------------------------------

  /**
   * mem_map_pages_at: allocates `pageCount` zeroed frames (owned 'kernel-data') and maps them at
   * `va` with `flags` (P is added). All or nothing.
   * @returns true, or false when frames or page tables ran out (nothing changed)
   * @throws KernelStateError unless running; KernelAddressError (va misaligned or outside kernel
   *   space), KernelSizeError, KernelFlagsError (User bit), and x86-paging's PageAlreadyMappedError /
   *   InvalidFlagsError — all before any change
   */
  memMapPagesAt(va: number, pageCount: number, flags: number): boolean {
    return this.mappings.memMapPagesAt(va, pageCount, flags);
  }

  /**
   * Unmaps `pageCount` pages at `va` mapped by {@link memMapPagesAt} and frees their frames.
   * @throws KernelStateError, KernelAddressError (outside kernel space, or a page in the range that
   *   is not a 'kernel-data' page) — before any change
   */
  memUnmapPages(va: number, pageCount: number): void {
    this.mappings.memUnmapPages(va, pageCount);
  }

  /**
   * mem_map_addr: maps the physical range `[pa, pa + sizeBytes)` (ACPI tables, a ramdisk, MMIO),
   * rounded out to pages, at `va` (page aligned, free in kernel space) or at a free kernel address.
   * The range must not contain free RAM (allocate that with memMapPagesAt).
   * @returns the virtual address of byte `pa`, or null when no virtual range or page table was available
   * @throws KernelStateError, KernelSizeError, KernelPhysicalRangeError, KernelFlagsError,
   *   KernelAddressError (va misaligned, outside kernel space or in use) — before any change
   */
  memMapAddr(pa: number, sizeBytes: number, flags: number, va?: number): number | null {
    return this.mappings.memMapAddr(pa, sizeBytes, flags, va);
  }

  /**
   * Removes a mapping made by {@link memMapAddr} (by the address it returned or its first page)
   * and frees its virtual range. The physical range is untouched.
   * @throws KernelStateError; KernelAddressError if no memMapAddr mapping starts at that page
   */
  memUnmapAddr(va: number): void {
    this.mappings.memUnmapAddr(va);
  }

  /**
   * virtaddr_alloc: a free range of kernel virtual addresses (first fit), or null.
   * @throws KernelStateError; virt-alloc's typed errors for bad sizes/alignments
   */
  virtaddrAlloc(sizeBytes: number, options?: AllocOptions<string>): number | null {
    this.parts.requireRunning('virtaddrAlloc');
    return this.kernelSpace.alloc(sizeBytes, options);
  }

  /**
   * virtaddr_take: claims exactly `[va, va + sizeBytes)` of kernel space if all of it is free.
   * @throws KernelStateError; virt-alloc's typed errors for bad input
   */
  virtaddrTake(va: number, sizeBytes: number, options?: TakeOptions<string>): boolean {
    this.parts.requireRunning('virtaddrTake');
    return this.kernelSpace.take(va, sizeBytes, options);
  }

  /**
   * Frees kernel virtual addresses taken with virtaddrAlloc / virtaddrTake.
   * @throws KernelStateError; virt-alloc's DoubleFreeError and friends
   */
  virtaddrFree(va: number, sizeBytes?: number): number {
    this.parts.requireRunning('virtaddrFree');
    return this.kernelSpace.free(va, sizeBytes);
  }

  /**
   * kmalloc: `sizeBytes` of kernel heap, or null. `kmalloc(4096)` without options takes a page from
   * the layout's 4 KiB slab cache ({@link slab}) when it has one (the heap when the slab is full).
   * @throws KernelStateError; kheap's typed errors
   */
  kmalloc(sizeBytes: number, options?: KmallocOptions): number | null {
    this.parts.requireRunning('kmalloc');
    // Page-sized objects come from seed 001's 4 KiB slab cache where the layout has one.
    const slab = this.parts.slab;
    if (slab !== null && sizeBytes === PAGE_BYTES && options === undefined) {
      const va = slab.alloc();
      if (va !== null) return va;
    }
    return this.parts.need(this.parts.heapArenas, 'heap').kmalloc(sizeBytes, options);
  }

  /** kfree: returns a block from kmalloc (null is ignored). @throws KernelStateError; kheap's typed errors; KernelAddressError for a slab address not in use */
  kfree(ptr: number | null): void {
    this.parts.requireRunning('kfree');
    const slab = this.parts.slab;
    if (slab !== null && typeof ptr === 'number' && ptr >= slab.startVa && ptr < slab.endVa) slab.free(ptr);
    else this.parts.need(this.parts.heapArenas, 'heap').kfree(ptr);
  }

  // --- address spaces --------------------------------------------------------------------------------

  /**
   * A fresh PML4 for a process, sharing the kernel: PML4 entries 256..511 copied from the kernel's
   * (they point at tables allocated at boot, so later kernel mappings are seen everywhere). With a
   * lower-half kernel (identity-low) the process gets its own PDPT and PD for the first GiB whose
   * first entries point at the kernel's shared page tables. Tables owned ('page-table', pid).
   * @returns the PML4 frame, or null when memory ran out (nothing allocated)
   * @throws KernelStateError unless running
   */
  newAddressSpaceRoot(pid?: number): number | null {
    return this.roots.create(pid);
  }

  /**
   * Frees a root made by {@link newAddressSpaceRoot} and the private tables it created. The user
   * half must be empty (unmap every user page and free the tables first: a Mapper's
   * `unmapPages` does both).
   * @throws KernelStateError unless running; KernelAddressError if `root` is not such a root or
   *   user mappings remain (nothing freed)
   */
  freeAddressSpaceRoot(root: number): void {
    this.roots.free(root);
  }

  /** Roots made by newAddressSpaceRoot and not freed. */
  addressSpaceRoots(): number[] {
    return [...this.roots.privateTables.keys()];
  }

  /**
   * A Mapper over `root` (a PML4 frame), reaching tables with the kernel's mechanism, with new
   * tables owned ('page-table', pid) and every changed leaf invalidated in the CPU's TLB.
   * @throws KernelStateError before the table-access step
   */
  mapperFor(root: number, pid?: number): Mapper {
    return this.roots.mapperFor(root, pid);
  }

  // --- memory images --------------------------------------------------------------------------------

  /** The control registers as a memory image stores them (CR3 = PML4 frame | PCID/PWT/PCD bits). */
  controlRegisters(): ControlRegisterState {
    const r = this.machine.cpu.registers;
    return { cr0: r.cr0 >>> 0, cr3: r.cr3Frame + r.cr3Low, cr4: r.cr4 >>> 0, efer: r.efer >>> 0 };
  }

  /**
   * The machine's physical memory and control registers in the sparse image format (see
   * `exportSparseImage`): load it back with `importSparseImage`, or write a flat image with
   * `exportRawImage(kernel.memory)` for QEMU (`-device loader,file=mem.bin,addr=0`) and set CR3
   * from `controlRegisters()`.
   */
  exportImage(): Uint8Array {
    return exportSparseImage(this.machine.memory, this.controlRegisters());
  }

  // --- processes (delegates to `processes`, see src/process/process-manager.ts) ------------------------

  /** A process with an empty address space (see `ProcessManager.create`); null when out of memory. */
  createProcess(options?: CreateProcessOptions): Process | null {
    return this.processes.create(options);
  }

  /** Loads an ELF program into process `target` or a new one (see `ProcessManager.exec`). */
  exec(target: number | ExecOptions | undefined, file: Uint8Array | ElfExecutable, argv?: readonly string[], envp?: readonly string[], options?: ExecOptions): Process | null {
    return this.processes.exec(target, file, argv, envp, options);
  }

  /** fork(2) with copy-on-write (see `ProcessManager.fork`); null when out of memory. */
  fork(pid: number): Process | null {
    return this.processes.fork(pid);
  }

  /** exit(2): frees every frame and page table of the process. */
  exit(pid: number, code = 0): void {
    this.processes.exit(pid, code);
  }

  /** Loads the process's address space (CR3, with its PCID when enabled); null loads the kernel's. */
  switchTo(pid: number | null): void {
    this.processes.switchTo(pid);
  }

  /** User-mode accesses of the current process through the CPU. */
  get user(): UserAccess {
    return this.processes.user;
  }

  /** Replaces the page-fault policy (null: the default). */
  setFaultPolicy(policy: FaultPolicy | null): void {
    this.processes.setFaultPolicy(policy);
  }

  /**
   * Turns on swap and page replacement (src/swap/): reclaim by the chosen policy when free
   * frames fall below the watermarks or resident user pages reach `maxResidentPages`, swap
   * entries in PTEs, major faults. Call before any process holds memory.
   * @throws KernelStateError unless running; SwapOptionError (already on, processes hold memory, bad options); SwapDeviceSizeError
   */
  enableSwap(options: SwapOptions = {}): SwapManager {
    return this.processes.enableSwap(options);
  }

  /** Swap and reclaim, or null until `enableSwap`. */
  get swap(): SwapManager | null {
    return this.processes.swap;
  }

  // --- panics ------------------------------------------------------------------------------------------

  /**
   * Stops the kernel: state 'panicked', a 'panic' event with a report (reason; with `cr2`, the
   * error code decoded and the page walk of CR2 level by level in the current CR3), then throws
   * {@link KernelPanic} for the host to catch. Never kills the host.
   * @throws KernelPanic always
   */
  panic(reason: string, details: PanicDetails = {}): never {
    const report = panicReport(this.parts, reason, details);
    this.state = 'panicked';
    try {
      this.events.emit({ kind: 'panic', report });
    } catch {
      // A subscriber's error must not hide the panic.
    }
    throw new KernelPanic(report);
  }

  /**
   * Panics with the report of a page fault the CPU delivered (CR2, error code, walk).
   * @throws KernelPanic always
   */
  panicOnFault(fault: PageFaultInfo, reason = 'unhandled supervisor page fault', pid?: number): never {
    return this.panic(`${reason}: ${fault.decoded.description}`, { cr2: fault.cr2, errorCode: fault.errorCode, ...(pid === undefined ? {} : { pid }) });
  }

  // --- invariants ------------------------------------------------------------------------------------

  /**
   * Checks the whole system: every part's own invariants; every used frame has exactly one owner
   * (and the bitmap's copy in RAM equals the allocator); every kernel page table is owned
   * 'page-table'; every mapping of the kernel's tables points at RAM it owns or a range mapped on
   * purpose (the direct map at its offset, the image with its section rights, memMapAddr ranges,
   * heap/stack/kernel-data frames of the right owner), and none is user-accessible.
   * @throws KernelInvariantError (or a part's own error) describing the first inconsistency
   */
  checkInvariants(): void {
    const parts = this.parts;
    this.machine.checkInvariants();
    this.events.checkInvariants();
    if (parts.pmm === null) return;
    parts.pmm.checkInvariants();
    parts.frames!.checkInvariants();
    parts.kernelSpace?.checkInvariants();
    parts.heapArenas?.checkInvariants();
    parts.slab?.checkInvariants();
    if (parts.kernelRoot < 0) return;
    parts.kernelMapper!.checkInvariants();
    checkKernelTables(parts, this.roots.privateTables.keys());
    if (this.state === 'running') checkKernelMappings(parts, this.mappings.physMappings);
    this.processes.checkInvariants();
  }
}
