// The kernel's own mappings after boot: mem_map_pages_at (fresh zeroed frames), mem_map_addr
// (a physical range such as ACPI tables or MMIO), and their inverses, all in kernel space through
// the kernel's Mapper, all or nothing.
import { PTE, PageSize } from '@kmem/x86-paging';
import type { FrameOwner } from '../events';
import { formatCanonical } from '../hex';
import { show } from '../show-value';
import { KernelAddressError, KernelFlagsError, KernelPhysicalRangeError, KernelSizeError } from '../kernel-errors';
import type { KernelParts } from './kernel-parts';

const PAGE = 4096;
const P = PTE.Present;

/** What the kernel knows about a physical range mapped on purpose by `Kernel.memMapAddr`. */
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

/** The largest page size (1 GiB, 2 MiB, 4 KiB) that divides `pa` and fits in `sizeBytes`. */
function largePageAlignment(pa: number, sizeBytes: number): number {
  for (const size of [PageSize.Size1G, PageSize.Size2M]) if (pa % size === 0 && sizeBytes >= size) return size;
  return PAGE;
}

/** The kernel memory API's mapping half (see `Kernel.memMapPagesAt` and friends for the contracts). */
export class KernelMappings {
  /** Physical ranges mapped with memMapAddr. */
  readonly physMappings: PhysicalMapping[] = [];

  constructor(private readonly parts: KernelParts) {}

  /**
   * Allocates `pageCount` frames for `owner` and maps them at `va` (contiguous runs in one call
   * each). All or nothing: on running out of frames or tables, everything this call did is undone.
   * The range must be validated (mappable) by the caller.
   */
  mapFreshPages(va: number, pageCount: number, flags: number, owner: FrameOwner, what: string): boolean {
    const parts = this.parts;
    const frames = parts.need(parts.frames, 'frames');
    const got: number[] = [];
    for (let i = 0; i < pageCount; i++) {
      const f = frames.allocFrame(owner);
      if (f === null) {
        for (const g of got) frames.freeFrame(g);
        return false;
      }
      got.push(f);
    }
    const mapper = parts.need(parts.kernelMapper, 'kernelMapper');
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
    if (parts.events.wants('map')) {
      let contiguous = true;
      for (let k = 1; k < pageCount && contiguous; k++) contiguous = got[k] === got[0]! + k * PAGE;
      parts.events.emit({ kind: 'map', va, pa: contiguous ? got[0]! : -1, pageCount, flags, what });
    }
    return true;
  }

  /** Unmaps `pageCount` pages at `va` and frees the frames they mapped (all must be owned frames). */
  unmapAndFree(va: number, pageCount: number, what: string): void {
    const parts = this.parts;
    const frames = parts.need(parts.frames, 'frames');
    const runs = parts.need(parts.kernelMapper, 'kernelMapper').unmapPages(va, pageCount);
    if (runs === null) throw new Error(`unmapping ${formatCanonical(va)} needs a table split and memory ran out`);
    for (const r of runs) for (let off = 0; off < r.sizeBytes; off += PAGE) frames.freeFrame(r.pa + off);
    if (parts.events.wants('unmap')) parts.events.emit({ kind: 'unmap', va, pageCount, what });
  }

  /** mem_map_pages_at. */
  memMapPagesAt(va: number, pageCount: number, flags: number): boolean {
    const parts = this.parts;
    parts.requireRunning('memMapPagesAt');
    if (!Number.isSafeInteger(pageCount) || pageCount <= 0) throw new KernelSizeError('pageCount', pageCount);
    this.checkKernelRange(va, pageCount * PAGE);
    const f = this.checkKernelFlags(flags);
    parts.need(parts.kernelMapper, 'kernelMapper').assertMappable(va, pageCount * PAGE);
    return this.mapFreshPages(va, pageCount, f, { kind: 'kernel-data' }, 'memMapPagesAt');
  }

  /** Inverse of memMapPagesAt. */
  memUnmapPages(va: number, pageCount: number): void {
    const parts = this.parts;
    parts.requireRunning('memUnmapPages');
    if (!Number.isSafeInteger(pageCount) || pageCount <= 0) throw new KernelSizeError('pageCount', pageCount);
    this.checkKernelRange(va, pageCount * PAGE);
    const mapper = parts.need(parts.kernelMapper, 'kernelMapper');
    const frames = parts.need(parts.frames, 'frames');
    for (let i = 0; i < pageCount; i++) {
      const t = mapper.translate(va + i * PAGE);
      if (t === null || t.pageSizeBytes !== PAGE || frames.kindOf(t.pa - (t.pa % PAGE)) !== 'kernel-data') {
        throw new KernelAddressError(va + i * PAGE, 'is not a page mapped by memMapPagesAt');
      }
    }
    this.unmapAndFree(va, pageCount, 'memUnmapPages');
  }

  /** mem_map_addr. */
  memMapAddr(pa: number, sizeBytes: number, flags: number, va?: number): number | null {
    const parts = this.parts;
    parts.requireRunning('memMapAddr');
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) throw new KernelSizeError('sizeBytes', sizeBytes);
    if (!Number.isSafeInteger(pa) || pa < 0) throw new KernelPhysicalRangeError(pa, 'is not a non-negative safe integer');
    const first = pa - (pa % PAGE);
    const end = Math.ceil((pa + sizeBytes) / PAGE) * PAGE;
    const machine = parts.machine;
    if (end > 2 ** machine.maxPhysAddrBits) throw new KernelPhysicalRangeError(pa, `range of ${sizeBytes} bytes reaches beyond 2^${machine.maxPhysAddrBits} (MAXPHYADDR)`);
    const f = this.checkKernelFlags(flags);
    this.refuseFreeRam(first, end, sizeBytes);
    const size = end - first;
    const kernelSpace = parts.need(parts.kernelSpace, 'kernelSpace');
    const mapper = parts.need(parts.kernelMapper, 'kernelMapper');
    let at: number;
    if (va === undefined) {
      // Aligned like the physical range (up to 1 GiB), so the mapping can use large pages.
      const got = kernelSpace.alloc(size, { tag: 'memMapAddr', alignBytes: largePageAlignment(first, size) });
      if (got === null) return null;
      at = got;
    } else {
      this.checkKernelRange(va, size);
      mapper.assertMappable(va, size);
      if (!kernelSpace.take(va, size, { tag: 'memMapAddr' })) throw new KernelAddressError(va, 'the virtual range is in use in kernel space');
      at = va;
    }
    // Large pages where the virtual and physical addresses allow them (as Linux's ioremap does
    // with huge vmap): the tables a mapping needs follow its large-page-aligned runs, not its size.
    if (!mapper.mapRange(at, first, size, f, { maxPageSize: PageSize.Size1G })) {
      kernelSpace.free(at, size);
      return null;
    }
    this.physMappings.push({ va: at, pa: first, sizeBytes: size, flags: f });
    if (parts.events.wants('map')) parts.events.emit({ kind: 'map', va: at, pa: first, pageCount: size / PAGE, flags: f, what: 'memMapAddr' });
    return at + (pa - first);
  }

  /**
   * Throws if `[first, end)` holds a free frame. Work follows the memory map: one range query of
   * the frame allocator per RAM range overlapping the request (a hole costs nothing), never one
   * question per 4 KiB frame of the request.
   */
  private refuseFreeRam(first: number, end: number, sizeBytes: number): void {
    const parts = this.parts;
    const pmm = parts.need(parts.pmm, 'pmm');
    const managedEnd = Math.min(end, pmm.endPa);
    for (const r of parts.machine.memory.ramRanges) {
      const s = Math.max(first, r.base);
      const e = Math.min(managedEnd, r.base + r.lengthBytes);
      if (s >= e) continue;
      const free = pmm.freeFramesBetween(s, e);
      if (free > 0) throw new KernelPhysicalRangeError(s, `range of ${sizeBytes} bytes holds ${free} free RAM frame(s) from here: allocate memory with memMapPagesAt instead of mapping it`);
    }
  }

  /** Inverse of memMapAddr. */
  memUnmapAddr(va: number): void {
    const parts = this.parts;
    parts.requireRunning('memUnmapAddr');
    const page = Number.isSafeInteger(va) ? va - (va % PAGE) : va;
    const i = this.physMappings.findIndex((m) => m.va === page);
    if (i < 0) throw new KernelAddressError(va, 'no memMapAddr mapping starts at this page');
    const m = this.physMappings[i]!;
    parts.need(parts.kernelMapper, 'kernelMapper').unmapPages(m.va, m.sizeBytes / PAGE);
    parts.need(parts.kernelSpace, 'kernelSpace').free(m.va, m.sizeBytes);
    this.physMappings.splice(i, 1);
    if (parts.events.wants('unmap')) parts.events.emit({ kind: 'unmap', va: m.va, pageCount: m.sizeBytes / PAGE, what: 'memMapAddr' });
  }

  private checkKernelRange(va: number, sizeBytes: number): void {
    if (!Number.isSafeInteger(va) || va < 0) throw new KernelAddressError(va, 'is not a linear address');
    if (va % PAGE !== 0) throw new KernelAddressError(va, 'is not 4 KiB aligned');
    const { start, end } = this.parts.kernelSpaceRange;
    if (va < start || va + sizeBytes > end) throw new KernelAddressError(va, `range of ${sizeBytes} bytes is outside kernel space ${formatCanonical(start)}..${formatCanonical(end)}`);
  }

  private checkKernelFlags(flags: number): number {
    if (!Number.isInteger(flags) || flags < -0x8000_0000 || flags > 0xffff_ffff) throw new KernelFlagsError(0, `${show(flags)} is not a 32-bit flags word`);
    const f = flags | 0;
    if ((f & PTE.User) !== 0) throw new KernelFlagsError(f, 'kernel mappings must not be user-accessible (U/S)');
    if ((f & PTE.HugePage) !== 0) throw new KernelFlagsError(f, 'PS/PAT bit 7 is not accepted here (4 KiB pages)');
    return f | P;
  }
}
