// Aging (Tanenbaum's software approximation of LRU): each page has an n-bit counter; at every
// tick the counter shifts right and the page's Accessed bit (read and cleared, with INVLPG) enters
// at the top. The victim has the smallest counter: least used over the last n ticks.
import { SwapOptionError } from '../swap-errors';
import type { PageSignals } from '../replacement-policy';
import { RingPolicy } from './ring-policy';
import { show } from '../../show-value';

/** n-bit aging counters shifted each tick with A. */
export class AgingPolicy extends RingPolicy {
  readonly name = 'aging';
  /** Counter width. */
  readonly bits: number;
  private readonly top: number;

  /** @param bits counter width, 1..32 (default 8) @throws SwapOptionError */
  constructor(bits = 8) {
    super();
    if (!Number.isInteger(bits) || bits < 1 || bits > 32) throw new SwapOptionError(`aging counter bits ${show(bits)} must be an integer in 1..32`);
    this.bits = bits;
    this.top = 2 ** (bits - 1);
  }

  /** A new page counts as just referenced (its fault was a use). */
  protected override admitted(slot: number, _nowNs: number): void {
    this.ring.value[slot] = this.top;
  }

  /** Shifts every counter right, A entering at the top (A cleared). */
  tick(signals: PageSignals, _nowNs: number): void {
    const ring = this.ring;
    let s = ring.head;
    for (let n = ring.size; n > 0; n--, s = ring.after(s)) {
      const v = Math.floor(ring.value[s]! / 2);
      ring.value[s] = signals.testAndClearAccessed(ring.pageAt(s)) ? v + this.top : v;
    }
  }

  /** Smallest counter; ties go to the oldest admitted. */
  selectVictim(signals: PageSignals, _nowNs: number): number {
    const ring = this.ring;
    let best = -1;
    let bestValue = Infinity;
    let s = ring.head;
    for (let n = ring.size; n > 0; n--, s = ring.after(s)) {
      const page = ring.pageAt(s);
      if (ring.value[s]! < bestValue && signals.isEvictable(page)) {
        best = page;
        bestValue = ring.value[s]!;
      }
    }
    return best;
  }

  /** The counter of a page (for views and tests), or -1. */
  counter(page: number): number {
    const s = this.ring.slot(page);
    return s < 0 ? -1 : this.ring.value[s]!;
  }
}
