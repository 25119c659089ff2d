// The workloads, written once against a small adapter; each implementation runs them in its own
// process (see alloc.bench.ts) so the JIT specialises on one implementation at a time.
// Frames are numbers 0..N-1; frame 0 is in use from the start in every implementation.

/** What a workload needs from an implementation. */
export interface Impl {
  readonly name: string;
  /** A fresh allocator of n frames, all free except frame 0. */
  create(n: number): void;
  /** Lowest free frame, marked used, or -1. */
  alloc(): number;
  free(frame: number): void;
  /** Marks one free frame used (peppering). */
  markUsed(frame: number): void;
  /** Lowest run of n free frames aligned to a frames, ending at or below maxFrame; -1 if none. */
  allocRun(n: number, a: number, maxFrame: number): number;
  freeRun(frame: number, n: number): void;
  /** Builds an allocator from the 64 GiB map below; returns its free frame count (-1: not counted). */
  fromMap(): number;
}

export const N = 16_777_216; // 64 GiB of 4 KiB frames
const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** A 64 GiB machine shaped like QEMU's SeaBIOS maps: EBDA, BIOS, a PCI hole from 3 to 4 GiB. */
export const MAP_64G = [
  { base: 0, lengthBytes: 0x9fc00, kind: 'usable' },
  { base: 0x9fc00, lengthBytes: 0x400, kind: 'reserved' },
  { base: 0xf0000, lengthBytes: 0x10000, kind: 'reserved' },
  { base: MiB, lengthBytes: 3 * GiB - 128 * 1024 - MiB, kind: 'usable' },
  { base: 3 * GiB - 128 * 1024, lengthBytes: 128 * 1024, kind: 'reserved' },
  { base: 0xfffc0000, lengthBytes: 0x40000, kind: 'reserved' },
  { base: 4 * GiB, lengthBytes: 60 * GiB, kind: 'usable' },
  { base: 0xfd00000000, lengthBytes: 0x300000000, kind: 'reserved' },
] as const;

export interface Result {
  name: string;
  /** workload -> [by CPU time, by wall time] */
  figures: Record<string, [number, number]>;
}

let seed = 0x2545f491;
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}

function now(): number {
  return performance.now();
}

/** CPU milliseconds this process has used (user + system). */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Both clocks: the machine is shared (load 8-11 on 2 cores while these were taken), so wall time
 * also counts time spent waiting for a core; CPU time is what the code itself cost.
 */
class Clock {
  private readonly t0 = now();
  private readonly c0 = cpuNow();
  wall(): number {
    return now() - this.t0;
  }
  cpu(): number {
    return cpuNow() - this.c0;
  }
}

/** Ops per second by CPU time and by wall time. */
type Rate = [cpu: number, wall: number];

function rate(ops: number, clock: Clock): Rate {
  return [(ops / clock.cpu()) * 1000, (ops / clock.wall()) * 1000];
}

function best(a: Rate, b: Rate): Rate {
  return [Math.max(a[0], b[0]), Math.max(a[1], b[1])];
}

/**
 * Calls `batch` (which returns how many operations it did) until `budgetMs` of CPU time has
 * passed, after a warm-up of a quarter of that which is not counted (the JIT needs it).
 */
function timed(budgetMs: number, batch: () => number): Rate {
  const warm = new Clock();
  while (warm.cpu() < budgetMs / 4) batch();
  const clock = new Clock();
  let ops = 0;
  while (clock.cpu() < budgetMs) ops += batch();
  return rate(ops, clock);
}

/** Allocate every frame in turn; best of 3 fresh allocators. Frames/s. */
function fill(impl: Impl): Rate {
  let out: Rate = [0, 0];
  for (let r = 0; r < 3; r++) {
    impl.create(N);
    const clock = new Clock();
    let count = 0;
    while (impl.alloc() >= 0) count++;
    const got = rate(count, clock);
    if (count !== N - 1) throw new Error(`${impl.name}: fill got ${count} frames`);
    out = best(out, got);
    if (clock.wall() > 2000) break; // a slow peer: one fill is enough
  }
  return out;
}

/** Start `usedFraction` used at random; free a random used frame, allocate; pairs/s. */
function churn(impl: Impl, usedFraction: number, budgetMs: number, frames = N): Rate {
  const N = frames;
  impl.create(N);
  while (impl.alloc() >= 0);
  const freed = new Uint8Array(N);
  freed[0] = 1; // frame 0 stays in use and is never picked
  const toFree = Math.round(N * (1 - usedFraction));
  for (let k = 0; k < toFree; ) {
    const f = rand() % N;
    if (freed[f] === 0) {
      freed[f] = 1;
      impl.free(f);
      k++;
    }
  }
  const pool = new Int32Array(N - 1 - toFree);
  for (let f = 1, i = 0; f < N; f++) if (freed[f] === 0) pool[i++] = f;
  const len = pool.length;
  return timed(budgetMs, () => {
    for (let k = 0; k < 16384; k++) {
      const i = rand() % len;
      impl.free(pool[i]!);
      const g = impl.alloc();
      if (g < 0) throw new Error(`${impl.name}: churn ran out of memory`);
      pool[i] = g;
    }
    return 16384;
  });
}

/** Runs of 1..32 frames aligned to 1..16 frames below 16 MiB, 64 live at a time (FIFO); allocs/s. */
function smallRuns(impl: Impl, budgetMs: number): Rate {
  impl.create(N);
  const sizes = new Int32Array(4096);
  const aligns = new Int32Array(4096);
  for (let i = 0; i < 4096; i++) {
    sizes[i] = 1 + (rand() % 32);
    aligns[i] = 1 << rand() % 5;
  }
  const limit = (16 * MiB) / 4096;
  const ringStart = new Int32Array(64);
  const ringLen = new Int32Array(64);
  let head = 0;
  let live = 0;
  let i = 0;
  return timed(budgetMs, () => {
    for (let k = 0; k < 1024; k++, i++) {
      if (live === 64) {
        const o = (head + 64 - live) & 63;
        impl.freeRun(ringStart[o]!, ringLen[o]!);
        live--;
      }
      const n = sizes[i & 4095]!;
      const s = impl.allocRun(n, aligns[i & 4095]!, limit);
      if (s < 0) throw new Error(`${impl.name}: small run failed`);
      ringStart[head] = s;
      ringLen[head] = n;
      head = (head + 1) & 63;
      live++;
    }
    return 1024;
  });
}

/**
 * 512-frame runs aligned to 2 MiB while the low blocks fill with long-lived single frames (one
 * used frame at offset 7 of each of the lowest `pct`% of the 32768 blocks). Runs/s per phase.
 */
function hugeRuns(impl: Impl, budgetMs: number): Record<string, Rate> {
  impl.create(N);
  const blocks = N / 512;
  const out: Record<string, Rate> = {};
  let peppered = 1; // block 0 already holds frame 0
  for (const pct of [0, 50, 90, 99]) {
    const upto = Math.floor((blocks * pct) / 100);
    for (; peppered < upto; peppered++) impl.markUsed(peppered * 512 + 7);
    const starts = new Int32Array(8);
    out[`huge2m_${pct}`] = timed(budgetMs, () => {
      for (let k = 0; k < 8; k++) {
        const s = impl.allocRun(512, 512, N);
        if (s < 0) throw new Error(`${impl.name}: 2 MiB run failed at ${pct}%`);
        starts[k] = s;
      }
      for (let k = 0; k < 8; k++) impl.freeRun(starts[k]!, 512);
      return 8;
    });
  }
  return out;
}

/** fromMemoryMap on the 64 GiB map: the first (cold) build and the median of 7, in ms [cpu, wall]. */
function fromMap(impl: Impl): Record<string, Rate> {
  const cpu: number[] = [];
  const wall: number[] = [];
  let free = 0;
  for (let r = 0; r < 8; r++) {
    const clock = new Clock();
    free = impl.fromMap();
    cpu.push(clock.cpu());
    wall.push(clock.wall());
  }
  const median = (xs: number[]): number => xs.slice(1).sort((a, b) => a - b)[3]!;
  return { frommap_cold_ms: [cpu[0]!, wall[0]!], frommap_ms: [median(cpu), median(wall)], frommap_free_frames: [free, free] };
}

export function runAll(impl: Impl, args: readonly string[]): Result {
  const quick = args.includes('--quick');
  const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const want = (key: string): boolean => only === undefined || only.includes(key);
  const budget = quick ? 200 : 1000; // CPU ms per timed workload
  const figures: Record<string, [number, number]> = {};
  if (want('fill')) figures.fill = fill(impl);
  if (want('churn95')) figures.churn95 = churn(impl, 0.95, budget);
  if (want('churn9999')) figures.churn9999 = churn(impl, 0.9999, budget);
  // The same churn on 4 GiB (2^20 frames): a 128 KiB bitmap that stays in cache.
  if (want('churn95_4g')) figures.churn95_4g = churn(impl, 0.95, budget, 2 ** 20);
  if (want('small16m')) figures.small16m = smallRuns(impl, budget);
  if (want('huge2m')) Object.assign(figures, hugeRuns(impl, budget / 2));
  if (want('frommap')) Object.assign(figures, fromMap(impl));
  return { name: impl.name, figures };
}
