// fast-bitfield (npm, a bit set with summary levels) behind the workload adapter.
// Bits are inverted (true = free): its next(false) descends into pages it has released when they
// became all-zero and throws, so only next(true), which walks its any-one summary, is usable.
// Lowest free: iterator.seek(0).next(true). Runs: first fit, checking a candidate frame by frame
// with further next(true) calls (a caller of its API has no "next used" that works here).
import bitfield from 'fast-bitfield';
import type { Bitfield } from 'fast-bitfield';
import { MAP_64G, runAll } from './workloads';
import type { Impl } from './workloads';

const F = 4096;
let bits: Bitfield = bitfield();
let ite = bits.iterator();
let size = 0;

function make(n: number, free: boolean): void {
  bits = bitfield();
  bits.set(n, true); // a sentinel past the end: fill() does not grow the structure by itself
  if (free) bits.fill(true, 1, n);
  ite = bits.iterator();
  size = n;
}

export const impl: Impl = {
  name: 'fast-bitfield',
  create: (n) => make(n, true),
  alloc() {
    const i = ite.seek(0).next(true);
    if (i < 0 || i >= size) return -1;
    bits.set(i, false);
    return i;
  },
  free(f) {
    bits.set(f, true);
  },
  markUsed(f) {
    bits.set(f, false);
  },
  allocRun(n, a, maxFrame) {
    let c = 0;
    for (;;) {
      const f = ite.seek(c).next(true);
      if (f < 0 || f >= size) return -1;
      const s = Math.ceil(f / a) * a;
      if (s + n > maxFrame) return -1;
      // frames s..s+n-1 free iff next(true) returns them in order
      let expect = s;
      ite.seek(s);
      while (expect < s + n && ite.next(true) === expect) expect++;
      if (expect === s + n) {
        bits.fill(false, s, s + n);
        return s;
      }
      c = expect + 1;
    }
  },
  freeRun(f, n) {
    bits.fill(true, f, f + n);
  },
  fromMap() {
    let top = 0;
    for (const r of MAP_64G) if (r.kind === 'usable') top = Math.max(top, Math.floor((r.base + r.lengthBytes) / F));
    make(top, false);
    for (const r of MAP_64G) if (r.kind === 'usable') bits.fill(true, Math.ceil(r.base / F), Math.floor((r.base + r.lengthBytes) / F));
    for (const r of MAP_64G) {
      if (r.kind !== 'usable') bits.fill(false, Math.floor(r.base / F), Math.min(top, Math.ceil((r.base + r.lengthBytes) / F)));
    }
    bits.set(0, false);
    return -1; // no cheap count: walking 16M bits with its iterator would dwarf the build
  },
};
// Run by alloc.bench.ts; contenders/fast-bitfield.ts imports `impl` for compare.bench.ts.
if (process.argv[1]?.endsWith('impl-fast-bitfield.ts') === true) console.log(JSON.stringify(runAll(impl, process.argv.slice(2))));
