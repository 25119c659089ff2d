// OPT (Belady's MIN): evict the page whose next use lies farthest in the future. No kernel knows
// the future; given a RECORDED access sequence it is the lower bound on faults every real policy
// is measured against. The host reports each access (`needsEveryAccess`) so OPT follows the
// sequence; a divergence (an access that is not the recorded one) is an OptSequenceError.
import { OptSequenceError } from '../swap-errors';
import type { PageSignals } from '../replacement-policy';
import { RingPolicy } from './ring-policy';

/** Belady's optimal policy over a recorded sequence of page keys (`PageSignals.pageKey`). */
export class OptPolicy extends RingPolicy {
  readonly name = 'opt';
  readonly needsEveryAccess = true;
  private readonly sequence: Float64Array;
  /** For position i, the next position holding the same key (sequence length: never). */
  private readonly nextSame: Int32Array;
  /** key → the first position of that key at or after the cursor (once the key was seen). */
  private readonly nextUse = new Map<number, number>();
  /** key → first position in the sequence. */
  private readonly firstUse = new Map<number, number>();
  /** Accesses followed so far. */
  cursor = 0;
  private readonly keys: number[] = [];

  /** @param sequence the recorded page keys, in access order */
  constructor(sequence: ArrayLike<number>) {
    super();
    const n = sequence.length;
    this.sequence = Float64Array.from(sequence);
    this.nextSame = new Int32Array(n);
    const last = new Map<number, number>();
    for (let i = n - 1; i >= 0; i--) {
      const k = this.sequence[i]!;
      this.nextSame[i] = last.get(k) ?? n;
      last.set(k, i);
    }
    for (const [k, i] of last) this.firstUse.set(k, i);
  }

  /** Follows the sequence. @throws OptSequenceError when the access is not the recorded one */
  onAccess(page: number, signals: PageSignals, _nowNs: number): void {
    const i = this.cursor;
    const key = signals.accessKey(page);
    if (i >= this.sequence.length) throw new OptSequenceError(`OPT: access ${i} (key ${key}) is beyond the recorded sequence of ${this.sequence.length}`);
    if (this.sequence[i] !== key) throw new OptSequenceError(`OPT: access ${i} is key ${key}, the recorded sequence says ${this.sequence[i]!}`);
    this.nextUse.set(key, this.nextSame[i]!);
    this.cursor = i + 1;
  }

  /** The resident evictable page used farthest ahead (never again: farthest of all); ties: oldest. */
  selectVictim(signals: PageSignals, _nowNs: number): number {
    const ring = this.ring;
    let best = -1;
    let bestNext = -1;
    let s = ring.head;
    for (let n = ring.size; n > 0; n--, s = ring.after(s)) {
      const page = ring.pageAt(s);
      if (!signals.isEvictable(page)) continue;
      // A frame shared copy-on-write is needed at the first next use under any of its keys.
      const keys = this.keys;
      keys.length = 0;
      signals.pageKeys(page, keys);
      let next = Infinity;
      for (const k of keys) next = Math.min(next, this.nextUseOf(k));
      if (next > bestNext) {
        best = page;
        bestNext = next;
      }
    }
    return best;
  }

  private nextUseOf(key: number): number {
    const known = this.nextUse.get(key);
    if (known !== undefined) return known;
    // Resident but never accessed through the sequence yet: its first recorded use.
    const first = this.firstUse.get(key);
    if (first === undefined) return this.sequence.length;
    if (first >= this.cursor) return first;
    let i = first;
    while (i < this.cursor) i = this.nextSame[i]!;
    return i;
  }
}
