// Where the sized mix's time goes: records issue 19's mix (bench/mix.ts) as run by VirtualAllocator
// (each alloc's range, each free's range), then replays the same operations on the package's two
// indexes alone and together, without validation or tags: the free index (FreeIndex: first fit,
// carve, insert with merging), the in-use index (PageRadix: insert, remove) and both. Ops per
// CPU-second of the last 1,000,000 operations (the first 300,000 build the state untimed).
//   node --import tsx bench/components.ts [--units] [--rounds=3] [--only=<name>,<name>]
// For an A/B of an index, run it in a checkout of each version, alternating.
import { VirtualAllocator } from '../src/index';
import { FreeIndex } from '../src/free-index';
import { PageRadix } from '../src/page-radix';
import { BlockTree } from './block-tree';
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

function freeOnly(): number {
  const fi = new FreeIndex(0, 2 ** 47);
  return rate((lo, hi) => {
    for (let i = lo; i < hi; i++) {
      if (isAlloc[i] === 1) fi.carve(fi.findAnywhere(to[i]! - from[i]!), from[i]!, to[i]!);
      else fi.insert(from[i]!, to[i]!);
    }
  });
}

function usedOnly(): number {
  const used = new PageRadix();
  return rate((lo, hi) => {
    for (let i = lo; i < hi; i++) {
      if (isAlloc[i] === 1) used.insert(from[i]! / PAGE, to[i]!, 0);
      else used.remove(from[i]! / PAGE);
    }
  });
}

function both(): number {
  const fi = new FreeIndex(0, 2 ** 47);
  const used = new PageRadix();
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

// Every block, free and in use, in one B+-tree (bench/block-tree.ts, a prototype): one leaf per operation.
function replayTree(t: BlockTree, lo: number, hi: number): void {
  for (let i = lo; i < hi; i++) {
    if (isAlloc[i] === 1) {
      const k = t.findAnywhere(to[i]! - from[i]!);
      t.carve(k, from[i]!, to[i]!, 0);
    } else t.freeBlock(from[i]!);
  }
}
function oneTree(): number {
  const t = new BlockTree(0, 2 ** 47);
  return rate((lo, hi) => replayTree(t, lo, hi));
}
{
  // The tree gives VirtualAllocator's answers: every alloc's address, every free's end.
  const t = new BlockTree(0, 2 ** 47);
  for (let i = 0; i < n; i++) {
    if (isAlloc[i] === 1) {
      const k = t.findAnywhere(to[i]! - from[i]!);
      if (t.startOf(k) !== from[i]) throw new Error(`op ${i}: block tree allocates at ${t.startOf(k)}, VirtualAllocator at ${from[i]}`);
      t.carve(k, from[i]!, to[i]!, 0);
    } else if (t.freeBlock(from[i]!) !== to[i]) throw new Error(`op ${i}: block tree frees another end`);
    if (i % 200_000 === 0 || i === n - 1) {
      t.check(
        (m) => {
          throw new Error(m);
        },
        () => {},
      );
    }
  }
}

const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const runs: Record<string, number[]> = { 'free index': [], 'in-use index': [], 'both': [], 'one block tree': [] };
const fns: Record<string, () => number> = { 'free index': freeOnly, 'in-use index': usedOnly, 'both': both, 'one block tree': oneTree };
for (const name of Object.keys(runs)) if (only !== undefined && !only.split(',').includes(name)) delete runs[name];
for (let r = 0; r < rounds; r++) for (const name of Object.keys(runs)) runs[name]!.push(fns[name]!());
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1]!;
console.log(`${sized ? 'sized' : 'units'} mix replayed (${n - WARM} timed ops), M ops per CPU-second, median of ${rounds}:`);
for (const [name, xs] of Object.entries(runs)) console.log(`  ${name}: ${(median(xs) / 1e6).toFixed(2)} (${xs.map((x) => (x / 1e6).toFixed(2)).join(', ')})`);
