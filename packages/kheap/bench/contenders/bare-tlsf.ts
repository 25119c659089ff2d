// Yardstick, not a peer: the same TLSF as src/tlsf.ts (24 x 32 lists, two bitmap levels, 16-byte
// headers in the memory, immediate coalescing, 128 KiB arenas) with everything kheap adds on
// purpose taken out: no check word, no request size, no page-ownership lookup, no double-free or
// foreign-pointer check, no counters, no slab caches (every size goes to the TLSF), no spare
// arena. It shows how fast a TLSF written in JavaScript over an Int32Array runs on issue 19's
// trace, so the table separates what the language costs from what kheap's checks cost.
// Same protocol as contenders/kheap.ts (offset-heap-runner.ts: warm-up replay, 3 timed replays on
// fresh heaps over one pre-touched buffer, median by CPU time, pointers above 2^31 as kheap's).
import { runOffsetHeap } from './offset-heap-runner';

const ARENA_BYTES = 128 * 1024;
const BUFFER_BYTES = 64 * 1024 * 1024;
const words = new Int32Array(BUFFER_BYTES / 4);
words.fill(1); // touched once, as kheap's buffer

/** Header: +0 previous block (-1 first), +4 size | 1 when free; free blocks: +8 next free, +12 previous free. */
class BareTlsf {
  private readonly w = words;
  private readonly heads = new Int32Array(24 * 32).fill(-1);
  private readonly slMap = new Int32Array(24);
  private flMap = 0;
  private top = 0;
  private fl = 0;
  private sl = 0;

  private mapping(size: number): void {
    if (size < 512) {
      this.fl = 0;
      this.sl = size >>> 4;
    } else {
      const f = 31 - Math.clz32(size);
      this.sl = (size >>> (f - 5)) ^ 32;
      this.fl = f - 8;
    }
  }

  private insert(b: number, size: number): void {
    const w = this.w;
    this.mapping(size);
    const i = this.fl * 32 + this.sl;
    const h = this.heads[i]!;
    w[(b + 8) >> 2] = h;
    w[(b + 12) >> 2] = -1;
    if (h !== -1) w[(h + 12) >> 2] = b;
    this.heads[i] = b;
    this.flMap |= 1 << this.fl;
    this.slMap[this.fl]! |= 1 << this.sl;
  }

  private remove(b: number, size: number): void {
    const w = this.w;
    const n = w[(b + 8) >> 2]!;
    const p = w[(b + 12) >> 2]!;
    if (n !== -1) w[(n + 12) >> 2] = p;
    if (p !== -1) {
      w[(p + 8) >> 2] = n;
      return;
    }
    this.mapping(size);
    const fl = this.fl;
    this.heads[fl * 32 + this.sl] = n;
    if (n === -1) {
      const sm = this.slMap[fl]! & ~(1 << this.sl);
      this.slMap[fl] = sm;
      if (sm === 0) this.flMap &= ~(1 << fl);
    }
  }

  private grow(): void {
    const a = this.top;
    this.top += ARENA_BYTES;
    const usable = ARENA_BYTES - 16;
    this.w[a >> 2] = -1;
    this.w[(a + 4) >> 2] = usable | 1;
    this.w[(a + usable) >> 2] = a; // sentinel: a used block of size 0
    this.w[(a + usable + 4) >> 2] = 0;
    this.insert(a, usable);
  }

  alloc(req: number): number {
    let need = (req + 16 + 15) & ~15;
    if (need < 32) need = 32;
    const search = need >= 512 ? need + (1 << (31 - Math.clz32(need) - 5)) - 1 : need;
    this.mapping(search);
    let fl = this.fl;
    let sm = this.slMap[fl]! & (-1 << this.sl);
    if (sm === 0) {
      const fm = this.flMap & (-1 << (fl + 1));
      if (fm === 0) {
        this.grow();
        return this.alloc(req);
      }
      fl = 31 - Math.clz32(fm & -fm);
      sm = this.slMap[fl]!;
    }
    const sl = 31 - Math.clz32(sm & -sm);
    const w = this.w;
    const i = fl * 32 + sl;
    const b = this.heads[i]!;
    const n = w[(b + 8) >> 2]!;
    this.heads[i] = n;
    if (n !== -1) w[(n + 12) >> 2] = -1;
    else {
      const m = this.slMap[fl]! & ~(1 << sl);
      this.slMap[fl] = m;
      if (m === 0) this.flMap &= ~(1 << fl);
    }
    let size = w[(b + 4) >> 2]! & ~15;
    const rest = size - need;
    if (rest >= 32) {
      const t = b + need;
      w[t >> 2] = b;
      w[(t + 4) >> 2] = rest | 1;
      this.insert(t, rest);
      w[(t + rest) >> 2] = t;
      size = need;
    }
    w[(b + 4) >> 2] = size;
    return b + 16;
  }

  free(user: number): void {
    const w = this.w;
    let b = user - 16;
    let size = w[(b + 4) >> 2]! & ~15;
    const next = b + size;
    const ns = w[(next + 4) >> 2]!;
    if ((ns & 1) !== 0) {
      this.remove(next, ns & ~15);
      size += ns & ~15;
    }
    const prev = w[b >> 2]!;
    if (prev !== -1) {
      const ps = w[(prev + 4) >> 2]!;
      if ((ps & 1) !== 0) {
        this.remove(prev, ps & ~15);
        size += ps & ~15;
        b = prev;
      }
    }
    w[(b + size) >> 2] = b;
    w[(b + 4) >> 2] = size | 1;
    this.insert(b, size);
  }
}

runOffsetHeap(() => new BareTlsf());
