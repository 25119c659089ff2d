// Issue 19's x86-paging workload and its plain-JS yardstick, shared by yardsticks.bench.ts (the
// three ratios of the issue) and yardstick-parts.bench.ts (where the time of one translation
// goes). Everything here is built from a fixed seed, so every process sees the same tables and
// streams; the build under test is passed in, so an A/B can load another build's classes.
import type * as X86Paging from '@kmem/x86-paging';
import { buildRandomTables, xorshift32 } from './random-tables';

type Build = typeof X86Paging;

/** Random 4 KiB mappings in the tables. */
export const MAPPINGS = 1_000_000;
/** Pages the hot stream touches. */
export const HOT_PAGES = 1024;
/** Translations in one pass over a stream. */
export const STREAM = 1 << 20;
/** Timed passes per figure: 5 × 1 M = 5.2 M translations. */
export const PASSES = 5;
const TWO_32 = 4294967296;

const rand = xorshift32(0x2545f491);

// Rights of each leaf: 87 % user read-write, 8 % user read-only, 5 % supervisor read-write.
const leafFlags = (): number => {
  const r = rand();
  return r < 0.87 ? 0x7 : r < 0.95 ? 0x5 : 0x3;
};

/** The tables and the streams: linear addresses, and per access 0 (read) or 1 (write) — the values of `Access.Read` and `Access.Write`. */
export interface Workload {
  readonly words: Uint32Array;
  readonly memory: X86Paging.ArrayBufferPhysicalMemory;
  readonly pml4: number;
  readonly hotVa: Float64Array;
  readonly hotWrite: Uint8Array;
  readonly coldVa: Float64Array;
}

/** Builds the 1 M mappings and the hot and cold streams in memory of build `B` (once per process: the seed's sequence runs on). */
export function buildWorkload(B: Build): Workload {
  const memory = new B.ArrayBufferPhysicalMemory(160 * 1024 * 1024);
  const words = memory.words;
  const { pml4, pages } = buildRandomTables(words, MAPPINGS, rand, leafFlags);
  const hot = new Float64Array(HOT_PAGES);
  for (let i = 0; i < HOT_PAGES; i++) hot[i] = pages[Math.floor(rand() * MAPPINGS)]!;
  const hotVa = new Float64Array(STREAM);
  const hotWrite = new Uint8Array(STREAM);
  const coldVa = new Float64Array(STREAM);
  for (let i = 0; i < STREAM; i++) {
    hotVa[i] = hot[Math.floor(rand() * HOT_PAGES)]! + Math.floor(rand() * 4096);
    hotWrite[i] = rand() < 0.3 ? 1 : 0;
    coldVa[i] = pages[Math.floor(rand() * MAPPINGS)]! + Math.floor(rand() * 4096);
  }
  return { words, memory, pml4, hotVa, hotWrite, coldVa };
}

// --- the plain JS yardstick: a 4-level walk and a direct-mapped TLB ---------------------------------

const SKETCH_SLOTS = 4096;
const sketchTag = new Float64Array(SKETCH_SLOTS).fill(-1); // page number, -1 = empty
const sketchFrame = new Float64Array(SKETCH_SLOTS); // physical address of the page
const sketchWritable = new Uint8Array(SKETCH_SLOTS); // cached with write permission (and D set)

/** One access through the sketch: the physical address, or -1 for a page fault. */
export function sketchAccess(words: Uint32Array, pml4: number, va: number, write: number, useTlb: boolean): number {
  const page = Math.floor(va / 4096);
  const offset = va - page * 4096;
  const slot = page & (SKETCH_SLOTS - 1);
  if (useTlb && sketchTag[slot] === page && (write === 0 || sketchWritable[slot] === 1)) return sketchFrame[slot]! + offset;
  const vaHi = Math.floor(va / TWO_32);
  const vaLo = va - vaHi * TWO_32;
  let w = pml4 / 4 + ((vaHi >>> 7) & 511) * 2;
  let rights = 0x6; // R/W and U/S allowed so far
  for (let level = 0; level < 4; level++) {
    const e = words[w]!;
    if ((e & 1) === 0) return sketchFault(slot, useTlb);
    rights &= e;
    if (level === 3) {
      if ((rights & 4) === 0 || (write === 1 && (rights & 2) === 0)) return sketchFault(slot, useTlb);
      words[w] = e | (write === 1 ? 0x60 : 0x20); // A, and D on a write
      const pa = (e - (e & 0xfff)) + words[w + 1]! * TWO_32;
      if (useTlb) {
        sketchTag[slot] = page;
        sketchFrame[slot] = pa;
        sketchWritable[slot] = write;
      }
      return pa + offset;
    }
    if ((e & 0x20) === 0) words[w] = e | 0x20; // A on the table entry
    const table = e - (e & 0xfff);
    const index = level === 0 ? (((vaHi & 0x7f) << 2) | (vaLo >>> 30)) : level === 1 ? (vaLo >>> 21) & 511 : (vaLo >>> 12) & 511;
    w = table / 4 + index * 2;
  }
  return -1;
}

function sketchFault(slot: number, useTlb: boolean): number {
  if (useTlb) sketchTag[slot] = -1; // a fault drops the page's entry (SDM 4.10.4.1)
  return -1;
}


// --- the timed loops ---------------------------------------------------------------------------------

/** Where the loops leave their checksum, so the JIT cannot drop the work. */
export const sink = new Float64Array(1);

/**
 * One pass of `mmu.translate` over the stream (user mode), counting faults. The stream holds
 * Access values (0 read, 1 write), passed as the sketch gets them.
 */
export function mmuPass(mmu: X86Paging.Mmu, user: X86Paging.Mode, va: Float64Array, write: Uint8Array): () => number {
  return () => {
    let faults = 0;
    let check = 0;
    for (let i = 0; i < STREAM; i++) {
      const r = mmu.translate(va[i]!, write[i]! as X86Paging.Access, user);
      if (r.fault) faults++;
      else check += r.pa;
    }
    sink[0]! += check;
    return faults;
  };
}

/** One pass of the sketch over the stream, with or without its TLB, counting faults. */
export function sketchPass(words: Uint32Array, pml4: number, va: Float64Array, write: Uint8Array, useTlb: boolean): () => number {
  return () => {
    let faults = 0;
    let check = 0;
    for (let i = 0; i < STREAM; i++) {
      const pa = sketchAccess(words, pml4, va[i]!, write[i]!, useTlb);
      if (pa < 0) faults++;
      else check += pa;
    }
    sink[0]! += check;
    return faults;
  };
}
