// Speed ceiling probe (not an allocator): per-class LIFO free lists over a bump region, every
// block with a 16-byte header in memory, never returning memory and never reusing a block for
// another size class (8 classes per power of two), so its footprint is unbounded by design and
// every op is the O(1) fast path. It does what kheap checks by default: the page-map lookup, a
// check word tying the header to its offset, a free flag (double free), counters of bytes and
// blocks. It shows how fast ANY design can go whose every op does at least these word accesses
// in JS. Protocol: offset-heap-runner.ts.
import { runOffsetHeap } from './offset-heap-runner';

const BUFFER_BYTES = 64 * 1024 * 1024;
const words = new Int32Array(BUFFER_BYTES / 4);
words.fill(1); // touched once, as kheap's buffer
const G = 8;
const classBlock = new Int32Array(64);
const classOfReq = new Uint8Array(4097);
{
  const sizes: number[] = [];
  for (let n = 0; n <= 4096; n++) {
    const b = (n + 16 + 15) & ~15;
    const f = 31 - Math.clz32(b);
    const step = Math.max(16, (1 << f) / G);
    const s = Math.ceil(b / step) * step;
    let c = sizes.indexOf(s);
    if (c === -1) {
      c = sizes.length;
      sizes.push(s);
    }
    classOfReq[n] = c;
    classBlock[c] = s;
  }
}
/** Out of line, so alloc and free stay small enough to inline into the timed loop. */
function fail(what: string, value: number): never {
  throw new Error(`${what} ${value}`);
}
function checkOf(b: number, w: number): number {
  return Math.imul(b ^ 0x7b1f_5a3d, 0x9e37_79b1) ^ w;
}

/** Header: +4 class << 4 | 1 when free, +8 request, +12 check; free: +16 next in its class list. */
class ClassLists {
  readonly w = words;
  readonly heads = new Int32Array(64).fill(-1);
  readonly info = new Int32Array(BUFFER_BYTES >> 12).fill(2);
  top = 0;
  bytesRequested = 0;
  bytesInUse = 0;
  allocations = 0;

  alloc(n: number): number {
    if ((n | 0) !== n || n < 0 || n > 4096) fail('bad size', n);
    const c = classOfReq[n]!;
    const w = this.w;
    let b = this.heads[c]!;
    if (b !== -1) {
      this.heads[c] = w[(b + 16) >> 2]!;
    } else {
      b = this.top;
      this.top += classBlock[c]!;
    }
    const sw = c << 4;
    w[(b + 4) >> 2] = sw;
    w[(b + 8) >> 2] = n;
    w[(b + 12) >> 2] = checkOf(b, sw);
    this.bytesRequested += n;
    this.bytesInUse += classBlock[c]!;
    this.allocations++;
    return b + 16;
  }

  free(p: number): void {
    const w = this.w;
    const b = p - 16;
    if ((p | 0) !== p || p < 16 || (this.info[p >>> 12]! & 3) !== 2) fail('bad pointer', p);
    const sw = w[(b + 4) >> 2]!;
    if (w[(b + 12) >> 2] !== checkOf(b, sw) || (sw & 1) !== 0) fail('bad or free block', p);
    const c = sw >> 4;
    w[(b + 4) >> 2] = sw | 1;
    w[(b + 12) >> 2] = checkOf(b, sw | 1);
    this.bytesRequested -= w[(b + 8) >> 2]!;
    this.bytesInUse -= classBlock[c]!;
    this.allocations--;
    w[(b + 16) >> 2] = this.heads[c]!;
    this.heads[c] = b;
  }
}

runOffsetHeap(() => new ClassLists());
