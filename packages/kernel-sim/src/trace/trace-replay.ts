// Replays a trace's accesses through a simulated process: its Cpu (TLB, page walk, #PF), the
// kernel's fault policy, and beside it the analyses (TLB geometries, replacement policies, LRU
// stack distances, working set) over the same page-reference stream.
import { Access, Mode, PTE, type Cpu, type Mmu } from '@kmem/x86-paging';
import { EventLog, type KernelEventKind } from '../events';
import { Kernel } from '../kernel';
import { HIGHER_HALF } from '../layouts';
import type { Layout } from '../layout';
import { Machine } from '../machine';
import type { MemoryRegion } from '../api';
import { protAllows } from '../fault-policy';
import type { Process, TouchAccess } from '../process/process';
import { PROT } from '../process/regions';
import { AccessKind } from './access-kind';
import { LruStackDistance } from './lru-stack-distance';
import { optFaults, PageSequence } from './opt-bound';
import { PageIdTable } from './page-id-table';
import { PolicySimulation } from './policy-simulation';
import type { ReplacementPolicy } from '../swap/replacement-policy';
import { createPolicy, POLICY_NAMES, type PolicyName } from '../swap/policies/create-policy';
import { MemorySwapDevice } from '../swap/memory-swap-device';
import type { SwapManager } from '../swap/swap-manager';
import type { ReplayResult, ReplaySwap, ReplayTlb } from './replay-result';
import type { TraceBatch } from './trace-batch';
import { TraceAddressError, TraceOptionError } from './trace-errors';
import { DEFAULT_TLB_HIERARCHY, formatTlbHierarchy, TlbHierarchySim, type TlbGeometry } from './tlb-geometry';
import { TranslationMemo } from './translation-memo';
import { WorkingSetSeries } from './working-set';

const PAGE = 4096;
/** PTE.NoExecute in x86-paging's 32-bit flags word (bit 31). */
const PTE_NX: number = PTE.NoExecute;
const LINEAR_LIMIT = 2 ** 48;
const GiB = 2 ** 30;
/** Entries of the page-id cache. */
const ID_CACHE = 1024;

/** Makes a fresh policy for a simulation with `frames` frames. */
export type PolicyFactory = (frames: number) => ReplacementPolicy;

/** Policies of the table unless asked otherwise (the four). */
export const DEFAULT_REPLAY_POLICIES: readonly string[] = ['fifo', 'clock', 'lru', 'opt'];

/** Options of {@link TraceReplay}. */
export interface TraceReplayOptions {
  /** The static ELF the trace was recorded from (exec'd first); omit to replay onto a bare address space. */
  readonly elf?: Uint8Array;
  /** argv of the exec (default `[name]`). */
  readonly argv?: readonly string[];
  /** Name shown in the result (default `trace`). */
  readonly name?: string;
  /** Frame counts for the policy table (default 64, 128, 256). */
  readonly frameCounts?: readonly number[];
  /**
   * Policies for the table (default fifo, clock, lru, opt): `opt` is Belady's bound computed after
   * the replay (`optFaults`); any other name is a policy of the swap layer (`POLICY_NAMES`:
   * fifo, clock, enhanced-clock, lru, aging, ws-clock, two-list, random) or of `policyFactories`,
   * run over the page-reference stream with each frame count (`PolicySimulation`).
   */
  readonly policies?: readonly string[];
  /** More policies by name (yours), or replacements for the swap layer's. */
  readonly policyFactories?: Readonly<Record<string, PolicyFactory>>;
  /** `tick` of the policies every this many page references (default 1,000; aging and ws-clock use it). */
  readonly tickEvery?: number;
  /** TLB hierarchies to simulate (default: one, 64x4 backed by 1536x12). */
  readonly tlb?: readonly (readonly TlbGeometry[])[];
  /** Working-set window τ in page references (default 10,000). */
  readonly workingSetWindow?: number;
  /** Working-set sampling interval in page references (default τ / 4; doubles to keep at most `workingSetPoints`). */
  readonly workingSetInterval?: number;
  /** Working-set samples kept at most (default 256). */
  readonly workingSetPoints?: number;
  /** Skip accesses that do not fit the address space (counted) instead of throwing. */
  readonly lenient?: boolean;
  /** RAM of the simulated machine in bytes (default 16 GiB; frames are host memory only once written). */
  readonly ramBytes?: number;
  /** A booted kernel to replay on (default: a new machine and kernel with the higher-half layout). */
  readonly kernel?: Kernel;
  /**
   * Count a reference the Cpu would answer from an unchanged TLB entry instead of asking it
   * (default true; see `TranslationMemo`). The result is the same either way (tested); false asks
   * the Cpu about every page reference, for comparison.
   */
  readonly translationMemo?: boolean;
  /**
   * Replay with the kernel's swap on: `kernel.enableSwap` before the exec, with this policy, a
   * resident limit of `frames` user pages (`maxResidentPages`: one page reclaimed per fault beyond
   * it) and a free-cost in-memory swap device, so the replay's faults are the kernel's own under
   * that policy (`result.swap`). Every page reference is reported to the kernel
   * (`SwapManager.noteAccess`: the clock, exact LRU) and asks the Cpu (no translation memo).
   */
  readonly swap?: ReplaySwapOptions;
}

/** `TraceReplayOptions.swap`. */
export interface ReplaySwapOptions {
  /** A shipped policy by name (not `opt`, which needs the future: the stream model's bound) or your own object. */
  readonly policy: PolicyName | ReplacementPolicy;
  /** User pages resident at most. */
  readonly frames: number;
  /** Slots of the swap device (default 2^20: 4 GiB of swap; host memory only for slots in use). */
  readonly slotCount?: number;
  /** Simulated ns per access (default 100); the kernel ticks every `tickEvery` accesses' worth. */
  readonly accessNs?: number;
}

/** Event kinds a replay does not record (one per fault or page would flood the log). */
const QUIET_EVENTS: readonly KernelEventKind[] = ['page-fault', 'frame-alloc', 'frame-free', 'map', 'unmap', 'tlb-flush', 'mmap', 'context-switch'];

/**
 * A replay in progress: give it batches (`consume`, a `TraceBatchSink`), then `finish()`.
 *
 * Every access goes through the process's Cpu in user mode (`mmu.translate`: TLB, page walk,
 * A/D bits); a fault goes to the kernel's #PF handler through `Process.touch` (demand paging,
 * stack growth). An address no region covers becomes an anonymous rwx region (named `trace`)
 * first: the 2 MiB-aligned window around it, clamped to the gap between its neighbours, so heap,
 * mmap and stack pages of a program whose layout the loader did not make (a dynamic program, a
 * stack Valgrind placed) replay. An access the ELF's own regions forbid is a
 * `TraceAddressError` (the trace is not of that program), as is one outside the user range.
 */
export class TraceReplay {
  /** The kernel replayed on. */
  readonly kernel: Kernel;
  /** The process whose Cpu the accesses go through. */
  readonly process: Process;
  private readonly cpu: Cpu;
  private readonly mmu: Mmu;
  private readonly lenient: boolean;
  private readonly target: string;
  private readonly hierarchies: TlbHierarchySim[];
  private readonly ids = new PageIdTable();
  private readonly lru = new LruStackDistance();
  private readonly workingSet: WorkingSetSeries;
  private readonly sequence: PageSequence | null;
  private readonly frameCounts: readonly number[];
  private readonly policyNames: readonly string[];
  private readonly sims: PolicySimulation[] = [];
  private readonly statsAtStart: { faults: number; lazyZero: number; lazyFile: number; stackGrowth: number };
  private readonly tlbHitsAtStart: number;
  private readonly tlbMissesAtStart: number;
  private readonly pageFaultsAtStart: number;
  private readonly majorAtStart: number;
  // Counters (plain numbers on the object: the hot loop keeps them in registers between batches).
  private records = 0;
  /** Records of each AccessKind (fetch, load, store, modify). */
  private readonly kindCounts = new Float64Array(4);
  private pageRefs = 0;
  private crossing = 0;
  private skipped = 0;
  private anonymousRegions = 0;
  // The run of references to one page: its page number and id, references after the first, a store seen.
  private runPage = -1;
  private runId = 0;
  private runSetKey = 0;
  /** Repeats of finished runs not yet handed to the TLB hierarchies and LRU (see endRun). */
  private repeatTotal = 0;
  private runRepeats = 0;
  private runStore = false;
  private finished = false;
  // The access being replayed (see consume).
  private batch: TraceBatch | null = null;
  private index = 0;
  private curPage = 0;
  private curVa = 0;
  private readonly idCachePage = new Float64Array(ID_CACHE).fill(-1);
  private readonly idCacheId = new Int32Array(ID_CACHE);
  /** Recent TLB hits the Cpu would repeat unchanged (see TranslationMemo). */
  private readonly memo = new TranslationMemo();
  /** Whether the memo may stand in for the Cpu in this batch (its TLB is on its quick path). */
  private memoOn = false;
  private readonly memoWanted: boolean;
  /** The kernel's swap, when the replay runs with it (`options.swap`). */
  private readonly swap: SwapManager | null;

  /** @throws TraceOptionError for bad options; ElfParseError / ElfLoadError for a bad ELF */
  constructor(options: TraceReplayOptions = {}) {
    this.frameCounts = options.frameCounts ?? [64, 128, 256];
    for (const f of this.frameCounts) if (!Number.isSafeInteger(f) || f < 1) throw new TraceOptionError(`frame count ${f} must be a positive integer`);
    const factories: Record<string, PolicyFactory> = {};
    for (const name of POLICY_NAMES) if (name !== 'opt') factories[name] = () => createPolicy(name);
    Object.assign(factories, options.policyFactories ?? {});
    const known = ['opt', ...Object.keys(factories)];
    this.policyNames = options.policies ?? DEFAULT_REPLAY_POLICIES;
    for (const name of this.policyNames) if (!known.includes(name)) throw new TraceOptionError(`unknown policy ${JSON.stringify(name)} (known: ${known.join(', ')})`);
    if (new Set(this.policyNames).size !== this.policyNames.length) throw new TraceOptionError('a policy is named twice');
    if (new Set(this.frameCounts).size !== this.frameCounts.length) throw new TraceOptionError('a frame count is given twice');
    const tickEvery = options.tickEvery ?? 1000;
    const tlb = options.tlb ?? [DEFAULT_TLB_HIERARCHY];
    this.hierarchies = tlb.map((levels) => new TlbHierarchySim(levels));
    const windowRefs = options.workingSetWindow ?? 10_000;
    this.workingSet = new WorkingSetSeries(windowRefs, { interval: options.workingSetInterval ?? Math.max(1, Math.floor(windowRefs / 4)), maxPoints: options.workingSetPoints ?? 256 });
    this.sequence = this.policyNames.includes('opt') ? new PageSequence() : null;
    for (const name of this.policyNames) {
      if (name === 'opt') continue;
      const make = factories[name]!;
      for (const frames of this.frameCounts) this.sims.push(new PolicySimulation(make(frames), frames, tickEvery));
    }
    this.lenient = options.lenient ?? false;
    this.memoWanted = options.translationMemo ?? true;
    const kernel = options.kernel ?? bootReplayKernel(options.ramBytes ?? 16 * GiB, options.elf === undefined);
    this.kernel = kernel;
    this.swap = options.swap === undefined ? null : enableReplaySwap(kernel, options.swap, tickEvery);
    const name = options.name ?? 'trace';
    const process = options.elf !== undefined ? kernel.exec(undefined, options.elf, options.argv ?? [name], [], { name }) : kernel.createProcess({ name });
    if (process === null) throw new TraceOptionError('the simulated machine ran out of memory creating the process');
    this.process = process;
    this.target = options.elf !== undefined ? `elf:${name}` : 'bare';
    kernel.switchTo(process.pid);
    this.cpu = kernel.machine.cpu;
    this.mmu = this.cpu.mmu;
    const s = process.stats;
    this.statsAtStart = { faults: s.faults, lazyZero: s.lazyZero, lazyFile: s.lazyFile, stackGrowth: s.stackGrowth };
    this.tlbHitsAtStart = this.cpu.tlb?.hits ?? 0;
    this.tlbMissesAtStart = this.cpu.tlb?.misses ?? 0;
    this.pageFaultsAtStart = this.cpu.pageFaultCount;
    this.majorAtStart = s.majorFaults;
  }

  /** Replays one batch of records (a `TraceBatchSink`). @throws TraceAddressError (unless lenient) */
  consume(batch: TraceBatch): void {
    if (this.finished) throw new TraceOptionError('consume after finish()');
    const n = batch.length;
    const vas = batch.va;
    const sizes = batch.sizeBytes;
    const kinds = batch.kind;
    const kindCounts = this.kindCounts;
    const memo = this.memo;
    const memoPages = memo.page;
    const memoKinds = memo.kinds;
    this.records += n;
    // Nothing in a replay changes the Cpu's TLB mode between records: checked once per batch.
    this.memoOn = this.memoAllowed();
    if (!this.memoOn) memo.clear();
    // The current run lives in locals while the memo answers; written back before any call.
    let runPage = this.runPage;
    let repeats = this.runRepeats;
    let runStore = this.runStore;
    let memoRefs = 0;
    // Literals, not the named constants, in this loop: a bundler turns module-level consts into
    // vars, which the JIT cannot fold (PAGE = 4096, MEMO_ENTRIES = 8, AccessKind.Store = 2,
    // AccessKind.Modify = 3; a test pins them).
    for (let i = 0; i < n; i++) {
      const va = vas[i]!;
      const sizeBytes = sizes[i]!;
      const kind = kinds[i]!;
      // 1/4096 (a power of two: the product is exact, so this is floor(va / 4096)).
      const page = Math.floor(va * 0.000244140625);
      const crosses = va - page * 4096 + sizeBytes > 4096;
      kindCounts[kind]!++;
      if (!crosses) {
        // A page the Cpu just answered from an unchanged TLB entry with these rights: count the
        // hit (an M record is a load and a store: two), then the analyses.
        const slot = (page | 0) & 7;
        if (memoPages[slot] === page && ((memoKinds[slot]! >> kind) & 1) !== 0) {
          const refs = kind === 3 ? 2 : 1;
          memoRefs += refs;
          if (page === runPage) {
            repeats += refs;
            if (kind >= 2) runStore = true;
            continue;
          }
          this.runRepeats = repeats;
          this.runStore = runStore;
          this.startRun(page, memo.id[slot]!, memo.setKey[slot]!, kind === 2);
          runPage = page;
          // An M record: the load started the run, the store repeats it.
          repeats = kind === 3 ? 1 : 0;
          runStore = kind >= 2;
          continue;
        }
      }
      this.runRepeats = repeats;
      this.runStore = runStore;
      this.replaySlow(batch, i, page, crosses);
      runPage = this.runPage;
      repeats = this.runRepeats;
      runStore = this.runStore;
    }
    this.runRepeats = repeats;
    this.runStore = runStore;
    this.pageRefs += memoRefs;
    memo.hits += memoRefs;
  }

  /** A record the memo could not answer: each of its page references through the Cpu. */
  private replaySlow(batch: TraceBatch, i: number, page: number, crosses: boolean): void {
    const va = batch.va[i]!;
    const kind = batch.kind[i]!;
    if (va + batch.sizeBytes[i]! - 1 >= LINEAR_LIMIT) {
      this.kindCounts[kind]!--;
      this.misfit(batch.position[i]!, va, 'the access runs past the end of the 48-bit address space');
      return;
    }
    if (crosses) this.crossing++;
    const access = kind === AccessKind.Fetch ? Access.Execute : kind === AccessKind.Store ? Access.Write : Access.Read;
    // The access travels in fields, not arguments: a double passed to a call V8 does not
    // inline is boxed (an allocation per access).
    this.batch = batch;
    this.index = i;
    this.curPage = page;
    this.curVa = va;
    if (!this.reference(access)) return;
    if (crosses) {
      this.curPage = page + 1;
      this.curVa = (page + 1) * PAGE;
      if (!this.reference(access)) return;
    }
    if (kind === AccessKind.Modify) {
      this.curPage = page;
      this.curVa = va;
      if (!this.reference(Access.Write)) return;
      if (crosses) {
        this.curPage = page + 1;
        this.curVa = (page + 1) * PAGE;
        this.reference(Access.Write);
      }
    }
  }

  /** Whether the memo may stand in for the Cpu: its TLB consulted on Mmu.translateSplit's quick path. */
  private memoAllowed(): boolean {
    const tlb = this.cpu.tlb;
    const regs = this.cpu.registers;
    // The quick path's own gate: TLB on without the stale-use detector (Tlb.probeMode 1), paging on
    // (CR0.PG), no PCIDs or protection keys (CR4.PCIDE | PKE).
    return this.memoWanted && this.swap === null && tlb !== null && tlb.probeMode === 1 && (regs.cr0 & 0x8000_0000) !== 0 && (regs.cr4 & 0x42_0000) === 0;
  }

  /** One page reference through the Cpu (`curPage`, `curVa`), then the analyses. Returns false when skipped (lenient). */
  private reference(access: Access): boolean {
    const page = this.curPage;
    const va = this.curVa;
    // An instruction fetch is translated as a read, then checked for NX: in user mode a fetch is
    // allowed exactly when a read is and the effective XD (the OR over the four levels, SDM 4.6.1)
    // is clear (SMEP and SMAP concern supervisor accesses only; protection keys do not apply to
    // fetches, so a read denied by a key is re-asked as a fetch). A/D and the TLB fill are the
    // same for both. x86-paging answers reads from the TLB on its fastest path, fetches not.
    const mmu = this.mmu;
    let r = mmu.translate(va, access === Access.Execute ? Access.Read : access, Mode.User);
    if (access === Access.Execute && (r.fault || (r.flags & PTE_NX) !== 0)) r = mmu.translate(va, Access.Execute, Mode.User);
    const hit = r.tlbHit && !r.fault;
    const flags = r.flags;
    // A walk may have filled (and so evicted) a TLB entry; a fault runs the kernel.
    if (!hit) this.memo.clear();
    if (r.fault) {
      if (!this.resolveFault(va, access, this.batch!.position[this.index]!)) return false;
    } else if (this.swap !== null) this.swap.noteAccess(this.process, va); // Process.touch reports a faulting one
    this.pageRefs++;
    const write = access === Access.Write;
    if (page === this.runPage) {
      this.runRepeats++;
      if (write) this.runStore = true;
      if (hit && this.memoOn) this.memo.record(page, flags, this.runId, this.runSetKey);
      return true;
    }
    // A direct-mapped cache of page ids in front of the hash table.
    const slot = (page | 0) & (ID_CACHE - 1);
    let id: number;
    if (this.idCachePage[slot] === page) id = this.idCacheId[slot]!;
    else {
      id = this.ids.idOf(page);
      this.idCachePage[slot] = page;
      this.idCacheId[slot] = id;
    }
    // Page number mod 2^30 (ToInt32 keeps the low 32 bits): the simulated TLBs' set key.
    const setKey = (page | 0) & 0x3fff_ffff;
    if (hit && this.memoOn) this.memo.record(page, flags, id, setKey);
    this.startRun(page, id, setKey, write);
    return true;
  }

  /** A reference to a page other than the current run's: the analyses see it. */
  private startRun(page: number, id: number, setKey: number, write: boolean): void {
    this.endRun();
    this.runPage = page;
    this.runId = id;
    this.runSetKey = setKey;
    const hs = this.hierarchies;
    for (let h = 0; h < hs.length; h++) hs[h]!.access(setKey, id);
    this.lru.reference(id);
    this.workingSet.reference(id);
    if (this.sequence !== null) this.sequence.push(id);
    const sims = this.sims;
    for (let k = 0; k < sims.length; k++) sims[k]!.reference(id, write);
  }

  /**
   * Hands the repeats of the current run to the analyses. A repeat is an L1 hit in every TLB
   * hierarchy and a stack distance of 1 for LRU: counts that change no state, so they are summed
   * (`repeatTotal`) and handed over once, at `finish`. The working set and the policies need them
   * in place (time moves on; ticks).
   */
  private endRun(): void {
    const repeats = this.runRepeats;
    if (repeats > 0) {
      this.repeatTotal += repeats;
      this.workingSet.extend(repeats);
    }
    if (repeats > 0 || this.runStore) {
      const sims = this.sims;
      for (let k = 0; k < sims.length; k++) sims[k]!.repeat(repeats, this.runStore);
    }
    this.runRepeats = 0;
    this.runStore = false;
  }

  /** The slow path: make sure a region covers `va`, then let the kernel resolve the fault. */
  private resolveFault(va: number, access: Access, position: number): boolean {
    const p = this.process;
    if (va < p.userStart || va >= p.userEnd) return this.misfit(position, va, `outside the process's user range [0x${p.userStart.toString(16)}, 0x${p.userEnd.toString(16)})`);
    const region = p.regionAt(va);
    if (region !== null) {
      if (!protAllows(region.prot, access)) {
        const what = access === Access.Write ? 'a store into' : access === Access.Execute ? 'an instruction fetch from' : 'a load from';
        return this.misfit(position, va, `${what} ${region.name || region.kind} (${region.kind}), which forbids it: is this the trace of that program?`);
      }
    } else if (!this.inStackReach(va)) {
      this.mapAnonymous(va, position);
    }
    const touch: TouchAccess = access === Access.Write ? 'write' : access === Access.Execute ? 'execute' : 'read';
    const outcome = p.touch(va, touch, 0);
    if (outcome === 'oom-kill') throw new TraceOptionError(`the simulated machine ran out of memory at record ${position}: give it more RAM`);
    if (outcome === 'segv') throw new TraceAddressError(position, va, `the kernel killed the process: ${p.killed?.reason ?? 'segv'}`);
    return true;
  }

  /** Whether the kernel's stack growth will take `va` (below the stack region, within RLIMIT_STACK). */
  private inStackReach(va: number): boolean {
    const p = this.process;
    const low = p.stackTop - p.limits.stackLimitBytes;
    if (va < low || va >= p.stackTop) return false;
    const above = p.regions().find((r) => r.start > va);
    return above !== undefined && above.growsDown;
  }

  /** Creates the anonymous region around `va`: its 2 MiB-aligned window within the free gap. */
  private mapAnonymous(va: number, position: number): void {
    const p = this.process;
    const pageVa = va - (va % PAGE);
    let start = pageVa - (pageVa % (2 * 1024 * 1024));
    let end = start + 2 * 1024 * 1024;
    for (const r of p.regions()) {
      if (r.end <= pageVa && r.end > start) start = r.end;
      if (r.start > pageVa && r.start < end) end = r.start;
    }
    // Keep clear of the stack's reach and guard gap: the kernel's stack growth owns that range.
    const reachLow = p.stackTop - p.limits.stackLimitBytes - p.limits.guardGapBytes;
    if (pageVa < reachLow && end > reachLow) end = reachLow;
    if (pageVa >= reachLow) {
      start = pageVa;
      end = pageVa + PAGE;
    }
    if (start < p.userStart) start = p.userStart;
    const got = p.mmap({ lengthBytes: end - start, va: start, fixed: true, noReplace: true, prot: PROT.Read | PROT.Write | PROT.Exec, name: 'trace' });
    if (got === null) throw new TraceAddressError(position, va, 'no room for an anonymous region there');
    this.anonymousRegions++;
  }

  private misfit(position: number, va: number, reason: string): boolean {
    if (!this.lenient) throw new TraceAddressError(position, va, reason);
    this.skipped++;
    return false;
  }

  /**
   * Ends the replay and computes the results (OPT runs here, over the recorded sequence).
   * @param reader - the reader's counts (format, skipped records) to include
   */
  finish(reader: { readonly format: string; readonly skippedRecords: number; readonly skipSamples: readonly string[] } = { format: 'unknown', skippedRecords: 0, skipSamples: [] }): ReplayResult {
    if (!this.finished) {
      this.endRun();
      this.finished = true;
      const hs = this.hierarchies;
      if (this.repeatTotal > 0) {
        for (let h = 0; h < hs.length; h++) hs[h]!.repeatHits(this.repeatTotal);
        this.lru.repeat(this.repeatTotal);
      }
    }
    const s = this.process.stats;
    const s0 = this.statsAtStart;
    const lazyZero = s.lazyZero - s0.lazyZero;
    const lazyFile = s.lazyFile - s0.lazyFile;
    const stackGrowth = s.stackGrowth - s0.stackGrowth;
    const kc = this.kindCounts;
    const fetches = kc[AccessKind.Fetch]!;
    const loads = kc[AccessKind.Load]!;
    const stores = kc[AccessKind.Store]!;
    const modifies = kc[AccessKind.Modify]!;
    const total = fetches + loads + stores + 2 * modifies;
    const tlb = this.cpu.tlb;
    const tlbs: ReplayTlb[] = this.hierarchies.map((h) => ({
      name: formatTlbHierarchy(h.levels),
      levels: h.levels.map((g, i) => ({
        geometry: `${g.entryCount}x${g.wayCount}`,
        setCount: g.entryCount / g.wayCount,
        lookups: h.lookups[i]!,
        hits: h.hits[i]!,
        hitRate: round(h.lookups[i]! === 0 ? 0 : h.hits[i]! / h.lookups[i]!),
      })),
      walks: h.walks,
      hitRate: round(this.pageRefs === 0 ? 0 : 1 - h.walks / this.pageRefs),
    }));
    const policies = this.policyNames.map((name) => ({ policy: name, faults: this.frameCounts.map((f) => [f, this.policyFaults(name, f)] as const) }));
    const curve = this.lru.missCurve();
    const lruCurve: [number, number][] = [];
    for (let f = 1; f < curve.length; f++) if (f === 1 || curve[f] !== curve[f - 1]) lruCurve.push([f, curve[f]!]);
    return {
      format: reader.format,
      target: this.target,
      skippedRecords: reader.skippedRecords,
      skipSamples: [...reader.skipSamples],
      accesses: {
        records: this.records,
        total,
        instruction: fetches,
        data: total - fetches,
        loads: loads + modifies,
        stores: stores + modifies,
        modifies,
        pageReferences: this.pageRefs,
        pageCrossing: this.crossing,
        skipped: this.skipped,
      },
      distinctPages: this.ids.size,
      cpu: {
        tlb: tlb === null ? 'none' : `${tlb.setCount} sets x ${tlb.wayCount} ways`,
        tlbHits: (tlb?.hits ?? 0) - this.tlbHitsAtStart + this.memo.hits,
        walks: (tlb?.misses ?? 0) - this.tlbMissesAtStart,
        pageFaults: this.cpu.pageFaultCount - this.pageFaultsAtStart,
      },
      faults: {
        total: s.faults - s0.faults,
        minor: lazyZero + stackGrowth,
        major: lazyFile,
        lazyZero,
        lazyFile,
        stackGrowth,
        anonymousRegions: this.anonymousRegions,
        rssPages: s.rssPages,
      },
      tlb: tlbs,
      policies,
      lruCurve,
      workingSet: { windowRefs: this.workingSet.windowRefs, interval: this.workingSet.interval, peakPages: this.workingSet.peakPages, points: this.workingSet.points() },
      ...(this.swap === null ? {} : { swap: this.swapResult(this.swap, s.faults - s0.faults, lazyFile) }),
    };
  }

  private swapResult(swap: SwapManager, faults: number, fileReads: number): ReplaySwap {
    const c = swap.counters;
    return {
      policy: swap.policy.name,
      frames: swap.maxResidentPages,
      faults,
      majorFaults: this.process.stats.majorFaults - this.majorAtStart,
      fileReads,
      swappedOut: c.swappedOut,
      fileDropped: c.fileDropped,
      writeBacks: c.writeBacks,
      directRuns: c.directRuns,
      backgroundRuns: c.backgroundRuns,
    };
  }

  private optCache: number[] | null = null;

  private policyFaults(name: string, frames: number): number {
    if (name === 'opt') {
      this.optCache ??= optFaults(this.sequence!.view(), this.ids.size, this.frameCounts);
      return this.optCache[this.frameCounts.indexOf(frames)]!;
    }
    const index = this.policyNames.filter((p) => p !== 'opt').indexOf(name) * this.frameCounts.length + this.frameCounts.indexOf(frames);
    return this.sims[index]!.faults;
  }
}

/** Rounds a ratio to 6 decimals (stable JSON). */
function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/**
 * Turns the kernel's swap on for a replay: one free-cost in-memory device, the policy, the
 * resident limit, the clock ticking every `tickEvery` accesses.
 * @throws TraceOptionError for `opt` (it needs the whole future sequence) or a bad frame count
 */
function enableReplaySwap(kernel: Kernel, options: ReplaySwapOptions, tickEvery: number): SwapManager {
  if (options.policy === 'opt') throw new TraceOptionError('the kernel cannot run OPT during a replay (it needs the whole future): OPT is the stream model\'s bound');
  if (!Number.isSafeInteger(options.frames) || options.frames < 1) throw new TraceOptionError(`frame count ${options.frames} must be a positive integer`);
  const accessNs = options.accessNs ?? 100;
  return kernel.enableSwap({
    devices: [new MemorySwapDevice({ slotCount: options.slotCount ?? 2 ** 20, name: 'trace-swap', cost: 'free' })],
    policy: options.policy,
    maxResidentPages: options.frames,
    accessNs,
    tickNs: tickEvery * accessNs,
  });
}

/**
 * A booted kernel for replays: one usable range of `ramBytes` above 1 MiB, the Cpu's TLB shaped
 * as an STLB (128 sets x 12 ways = 1,536 entries: its misses are the page walks), quiet events.
 * A bare replay's layout lets user space start at 0x1000 so course traces' low addresses fit.
 */
export function bootReplayKernel(ramBytes: number, bare: boolean): Kernel {
  if (!Number.isSafeInteger(ramBytes) || ramBytes < 64 * 1024 * 1024) throw new TraceOptionError(`ramBytes ${ramBytes} must be at least 64 MiB`);
  const memoryMap: MemoryRegion[] = [{ base: 0x10_0000, lengthBytes: ramBytes - (ramBytes % PAGE), kind: 'usable' }];
  const machine = new Machine({ memoryMap, tlb: { setCount: 128, wayCount: 12 } });
  const layout: Layout = bare ? { ...HIGHER_HALF, name: 'trace-bare', userRange: { start: 0x1000, end: HIGHER_HALF.userRange.end } } : HIGHER_HALF;
  const kernel = new Kernel(machine, { layout, events: new EventLog({ capacity: 1024, exclude: QUIET_EVENTS }) });
  kernel.boot();
  return kernel;
}
