// Which page-table entries a step changed: every table of every address space (the kernel's, the
// CPU's CR3, each live process's) copied before the step and read again after it, compared entry
// by entry, and each changed bit named as the CPU reads it (SDM vol. 3A 4.5, Tables 4-14 to 4-19)
// or as kernel-sim's software uses it when P = 0 (swap entries, PROT_NONE, copy-on-write).
//
// The tables are found by walking from the roots and read straight from physical memory
// (`frameWords`), not through the CPU: looking leaves the TLB and the A/D bits as they were.
// A table that exists on one side only counts as 512 zero entries on the other ("new" / "freed"),
// so a fork's copied tables or an exit's freed ones show every entry they held.
import { PTE_COW, PTE_PROT_NONE, formatPhysical, isSwapEntry, swapEntryOffset, swapEntryType, type Kernel } from '@kmem/kernel-sim';
import { PagingMode } from '@kmem/x86-paging';

const TWO_32 = 0x1_0000_0000;
/** Bytes one entry of each level maps (index = level: 1 PT ... 4 PML4). */
const LEVEL_SPAN = [0, 2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39];
/** Level names of 4-level paging (index = level). */
export const LEVEL_NAMES: readonly string[] = ['', 'PT', 'PD', 'PDPT', 'PML4'];

/** One table found from the roots, and a copy of its 1024 words (512 entries, low word first). */
export interface TableCopy {
  readonly frame: number;
  /** 4 PML4, 3 PDPT, 2 PD, 1 PT. */
  readonly level: number;
  /** First linear address the table maps (48-bit linear form). */
  readonly vaBase: number;
  /** Address spaces that reach it: 0 for the kernel's tables (and CR3 before any process), else pids. */
  readonly spaces: readonly number[];
  readonly words: Uint32Array;
}

/** Every table reachable from the roots at one moment, by frame. */
export interface PageTableSnapshot {
  readonly tables: ReadonlyMap<number, TableCopy>;
}

/** The roots to walk: the kernel's tables and each live process's, then CR3 (the boot steps run on tables the kernel has not adopted yet). */
function roots(kernel: Kernel): { root: number; space: number }[] {
  const out: { root: number; space: number }[] = [];
  const cpu = kernel.machine.cpu;
  if (kernel.state === 'running' || kernel.state === 'panicked') {
    out.push({ root: kernel.kernelRoot, space: 0 });
    for (const p of kernel.processes.list()) out.push({ root: p.root, space: p.pid });
  }
  if (cpu.pagingMode !== PagingMode.None && !out.some((r) => r.root === cpu.registers.cr3Frame)) out.push({ root: cpu.registers.cr3Frame, space: 0 });
  return out;
}

/**
 * Copies every page table reachable from the kernel's roots (see {@link roots}). Empty while paging
 * is off. 4-level paging only (kernel-sim's mode).
 * @throws Error for another paging mode
 */
export function snapshotPageTables(kernel: Kernel): PageTableSnapshot {
  const mode = kernel.machine.cpu.pagingMode;
  if (mode !== PagingMode.None && mode !== PagingMode.FourLevel) throw new Error(`page-table diff: 4-level paging only (mode ${mode})`);
  const memory = kernel.machine.memory;
  const tables = new Map<number, { frame: number; level: number; vaBase: number; spaces: number[]; words: Uint32Array }>();
  const visit = (frame: number, level: number, vaBase: number, space: number): void => {
    const seen = tables.get(frame);
    if (seen !== undefined) {
      if (!seen.spaces.includes(space)) seen.spaces.push(space);
      return;
    }
    if (!memory.isRam(frame)) return;
    const words = memory.frameWords(frame).slice();
    tables.set(frame, { frame, level, vaBase, spaces: [space], words });
    if (level === 1) return;
    for (let i = 0; i < 512; i++) {
      const lo = words[2 * i]!;
      // Not present, or a 1 GiB / 2 MiB leaf (PS at the PDPT and PD levels): no table below.
      if ((lo & 1) === 0 || (level < 4 && (lo & 0x80) !== 0)) continue;
      const next = (words[2 * i + 1]! & 0xfffff) * TWO_32 + ((lo & 0xffff_f000) >>> 0);
      visit(next, level - 1, vaBase + i * LEVEL_SPAN[level]!, space);
    }
  };
  for (const r of roots(kernel)) visit(r.root, 4, 0, r.space);
  for (const t of tables.values()) t.spaces.sort((a, b) => a - b);
  return { tables };
}

/** One changed field of an entry (a flag, or a multi-bit field such as the address). */
export interface ChangedField {
  /** `A`, `RW`, `frame address`, `swap slot`... */
  readonly name: string;
  /** The bit or bit range, high:low (`5`, `51:12`). */
  readonly bits: string;
  /** Mask of the field over the entry: [low word, high word]. */
  readonly mask: readonly [number, number];
  readonly old: string;
  readonly new: string;
  /** What the field does, in a sentence. */
  readonly meaning: string;
}

/** One entry whose value changed. */
export interface EntryChange {
  readonly level: number;
  readonly levelName: string;
  readonly tableFrame: number;
  readonly index: number;
  /** Physical address of the entry (table + 8 × index). */
  readonly entryPa: number;
  /** Linear range the entry covers, end exclusive (48-bit linear form). */
  readonly vaStart: number;
  readonly vaEnd: number;
  readonly spaces: readonly number[];
  /** 'kept': the table exists before and after; 'new': it was not a table before; 'freed': it is not one after. */
  readonly table: 'kept' | 'new' | 'freed';
  readonly oldLo: number;
  readonly oldHi: number;
  readonly newLo: number;
  readonly newHi: number;
  /** Each field whose bits differ, named for this level. */
  readonly fields: readonly ChangedField[];
  /** The old and new values decoded in words. */
  readonly oldMeaning: string;
  readonly newMeaning: string;
}

/** The raw 64-bit entry as 16 hex digits grouped by 4 (`0x0000_0000_0027_c027`). */
export function entryHex(lo: number, hi: number): string {
  const h = (hi >>> 0).toString(16).padStart(8, '0');
  const l = (lo >>> 0).toString(16).padStart(8, '0');
  return `0x${h.slice(0, 4)}_${h.slice(4)}_${l.slice(0, 4)}_${l.slice(4)}`;
}

/** Bits high:low of the entry (high - low < 53), as a number. */
function field(lo: number, hi: number, high: number, low: number): number {
  const width = high - low + 1;
  if (high < 32) return width === 32 ? lo >>> 0 : (lo >>> low) & ((1 << width) - 1);
  if (low >= 32) return width === 32 ? hi >>> 0 : (hi >>> (low - 32)) & ((1 << width) - 1);
  const hiPart = (hi >>> 0) & (2 ** (high - 31) - 1);
  return hiPart * 2 ** (32 - low) + ((lo >>> 0) >>> low);
}

function maskOf(high: number, low: number): [number, number] {
  let lo = 0;
  let hi = 0;
  for (let b = low; b <= high; b++) {
    if (b < 32) lo |= 1 << b;
    else hi |= 1 << (b - 32);
  }
  return [lo >>> 0, hi >>> 0];
}

interface FieldSpec {
  readonly name: string;
  readonly high: number;
  readonly low: number;
  readonly meaning: string;
  /** How to print the field's value (default: 0/1 for a bit, hex for a range). */
  readonly show?: (v: number) => string;
}

const bit = (b: number, name: string, meaning: string): FieldSpec => ({ name, high: b, low: b, meaning });
const addressShow = (low: number) => (v: number): string => formatPhysical(v * 2 ** low);

/** The fields of a present entry (or one kernel-sim keeps a frame in) at `level`, as the CPU reads them (SDM 4.5, Tables 4-15 to 4-19). */
function presentLayout(level: number, leaf: boolean): FieldSpec[] {
  const large = leaf && level > 1;
  const out: FieldSpec[] = [
    bit(0, 'P', 'present: 0 = the walk stops here with #PF (SDM 4.5)'),
    bit(1, 'RW', 'read/write: 0 = no writes through this entry (the kernel too with CR0.WP = 1) (SDM 4.6.1)'),
    bit(2, 'US', 'user/supervisor: 1 = CPL 3 may use it (SDM 4.6.1)'),
    bit(3, 'PWT', 'page-level write-through (SDM 4.9)'),
    bit(4, 'PCD', 'page-level cache disable (SDM 4.9)'),
    bit(5, 'A', 'accessed: the CPU sets it when a walk uses the entry (SDM 4.8)'),
    leaf ? bit(6, 'D', 'dirty: the CPU sets it on the first write through this leaf (SDM 4.8)') : bit(6, 'bit 6 (ignored)', 'ignored in an entry that points to a table (SDM 4.5)'),
    level === 1 ? bit(7, 'PAT', 'PAT: memory type with PCD and PWT (SDM 4.9.2)') : level === 4 ? bit(7, 'PS (reserved)', 'must be 0 in a PML4E: 1 = #PF with RSVD (SDM 4.5)') : bit(7, 'PS', `page size: 1 = this entry maps a ${level === 3 ? '1 GiB' : '2 MiB'} page (SDM 4.5)`),
    leaf ? bit(8, 'G', 'global: with CR4.PGE the TLB keeps it across CR3 writes (SDM 4.10.2.4)') : bit(8, 'bit 8 (ignored)', 'ignored in an entry that points to a table (SDM 4.5)'),
    bit(9, 'COW (OS bit 9)', "available to software: kernel-sim's copy-on-write mark (fault-policy.ts)"),
    bit(10, 'PROT_NONE (OS bit 10)', "available to software: kernel-sim's PROT_NONE mark on a not-present page that keeps its frame"),
    bit(11, 'swap (OS bit 11)', "available to software: kernel-sim's swap-entry mark when P = 0 (swap-entry.ts)"),
  ];
  if (large) {
    const low = level === 3 ? 30 : 21;
    out.push(bit(12, 'PAT', 'PAT of a large page (bit 12 here, SDM 4.9.2)'));
    out.push({ name: 'reserved', high: low - 1, low: 13, meaning: 'must be 0 in a large-page entry: 1 = #PF with RSVD (SDM 4.5)' });
    out.push({ name: 'frame address', high: 51, low, meaning: `physical address of the ${level === 3 ? '1 GiB' : '2 MiB'} page`, show: addressShow(low) });
  } else out.push({ name: leaf ? 'frame address' : 'table address', high: 51, low: 12, meaning: leaf ? 'physical address of the 4 KiB page' : 'physical address of the next table', show: addressShow(12) });
  out.push({ name: 'OS bits 58:52', high: 58, low: 52, meaning: 'ignored by the CPU, available to software (SDM 4.5)' });
  out.push({ name: leaf ? 'PK / OS bits 62:59' : 'OS bits 62:59', high: 62, low: 59, meaning: leaf ? 'protection key with CR4.PKE = 1, else available to software (SDM 4.6.2)' : 'ignored by the CPU (SDM 4.5)' });
  out.push(bit(63, 'XD', 'execute-disable: with EFER.NXE = 1, no instruction fetch through it (SDM 4.6.2)'));
  return out;
}

/** The fields of kernel-sim's swap entry (P = 0, see kernel-sim's swap-entry.ts). */
const SWAP_LAYOUT: readonly FieldSpec[] = [
  bit(0, 'P', 'present: 0 = any access faults; the CPU ignores every other bit (SDM 4.5)'),
  { name: 'OS bits 8:1', high: 8, low: 1, meaning: 'ignored by the CPU when P = 0; 0 in a swap entry' },
  bit(9, 'COW (OS bit 9)', "kernel-sim's copy-on-write mark (0 in a swap entry)"),
  bit(10, 'PROT_NONE (OS bit 10)', "kernel-sim's PROT_NONE mark (0 in a swap entry)"),
  bit(11, 'swap (OS bit 11)', "kernel-sim's swap-entry mark: 1 = this not-present PTE says where the page went"),
  { name: 'swap slot (inverted)', high: 51, low: 12, meaning: 'the swap slot, stored inverted so that the would-be frame lies above any RAM (the L1TF mitigation)', show: (v) => `slot ${2 ** 40 - 1 - v}` },
  { name: 'OS bits 57:52', high: 57, low: 52, meaning: 'ignored by the CPU when P = 0; 0 in a swap entry' },
  { name: 'swap device', high: 62, low: 58, meaning: 'the swap type: which swap device holds the page', show: (v) => String(v) },
  bit(63, 'bit 63', 'ignored by the CPU when P = 0; 0 in a swap entry'),
];

/** Fields of a not-present entry that is neither a swap entry nor a PROT_NONE page. */
const ABSENT_LAYOUT: readonly FieldSpec[] = [
  bit(0, 'P', 'present: 0 = any access faults; the CPU ignores every other bit (SDM 4.5)'),
  { name: 'ignored bits 63:1', high: 63, low: 1, meaning: 'ignored by the CPU when P = 0, available to software (SDM 4.5)' },
];

const isLeaf = (level: number, lo: number): boolean => level === 1 || ((level === 2 || level === 3) && (lo & 0x80) !== 0);
const keepsFrame = (level: number, lo: number): boolean => (lo & 1) !== 0 || (level === 1 && (lo & PTE_PROT_NONE) !== 0);

/**
 * Names the fields whose bits differ between two values of an entry at `level`. The layout is the
 * present one when either value is present (or a PROT_NONE page, which keeps its frame): the CPU's
 * meaning of each bit; else kernel-sim's swap entry when either is one; else "ignored when P = 0".
 */
export function changedFields(level: number, oldLo: number, oldHi: number, newLo: number, newHi: number): ChangedField[] {
  const xLo = (oldLo ^ newLo) >>> 0;
  const xHi = (oldHi ^ newHi) >>> 0;
  if (xLo === 0 && xHi === 0) return [];
  let layout: readonly FieldSpec[];
  if (keepsFrame(level, newLo)) layout = presentLayout(level, isLeaf(level, newLo));
  else if (keepsFrame(level, oldLo)) layout = presentLayout(level, isLeaf(level, oldLo));
  else if (level === 1 && (isSwapEntry(oldLo) || isSwapEntry(newLo))) layout = SWAP_LAYOUT;
  else layout = ABSENT_LAYOUT;
  const out: ChangedField[] = [];
  for (const f of layout) {
    const [mLo, mHi] = maskOf(f.high, f.low);
    if ((xLo & mLo) === 0 && (xHi & mHi) === 0) continue;
    const show = f.show ?? ((v: number) => (f.high === f.low ? String(v) : `0x${v.toString(16)}`));
    out.push({ name: f.name, bits: f.high === f.low ? String(f.low) : `${f.high}:${f.low}`, mask: [mLo, mHi], old: show(field(oldLo, oldHi, f.high, f.low)), new: show(field(newLo, newHi, f.high, f.low)), meaning: f.meaning });
  }
  return out;
}

const FLAG_NAMES: readonly [number, string][] = [
  [1, 'RW'],
  [2, 'US'],
  [3, 'PWT'],
  [4, 'PCD'],
  [5, 'A'],
];

/** An entry's value in words: what it points at and its set flags, or what a not-present entry holds. */
export function describeEntry(level: number, lo: number, hi: number): string {
  if (lo === 0 && hi === 0) return 'empty';
  const present = (lo & 1) !== 0;
  if (!present) {
    if (level === 1 && isSwapEntry(lo)) return `not present: swap entry, device ${swapEntryType(hi)}, slot ${swapEntryOffset(lo, hi)}`;
    if (level === 1 && (lo & PTE_PROT_NONE) !== 0) return `not present: PROT_NONE, frame ${formatPhysical(field(lo, hi, 51, 12) * 4096)} kept`;
    return 'not present (the CPU ignores the other bits)';
  }
  const leaf = isLeaf(level, lo);
  const flags = ['P', ...FLAG_NAMES.filter(([b]) => (lo & (1 << b)) !== 0).map(([, n]) => n)];
  if (leaf && (lo & 0x40) !== 0) flags.push('D');
  if (leaf && (lo & 0x100) !== 0) flags.push('G');
  if (level === 1 && (lo & PTE_COW) !== 0) flags.push('COW');
  if ((hi & 0x8000_0000) !== 0) flags.push('XD');
  const low = leaf && level > 1 ? (level === 3 ? 30 : 21) : 12;
  const target = formatPhysical(field(lo, hi, 51, low) * 2 ** low);
  const to = !leaf ? `table ${target}` : `${level === 3 ? '1 GiB' : level === 2 ? '2 MiB' : '4 KiB'} page ${target}`;
  return `${flags.join(' ')} → ${to}`;
}

const ZERO_WORDS = new Uint32Array(1024);

function tableChanges(out: EntryChange[], before: TableCopy | undefined, after: TableCopy | undefined): void {
  const t = (after ?? before)!;
  const spaces = [...new Set([...(before?.spaces ?? []), ...(after?.spaces ?? [])])].sort((a, b) => a - b);
  const table = before === undefined ? 'new' : after === undefined ? 'freed' : 'kept';
  const ow = before?.words ?? ZERO_WORDS;
  const nw = after?.words ?? ZERO_WORDS;
  const span = LEVEL_SPAN[t.level]!;
  for (let i = 0; i < 512; i++) {
    const oldLo = ow[2 * i]!;
    const oldHi = ow[2 * i + 1]!;
    const newLo = nw[2 * i]!;
    const newHi = nw[2 * i + 1]!;
    if (oldLo === newLo && oldHi === newHi) continue;
    out.push({
      level: t.level,
      levelName: LEVEL_NAMES[t.level]!,
      tableFrame: t.frame,
      index: i,
      entryPa: t.frame + 8 * i,
      vaStart: t.vaBase + i * span,
      vaEnd: t.vaBase + (i + 1) * span,
      spaces,
      table,
      oldLo,
      oldHi,
      newLo,
      newHi,
      fields: changedFields(t.level, oldLo, oldHi, newLo, newHi),
      oldMeaning: describeEntry(t.level, oldLo, oldHi),
      newMeaning: describeEntry(t.level, newLo, newHi),
    });
  }
}

/**
 * Every entry whose value differs between two snapshots, ordered by the linear address it covers,
 * then by level (PML4 first). A frame that holds a table of another level (or another range) after
 * than before counts as one table freed and one made.
 */
export function diffPageTables(before: PageTableSnapshot, after: PageTableSnapshot): EntryChange[] {
  const out: EntryChange[] = [];
  for (const [frame, b] of before.tables) {
    const a = after.tables.get(frame);
    if (a !== undefined && a.level === b.level && a.vaBase === b.vaBase) tableChanges(out, b, a);
    else {
      tableChanges(out, b, undefined);
      if (a !== undefined) tableChanges(out, undefined, a);
    }
  }
  for (const [frame, a] of after.tables) if (!before.tables.has(frame)) tableChanges(out, undefined, a);
  return out.sort((x, y) => x.vaStart - y.vaStart || y.level - x.level || x.tableFrame - y.tableFrame || x.index - y.index);
}
