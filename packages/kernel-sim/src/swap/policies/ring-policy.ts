// The part every list-based policy shares: a PageRing of the resident pages in admission order,
// and the bookkeeping of the ReplacementPolicy contract around it.
import type { PageSignals, ReplacementPolicy } from '../replacement-policy';
import { PageRing } from './page-ring';

/** Base of the policies that keep one ring of resident pages (FIFO, Clock, LRU, Aging, WSClock, OPT). */
export abstract class RingPolicy implements ReplacementPolicy {
  abstract readonly name: string;
  /** Resident pages, oldest at `head` (for the clocks, `head` is the hand). */
  protected readonly ring = new PageRing();

  get residentCount(): number {
    return this.ring.size;
  }

  admit(page: number, nowNs: number): void {
    const s = this.ring.push(page);
    if (s >= 0) this.admitted(s, nowNs);
  }

  remove(page: number): void {
    this.ring.delete(page);
  }

  has(page: number): boolean {
    return this.ring.has(page);
  }

  reserve(pageCount: number): void {
    this.ring.reserve(pageCount);
  }

  abstract selectVictim(signals: PageSignals, nowNs: number): number;

  checkInvariants(): void {
    this.ring.checkInvariants(this.name);
  }

  /** A page was just added at `slot` (set its ring value here). */
  protected admitted(_slot: number, _nowNs: number): void {}
}
