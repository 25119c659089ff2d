// Where the sized mix's time goes: records issue 19's mix (bench/mix.ts) as run by VirtualAllocator
// (each alloc's range, each free's range), then replays the same operations on the package's two
// indexes alone and together, without validation or tags: the free index (FreeIndex: first fit,
// carve, insert with merging), the in-use index (PageRadix: insert, remove) and both; and the same
// with the free index replaced by a B+-tree of free intervals (bench/free-tree.ts, a prototype).
// Ops per CPU-second of the last 1,000,000 operations (the first 300,000 build the state untimed).
//   node --import tsx bench/components.ts [--units] [--rounds=3] [--only=<name>,<name>]
// The one-tree prototype (every block in one B+-tree) is bench/block-tree.ts at commit 49e86c9.
// For an A/B of an index, run it in a checkout of each version, alternating.
import { VirtualAllocator } from '../src/index';
import { FreeIndex } from '../src/free-index';
import { PageRadix } from '../src/page-radix';
import { FreeTree } from './free-tree';
import { runMix } from './mix';

const sized = !process.argv.includes('--units');
const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 3);
const PAGE = 4096;
const CAP = 1_400_000;
const isAlloc = new Uint8Array(CAP);
const from = new Float64Array(CAP);
const to = new Float64Array(CAP);
let n = 0;
runMix(() => {
  const va = new VirtualAllocator({ start: 0, end: 2 ** 47 });
  return {
    alloc(pageCount) {
      const a = va.alloc(pageCount * PAGE)!;
      isAlloc[n] = 1;
      from[n] = a;
      to[n++] = a + pageCount * PAGE;
      return a;
    },
    free(start) {
      const e = start + va.free(start);
      from[n] = start;
      to[n++] = e;
    },
  };
}, sized);

const WARM = 300_000;
function rate(replay: (lo: number, hi: number) => void): number {
  replay(0, WARM);
  const c0 = process.cpuUsage();
  replay(WARM, n);
  const c = process.cpuUsage(c0);
  return (n - WARM) / ((c.user + c.system) / 1e6);
}

interface Free {
  findAnywhere(size: number): number;
  carve(k: number, a: number, b: number): void;
  insert(a: number, e: number): void;
}
const makeFree = (tree: boolean): Free => (tree ? new FreeTree(0, 2 ** 47) : new FreeIndex(0, 2 ** 47));

function freeOnly(tree: boolean): number {
  const fi = makeFree(tree);
  return rate((lo, hi) => {
    for (let i = lo; i < hi; i++) {
      if (isAlloc[i] === 1) fi.carve(fi.findAnywhere(to[i]! - from[i]!), from[i]!, to[i]!);
      else fi.insert(from[i]!, to[i]!);
    }
  });
}

function usedOnly(): number {
  const used = new PageRadix(PAGE);
  return rate((lo, hi) => {
    for (let i = lo; i < hi; i++) {
      if (isAlloc[i] === 1) used.insert(from[i]! / PAGE, to[i]!, 0);
      else used.remove(from[i]! / PAGE);
    }
  });
}

function both(tree: boolean): number {
  const fi = makeFree(tree);
  const used = new PageRadix(PAGE);
  return rate((lo, hi) => {
    for (let i = lo; i < hi; i++) {
      if (isAlloc[i] === 1) {
        fi.carve(fi.findAnywhere(to[i]! - from[i]!), from[i]!, to[i]!);
        used.insert(from[i]! / PAGE, to[i]!, 0);
      } else {
        used.remove(from[i]! / PAGE);
        fi.insert(from[i]!, to[i]!);
      }
    }
  });
}

{
  // The free tree gives FreeIndex's answers on the whole recording (every alloc's address).
  const t = new FreeTree(0, 2 ** 47);
  for (let i = 0; i < n; i++) {
    if (isAlloc[i] === 1) {
      const k = t.findAnywhere(to[i]! - from[i]!);
      if (t.startOf(k) !== from[i]) throw new Error(`op ${i}: the free tree allocates at ${t.startOf(k)}, VirtualAllocator at ${from[i]}`);
      t.carve(k, from[i]!, to[i]!);
    } else t.insert(from[i]!, to[i]!);
  }
  t.check((m) => {
    throw new Error(m);
  }, () => {});
}

const fns: Record<string, () => number> = {
  'free index': () => freeOnly(false),
  'free tree': () => freeOnly(true),
  'in-use index': usedOnly,
  both: () => both(false),
  'both, free tree': () => both(true),
};
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const runs: Record<string, number[]> = {};
for (const name of Object.keys(fns)) if (only === undefined || only.includes(name)) runs[name] = [];
for (let r = 0; r < rounds; r++) for (const name of Object.keys(runs)) runs[name]!.push(fns[name]!());
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1]!;
console.log(`${sized ? 'sized' : 'units'} mix replayed (${n - WARM} timed ops), M ops per CPU-second, median of ${rounds}:`);
for (const [name, xs] of Object.entries(runs)) console.log(`  ${name}: ${(median(xs) / 1e6).toFixed(2)} (${xs.map((x) => (x / 1e6).toFixed(2)).join(', ')})`);
