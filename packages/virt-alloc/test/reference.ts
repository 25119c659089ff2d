// A brute-force reference: one slot per granule holding 0 (free) or the id of the in-use block
// covering it. Obviously right, O(range) per operation, only for tests.
import type { BlockInfo } from '../src/index';

export class Reference {
  readonly owner: number[];
  readonly tags = new Map<number, string | undefined>();
  private nextId = 1;

  constructor(
    readonly start: number,
    readonly granularityBytes: number,
    readonly granuleCount: number,
  ) {
    this.owner = new Array<number>(granuleCount).fill(0);
  }

  addrOf(i: number): number {
    return this.start + i * this.granularityBytes;
  }

  indexOf(addr: number): number {
    return (addr - this.start) / this.granularityBytes;
  }

  allFree(i: number, n: number): boolean {
    for (let k = i; k < i + n; k++) if (this.owner[k] !== 0) return false;
    return true;
  }

  allUsed(i: number, n: number): boolean {
    for (let k = i; k < i + n; k++) if (this.owner[k] === 0) return false;
    return true;
  }

  /** Lowest address a (multiple of alignBytes, in [lo, hi)) with n free granules from a; or null. */
  lowestFit(n: number, alignBytes: number, lo: number, hi: number): number | null {
    const g = this.granularityBytes;
    let a = Math.ceil(lo / alignBytes) * alignBytes;
    for (; a + n * g <= hi; a += alignBytes) {
      if (this.allFree(this.indexOf(a), n)) return a;
    }
    return null;
  }

  mark(i: number, n: number, tag: string | undefined): void {
    const id = this.nextId++;
    this.tags.set(id, tag);
    for (let k = i; k < i + n; k++) this.owner[k] = id;
  }

  /** Frees granules [i, i+n), which must all be in use; a block cut in two gets a new id for its tail. */
  release(i: number, n: number): void {
    const before = i > 0 ? this.owner[i - 1]! : 0;
    for (let k = i; k < i + n; k++) this.owner[k] = 0;
    const after = this.owner[i + n] ?? 0;
    if (after !== 0 && after === before) {
      const id = this.nextId++;
      this.tags.set(id, this.tags.get(before));
      for (let k = i + n; k < this.granuleCount && this.owner[k] === before; k++) this.owner[k] = id;
    }
  }

  /** Block starting index of the block covering granule i. */
  blockStart(i: number): number {
    const id = this.owner[i];
    while (i > 0 && this.owner[i - 1] === id) i--;
    return i;
  }

  blockEnd(i: number): number {
    const id = this.owner[i];
    while (i + 1 < this.granuleCount && this.owner[i + 1] === id) i++;
    return i + 1;
  }

  /** Start indexes of in-use blocks. */
  usedStarts(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.granuleCount; i++) {
      if (this.owner[i] !== 0 && (i === 0 || this.owner[i - 1] !== this.owner[i])) out.push(i);
    }
    return out;
  }

  blocks(): BlockInfo[] {
    const out: BlockInfo[] = [];
    for (let i = 0; i < this.granuleCount; ) {
      const j = this.blockEnd(i);
      const id = this.owner[i]!;
      out.push({ start: this.addrOf(i), end: this.addrOf(j), used: id !== 0, tag: id === 0 ? undefined : this.tags.get(id) });
      i = j;
    }
    return out;
  }
}
