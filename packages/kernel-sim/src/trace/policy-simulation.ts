// The one driver of a replacement policy (the swap layer's ReplacementPolicy) over a sequence of
// page references with a fixed number of frames, counting faults: one cell of "faults per policy ×
// frame count". It streams (memory follows the pages, not the sequence), takes runs of one page at
// once, and keeps the A/D bits in typed arrays. The swap layer's `simulateReferenceString` is this
// driver run over a whole array, one reference at a time.
import type { PageSignals, ReplacementPolicy } from '../swap/replacement-policy';
import { PolicyVictimError } from '../swap/swap-errors';
import { growToIndex } from './grow-array';
import { TraceOptionError } from './trace-errors';

/** Software page bits: Accessed, Dirty, and resident (the host's own view). */
const A = 1;
const D = 2;
const R = 4;
/** Pages numbered in [0, DENSE_LIMIT) keep their bits in a typed array; any other integer in a Map. */
const DENSE_LIMIT = 2 ** 22;

/**
 * One policy with `frames` frames over a stream of page numbers (any safe integers; the policy
 * sees them as given: dense page ids in a trace replay, the caller's page numbers standalone). A
 * reference to a resident page sets its Accessed bit (and Dirty on a store) and is shown to
 * policies that ask for every access; a reference to another page is a fault, evicting the
 * policy's victim when the frames are full (a dirty victim is a write-back).
 *
 * Time (`nowNs` for the policy) is the reference index; `tick` runs after every `tickEvery`-th
 * reference. A run of references to one page may be given as `reference` then `repeat(count)`:
 * repeats hit under every demand-paging policy and only set bits already set, except that a tick
 * inside the run clears A, which the next reference of the run sets again (as the hardware would).
 * Property-tested: the same faults and write-backs either way.
 */
export class PolicySimulation implements PageSignals {
  /** Faults counted. */
  faults = 0;
  /** Pages evicted. */
  evictions = 0;
  /** Evictions of a dirty page (a write-back each). */
  writeBacks = 0;
  /** Whether the last `reference` faulted. */
  lastFaulted = false;
  /** The page the last `reference` evicted, or -1. */
  lastVictim = -1;
  /** References so far (repeats included). */
  references = 0;
  private bits = new Uint8Array(1024);
  private readonly sparse = new Map<number, number>();
  private resident = 0;
  private current = -1;
  private hasCurrent = false;

  /**
   * @throws TraceOptionError for a frame count or tick interval that is not a positive integer
   *   (tick: or 0)
   */
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

  /**
   * One reference to page `page`; `write` for a store.
   * @throws PolicyVictimError when the policy returns a page that is not resident (or -1 while a
   *   frame is needed)
   */
  reference(page: number, write: boolean): void {
    const now = this.references++;
    const p = this.policy;
    let b = this.bitsOf(page);
    this.current = page;
    this.hasCurrent = true;
    this.lastVictim = -1;
    this.lastFaulted = (b & R) === 0;
    if (this.lastFaulted) {
      this.faults++;
      if (this.resident >= this.frames) {
        const victim = p.selectVictim(this, now);
        const vb = this.bitsOf(victim);
        if ((vb & R) === 0) throw new PolicyVictimError(p.name, victim, 'not-offered');
        if ((vb & D) !== 0) this.writeBacks++;
        this.setBits(victim, 0);
        this.resident--;
        p.remove(victim);
        this.evictions++;
        this.lastVictim = victim;
      }
      b = R;
      this.resident++;
      p.admit(page, now);
    }
    this.setBits(page, b | A | (write ? D : 0));
    if (p.needsEveryAccess === true) p.onAccess?.(page, this, now);
    if (this.tickEvery > 0 && this.references % this.tickEvery === 0) p.tick?.(this, now);
  }

  /** `count` more references to the page referenced last; `write` if any of them stored. */
  repeat(count: number, write: boolean): void {
    if (!this.hasCurrent) throw new TraceOptionError('repeat before any reference');
    const page = this.current;
    const b = this.bitsOf(page);
    // Count > 0: A set again (a tick right after the run's first reference cleared it).
    this.setBits(page, b | (count > 0 ? A : 0) | (write ? D : 0));
    const p = this.policy;
    if (this.tickEvery === 0) {
      this.references += count;
      return;
    }
    let left = count;
    while (left > 0) {
      const toTick = this.tickEvery - (this.references % this.tickEvery);
      if (left < toTick) {
        this.references += left;
        break;
      }
      this.references += toTick;
      left -= toTick;
      p.tick?.(this, this.references - 1);
      if (left > 0) this.setBits(page, this.bitsOf(page) | A); // the run goes on after the tick: A set again
    }
  }

  /** Pages resident now (the host's count). */
  get residentCount(): number {
    return this.resident;
  }

  testAndClearAccessed(page: number): boolean {
    const b = this.bitsOf(page);
    if ((b & A) === 0) return false;
    this.setBits(page, b & ~A);
    return true;
  }
  isAccessed(page: number): boolean {
    return (this.bitsOf(page) & A) !== 0;
  }
  isDirty(page: number): boolean {
    return (this.bitsOf(page) & D) !== 0;
  }
  isEvictable(page: number): boolean {
    return (this.bitsOf(page) & R) !== 0;
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

  private bitsOf(page: number): number {
    if (page >= 0 && page < DENSE_LIMIT && Number.isInteger(page)) return page < this.bits.length ? this.bits[page]! : 0;
    return this.sparse.get(page) ?? 0;
  }

  private setBits(page: number, b: number): void {
    if (page >= 0 && page < DENSE_LIMIT && Number.isInteger(page)) {
      if (page >= this.bits.length) this.bits = growToIndex(this.bits, page);
      this.bits[page] = b;
    } else if (b === 0) this.sparse.delete(page);
    else this.sparse.set(page, b);
  }
}
