// Exact LRU: evict the page whose last access is the oldest. Hardware records no access times
// (only the Accessed bit, set once per TLB fill), so exact LRU needs the host to report EVERY
// access — `needsEveryAccess`. The kernel does that only in simulation (its `touch` and user
// accesses call `onAccess`); it is the reference the approximations (Clock, Aging) are judged by.
import type { PageSignals } from '../replacement-policy';
import { FifoPolicy } from './fifo';

/** Least recently used, exact (simulation only: it must see every access). */
export class LruPolicy extends FifoPolicy {
  override readonly name = 'lru';
  readonly needsEveryAccess = true;

  /** Moves the page to the most-recent end of the stack. */
  onAccess(page: number, _signals: PageSignals, _nowNs: number): void {
    const s = this.ring.slot(page);
    if (s >= 0) this.ring.moveToTail(s);
  }
}
