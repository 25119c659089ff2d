// WSClock (Carr and Hennessy): a clock whose pages remember their last use time. At the hand: A
// set → clear it (INVLPG), record now as the last use, move on; A clear and older than the
// working-set window τ → out of the working set: evict it if clean; if dirty, remember it (a real
// kernel would start its write-back and keep going). After a full turn with no clean old page,
// the first dirty old page goes (the kernel writes it back); with none, the least recently used.
import { SwapOptionError } from '../swap-errors';
import type { PageSignals } from '../replacement-policy';
import { RingPolicy } from './ring-policy';
import { show } from '../../show-value';

/** WSClock with working-set window `tauNs` (simulated nanoseconds). */
export class WsClockPolicy extends RingPolicy {
  readonly name = 'ws-clock';
  /** The working-set window τ in simulated nanoseconds. */
  readonly tauNs: number;

  /** @param tauNs working-set window (> 0, default 1 ms) @throws SwapOptionError */
  constructor(tauNs = 1_000_000) {
    super();
    if (!Number.isFinite(tauNs) || tauNs <= 0) throw new SwapOptionError(`WSClock window ${show(tauNs)} ns must be a positive number`);
    this.tauNs = tauNs;
  }

  protected override admitted(slot: number, nowNs: number): void {
    this.ring.value[slot] = nowNs;
  }

  /** Refreshes last-use times from A bits (clearing them). */
  tick(signals: PageSignals, nowNs: number): void {
    const ring = this.ring;
    let s = ring.head;
    for (let n = ring.size; n > 0; n--, s = ring.after(s)) if (signals.testAndClearAccessed(ring.pageAt(s))) ring.value[s] = nowNs;
  }

  selectVictim(signals: PageSignals, nowNs: number): number {
    const ring = this.ring;
    let dirtyOld = -1;
    let oldest = -1;
    let oldestTime = Infinity;
    for (let n = ring.size; n > 0; n--) {
      const s = ring.head;
      const page = ring.pageAt(s);
      ring.head = ring.after(s);
      if (!signals.isEvictable(page)) continue;
      if (signals.testAndClearAccessed(page)) ring.value[s] = nowNs;
      else if (nowNs - ring.value[s]! > this.tauNs) {
        if (!signals.isDirty(page)) return page;
        if (dirtyOld < 0) dirtyOld = page;
      }
      if (ring.value[s]! < oldestTime) {
        oldestTime = ring.value[s]!;
        oldest = page;
      }
    }
    return dirtyOld >= 0 ? dirtyOld : oldest;
  }
}
