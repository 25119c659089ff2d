// Clock (second chance): pages on a circle, a hand at the oldest. At the hand, a page whose
// Accessed bit is set gets a second chance — the bit is cleared in its PTE(s) AND the TLB entry
// invalidated (INVLPG), or the CPU keeps using the cached translation, never walks again, never
// sets A again (SDM 4.8, 4.10.4), and the page looks idle forever. A page found with A = 0 is
// the victim. New pages join just behind the hand.
import type { PageSignals } from '../replacement-policy';
import { RingPolicy } from './ring-policy';

/** Second-chance clock over the hardware Accessed bit. */
export class ClockPolicy extends RingPolicy {
  readonly name: string = 'clock';

  selectVictim(signals: PageSignals, _nowNs: number): number {
    const ring = this.ring;
    // Two turns suffice: the first clears every A bit it passes.
    for (let n = 2 * ring.size; n > 0; n--) {
      const s = ring.head;
      const page = ring.pageAt(s);
      ring.head = ring.after(s);
      if (!signals.isEvictable(page)) continue;
      if (signals.testAndClearAccessed(page)) continue;
      return page;
    }
    return -1;
  }
}
