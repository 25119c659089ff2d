// A long memory-access trace, generated deterministically (a recorded workload stand-in) and
// replayed through the CPU in user mode: three processes with hot working sets and cold
// excursions, switching every `burst` accesses, one fork half-way.
import { PROT, type Kernel, type Process } from '@kmem/kernel-sim';
import { xorshift32 } from './xorshift';

const PAGE = 4096;

/** What a replay measured. */
export interface TraceResult {
  readonly accesses: number;
  readonly processes: number;
  readonly burst: number;
  readonly faults: number;
  readonly faultsByResolution: Readonly<Record<string, number>>;
  readonly tlbHits: number;
  readonly tlbMisses: number;
  /** hits / (hits + misses). */
  readonly tlbHitRate: number;
  readonly contextSwitches: number;
  readonly residentPages: number;
  readonly freeFramesBefore: number;
  readonly freeFramesAfter: number;
}

/** One access of a trace: process slot, page index in its buffer, byte offset, write or read. */
export interface TraceAccess {
  readonly slot: number;
  readonly page: number;
  readonly offset: number;
  readonly write: boolean;
}

/** Pages in each process's buffer, and in its hot set. */
export const TRACE_BUFFER_PAGES = 2048;
export const TRACE_HOT_PAGES = 48;
export const TRACE_BURST = 400;

/**
 * The access of index `i` of the trace with `seed` (stateless per call is too slow, so this is a
 * generator the replay pulls from).
 */
export function* traceAccesses(count: number, slots: number, seed = 0x6b6d656d): Generator<TraceAccess> {
  const r = xorshift32(seed);
  for (let i = 0; i < count; i++) {
    const slot = Math.floor(i / TRACE_BURST) % slots;
    // 90% of accesses hit the slot's hot set (which drifts slowly), 10% go anywhere in the buffer.
    const drift = Math.floor(i / 20_000) * 8;
    const page = r() < 0.9 ? (drift + Math.floor(r() * TRACE_HOT_PAGES)) % TRACE_BUFFER_PAGES : Math.floor(r() * TRACE_BUFFER_PAGES);
    yield { slot, page, offset: Math.floor(r() * (PAGE / 8)) * 8, write: r() < 0.3 };
  }
}

/**
 * Replays `count` accesses on a running kernel: creates three processes with an 8 MiB anonymous
 * buffer each, forks the first half-way through (the child takes its slot: copy-on-write from
 * then on), and reports faults and TLB counters.
 */
export function replayTrace(kernel: Kernel, count: number, onProgress?: (done: number, total: number) => void): TraceResult {
  const freeBefore = kernel.pmm.freeFrames;
  const procs: Process[] = [];
  const bases: number[] = [];
  for (let i = 0; i < 3; i++) {
    const p = kernel.createProcess({ name: `trace-${i}` });
    if (p === null) throw new Error('trace: out of memory creating processes');
    const va = p.mmap({ lengthBytes: TRACE_BUFFER_PAGES * PAGE, prot: PROT.Read | PROT.Write, name: 'trace-buffer' });
    if (va === null) throw new Error('trace: mmap failed');
    procs.push(p);
    bases.push(va);
  }
  const tlb = kernel.cpu.tlb;
  const hits0 = tlb?.hits ?? 0;
  const misses0 = tlb?.misses ?? 0;
  const faults0 = kernel.events.count('page-fault');
  const switches0 = kernel.events.count('context-switch');
  const byResolution: Record<string, number> = {};
  const off = kernel.events.subscribe((e) => {
    if (e.kind === 'page-fault') byResolution[e.resolution] = (byResolution[e.resolution] ?? 0) + 1;
  });
  const step = Math.max(1, Math.floor(count / 200));
  let i = 0;
  try {
    for (const a of traceAccesses(count, procs.length)) {
      if (i === Math.floor(count / 2)) {
        const child = kernel.fork(procs[0]!.pid);
        if (child !== null) procs[0] = child;
      }
      const p = procs[a.slot]!;
      if (p.alive) p.touch(bases[a.slot]! + a.page * PAGE + a.offset, a.write ? 'write' : 'read', i & 0xff);
      i++;
      if (onProgress !== undefined && i % step === 0) onProgress(i, count);
    }
  } finally {
    off();
  }
  if (count % step !== 0) onProgress?.(count, count);
  const hits = (tlb?.hits ?? 0) - hits0;
  const misses = (tlb?.misses ?? 0) - misses0;
  let resident = 0;
  for (const p of kernel.processes.list()) resident += p.stats.rssPages;
  return {
    accesses: count,
    processes: procs.length,
    burst: TRACE_BURST,
    faults: kernel.events.count('page-fault') - faults0,
    faultsByResolution: byResolution,
    tlbHits: hits,
    tlbMisses: misses,
    tlbHitRate: hits + misses === 0 ? 0 : hits / (hits + misses),
    contextSwitches: kernel.events.count('context-switch') - switches0,
    residentPages: resident,
    freeFramesBefore: freeBefore,
    freeFramesAfter: kernel.pmm.freeFrames,
  };
}
