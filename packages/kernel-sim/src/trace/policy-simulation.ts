// Drives a replacement policy (the swap layer's ReplacementPolicy) over a streamed page-id
// sequence with a fixed number of frames, counting faults: one cell of "faults per policy × frame
// count". The swap layer's `simulateReferenceString` does the same over a whole array; this one
// streams (memory follows the pages, not the trace), takes runs of one page at once, and keeps the
// A/D bits in typed arrays.
import type { PageSignals, ReplacementPolicy } from '../swap/replacement-policy';
import { growToIndex } from './grow-array';
import { TraceOptionError } from './trace-errors';

/**
 * One policy with `frames` frames over a stream of page ids. A reference to a resident page sets
 * its Accessed bit (and Dirty on a store) and is shown to policies that ask for every access; a
 * reference to another page is a fault, evicting the policy's victim when the frames are full.
 * Time (`nowNs` for the policy) is the reference index; `tick` runs every `tickEvery` references.
 * A run of references to one page is given as `reference` then `repeat(count)`: repeats hit under
 * every demand-paging policy and only set bits already set, except that a tick inside the run
 * clears A, which the next reference of the run sets again (as the hardware would).
 */
export class PolicySimulation implements PageSignals {
  /** Faults counted. */
  faults = 0;
  /** Evictions of a dirty page (a write-back each). */
  writeBacks = 0;
  private accessed = new Uint8Array(1024);
  private dirty = new Uint8Array(1024);
  private now = 0;
  private current = -1;

  /** @throws TraceOptionError for a frame count or tick interval that is not a positive integer (tick: or 0) */
  constructor(
    /** The policy (fresh: no page admitted). */
    readonly policy: ReplacementPolicy,
    /** Frames available. */
    readonly frames: number,
    /** Call `policy.tick` every this many references (0: never). */
    readonly tickEvery = 0,
  ) {
    if (!Number.isSafeInteger(frames) || frames < 1) throw new TraceOptionError(`frame count ${frames} must be a positive integer`);
    if (!Number.isSafeInteger(tickEvery) || tickEvery < 0) throw new TraceOptionError(`tickEvery ${tickEvery} must be a non-negative integer`);
  }

  /** One reference to page id `page`; `write` for a store. */
  reference(page: number, write: boolean): void {
    const now = this.now++;
    if (page >= this.accessed.length) {
      this.accessed = growToIndex(this.accessed, page);
      this.dirty = growToIndex(this.dirty, page);
    }
    this.current = page;
    const p = this.policy;
    if (!p.has(page)) {
      this.faults++;
      if (p.residentCount >= this.frames) {
        const victim = p.selectVictim(this, now);
        if (victim < 0 || !p.has(victim)) throw new TraceOptionError(`policy ${p.name} chose no resident victim (${victim})`);
        if (this.dirty[victim] === 1) this.writeBacks++;
        p.remove(victim);
        this.accessed[victim] = 0;
        this.dirty[victim] = 0;
      }
      p.admit(page, now);
      this.dirty[page] = 0;
    }
    this.accessed[page] = 1;
    if (write) this.dirty[page] = 1;
    if (p.needsEveryAccess === true) p.onAccess?.(page, this, now);
    if (this.tickEvery > 0 && this.now % this.tickEvery === 0) p.tick?.(this, now);
  }

  /** `count` more references to the page referenced last; `write` if any of them stored. */
  repeat(count: number, write: boolean): void {
    const page = this.current;
    if (page < 0) throw new TraceOptionError('repeat before any reference');
    if (write) this.dirty[page] = 1;
    if (count > 0) this.accessed[page] = 1; // a tick right after the run's first reference cleared it
    const p = this.policy;
    if (this.tickEvery === 0) {
      this.now += count;
      return;
    }
    let left = count;
    while (left > 0) {
      const toTick = this.tickEvery - (this.now % this.tickEvery);
      if (left < toTick) {
        this.now += left;
        break;
      }
      this.now += toTick;
      left -= toTick;
      p.tick?.(this, this.now - 1);
      if (left > 0) this.accessed[page] = 1; // the run goes on after the tick: A set again
    }
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
  isEvictable(page: number): boolean {
    return this.policy.has(page);
  }
  pageKey(page: number): number {
    return page;
  }
  pageKeys(page: number, out: number[]): number {
    out.push(page);
    return 1;
  }
  accessKey(page: number): number {
    return page;
  }
}
