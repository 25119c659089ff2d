// Drives a replacement policy over a page-id stream with a fixed number of frames, counting
// faults: what "faults per policy × frame count" needs from a policy, without a kernel.
import { growToIndex } from './grow-array';

/**
 * The part of the swap layer's `ReplacementPolicy` a standalone simulation uses (a structural
 * copy: any policy object with these members fits).
 */
export interface SimulatedPolicy {
  /** Name for tables. */
  readonly name: string;
  /** Pages admitted and not removed. */
  readonly residentCount: number;
  /** The page became resident. */
  admit(page: number, nowNs: number): void;
  /** The page left. */
  remove(page: number): void;
  /** Whether the page is resident. */
  has(page: number): boolean;
  /** A resident, evictable page to evict, or -1. */
  selectVictim(signals: SimulationSignals, nowNs: number): number;
  /** Set when the policy must see every access (exact LRU, OPT). */
  readonly needsEveryAccess?: boolean;
  /** Every access to a resident page (only when `needsEveryAccess`). */
  onAccess?(page: number, nowNs: number): void;
}

/** The reference signals a policy reads (A and D bits), kept in arrays by page id. */
export interface SimulationSignals {
  testAndClearAccessed(page: number): boolean;
  isAccessed(page: number): boolean;
  isDirty(page: number): boolean;
  isEvictable(page: number): boolean;
  pageKey(page: number): number;
}

/**
 * One policy with `frames` frames over a stream of page ids: a reference to a resident page sets
 * its Accessed bit (and Dirty on a store) and is shown to policies that ask for every access; a
 * reference to another page is a fault, evicting the policy's victim when the frames are full.
 * Time (`nowNs`) is the reference count. Consecutive references to the same page may be given
 * once: they hit under every demand-paging policy and only set bits already set.
 */
export class PolicySimulation implements SimulationSignals {
  /** Faults counted. */
  faults = 0;
  /** Evictions of a dirty page (a write-back each). */
  writeBacks = 0;
  private accessed = new Uint8Array(1024);
  private dirty = new Uint8Array(1024);
  private now = 0;

  constructor(
    /** The policy (fresh: no page admitted). */
    readonly policy: SimulatedPolicy,
    /** Frames available. */
    readonly frames: number,
  ) {}

  /** One reference to page id `page`; `write` for a store. */
  reference(page: number, write: boolean): void {
    const now = ++this.now;
    if (page >= this.accessed.length) {
      this.accessed = growToIndex(this.accessed, page);
      this.dirty = growToIndex(this.dirty, page);
    }
    const p = this.policy;
    if (p.has(page)) {
      this.accessed[page] = 1;
      if (write) this.dirty[page] = 1;
      if (p.needsEveryAccess === true) p.onAccess!(page, now);
      return;
    }
    this.faults++;
    if (p.residentCount >= this.frames) {
      const victim = p.selectVictim(this, now);
      if (victim < 0 || !p.has(victim)) throw new Error(`policy ${p.name} chose no resident victim (${victim})`);
      if (this.dirty[victim] === 1) this.writeBacks++;
      p.remove(victim);
      this.accessed[victim] = 0;
      this.dirty[victim] = 0;
    }
    p.admit(page, now);
    this.accessed[page] = 1;
    this.dirty[page] = write ? 1 : 0;
  }

  /** A store to the resident page referenced last (later in a run of references to it). */
  markDirty(page: number): void {
    this.dirty[page] = 1;
  }

  testAndClearAccessed(page: number): boolean {
    const a = this.accessed[page] === 1;
    this.accessed[page] = 0;
    return a;
  }
  isAccessed(page: number): boolean {
    return this.accessed[page] === 1;
  }
  isDirty(page: number): boolean {
    return this.dirty[page] === 1;
  }
  isEvictable(): boolean {
    return true;
  }
  pageKey(page: number): number {
    return page;
  }
}
