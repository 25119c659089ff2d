// FIFO: evict the page resident the longest, whatever its use (the policy of Belady's anomaly).
import type { PageSignals } from '../replacement-policy';
import { RingPolicy } from './ring-policy';

/** First in, first out: the oldest admitted evictable page. Ignores A and D. */
export class FifoPolicy extends RingPolicy {
  readonly name: string = 'fifo';

  selectVictim(signals: PageSignals, _nowNs: number): number {
    const ring = this.ring;
    let s = ring.head;
    for (let n = ring.size; n > 0; n--, s = ring.after(s)) {
      const page = ring.pageAt(s);
      if (signals.isEvictable(page)) return page;
    }
    return -1;
  }
}
