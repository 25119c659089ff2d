// What `vmstat` and /proc/vmstat would show about paging, plus a time series sampled on the
// simulation clock: free frames, resident pages, swap in use, the working-set size, fault rates,
// and a thrashing signal.

/** Counters since boot (Linux's /proc/vmstat names in the docs). */
export interface SwapCounters {
  /** Page faults resolved without I/O (pgfault - pgmajfault). */
  minorFaults: number;
  /** Faults that read from swap (pgmajfault). */
  majorFaults: number;
  /** Pages read from swap (pswpin). */
  swappedIn: number;
  /** Pages written to swap (pswpout). */
  swappedOut: number;
  /** Evictions that needed a write (dirty pages, and anonymous pages never written to swap). */
  writeBacks: number;
  /** Clean file pages dropped (re-read from the ELF file at the next fault). */
  fileDropped: number;
  /** Clean swap-cache pages evicted without a write (their slot still held the data). */
  cleanSwapEvictions: number;
  /** Swap-in faults that found the page in the swap cache (a sharer read it already). */
  swapCacheHits: number;
  /** Pages whose reference bits a policy looked at during reclaim (pgscan). */
  scanned: number;
  /** Pages reclaimed by kswapd (pgsteal_kswapd). */
  reclaimedBackground: number;
  /** Pages reclaimed by allocating paths (pgsteal_direct). */
  reclaimedDirect: number;
  /** kswapd runs. */
  backgroundRuns: number;
  /** Direct reclaim runs. */
  directRuns: number;
  /** Evictions refused because every swap device was full. */
  swapFull: number;
}

/** One sample of the time series. */
export interface SwapSample {
  /** Simulated time, ns. */
  readonly timeNs: number;
  /** Free frames in the allocator. */
  readonly freeFrames: number;
  /** User pages resident (frames the policy tracks). */
  readonly residentPages: number;
  /** Swap slots in use. */
  readonly swapSlotsUsed: number;
  /** Distinct resident pages referenced within the working-set window (Denning's W(t, τ)). */
  readonly workingSetPages: number;
  /** Major faults since the previous sample. */
  readonly majorFaults: number;
  /** Minor faults since the previous sample. */
  readonly minorFaults: number;
  /** User accesses since the previous sample. */
  readonly accesses: number;
  /** The thrashing signal: the major-fault rate stayed high over the window while RSS stopped growing. */
  readonly thrashing: boolean;
}

/** Fresh counters, all zero. */
export function emptySwapCounters(): SwapCounters {
  return { minorFaults: 0, majorFaults: 0, swappedIn: 0, swappedOut: 0, writeBacks: 0, fileDropped: 0, cleanSwapEvictions: 0, swapCacheHits: 0, scanned: 0, reclaimedBackground: 0, reclaimedDirect: 0, backgroundRuns: 0, directRuns: 0, swapFull: 0 };
}

/**
 * Thrashing: over the last `window` samples every interval had major faults at a rate of at
 * least `rate` per access, and the resident set did not grow (the fault rate is high while RSS
 * has stopped growing: the memory is full and pages chase each other through swap).
 */
export function isThrashing(samples: readonly SwapSample[], window: number, rate: number): boolean {
  const n = samples.length;
  if (n < window) return false;
  for (let i = n - window; i < n; i++) {
    const s = samples[i]!;
    if (s.accesses === 0 || s.majorFaults / s.accesses < rate) return false;
  }
  return samples[n - 1]!.residentPages <= samples[n - window]!.residentPages;
}
