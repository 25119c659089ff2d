// The exercise machines of the paging modes: which registers put x86-paging's Cpu in each mode,
// where a small random set of pages goes in its linear space, and the listing of every non-zero
// table entry the student reads. Tables are built by x86-paging's Mapper of the mode and walked
// by a Cpu of the mode; nothing here walks a table.
import {
  ArrayBufferPhysicalMemory,
  CR0,
  CR4,
  Cpu,
  EFER,
  Mapper,
  PAGE_SIZE_4K,
  PTE,
  PageSize,
  PagingMode,
  PhysicalTableAccess,
  SimpleFrameAllocator,
  decodeEntryIn,
  geometryOf,
  type ControlRegistersInit,
  type PagingGeometry,
} from '@kmem/x86-paging';
import { entryHex, groupedHex } from './hex';
import type { SeededRandom } from './seeded-random';

/** Paging modes the exercises come in (`--mode`). */
export const QUIZ_MODES = ['32bit', 'pae', '4level', '5level'] as const;
/** One of QUIZ_MODES. */
export type QuizMode = (typeof QUIZ_MODES)[number];

/** What differs between the modes for an exercise. */
export interface QuizModeConfig {
  readonly mode: QuizMode;
  readonly paging: PagingMode;
  readonly geometry: PagingGeometry;
  /** Registers that put a Cpu in the mode (CR3 added by the machine). */
  readonly registers: ControlRegistersInit;
  /** The registers line of the given. */
  readonly registersText: string;
  /** What CR3 points at. */
  readonly rootName: string;
  /** Size of the mode's large page: 2 MiB, or 4 MiB in 32-bit paging. */
  readonly hugeBytes: number;
  /** Whether entries have an XD bit (not in 32-bit paging). */
  readonly nx: boolean;
  /** Hex digits a virtual address is printed with. */
  readonly vaDigits: number;
  /** Draws the base of the area the exercise's pages lie in (aligned to 4 large pages). */
  region(rng: SeededRandom): number;
}

const WP_PG = CR0.PE | CR0.WP | CR0.PG;

/** The four modes; 4-level first among equals (the default, and the draws of the original quiz). */
export const QUIZ_MODE_CONFIG: Record<QuizMode, QuizModeConfig> = {
  '32bit': {
    mode: '32bit',
    paging: PagingMode.ThirtyTwoBit,
    geometry: geometryOf(PagingMode.ThirtyTwoBit),
    registers: { cr0: WP_PG, cr4: CR4.PSE | CR4.PGE, efer: 0 },
    registersText: 'Registers: CR0.PG = 1, CR0.WP = 1, CR4.PAE = 0, CR4.PSE = 1 (32-bit paging, SDM vol. 3A 4.3: 4-byte entries, 1,024 per table, 4 MiB pages, no XD bit)',
    rootName: 'page directory',
    hugeBytes: PageSize.Size4M,
    nx: false,
    vaDigits: 8,
    // PDE 1 .. 1015: far from 0 and from the top (where a kernel would keep its recursive slot).
    region: (rng) => (1 + rng.int(1012)) * PageSize.Size4M,
  },
  pae: {
    mode: 'pae',
    paging: PagingMode.Pae,
    geometry: geometryOf(PagingMode.Pae),
    registers: { cr0: WP_PG, cr4: CR4.PAE | CR4.PGE, efer: EFER.NXE },
    registersText: 'Registers: CR0.PG = 1, CR0.WP = 1, CR4.PAE = 1, EFER.LME = 0, EFER.NXE = 1 (PAE paging, SDM vol. 3A 4.4: the 4 PDPTEs are loaded into registers by MOV to CR3 and hold no R/W, U/S or A bit)',
    rootName: 'PDPT',
    hugeBytes: PageSize.Size2M,
    nx: true,
    vaDigits: 8,
    region: (rng) => rng.int(4) * 2 ** 30 + rng.int(128) * 4 * PageSize.Size2M,
  },
  '4level': {
    mode: '4level',
    paging: PagingMode.FourLevel,
    geometry: geometryOf(PagingMode.FourLevel),
    registers: {},
    registersText: 'Registers: CR0.PG = 1, CR0.WP = 1, CR4.PAE = 1, EFER.LME = LMA = 1, EFER.NXE = 1 (4-level paging, SDM vol. 3A 4.5)',
    rootName: 'PML4 frame',
    hugeBytes: PageSize.Size2M,
    nx: true,
    vaDigits: 12,
    region: (rng) => rng.int(256) * 2 ** 39 + rng.int(512) * 2 ** 30,
  },
  '5level': {
    mode: '5level',
    paging: PagingMode.FiveLevel,
    geometry: geometryOf(PagingMode.FiveLevel),
    registers: { cr4: CR4.PAE | CR4.PGE | CR4.LA57 },
    registersText: 'Registers: CR0.PG = 1, CR0.WP = 1, CR4.PAE = 1, CR4.LA57 = 1, EFER.LME = LMA = 1, EFER.NXE = 1 (5-level paging, SDM vol. 3A 4.5: a PML5 above the PML4, 57-bit addresses)',
    rootName: 'PML5 frame',
    hugeBytes: PageSize.Size2M,
    nx: true,
    vaDigits: 14,
    // PML5 index 1..31: above 2^48 (only 5-level paging reaches it) and below 2^53 (exact numbers).
    region: (rng) => (1 + rng.int(31)) * 2 ** 48 + rng.int(512) * 2 ** 39 + rng.int(512) * 2 ** 30,
  },
};

/** Emulated physical memory of an exercise machine. */
export const MEMORY_BYTES = 0x10_0000;

/** A fresh machine of `config`'s mode: memory, a Mapper over it with table frames from a seeded start. */
export function newMachine(rng: SeededRandom, config: QuizModeConfig): { memory: ArrayBufferPhysicalMemory; mapper: Mapper } {
  const memory = new ArrayBufferPhysicalMemory(MEMORY_BYTES);
  const allocator = new SimpleFrameAllocator({ start: PAGE_SIZE_4K * (1 + rng.int(32)), frameCount: 64 });
  const mapper = Mapper.create({ access: new PhysicalTableAccess(memory, { mode: config.paging }), allocator, mode: config.paging })!;
  return { memory, mapper };
}

/** A Cpu of `config`'s mode over `memory` with CR3 at `root` (no TLB unless asked). */
export function machineCpu(config: QuizModeConfig, memory: ArrayBufferPhysicalMemory, root: number, tlb: false | { setCount: number; wayCount: number } = false): Cpu {
  return new Cpu({ memory, registers: { ...config.registers, cr3Frame: root }, tlb });
}

/** A virtual address as the exercises print it in `config`'s mode. */
export function formatQuizVa(config: QuizModeConfig, va: number): string {
  return groupedHex(va, config.vaDigits);
}

/** One table of the tree reachable from CR3, with its non-zero entries. */
export interface ListedTable {
  readonly level: number;
  readonly frame: number;
  /** The table's name in the listing: the level's name, numbered when the level has several tables (PT1, PT2). */
  name: string;
  readonly entries: readonly { readonly index: number; readonly entryPa: number; readonly lo: number; readonly hi: number }[];
}

/** Every table reachable from `root`, depth first in index order. */
export function tableTree(memory: ArrayBufferPhysicalMemory, g: PagingGeometry, root: number): ListedTable[] {
  const tables: ListedTable[] = [];
  const visit = (frame: number, level: number): void => {
    const entries: { index: number; entryPa: number; lo: number; hi: number }[] = [];
    const table: ListedTable = { level, frame, name: g.levelName(level), entries };
    tables.push(table);
    const children: number[] = [];
    for (let i = 0; i < g.entryCount(level); i++) {
      const entryPa = frame + i * g.entryBytes;
      const lo = memory.read32(entryPa);
      const hi = g.entryBytes === 8 ? memory.read32(entryPa + 4) : 0;
      if (lo === 0 && hi === 0) continue;
      entries.push({ index: i, entryPa, lo, hi });
      const d = decodeEntryIn(g, lo, hi, level);
      if (d.present && !d.leaf && level > 1) children.push(d.pa);
    }
    for (const c of children) visit(c, level - 1);
  };
  visit(root, g.topLevel);
  return tables;
}

/** Numbers the tables of each level that has several (PT1, PT2, ...), in listing order. */
export function nameTables(tables: ListedTable[]): void {
  for (const level of new Set(tables.map((t) => t.level))) {
    const same = tables.filter((t) => t.level === level);
    if (same.length > 1) same.forEach((t, i) => (t.name = `${t.name}${i + 1}`));
  }
}

/** An entry's raw value as printed: 16 hex digits, or 8 for 32-bit paging's 4-byte entries. */
export function rawEntry(g: PagingGeometry, lo: number, hi: number): string {
  return g.entryBytes === 8 ? entryHex(lo, hi) : groupedHex(lo >>> 0, 8);
}

/** The listing lines: one per table, its non-zero entries (`[  5] 0x...`). */
export function tableListing(g: PagingGeometry, tables: readonly ListedTable[]): string[] {
  const width = String(g.entryCount(1) - 1).length;
  return tables.map((t) => `${t.name} at ${groupedHex(t.frame)}: ${t.entries.length === 0 ? '(all entries zero)' : t.entries.map((e) => `[${String(e.index).padStart(width)}] ${rawEntry(g, e.lo, e.hi)}`).join('  ')}`);
}

/** Leaf flags drawn for an exercise page (P always; NX only where the mode has it). */
export function drawLeafFlags(rng: SeededRandom, config: QuizModeConfig, difficulty: number, userChance: number): number {
  let flags = PTE.Present;
  if (rng.chance(0.6)) flags |= PTE.Writable;
  if (rng.chance(userChance)) flags |= PTE.User;
  if (difficulty >= 2 && rng.chance(0.4) && config.nx) flags |= PTE.NoExecute;
  return flags;
}
