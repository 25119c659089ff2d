// Translate exercises: a small physical memory with random 4-level page tables built by
// x86-paging's Mapper; for each virtual address and access, the answer is what x86-paging's Mmu
// does (the physical address, or #PF with its error code). No walker is written here.
import { Access, Mode, PAGE_SIZE_4K, PTE, accessName, describePageFaultErrorCode, modeName, type ArrayBufferPhysicalMemory, type ControlRegistersInit, type PageSize } from '@kmem/x86-paging';
import type { Exercise, ExerciseSet } from './exercise';
import { groupedHex } from './hex';
import { QUIZ_MODE_CONFIG, drawLeafFlags, formatQuizVa, machineCpu, newMachine, tableListing, tableTree, type QuizMode } from './quiz-machine';
import type { SeededRandom } from './seeded-random';

/** The machine of a translate set: memory, registers and CR3 (tests re-ask the library on it). */
export interface TranslateMachine {
  readonly memory: ArrayBufferPhysicalMemory;
  readonly cr3Frame: number;
  /** The mode's registers (CR3 not included). */
  readonly registers: ControlRegistersInit;
  readonly questions: readonly { va: number; access: Access; mode: Mode }[];
}

/** Bytes of a page size as people say it. */
export function sizeName(bytes: number): string {
  return bytes >= 2 ** 30 ? `${bytes / 2 ** 30} GiB` : bytes >= 2 ** 20 ? `${bytes / 2 ** 20} MiB` : `${bytes / 1024} KiB`;
}

/**
 * `count` translate exercises from `rng` at `difficulty` 1 (user reads, 4 KiB pages), 2 (reads,
 * writes, fetches, user and supervisor) or 3 (and a large page: 2 MiB, or 4 MiB in 32-bit
 * paging), in paging mode `quizMode` (4-level by default).
 */
export function translateExercises(rng: SeededRandom, count: number, difficulty: number, quizMode: QuizMode = '4level'): { set: Omit<ExerciseSet, 'seed'>; machine: TranslateMachine } {
  const config = QUIZ_MODE_CONFIG[quizMode];
  const g = config.geometry;
  const { memory, mapper } = newMachine(rng, config);
  const pages: { va: number; sizeBytes: number }[] = [];
  const region = config.region(rng);
  const pageCount = 2 + difficulty * 2;
  for (let p = 0; p < pageCount; p++) {
    const dir = rng.int(difficulty >= 2 ? 3 : 1);
    const va = region + dir * config.hugeBytes + rng.int(g.entryCount(1)) * PAGE_SIZE_4K;
    if (pages.some((q) => q.va === va)) continue;
    const flags = drawLeafFlags(rng, config, difficulty, difficulty === 1 ? 0.8 : 0.6);
    const pa = (0x80 + rng.int(0x70)) * PAGE_SIZE_4K;
    if (mapper.mapPages(va, pa, 1, flags)) pages.push({ va, sizeBytes: PAGE_SIZE_4K });
  }
  if (difficulty >= 3) {
    const va = region + 4 * config.hugeBytes;
    if (mapper.mapPages(va, (1 + rng.int(8)) * config.hugeBytes, 1, PTE.Present | PTE.User | (rng.chance(0.5) ? PTE.Writable : 0), { pageSize: config.hugeBytes as PageSize })) pages.push({ va, sizeBytes: config.hugeBytes });
  }
  const given = [
    config.registersText,
    `CR3 = ${groupedHex(mapper.root)} (${config.rootName}). Tables, non-zero entries only:`,
    ...tableListing(g, tableTree(memory, g, mapper.root)),
  ];
  const questions: { va: number; access: Access; mode: Mode }[] = [];
  const walks: string[][] = [];
  for (let i = 0; i < count; i++) {
    const page = rng.pick(pages);
    const va = rng.chance(0.75) ? page.va + rng.int(page.sizeBytes) : page.va + PAGE_SIZE_4K * (1 + rng.int(3)) + rng.int(PAGE_SIZE_4K);
    const access = difficulty === 1 ? Access.Read : rng.pick([Access.Read, Access.Write, Access.Execute]);
    const mode = difficulty === 1 ? Mode.User : rng.pick([Mode.User, Mode.Supervisor]);
    questions.push({ va, access, mode });
    walks.push(mapper.formatWalk(va).split('\n'));
  }
  // Answers last: the walk sets A/D bits, and the listing above is the state before.
  const cpu = machineCpu(config, memory, mapper.root);
  const combined = config.nx ? 'R/W and U/S AND-ed over the levels, XD OR-ed' : 'R/W and U/S AND-ed over the levels; no XD bit in this mode';
  const exercises: Exercise[] = questions.map((q, i) => {
    const r = cpu.translate(q.va, q.access, q.mode);
    const split = levelsDown(g.topLevel).map((l) => `${g.levelName(l)} ${g.index(q.va, l)}`).join(', ');
    const answer = r.fault ? `#PF ${groupedHex(r.errorCode)}` : groupedHex(r.pa);
    const outcome = r.fault
      ? `#PF, error code ${groupedHex(r.errorCode)}: ${describePageFaultErrorCode(r.errorCode)} (walk stopped at ${g.levelName(r.level)}; SDM 4.7)`
      : `${groupedHex(r.pa)}: a ${sizeName(r.pageSizeBytes)} page, rights allowed (${combined}; SDM 4.6)`;
    return {
      kind: 'translate',
      number: i + 1,
      question: `${modeName(q.mode)} ${accessName(q.access)} of ${formatQuizVa(config, q.va)}: physical address, or #PF and its error code?`,
      answer,
      explanation: [`indices: ${split}, offset ${groupedHex(q.va % PAGE_SIZE_4K)}`, ...walks[i]!, `→ ${outcome}`],
    };
  });
  const set = { kind: 'translate' as const, difficulty, ...(quizMode === '4level' ? {} : { mode: quizMode }), given, exercises };
  return { set, machine: { memory, cr3Frame: mapper.root, registers: config.registers, questions } };
}

/** Levels from `top` down to 1 (the order a walk reads them). */
export function levelsDown(top: number): number[] {
  return Array.from({ length: top }, (_, i) => top - i);
}
