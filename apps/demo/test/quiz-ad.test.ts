// A/D-bit exercises: every answer is re-derived from the question's own text by replaying its
// accesses as loads and stores of a fresh x86-paging Cpu (TLB on, faults delivered to a handler)
// on a copy of the exercise's memory — not the generator's path (translate with no TLB); the
// explanation follows SDM vol. 3A 4.8 in hand-built cases of every mode; same seed, same JSON.
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { Access, ArrayBufferPhysicalMemory, Cpu, Mode, PTE, PageFaultAbortedError, PageSize } from '@kmem/x86-paging';
import { adAnswer, adExercises, runAdSequence, type QuizAccess } from '../src/quiz/ad-exercises';
import { checkAnswer, generateExercises, parseAdAnswer } from '../src/quiz/quiz';
import { MEMORY_BYTES, QUIZ_MODES, QUIZ_MODE_CONFIG, nameTables, newMachine, tableTree, type QuizMode } from '../src/quiz/quiz-machine';
import { SeededRandom } from '../src/quiz/seeded-random';
import { parseTypedNumber } from '../src/quiz/hex';

/** The accesses a question lists (`1. user write of 0x07fd_0005_05b6; 2. ...`). */
function accessesOf(question: string): QuizAccess[] {
  return [...question.matchAll(/\d+\. (user|supervisor) (read|write) of (0x[0-9a-f_]+)/g)].map((m) => ({
    mode: m[1] === 'user' ? Mode.User : Mode.Supervisor,
    access: m[2] === 'write' ? Access.Write : Access.Read,
    va: parseTypedNumber(m[3]!)!,
  }));
}

describe('ad exercises', () => {
  // Large pages map frames up to 36 MiB, past the exercise's 1 MiB of tables: the loads and stores
  // need memory there. One buffer, its first MiB reloaded from the image for each exercise.
  const big = new ArrayBufferPhysicalMemory(40 * 2 ** 20);
  test.prop([fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 3 }), fc.constantFrom(...QUIZ_MODES)], { numRuns: 40 })(
    'every answer is what loads and stores of a Cpu leave in the entries (SDM 4.8)',
    (seed, difficulty, mode) => {
      const { set, machine } = adExercises(new SeededRandom(seed), 3, difficulty, mode);
      const config = QUIZ_MODE_CONFIG[mode];
      for (const ex of set.exercises) {
        const memory = big;
        expect(machine.image.length).toBe(MEMORY_BYTES);
        memory.importBytes(0, machine.image);
        for (const e of machine.entries) expect(memory.read32(e.entryPa) & (PTE.Accessed | PTE.Dirty)).toBe(0);
        const cpu = new Cpu({ memory, registers: { ...config.registers, cr3Frame: machine.cr3Frame } });
        cpu.onPageFault(() => 'abort');
        const accesses = accessesOf(ex.question);
        expect(accesses).toHaveLength(machine.sequences[ex.number - 1]!.length);
        for (const a of accesses) {
          try {
            if (a.access === Access.Write) cpu.write8(a.va, 0x5a, a.mode);
            else cpu.read8(a.va, a.mode);
          } catch (e) {
            expect(e).toBeInstanceOf(PageFaultAbortedError);
          }
        }
        const withBit = (bit: number): string[] => machine.entries.filter((e) => (memory.read32(e.entryPa) & bit) !== 0).map((e) => e.name);
        expect(ex.answer).toBe(adAnswer(withBit(PTE.Accessed), withBit(PTE.Dirty)));
        // D only ever in an entry that also has A: a write's leaf was used by its walk (SDM 4.8).
        for (const d of withBit(PTE.Dirty)) expect(withBit(PTE.Accessed)).toContain(d);
        expect(checkAnswer(ex, ex.answer)).toBe(true);
        const want = parseAdAnswer(ex.answer)!;
        expect(checkAnswer(ex, adAnswer([...want.accessed].reverse(), want.dirty).toLowerCase())).toBe(true);
        expect(checkAnswer(ex, adAnswer(want.accessed, [...want.dirty, 'PT9[511]']))).toBe(false);
        expect(checkAnswer(ex, adAnswer(want.accessed.slice(1), want.dirty))).toBe(want.accessed.length === 0);
        cpu.checkInvariants();
      }
    },
  );

  /** A machine of `mode` with the given pages mapped (va, pa, flags, size), tables named. */
  function handMachine(mode: QuizMode, pages: readonly [number, number, number, number?][]) {
    const config = QUIZ_MODE_CONFIG[mode];
    const { memory, mapper } = newMachine(new SeededRandom(1), config);
    for (const [va, pa, flags, size] of pages) expect(mapper.mapPages(va, pa, 1, flags, { pageSize: (size ?? 4096) as PageSize })).toBe(true);
    const tables = tableTree(memory, config.geometry, mapper.root);
    nameTables(tables);
    return { config, memory, mapper, tables };
  }
  const RWU = PTE.Present | PTE.Writable | PTE.User;

  it('a write sets A at every level and D only in the PTE; a read after it sets nothing new (SDM 4.8, 4-level)', () => {
    const m = handMachine('4level', [[0x40_0000, 0x8_0000, RWU]]);
    const run = runAdSequence(m.config, m.memory, m.mapper, m.tables, [
      { va: 0x40_0123, access: Access.Write, mode: Mode.User },
      { va: 0x40_0456, access: Access.Read, mode: Mode.Supervisor },
    ]);
    expect(run.accessed).toEqual(['PML4[0]', 'PDPT[0]', 'PD[2]', 'PT[0]']);
    expect(run.dirty).toEqual(['PT[0]']);
    expect(run.lines[0]).toBe('#1 user write of 0x0000_0040_0123: walk PML4[0] → PDPT[0] → PD[2] → PT[0] → 0x8_0123 (a 4 KiB page); newly set: A on PML4[0] PDPT[0] PD[2] PT[0], D on PT[0]');
    expect(run.lines[1]).toBe('#2 supervisor read of 0x0000_0040_0456: walk PML4[0] → PDPT[0] → PD[2] → PT[0] → 0x8_0456 (a 4 KiB page); nothing newly set');
    expect(run.lines[2]).toBe("after the sequence: A on PML4[0] PDPT[0] PD[2] PT[0]; D on PT[0] (x86-paging's Cpu on the exercise's memory)");
  });

  it('a write denied at the leaf sets A on the table entries passed and nothing on the leaf; a not-present PTE gets nothing (SDM 4.7, 4.8)', () => {
    const m = handMachine('4level', [[0x40_0000, 0x8_0000, PTE.Present | PTE.User]]);
    const run = runAdSequence(m.config, m.memory, m.mapper, m.tables, [
      { va: 0x40_0010, access: Access.Write, mode: Mode.User },
      { va: 0x40_1010, access: Access.Read, mode: Mode.User },
    ]);
    expect(run.lines[0]).toBe('#1 user write of 0x0000_0040_0010: walk PML4[0] → PDPT[0] → PD[2] → PT[0] → #PF 0x7 (user-mode write to a present page denied: protection violation [P W/R U/S]): the leaf PT[0] gets neither A nor D, the access did not happen; newly set: A on PML4[0] PDPT[0] PD[2]');
    expect(run.lines[1]).toContain('walk PML4[0] → PDPT[0] → PD[2] → PT[1] (not present) → #PF 0x4');
    expect(run.lines[1]).toContain('nothing newly set');
    expect(adAnswer(run.accessed, run.dirty)).toBe('A: PML4[0] PDPT[0] PD[2], D: none');
  });

  it('a large page is its own leaf: D lands in the PDE that maps it (SDM 4.8; 2 MiB in PAE, 4 MiB in 32-bit paging)', () => {
    const pae = handMachine('pae', [[0x4000_0000, 0x20_0000, RWU, PageSize.Size2M], [0x4020_0000, 0x9000, RWU]]);
    const runPae = runAdSequence(pae.config, pae.memory, pae.mapper, pae.tables, [{ va: 0x4000_1234, access: Access.Write, mode: Mode.Supervisor }]);
    // SDM 4.4.1: PAE PDPTEs are registers loaded by MOV to CR3, with no A bit.
    expect(runPae.lines[0]).toBe('#1 supervisor write of 0x4000_1234: walk PDPT[1] (register) → PD2[0] → 0x20_1234 (a 2 MiB page); newly set: A on PD2[0], D on PD2[0]');
    expect(runPae.accessed.some((n) => n.startsWith('PDPT'))).toBe(false);
    const flat = handMachine('32bit', [[0x0800_0000, 0x40_0000, RWU, PageSize.Size4M], [0x0c00_0000, 0x9000, RWU]]);
    const run32 = runAdSequence(flat.config, flat.memory, flat.mapper, flat.tables, [
      { va: 0x0800_0010, access: Access.Write, mode: Mode.User },
      { va: 0x0c00_0010, access: Access.Read, mode: Mode.User },
    ]);
    expect(adAnswer(run32.accessed, run32.dirty)).toBe('A: PD[32] PD[48] PT[0], D: PD[32]');
  });

  it('5-level walks pass a PML5 entry too', () => {
    const m = handMachine('5level', [[2 ** 48, 0x9000, RWU]]);
    const run = runAdSequence(m.config, m.memory, m.mapper, m.tables, [{ va: 2 ** 48 + 8, access: Access.Read, mode: Mode.User }]);
    expect(run.accessed).toEqual(['PML5[1]', 'PML4[0]', 'PDPT[0]', 'PD[0]', 'PT[0]']);
  });

  it('checkAnswer reads A: ... D: ... in any order and case, with none for an empty list', () => {
    const ex = { kind: 'ad' as const, number: 1, question: '', answer: 'A: PML4[0] PD[2] PT1[5], D: none', explanation: [], form: 'ad' as const };
    expect(checkAnswer(ex, 'a: pt1[5] pd[2] pml4[0] d: none')).toBe(true);
    expect(checkAnswer(ex, 'A PML4[0], PD[2], PT1[ 5 ]  D -')).toBe(true);
    expect(checkAnswer(ex, 'A: PML4[0] PD[2] PT1[5], D: PT1[5]')).toBe(false);
    expect(checkAnswer(ex, 'A: PML4[0] PD[2] PT1[5]')).toBe(false);
    expect(checkAnswer(ex, 'PML4[0] PD[2] PT1[5]')).toBe(false);
    expect(checkAnswer(ex, '')).toBe(false);
  });

  it('the same seed gives the same JSON in every mode; another seed or mode another set', () => {
    for (const mode of QUIZ_MODES) {
      const a = JSON.stringify(generateExercises('ad', 4, 3, 2, mode));
      expect(JSON.stringify(generateExercises('ad', 4, 3, 2, mode))).toBe(a);
      expect(JSON.stringify(generateExercises('ad', 5, 3, 2, mode))).not.toBe(a);
      expect((JSON.parse(a) as { mode?: string }).mode).toBe(mode === '4level' ? undefined : mode);
    }
    expect(JSON.stringify(generateExercises('ad', 4, 3, 2, 'pae'))).not.toBe(JSON.stringify(generateExercises('ad', 4, 3, 2, '4level')));
  });
});
