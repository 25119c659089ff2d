// Plain-data snapshots of a running kernel: what the terminal tables, the --json output and the
// web visualizer all draw. Pure functions of the kernel's state (they read, never change it),
// with no Node built-ins, so the browser bundle shares them.
import { FRAME_OWNER_KINDS, PTE_COW, PTE_PROT_NONE, formatCanonical, formatPhysical, formatSize, type FrameOwnerKind, type Kernel, type Layout, type Machine, type MemoryKind, type Process } from '@kmem/kernel-sim';
import { PhysicalTableAccess, formatAccess, walkTables, type WalkStep } from '@kmem/x86-paging';

const PAGE = 4096;

/** One row of the firmware memory map (normalised). */
export interface MemoryMapRow {
  readonly start: number;
  /** Inclusive, as Linux prints e820 tables. */
  readonly endInclusive: number;
  readonly sizeBytes: number;
  readonly kind: MemoryKind;
  /** The firmware's own name for the type, when the parser kept it. */
  readonly firmwareType: string | null;
}

/** The normalised memory map of a machine. */
export function memoryMapRows(machine: Machine): MemoryMapRow[] {
  return machine.memoryMap.map((r) => ({
    start: r.base,
    endInclusive: r.base + r.lengthBytes - 1,
    sizeBytes: r.lengthBytes,
    kind: r.kind,
    firmwareType: r.firmwareType ?? null,
  }));
}

/** Frame allocator usage of one zone (Linux's DMA / DMA32 / Normal). */
export interface ZoneUsage {
  readonly zone: string;
  readonly startPa: number;
  readonly endPa: number;
  /** Frames of the zone the firmware called usable (rounded inward to whole frames). */
  readonly usableFrames: number;
  /** Usable frames handed out (kernel image, bitmap, tables, heap, stacks, user pages). */
  readonly usedFrames: number;
  /** Usable frames still free. */
  readonly freeFrames: number;
}

/** Usage of each zone the allocator manages. */
export function zoneUsage(kernel: Kernel): ZoneUsage[] {
  const usable = kernel.machine.memoryMap.filter((r) => r.kind === 'usable');
  return kernel.pmm.zones().map((z) => {
    let usableFrames = 0;
    for (const r of usable) {
      const s = Math.max(Math.ceil(r.base / PAGE) * PAGE, z.startPa);
      const e = Math.min(Math.floor((r.base + r.lengthBytes) / PAGE) * PAGE, z.endPa);
      if (e > s) usableFrames += (e - s) / PAGE;
    }
    const freeFrames = z.freeFrames();
    // Frames below 1 MiB the allocator never hands out are usable but not free: count them used.
    return { zone: z.name, startPa: z.startPa, endPa: z.endPa, usableFrames, freeFrames, usedFrames: Math.max(0, usableFrames - freeFrames) };
  });
}

/** Frames per owner kind, and per live process. */
export interface OwnerUsage {
  readonly byKind: Readonly<Record<FrameOwnerKind, number>>;
  readonly byPid: readonly { readonly pid: number; readonly name: string; readonly frames: number }[];
  readonly freeFrames: number;
  readonly sharedFrames: number;
}

/** Who owns the frames now. */
export function ownerUsage(kernel: Kernel): OwnerUsage {
  const byKind = kernel.frames.usageByOwner();
  const byPid = kernel.processes.list().map((p) => ({ pid: p.pid, name: p.name, frames: kernel.frames.framesOfPid(p.pid) }));
  return { byKind, byPid, freeFrames: kernel.pmm.freeFrames, sharedFrames: kernel.frames.sharedFrames };
}

/** One region of the kernel's virtual memory layout (as Linux's mm.rst tables). */
export interface LayoutRow {
  readonly start: number;
  readonly endInclusive: number;
  readonly sizeBytes: number;
  readonly name: string;
  readonly use: string;
  /** Canonical hex, for people and JSON readers. */
  readonly startHex: string;
  readonly endHex: string;
  readonly size: string;
}

/** The layout's regions and the user range, ascending. */
export function layoutRows(layout: Layout): LayoutRow[] {
  const rows = [
    ...layout.regions.map((r) => ({ start: r.start, end: r.end, name: r.name, use: `${r.purpose}${r.identityMapped === true ? ' (identity-mapped)' : ''}` })),
    { start: layout.userRange.start, end: layout.userRange.end, name: 'user', use: `programs, heap, mmap; stack grows down from ${formatCanonical(layout.userStackTop - 1)}` },
  ].sort((a, b) => a.start - b.start);
  return rows.map((r) => ({
    start: r.start,
    endInclusive: r.end - 1,
    sizeBytes: r.end - r.start,
    name: r.name,
    use: r.use,
    startHex: formatCanonical(r.start),
    endHex: formatCanonical(r.end - 1),
    size: formatSize(r.end - r.start),
  }));
}

/** One level of a page walk, every field decoded. */
export interface WalkLevel {
  readonly level: number;
  readonly levelName: string;
  readonly tableFrame: number;
  readonly index: number;
  readonly entryPa: number;
  /** The raw 64-bit entry as 16 hex digits grouped by 4. */
  readonly raw: string;
  readonly present: boolean;
  readonly leaf: boolean;
  /** Next table's frame or the page's base. */
  readonly pa: number;
  readonly pageSizeBytes: number;
  readonly flags: readonly string[];
  /** Each architectural bit of the entry, named, set or clear (for the bit grids). */
  readonly bits: readonly { readonly name: string; readonly bit: number; readonly set: boolean }[];
  readonly reserved: boolean;
}

/** A page walk of one address in one address space. */
export interface WalkView {
  readonly va: number;
  readonly vaHex: string;
  /** Whose tables: 'kernel' or a process name with pid. */
  readonly space: string;
  readonly root: number;
  readonly levels: readonly WalkLevel[];
  /** The physical address the walk ends at, or null when a level is not present. */
  readonly pa: number | null;
  /** Effective rights across the levels (`u`/`-`, `r`, `w`/`-`, `x`/`-`), or null. */
  readonly access: string | null;
  /** Why this walk is shown, or null. */
  readonly note: string | null;
  /** For a user page that has a frame: kernel-sim's software bits of its PTE and the frame's sharers. */
  readonly userPage: { readonly copyOnWrite: boolean; readonly protNone: boolean; readonly refCount: number } | null;
}

const BIT_NAMES: readonly [string, number][] = [
  ['P', 0],
  ['RW', 1],
  ['US', 2],
  ['PWT', 3],
  ['PCD', 4],
  ['A', 5],
  ['D', 6],
  ['PS', 7],
  ['G', 8],
  ['NX', 63],
];

function rawHex(hi: number, lo: number): string {
  const h = (hi >>> 0).toString(16).padStart(8, '0');
  const l = (lo >>> 0).toString(16).padStart(8, '0');
  return `0x${h.slice(0, 4)}_${h.slice(4)}_${l.slice(0, 4)}_${l.slice(4)}`;
}

/** Converts x86-paging's walk steps to the demo's plain rows. */
export function walkLevels(steps: readonly WalkStep[]): WalkLevel[] {
  return steps.map((s) => ({
    level: s.level,
    levelName: s.levelName,
    tableFrame: s.tableFrame,
    index: s.index,
    entryPa: s.entryPa,
    raw: rawHex(s.entry.hi, s.entry.lo),
    present: s.entry.present,
    leaf: s.entry.leaf,
    pa: s.entry.pa,
    pageSizeBytes: s.entry.pageSizeBytes,
    flags: [...s.entry.flagNames],
    bits: BIT_NAMES.map(([name, bit]) => ({
      name: bit === 7 && s.level === 1 ? 'PAT' : name,
      bit,
      set: bit === 63 ? (s.entry.hi & 0x8000_0000) !== 0 : (s.entry.lo & (1 << bit)) !== 0,
    })),
    reserved: s.entry.reserved !== 0,
  }));
}

/**
 * Walks `va` in the tables rooted at `root`, reading physical memory as the MMU does (no A/D
 * updates, no permission checks): the same walk x86-paging's `Mapper.walk` reports. It reads
 * physical memory directly, not through the kernel (whose reads go through the TLB and its
 * page-table cache): looking at the machine leaves it as it was (see observe.ts).
 */
export function walkView(kernel: Kernel, root: number, va: number, space: string, note: string | null = null, process: Process | null = null): WalkView {
  const steps = walkTables(new PhysicalTableAccess(kernel.memory), root, va, kernel.machine.maxPhysAddrBits);
  const last = steps[steps.length - 1];
  // kernel-sim's software bits of a user leaf (fault-policy.ts): copy-on-write and PROT_NONE markers.
  const holdsFrame = last !== undefined && (last.entry.leaf || (last.level === 1 && (last.entry.lo & PTE_PROT_NONE) !== 0));
  const userPage = process === null || !process.alive || !holdsFrame ? null : { copyOnWrite: (last.entry.lo & PTE_COW) !== 0, protNone: (last.entry.lo & PTE_PROT_NONE) !== 0, refCount: kernel.frames.refCount(last.entry.pa) };
  return { ...walkViewFromSteps(va, root, space, steps), note, userPage };
}

/** Physical address `va` maps to in the tables at `root` (read from physical memory, as walkView), or -1. */
export function residentPa(kernel: Kernel, root: number, va: number): number {
  const steps = walkTables(new PhysicalTableAccess(kernel.memory), root, va, kernel.machine.maxPhysAddrBits);
  const last = steps[steps.length - 1];
  return last !== undefined && last.entry.leaf ? last.entry.pa + (va % last.entry.pageSizeBytes) : -1;
}

/** A WalkView from steps already taken (walkTables / Mapper.walk). */
export function walkViewFromSteps(va: number, root: number, space: string, steps: readonly WalkStep[]): WalkView {
  const levels = walkLevels(steps);
  const last = steps[steps.length - 1];
  let pa: number | null = null;
  let access: string | null = null;
  if (last !== undefined && last.entry.leaf) {
    pa = last.entry.pa + (va % last.entry.pageSizeBytes);
    // Effective rights (SDM 4.6): R/W and U/S must be set at every level; NX at any level forbids.
    let rw = true;
    let us = true;
    let nx = false;
    for (const s of steps) {
      rw &&= s.entry.flagNames.includes('RW');
      us &&= s.entry.flagNames.includes('US');
      nx ||= s.entry.flagNames.includes('NX');
    }
    access = formatAccess((rw ? 2 : 0) | (us ? 4 : 0) | (nx ? 0x8000_0000 | 0 : 0));
  }
  return { va, vaHex: formatCanonical(va), space, root, levels, pa, access, note: null, userPage: null };
}

/** A walk read straight from physical memory (works on a panicked kernel too). */
export function walkViewPhysical(kernel: Kernel, root: number, va: number, space: string): WalkView {
  return walkViewFromSteps(va, root, space, walkTables(new PhysicalTableAccess(kernel.memory), root, va, kernel.machine.maxPhysAddrBits));
}

/** One kmalloc size class (a slab cache) and what it holds. */
export interface HeapClassRow {
  readonly name: string;
  readonly objectSizeBytes: number;
  readonly objectsPerSlab: number;
  readonly slabCount: number;
  readonly objectsInUse: number;
}

/** The kernel heap: size classes, medium and large allocations, totals. */
export interface HeapView {
  readonly base: number;
  readonly classes: readonly HeapClassRow[];
  readonly tlsf: { readonly blocksInUse: number; readonly freeBlocks: number; readonly bytesFree: number };
  readonly large: { readonly allocations: number; readonly pageCount: number };
  readonly pagesHeld: number;
  readonly bytesInUse: number;
  readonly bytesRequested: number;
  readonly allocations: number;
  readonly fragmentation: number;
  /** Blocks (first 400), for pictures. */
  readonly blocks: readonly { readonly start: number; readonly sizeBytes: number; readonly kind: string; readonly used: boolean; readonly cache: string | null }[];
}

/** The kernel heap now. */
export function heapView(kernel: Kernel): HeapView {
  const s = kernel.heap.stats();
  return {
    base: kernel.heapBacking.base,
    classes: s.caches.map((c) => ({ name: c.name, objectSizeBytes: c.objectSizeBytes, objectsPerSlab: c.objectsPerSlab, slabCount: c.slabCount, objectsInUse: c.objectsInUse })),
    tlsf: { blocksInUse: s.tlsf.blocksInUse, freeBlocks: s.tlsf.freeBlocks, bytesFree: s.tlsf.bytesFree },
    large: { allocations: s.large.allocations, pageCount: s.large.pageCount },
    pagesHeld: s.pagesHeld,
    bytesInUse: s.bytesInUse,
    bytesRequested: s.bytesRequested,
    allocations: s.allocations,
    fragmentation: s.fragmentation,
    blocks: kernel.heap
      .blocks()
      .slice(0, 400)
      .map((b) => ({ start: b.start, sizeBytes: b.sizeBytes, kind: b.kind, used: b.used, cache: b.cache ?? null })),
  };
}

/** One region of a process's address space. */
export interface RegionRow {
  readonly start: number;
  readonly end: number;
  readonly prot: string;
  readonly kind: string;
  readonly name: string;
  /** Pages of the region that hold a frame now. */
  readonly residentPages: number;
}

/** A process as the demo shows it. */
export interface ProcessView {
  readonly pid: number;
  readonly parentPid: number | null;
  readonly name: string;
  readonly state: string;
  readonly root: number;
  readonly exitCode: number | null;
  readonly killedBy: string | null;
  readonly rssPages: number;
  readonly stats: Readonly<Record<string, number>>;
  readonly regions: readonly RegionRow[];
  readonly entry: number | null;
  readonly brk: { readonly start: number; readonly end: number };
}

/** A snapshot of one process (its tables read from `kernel`'s physical memory). */
export function processView(p: Process, kernel: Kernel): ProcessView {
  const regions = p.alive
    ? p.regions().map((r) => {
        let residentPages = 0;
        const pages = (r.end - r.start) / PAGE;
        // Counting a huge stack region page by page is too slow; sample at most 4096 pages.
        if (pages <= 4096) for (let va = r.start; va < r.end; va += PAGE) if (residentPa(kernel, p.root, va) >= 0) residentPages++;
        return { start: r.start, end: r.end, prot: protString(r.prot), kind: r.kind, name: r.name, residentPages };
      })
    : [];
  return {
    pid: p.pid,
    parentPid: p.parentPid,
    name: p.name,
    state: p.state,
    root: p.root,
    exitCode: p.exitCode,
    killedBy: p.killed === null ? null : `${p.killed.signal} at ${formatCanonical(p.killed.va)} (${p.killed.errorCodeText})`,
    rssPages: p.stats.rssPages,
    stats: { ...p.stats },
    regions,
    entry: p.image?.entry ?? null,
    brk: { start: p.brkStart, end: p.brkEnd },
  };
}

function protString(prot: number): string {
  return `${prot & 1 ? 'r' : '-'}${prot & 2 ? 'w' : '-'}${prot & 4 ? 'x' : '-'}`;
}

/** Every process the kernel knows (alive first, then gone). */
export function processViews(kernel: Kernel): ProcessView[] {
  return [...kernel.processes.list(), ...kernel.processes.gone()].sort((a, b) => a.pid - b.pid).map((p) => processView(p, kernel));
}

/** The TLB: counters and valid entries. */
export interface TlbView {
  readonly hits: number;
  readonly misses: number;
  readonly entryCount: number;
  readonly entries: readonly { readonly slot: number; readonly va: number; readonly pa: number; readonly pcid: number; readonly global: boolean; readonly level: number; readonly access: string }[];
}

/** The CPU's TLB now (valid entries only, at most `limit`). */
export function tlbView(kernel: Kernel, limit = 256): TlbView {
  const tlb = kernel.cpu.tlb;
  if (tlb === null) return { hits: 0, misses: 0, entryCount: 0, entries: [] };
  const entries = tlb
    .entries()
    .slice(0, limit)
    .map(({ slot, va, pa, pcid, global, level, flags }) => ({ slot, va, pa, pcid, global, level, access: formatAccess(flags) }));
  return { hits: tlb.hits, misses: tlb.misses, entryCount: tlb.entryCount, entries };
}

/** What owns a frame, for the frame map: an owner kind, 'free', 'reserved' or 'hole' (not RAM). */
export type FrameClass = FrameOwnerKind | 'free' | 'hole';

/** Owner kinds in a stable order (for colour legends). */
export const FRAME_CLASSES: readonly FrameClass[] = [...FRAME_OWNER_KINDS, 'free', 'hole'];

/**
 * Classifies frames `[firstFrame, firstFrame + frameCount)` (frame numbers): the owner kind
 * index into {@link FRAME_CLASSES} per frame, and the pid for user and per-process table frames
 * (-1 otherwise). Cheap enough for 128 Ki frames per redraw.
 */
export function classifyFrames(kernel: Kernel, firstFrame: number, frameCount: number, kinds: Uint8Array, pids: Int32Array): void {
  const frames = kernel.frames;
  const pmm = kernel.pmm;
  const mem = kernel.memory;
  const freeIdx = FRAME_CLASSES.indexOf('free');
  const holeIdx = FRAME_CLASSES.indexOf('hole');
  const reservedIdx = FRAME_CLASSES.indexOf('reserved');
  const total = pmm.totalFrames;
  for (let i = 0; i < frameCount; i++) {
    const f = firstFrame + i;
    const pa = f * PAGE;
    pids[i] = -1;
    if (f >= total || !mem.isRam(pa)) {
      kinds[i] = holeIdx;
      continue;
    }
    const kind = frames.kindOf(pa);
    if (kind !== null) {
      kinds[i] = FRAME_CLASSES.indexOf(kind);
      pids[i] = frames.pidOf(pa);
    } else kinds[i] = pmm.isFree(pa) ? freeIdx : reservedIdx;
  }
}

/** `formatPhysical` / `formatCanonical` re-exported so renderers need one import. */
export { formatCanonical, formatPhysical, formatSize };

/** Physical memory squeezed into cells: each cell the most telling owner of its frames. */
export interface FramePicture {
  readonly startPa: number;
  readonly endPa: number;
  readonly framesPerCell: number;
  /** One class name per cell (see {@link FRAME_CLASSES}). */
  readonly cells: readonly FrameClass[];
}

// What a cell shows when its frames differ: the rarest, most interesting owner wins.
const PICTURE_PRIORITY: readonly FrameClass[] = ['user', 'page-table', 'heap', 'kernel-stack', 'kernel-data', 'bitmap', 'module', 'kernel-image', 'free', 'reserved', 'hole'];

/**
 * A picture of frames `[startPa, endPa)` in `cellCount` cells.
 * @param endPa clipped to the allocator's managed range
 */
export function framePicture(kernel: Kernel, startPa: number, endPa: number, cellCount: number): FramePicture {
  const first = Math.floor(startPa / PAGE);
  const last = Math.min(Math.ceil(endPa / PAGE), kernel.pmm.totalFrames);
  const frameCount = Math.max(0, last - first);
  const perCell = Math.max(1, Math.ceil(frameCount / cellCount));
  const kinds = new Uint8Array(frameCount);
  const pids = new Int32Array(frameCount);
  classifyFrames(kernel, first, frameCount, kinds, pids);
  const rank = FRAME_CLASSES.map((c) => PICTURE_PRIORITY.indexOf(c));
  const cells: FrameClass[] = [];
  for (let c = 0; c * perCell < frameCount; c++) {
    let best = PICTURE_PRIORITY.length;
    for (let i = c * perCell, end = Math.min(frameCount, (c + 1) * perCell); i < end; i++) best = Math.min(best, rank[kinds[i]!]!);
    cells.push(PICTURE_PRIORITY[best] ?? 'hole');
  }
  return { startPa: first * PAGE, endPa: last * PAGE, framesPerCell: perCell, cells };
}
