// Random alloc/free mix (4 KiB..1 MiB) at 100,000 live blocks: VirtualAllocator vs a plain linked
// list, each in its own process (so one JIT does not blur the other), same seed, same starting state.
//   pnpm --filter @kmem/virt-alloc bench
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LinkedListAllocator } from './linked-list-allocator';
import { buildState, LIVE_BLOCKS, step } from './workload';

interface Result {
  impl: string;
  ops: number;
  /** Operations per wall-clock second. */
  opsPerSec: number;
  /** Operations per second of this process's CPU time: steadier when other processes share the cores. */
  opsPerCpuSec: number;
  blocks: number;
}

/** Times `ops` calls of `f` in wall-clock and CPU time. */
function timed(f: () => number): { ops: number; wallMs: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const ops = f();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ops, wallMs, cpuMs: (c.user + c.system) / 1000 };
}

function runTree(): Result {
  const s = buildState();
  const va = s.va;
  const alloc = (size: number) => va.alloc(size);
  const free = (addr: number) => va.free(addr);
  let best = 0;
  let bestCpu = 0;
  const ops = 1_000_000;
  for (let round = 0; round < 5; round++) {
    const t = timed(() => {
      for (let i = 0; i < ops; i++) step(s, alloc, free);
      return ops;
    });
    best = Math.max(best, ops / (t.wallMs / 1000));
    bestCpu = Math.max(bestCpu, ops / (t.cpuMs / 1000));
  }
  va.checkInvariants();
  return { impl: 'VirtualAllocator (free index + page radix tree)', ops, opsPerSec: best, opsPerCpuSec: bestCpu, blocks: va.stats().blockCount };
}

function runList(): Result {
  const s = buildState(); // same seed: same state and same PRNG position as the tree process
  const list = LinkedListAllocator.fromBlocks(s.va.blocks());
  const blocks = s.va.stats().blockCount;
  const alloc = (size: number) => list.alloc(size, 4096);
  const free = (addr: number) => list.free(addr);
  const budgetMs = 3000;
  const t = timed(() => {
    let ops = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < budgetMs) {
      for (let i = 0; i < 16; i++) step(s, alloc, free);
      ops += 16;
    }
    return ops;
  });
  return {
    impl: 'plain linked list (bench/linked-list-allocator.ts)',
    ops: t.ops,
    opsPerSec: t.ops / (t.wallMs / 1000),
    opsPerCpuSec: t.ops / (t.cpuMs / 1000),
    blocks,
  };
}

const impl = process.argv.find((a) => a.startsWith('--impl='))?.slice(7);
if (impl === 'tree') console.log(JSON.stringify(runTree()));
else if (impl === 'list') console.log(JSON.stringify(runList()));
else {
  const self = fileURLToPath(import.meta.url);
  const run = (which: string): Result => {
    const args = process.argv.slice(2).filter((a) => a.startsWith('--live='));
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, `--impl=${which}`, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${which} bench failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Result;
  };
  const tree = run('tree');
  const list = run('list');
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`alloc/free mix, 4 KiB..1 MiB, ${fmt(LIVE_BLOCKS)} live blocks (~${fmt(tree.blocks)} blocks in the list)`);
  console.log(`  ${''.padEnd(52)} ${'ops/s wall'.padStart(11)} ${'ops/CPU-s'.padStart(11)}`);
  console.log(`  ${tree.impl.padEnd(52)} ${fmt(tree.opsPerSec).padStart(11)} ${fmt(tree.opsPerCpuSec).padStart(11)}  (best of 5 x ${fmt(tree.ops)} ops)`);
  console.log(`  ${list.impl.padEnd(52)} ${fmt(list.opsPerSec).padStart(11)} ${fmt(list.opsPerCpuSec).padStart(11)}  (${fmt(list.ops)} ops in 3 s)`);
  console.log(`  ratio: ${(tree.opsPerSec / list.opsPerSec).toFixed(0)}x wall, ${(tree.opsPerCpuSec / list.opsPerCpuSec).toFixed(0)}x CPU`);
}
