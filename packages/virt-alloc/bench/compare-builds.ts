// Two builds of the package in one process, on issue 19's mix (bench/mix.ts: 100,000 live blocks,
// alloc lowest fit / free a random live block, half and half): each build gets its own allocator and
// the same operations; timed segments of 250,000 operations alternate A B, B A, A B ... so both see
// the same machine, and the figure is the median of the per-pair ratios B/A of CPU time
// (process.cpuUsage). On a shared machine this resolves a few per cent where separate processes
// cannot (an identical build against itself read 0.97-1.03). It checks that both builds hand out
// the same addresses.
//   node --import tsx bench/compare-builds.ts <A/index.js> <B/index.js> [--units] [--segs=16]
import { importBuild } from '../../../test-support/import-build';
import { mulberry32 } from '../../../test-support/mulberry32';

import type * as VirtModule from '@kmem/virt-alloc';

const [pathA, pathB] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (pathA === undefined || pathB === undefined) throw new Error('usage: compare-builds.ts <A/index.js> <B/index.js> [--units] [--segs=N]');
const sized = !process.argv.includes('--units');
const segs = Number(process.argv.find((a) => a.startsWith('--segs='))?.slice(7) ?? 16);
const LIVE = 100_000;
const SEGMENT = 250_000;
const PAGE = 4096;

interface Side {
  va: VirtModule.VirtualAllocator;
  live: Float64Array;
  count: number;
}
const load = (p: string): Promise<typeof VirtModule> => importBuild<typeof VirtModule>(p);
const builds = [await load(pathA), await load(pathB)];
const sides: Side[] = builds.map((m) => ({ va: new m.VirtualAllocator({ start: 0, end: 2 ** 47 }), live: new Float64Array(LIVE * 4), count: 0 }));

const r = mulberry32(sized ? 7 : 5);
const pagesOf = (): number => (sized ? 1 + Math.floor(r() * 256) : 1);
/** Per operation: 0 = free (of the live block at fraction `pick`), else pages to allocate. */
function ops(n: number): { pages: Int32Array; pick: Float64Array } {
  const pages = new Int32Array(n);
  const pick = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    pages[i] = r() < 0.5 ? pagesOf() : 0;
    pick[i] = r();
  }
  return { pages, pick };
}

function run(s: Side, o: { pages: Int32Array; pick: Float64Array }): void {
  const { va, live } = s;
  let count = s.count;
  for (let i = 0; i < o.pages.length; i++) {
    const n = o.pages[i]!;
    if (n !== 0 || count === 0) {
      const a = va.alloc((n === 0 ? 1 : n) * PAGE);
      if (a === null) throw new Error('space exhausted');
      live[count++] = a;
    } else {
      const k = Math.floor(o.pick[i]! * count);
      va.free(live[k]!);
      live[k] = live[--count]!;
    }
  }
  s.count = count;
}

const first = Array.from({ length: LIVE }, pagesOf);
for (const s of sides) for (const n of first) s.live[s.count++] = s.va.alloc(n * PAGE)!;
const churn = ops(2 * LIVE);
for (const s of sides) run(s, churn);

const rates: number[][] = [[], []];
for (let g = 0; g <= segs; g++) {
  const o = ops(SEGMENT);
  for (const b of g % 2 === 0 ? [0, 1] : [1, 0]) {
    const c0 = process.cpuUsage();
    run(sides[b]!, o);
    const c = process.cpuUsage(c0);
    if (g > 0) rates[b]!.push(SEGMENT / ((c.user + c.system) / 1e6)); // segment 0 warms up
  }
}
const [a, b] = sides as [Side, Side];
if (a.count !== b.count || a.live.some((x, i) => x !== b.live[i])) throw new Error('the two builds handed out different addresses');

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};
const ratios = rates[1]!.map((x, i) => x / rates[0]![i]!);
const m = (xs: number[]): string => `${(median(xs) / 1e6).toFixed(2)} M`;
console.log(`${sized ? 'sized' : 'units'} mix, ${segs} segment pairs, ops per CPU-second: A ${m(rates[0]!)}, B ${m(rates[1]!)}; B/A median ${median(ratios).toFixed(3)} (${ratios.map((x) => x.toFixed(2)).join(' ')})`);
