// What a replay reports: plain data, numbers and strings only, in a fixed order (so the same
// trace gives byte-identical JSON).
import type { WorkingSetPoint } from './working-set';

/** Access counts of a replay. */
export interface ReplayAccessCounts {
  /** Records read (an `M` record is one record). */
  readonly records: number;
  /** Accesses replayed: fetches + loads + stores, an `M` counting as a load and a store. */
  readonly total: number;
  /** Instruction fetches. */
  readonly instruction: number;
  /** Data accesses (loads + stores). */
  readonly data: number;
  /** Loads (`L`, and the load of each `M`). */
  readonly loads: number;
  /** Stores (`S`, and the store of each `M`). */
  readonly stores: number;
  /** `M` records. */
  readonly modifies: number;
  /** Page references: accesses, plus one for each that crossed into a second page. */
  readonly pageReferences: number;
  /** Accesses that crossed a page boundary (each touched two pages). */
  readonly pageCrossing: number;
  /** Accesses skipped in lenient mode because they did not fit the address space. */
  readonly skipped: number;
}

/** One level of a simulated TLB hierarchy. */
export interface ReplayTlbLevel {
  /** `ENTRIESxWAYS`. */
  readonly geometry: string;
  /** Sets (entries / ways). */
  readonly setCount: number;
  /** Lookups that reached this level. */
  readonly lookups: number;
  /** Hits here. */
  readonly hits: number;
  /** hits / lookups (0 with no lookup). */
  readonly hitRate: number;
}

/** One simulated TLB hierarchy. */
export interface ReplayTlb {
  /** `64x4+1536x12`. */
  readonly name: string;
  /** Levels, L1 first. */
  readonly levels: readonly ReplayTlbLevel[];
  /** Page walks (misses at every level). */
  readonly walks: number;
  /** 1 - walks / page references. */
  readonly hitRate: number;
}

/** The process's own CPU: its x86-paging TLB, the walks and the page faults it delivered. */
export interface ReplayCpu {
  /** The Cpu's TLB as `SETSxWAYS sets x ways` text. */
  readonly tlb: string;
  /** Translations the TLB answered. */
  readonly tlbHits: number;
  /** Translations that walked the page tables (including the walks of faulting accesses). */
  readonly walks: number;
  /** #PF delivered (vector 14). */
  readonly pageFaults: number;
}

/** Faults the kernel resolved during the replay (after exec). */
export interface ReplayFaults {
  /** All page faults resolved. */
  readonly total: number;
  /** Minor: a zeroed page, stack growth, copy-on-write (no I/O). */
  readonly minor: number;
  /** Major: the page was read from the ELF file. */
  readonly major: number;
  /** Anonymous zero-filled pages. */
  readonly lazyZero: number;
  /** Pages read from the ELF. */
  readonly lazyFile: number;
  /** Stack-growth faults. */
  readonly stackGrowth: number;
  /** Anonymous regions created for addresses the ELF did not cover. */
  readonly anonymousRegions: number;
  /** Resident pages at the end. */
  readonly rssPages: number;
}

/** Faults of one policy at each frame count. */
export interface ReplayPolicyFaults {
  /** `fifo`, `clock`, `lru`, `opt`, ... */
  readonly policy: string;
  /** `[frames, faults]` pairs, in the order asked. */
  readonly faults: readonly (readonly [number, number])[];
}

/** What the kernel's own reclaim did in a replay with swap on (`TraceReplayOptions.swap`). */
export interface ReplaySwap {
  /** The kernel's replacement policy. */
  readonly policy: string;
  /** The resident-page limit (`maxResidentPages`): frames for the process's user pages. */
  readonly frames: number;
  /** Page faults the kernel resolved (first touches included), as the stream model counts them. */
  readonly faults: number;
  /** Major faults: pages read back from the swap device (Linux's maj_flt). */
  readonly majorFaults: number;
  /** Pages read from the ELF file: first touches and re-reads of dropped clean file pages. */
  readonly fileReads: number;
  /** Pages written to swap (pswpout). */
  readonly swappedOut: number;
  /** Clean file pages dropped (re-read from the ELF at the next touch). */
  readonly fileDropped: number;
  /** Evictions of a page that had to be written (dirty, or anonymous without a swap copy). */
  readonly writeBacks: number;
  /** Direct-reclaim runs (one per fault beyond the limit). */
  readonly directRuns: number;
  /** kswapd runs (the free-frame watermarks; none while RAM is plentiful). */
  readonly backgroundRuns: number;
}

/** Everything a replay found. */
export interface ReplayResult {
  /** Trace format read. */
  readonly format: string;
  /** What it was replayed onto: `elf:NAME` or `bare`. */
  readonly target: string;
  /** Malformed records skipped (lenient). */
  readonly skippedRecords: number;
  /** The first few skipped records' messages. */
  readonly skipSamples: readonly string[];
  /** Access counts. */
  readonly accesses: ReplayAccessCounts;
  /** Distinct 4 KiB pages touched. */
  readonly distinctPages: number;
  /** The CPU's own translations. */
  readonly cpu: ReplayCpu;
  /** The kernel's faults. */
  readonly faults: ReplayFaults;
  /** Simulated TLB hierarchies. */
  readonly tlb: readonly ReplayTlb[];
  /** Faults per policy and frame count (demand paging over the page-reference stream). */
  readonly policies: readonly ReplayPolicyFaults[];
  /**
   * LRU's miss-ratio curve for every memory size, from one pass (Mattson): `[frames, faults]` at
   * each size where the count changes (faults stay at the last value up to the next point).
   */
  readonly lruCurve: readonly (readonly [number, number])[];
  /** Working-set size over time (window in page references). */
  readonly workingSet: { readonly windowRefs: number; readonly interval: number; readonly peakPages: number; readonly points: readonly WorkingSetPoint[] };
  /** With `swap`: what the kernel's reclaim did (absent otherwise). */
  readonly swap?: ReplaySwap;
}
