// The page-replacement policy interface: which resident page to evict when frames run short.
//
// A policy sees pages as numbers and the hardware's reference signals through PageSignals, so
// the same object runs inside the kernel (page = frame number, the signals read and clear the
// real Accessed / Dirty bits of every PTE mapping the frame and INVLPG them) and standalone over
// a recorded access sequence (page = virtual page number, the signals are arrays; see
// `simulateReferenceString`).

/**
 * The reference signals of resident pages, as a kernel sees them. In the kernel each call reads
 * the PTEs mapping the frame (every copy-on-write sharer) through the page tables.
 */
export interface PageSignals {
  /**
   * Reads the page's Accessed bit and clears it (every PTE mapping it), invalidating the TLB entry
   * of each: without the INVLPG the TLB keeps the translation and the MMU never sets A again
   * (SDM 4.8: A is set only on a page walk). Returns whether it was set.
   */
  testAndClearAccessed(page: number): boolean;
  /** Reads the Accessed bit without clearing it. */
  isAccessed(page: number): boolean;
  /** Whether evicting the page needs a write-back (a Dirty bit set, or dirty in software). */
  isDirty(page: number): boolean;
  /** Whether the page may be evicted now (false: pinned, e.g. its fault is being handled). */
  isEvictable(page: number): boolean;
  /**
   * A stable name of the page's contents across evictions (for OPT, which follows a recorded
   * sequence of such keys): standalone the page number itself; in the kernel `kernelPageKey(pid,
   * va)` of the process that faulted it in.
   */
  pageKey(page: number): number;
  /**
   * Every key under which the page is used: standalone one (the page); in the kernel one per
   * process mapping the frame (copy-on-write sharers). Appends to `out`, returns how many.
   */
  pageKeys(page: number, out: number[]): number;
  /** During `onAccess`: the key of the access being reported (standalone the page; in the kernel the accessing process's pid and va). */
  accessKey(page: number): number;
}

/**
 * A replacement policy. The host (kernel or simulator) tells it which pages are resident
 * (`admit` / `remove`) and asks for a victim when it needs a frame. A policy may read and clear
 * Accessed bits through the signals; it never evicts anything itself.
 *
 * Contract: `selectVictim` returns a page that was admitted and not removed, and for which
 * `signals.isEvictable(page)` is true, or -1 when no admitted page is evictable. The host checks
 * that (`PolicyVictimError` otherwise) and then calls `remove(page)` once the eviction is done.
 */
export interface ReplacementPolicy {
  /** Name for tables (`fifo`, `clock`, ...). */
  readonly name: string;
  /** Pages admitted and not removed. */
  readonly residentCount: number;
  /** The page became resident (mapped in a frame) at time `nowNs`. */
  admit(page: number, nowNs: number): void;
  /** The page is no longer resident (evicted, unmapped, its process exited). Unknown pages are ignored. */
  remove(page: number): void;
  /** Whether the page is admitted. */
  has(page: number): boolean;
  /** Chooses a victim (see the contract above). */
  selectVictim(signals: PageSignals, nowNs: number): number;
  /**
   * A hint before the first `admit`: pages will mostly be numbers below `pageCount` (frame
   * numbers of RAM in the kernel), so an index over them can be sized once.
   */
  reserve?(pageCount: number): void;
  /**
   * Set on policies that must see every access (exact LRU, OPT): the host then calls `onAccess`
   * after each one. Real hardware reports no such thing; these policies exist for simulation.
   */
  readonly needsEveryAccess?: boolean;
  /** Every access to a resident page (only when `needsEveryAccess`). */
  onAccess?(page: number, signals: PageSignals, nowNs: number): void;
  /** Periodic work on the simulation clock (aging shifts, working-set ages). */
  tick?(signals: PageSignals, nowNs: number): void;
  /** Throws if the policy's own records are inconsistent. */
  checkInvariants(): void;
}
