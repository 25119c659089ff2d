// The default mechanisms a fault decision is carried out with: map a zeroed or file-backed page
// (a shared object's page, or a page-cache page of a program's text and read-only data, when the
// region has one), grow the stack, copy-on-write (copy or reuse), SIGSEGV, the OOM killer, panic. Frames for a
// fault come from one place (`allocFrameFor`), where a reclaim step can later plug in before the
// OOM killer runs.
import { PTE, accessName, entryAddress, Mode, type FaultAnswer, type PageFaultInfo } from '@kmem/x86-paging';
import { pageContents } from '../elf/load-plan';
import type { FaultDecision, FaultReason } from '../fault-policy';
import { formatCanonical } from '../hex';
import { show } from '../show-value';
import { KernelInvariantError } from '../kernel-errors';
import type { KernelServices } from '../kernel-services';
import type { FaultResolution, PageFaultContext } from './fault-context';
import type { KillRecord, Process } from './process';
import type { ProcessTable } from './process-table';
import { describeRegion, type Region } from './regions';
import { leafFlags } from './user-pages';
import { cacheableFileOffset } from './page-cache';
import { SHARED_FRAME_OWNER } from './shared-memory';

const PAGE = 4096;
const AD = PTE.Accessed | PTE.Dirty;

const RESOLUTION: Record<string, FaultResolution> = {
  'map-zero': 'lazy-zero',
  'map-file': 'lazy-file',
  'grow-stack': 'stack-growth',
  'cow-copy': 'cow-copy',
  'cow-reuse': 'cow-reuse',
  spurious: 'spurious',
  segv: 'segv',
  panic: 'panic',
};

function modeName(mode: Mode): 'user' | 'supervisor' {
  return mode === Mode.User ? 'user' : 'supervisor';
}

/** Carries out fault decisions for one kernel's processes. */
export class FaultActions<K extends KernelServices> {
  private fileView: Uint8Array | null = null;

  constructor(private readonly table: ProcessTable<K>) {}

  /** Carries out `d` for the fault in `ctx` and returns the CPU's answer. @throws KernelPanic for 'panic' */
  apply(ctx: PageFaultContext<K>, d: FaultDecision): FaultAnswer {
    const fault = ctx.fault;
    const p = ctx.process;
    const q = ctx.query;
    const va = fault.cr2;
    const pageVa = va - (va % PAGE);
    if (d.action === 'panic' || p === null) {
      this.emitFault(p, fault, 'panic', -1, d.reason);
      return this.table.kernel.panic(`page fault: ${d.reason === '' ? 'no process to resolve it in' : d.reason} (${fault.decoded.description})`, {
        cr2: va,
        errorCode: fault.errorCode,
        ...(p === null ? {} : { pid: p.pid }),
        extra: { access: accessName(fault.access), mode: modeName(fault.mode) },
      });
    }
    const mappings = this.table.mappings;
    const frames = this.table.kernel.frames;
    switch (d.action) {
      case 'map-zero':
      case 'map-file': {
        const region = q.region!;
        return this.mapFresh(ctx, p, pageVa, region, d.action === 'map-file' ? region : null, d.action);
      }
      case 'grow-stack': {
        const stack = q.regionAbove!;
        const newStart = d.newStackStart;
        if (!p.vas_.take(newStart, stack.start - newStart, { tag: 'stack' })) throw new KernelInvariantError(`pid ${p.pid}: stack growth to ${formatCanonical(newStart)} found the range in use`);
        const grown = p.regions_.resize(stack.start, newStart, stack.end);
        p.stats.stackGrowth += (stack.start - newStart) / PAGE;
        return this.mapFresh(ctx, p, pageVa, grown, null, 'grow-stack');
      }
      case 'swap-in':
        return this.swapIn(ctx, p, pageVa);
      case 'cow-copy': {
        const pages = p.pages_;
        pages.lookup(pageVa);
        const old = entryAddress(pages.lo, pages.hi, mappings.maskHi());
        // The source frame stays pinned while reclaim may run for the copy's frame.
        const frame = this.allocFrameFor(p, old);
        if (frame === null) return this.oomKill(ctx, p);
        const mem = this.table.kernel.machine.memory;
        mem.frameWords(frame).set(mem.frameWords(old));
        pages.lookup(pageVa);
        pages.rewrite(pageVa, frame, mappings.leafFlagsFor(q.region!.prot, false, mappings.nxe()));
        mappings.dropFrame(p, old);
        this.table.swap?.admit(frame, p, pageVa, false);
        p.stats.cowCopies++;
        this.minor(p);
        this.emitFault(p, fault, 'cow-copy', frame, '');
        return 'retry';
      }
      case 'cow-reuse': {
        const pages = p.pages_;
        pages.lookup(pageVa);
        const frame = entryAddress(pages.lo, pages.hi, mappings.maskHi());
        // A swap-cache copy of the frame would go stale once it is written: drop it.
        this.table.swap?.writeReuse(frame);
        pages.rewrite(pageVa, frame, mappings.leafFlagsFor(q.region!.prot, false, mappings.nxe()) | (leafFlags(pages.lo, pages.hi) & AD));
        // The frame is now this process's alone: record it so (it may have been a sharer's).
        if (frames.pidOf(frame) !== p.pid) frames.transfer(frame, mappings.ownerOf(p));
        p.stats.cowReuses++;
        this.minor(p);
        this.emitFault(p, fault, 'cow-reuse', frame, '');
        return 'retry';
      }
      case 'spurious':
        p.stats.spurious++;
        this.minor(p);
        this.emitFault(p, fault, 'spurious', -1, '');
        return 'retry';
      case 'segv':
        return this.segv(p, fault, d.reason, q.region ?? null);
      default:
        throw new KernelInvariantError(`unknown fault action ${show(d.action)}`);
    }
  }

  /**
   * A frame for a page of `p`, or null when memory ran out even after reclaim (the caller
   * OOM-kills). With swap on, reclaim runs first when needed; `pinned` is not evicted meanwhile.
   */
  private allocFrameFor(p: Process, pinned = -1): number | null {
    const swap = this.table.swap;
    if (swap !== null) return swap.allocFrame(p, pinned);
    return this.table.kernel.frames.allocFrame(this.table.mappings.ownerOf(p));
  }

  /** A fault resolved without I/O (min_flt). */
  private minor(p: Process): void {
    p.stats.minorFaults++;
    this.table.swap?.countMinor();
  }

  /** A major (or swap-cache) fault: the PTE holds a swap entry. */
  private swapIn(ctx: PageFaultContext<K>, p: Process, pageVa: number): FaultAnswer {
    const swap = this.table.swap;
    const pages = p.pages_;
    pages.lookup(pageVa);
    if (swap === null) throw new KernelInvariantError(`pid ${p.pid}: swap entry at ${formatCanonical(pageVa)} with swap off`);
    const outcome = swap.swapIn(p, pageVa, ctx.query.region!.prot, pages.lo, pages.hi);
    if (outcome === 'oom') return this.oomKill(ctx, p);
    pages.lookup(pageVa);
    this.emitFault(p, ctx.fault, outcome === 'major' ? 'swap-in' : 'swap-cache', entryAddress(pages.lo, pages.hi, this.table.mappings.maskHi()), '');
    return 'retry';
  }

  /**
   * A page of `region` mapped on first touch: zeroed for anonymous memory, read from the file for
   * a file-backed one. The anonymous private page — every demand-paging fault of a heap, stack or
   * mmap — takes the short path here; a shared object's page or a file page (the page cache, or
   * a private copy read from the file) goes on in `mapFromObjectOrFile`. The split is for the
   * optimizing compiler: a function's whole bytecode counts against the budget it inlines into
   * its caller, untaken branches included.
   */
  private mapFresh(ctx: PageFaultContext<K>, p: Process, pageVa: number, region: Region, file: Region | null, action: string): FaultAnswer {
    if (file !== null || region.shared !== undefined) return this.mapFromObjectOrFile(ctx, p, pageVa, region, file, action);
    const frame = this.allocFrameFor(p);
    if (frame === null) return this.oomKill(ctx, p);
    const mappings = this.table.mappings;
    if (!p.pages_.mapNew(pageVa, frame, mappings.leafFlagsFor(region.prot, false, mappings.nxe()))) return this.unmappedFresh(ctx, p, frame);
    this.table.swap?.admit(frame, p, pageVa, false);
    this.mapped(p, RESOLUTION[action]!, ctx, frame);
    return 'retry';
  }

  /** `mapFresh` for a shared object's page or a file-backed page. */
  private mapFromObjectOrFile(ctx: PageFaultContext<K>, p: Process, pageVa: number, region: Region, file: Region | null, action: string): FaultAnswer {
    const mappings = this.table.mappings;
    if (region.shared !== undefined) return this.mapShared(ctx, p, pageVa, region);
    const b = file!.backing!;
    if (region.kind === 'text' || region.kind === 'rodata') {
      const offset = cacheableFileOffset(b.plan, b.segmentIndex, pageVa);
      // A cached page mapped at another address elsewhere: this process gets a private copy.
      const cached = offset < 0 ? -1 : mappings.shared.pageCache.lookup(b.plan.elf.bytes, offset);
      if (offset >= 0 && (cached < 0 || mappings.shared.pageCache.keyOf(cached)!.va === pageVa)) return this.mapCached(ctx, p, pageVa, region, offset);
    }
    const frame = this.allocFrameFor(p);
    if (frame === null) return this.oomKill(ctx, p);
    pageContents(b.plan, b.segmentIndex, pageVa, this.frameView(frame));
    if (!p.pages_.mapNew(pageVa, frame, mappings.leafFlagsFor(region.prot, false, mappings.nxe()))) return this.unmappedFresh(ctx, p, frame);
    this.table.swap?.admit(frame, p, pageVa, true);
    this.mapped(p, RESOLUTION[action]!, ctx, frame);
    return 'retry';
  }

  /** No table frame was left for the PTE of a fresh page: its frame goes back, the process is OOM-killed. */
  private unmappedFresh(ctx: PageFaultContext<K>, p: Process, frame: number): FaultAnswer {
    this.table.kernel.frames.freeFrame(frame);
    return this.oomKill(ctx, p);
  }

  /**
   * A page of a MAP_SHARED region: the object's frame for that page (zero-filled into the object on
   * its first touch anywhere), mapped with the region's rights, never copy-on-write. The frame is
   * the object's (pid-less), not the process's, and is kept out of reclaim.
   */
  private mapShared(ctx: PageFaultContext<K>, p: Process, pageVa: number, region: Region): FaultAnswer {
    const frames = this.table.kernel.frames;
    const mappings = this.table.mappings;
    const { object, baseVa } = region.shared!;
    const index = (pageVa - baseVa) / PAGE;
    let frame = object.frameAt(index);
    const hit = frame >= 0;
    if (!hit) {
      const got = this.allocFrameFor(p);
      if (got === null) return this.oomKill(ctx, p);
      frames.transfer(got, SHARED_FRAME_OWNER);
      object.setFrame(index, got); // the allocation's reference is the object's
      frame = got;
    }
    // The object keeps a page it made even when no table frame is left for the PTE.
    if (!p.pages_.mapNew(pageVa, frame, mappings.leafFlagsFor(region.prot, false, mappings.nxe()))) return this.oomKill(ctx, p);
    frames.share(frame);
    this.mapped(p, hit ? 'shared-page' : 'lazy-zero', ctx, frame);
    return 'retry';
  }

  /**
   * A page of a program's text or read-only data that is exactly a page of its file: the page
   * cache's frame for (file, offset), read into the cache on a miss; mapped read-only and
   * copy-on-write (a private file mapping: a write after mprotect copies, the cache is never
   * written). The frame is the cache's (pid-less); reclaim may drop it (a clean file page).
   */
  private mapCached(ctx: PageFaultContext<K>, p: Process, pageVa: number, region: Region, offset: number): FaultAnswer {
    const kernel = this.table.kernel;
    const frames = kernel.frames;
    const mappings = this.table.mappings;
    const cache = mappings.shared.pageCache;
    const b = region.backing!;
    const file = b.plan.elf.bytes;
    let frame = cache.lookup(file, offset);
    const hit = frame >= 0;
    if (hit) cache.hits++;
    else {
      const got = this.allocFrameFor(p);
      if (got === null) return this.oomKill(ctx, p);
      frames.transfer(got, SHARED_FRAME_OWNER);
      pageContents(b.plan, b.segmentIndex, pageVa, this.frameView(got));
      cache.insert(file, offset, pageVa, got); // the allocation's reference is the cache's
      cache.misses++;
      frame = got;
    }
    if (!p.pages_.mapNew(pageVa, frame, mappings.leafFlagsFor(region.prot, true, mappings.nxe()))) {
      mappings.dropUnmappedCachePage(frame);
      return this.oomKill(ctx, p);
    }
    // Reclaim tracks the page from its first mapping (a clean file page: dropped, never written).
    if (!hit) this.table.swap?.admit(frame, p, pageVa, true);
    frames.share(frame);
    this.mapped(p, hit ? 'page-cache' : 'lazy-file', ctx, frame);
    return 'retry';
  }

  /** Counts a page a fault mapped in `p` and reports the fault. */
  private mapped(p: Process, resolution: FaultResolution, ctx: PageFaultContext<K>, frame: number): void {
    const s = p.stats;
    s.rssPages++;
    this.minor(p);
    if (s.rssPages > s.peakRssPages) s.peakRssPages = s.rssPages;
    // Stack growth maps a zeroed page too (counted in lazyZero, as before); hits allocate nothing.
    if (resolution === 'lazy-file') s.lazyFile++;
    else if (resolution !== 'shared-page' && resolution !== 'page-cache') s.lazyZero++;
    this.emitFault(p, ctx.fault, resolution, frame, '');
  }

  /** A byte view of `frame` (one reused view while the frame's words share its buffer). */
  private frameView(frame: number): Uint8Array {
    const words = this.table.kernel.machine.memory.frameWords(frame);
    let view = this.fileView;
    if (view === null || view.buffer !== words.buffer || view.byteOffset !== words.byteOffset) view = this.fileView = new Uint8Array(words.buffer, words.byteOffset, PAGE);
    return view;
  }

  private segv(p: Process, fault: PageFaultInfo, reason: FaultReason, region: Region | null): FaultAnswer {
    const record: KillRecord = { pid: p.pid, signal: 'SIGSEGV', va: fault.cr2, errorCode: fault.errorCode, decoded: fault.decoded, errorCodeText: fault.decoded.description, region, reason };
    this.emitFault(p, fault, 'segv', -1, reason);
    p.killed = record;
    this.table.emit({ kind: 'segfault', pid: p.pid, va: fault.cr2, errorCode: fault.errorCode, errorCodeText: record.errorCodeText, access: accessName(fault.access), region: region === null ? null : describeRegion(region), reason });
    this.table.teardown(p, 'segv');
    return 'abort';
  }

  private oomKill(ctx: PageFaultContext<K>, p: Process): FaultAnswer {
    const fault = ctx.fault;
    const region = ctx.query.region ?? null;
    const record: KillRecord = { pid: p.pid, signal: 'SIGKILL', va: fault.cr2, errorCode: fault.errorCode, decoded: fault.decoded, errorCodeText: fault.decoded.description, region, reason: 'out-of-memory' };
    this.emitFault(p, fault, 'oom-kill', -1, 'out-of-memory');
    p.killed = record;
    this.table.emit({ kind: 'oom-kill', pid: p.pid, va: fault.cr2, rssPages: p.stats.rssPages, freeFrames: this.table.kernel.frames.pmm.freeFrames });
    this.table.teardown(p, 'oom');
    return 'abort';
  }

  private emitFault(p: Process | null, fault: PageFaultInfo, resolution: FaultResolution, frame: number, reason: string): void {
    // The test on every fault; the event is built out of line (see mapFresh on why it matters).
    if (this.table.kernel.events.wants('page-fault')) this.emitFaultEvent(p, fault, resolution, frame, reason);
  }

  private emitFaultEvent(p: Process | null, fault: PageFaultInfo, resolution: FaultResolution, frame: number, reason: string): void {
    this.table.kernel.events.emit({
      kind: 'page-fault',
      pid: p === null ? -1 : p.pid,
      va: fault.cr2,
      errorCode: fault.errorCode,
      access: accessName(fault.access),
      mode: modeName(fault.mode),
      resolution,
      frame,
      reason,
    });
  }
}
