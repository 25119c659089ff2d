// The kernel side of swap: which user frames are resident (the policy's view), reclaim (direct
// and kswapd, on the simulation clock, against the free-frame watermarks and an optional limit on
// resident user pages), eviction through the page tables (swap entries written into every
// sharer's PTE, or a clean file page dropped), swap-in on a major fault, the swap cache, slot
// references across fork / munmap / exit, and the statistics.
//
// Everything the process layer must do for swap goes through this object: the fault actions
// call `allocFrame`, `admit`, `swapIn`, `sharers`, `writeReuse`; the unmap, exit and fork paths
// call `releaseSwapEntries` / `copySwapEntries`; `dropFrame` reports freed frames with
// `frameFreed`; user accesses report themselves with `noteAccess`.
import { PTE, entryAddress } from '@kmem/x86-paging';
import type { FrameOwner, KernelEventInput } from '../events';
import type { FrameOwners } from '../frame-owners';
import { KernelInvariantError } from '../kernel-errors';
import { formatCanonical, formatPhysical } from '../hex';
import { show } from '../show-value';
import type { Process } from '../process/process';
import { leafHoldsFrame } from '../process/user-pages';
import { FRAME_DIRTY, FRAME_FILE, FRAME_PINNED, FRAME_REFERENCED, FRAME_RESIDENT, FRAME_SKIP, FrameRecords } from './frame-records';
import { createPolicy, type CreatePolicyOptions, type PolicyName } from './policies/create-policy';
import type { PageSignals, ReplacementPolicy } from './replacement-policy';
import type { SwapDevice } from './swap-device';
import { formatSwapEntry, handleOffset, handleType, isSwapEntry, swapEntryHi, swapEntryLo, swapEntryOffset, swapEntryType, swapEntryWellFormed, swapHandle } from './swap-entry';
import { CorruptSwapEntryError, PolicyVictimError, SwapOptionError } from './swap-errors';
import { SwapSpace } from './swap-space';
import { swapoff, type SwapoffResult } from './swapoff';
import { emptySwapCounters, isThrashing, type SwapCounters, type SwapSample } from './swap-stats';
import { watermarksFor, type Watermarks } from './watermarks';
import { brand } from '../brand';

const PAGE = 4096;
const A_BIT = PTE.Accessed;
const D_BIT = PTE.Dirty;
/** Linux's SWAP_CLUSTER_MAX: pages one direct-reclaim pass tries to free when an allocation failed. */
const SWAP_CLUSTER = 32;
/** Frames whose records are allocated when swap is enabled (4 GiB of RAM: 21 MiB of typed arrays at most). */
const PRESIZE_FRAMES = 2 ** 20;
/** Key of a virtual page for OPT and traces: pid * 2^36 + virtual page number. */
export function kernelPageKey(pid: number, va: number): number {
  return pid * 2 ** 36 + Math.floor(va / PAGE);
}

/** What the swap layer needs from the process layer (kernel-sim's process table implements it). */
export interface SwapHost {
  /** The kernel's frame ownership records. */
  readonly frames: FrameOwners;
  /** Frames free in the allocator. */
  freeFrames(): number;
  /** Frames of RAM the allocator manages (for the default watermarks). */
  totalFrames(): number;
  /** The words of a frame. */
  frameWords(frame: number): Uint32Array;
  /** A live process by pid, or undefined. */
  liveProcess(pid: number): Process | undefined;
  /** Every live process. */
  liveProcesses(): Iterable<Process>;
  /** Runs `fn` with `p`'s page tables reachable (a recursive slot needs them in CR3). */
  withSpace<T>(p: Process, fn: () => T): T;
  /** Every process's tables are reachable without `withSpace` (no recursive slot): hot paths skip it. */
  readonly tablesReachable: boolean;
  /** Drops one reference of `p` to a user frame (the frame is freed with its last reference). */
  dropFrame(p: Process, frame: number): void;
  /** The ownership record for `p`'s frames. */
  ownerOf(p: Process): FrameOwner;
  /** Leaf flags for a page of a region with rights `prot`. */
  leafFlagsFor(prot: number, cow: boolean): number;
  /** Address mask of the entries' high half. */
  maskHi(): number;
  /** Emits an event if someone listens. */
  emit(e: KernelEventInput): void;
  /** Whether someone listens to events of `kind` (checked before building one). */
  wants(kind: KernelEventInput['kind']): boolean;
  /**
   * Frames mapped into user space that reclaim never sees (pages of shared-memory objects and of
   * the page cache: they are never admitted). For the invariant checks; absent: none.
   */
  unevictableFrames?(): ReadonlyMap<number, unknown>;
  /**
   * Whether `frame` carries one reference that is no mapping (a page-cache page: the cache's own).
   * Absent: every reference is a mapping.
   */
  extraReference?(frame: number): boolean;
}

/** A device to add, with its priority. */
export interface SwapDeviceSpec {
  /** The device. */
  readonly device: SwapDevice;
  /** `swapon -p` priority (default: -1, -2, ... in order). */
  readonly priority?: number;
}

/** Options of swap (`kernel.enableSwap`). */
export interface SwapOptions {
  /** Swap devices (none: reclaim can only drop clean file pages). */
  readonly devices?: readonly (SwapDevice | SwapDeviceSpec)[];
  /** The replacement policy: a shipped policy's name or your own object (default `clock`). */
  readonly policy?: PolicyName | ReplacementPolicy;
  /** Options for a policy given by name (seed, aging bits, τ, OPT's sequence). */
  readonly policyOptions?: CreatePolicyOptions;
  /** Free-frame watermarks (defaults scaled to RAM as Linux does). */
  readonly watermarks?: Partial<Watermarks>;
  /**
   * Most user pages resident at once (like a memory cgroup's memory.max): a fault beyond it
   * reclaims directly first. Default: no limit (only the watermarks).
   */
  readonly maxResidentPages?: number;
  /** Simulated time of one user access, ns (default 100). */
  readonly accessNs?: number;
  /** Clock tick period, ns (policy ticks, working-set harvest, samples; default 1 ms; 0: none). */
  readonly tickNs?: number;
  /** Delay between waking kswapd and its run, ns (default 0: the next access). */
  readonly kswapdDelayNs?: number;
  /** Working-set window τ in ticks (default 4). */
  readonly workingSetTicks?: number;
  /**
   * The working-set harvest reads and clears the A bit (with INVLPG) of one resident frame per
   * this many user accesses, from a rotating cursor (default 256: its cost stays a few per cent
   * of the accesses'; a smaller value follows a large working set more closely).
   */
  readonly workingSetScanAccesses?: number;
  /** Thrashing signal: samples that must all show the fault rate (default 4). */
  readonly thrashingWindow?: number;
  /** Thrashing signal: major faults per access (default 0.01). */
  readonly thrashingRate?: number;
  /** Samples kept (older ones dropped; default 4096). */
  readonly maxSamples?: number;
}

/** Outcome of a swap-in: 'major' (read from the device), 'minor' (swap cache hit), 'oom' (no frame). */
export type SwapInOutcome = 'major' | 'minor' | 'oom';

function checkCount(name: string, v: number | undefined, def: number, min: number): number {
  const x = v ?? def;
  if (!Number.isFinite(x) || x < min) throw new SwapOptionError(`${name} = ${show(x)} must be a number >= ${min}`);
  return x;
}

/** The kernel's swap and reclaim. Created by `kernel.enableSwap(options)`. */
export class SwapManager {
  static {
    brand(this, 'SwapManager'); // instanceof across the import and require copies (brand.ts)
  }
  /** The swap devices and slot records. */
  readonly space = new SwapSpace();
  /** The replacement policy. */
  readonly policy: ReplacementPolicy;
  /** Free-frame watermarks in force. */
  readonly watermarks: Watermarks;
  /** The resident-page limit (Infinity: none). */
  readonly maxResidentPages: number;
  /** Counters since enabling. */
  readonly counters: SwapCounters = emptySwapCounters();
  /** Time series, one sample per tick (oldest dropped beyond `maxSamples`). */
  readonly samples: SwapSample[] = [];
  /** Simulated time, ns. */
  nowNs = 0;
  /** User pages resident (frames the policy tracks). */
  residentPages = 0;
  /** User accesses seen. */
  accesses = 0;
  /** Whether kswapd is awake (woken below the low watermark). */
  kswapdAwake = false;
  private readonly records: FrameRecords;
  private readonly signals: PageSignals;
  private readonly accessNs: number;
  private readonly tickNs: number;
  private readonly kswapdDelayNs: number;
  private readonly wssTicks: number;
  private readonly scanAccesses: number;
  private readonly thrashingWindow: number;
  private readonly thrashingRate: number;
  private readonly maxSamples: number;
  private kswapdAtNs = 0;
  private nextTickNs: number;
  private tickCount = 0;
  private reclaiming = false;
  private lastIoNs = 0;
  private prev = { major: 0, minor: 0, accesses: 0 };
  /** Mappings of the frame being worked on (reused). */
  private readonly mapProcs: Process[] = [];
  private mapVa = 0;
  private readonly skipped: number[] = [];
  private accessKeyNow = -1;
  private readonly direct: boolean;
  /** The policy wants every access reported (exact LRU, OPT). */
  private readonly everyAccess: boolean;
  private harvestCursor = 0;
  private harvestCredit = 0;
  /** Resident frames by the tick they were last referenced (ring of workingSetTicks + 1 ticks). */
  private refsByTick: Float64Array;

  /** @throws SwapOptionError, SwapDeviceSizeError for bad options (nothing changed) */
  constructor(
    private readonly host: SwapHost,
    options: SwapOptions = {},
  ) {
    this.policy = typeof options.policy === 'object' ? options.policy : createPolicy(options.policy ?? 'clock', options.policyOptions);
    // Per-frame records and the policy's index sized for RAM once, here (as Linux's mem_map at
    // boot), not grown by copying inside the first faults; beyond PRESIZE_FRAMES they grow on demand.
    const frames = Math.min(PRESIZE_FRAMES, host.totalFrames());
    this.records = new FrameRecords(frames);
    this.policy.reserve?.(frames);
    this.watermarks = watermarksFor(host.totalFrames(), options.watermarks);
    const limit = options.maxResidentPages;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) throw new SwapOptionError(`maxResidentPages = ${show(limit)} must be a positive integer`);
    this.maxResidentPages = limit ?? Infinity;
    this.accessNs = checkCount('accessNs', options.accessNs, 100, 0);
    this.tickNs = checkCount('tickNs', options.tickNs, 1_000_000, 0);
    this.kswapdDelayNs = checkCount('kswapdDelayNs', options.kswapdDelayNs, 0, 0);
    this.wssTicks = checkCount('workingSetTicks', options.workingSetTicks, 4, 1);
    this.scanAccesses = checkCount('workingSetScanAccesses', options.workingSetScanAccesses, 256, 1);
    this.thrashingWindow = checkCount('thrashingWindow', options.thrashingWindow, 4, 1);
    this.thrashingRate = checkCount('thrashingRate', options.thrashingRate, 0.01, 0);
    this.maxSamples = checkCount('maxSamples', options.maxSamples, 4096, 1);
    this.nextTickNs = this.tickNs > 0 ? this.tickNs : Infinity;
    this.refsByTick = new Float64Array(this.wssTicks + 1);
    for (const d of options.devices ?? []) {
      if ('device' in d) this.space.swapon(d.device, d.priority === undefined ? {} : { priority: d.priority });
      else this.space.swapon(d);
    }
    this.signals = this.makeSignals();
    this.direct = host.tablesReachable;
    this.everyAccess = this.policy.needsEveryAccess === true;
  }

  /** Adds a swap device (swapon). @returns its swap type */
  swapon(device: SwapDevice, options: { readonly priority?: number } = {}): number {
    return this.space.swapon(device, options);
  }

  /**
   * Removes a device (swapoff): every page on it is brought back into memory first (see
   * `swapoff.ts`, Linux's try_to_unuse).
   * @throws SwapoffDeviceError for a device not in use; SwapoffNoMemoryError when memory cannot
   *   take its pages (before anything changed, or part way: then the device stays on, consistent)
   */
  swapoff(device: SwapDevice): SwapoffResult {
    return swapoff(this, this.host, device);
  }

  /** The signals the policy reads (A/D bits through the page tables), for tools that drive it. */
  get pageSignals(): PageSignals {
    return this.signals;
  }

  // --- frames for faults -----------------------------------------------------------------------

  /**
   * A frame for a user page of `p`, reclaiming first when the resident limit is reached or free
   * frames are at the min watermark, and once more if the allocator is empty. `pinned` (a frame
   * the fault still reads, e.g. the source of a COW copy) is not evicted meanwhile.
   * @returns the frame, or null: out of memory even after reclaim (the caller OOM-kills)
   */
  allocFrame(p: Process, pinned = -1): number | null {
    // The common case without memory pressure: below the limit, free frames above low — no
    // reclaim can run, so nothing to pin and no watermark to act on after; the rest is out of line.
    const host = this.host;
    if (this.residentPages < this.maxResidentPages && host.freeFrames() > this.watermarks.lowFrames + 1) return host.frames.allocFrame(host.ownerOf(p));
    return this.allocFrameReclaiming(p, pinned);
  }

  /** `allocFrame` when reclaim may have to run first. */
  private allocFrameReclaiming(p: Process, pinned: number): number | null {
    const rec = this.records;
    const pinNo = pinned >= 0 ? pinned / PAGE : -1;
    if (pinNo >= 0) {
      rec.ensure(pinNo);
      rec.flags[pinNo]! |= FRAME_PINNED;
    }
    try {
      if (this.residentPages >= this.maxResidentPages) {
        this.reclaim(this.residentPages - this.maxResidentPages + 1, true);
        if (this.residentPages >= this.maxResidentPages) return null;
      }
      const wm = this.watermarks;
      const free = this.host.freeFrames();
      if (free <= wm.minFrames) this.reclaim(wm.highFrames - free, true);
      const owner = this.host.ownerOf(p);
      let frame = this.host.frames.allocFrame(owner);
      if (frame === null) {
        this.reclaim(SWAP_CLUSTER, true);
        frame = this.host.frames.allocFrame(owner);
      }
      if (this.host.freeFrames() < wm.lowFrames) this.wakeKswapd();
      return frame;
    } finally {
      if (pinNo >= 0) rec.flags[pinNo]! &= ~FRAME_PINNED;
    }
  }

  /** A user page of `p` at `va` became resident in `frame` (a fault mapped it). `file`: filled from the ELF file. */
  admit(frame: number, p: Process, va: number, file: boolean): void {
    const n = frame / PAGE;
    const rec = this.records;
    rec.ensure(n);
    if ((rec.flags[n]! & FRAME_RESIDENT) !== 0) throw admittedTwice(frame);
    rec.flags[n] = FRAME_RESIDENT | (file ? FRAME_FILE : 0);
    rec.va[n] = va;
    rec.pid[n] = p.pid;
    this.markReferenced(n, false);
    this.residentPages++;
    this.policy.admit(n, this.nowNs);
  }

  /** A user frame went back to the allocator (its last mapping dropped): forget it. */
  frameFreed(frame: number): void {
    const n = frame / PAGE;
    const rec = this.records;
    if ((rec.flagsOf(n) & FRAME_RESIDENT) === 0) return;
    this.unmarkReferenced(n);
    rec.flags[n] = 0;
    this.residentPages--;
    this.policy.remove(n);
    const h = this.space.slotOfFrame(frame);
    if (h >= 0) this.space.dropFromCache(h);
  }

  /**
   * Everyone who shares `frame` for copy-on-write: its mappings plus the swap entries still naming
   * its swap-cache slot (they will map it too). A write may reuse the frame only when this is 1.
   */
  sharers(frame: number): number {
    const refs = this.host.frames.refCount(frame);
    const h = this.space.slotOfFrame(frame);
    return h < 0 ? refs : refs + this.space.count(h) - 1;
  }

  /** `frame` becomes writable for its only user (COW reuse): its swap-cache copy is stale, drop it. */
  writeReuse(frame: number): void {
    const h = this.space.slotOfFrame(frame);
    if (h < 0) return;
    this.space.dropFromCache(h);
    const n = frame / PAGE;
    this.records.flags[n]! |= FRAME_DIRTY;
  }

  // --- swap-in ------------------------------------------------------------------------------------

  /**
   * Resolves a fault on a swap entry: the page comes from the swap cache (minor) or is read from
   * its device into a new frame (major), is mapped at `va` with `prot`'s rights (read-only and
   * copy-on-write while others still share it), and the slot loses this PTE's reference (freed
   * with the last, the frame then dirty: its only copy). `fault` false: swapoff brings the page
   * in, not a fault of `p` (pswpin counts it, maj_flt / min_flt do not).
   * @throws CorruptSwapEntryError when the entry names no slot in use (the caller panics)
   */
  swapIn(p: Process, va: number, prot: number, lo: number, hi: number, fault = true): SwapInOutcome {
    const handle = this.checkEntry(va, lo, hi);
    const space = this.space;
    const frames = this.host.frames;
    let frame = space.cachedFrame(handle);
    const major = frame < 0;
    if (major) {
      const got = this.allocFrame(p);
      if (got === null) return 'oom';
      frame = got;
      space.read(handle, this.host.frameWords(frame));
      this.chargeIo();
      // Only a slot other PTEs still name needs the swap cache (they will map this frame too).
      if (space.count(handle) > 1) space.addToCache(handle, frame);
      else space.dup(handle); // stands for the cache reference the put below drops
      this.admit(frame, p, va, false);
      this.counters.swappedIn++;
      if (fault) {
        this.counters.majorFaults++;
        p.stats.majorFaults++;
      }
    } else {
      frames.share(frame);
      if (fault) {
        this.counters.swapCacheHits++;
        this.counters.minorFaults++;
        p.stats.minorFaults++;
      }
    }
    let exclusive = false;
    if (space.put(handle) === 1) {
      // Only the swap cache still names the slot: free it; the frame is now the only copy.
      if (space.cachedFrame(handle) === frame) space.dropFromCache(handle);
      else space.put(handle);
      this.records.flags[frame / PAGE]! |= FRAME_DIRTY;
      exclusive = frames.refCount(frame) === 1;
    }
    const flags = this.host.leafFlagsFor(prot, !exclusive);
    if (this.direct) this.mapIn(p, va, frame, flags);
    else this.host.withSpace(p, () => this.mapIn(p, va, frame, flags));
    const s = p.stats;
    s.swapPages--;
    s.rssPages++;
    if (s.rssPages > s.peakRssPages) s.peakRssPages = s.rssPages;
    return major ? 'major' : 'minor';
  }

  /** A fault resolved without I/O (lazy page, COW, stack growth, spurious): counted as minor. */
  countMinor(): void {
    this.counters.minorFaults++;
  }

  // --- swap entries in unmap, exit, fork ---------------------------------------------------------

  /**
   * Drops the swap entries of `p` in [start, end) (munmap, brk shrink, exec, exit): each slot
   * loses a reference; the PTE is cleared unless `keepPtes` (exit: the tables go anyway).
   * Call with `p`'s tables reachable. @returns entries dropped
   * @throws CorruptSwapEntryError for a non-empty leaf that is no valid swap entry
   */
  releaseSwapEntries(p: Process, start: number, end: number, keepPtes = false): number {
    let n = 0;
    p.pages_.forEachNonFrameLeaf(start, end, (va, lo, hi) => {
      const h = this.checkEntry(va, lo, hi);
      if (!keepPtes) p.pages_.clear(va);
      this.space.put(h);
      n++;
    });
    p.stats.swapPages -= n;
    return n;
  }

  /**
   * fork: collects the parent's swap entries in [start, end) (call with the parent's tables
   * reachable); `install` then writes them into the child (see {@link installSwapEntries}).
   */
  collectSwapEntries(parent: Process, start: number, end: number, out: number[]): void {
    parent.pages_.forEachNonFrameLeaf(start, end, (va, lo, hi) => {
      this.checkEntry(va, lo, hi);
      out.push(va, lo, hi);
    });
  }

  /**
   * fork, child side: writes the collected swap entries (va, lo, hi triples) into the child's
   * tables, each slot gaining a reference. Call with the child's tables reachable.
   * @returns false when a page table could not be allocated (entries written so far count)
   */
  installSwapEntries(child: Process, entries: readonly number[]): boolean {
    for (let i = 0; i < entries.length; i += 3) {
      const va = entries[i]!;
      const lo = entries[i + 1]!;
      const hi = entries[i + 2]!;
      if (!child.pages_.mapNewRaw(va, lo, hi)) return false;
      this.space.dup(swapHandle(swapEntryType(hi), swapEntryOffset(lo, hi)));
      child.stats.swapPages++;
    }
    return true;
  }

  // --- the clock -----------------------------------------------------------------------------------

  /**
   * One user access of `p` at `va` completed: the clock advances, an exact-LRU or OPT policy is
   * told which page was used, and a due tick or kswapd run happens.
   */
  noteAccess(p: Process, va: number): void {
    // Every user access runs this; the rare work is out of line. runDue's two tests in one:
    // nothing is due before min(next tick, kswapd's run).
    this.accesses++;
    const now = (this.nowNs += this.accessNs);
    if (this.everyAccess || now >= this.nextTickNs || this.kswapdAwake) this.noteAccessSlow(p, va, now);
  }

  /** `noteAccess` for an exact-LRU / OPT policy, or when a tick or kswapd is due. */
  private noteAccessSlow(p: Process, va: number, now: number): void {
    if (this.everyAccess) {
      const policy = this.policy;
      const pageVa = va - (va % PAGE);
      const frame = this.host.withSpace(p, () => (p.pages_.lookup(pageVa) && leafHoldsFrame(p.pages_.lo) ? entryAddress(p.pages_.lo, p.pages_.hi, this.host.maskHi()) : -1));
      if (frame >= 0 && (this.records.flagsOf(frame / PAGE) & FRAME_RESIDENT) !== 0) {
        this.accessKeyNow = kernelPageKey(p.pid, pageVa);
        policy.onAccess?.(frame / PAGE, this.signals, this.nowNs);
      }
    }
    if (now >= this.nextTickNs || this.kswapdAwake) this.runDue();
  }

  /** Advances the simulation clock by `ns` (e.g. time a program computes), running what is due. */
  advance(ns: number): void {
    if (!Number.isFinite(ns) || ns < 0) throw new SwapOptionError(`cannot advance the clock by ${show(ns)} ns`);
    this.nowNs += ns;
    this.runDue();
  }

  // --- reclaim --------------------------------------------------------------------------------------

  /**
   * Frees up to `pageCount` resident user pages by asking the policy for victims and evicting them
   * (`direct`: on behalf of an allocation; else kswapd). @returns pages reclaimed
   * @throws PolicyVictimError when the policy returns a page it was not offered or a pinned one
   */
  reclaim(pageCount: number, direct: boolean): number {
    if (this.reclaiming || pageCount <= 0) return 0;
    this.reclaiming = true;
    const rec = this.records;
    const c = this.counters;
    let got = 0;
    try {
      let failures = 0;
      while (got < pageCount) {
        const victim = this.policy.selectVictim(this.signals, this.nowNs);
        if (victim < 0) break;
        const fl = rec.flagsOf(victim);
        if ((fl & FRAME_RESIDENT) === 0 || (fl & FRAME_SKIP) !== 0 || !this.policy.has(victim)) throw new PolicyVictimError(this.policy.name, victim, 'not-offered');
        if ((fl & FRAME_PINNED) !== 0) throw new PolicyVictimError(this.policy.name, victim, 'pinned');
        if (this.evict(victim * PAGE)) got++;
        else {
          rec.flags[victim]! |= FRAME_SKIP;
          this.skipped.push(victim);
          if (++failures > this.residentPages) break;
        }
      }
    } finally {
      for (const n of this.skipped) rec.flags[n]! &= ~FRAME_SKIP;
      this.skipped.length = 0;
      this.reclaiming = false;
    }
    if (direct) {
      c.directRuns++;
      c.reclaimedDirect += got;
    } else {
      c.backgroundRuns++;
      c.reclaimedBackground += got;
    }
    if (this.host.wants('reclaim')) this.host.emit({ kind: 'reclaim', mode: direct ? 'direct' : 'kswapd', requested: pageCount, reclaimed: got, freeFrames: this.host.freeFrames(), timeNs: this.nowNs });
    return got;
  }

  /** Wakes kswapd (free frames fell below the low watermark); it runs after `kswapdDelayNs`. */
  wakeKswapd(): void {
    if (this.kswapdAwake) return;
    this.kswapdAwake = true;
    this.kswapdAtNs = this.nowNs + this.kswapdDelayNs;
  }

  /**
   * Evicts one resident user frame: a clean file page is dropped (its PTEs cleared); anything
   * else goes to a swap slot (written unless its swap-cache copy is still good) and every PTE
   * mapping it becomes the slot's swap entry. @returns false when swap is full (nothing changed)
   */
  evict(frame: number): boolean {
    const n = frame / PAGE;
    const rec = this.records;
    const host = this.host;
    const procs = this.mapProcs;
    const mappings = this.collectMappings(n);
    const va = this.mapVa;
    const dirty = (rec.flags[n]! & FRAME_DIRTY) !== 0 || this.anyMappingHas(mappings, D_BIT);
    const cached = this.space.slotOfFrame(frame);
    const c = this.counters;
    if ((rec.flags[n]! & FRAME_FILE) !== 0 && !dirty && cached < 0) {
      this.forget(n);
      for (let i = 0; i < mappings; i++) {
        const p = procs[i]!;
        if (this.direct) this.leafIn(p, va, 0, 0);
        else host.withSpace(p, () => this.leafIn(p, va, 0, 0));
        p.stats.rssPages--;
        host.dropFrame(p, frame);
      }
      c.fileDropped++;
      if (host.wants('swap-out')) host.emit({ kind: 'swap-out', frame, va, pid: rec.pid[n]!, sharers: mappings, how: 'drop', slot: -1, swapType: -1 });
      return true;
    }
    let handle = cached;
    if (handle < 0) {
      handle = this.space.alloc();
      if (handle < 0) {
        c.swapFull++;
        return false;
      }
    }
    if (cached < 0 || dirty) {
      this.space.write(handle, host.frameWords(frame));
      this.chargeIo();
      c.swappedOut++;
      c.writeBacks++;
    } else c.cleanSwapEvictions++;
    const lo = swapEntryLo(handleType(handle), handleOffset(handle));
    const hi = swapEntryHi(handleType(handle), handleOffset(handle));
    for (let i = 0; i < mappings; i++) {
      const p = procs[i]!;
      if (this.direct) this.leafIn(p, va, lo, hi);
      else host.withSpace(p, () => this.leafIn(p, va, lo, hi));
      this.space.dup(handle);
      p.stats.swapPages++;
      p.stats.rssPages--;
    }
    if (cached >= 0) this.space.dropFromCache(handle);
    const pid = rec.pid[n]!;
    this.forget(n);
    for (let i = 0; i < mappings; i++) host.dropFrame(procs[i]!, frame);
    if (host.wants('swap-out')) host.emit({ kind: 'swap-out', frame, va, pid, sharers: mappings, how: cached < 0 || dirty ? 'write' : 'clean', slot: handleOffset(handle), swapType: handleType(handle) });
    return true;
  }

  /**
   * The PTE of `p` at `va` in words: `resident in frame 0x...`, `swap entry 0x... (type 0
   * "nvme0n1p2", slot 12, 2 references)`, or `no page`.
   */
  describeEntry(p: Process, va: number): string {
    const pageVa = va - (va % PAGE);
    return this.host.withSpace(p, () => {
      const pages = p.pages_;
      if (!pages.lookup(pageVa) || (pages.lo === 0 && pages.hi === 0)) return 'no page';
      const lo = pages.lo;
      const hi = pages.hi;
      if (leafHoldsFrame(lo)) return `resident in frame ${formatPhysical(entryAddress(lo, hi, this.host.maskHi()))}`;
      const h = this.checkEntry(pageVa, lo, hi);
      const area = this.space.area(handleType(h))!;
      const refs = this.space.count(h);
      return `swap entry ${formatSwapEntry(lo, hi)} (type ${area.type} "${area.device.name}", slot ${handleOffset(h)}, ${refs} reference${refs === 1 ? '' : 's'})`;
    });
  }

  // --- checks ------------------------------------------------------------------------------------------

  /**
   * Swap entries of live processes (found by walking their tables over their regions): every one
   * well formed and naming a slot in use, each process's count equal to its `swapPages`, the slot
   * counts exactly the entries plus the swap cache; every resident user frame admitted and every
   * admitted frame owned 'user'; no writable PTE maps a swap-cache frame; the policy's records.
   * @throws KernelInvariantError
   */
  checkInvariants(): void {
    const expected = new Map<number, number>();
    const host = this.host;
    const rec = this.records;
    let resident = 0;
    const seen = new Set<number>();
    const unevictable = host.unevictableFrames?.() ?? new Map<number, unknown>();
    for (const p of host.liveProcesses()) {
      let entries = 0;
      host.withSpace(p, () => {
        for (const r of p.regions_.all()) {
          p.pages_.forEachNonFrameLeaf(r.start, r.end, (va, lo, hi) => {
            let h: number;
            try {
              h = this.checkEntry(va, lo, hi);
            } catch (e) {
              throw new KernelInvariantError(`pid ${p.pid}: ${(e as Error).message}`);
            }
            expected.set(h, (expected.get(h) ?? 0) + 1);
            entries++;
          });
          p.pages_.forEachLeaf(r.start, r.end, (va, frame, flags) => {
            const n = frame / PAGE;
            if (unevictable.has(frame)) {
              if ((rec.flagsOf(n) & FRAME_RESIDENT) !== 0) throw new KernelInvariantError(`pid ${p.pid} page ${formatCanonical(va)}: frame ${formatPhysical(frame)} of a shared object or the page cache is tracked by reclaim`);
              return;
            }
            if ((rec.flagsOf(n) & FRAME_RESIDENT) === 0) throw new KernelInvariantError(`pid ${p.pid} page ${formatCanonical(va)}: frame ${formatPhysical(frame)} is resident but unknown to reclaim`);
            if (rec.va[n] !== va) throw new KernelInvariantError(`frame ${formatPhysical(frame)} recorded at ${formatCanonical(rec.va[n]!)} but mapped at ${formatCanonical(va)} by pid ${p.pid}`);
            if ((flags & PTE.Writable) !== 0 && this.space.slotOfFrame(frame) >= 0) throw new KernelInvariantError(`pid ${p.pid} page ${formatCanonical(va)}: writable mapping of a swap-cache frame`);
            if (!seen.has(n)) {
              seen.add(n);
              resident++;
            }
          });
        }
      });
      if (entries !== p.stats.swapPages) throw new KernelInvariantError(`pid ${p.pid}: VmSwap ${p.stats.swapPages} pages but ${entries} swap entries`);
    }
    if (resident !== this.residentPages) throw new KernelInvariantError(`reclaim tracks ${this.residentPages} resident pages, the page tables map ${resident}`);
    if (this.policy.residentCount !== this.residentPages) throw new KernelInvariantError(`policy ${this.policy.name} tracks ${this.policy.residentCount} pages, reclaim ${this.residentPages}`);
    for (const n of seen) if (!this.policy.has(n)) throw new KernelInvariantError(`policy ${this.policy.name} does not track resident frame ${formatPhysical(n * PAGE)}`);
    this.space.checkInvariants(expected);
    this.policy.checkInvariants();
  }

  // --- internals ----------------------------------------------------------------------------------------

  /** Validates a swap entry read from a PTE; returns its slot handle. @throws CorruptSwapEntryError */
  private checkEntry(va: number, lo: number, hi: number): number {
    if (!isSwapEntry(lo)) throw new CorruptSwapEntryError(va, lo, hi, 'not present, not PROT_NONE, not empty and not marked as a swap entry');
    if (!swapEntryWellFormed(lo, hi)) throw new CorruptSwapEntryError(va, lo, hi, 'bits outside the swap entry layout are set');
    const type = swapEntryType(hi);
    const offset = swapEntryOffset(lo, hi);
    const area = this.space.area(type);
    if (area === undefined) throw new CorruptSwapEntryError(va, lo, hi, `swap type ${type} names no device (${this.space.areas.length} in use)`);
    if (offset >= area.slotCount) throw new CorruptSwapEntryError(va, lo, hi, `slot ${offset} is beyond device ${type} (${area.slotCount} slots)`);
    if (!this.space.isValid(type, offset)) throw new CorruptSwapEntryError(va, lo, hi, `slot ${type}:${offset} is not in use`);
    return swapHandle(type, offset);
  }

  private forget(n: number): void {
    this.unmarkReferenced(n);
    this.records.flags[n] = 0;
    this.residentPages--;
    this.policy.remove(n);
  }

  /** Fills `mapProcs` with the processes mapping frame number `n` (at `mapVa`); returns how many. */
  private collectMappings(n: number): number {
    const rec = this.records;
    const host = this.host;
    const frame = n * PAGE;
    const va = rec.va[n]!;
    const procs = this.mapProcs;
    this.mapVa = va;
    const refs = host.frames.refCount(frame) - (host.extraReference?.(frame) === true ? 1 : 0);
    const owner = refs === 1 ? host.liveProcess(host.frames.pidOf(frame)) : undefined;
    if (owner !== undefined) {
      procs[0] = owner;
      return 1;
    }
    const maskHi = host.maskHi();
    let found = 0;
    for (const p of host.liveProcesses()) {
      if (va < p.userStart || va >= p.userEnd) continue;
      const maps = host.withSpace(p, () => p.pages_.lookup(va) && leafHoldsFrame(p.pages_.lo) && entryAddress(p.pages_.lo, p.pages_.hi, maskHi) === frame);
      if (maps) procs[found++] = p;
    }
    if (found !== refs) throw new KernelInvariantError(`frame ${formatPhysical(frame)} has ${refs} reference(s) but ${found} mapping(s) at ${formatCanonical(va)}`);
    return found;
  }

  private anyMappingHas(mappings: number, bit: number): boolean {
    const va = this.mapVa;
    for (let i = 0; i < mappings; i++) {
      const p = this.mapProcs[i]!;
      if (this.direct ? this.leafHas(p, va, bit) : this.host.withSpace(p, () => this.leafHas(p, va, bit))) return true;
    }
    return false;
  }

  // The page-table work of the hot paths, as methods (no closure per call) run directly when
  // every table is reachable, or inside withSpace (recursive slot).

  private leafHas(p: Process, va: number, bit: number): boolean {
    return p.pages_.lookup(va) && (p.pages_.lo & bit) !== 0;
  }

  /** Writes the leaf of `va` (0/0: clears it), invalidating it if it was present. */
  private leafIn(p: Process, va: number, lo: number, hi: number): void {
    p.pages_.lookup(va);
    p.pages_.writeLeaf(va, lo, hi);
  }

  private mapIn(p: Process, va: number, frame: number, flags: number): void {
    p.pages_.lookup(va);
    p.pages_.rewrite(va, frame, flags);
  }

  /** Clears A in `p`'s leaf at `va` (rewrite: INVLPG of a present entry); returns whether it was set. */
  private clearAIn(p: Process, va: number): boolean {
    const pages = p.pages_;
    pages.lookup(va);
    if ((pages.lo & A_BIT) === 0) return false;
    // SDM 4.8 / 4.10.4: A is set only by a page walk; without the invalidation writeLeaf does
    // for a present entry, the TLB would keep serving the page and A would stay clear.
    pages.writeLeaf(va, pages.lo & ~A_BIT, pages.hi);
    return true;
  }

  /** Reads and clears A in every mapping of frame number `n` (rewrite → INVLPG of a present entry). */
  private testAndClearA(n: number): boolean {
    const rec = this.records;
    let referenced = (rec.flags[n]! & FRAME_REFERENCED) !== 0;
    rec.flags[n]! &= ~FRAME_REFERENCED;
    const mappings = this.collectMappings(n);
    const va = this.mapVa;
    for (let i = 0; i < mappings; i++) {
      const p = this.mapProcs[i]!;
      if (this.direct ? this.clearAIn(p, va) : this.host.withSpace(p, () => this.clearAIn(p, va))) referenced = true;
    }
    return referenced;
  }

  private makeSignals(): PageSignals {
    const rec = this.records;
    const c = this.counters;
    return {
      testAndClearAccessed: (page) => {
        c.scanned++;
        return this.testAndClearA(page);
      },
      isAccessed: (page) => {
        c.scanned++;
        return (rec.flagsOf(page) & FRAME_REFERENCED) !== 0 || this.anyMappingHas(this.collectMappings(page), A_BIT);
      },
      isDirty: (page) => (rec.flagsOf(page) & FRAME_DIRTY) !== 0 || this.anyMappingHas(this.collectMappings(page), D_BIT),
      isEvictable: (page) => (rec.flagsOf(page) & (FRAME_RESIDENT | FRAME_PINNED | FRAME_SKIP)) === FRAME_RESIDENT,
      pageKey: (page) => kernelPageKey(rec.pid[page]!, rec.va[page]!),
      pageKeys: (page, out) => {
        const n = this.collectMappings(page);
        for (let i = 0; i < n; i++) out.push(kernelPageKey(this.mapProcs[i]!.pid, this.mapVa));
        return n;
      },
      accessKey: () => this.accessKeyNow,
    };
  }

  /** Resident frames last referenced after tick `horizon`: a sum over the per-tick histogram. */
  private countWorkingSet(horizon: number): number {
    let wss = 0;
    const ring = this.refsByTick;
    for (let t = Math.max(0, horizon + 1); t <= this.tickCount; t++) wss += ring[t % ring.length]!;
    return wss;
  }

  /** Frame number `n` was referenced at the current tick (admission or harvest): moves it in the histogram. */
  private markReferenced(n: number, wasResident: boolean): void {
    const rec = this.records;
    const ring = this.refsByTick;
    if (wasResident) this.unmarkReferenced(n);
    rec.lastRefTick[n] = this.tickCount;
    ring[this.tickCount % ring.length]!++;
  }

  /** Frame number `n` leaves the histogram (it was resident and leaves, or moves). */
  private unmarkReferenced(n: number): void {
    const ring = this.refsByTick;
    const old = this.records.lastRefTick[n]!;
    // Slots older than the ring were reused: only entries still inside it are counted there.
    if (this.tickCount - old < ring.length) ring[old % ring.length]!--;
  }

  private chargeIo(): void {
    const io = this.space.ioNs;
    this.nowNs += io - this.lastIoNs;
    this.lastIoNs = io;
  }

  private runDue(): void {
    if (this.kswapdAwake && this.nowNs >= this.kswapdAtNs) this.runKswapd();
    if (this.nowNs >= this.nextTickNs) this.tick();
  }

  private runKswapd(): void {
    this.kswapdAwake = false;
    const free = this.host.freeFrames();
    const target = this.watermarks.highFrames - free;
    if (target > 0) this.reclaim(target, false);
  }

  /** Policy tick, working-set harvest, one sample. */
  private tick(): void {
    while (this.nextTickNs <= this.nowNs) this.nextTickNs += this.tickNs;
    this.tickCount++;
    // The histogram slot of the new tick held a tick now outside the window: those frames stay
    // out of the count (unmarkReferenced skips them) and the slot starts empty.
    this.refsByTick[this.tickCount % this.refsByTick.length] = 0;
    this.policy.tick?.(this.signals, this.nowNs);
    // Working set: harvest A bits into the software referenced flag (policies still see them).
    // The scan's cost follows the work: one frame per `workingSetScanAccesses` user accesses, from a
    // rotating cursor; a resident set larger than a tick's budget is covered over several ticks
    // (its series then lags).
    const rec = this.records;
    const horizon = this.tickCount - this.wssTicks;
    const cap = rec.flags.length;
    this.harvestCredit += (this.accesses - this.prev.accesses) / this.scanAccesses;
    let budget = Math.floor(this.harvestCredit);
    this.harvestCredit -= budget;
    let n = this.harvestCursor;
    for (let seen = 0; seen < cap && budget > 0; seen++, n = n + 1 === cap ? 0 : n + 1) {
      if ((rec.flags[n]! & FRAME_RESIDENT) === 0) continue;
      budget--;
      if (this.anyMappingHas(this.collectMappings(n), A_BIT)) {
        this.testAndClearA(n);
        rec.flags[n]! |= FRAME_REFERENCED;
        this.markReferenced(n, true);
      }
    }
    this.harvestCursor = n;
    const wss = this.countWorkingSet(horizon);
    const c = this.counters;
    const prev = this.prev;
    const sample: SwapSample = {
      timeNs: this.nowNs,
      freeFrames: this.host.freeFrames(),
      residentPages: this.residentPages,
      swapSlotsUsed: this.space.usedSlots,
      workingSetPages: wss,
      majorFaults: c.majorFaults - prev.major,
      minorFaults: c.minorFaults - prev.minor,
      accesses: this.accesses - prev.accesses,
      thrashing: false,
    };
    prev.major = c.majorFaults;
    prev.minor = c.minorFaults;
    prev.accesses = this.accesses;
    this.samples.push(sample);
    if (this.samples.length > this.maxSamples) this.samples.shift();
    (sample as { thrashing: boolean }).thrashing = isThrashing(this.samples, this.thrashingWindow, this.thrashingRate);
  }
}

/** Out of line: `admit` runs on every fault that maps a page (see FrameRecords.ensure). */
function admittedTwice(frame: number): KernelInvariantError {
  return new KernelInvariantError(`frame ${formatPhysical(frame)} admitted twice`);
}
