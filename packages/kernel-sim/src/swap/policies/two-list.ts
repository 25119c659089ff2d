// Linux-like two lists (mm/vmscan.c in outline): new pages enter the INACTIVE list; reclaim scans
// the inactive list from its oldest end. A page whose PTEs were referenced (A read and cleared,
// with INVLPG, as folio_referenced does) is marked PG_referenced and kept for another trip; one
// referenced again while marked is ACTIVATED (moved to the active list). An unreferenced page is
// reclaimed. When the inactive list is smaller than the active one, the oldest active pages are
// deactivated (their A bits cleared), as shrink_active_list keeps the lists balanced.
import { KernelInvariantError } from '../../kernel-errors';
import type { PageSignals, ReplacementPolicy } from '../replacement-policy';
import { PageRing } from './page-ring';

const REFERENCED = 1;

/** Active / inactive lists with A-bit promotion (Linux's LRU lists, simplified). */
export class TwoListPolicy implements ReplacementPolicy {
  readonly name = 'two-list';
  /** Pages recently used more than once. */
  readonly active = new PageRing();
  /** Candidates for reclaim (new pages start here). */
  readonly inactive = new PageRing();

  get residentCount(): number {
    return this.active.size + this.inactive.size;
  }

  admit(page: number, _nowNs: number): void {
    if (!this.active.has(page)) this.inactive.push(page);
  }

  remove(page: number): void {
    if (this.inactive.delete(page) < 0) this.active.delete(page);
  }

  has(page: number): boolean {
    return this.inactive.has(page) || this.active.has(page);
  }

  selectVictim(signals: PageSignals, _nowNs: number): number {
    const inactive = this.inactive;
    const active = this.active;
    for (let guard = 4 * this.residentCount + 4; guard > 0; guard--) {
      if (inactive.size <= active.size || inactive.size === 0) {
        if (active.size === 0) return -1;
        // shrink_active_list: the oldest active page goes to the inactive list, its A cleared.
        const s = active.head;
        const page = active.pageAt(s);
        signals.testAndClearAccessed(page);
        active.delete(page);
        inactive.push(page);
        continue;
      }
      const s = inactive.head;
      const page = inactive.pageAt(s);
      if (!signals.isEvictable(page)) {
        inactive.head = inactive.after(s);
        continue;
      }
      if (signals.testAndClearAccessed(page)) {
        if ((inactive.flag[s]! & REFERENCED) !== 0) {
          inactive.delete(page);
          const a = active.push(page);
          active.flag[a] = REFERENCED;
        } else {
          inactive.flag[s] = REFERENCED;
          inactive.head = inactive.after(s);
        }
        continue;
      }
      inactive.head = inactive.after(s);
      return page;
    }
    // Everything pinned or referenced at every look: the oldest evictable inactive page.
    let s = inactive.head;
    for (let n = inactive.size; n > 0; n--, s = inactive.after(s)) if (signals.isEvictable(inactive.pageAt(s))) return inactive.pageAt(s);
    s = active.head;
    for (let n = active.size; n > 0; n--, s = active.after(s)) if (signals.isEvictable(active.pageAt(s))) return active.pageAt(s);
    return -1;
  }

  checkInvariants(): void {
    this.active.checkInvariants('two-list active');
    this.inactive.checkInvariants('two-list inactive');
    let s = this.active.head;
    for (let n = this.active.size; n > 0; n--, s = this.active.after(s)) {
      if (this.inactive.has(this.active.pageAt(s))) throw new KernelInvariantError(`two-list: page ${this.active.pageAt(s)} on both lists`);
    }
  }
}
