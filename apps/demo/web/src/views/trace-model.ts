// The trace view's model, without the DOM (the e2e test runs the same steps in Node): a trace's
// first records replayed one at a time through a process's Cpu, each classified as a TLB hit, a
// page walk or a page fault the kernel resolved, with the page walk of its address; and the whole
// trace replayed for the pictures (faults vs frames with the LRU miss-ratio curve, working set).
import { ACCESS_KIND_LETTERS, AccessKind, TraceBatch, TraceReplay, createTraceReader, detectTraceFormat, formatCanonical, isGzip, readTrace, type ReplayResult, type TraceFormat } from '@kmem/kernel-sim';
import { PhysicalTableAccess, formatWalk, walkTables } from '@kmem/x86-paging';

/** Records the view steps through at most. */
export const TRACE_VIEW_MAX_STEPS = 256;
/** RAM of the view's machines (small: boots fast in a browser). */
const RAM_BYTES = 256 * 2 ** 20;

/**
 * The view's default trace, in lackey's format: a small program's loop as Valgrind would record it
 * — instruction fetches from two code pages, a load from an array of 24 pages walked with a
 * 1,536-byte stride, a store into an output page every 4th iteration (its first one a page fault
 * for a zeroed page), and a pushed return address on the stack around each call.
 */
export function demoTrace(iterations = 600): string {
  const lines: string[] = [];
  const hex = (va: number): string => va.toString(16).padStart(8, '0');
  const code = 0x40_1000;
  const array = 0x60_0000;
  const out = 0x70_0000;
  const stack = 0x7fff_f000;
  for (let i = 0; i < iterations; i++) {
    lines.push(`I  ${hex(code + ((i * 4) % 64))},4`);
    lines.push(` L ${hex(array + ((i * 1536) % (24 * 4096)))},8`);
    lines.push(`I  ${hex(code + 64 + ((i * 3) % 32))},3`);
    if (i % 4 === 3) lines.push(` S ${hex(out + ((i >> 2) * 8) % 4096)},8`);
    if (i % 16 === 15) {
      lines.push(` S ${hex(stack - 8)},8`);
      lines.push(`I  ${hex(code + 0x1000 + (i % 48))},5`);
      lines.push(` L ${hex(stack - 8)},8`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** What one record did. */
export interface TraceStep {
  /** 1-based record number. */
  readonly index: number;
  /** `I`, `L`, `S` or `M`. */
  readonly kind: string;
  /** Linear address (48-bit form). */
  readonly va: number;
  /** Bytes accessed. */
  readonly sizeBytes: number;
  /** Page references it made (2 for a page-crossing access; an M record loads then stores). */
  readonly pageReferences: number;
  /** TLB hits of the Cpu during the record. */
  readonly tlbHits: number;
  /** Page walks (TLB misses) during the record, retries after a fault included. */
  readonly walks: number;
  /** Page faults delivered during the record. */
  readonly faults: number;
  /** `tlb-hit`, `walk` or `fault`: the worst that happened. */
  readonly outcome: 'tlb-hit' | 'walk' | 'fault';
  /** How the kernel resolved the faults: `zero-filled page`, `read from the ELF`, `stack growth`, `new anonymous region`. */
  readonly resolution: readonly string[];
  /** The page walk of `va` after the record, level by level. */
  readonly walk: string;
  /** The process's resident pages after it. */
  readonly rssPages: number;
}

/** Decompresses gzip bytes (the browser's DecompressionStream; Node has it too). */
export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([new Uint8Array(bytes)]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The records of a trace (its first `limit`), its format, and the bytes (decompressed). */
export interface LoadedTrace {
  readonly name: string;
  readonly format: TraceFormat;
  readonly bytes: Uint8Array;
  readonly batch: TraceBatch;
}

/**
 * Reads the first `limit` records of a trace (gzip allowed) into one batch.
 * @throws TraceParseError for a malformed record among them, TraceOptionError for an unknown format
 */
export async function loadTrace(name: string, raw: Uint8Array, limit = TRACE_VIEW_MAX_STEPS): Promise<LoadedTrace> {
  const bytes = isGzip(raw) ? await gunzip(raw) : raw;
  const format = detectTraceFormat(bytes.subarray(0, 65536)) ?? 'plain';
  const batch = new TraceBatch(limit);
  const reader = createTraceReader(format, (b) => {
    const n = Math.min(b.length, limit - batch.length);
    batch.va.set(b.va.subarray(0, n), batch.length);
    batch.sizeBytes.set(b.sizeBytes.subarray(0, n), batch.length);
    batch.kind.set(b.kind.subarray(0, n), batch.length);
    batch.position.set(b.position.subarray(0, n), batch.length);
    batch.length += n;
  });
  // Only as much as the first records need: lines are short, a few KiB per hundred.
  for (let p = 0; p < bytes.length && batch.length < limit; p += 16384) reader.push(bytes.subarray(p, p + 16384));
  if (batch.length < limit) reader.end();
  return { name, format, bytes, batch };
}

/**
 * Steps through a loaded trace's records one at a time on a bare address space (a replay with the
 * translation memo off, so every page reference asks the Cpu and its counters tell what happened).
 */
export class TraceStepper {
  /** The replay the records go through. */
  readonly replay: TraceReplay;
  /** Steps taken, in order. */
  readonly steps: TraceStep[] = [];
  private readonly one = new TraceBatch(1);

  constructor(readonly trace: LoadedTrace) {
    this.replay = new TraceReplay({ policies: [], ramBytes: RAM_BYTES, translationMemo: false, lenient: true, name: trace.name });
  }

  /** Records left to step through. */
  get remaining(): number {
    return this.trace.batch.length - this.steps.length;
  }

  /** Replays the next record; null when none is left. */
  next(): TraceStep | null {
    const i = this.steps.length;
    const src = this.trace.batch;
    if (i >= src.length) return null;
    const one = this.one;
    one.va[0] = src.va[i]!;
    one.sizeBytes[0] = src.sizeBytes[i]!;
    one.kind[0] = src.kind[i]!;
    one.position[0] = src.position[i]!;
    one.length = 1;
    const r = this.replay;
    const cpu = r.kernel.machine.cpu;
    const tlb = cpu.tlb!;
    const s = r.process.stats;
    const before = { hits: tlb.hits, misses: tlb.misses, pf: cpu.pageFaultCount, zero: s.lazyZero, file: s.lazyFile, stack: s.stackGrowth, regions: r.process.regions().filter((x) => x.name === 'trace').length };
    r.consume(one);
    const va = one.va[0];
    const regionsNow = r.process.regions().filter((x) => x.name === 'trace').length;
    const resolution: string[] = [];
    if (regionsNow > before.regions) resolution.push('new anonymous region');
    if (s.lazyZero > before.zero) resolution.push('zero-filled page');
    if (s.lazyFile > before.file) resolution.push('read from the ELF');
    if (s.stackGrowth > before.stack) resolution.push('stack growth');
    const faults = cpu.pageFaultCount - before.pf;
    const walks = tlb.misses - before.misses;
    const kind = one.kind[0];
    const crosses = (va % 4096) + one.sizeBytes[0] > 4096;
    const step: TraceStep = {
      index: i + 1,
      kind: ACCESS_KIND_LETTERS[kind]!,
      va,
      sizeBytes: one.sizeBytes[0],
      pageReferences: (crosses ? 2 : 1) * (kind === AccessKind.Modify ? 2 : 1),
      tlbHits: tlb.hits - before.hits,
      walks,
      faults,
      outcome: faults > 0 ? 'fault' : walks > 0 ? 'walk' : 'tlb-hit',
      resolution,
      walk: formatWalk(va, walkTables(new PhysicalTableAccess(r.kernel.machine.memory), cpu.registers.cr3Frame, va)),
      rssPages: s.rssPages,
    };
    this.steps.push(step);
    return step;
  }
}

/** The whole trace replayed for the pictures: fifo, clock, lru and OPT at a few frame counts, the LRU curve, the working set. */
export async function analyseTrace(trace: LoadedTrace): Promise<ReplayResult> {
  const replay = new TraceReplay({ ramBytes: RAM_BYTES, lenient: true, frameCounts: [4, 8, 16, 32], workingSetWindow: 1000, name: trace.name });
  const chunks: Uint8Array[] = [];
  for (let p = 0; p < trace.bytes.length; p += 1 << 20) chunks.push(trace.bytes.subarray(p, p + (1 << 20)));
  const reader = await readTrace(chunks, (b) => replay.consume(b), { format: trace.format, lenient: true });
  return replay.finish(reader);
}

/** An address as the page shows it. */
export function formatTraceVa(va: number): string {
  return formatCanonical(va);
}
