// The boot, step by step, as a kernel does it after the boot loader hands over: read the memory
// map, build the frame allocator (its bitmap in RAM), load boot page tables, choose how tables are
// reached, set up kernel virtual space, remap the kernel with per-section rights, start the heap,
// move to a kernel stack with a guard page. Each step returns its summary for the 'boot-step' event.
import { BitmapFrameAllocator } from '@kmem/pmm-bitmap';
import { VirtualAllocator } from '@kmem/virt-alloc';
import {
  CR0,
  CR4,
  DirectMapTableAccess,
  EFER,
  Mapper,
  PTE,
  PageSize,
  RecursiveTableAccess,
  WindowTableAccess,
  addressMaskHi,
  buildBootstrapTables,
  encodeHi,
  encodeLo,
} from '@kmem/x86-paging';
import type { BootStepName, FrameOwner } from '../events';
import { FrameOwners } from '../frame-owners';
import { KernelHeapArenas } from '../heap-arenas';
import { PageSlab } from '../slab/page-slab';
import { formatCanonical, formatPhysical } from '../hex';
import { findLayoutRegion, formatSize } from '../layout';
import type { KernelMappings } from './kernel-mappings';
import type { KernelParts } from './kernel-parts';
import type { KernelStacks } from './kernel-stacks';
import { SPAN_PER_RAM_BYTE, managedRam } from './managed-ram';
import { RegionListFrameAllocator } from '../pmm-region-list/region-list-frame-allocator';

const PAGE = 4096;
const TWO_MIB = 2 * 1024 * 1024;
const PML4_SPAN = 2 ** 39;
const P = PTE.Present;
const RW = PTE.Writable;
const G = PTE.Global;
const NX = PTE.NoExecute;
/** Table entries the kernel writes itself (PML4 slots shared by every address space): P | R/W, supervisor only. */
const KERNEL_TABLE_ENTRY = P | RW;
/** A user-reachable table entry (P | R/W | U/S): the leaves decide. */
const USER_TABLE_ENTRY = P | RW | PTE.User;

/** A boot step's summary and details (the 'boot-step' event's fields). */
export type BootStepResult = [string, Record<string, number | string | boolean>];

/** Runs the boot steps on a kernel's parts. */
export class BootSteps {
  constructor(
    private readonly parts: KernelParts,
    private readonly mappings: KernelMappings,
    private readonly stacks: KernelStacks,
  ) {}

  /** Runs one step. @throws whatever the step throws (the kernel turns it into a panic) */
  run(step: BootStepName): BootStepResult {
    switch (step) {
      case 'memory-map':
        return this.memoryMap();
      case 'frame-allocator':
        return this.frameAllocator();
      case 'bootstrap-tables':
        return this.bootstrapTables();
      case 'table-access':
        return this.tableAccess();
      case 'kernel-vas':
        return this.kernelVas();
      case 'remap-kernel':
        return this.remapKernel();
      case 'kernel-heap':
        return this.kernelHeap();
      case 'kernel-stack':
        return this.kernelStack();
    }
  }

  private memoryMap(): BootStepResult {
    const m = this.parts.machine;
    const usableBytes = m.bytesOfKind('usable');
    return [
      `${m.memoryMap.length} regions, ${formatSize(m.ramBytes)} RAM, ${formatSize(usableBytes)} usable`,
      { regions: m.memoryMap.length, ramBytes: m.ramBytes, usableBytes, changes: m.memoryMapChanges.length },
    ];
  }

  private frameAllocator(): BootStepResult {
    const parts = this.parts;
    const m = parts.machine;
    // The bitmap covers RAM, not the highest address a map names (see managed-ram.ts).
    const managed = managedRam(m.memoryMap);
    const mapOptions = { maxPhysAddrBits: m.maxPhysAddrBits, reserveLowBytes: 1024 * 1024, maxFrameCount: managed.frameCount };
    // Seed 001's list of regions, or the bitmap. The list's nodes are host typed arrays (a C kernel
    // keeps them in a static pool in .bss); `bookkeepingBytes` is that pool at 32 bytes a node.
    const pmm = parts.options.frameAllocator === 'region-list' ? RegionListFrameAllocator.fromMemoryMap(m.memoryMap, mapOptions) : BitmapFrameAllocator.fromMemoryMap(m.memoryMap, mapOptions);
    const frames = new FrameOwners(pmm, m.memory, parts.events);
    parts.pmm = pmm;
    parts.frames = frames;
    this.takeFrames(parts.image.pa, parts.image.sizeBytes / PAGE, { kind: 'kernel-image' });
    for (const mod of parts.modules) this.takeFrames(mod.pa, Math.ceil(mod.sizeBytes / PAGE), { kind: 'module' });
    const bitmapPa = pmm instanceof BitmapFrameAllocator ? this.placeBitmap(pmm) : -1;
    const reserved = frames.adoptAllUnowned({ kind: 'reserved' });
    this.writeImageSignature();
    const ignored = managed.ignored;
    const ignoredNote =
      ignored.length === 0 ? '' : `; ${formatSize(pmm.ignoredBytes)} of RAM from ${formatPhysical(ignored[0]!.base)} left unmanaged (more than ${SPAN_PER_RAM_BYTE}x the RAM below it away from 0)`;
    const detail = { totalFrames: pmm.totalFrames, freeFrames: pmm.freeFrames, kernelImageFrames: parts.image.sizeBytes / PAGE, reservedFrames: reserved, moduleCount: parts.modules.length, ignoredRamBytes: pmm.ignoredBytes };
    if (pmm instanceof RegionListFrameAllocator) {
      return [
        `region list of ${pmm.regionCount} regions (${pmm.bookkeepingBytes} bytes of nodes) over ${pmm.totalFrames} frames; ${pmm.freeFrames} frames free${ignoredNote}`,
        { ...detail, regionCount: pmm.regionCount, bookkeepingBytes: pmm.bookkeepingBytes },
      ];
    }
    return [
      `bitmap of ${pmm.totalFrames} frames at ${formatPhysical(bitmapPa)} (${pmm.bitmapFrameCount} frames); ${pmm.freeFrames} frames free${ignoredNote}`,
      { ...detail, bitmapPa, bitmapFrames: pmm.bitmapFrameCount },
    ];
  }

  /**
   * The bitmap goes into RAM: contiguous frames, lowest first (Linux's memblock puts early
   * allocations low too), reserved for good, then kept in sync by FrameOwners.
   */
  private placeBitmap(pmm: BitmapFrameAllocator): number {
    const bitmapFrames = pmm.bitmapFrameCount;
    const bitmapPa = this.parts.frames!.allocContiguous(bitmapFrames, { kind: 'bitmap' });
    if (bitmapPa === null) throw new Error(`no ${bitmapFrames} contiguous frames for the frame bitmap`);
    pmm.placeBitmap(bitmapPa);
    this.parts.frames!.placeBitmap(bitmapPa);
    return bitmapPa;
  }

  /**
   * Gives `frameCount` frames from `pa` to `owner`: free ones are claimed from the allocator,
   * ones the map already marked in use (kind 'kernel-and-modules') are adopted. Runs of each.
   */
  private takeFrames(pa: number, frameCount: number, owner: FrameOwner): void {
    const frames = this.parts.frames!;
    const pmm = this.parts.pmm!;
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
    const parts = this.parts;
    const text = 'KMEM kernel-sim .text';
    const mem = parts.machine.memory;
    const bytes = new Uint8Array(64);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    mem.writeBytes(parts.image.sections[0]!.pa, bytes);
    const ro = `layout ${parts.layout.name}`;
    const robytes = new Uint8Array(64);
    for (let i = 0; i < Math.min(ro.length, 63); i++) robytes[i] = ro.charCodeAt(i);
    mem.writeBytes(parts.image.sections[1]!.pa, robytes);
  }

  private bootstrapTables(): BootStepResult {
    const parts = this.parts;
    const img = parts.image;
    const tables = buildBootstrapTables({
      memory: parts.machine.memory,
      kernel: img.bootstrapExtent,
      pool: img.bootstrapPool,
      higherHalfBase: img.higherHalfBase,
      identityMap: !img.identity,
      maxPhysAddr: parts.machine.maxPhysAddrBits,
    });
    parts.bootstrap = tables;
    parts.writeCr3(tables.root, 'load the boot page tables (identity + higher-half alias, 2 MiB pages)');
    parts.stackPointer = img.bootStack.top;
    return [
      `boot tables in .bss at ${formatPhysical(img.bootstrapPool.pa)}: ${tables.tableFrameCount} tables, CR3 = ${formatPhysical(tables.root)}`,
      { root: tables.root, tableFrames: tables.tableFrameCount, identity: tables.identity !== null, aliasStart: tables.higherHalf.start, aliasEnd: tables.higherHalf.end },
    ];
  }

  private tableAccess(): BootStepResult {
    const parts = this.parts;
    const frames = parts.frames!;
    const ptOwner: FrameOwner = { kind: 'page-table' };
    const root = frames.allocFrame(ptOwner);
    if (root === null) throw new Error('no frame for the kernel PML4');
    parts.kernelRoot = root;
    const maxPhysAddr = parts.machine.maxPhysAddrBits;
    const mapper = new Mapper({ access: parts.switchable, allocator: frames.allocatorFor(ptOwner), root, maxPhysAddr, tlb: parts.tlbNotifier, memory: parts.machine.memory, ...parts.reservedSlots() });
    parts.kernelMapper = mapper;
    let sharedTables = 0;
    const maskHi = addressMaskHi(maxPhysAddr);
    const phys = parts.physical;
    // Tables shared by every address space exist from the start (as Linux preallocates the
    // kernel's PGD entries), so a mapping the kernel adds later is seen by every process.
    for (const slot of parts.sharedSlots) {
      if (slot === parts.recursiveSlot) continue;
      const t = frames.allocFrame(ptOwner);
      if (t === null) throw new Error('out of memory for the kernel half');
      phys.writeEntry(4, slot * PML4_SPAN, root, slot, encodeLo(t, KERNEL_TABLE_ENTRY), encodeHi(t, 0, maskHi));
      sharedTables++;
    }
    if (parts.sharedPdEntries > 0) {
      const pdpt = frames.allocFrame(ptOwner);
      const pd = pdpt === null ? null : frames.allocFrame(ptOwner);
      if (pdpt === null || pd === null) throw new Error('out of memory for the kernel page tables');
      phys.writeEntry(4, 0, root, 0, encodeLo(pdpt, USER_TABLE_ENTRY), encodeHi(pdpt, 0, maskHi));
      phys.writeEntry(3, 0, pdpt, 0, encodeLo(pd, USER_TABLE_ENTRY), encodeHi(pd, 0, maskHi));
      for (let i = 0; i < parts.sharedPdEntries; i++) {
        const pt = frames.allocFrame(ptOwner);
        if (pt === null) throw new Error('out of memory for the kernel page tables');
        phys.writeEntry(2, i * TWO_MIB, pd, i, encodeLo(pt, KERNEL_TABLE_ENTRY), encodeHi(pt, 0, maskHi));
      }
      parts.sharedPd = pd;
      sharedTables += 2 + parts.sharedPdEntries;
    }
    let directMapBytes = 0;
    const dm = findLayoutRegion(parts.layout, 'direct-map');
    if (dm !== undefined) {
      parts.directMapBase = dm.start;
      for (const r of parts.ramFrameRanges()) {
        if (dm.start + r.end > dm.end) throw new Error(`RAM at ${formatPhysical(r.start)} lies beyond the direct map region (${formatSize(dm.end - dm.start)})`);
        if (!mapper.mapRange(dm.start + r.start, r.start, r.end - r.start, P | RW | G | NX, { maxPageSize: PageSize.Size1G })) throw new Error('out of memory building the direct map');
        directMapBytes += r.end - r.start;
        if (parts.events.wants('map')) parts.events.emit({ kind: 'map', va: dm.start + r.start, pa: r.start, pageCount: (r.end - r.start) / PAGE, flags: P | RW | G | NX, what: 'direct-map' });
      }
    }
    const cpu = parts.machine.cpu;
    switch (parts.layout.tableAccess) {
      case 'direct-map':
        parts.tableAccess = new DirectMapTableAccess(cpu, { offset: parts.directMapBase });
        break;
      case 'recursive':
        // PML4[slot] = the PML4 itself: every table becomes visible in that slot's 512 GiB.
        RecursiveTableAccess.install(phys, root, parts.recursiveSlot);
        parts.tableAccess = new RecursiveTableAccess(cpu, { slot: parts.recursiveSlot });
        break;
      case 'window': {
        const base = findLayoutRegion(parts.layout, 'table-window')!.start;
        if (WindowTableAccess.install(phys, frames.allocatorFor(ptOwner), root, base) === null) throw new Error('out of memory for the table windows');
        parts.tableAccess = new WindowTableAccess(cpu, { base });
        break;
      }
      default:
        parts.tableAccess = parts.physical;
    }
    const mechanism = parts.layout.tableAccess;
    const ta = parts.tableAccess;
    // Seed 000's "paging page tables": say where the windows are and what they do.
    const how = ta instanceof WindowTableAccess ? `window (${ta.windowCount} window pages at ${formatCanonical(ta.base + 4096)}.., each pointed at the table being edited)` : mechanism;
    return [
      `page tables reached by ${how}; kernel PML4 at ${formatPhysical(root)}${dm === undefined ? '' : `; direct map of ${formatSize(directMapBytes)} at ${formatCanonical(dm.start)}`}`,
      { mechanism, kernelRoot: root, sharedTables, directMapBytes, tableFrames: frames.usageByOwner()['page-table'] },
    ];
  }

  private kernelVas(): BootStepResult {
    const parts = this.parts;
    const { start, end } = parts.kernelSpaceRange;
    const vas = new VirtualAllocator<string>({ start, end, formatAddress: formatCanonical });
    let taken = 0;
    for (const r of parts.layout.regions) {
      const s = Math.max(r.start, start);
      const e = Math.min(r.end, end);
      if (s >= e) continue;
      if (!vas.take(s, e - s, { tag: r.name })) throw new Error(`layout region ${r.name} overlaps another`);
      taken++;
    }
    if (parts.recursiveSlot >= 0) {
      // The recursive slot's 512 GiB show the page tables: nothing else may be mapped there.
      if (!vas.take(parts.recursiveSlot * PML4_SPAN, PML4_SPAN, { tag: 'recursive-slot' })) throw new Error('the recursive PML4 slot overlaps a layout region');
      taken++;
    }
    parts.kernelSpace = vas;
    const st = vas.stats();
    return [`kernel space ${formatCanonical(start)}..${formatCanonical(end)}: ${taken} layout regions taken, ${formatSize(st.freeBytes)} free`, { start, end, regionsTaken: taken, freeBytes: st.freeBytes }];
  }

  private remapKernel(): BootStepResult {
    const parts = this.parts;
    const mapper = parts.kernelMapper!;
    const flagsOf = { '.text': P | G, '.rodata': P | G | NX, '.data': P | RW | G | NX, '.bss': P | RW | G | NX } as const;
    for (const s of parts.image.sections) {
      const flags = flagsOf[s.name];
      if (!mapper.mapPages(s.va, s.pa, s.sizeBytes / PAGE, flags)) throw new Error('out of memory remapping the kernel');
      if (parts.events.wants('map')) parts.events.emit({ kind: 'map', va: s.va, pa: s.pa, pageCount: s.sizeBytes / PAGE, flags, what: `kernel ${s.name}` });
    }
    const cpu = parts.machine.cpu;
    const regs = cpu.registers;
    // NXE first: the new tables use bit 63, which is reserved while EFER.NXE = 0 (SDM 4.5).
    cpu.writeEfer(regs.efer | EFER.NXE);
    parts.controlEvent('efer', regs.efer, 'EFER.NXE: bit 63 of entries means no-execute');
    parts.writeCr3(parts.kernelRoot, 'switch to the kernel page tables (4 KiB pages, per-section rights)');
    parts.switchable.current = parts.tableAccess!;
    cpu.writeCr0(regs.cr0 | CR0.WP);
    parts.controlEvent('cr0', regs.cr0, 'CR0.WP: supervisor writes honour read-only pages');
    let cr4 = regs.cr4 | CR4.PGE;
    if (parts.options.smep ?? true) cr4 |= CR4.SMEP;
    if (parts.options.smap ?? false) cr4 |= CR4.SMAP;
    cpu.writeCr4(cr4);
    parts.controlEvent('cr4', regs.cr4, `CR4.PGE${(cr4 & CR4.SMEP) !== 0 ? ' + SMEP' : ''}${(cr4 & CR4.SMAP) !== 0 ? ' + SMAP' : ''}`);
    if (parts.events.wants('tlb-flush')) parts.events.emit({ kind: 'tlb-flush', reason: 'cr4-write' });
    return [
      `kernel remapped with 4 KiB pages (text R-X, rodata R--, data/bss RW- NX); CR3 = ${formatPhysical(parts.kernelRoot)}; WP, NXE, PGE${(cr4 & CR4.SMEP) !== 0 ? ', SMEP' : ''}${(cr4 & CR4.SMAP) !== 0 ? ', SMAP' : ''} on`,
      { cr3: parts.kernelRoot, cr0: regs.cr0 >>> 0, cr4: regs.cr4 >>> 0, efer: regs.efer >>> 0, kernelPages: parts.image.sizeBytes / PAGE },
    ];
  }

  private kernelHeap(): BootStepResult {
    const parts = this.parts;
    const region = findLayoutRegion(parts.layout, 'kernel-heap')!;
    const base = Math.max(region.start, parts.kernelSpaceRange.start);
    const source = {
      mapHeapPages: (va: number, pageCount: number) => this.mappings.mapFreshPages(va, pageCount, P | RW | G | NX, { kind: 'heap' }, 'heap'),
      unmapHeapPages: (va: number, pageCount: number) => this.mappings.unmapAndFree(va, pageCount, 'heap'),
    };
    const arenas = new KernelHeapArenas(parts.machine.cpu, source, base, parts.heapLimit, parts.options.heapDebug ?? false, () => parts.pmm!.freeFrames);
    parts.heapArenas = arenas;
    parts.heapBacking = arenas.arenaBackings[0]!;
    parts.heap = arenas.arenas[0]!;
    const { maxArenaCount, pagesHeld } = arenas.stats();
    // Seed 001's 4 KiB slab region: page-sized kernel objects (kmalloc(4096) among them).
    const slabRegion = findLayoutRegion(parts.layout, 'slab');
    const slabNote = slabRegion === undefined ? '' : `; 4 KiB slab cache at ${formatCanonical(slabRegion.start)} (${(slabRegion.end - slabRegion.start) / PAGE} objects)`;
    if (slabRegion !== undefined) {
      parts.slab = new PageSlab(
        {
          mapHeapPages: (va: number, pageCount: number) => this.mappings.mapFreshPages(va, pageCount, P | RW | G | NX, { kind: 'kernel-data' }, 'slab'),
          unmapHeapPages: (va: number, pageCount: number) => this.mappings.unmapAndFree(va, pageCount, 'slab'),
        },
        slabRegion.start,
        slabRegion.end,
      );
    }
    return [
      `kernel heap at ${formatCanonical(base)} (up to ${formatSize(parts.heapLimit)}${maxArenaCount > 1 ? ` in ${maxArenaCount} arenas of at most 2 GiB` : ''}), ${pagesHeld} pages mapped${slabNote}`,
      { base, limitBytes: parts.heapLimit, pagesHeld, maxArenaCount, slabObjects: parts.slab?.stats().capacityObjects ?? 0 },
    ];
  }

  private kernelStack(): BootStepResult {
    const parts = this.parts;
    const region = findLayoutRegion(parts.layout, 'kernel-stack')!;
    const stack = this.stacks.mapKernelStack(region, region.end);
    if (stack === null) throw new Error('out of memory for the kernel stack');
    parts.stackPointer = stack.top;
    return [
      `kernel stack moved from ${formatCanonical(parts.image.bootStack.top)} to ${formatCanonical(stack.bottom)}..${formatCanonical(stack.top)}, guard page at ${formatCanonical(stack.guard)}`,
      { bottom: stack.bottom, top: stack.top, guard: stack.guard, pageCount: (stack.top - stack.bottom) / PAGE },
    ];
  }
}
