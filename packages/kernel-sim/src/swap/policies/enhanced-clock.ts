// Enhanced clock / NRU: four classes by (Accessed, Dirty) — (0,0) not used, clean: best;
// (0,1) not used but dirty (needs a write-back); (1,0); (1,1). The hand looks for (0,0) without
// touching anything, then for (0,1) clearing A (with INVLPG) as it passes, and repeats: clean
// pages go first, a write-back only when no clean idle page exists.
import type { PageSignals } from '../replacement-policy';
import { ClockPolicy } from './clock';

/** Enhanced second chance (NRU classes by A and D, clean first). */
export class EnhancedClockPolicy extends ClockPolicy {
  override readonly name = 'enhanced-clock';

  override selectVictim(signals: PageSignals, _nowNs: number): number {
    const ring = this.ring;
    for (let round = 0; round < 2; round++) {
      // Pass 1: (A = 0, D = 0), reading only.
      let s = ring.head;
      for (let n = ring.size; n > 0; n--, s = ring.after(s)) {
        const page = ring.pageAt(s);
        if (signals.isEvictable(page) && !signals.isAccessed(page) && !signals.isDirty(page)) {
          ring.head = ring.after(s);
          return page;
        }
      }
      // Pass 2: (A = 0, D = 1), clearing A on the way.
      s = ring.head;
      for (let n = ring.size; n > 0; n--, s = ring.after(s)) {
        const page = ring.pageAt(s);
        if (!signals.isEvictable(page)) continue;
        if (signals.testAndClearAccessed(page)) continue;
        ring.head = ring.after(s);
        return page;
      }
    }
    return -1;
  }
}
