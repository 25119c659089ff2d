// Random replacement with a seeded generator (xorshift32): reproducible runs, and the baseline
// every other policy should beat on a workload with locality.
import { KernelInvariantError } from '../../kernel-errors';
import type { PageSignals, ReplacementPolicy } from '../replacement-policy';
import { show } from '../../show-value';

/** A uniformly random evictable resident page, from a seeded xorshift32. */
export class RandomPolicy implements ReplacementPolicy {
  readonly name = 'random';
  private state: number;
  private pages: number[] = [];
  private readonly index = new Map<number, number>();

  /** @param seed any integer (0 is replaced by a fixed non-zero seed) */
  constructor(seed = 1) {
    this.state = seed | 0 || 0x9e37_79b9;
  }

  get residentCount(): number {
    return this.pages.length;
  }

  admit(page: number, _nowNs: number): void {
    if (this.index.has(page)) return;
    this.index.set(page, this.pages.length);
    this.pages.push(page);
  }

  remove(page: number): void {
    const i = this.index.get(page);
    if (i === undefined) return;
    const last = this.pages.pop()!;
    this.index.delete(page);
    if (i < this.pages.length) {
      this.pages[i] = last;
      this.index.set(last, i);
    }
  }

  has(page: number): boolean {
    return this.index.has(page);
  }

  selectVictim(signals: PageSignals, _nowNs: number): number {
    const n = this.pages.length;
    if (n === 0) return -1;
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x;
    const start = (x >>> 0) % n;
    for (let k = 0; k < n; k++) {
      const page = this.pages[(start + k) % n]!;
      if (signals.isEvictable(page)) return page;
    }
    return -1;
  }

  checkInvariants(): void {
    if (this.index.size !== this.pages.length) throw new KernelInvariantError(`random: ${this.index.size} indexed, ${this.pages.length} listed`);
    this.pages.forEach((p, i) => {
      if (this.index.get(p) !== i) throw new KernelInvariantError(`random: page ${p} at ${i} indexed at ${show(this.index.get(p))}`);
    });
  }
}
