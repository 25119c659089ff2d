// "Which A/D bits does this sequence set?" exercises: small random tables (any paging mode) built
// by x86-paging's Mapper with every A and D bit clear, a short seeded sequence of user/supervisor
// reads and writes, and the question: after the sequence, which entries (every level, large-page
// leaves included) have Accessed and which Dirty set. Answered by running the accesses through
// x86-paging's Cpu on the built memory and reading the entries back — SDM vol. 3A 4.8: A in each
// entry a walk uses, D in the leaf of a write; the library sets the leaf's bits only for an allowed
// access (what QEMU does; the SDM does not order them).
import { Access, Mode, PAGE_SIZE_4K, PTE, PagingMode, accessName, describePageFaultErrorCode, modeName, type ArrayBufferPhysicalMemory, type ControlRegistersInit, type Mapper, type PageSize } from '@kmem/x86-paging';
import type { Exercise, ExerciseSet } from './exercise';
import { groupedHex } from './hex';
import { QUIZ_MODE_CONFIG, formatQuizVa, machineCpu, nameTables, newMachine, tableListing, tableTree, type ListedTable, type QuizMode, type QuizModeConfig } from './quiz-machine';
import type { SeededRandom } from './seeded-random';
import { sizeName } from './translate-exercises';

/** One access of a sequence. */
export interface QuizAccess {
  readonly va: number;
  readonly access: Access;
  readonly mode: Mode;
}

/** The machine of an ad set (tests re-run every sequence on a copy of `image`). */
export interface AdMachine {
  /** Physical memory before any access: the tables, every A and D clear. */
  readonly image: Uint8Array;
  readonly cr3Frame: number;
  readonly registers: ControlRegistersInit;
  /** Every non-zero entry of the tables, with its name in the answers. */
  readonly entries: readonly { readonly name: string; readonly entryPa: number }[];
  readonly sequences: readonly (readonly QuizAccess[])[];
}

/** Names (`PT1[5]`) of the listed entries whose `bit` (PTE.Accessed, PTE.Dirty) is set in `memory` now. */
function entriesWith(memory: ArrayBufferPhysicalMemory, entries: AdMachine['entries'], bit: number): string[] {
  return entries.filter((e) => (memory.read32(e.entryPa) & bit) !== 0).map((e) => e.name);
}

/** The answer form: `A: X Y, D: Z` (`none` for an empty list). */
export function adAnswer(accessed: readonly string[], dirty: readonly string[]): string {
  const list = (names: readonly string[]): string => (names.length === 0 ? 'none' : names.join(' '));
  return `A: ${list(accessed)}, D: ${list(dirty)}`;
}

/** Entry names by physical address, and table names by frame, for `tables`. */
function entryNames(tables: readonly ListedTable[]): { entries: AdMachine['entries']; tableName: Map<number, string> } {
  return {
    entries: tables.flatMap((t) => t.entries.map((e) => ({ name: `${t.name}[${e.index}]`, entryPa: e.entryPa }))),
    tableName: new Map(tables.map((t) => [t.frame, t.name])),
  };
}

/**
 * Runs `accesses` through a Cpu of `config`'s mode (no TLB: every access walks) on `memory`, whose
 * A/D bits are as the caller left them, and explains each access: the entries its walk reads
 * (x86-paging's Mapper.walk), the Cpu's outcome, and which A / D bits it newly set in memory.
 * @returns the explanation lines and the entries with A and with D set afterwards
 */
export function runAdSequence(config: QuizModeConfig, memory: ArrayBufferPhysicalMemory, mapper: Mapper, tables: readonly ListedTable[], accesses: readonly QuizAccess[]): { lines: string[]; accessed: string[]; dirty: string[] } {
  const { entries, tableName } = entryNames(tables);
  const cpu = machineCpu(config, memory, mapper.root);
  const lines: string[] = [];
  accesses.forEach((a, i) => {
    const steps = mapper.walk(a.va);
    // A PAE walk reads its PDPTE from the register MOV to CR3 loaded (SDM 4.4.1): no A bit there.
    const register = (level: number): string => (config.paging === PagingMode.Pae && level === 3 ? ' (register)' : '');
    const path = steps.map((s) => `${tableName.get(s.tableFrame) ?? s.levelName}[${s.index}]${register(s.level)}${s.entry.present ? '' : ' (not present)'}`).join(' → ');
    const beforeA = new Set(entriesWith(memory, entries, PTE.Accessed));
    const beforeD = new Set(entriesWith(memory, entries, PTE.Dirty));
    const r = cpu.translate(a.va, a.access, a.mode);
    const newA = entriesWith(memory, entries, PTE.Accessed).filter((n) => !beforeA.has(n));
    const newD = entriesWith(memory, entries, PTE.Dirty).filter((n) => !beforeD.has(n));
    const last = steps.at(-1)!;
    const leaf = last.entry.leaf ? `${tableName.get(last.tableFrame) ?? last.levelName}[${last.index}]` : null;
    const outcome = r.fault
      ? `#PF ${groupedHex(r.errorCode)} (${describePageFaultErrorCode(r.errorCode)})${leaf !== null ? `: the leaf ${leaf} gets neither A nor D, the access did not happen` : ''}`
      : `${groupedHex(r.pa)} (a ${sizeName(r.pageSizeBytes)} page)`;
    const setNow = newA.length === 0 && newD.length === 0 ? 'nothing newly set' : `newly set: ${[newA.length > 0 ? `A on ${newA.join(' ')}` : '', newD.length > 0 ? `D on ${newD.join(' ')}` : ''].filter((x) => x !== '').join(', ')}`;
    lines.push(`#${i + 1} ${modeName(a.mode)} ${accessName(a.access)} of ${formatQuizVa(config, a.va)}: walk ${path} → ${outcome}; ${setNow}`);
  });
  const accessed = entriesWith(memory, entries, PTE.Accessed);
  const dirty = entriesWith(memory, entries, PTE.Dirty);
  lines.push(`after the sequence: A on ${accessed.length === 0 ? 'no entry' : accessed.join(' ')}; D on ${dirty.length === 0 ? 'no entry' : dirty.join(' ')} (x86-paging's Cpu on the exercise's memory)`);
  return { lines, accessed, dirty };
}

/**
 * `count` A/D exercises in `quizMode` (4-level by default). Difficulty 1: user reads and writes of
 * 4 KiB pages; 2: supervisor accesses too, a large page, and accesses to not-present pages;
 * 3: longer sequences.
 */
export function adExercises(rng: SeededRandom, count: number, difficulty: number, quizMode: QuizMode = '4level'): { set: Omit<ExerciseSet, 'seed'>; machine: AdMachine } {
  const config = QUIZ_MODE_CONFIG[quizMode];
  const g = config.geometry;
  const { memory, mapper } = newMachine(rng, config);
  const region = config.region(rng);
  const pages: { va: number; sizeBytes: number }[] = [];
  for (let p = 0; p < 3 + difficulty; p++) {
    const va = region + rng.int(2) * config.hugeBytes + rng.int(g.entryCount(1)) * PAGE_SIZE_4K;
    let flags = PTE.Present;
    if (rng.chance(0.6)) flags |= PTE.Writable;
    if (difficulty === 1 || rng.chance(0.7)) flags |= PTE.User;
    if (!pages.some((q) => q.va === va) && mapper.mapPages(va, (0x80 + rng.int(0x70)) * PAGE_SIZE_4K, 1, flags)) pages.push({ va, sizeBytes: PAGE_SIZE_4K });
  }
  if (difficulty >= 2) {
    const va = region + 2 * config.hugeBytes;
    const flags = PTE.Present | PTE.User | (rng.chance(0.6) ? PTE.Writable : 0);
    if (mapper.mapPages(va, (1 + rng.int(8)) * config.hugeBytes, 1, flags, { pageSize: config.hugeBytes as PageSize })) pages.push({ va, sizeBytes: config.hugeBytes });
  }
  const tables = tableTree(memory, g, mapper.root);
  nameTables(tables);
  const image = memory.exportBytes();
  const given = [
    config.registersText,
    `CR3 = ${groupedHex(mapper.root)} (${config.rootName}). Tables, non-zero entries only; every A (bit 5) and D (bit 6) is clear, and each exercise starts from these tables:`,
    ...tableListing(g, tables),
    'SDM 4.8: the processor sets A in every paging-structure entry a translation uses, and D in the entry that maps the page (the leaf) when it writes. Here an access that faults sets A only in the table entries its walk passed: the leaf gets neither bit (x86-paging, as QEMU).',
    'Answer as A: the entries with A set, then D: those with D set, named as in the listing (none for no entry), e.g. A: PD[1] PT2[5], D: PT2[5]',
  ];
  const sequences: QuizAccess[][] = [];
  const exercises: Exercise[] = [];
  for (let i = 0; i < count; i++) {
    const length = 2 + difficulty + rng.int(2);
    const accesses: QuizAccess[] = [];
    for (let k = 0; k < length; k++) {
      const page = rng.pick(pages);
      const absent = difficulty >= 2 && rng.chance(0.2);
      const va = absent ? page.va + page.sizeBytes + PAGE_SIZE_4K * rng.int(2) + rng.int(PAGE_SIZE_4K) : page.va + rng.int(page.sizeBytes);
      const access = rng.chance(0.5) ? Access.Write : Access.Read;
      const mode = difficulty === 1 ? Mode.User : rng.pick([Mode.User, Mode.Supervisor]);
      accesses.push({ va, access, mode });
    }
    memory.importBytes(0, image);
    const run = runAdSequence(config, memory, mapper, tables, accesses);
    sequences.push(accesses);
    exercises.push({
      kind: 'ad',
      number: i + 1,
      question: `Accesses: ${accesses.map((a, k) => `${k + 1}. ${modeName(a.mode)} ${accessName(a.access)} of ${formatQuizVa(config, a.va)}`).join('; ')}. After them, which entries have A set, and which D?`,
      answer: adAnswer(run.accessed, run.dirty),
      explanation: run.lines,
      form: 'ad',
    });
  }
  memory.importBytes(0, image);
  const set = { kind: 'ad' as const, difficulty, ...(quizMode === '4level' ? {} : { mode: quizMode }), given, exercises };
  return { set, machine: { image, cr3Frame: mapper.root, registers: config.registers, entries: entryNames(tables).entries, sequences } };
}
