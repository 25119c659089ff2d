// What a kernel is made of: its configuration, checked before anything changes (layout, image,
// modules, kernel space, shared PML4 slots, stack and heap sizes), and the parts the boot steps
// create (frame allocator, ownership records, kernel VAS, tables, heap). Every kernel subsystem
// (boot steps, kernel mappings, stacks, address-space roots, invariants) shares one KernelParts.
import type { KernelHeapArenas } from '../heap-arenas';
import type { PageSlab } from '../slab/page-slab';
import type { KernelFrameAllocator } from './frame-allocator-choice';
import type { KernelHeap } from '@kmem/kheap';
import type { VirtualAllocator } from '@kmem/virt-alloc';
import { PhysicalTableAccess, type BootstrapTables, type Mapper, type TableAccess, type TlbInvalidator } from '@kmem/x86-paging';
import { SwitchableTableAccess } from '../boot/table-access';
import { resolveKernelImage, type KernelImage } from '../boot/kernel-image';
import { EventLog } from '../events';
import type { FrameOwners } from '../frame-owners';
import type { KernelHeapBacking } from '../heap-backing';
import { HIGHER_HALF_LINEAR, LINEAR_LIMIT, formatCanonical, formatPhysical } from '../hex';
import { show } from '../show-value';
import { KernelConfigError, KernelStateError } from '../kernel-errors';
import type { KernelState } from '../kernel-services';
import { findLayoutRegion, formatSize, validateLayout, type Layout } from '../layout';
import { LAYOUTS } from '../layouts';
import { requireLayoutPagingMode } from '../i386/layout-paging-mode';
import type { Machine } from '../machine';
import type { BootModule, KernelOptions } from './kernel-options';

const PAGE = 4096;
const TWO_MIB = 2 * 1024 * 1024;
const ONE_GIB = 1024 * 1024 * 1024;

/**
 * The kernel's configuration and parts. Internal to kernel-sim (not exported from the package):
 * `Kernel` exposes the parts through its getters.
 */
export class KernelParts {
  readonly machine: Machine;
  readonly options: KernelOptions;
  readonly layout: Layout;
  readonly image: KernelImage;
  readonly modules: readonly BootModule[];
  readonly events: EventLog;
  readonly kernelStackBytes: number;
  readonly heapLimit: number;
  /** The kernel's virtual range (what `kernelSpace` manages). */
  readonly kernelSpaceRange: { start: number; end: number };
  /** PML4 slots whose tables every address space shares (256..511 for a higher-half kernel). */
  readonly sharedSlots: number[];
  /** identity-low: PD entries [0, sharedPdEntries) of the first GiB are kernel tables shared by every address space. */
  readonly sharedPdEntries: number;
  /** The recursive PML4 slot, or -1. */
  readonly recursiveSlot: number;
  readonly physical: PhysicalTableAccess;
  readonly switchable: SwitchableTableAccess;
  readonly tlbNotifier: TlbInvalidator;

  state: KernelState = 'created';
  pmm: KernelFrameAllocator | null = null;
  frames: FrameOwners | null = null;
  kernelSpace: VirtualAllocator<string> | null = null;
  kernelMapper: Mapper | null = null;
  tableAccess: TableAccess | null = null;
  heap: KernelHeap | null = null;
  heapBacking: KernelHeapBacking | null = null;
  /** The heap's 2 GiB arenas (`heap` and `heapBacking` are arena 0's). */
  heapArenas: KernelHeapArenas | null = null;
  /** The 4 KiB object cache over the layout's slab region (null when it has none). */
  slab: PageSlab | null = null;
  bootstrap: BootstrapTables | null = null;
  kernelRoot = -1;
  /** identity-low: the shared PD of the first GiB, or -1. */
  sharedPd = -1;
  /** Linear address of physical 0 in the direct map, or -1. */
  directMapBase = -1;
  /** The stack pointer after the last boot step: the top of the kernel stack. */
  stackPointer = 0;

  /**
   * Checks everything it can before any state changes.
   * @throws KernelConfigError for an unknown layout name, an image that does not fit or is not in
   *   usable RAM, a table-access mechanism this kernel does not implement, bad stack/heap sizes
   * @throws LayoutError (from validateLayout) for an invalid custom layout
   * @throws LayoutPagingModeError for a 32-bit layout (Kernel32 runs those)
   */
  constructor(machine: Machine, options: KernelOptions) {
    this.machine = machine;
    this.options = options;
    requireLayoutPagingMode(options.layout, '4-level');
    const named = typeof options.layout === 'string' ? LAYOUTS[options.layout] : validateLayout(options.layout);
    if (named === undefined) throw new KernelConfigError(`unknown layout "${typeof options.layout === 'string' ? options.layout : 'object'}" (shipped: ${Object.keys(LAYOUTS).join(', ')})`);
    // The `tableAccess` option replaces the layout's mechanism (checked like any layout).
    const layout = options.tableAccess === undefined || options.tableAccess === named.tableAccess ? named : validateLayout({ ...named, tableAccess: options.tableAccess });
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
    if (!Number.isSafeInteger(stackBytes) || stackBytes <= 0 || stackBytes % PAGE !== 0) throw new KernelConfigError(`kernelStackBytes ${show(stackBytes)} is not a positive multiple of 4096`);
    this.kernelStackBytes = stackBytes;
    const stackRegion = findLayoutRegion(layout, 'kernel-stack');
    if (stackRegion === undefined || stackRegion.end - stackRegion.start < stackBytes + PAGE) throw new KernelConfigError('the layout needs a kernel-stack region larger than the kernel stack plus its guard page');
    if (options.frameAllocator !== undefined && options.frameAllocator !== 'bitmap' && options.frameAllocator !== 'region-list') throw new KernelConfigError(`frameAllocator ${show(options.frameAllocator)} is not 'bitmap' or 'region-list'`);
    if (options.mmapPolicy !== undefined && options.mmapPolicy !== 'first-fit' && options.mmapPolicy !== 'highest-allocation') throw new KernelConfigError(`mmapPolicy ${show(options.mmapPolicy)} is not 'first-fit' or 'highest-allocation'`);
    const exitHistory = options.exitHistory ?? 1000;
    if (!Number.isSafeInteger(exitHistory) || exitHistory < 0) throw new KernelConfigError(`exitHistory ${show(exitHistory)} is not a non-negative integer`);
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
    // The whole region by default, in 2 GiB kheap arenas (heap-arenas.ts); a limit the region
    // cannot honour is an error, never a silent cap.
    if (options.heapLimitBytes !== undefined && options.heapLimitBytes > heapEnd - heapStart) {
      throw new KernelConfigError(`heapLimitBytes ${show(options.heapLimitBytes)} exceeds the heap region's ${formatSize(heapEnd - heapStart)} (${formatCanonical(heapStart)}..${formatCanonical(heapEnd)})`);
    }
    const limit = options.heapLimitBytes ?? heapEnd - heapStart;
    if (!Number.isSafeInteger(limit) || limit < 64 * 1024 || limit % PAGE !== 0) throw new KernelConfigError(`heap limit ${show(limit)} must be a page multiple of at least 64 KiB inside the heap region`);
    this.heapLimit = limit;

    // The image and modules must be RAM the firmware called usable, or that the boot loader
    // reported as holding them (Limine's EXECUTABLE_AND_MODULES: kind 'kernel-and-modules').
    const usable = machine.memoryMap.filter((r) => r.kind === 'usable' || r.kind === 'kernel-and-modules');
    const inUsable = (pa: number, sizeBytes: number): boolean => usable.some((r) => r.base <= pa && pa + sizeBytes <= r.base + r.lengthBytes);
    if (!inUsable(this.image.pa, this.image.sizeBytes)) {
      throw new KernelConfigError(`kernel image ${formatPhysical(this.image.pa)}..${formatPhysical(this.image.pa + this.image.sizeBytes)} is not inside usable RAM of this memory map`);
    }
    for (const m of this.modules) {
      if (!Number.isSafeInteger(m.pa) || m.pa % PAGE !== 0 || !Number.isSafeInteger(m.sizeBytes) || m.sizeBytes <= 0) throw new KernelConfigError(`module ${m.name}: pa ${formatPhysical(m.pa)} / size ${show(m.sizeBytes)} invalid`);
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
  }

  /** A part the boot creates. @throws KernelStateError before the step that creates it */
  need<T>(value: T | null, what: string): T {
    if (value === null) throw new KernelStateError(this.state, `${what} (not created yet by the boot)`);
    return value;
  }

  /** @throws KernelStateError unless the kernel is running */
  requireRunning(what: string): void {
    if (this.state !== 'running') throw new KernelStateError(this.state, what);
  }

  /** The PML4 slot a Mapper must never fill (the recursive one). */
  reservedSlots(): { reservedPml4Slots?: readonly number[] } {
    return this.recursiveSlot >= 0 ? { reservedPml4Slots: [this.recursiveSlot] } : {};
  }

  /** RAM as frame-rounded (outward), merged ranges. */
  ramFrameRanges(): { start: number; end: number }[] {
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

  /** A 'control-register' event. */
  controlEvent(register: 'cr0' | 'cr3' | 'cr4' | 'efer', value: number, why: string): void {
    if (this.events.wants('control-register')) this.events.emit({ kind: 'control-register', register, value: value >>> 0 === value ? value : value >>> 0, why });
  }

  /** MOV to CR3 with its events. */
  writeCr3(root: number, why: string): void {
    this.machine.cpu.writeCr3(root);
    this.controlEvent('cr3', root, why);
    if (this.events.wants('tlb-flush')) this.events.emit({ kind: 'tlb-flush', reason: 'cr3-write', cr3: root });
  }
}
