// The kernel: boots in named, observable steps on a Machine, then offers the kernel memory API
// (mem_map_pages_at, mem_map_addr, virtaddr_alloc / virtaddr_take, kmalloc / kfree), address
// spaces for processes, panics and a whole-system invariant check.
import { KernelHeap, type KmallocOptions } from '@kmem/kheap';
import { BitmapFrameAllocator } from '@kmem/pmm-bitmap';
import { VirtualAllocator, type AllocOptions, type TakeOptions } from '@kmem/virt-alloc';
import {
  CR0,
  CR4,
  DirectMapTableAccess,
  RecursiveTableAccess,
  WindowTableAccess,
  EFER,
  Mapper,
  PTE,
  PageSize,
  PhysicalTableAccess,
  buildBootstrapTables,
  collectMappings,
  describePageFaultErrorCode,
  encodeHi,
  encodeLo,
  entryAddress,
  addressMaskHi,
  formatWalk,
  walkTables,
  type BootstrapTables,
  type PageFaultInfo,
  type TableAccess,
  type TlbInvalidator,
} from '@kmem/x86-paging';
import { SwitchableTableAccess } from './boot/table-access';
import { resolveKernelImage, type KernelImage, type KernelImageSpec } from './boot/kernel-image';
import { BOOT_STEPS, EventLog, type BootStepName, type FrameOwner, type KernelEventOf, type PanicReportData } from './events';
import { FrameOwners } from './frame-owners';
import { KernelHeapBacking } from './heap-backing';
import { HIGHER_HALF_LINEAR, LINEAR_LIMIT, formatCanonical, formatPhysical } from './hex';
import {
  KernelAddressError,
  KernelConfigError,
  KernelFlagsError,
  KernelInvariantError,
  KernelPanic,
  KernelPhysicalRangeError,
  KernelSizeError,
  KernelStateError,
} from './kernel-errors';
import { findLayoutRegion, formatSize, validateLayout, type Layout, type LayoutRegion } from './layout';
import { LAYOUTS } from './layouts';
import type { Machine } from './machine';
import { ProcessManager, type CreateProcessOptions, type ExecOptions, type FaultPolicy, type UserAccess } from './process/process-manager';
import type { Process } from './process/process';
import type { Elf64 } from './elf/parse-elf';
import { exportSparseImage, type ControlRegisterState } from './memory-image';

const PAGE = 4096;
const TWO_MIB = 2 * 1024 * 1024;
const ONE_GIB = 1024 * 1024 * 1024;
const PML4_SPAN = 2 ** 39;
const MAX_HEAP_BYTES = 2 ** 31;
const NX = PTE.NoExecute;
const P = PTE.Present;
const RW = PTE.Writable;
const G = PTE.Global;
/** Table entries the kernel writes itself (PML4 slots shared by every address space): P | R/W, supervisor only. */
const KERNEL_TABLE_ENTRY = P | RW;
/** A user-reachable table entry (P | R/W | U/S): the leaves decide. */
const USER_TABLE_ENTRY = P | RW | PTE.User;

/** The names of the shipped layouts. */
export type LayoutName = keyof typeof LAYOUTS;

/** A boot module (initrd, ramdisk) the boot loader placed in RAM. */
export interface BootModule {
  /** A name for people. */
  readonly name: string;
  /** Physical address (4 KiB aligned). */
  readonly pa: number;
  /** Bytes (rounded up to frames). */
  readonly sizeBytes: number;
}

/** Options of {@link Kernel}. */
export interface KernelOptions {
  /** The virtual memory layout: a shipped one by name, or your own (validated). */
  readonly layout: Layout | LayoutName;
  /** Where the boot loader put the kernel image and how big its sections are. */
  readonly kernelImage?: KernelImageSpec;
  /** Modules the boot loader loaded (reserved, owned 'module'). */
  readonly modules?: readonly BootModule[];
  /** The event log to write to (default: a new one with default capacity). */
  readonly events?: EventLog;
  /** Bytes of the kernel stack moved to the stack region in the last boot step (default 16 KiB). */
  readonly kernelStackBytes?: number;
  /** kheap debug mode (red zones, poisoning). Default false. */
  readonly heapDebug?: boolean;
  /** Bytes of the heap region the heap may use (default: the region, at most 2 GiB, kheap's limit). */
  readonly heapLimitBytes?: number;
  /** Turn on CR4.SMEP at boot (supervisor may not execute user pages). Default true. */
  readonly smep?: boolean;
  /**
   * Turn on CR4.SMAP at boot (supervisor may not read/write user pages unless RFLAGS.AC, see
   * `cpu.stac()`). Default false: code that copies to and from user memory must bracket it with
   * stac/clac when this is on.
   */
  readonly smap?: boolean;
  /** Give each process a PCID (CR4.PCIDE, set when the first process is created) so context switches keep TLB entries. Default false. */
  readonly pcid?: boolean;
}

/** The kernel's lifecycle. */
export type KernelState = 'created' | 'booting' | 'running' | 'panicked';

/** What the kernel knows about a physical range mapped on purpose by {@link Kernel.memMapAddr}. */
export interface PhysicalMapping {
  /** Linear address of the first mapped page. */
  readonly va: number;
  /** Physical address of the first mapped page (4 KiB aligned). */
  readonly pa: number;
  /** Bytes mapped (whole pages). */
  readonly sizeBytes: number;
  /** Flags word used. */
  readonly flags: number;
}

/** A kernel stack: pages `[bottom, top)` mapped, the guard page below `bottom` left unmapped. */
export interface KernelStack {
  readonly bottom: number;
  readonly top: number;
  readonly guard: number;
}

/** Details a caller can pass to {@link Kernel.panic}. */
export interface PanicDetails {
  /** Faulting linear address (CR2). */
  readonly cr2?: number;
  /** Page-fault error code. */
  readonly errorCode?: number;
  /** The process running. */
  readonly pid?: number;
  /** Anything else worth printing. */
  readonly extra?: Readonly<Record<string, number | string | boolean>>;
}

/**
 * A kernel booting on a {@link Machine}. Create, then `boot()` (or step through `bootSteps()`);
 * afterwards `state === 'running'` and the memory API is available.
 */
export class Kernel {
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
  /** Lifecycle state. */
  state: KernelState = 'created';

  private pmm_: BitmapFrameAllocator | null = null;
  private frames_: FrameOwners | null = null;
  private kernelSpace_: VirtualAllocator<string> | null = null;
  private kernelMapper_: Mapper | null = null;
  private tableAccess_: TableAccess | null = null;
  private heap_: KernelHeap | null = null;
  private heapBacking_: KernelHeapBacking | null = null;
  private bootstrap_: BootstrapTables | null = null;
  private kernelRoot_ = -1;
  private readonly switchable: SwitchableTableAccess;
  private readonly physical: PhysicalTableAccess;
  private readonly kernelSpaceRange: { start: number; end: number };
  private readonly sharedSlots: number[];
  /** identity-low: PD entries [0, sharedPdEntries) of the first GiB are kernel tables shared by every address space. */
  private readonly sharedPdEntries: number;
  private sharedPd = -1;
  private readonly physMappings: PhysicalMapping[] = [];
  private readonly privateTables = new Map<number, number[]>();
  private readonly stacks: KernelStack[] = [];
  private readonly freeStackTops: number[] = [];
  private readonly freedGuards: number[] = [];
  private readonly kernelStackBytes: number;
  private readonly heapLimit: number;
  private readonly options: KernelOptions;
  private directMapBase = -1;
  /** The recursive PML4 slot, or -1. */
  private readonly recursiveSlot: number;
  private readonly tlbNotifier: TlbInvalidator;
  /** The stack pointer after the last boot step: the top of the kernel stack. */
  stackPointer = 0;
  /** Processes, their address spaces and the page-fault policy (src/process/*); its #PF handler is registered on the CPU. */
  readonly processes: ProcessManager;

  /**
   * Checks everything it can before any state changes.
   * @throws KernelConfigError for an unknown layout name, an image that does not fit or is not in
   *   usable RAM, a table-access mechanism this kernel does not implement, bad stack/heap sizes
   * @throws LayoutError (from validateLayout) for an invalid custom layout
   */
  constructor(machine: Machine, options: KernelOptions) {
    this.machine = machine;
    this.options = options;
    const layout = typeof options.layout === 'string' ? LAYOUTS[options.layout] : validateLayout(options.layout);
    if (layout === undefined) throw new KernelConfigError(`unknown layout "${typeof options.layout === 'string' ? options.layout : 'object'}" (shipped: ${Object.keys(LAYOUTS).join(', ')})`);
    this.layout = layout;
    const windowRegion = findLayoutRegion(layout, 'table-window');
    if (layout.tableAccess === 'window' && (windowRegion === undefined || windowRegion.start % TWO_MIB !== 0 || windowRegion.end - windowRegion.start < TWO_MIB)) {
      throw new KernelConfigError('window table access needs a 2 MiB-aligned table-window region of at least 2 MiB');
    }
    this.recursiveSlot = layout.tableAccess === 'recursive' ? layout.recursiveSlot! : -1;
    if (layout.tableAccess === 'direct-map' && findLayoutRegion(layout, 'direct-map') === undefined) throw new KernelConfigError('direct-map table access needs a direct-map region');
    const region = findLayoutRegion(layout, 'kernel-image')!;
    this.image = resolveKernelImage(layout, region, options.kernelImage);
    this.events = options.events ?? new EventLog();
    this.modules = Object.freeze([...(options.modules ?? [])]);
    const stackBytes = options.kernelStackBytes ?? 16 * 1024;
    if (!Number.isSafeInteger(stackBytes) || stackBytes <= 0 || stackBytes % PAGE !== 0) throw new KernelConfigError(`kernelStackBytes ${String(stackBytes)} is not a positive multiple of 4096`);
    this.kernelStackBytes = stackBytes;
    const stackRegion = findLayoutRegion(layout, 'kernel-stack');
    if (stackRegion === undefined || stackRegion.end - stackRegion.start < stackBytes + PAGE) throw new KernelConfigError('the layout needs a kernel-stack region larger than the kernel stack plus its guard page');
    const heapRegion = findLayoutRegion(layout, 'kernel-heap');
    if (heapRegion === undefined) throw new KernelConfigError('the layout needs a kernel-heap region');

    // Kernel space: the whole higher half for a higher-half kernel; below the user range for a
    // kernel in the lower half (identity-low), ending at a 2 MiB boundary so that the page tables
    // it shares with every process never hold user pages.
    const higher = region.start >= HIGHER_HALF_LINEAR;
    if (higher) {
      this.kernelSpaceRange = { start: HIGHER_HALF_LINEAR, end: LINEAR_LIMIT };
      this.sharedSlots = [];
      for (let s = 256; s < 512; s++) this.sharedSlots.push(s);
      this.sharedPdEntries = 0;
    } else {
      const end = Math.floor(layout.userRange.start / TWO_MIB) * TWO_MIB;
      if (end > ONE_GIB || end < region.end) throw new KernelConfigError('a lower-half kernel must lie below the user range, inside the first GiB');
      this.kernelSpaceRange = { start: PAGE, end };
      this.sharedSlots = [];
      this.sharedPdEntries = end / TWO_MIB;
    }
    const heapStart = Math.max(heapRegion.start, this.kernelSpaceRange.start);
    const heapEnd = Math.min(heapRegion.end, this.kernelSpaceRange.end);
    const limit = Math.min(heapEnd - heapStart, options.heapLimitBytes ?? MAX_HEAP_BYTES, MAX_HEAP_BYTES);
    if (!Number.isSafeInteger(limit) || limit < 64 * 1024 || limit % PAGE !== 0) throw new KernelConfigError(`heap limit ${String(limit)} must be a page multiple of at least 64 KiB inside the heap region`);
    this.heapLimit = limit;

    // The image and modules must be RAM the firmware called usable, or that the boot loader
    // reported as holding them (Limine's EXECUTABLE_AND_MODULES: kind 'kernel-and-modules').
    const usable = machine.memoryMap.filter((r) => r.kind === 'usable' || r.kind === 'kernel-and-modules');
    const inUsable = (pa: number, sizeBytes: number): boolean => usable.some((r) => r.base <= pa && pa + sizeBytes <= r.base + r.lengthBytes);
    if (!inUsable(this.image.pa, this.image.sizeBytes)) {
      throw new KernelConfigError(`kernel image ${formatPhysical(this.image.pa)}..${formatPhysical(this.image.pa + this.image.sizeBytes)} is not inside usable RAM of this memory map`);
    }
    for (const m of this.modules) {
      if (!Number.isSafeInteger(m.pa) || m.pa % PAGE !== 0 || !Number.isSafeInteger(m.sizeBytes) || m.sizeBytes <= 0) throw new KernelConfigError(`module ${m.name}: pa ${formatPhysical(m.pa)} / size ${String(m.sizeBytes)} invalid`);
      if (!inUsable(m.pa, m.sizeBytes)) throw new KernelConfigError(`module ${m.name} at ${formatPhysical(m.pa)} is not inside usable RAM`);
      if (m.pa < this.image.pa + this.image.sizeBytes && this.image.pa < m.pa + m.sizeBytes) throw new KernelConfigError(`module ${m.name} overlaps the kernel image`);
    }
    this.physical = new PhysicalTableAccess(machine.memory);
    this.switchable = new SwitchableTableAccess(this.physical);
    const cpu = machine.cpu;
    const events = this.events;
    this.tlbNotifier = {
      invlpg(va: number): void {
        cpu.invlpg(va);
        if (events.wants('tlb-flush')) events.emit({ kind: 'tlb-flush', reason: 'invlpg', va });
      },
    };
    this.processes = new ProcessManager(this, { pcid: options.pcid ?? false });
  }

  // --- parts (available once the step that creates them ran) -------------------------------------

  /** The physical frame allocator. @throws KernelStateError before the frame-allocator step */
  get pmm(): BitmapFrameAllocator {
    return this.need(this.pmm_, 'pmm');
  }
  /** Frame ownership records (allocate kernel frames here). @throws KernelStateError before the frame-allocator step */
  get frames(): FrameOwners {
    return this.need(this.frames_, 'frames');
  }
  /** The kernel's virtual address allocator. @throws KernelStateError before the kernel-vas step */
  get kernelSpace(): VirtualAllocator<string> {
    return this.need(this.kernelSpace_, 'kernelSpace');
  }
  /** The kernel's PML4 frame. @throws KernelStateError before the table-access step */
  get kernelRoot(): number {
    if (this.kernelRoot_ < 0) throw new KernelStateError(this.state, 'kernelRoot');
    return this.kernelRoot_;
  }
  /** The Mapper over the kernel's tables. @throws KernelStateError before the table-access step */
  get kernelMapper(): Mapper {
    return this.need(this.kernelMapper_, 'kernelMapper');
  }
  /** How the kernel reaches page tables after boot (per layout). @throws KernelStateError before the table-access step */
  get tableAccess(): TableAccess {
    return this.need(this.tableAccess_, 'tableAccess');
  }
  /** The kernel heap. @throws KernelStateError before the kernel-heap step */
  get heap(): KernelHeap {
    return this.need(this.heap_, 'heap');
  }
  /** The heap's backing. @throws KernelStateError before the kernel-heap step */
  get heapBacking(): KernelHeapBacking {
    return this.need(this.heapBacking_, 'heapBacking');
  }
  /** The boot page tables (inside the image). @throws KernelStateError before the bootstrap-tables step */
  get bootstrapTables(): BootstrapTables {
    return this.need(this.bootstrap_, 'bootstrapTables');
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
    return this.directMapBase;
  }
  /** The kernel's virtual range (what `kernelSpace` manages). */
  get kernelSpaceBounds(): { readonly start: number; readonly end: number } {
    return this.kernelSpaceRange;
  }
  /** Kernel stacks mapped so far (the boot's first). */
  get kernelStacks(): readonly KernelStack[] {
    return this.stacks;
  }
  /** Physical ranges mapped with memMapAddr. */
  get physicalMappings(): readonly PhysicalMapping[] {
    return this.physMappings;
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
    const steps: Record<BootStepName, () => [string, Record<string, number | string | boolean>]> = {
      'memory-map': () => this.stepMemoryMap(),
      'frame-allocator': () => this.stepFrameAllocator(),
      'bootstrap-tables': () => this.stepBootstrapTables(),
      'table-access': () => this.stepTableAccess(),
      'kernel-vas': () => this.stepKernelVas(),
      'remap-kernel': () => this.stepRemapKernel(),
      'kernel-heap': () => this.stepKernelHeap(),
      'kernel-stack': () => this.stepKernelStack(),
    };
    for (let index = 0; index < BOOT_STEPS.length; index++) {
      const step = BOOT_STEPS[index]!;
      let summary: string;
      let detail: Record<string, number | string | boolean>;
      try {
        [summary, detail] = steps[step]();
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

  private stepMemoryMap(): [string, Record<string, number | string | boolean>] {
    const m = this.machine;
    const usableBytes = m.bytesOfKind('usable');
    return [
      `${m.memoryMap.length} regions, ${formatSize(m.ramBytes)} RAM, ${formatSize(usableBytes)} usable`,
      { regions: m.memoryMap.length, ramBytes: m.ramBytes, usableBytes, changes: m.memoryMapChanges.length },
    ];
  }

  private stepFrameAllocator(): [string, Record<string, number | string | boolean>] {
    const m = this.machine;
    const pmm = BitmapFrameAllocator.fromMemoryMap(m.memoryMap, { maxPhysAddrBits: m.maxPhysAddrBits, reserveLowBytes: 1024 * 1024 });
    const frames = new FrameOwners(pmm, m.memory, this.events);
    this.pmm_ = pmm;
    this.frames_ = frames;
    this.takeFrames(this.image.pa, this.image.sizeBytes / PAGE, { kind: 'kernel-image' });
    for (const mod of this.modules) this.takeFrames(mod.pa, Math.ceil(mod.sizeBytes / PAGE), { kind: 'module' });
    // The bitmap goes into RAM: contiguous frames, lowest first (Linux's memblock puts early
    // allocations low too), reserved for good, then kept in sync by FrameOwners.
    const bitmapFrames = pmm.bitmapFrameCount;
    const bitmapPa = frames.allocContiguous(bitmapFrames, { kind: 'bitmap' });
    if (bitmapPa === null) throw new Error(`no ${bitmapFrames} contiguous frames for the frame bitmap`);
    pmm.placeBitmap(bitmapPa);
    frames.placeBitmap(bitmapPa);
    const reserved = frames.adoptAllUnowned({ kind: 'reserved' });
    this.writeImageSignature();
    return [
      `bitmap of ${pmm.totalFrames} frames at ${formatPhysical(bitmapPa)} (${bitmapFrames} frames); ${pmm.freeFrames} frames free`,
      { totalFrames: pmm.totalFrames, freeFrames: pmm.freeFrames, bitmapPa, bitmapFrames, kernelImageFrames: this.image.sizeBytes / PAGE, reservedFrames: reserved, moduleCount: this.modules.length },
    ];
  }

  /**
   * Gives `frameCount` frames from `pa` to `owner`: free ones are claimed from the allocator,
   * ones the map already marked in use (kind 'kernel-and-modules') are adopted. Runs of each.
   */
  private takeFrames(pa: number, frameCount: number, owner: FrameOwner): void {
    const frames = this.frames;
    const pmm = this.pmm;
    let i = 0;
    while (i < frameCount) {
      const free = pmm.isFree(pa + i * PAGE);
      let n = 1;
      while (i + n < frameCount && pmm.isFree(pa + (i + n) * PAGE) === free) n++;
      if (free) frames.claim(pa + i * PAGE, n, owner);
      else frames.adopt(pa + i * PAGE, n, owner);
      i += n;
    }
  }

  /** A recognisable header at the start of .text and .rodata, so an exported image shows where the kernel is. */
  private writeImageSignature(): void {
    const text = 'KMEM kernel-sim .text';
    const mem = this.machine.memory;
    const bytes = new Uint8Array(64);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    mem.writeBytes(this.image.sections[0]!.pa, bytes);
    const ro = `layout ${this.layout.name}`;
    const robytes = new Uint8Array(64);
    for (let i = 0; i < Math.min(ro.length, 63); i++) robytes[i] = ro.charCodeAt(i);
    mem.writeBytes(this.image.sections[1]!.pa, robytes);
  }

  private stepBootstrapTables(): [string, Record<string, number | string | boolean>] {
    const img = this.image;
    const tables = buildBootstrapTables({
      memory: this.machine.memory,
      kernel: img.bootstrapExtent,
      pool: img.bootstrapPool,
      higherHalfBase: img.higherHalfBase,
      identityMap: !img.identity,
      maxPhysAddr: this.machine.maxPhysAddrBits,
    });
    this.bootstrap_ = tables;
    this.writeCr3(tables.root, 'load the boot page tables (identity + higher-half alias, 2 MiB pages)');
    this.stackPointer = img.bootStack.top;
    return [
      `boot tables in .bss at ${formatPhysical(img.bootstrapPool.pa)}: ${tables.tableFrameCount} tables, CR3 = ${formatPhysical(tables.root)}`,
      { root: tables.root, tableFrames: tables.tableFrameCount, identity: tables.identity !== null, aliasStart: tables.higherHalf.start, aliasEnd: tables.higherHalf.end },
    ];
  }

  private stepTableAccess(): [string, Record<string, number | string | boolean>] {
    const frames = this.frames;
    const ptOwner: FrameOwner = { kind: 'page-table' };
    const root = frames.allocFrame(ptOwner);
    if (root === null) throw new Error('no frame for the kernel PML4');
    this.kernelRoot_ = root;
    const maxPhysAddr = this.machine.maxPhysAddrBits;
    const mapper = new Mapper({ access: this.switchable, allocator: frames.allocatorFor(ptOwner), root, maxPhysAddr, tlb: this.tlbNotifier, memory: this.machine.memory, ...this.reservedSlots() });
    this.kernelMapper_ = mapper;
    let sharedTables = 0;
    const maskHi = addressMaskHi(maxPhysAddr);
    const phys = this.physical;
    // Tables shared by every address space exist from the start (as Linux preallocates the
    // kernel's PGD entries), so a mapping the kernel adds later is seen by every process.
    for (const slot of this.sharedSlots) {
      if (slot === this.recursiveSlot) continue;
      const t = frames.allocFrame(ptOwner);
      if (t === null) throw new Error('out of memory for the kernel half');
      phys.writeEntry(4, slot * PML4_SPAN, root, slot, encodeLo(t, KERNEL_TABLE_ENTRY), encodeHi(t, 0, maskHi));
      sharedTables++;
    }
    if (this.sharedPdEntries > 0) {
      const pdpt = frames.allocFrame(ptOwner);
      const pd = pdpt === null ? null : frames.allocFrame(ptOwner);
      if (pdpt === null || pd === null) throw new Error('out of memory for the kernel page tables');
      phys.writeEntry(4, 0, root, 0, encodeLo(pdpt, USER_TABLE_ENTRY), encodeHi(pdpt, 0, maskHi));
      phys.writeEntry(3, 0, pdpt, 0, encodeLo(pd, USER_TABLE_ENTRY), encodeHi(pd, 0, maskHi));
      for (let i = 0; i < this.sharedPdEntries; i++) {
        const pt = frames.allocFrame(ptOwner);
        if (pt === null) throw new Error('out of memory for the kernel page tables');
        phys.writeEntry(2, i * TWO_MIB, pd, i, encodeLo(pt, KERNEL_TABLE_ENTRY), encodeHi(pt, 0, maskHi));
      }
      this.sharedPd = pd;
      sharedTables += 2 + this.sharedPdEntries;
    }
    let mechanism = 'physical';
    let directMapBytes = 0;
    const dm = findLayoutRegion(this.layout, 'direct-map');
    if (dm !== undefined) {
      this.directMapBase = dm.start;
      for (const r of this.ramFrameRanges()) {
        if (dm.start + r.end > dm.end) throw new Error(`RAM at ${formatPhysical(r.start)} lies beyond the direct map region (${formatSize(dm.end - dm.start)})`);
        if (!mapper.mapRange(dm.start + r.start, r.start, r.end - r.start, P | RW | G | NX, { maxPageSize: PageSize.Size1G })) throw new Error('out of memory building the direct map');
        directMapBytes += r.end - r.start;
        if (this.events.wants('map')) this.events.emit({ kind: 'map', va: dm.start + r.start, pa: r.start, pageCount: (r.end - r.start) / PAGE, flags: P | RW | G | NX, what: 'direct-map' });
      }
    }
    const cpu = this.machine.cpu;
    switch (this.layout.tableAccess) {
      case 'direct-map':
        this.tableAccess_ = new DirectMapTableAccess(cpu, { offset: this.directMapBase });
        break;
      case 'recursive':
        // PML4[slot] = the PML4 itself: every table becomes visible in that slot's 512 GiB.
        RecursiveTableAccess.install(phys, root, this.recursiveSlot);
        this.tableAccess_ = new RecursiveTableAccess(cpu, { slot: this.recursiveSlot });
        break;
      case 'window': {
        const base = findLayoutRegion(this.layout, 'table-window')!.start;
        if (WindowTableAccess.install(phys, frames.allocatorFor(ptOwner), root, base) === null) throw new Error('out of memory for the table windows');
        this.tableAccess_ = new WindowTableAccess(cpu, { base });
        break;
      }
      default:
        this.tableAccess_ = this.physical;
    }
    mechanism = this.layout.tableAccess;
    return [
      `page tables reached by ${mechanism}; kernel PML4 at ${formatPhysical(root)}${dm === undefined ? '' : `; direct map of ${formatSize(directMapBytes)} at ${formatCanonical(dm.start)}`}`,
      { mechanism, kernelRoot: root, sharedTables, directMapBytes, tableFrames: frames.usageByOwner()['page-table'] },
    ];
  }

  private reservedSlots(): { reservedPml4Slots?: readonly number[] } {
    return this.recursiveSlot >= 0 ? { reservedPml4Slots: [this.recursiveSlot] } : {};
  }

  /** RAM as frame-rounded (outward), merged ranges. */
  private ramFrameRanges(): { start: number; end: number }[] {
    const out: { start: number; end: number }[] = [];
    for (const r of this.machine.memory.ramRanges) {
      const s = Math.floor(r.base / PAGE) * PAGE;
      const e = Math.ceil((r.base + r.lengthBytes) / PAGE) * PAGE;
      const last = out[out.length - 1];
      if (last !== undefined && s <= last.end) last.end = Math.max(last.end, e);
      else out.push({ start: s, end: e });
    }
    return out;
  }

  private stepKernelVas(): [string, Record<string, number | string | boolean>] {
    const { start, end } = this.kernelSpaceRange;
    const vas = new VirtualAllocator<string>({ start, end, formatAddress: formatCanonical });
    let taken = 0;
    for (const r of this.layout.regions) {
      const s = Math.max(r.start, start);
      const e = Math.min(r.end, end);
      if (s >= e) continue;
      if (!vas.take(s, e - s, { tag: r.name })) throw new Error(`layout region ${r.name} overlaps another`);
      taken++;
    }
    if (this.recursiveSlot >= 0) {
      // The recursive slot's 512 GiB show the page tables: nothing else may be mapped there.
      if (!vas.take(this.recursiveSlot * PML4_SPAN, PML4_SPAN, { tag: 'recursive-slot' })) throw new Error('the recursive PML4 slot overlaps a layout region');
      taken++;
    }
    this.kernelSpace_ = vas;
    const st = vas.stats();
    return [`kernel space ${formatCanonical(start)}..${formatCanonical(end)}: ${taken} layout regions taken, ${formatSize(st.freeBytes)} free`, { start, end, regionsTaken: taken, freeBytes: st.freeBytes }];
  }

  private stepRemapKernel(): [string, Record<string, number | string | boolean>] {
    const mapper = this.kernelMapper;
    const flagsOf = { '.text': P | G, '.rodata': P | G | NX, '.data': P | RW | G | NX, '.bss': P | RW | G | NX } as const;
    for (const s of this.image.sections) {
      const flags = flagsOf[s.name];
      if (!mapper.mapPages(s.va, s.pa, s.sizeBytes / PAGE, flags)) throw new Error('out of memory remapping the kernel');
      if (this.events.wants('map')) this.events.emit({ kind: 'map', va: s.va, pa: s.pa, pageCount: s.sizeBytes / PAGE, flags, what: `kernel ${s.name}` });
    }
    const cpu = this.machine.cpu;
    const regs = cpu.registers;
    // NXE first: the new tables use bit 63, which is reserved while EFER.NXE = 0 (SDM 4.5).
    cpu.writeEfer(regs.efer | EFER.NXE);
    this.controlEvent('efer', regs.efer, 'EFER.NXE: bit 63 of entries means no-execute');
    this.writeCr3(this.kernelRoot, 'switch to the kernel page tables (4 KiB pages, per-section rights)');
    this.switchable.current = this.tableAccess;
    cpu.writeCr0(regs.cr0 | CR0.WP);
    this.controlEvent('cr0', regs.cr0, 'CR0.WP: supervisor writes honour read-only pages');
    let cr4 = regs.cr4 | CR4.PGE;
    if (this.options.smep ?? true) cr4 |= CR4.SMEP;
    if (this.options.smap ?? false) cr4 |= CR4.SMAP;
    cpu.writeCr4(cr4);
    this.controlEvent('cr4', regs.cr4, `CR4.PGE${(cr4 & CR4.SMEP) !== 0 ? ' + SMEP' : ''}${(cr4 & CR4.SMAP) !== 0 ? ' + SMAP' : ''}`);
    if (this.events.wants('tlb-flush')) this.events.emit({ kind: 'tlb-flush', reason: 'cr4-write' });
    return [
      `kernel remapped with 4 KiB pages (text R-X, rodata R--, data/bss RW- NX); CR3 = ${formatPhysical(this.kernelRoot)}; WP, NXE, PGE${(cr4 & CR4.SMEP) !== 0 ? ', SMEP' : ''}${(cr4 & CR4.SMAP) !== 0 ? ', SMAP' : ''} on`,
      { cr3: this.kernelRoot, cr0: regs.cr0 >>> 0, cr4: regs.cr4 >>> 0, efer: regs.efer >>> 0, kernelPages: this.image.sizeBytes / PAGE },
    ];
  }

  private stepKernelHeap(): [string, Record<string, number | string | boolean>] {
    const region = findLayoutRegion(this.layout, 'kernel-heap')!;
    const base = Math.max(region.start, this.kernelSpaceRange.start);
    const backing = new KernelHeapBacking(
      this.machine.cpu,
      {
        mapHeapPages: (va, pageCount) => this.mapFreshPages(va, pageCount, P | RW | G | NX, { kind: 'heap' }, 'heap'),
        unmapHeapPages: (va, pageCount) => this.unmapAndFree(va, pageCount, 'heap'),
      },
      base,
      this.heapLimit,
    );
    this.heapBacking_ = backing;
    this.heap_ = new KernelHeap({ backing, debug: this.options.heapDebug ?? false });
    return [`kernel heap at ${formatCanonical(base)} (up to ${formatSize(this.heapLimit)}), ${backing.pagesHeld} pages mapped`, { base, limitBytes: this.heapLimit, pagesHeld: backing.pagesHeld }];
  }

  private stepKernelStack(): [string, Record<string, number | string | boolean>] {
    const region = findLayoutRegion(this.layout, 'kernel-stack')!;
    const stack = this.mapKernelStack(region, region.end);
    if (stack === null) throw new Error('out of memory for the kernel stack');
    this.stackPointer = stack.top;
    return [
      `kernel stack moved from ${formatCanonical(this.image.bootStack.top)} to ${formatCanonical(stack.bottom)}..${formatCanonical(stack.top)}, guard page at ${formatCanonical(stack.guard)}`,
      { bottom: stack.bottom, top: stack.top, guard: stack.guard, pageCount: (stack.top - stack.bottom) / PAGE },
    ];
  }

  private mapKernelStack(region: LayoutRegion, top: number): KernelStack | null {
    const bytes = this.kernelStackBytes;
    const bottom = top - bytes;
    const guard = bottom - PAGE;
    if (guard < region.start) return null;
    const flags = P | RW | G | NX;
    if (region.identityMapped === true) {
      // va = pa: the stack needs exactly these frames, and they must be free RAM.
      for (let f = bottom; f < top; f += PAGE) if (!this.machine.memory.isRam(f) || f >= this.pmm.endPa || !this.pmm.isFree(f)) return null;
      this.frames.claim(bottom, bytes / PAGE, { kind: 'kernel-stack' });
      if (!this.kernelMapper.mapPages(bottom, bottom, bytes / PAGE, flags)) {
        for (let f = bottom; f < top; f += PAGE) this.frames.freeFrame(f);
        return null;
      }
      if (this.events.wants('map')) this.events.emit({ kind: 'map', va: bottom, pa: bottom, pageCount: bytes / PAGE, flags, what: 'kernel stack' });
    } else if (!this.mapFreshPages(bottom, bytes / PAGE, flags, { kind: 'kernel-stack' }, 'kernel stack')) return null;
    const s = { bottom, top, guard };
    this.stacks.push(s);
    return s;
  }

  /**
   * Maps another kernel stack (e.g. one per process) in the layout's stack region, below the
   * stacks already there, each with an unmapped guard page below it; a freed slot is reused first.
   * @returns the stack, or null when the region is full or memory ran out (nothing changed)
   * @throws KernelStateError unless running
   */
  allocKernelStack(): KernelStack | null {
    this.requireRunning('allocKernelStack');
    const region = findLayoutRegion(this.layout, 'kernel-stack')!;
    const reuse = this.freeStackTops.pop();
    const top = reuse ?? Math.min(...this.stacks.map((x) => x.guard), ...this.freedGuards);
    const s = this.mapKernelStack(region, top);
    if (s === null && reuse !== undefined) this.freeStackTops.push(reuse);
    return s;
  }

  /**
   * Unmaps a stack from {@link allocKernelStack} (by its top) and frees its frames.
   * @throws KernelStateError unless running; KernelAddressError if no such stack, or it is the
   *   one the stack pointer is in
   */
  freeKernelStack(top: number): void {
    this.requireRunning('freeKernelStack');
    const i = this.stacks.findIndex((x) => x.top === top);
    if (i < 0) throw new KernelAddressError(top, 'is not the top of a kernel stack');
    const s = this.stacks[i]!;
    if (this.stackPointer > s.bottom && this.stackPointer <= s.top) throw new KernelAddressError(top, 'is the stack in use');
    this.unmapAndFree(s.bottom, (s.top - s.bottom) / PAGE, 'kernel stack');
    this.stacks.splice(i, 1);
    this.freeStackTops.push(s.top);
    this.freedGuards.push(s.guard);
  }

  private writeCr3(root: number, why: string): void {
    this.machine.cpu.writeCr3(root);
    this.controlEvent('cr3', root, why);
    if (this.events.wants('tlb-flush')) this.events.emit({ kind: 'tlb-flush', reason: 'cr3-write', cr3: root });
  }

  private controlEvent(register: 'cr0' | 'cr3' | 'cr4' | 'efer', value: number, why: string): void {
    if (this.events.wants('control-register')) this.events.emit({ kind: 'control-register', register, value: value >>> 0 === value ? value : value >>> 0, why });
  }

  // --- mapping helpers ------------------------------------------------------------------------------

  /**
   * Allocates `pageCount` frames for `owner` and maps them at `va` (contiguous runs in one call
   * each). All or nothing: on running out of frames or tables, everything this call did is undone.
   * The range must be validated (mappable) by the caller.
   */
  private mapFreshPages(va: number, pageCount: number, flags: number, owner: FrameOwner, what: string): boolean {
    const frames = this.frames;
    const got: number[] = [];
    for (let i = 0; i < pageCount; i++) {
      const f = frames.allocFrame(owner);
      if (f === null) {
        for (const g of got) frames.freeFrame(g);
        return false;
      }
      got.push(f);
    }
    const mapper = this.kernelMapper;
    let i = 0;
    while (i < pageCount) {
      let n = 1;
      while (i + n < pageCount && got[i + n] === got[i]! + n * PAGE) n++;
      if (!mapper.mapPages(va + i * PAGE, got[i]!, n, flags)) {
        if (i > 0) mapper.unmapPages(va, i);
        for (const g of got) frames.freeFrame(g);
        return false;
      }
      i += n;
    }
    if (this.events.wants('map')) {
      let contiguous = true;
      for (let k = 1; k < pageCount && contiguous; k++) contiguous = got[k] === got[0]! + k * PAGE;
      this.events.emit({ kind: 'map', va, pa: contiguous ? got[0]! : -1, pageCount, flags, what });
    }
    return true;
  }

  /** Unmaps `pageCount` pages at `va` and frees the frames they mapped (all must be owned frames). */
  private unmapAndFree(va: number, pageCount: number, what: string): void {
    const runs = this.kernelMapper.unmapPages(va, pageCount);
    if (runs === null) throw new Error(`unmapping ${formatCanonical(va)} needs a table split and memory ran out`);
    for (const r of runs) for (let off = 0; off < r.sizeBytes; off += PAGE) this.frames.freeFrame(r.pa + off);
    if (this.events.wants('unmap')) this.events.emit({ kind: 'unmap', va, pageCount, what });
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
    this.requireRunning('memMapPagesAt');
    if (!Number.isSafeInteger(pageCount) || pageCount <= 0) throw new KernelSizeError('pageCount', pageCount);
    this.checkKernelRange(va, pageCount * PAGE);
    const f = this.checkKernelFlags(flags);
    this.kernelMapper.assertMappable(va, pageCount * PAGE);
    return this.mapFreshPages(va, pageCount, f, { kind: 'kernel-data' }, 'memMapPagesAt');
  }

  /**
   * Unmaps `pageCount` pages at `va` mapped by {@link memMapPagesAt} and frees their frames.
   * @throws KernelStateError, KernelAddressError (outside kernel space, or a page in the range that
   *   is not a 'kernel-data' page) — before any change
   */
  memUnmapPages(va: number, pageCount: number): void {
    this.requireRunning('memUnmapPages');
    if (!Number.isSafeInteger(pageCount) || pageCount <= 0) throw new KernelSizeError('pageCount', pageCount);
    this.checkKernelRange(va, pageCount * PAGE);
    const mapper = this.kernelMapper;
    for (let i = 0; i < pageCount; i++) {
      const t = mapper.translate(va + i * PAGE);
      if (t === null || t.pageSizeBytes !== PAGE || this.frames.kindOf(t.pa - (t.pa % PAGE)) !== 'kernel-data') {
        throw new KernelAddressError(va + i * PAGE, 'is not a page mapped by memMapPagesAt');
      }
    }
    this.unmapAndFree(va, pageCount, 'memUnmapPages');
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
    this.requireRunning('memMapAddr');
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) throw new KernelSizeError('sizeBytes', sizeBytes);
    if (!Number.isSafeInteger(pa) || pa < 0) throw new KernelPhysicalRangeError(pa, 'is not a non-negative safe integer');
    const first = pa - (pa % PAGE);
    const end = Math.ceil((pa + sizeBytes) / PAGE) * PAGE;
    if (end > 2 ** this.machine.maxPhysAddrBits) throw new KernelPhysicalRangeError(pa, `range of ${sizeBytes} bytes reaches beyond 2^${this.machine.maxPhysAddrBits} (MAXPHYADDR)`);
    const f = this.checkKernelFlags(flags);
    const mem = this.machine.memory;
    const pmm = this.pmm;
    for (let frame = first; frame < end; frame += PAGE) {
      if (mem.isRam(frame) && frame < pmm.endPa && pmm.isFree(frame)) throw new KernelPhysicalRangeError(frame, 'is free RAM: allocate memory with memMapPagesAt instead of mapping it');
    }
    const size = end - first;
    let at: number;
    if (va === undefined) {
      const got = this.kernelSpace.alloc(size, { tag: 'memMapAddr' });
      if (got === null) return null;
      at = got;
    } else {
      this.checkKernelRange(va, size);
      this.kernelMapper.assertMappable(va, size);
      if (!this.kernelSpace.take(va, size, { tag: 'memMapAddr' })) throw new KernelAddressError(va, 'the virtual range is in use in kernel space');
      at = va;
    }
    if (!this.kernelMapper.mapPages(at, first, size / PAGE, f)) {
      this.kernelSpace.free(at, size);
      return null;
    }
    this.physMappings.push({ va: at, pa: first, sizeBytes: size, flags: f });
    if (this.events.wants('map')) this.events.emit({ kind: 'map', va: at, pa: first, pageCount: size / PAGE, flags: f, what: 'memMapAddr' });
    return at + (pa - first);
  }

  /**
   * Removes a mapping made by {@link memMapAddr} (by the address it returned or its first page)
   * and frees its virtual range. The physical range is untouched.
   * @throws KernelStateError; KernelAddressError if no memMapAddr mapping starts at that page
   */
  memUnmapAddr(va: number): void {
    this.requireRunning('memUnmapAddr');
    const page = Number.isSafeInteger(va) ? va - (va % PAGE) : va;
    const i = this.physMappings.findIndex((m) => m.va === page);
    if (i < 0) throw new KernelAddressError(va, 'no memMapAddr mapping starts at this page');
    const m = this.physMappings[i]!;
    this.kernelMapper.unmapPages(m.va, m.sizeBytes / PAGE);
    this.kernelSpace.free(m.va, m.sizeBytes);
    this.physMappings.splice(i, 1);
    if (this.events.wants('unmap')) this.events.emit({ kind: 'unmap', va: m.va, pageCount: m.sizeBytes / PAGE, what: 'memMapAddr' });
  }

  /**
   * virtaddr_alloc: a free range of kernel virtual addresses (first fit), or null.
   * @throws KernelStateError; virt-alloc's typed errors for bad sizes/alignments
   */
  virtaddrAlloc(sizeBytes: number, options?: AllocOptions<string>): number | null {
    this.requireRunning('virtaddrAlloc');
    return this.kernelSpace.alloc(sizeBytes, options);
  }

  /**
   * virtaddr_take: claims exactly `[va, va + sizeBytes)` of kernel space if all of it is free.
   * @throws KernelStateError; virt-alloc's typed errors for bad input
   */
  virtaddrTake(va: number, sizeBytes: number, options?: TakeOptions<string>): boolean {
    this.requireRunning('virtaddrTake');
    return this.kernelSpace.take(va, sizeBytes, options);
  }

  /**
   * Frees kernel virtual addresses taken with virtaddrAlloc / virtaddrTake.
   * @throws KernelStateError; virt-alloc's DoubleFreeError and friends
   */
  virtaddrFree(va: number, sizeBytes?: number): number {
    this.requireRunning('virtaddrFree');
    return this.kernelSpace.free(va, sizeBytes);
  }

  /** kmalloc: `sizeBytes` of kernel heap, or null. @throws KernelStateError; kheap's typed errors */
  kmalloc(sizeBytes: number, options?: KmallocOptions): number | null {
    this.requireRunning('kmalloc');
    return this.heap.kmalloc(sizeBytes, options);
  }

  /** kfree: returns a block from kmalloc (null is ignored). @throws KernelStateError; kheap's typed errors */
  kfree(ptr: number | null): void {
    this.requireRunning('kfree');
    this.heap.kfree(ptr);
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
    this.requireRunning('newAddressSpaceRoot');
    const owner: FrameOwner = pid === undefined ? { kind: 'page-table' } : { kind: 'page-table', pid };
    const frames = this.frames;
    const root = frames.allocFrame(owner);
    if (root === null) return null;
    const mem = this.machine.memory;
    const src = mem.frameWords(this.kernelRoot);
    const dst = mem.frameWords(root);
    for (let i = 256 * 2; i < 1024; i++) dst[i] = src[i]!;
    if (this.recursiveSlot >= 0) {
      // The recursive slot of a process points at the process's own PML4, not the kernel's.
      const maskHi = addressMaskHi(this.machine.maxPhysAddrBits);
      dst[this.recursiveSlot * 2] = encodeLo(root, P | RW);
      dst[this.recursiveSlot * 2 + 1] = encodeHi(root, 0, maskHi);
    }
    const tables: number[] = [];
    if (this.sharedPdEntries > 0) {
      const pdpt = frames.allocFrame(owner);
      const pd = pdpt === null ? null : frames.allocFrame(owner);
      if (pdpt === null || pd === null) {
        if (pdpt !== null) frames.freeFrame(pdpt);
        frames.freeFrame(root);
        return null;
      }
      const maskHi = addressMaskHi(this.machine.maxPhysAddrBits);
      dst[0] = encodeLo(pdpt, USER_TABLE_ENTRY);
      dst[1] = encodeHi(pdpt, 0, maskHi);
      const pdptWords = mem.frameWords(pdpt);
      pdptWords[0] = encodeLo(pd, USER_TABLE_ENTRY);
      pdptWords[1] = encodeHi(pd, 0, maskHi);
      const kpd = mem.frameWords(this.sharedPd);
      const pdWords = mem.frameWords(pd);
      for (let i = 0; i < this.sharedPdEntries * 2; i++) pdWords[i] = kpd[i]!;
      tables.push(pdpt, pd);
    }
    this.privateTables.set(root, tables);
    return root;
  }

  /**
   * Frees a root made by {@link newAddressSpaceRoot} and the private tables it created. The user
   * half must be empty (unmap every user page and free the tables first: a Mapper's
   * `unmapPages` does both).
   * @throws KernelStateError unless running; KernelAddressError if `root` is not such a root or
   *   user mappings remain (nothing freed)
   */
  freeAddressSpaceRoot(root: number): void {
    this.requireRunning('freeAddressSpaceRoot');
    const tables = this.privateTables.get(root);
    if (tables === undefined) throw new KernelAddressError(root, 'is not an address-space root made by newAddressSpaceRoot');
    const mem = this.machine.memory;
    const words = mem.frameWords(root);
    const firstUserSlot = this.sharedPdEntries > 0 ? 1 : 0;
    for (let i = firstUserSlot; i < 256; i++) if (i !== this.recursiveSlot && (words[i * 2]! & P) !== 0) throw new KernelAddressError(i * PML4_SPAN, `user mappings remain under PML4 slot ${i} of root ${formatPhysical(root)}`);
    if (tables.length === 2) {
      const pdpt = mem.frameWords(tables[0]!);
      for (let i = 1; i < 512; i++) if ((pdpt[i * 2]! & P) !== 0) throw new KernelAddressError(i * ONE_GIB, `user mappings remain under PDPT entry ${i} of root ${formatPhysical(root)}`);
      const pd = mem.frameWords(tables[1]!);
      for (let i = this.sharedPdEntries; i < 512; i++) if ((pd[i * 2]! & P) !== 0) throw new KernelAddressError(i * TWO_MIB, `user mappings remain under PD entry ${i} of root ${formatPhysical(root)}`);
    }
    for (const t of tables) this.frames.freeFrame(t);
    this.frames.freeFrame(root);
    this.privateTables.delete(root);
  }

  /** Roots made by newAddressSpaceRoot and not freed. */
  addressSpaceRoots(): number[] {
    return [...this.privateTables.keys()];
  }

  /**
   * A Mapper over `root` (a PML4 frame), reaching tables with the kernel's mechanism, with new
   * tables owned ('page-table', pid) and every changed leaf invalidated in the CPU's TLB.
   * @throws KernelStateError before the table-access step
   */
  mapperFor(root: number, pid?: number): Mapper {
    const allocator = this.frames.allocatorFor(pid === undefined ? { kind: 'page-table' } : { kind: 'page-table', pid });
    return new Mapper({ access: this.tableAccess, allocator, root, maxPhysAddr: this.machine.maxPhysAddrBits, tlb: this.tlbNotifier, memory: this.machine.memory, ...this.reservedSlots() });
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
  exec(target: number | ExecOptions | undefined, file: Uint8Array | Elf64, argv?: readonly string[], envp?: readonly string[], options?: ExecOptions): Process | null {
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

  // --- panics ------------------------------------------------------------------------------------------

  /**
   * Stops the kernel: state 'panicked', a 'panic' event with a report (reason; with `cr2`, the
   * error code decoded and the page walk of CR2 level by level in the current CR3), then throws
   * {@link KernelPanic} for the host to catch. Never kills the host.
   * @throws KernelPanic always
   */
  panic(reason: string, details: PanicDetails = {}): never {
    const cpu = this.machine.cpu;
    const cr3 = cpu.registers.cr3Frame;
    let walk: string | undefined;
    if (details.cr2 !== undefined && Number.isSafeInteger(details.cr2) && details.cr2 >= 0 && details.cr2 < LINEAR_LIMIT) {
      try {
        walk = formatWalk(details.cr2, walkTables(this.physical, cr3, details.cr2, this.machine.maxPhysAddrBits));
      } catch (e) {
        walk = `walk of ${formatCanonical(details.cr2)} failed: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
    const report: PanicReportData = {
      reason,
      cr3,
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
    this.machine.checkInvariants();
    this.events.checkInvariants();
    if (this.pmm_ === null) return;
    this.pmm_.checkInvariants();
    this.frames_!.checkInvariants();
    this.kernelSpace_?.checkInvariants();
    this.heapBacking_?.checkInvariants();
    this.heap_?.checkInvariants();
    if (this.kernelRoot_ < 0) return;
    this.kernelMapper_!.checkInvariants();
    this.checkKernelTables();
    if (this.state === 'running') this.checkKernelMappings();
    this.processes.checkInvariants();
  }

  /**
   * Every table reachable from the kernel's PML4 is owned ('page-table', no pid); every table of
   * an address-space root's own tree is owned ('page-table', the root's pid); and every
   * 'page-table' frame is one of those (none leaked).
   */
  private checkKernelTables(): void {
    const maskHi = addressMaskHi(this.machine.maxPhysAddrBits);
    const mem = this.machine.memory;
    const frames = this.frames;
    const seen = new Set<number>();
    const visit = (level: number, table: number, pid: number, what: string): void => {
      if (seen.has(table)) return; // shared with the kernel (or another tree): checked there
      seen.add(table);
      const kind = frames.kindOf(table);
      if (kind !== 'page-table' || frames.pidOf(table) !== pid) {
        throw new KernelInvariantError(`${what} page table ${formatPhysical(table)} (level ${level}) is owned by ${kind ?? 'nobody'}${frames.pidOf(table) >= 0 ? ` of pid ${frames.pidOf(table)}` : ''}, not 'page-table'${pid >= 0 ? ` of pid ${pid}` : ''}`);
      }
      if (level === 1 || !mem.isBacked(table)) return; // a never-written table is all zeros
      const w = mem.frameWords(table);
      for (let i = 0; i < 512; i++) {
        const lo = w[i * 2]!;
        if ((lo & P) === 0) continue;
        if (level !== 4 && (lo & PTE.HugePage) !== 0) continue;
        if (level === 4 && i === this.recursiveSlot) continue;
        visit(level - 1, entryAddress(lo, w[i * 2 + 1]!, maskHi), pid, what);
      }
    };
    visit(4, this.kernelRoot, -1, 'kernel');
    for (const root of this.privateTables.keys()) visit(4, root, frames.pidOf(root), `address space ${formatPhysical(root)}:`);
    const owned = frames.usageByOwner()['page-table'];
    if (owned !== seen.size) throw new KernelInvariantError(`${owned} frames are owned 'page-table' but ${seen.size} tables are reachable from the kernel and the address-space roots (${owned - seen.size} leaked)`);
  }

  private checkKernelMappings(): void {
    const frames = this.frames;
    const dm = findLayoutRegion(this.layout, 'direct-map');
    const img = this.image;
    const heap = findLayoutRegion(this.layout, 'kernel-heap')!;
    const stack = findLayoutRegion(this.layout, 'kernel-stack')!;
    const ram = this.ramFrameRanges();
    const inRam = (pa: number, end: number): boolean => ram.some((r) => r.start <= pa && end <= r.end);
    const bad = (m: { start: number }, why: string): never => {
      throw new KernelInvariantError(`kernel mapping at ${formatCanonical(m.start)}: ${why}`);
    };
    // Read through physical memory (what the MMU sees), not through the kernel's mechanism:
    // faster, and independent of the direct map being checked.
    const win = findLayoutRegion(this.layout, 'table-window');
    for (const m of collectMappings(this.physical, this.kernelRoot, { maxPhysAddr: this.machine.maxPhysAddrBits, skipPml4Slots: this.recursiveSlot >= 0 ? [this.recursiveSlot] : [] })) {
      if ((m.flags & PTE.User) !== 0) bad(m, 'is user-accessible in the kernel page tables');
      if (dm !== undefined && m.start >= dm.start && m.end <= dm.end) {
        if (m.pa !== m.start - dm.start) bad(m, `direct map points at ${formatPhysical(m.pa)}, not at its offset`);
        if (!inRam(m.pa, m.pa + (m.end - m.start))) bad(m, `direct map covers ${formatPhysical(m.pa)}..${formatPhysical(m.pa + m.end - m.start)}, which is not RAM`);
        if ((m.flags & NX) === 0) bad(m, 'direct map is executable');
        continue;
      }
      for (let va = m.start; va < m.end; va += PAGE) {
        const pa = m.pa + (va - m.start);
        if (va >= img.va && va < img.va + img.sizeBytes) {
          if (pa !== img.pa + (va - img.va)) bad({ start: va }, `kernel image page maps ${formatPhysical(pa)}, not its own frame`);
          const s = img.sections.find((x) => va >= x.va && va < x.va + x.sizeBytes)!;
          const w = (m.flags & RW) !== 0;
          const x = (m.flags & NX) === 0;
          const ok = s.name === '.text' ? !w && x : s.name === '.rodata' ? !w && !x : w && !x;
          if (!ok) bad({ start: va }, `${s.name} page has the wrong rights (${w ? 'W' : '-'}${x ? 'X' : '-'})`);
          continue;
        }
        if (this.physMappings.some((p) => va >= p.va && va < p.va + p.sizeBytes && pa === p.pa + (va - p.va))) continue;
        // Table windows show page tables on purpose (any address space's).
        if (win !== undefined && this.layout.tableAccess === 'window' && va >= win.start && va < win.start + TWO_MIB && frames.kindOf(pa) === 'page-table') continue;
        const want = va >= heap.start && va < heap.end ? 'heap' : va >= stack.start && va < stack.end ? 'kernel-stack' : 'kernel-data';
        const kind = frames.kindOf(pa);
        if (kind !== want) bad({ start: va }, `maps frame ${formatPhysical(pa)} owned by ${kind ?? 'nobody'}, expected ${want}`);
        if (frames.pidOf(pa) >= 0) bad({ start: va }, `maps frame ${formatPhysical(pa)} of pid ${frames.pidOf(pa)}`);
      }
    }
  }

  // --- helpers ---------------------------------------------------------------------------------------

  private need<T>(value: T | null, what: string): T {
    if (value === null) throw new KernelStateError(this.state, `${what} (not created yet by the boot)`);
    return value;
  }

  private requireRunning(what: string): void {
    if (this.state !== 'running') throw new KernelStateError(this.state, what);
  }

  private checkKernelRange(va: number, sizeBytes: number): void {
    if (!Number.isSafeInteger(va) || va < 0) throw new KernelAddressError(va, 'is not a linear address');
    if (va % PAGE !== 0) throw new KernelAddressError(va, 'is not 4 KiB aligned');
    const { start, end } = this.kernelSpaceRange;
    if (va < start || va + sizeBytes > end) throw new KernelAddressError(va, `range of ${sizeBytes} bytes is outside kernel space ${formatCanonical(start)}..${formatCanonical(end)}`);
  }

  private checkKernelFlags(flags: number): number {
    if (!Number.isInteger(flags) || flags < -0x8000_0000 || flags > 0xffff_ffff) throw new KernelFlagsError(0, `${String(flags)} is not a 32-bit flags word`);
    const f = flags | 0;
    if ((f & PTE.User) !== 0) throw new KernelFlagsError(f, 'kernel mappings must not be user-accessible (U/S)');
    if ((f & PTE.HugePage) !== 0) throw new KernelFlagsError(f, 'PS/PAT bit 7 is not accepted here (4 KiB pages)');
    return f | P;
  }
}
