// Translate exercises: a small physical memory with random 4-level page tables built by
// x86-paging's Mapper; for each virtual address and access, the answer is what x86-paging's Mmu
// does (the physical address, or #PF with its error code). No walker is written here.
import {
  Access,
  ArrayBufferPhysicalMemory,
  ControlRegisters,
  Mapper,
  Mmu,
  Mode,
  PAGE_SIZE_2M,
  PAGE_SIZE_4K,
  PTE,
  PhysicalTableAccess,
  SimpleFrameAllocator,
  accessName,
  decodeEntry,
  describePageFaultErrorCode,
  levelName,
  modeName,
  tableIndex,
} from '@kmem/x86-paging';
import type { Exercise, ExerciseSet } from './exercise';
import { entryHex, groupedHex } from './hex';
import type { SeededRandom } from './seeded-random';

/** The machine of a translate set: memory and CR3 (tests re-ask the library on it). */
export interface TranslateMachine {
  readonly memory: ArrayBufferPhysicalMemory;
  readonly cr3Frame: number;
  readonly questions: readonly { va: number; access: Access; mode: Mode }[];
}

const MEMORY_BYTES = 0x10_0000;

/** The non-zero entries of every table reachable from `root`, one line each (what the student reads). */
function tableListing(memory: ArrayBufferPhysicalMemory, root: number): string[] {
  const lines: string[] = [];
  const visit = (frame: number, level: number): void => {
    const entries: string[] = [];
    const children: number[] = [];
    for (let i = 0; i < 512; i++) {
      const lo = memory.read32(frame + i * 8);
      const hi = memory.read32(frame + i * 8 + 4);
      if (lo === 0 && hi === 0) continue;
      entries.push(`[${String(i).padStart(3)}] ${entryHex(lo, hi)}`);
      const d = decodeEntry(lo, hi, level);
      if (d.present && !d.leaf && level > 1) children.push(d.pa);
    }
    lines.push(`${levelName(level)} at ${groupedHex(frame)}: ${entries.join('  ')}`);
    for (const c of children) visit(c, level - 1);
  };
  visit(root, 4);
  return lines;
}

/**
 * `count` translate exercises from `rng` at `difficulty` 1 (user reads, 4 KiB pages), 2 (reads,
 * writes, fetches, user and supervisor) or 3 (and a 2 MiB page).
 */
export function translateExercises(rng: SeededRandom, count: number, difficulty: number): { set: Omit<ExerciseSet, 'seed'>; machine: TranslateMachine } {
  const memory = new ArrayBufferPhysicalMemory(MEMORY_BYTES);
  const allocator = new SimpleFrameAllocator({ start: PAGE_SIZE_4K * (1 + rng.int(32)), frameCount: 64 });
  const mapper = Mapper.create({ access: new PhysicalTableAccess(memory), allocator })!;
  const pages: { va: number; sizeBytes: number }[] = [];
  const pml4i = rng.int(256);
  const pdpti = rng.int(512);
  const pageCount = 2 + difficulty * 2;
  for (let p = 0; p < pageCount; p++) {
    const pdi = rng.int(difficulty >= 2 ? 3 : 1);
    const va = pml4i * 2 ** 39 + pdpti * 2 ** 30 + pdi * PAGE_SIZE_2M + rng.int(512) * PAGE_SIZE_4K;
    if (pages.some((q) => q.va === va)) continue;
    let flags = PTE.Present;
    if (rng.chance(0.6)) flags |= PTE.Writable;
    if (rng.chance(difficulty === 1 ? 0.8 : 0.6)) flags |= PTE.User;
    if (difficulty >= 2 && rng.chance(0.4)) flags |= PTE.NoExecute;
    const pa = (0x80 + rng.int(0x70)) * PAGE_SIZE_4K;
    if (mapper.mapPages(va, pa, 1, flags)) pages.push({ va, sizeBytes: PAGE_SIZE_4K });
  }
  if (difficulty >= 3) {
    const va = pml4i * 2 ** 39 + pdpti * 2 ** 30 + 4 * PAGE_SIZE_2M;
    if (mapper.mapPages(va, (1 + rng.int(8)) * PAGE_SIZE_2M, 1, PTE.Present | PTE.User | (rng.chance(0.5) ? PTE.Writable : 0), { pageSize: PAGE_SIZE_2M })) pages.push({ va, sizeBytes: PAGE_SIZE_2M });
  }
  const given = [
    'Registers: CR0.PG = 1, CR0.WP = 1, CR4.PAE = 1, EFER.LME = LMA = 1, EFER.NXE = 1 (4-level paging, SDM vol. 3A 4.5)',
    `CR3 = ${groupedHex(mapper.root)} (PML4 frame). Tables, non-zero entries only:`,
    ...tableListing(memory, mapper.root),
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
  // Answers last: the Mmu sets A/D bits as it walks, and the listing above is the state before.
  const mmu = new Mmu(memory, new ControlRegisters({ cr3Frame: mapper.root }));
  const exercises: Exercise[] = questions.map((q, i) => {
    const r = mmu.walk(q.va, q.access, q.mode);
    const split = [4, 3, 2, 1].map((l) => `${levelName(l)} ${tableIndex(q.va, l)}`).join(', ');
    const answer = r.fault ? `#PF ${groupedHex(r.errorCode)}` : groupedHex(r.pa);
    const outcome = r.fault
      ? `#PF, error code ${groupedHex(r.errorCode)}: ${describePageFaultErrorCode(r.errorCode)} (walk stopped at ${levelName(r.level)}; SDM 4.7)`
      : `${groupedHex(r.pa)}: a ${r.pageSizeBytes === PAGE_SIZE_2M ? '2 MiB' : '4 KiB'} page, rights allowed (R/W and U/S AND-ed over the levels, XD OR-ed; SDM 4.6)`;
    return {
      kind: 'translate',
      number: i + 1,
      question: `${modeName(q.mode)} ${accessName(q.access)} of ${groupedHex(q.va, 12)}: physical address, or #PF and its error code?`,
      answer,
      explanation: [`indices: ${split}, offset ${groupedHex(q.va % PAGE_SIZE_4K)}`, ...walks[i]!, `→ ${outcome}`],
    };
  });
  return { set: { kind: 'translate', difficulty, given, exercises }, machine: { memory, cr3Frame: mapper.root, questions } };
}
