// TLB exercises: every answer is re-derived from the question's own text — the steps replayed as
// loads and stores of a fresh x86-paging Cpu (faults delivered to a handler), INVLPG, MOV to CR3
// and CR4, the PTE change written straight into memory — and read back from the Tlb, or, for the
// stale-translation question, from the byte the last load returns (a marker in the old frame and
// another in the new). Plus hand-checked sequences citing SDM vol. 3A 4.10, and determinism.
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { Access, ArrayBufferPhysicalMemory, CR4, Cpu, Mode, PTE, PageFaultAbortedError, PhysicalTableAccess, walkTables } from '@kmem/x86-paging';
import { checkAnswer, generateExercises, parsePageList } from '../src/quiz/quiz';
import { MEMORY_BYTES, QUIZ_MODE_CONFIG, newMachine } from '../src/quiz/quiz-machine';
import { SeededRandom } from '../src/quiz/seeded-random';
import { pagesAnswer, runTlbSteps, tlbExercises, tlbGeometry, tlbPages } from '../src/quiz/tlb-exercises';
import { parseTypedNumber } from '../src/quiz/hex';

const num = (text: string): number => parseTypedNumber(text)!;

describe('tlb exercises', () => {
  test.prop([fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 3 })], { numRuns: 40 })(
    'every answer is what the Cpu and its Tlb do with the steps the question lists (SDM 4.10)',
    (seed, difficulty) => {
      const { set, machine } = tlbExercises(new SeededRandom(seed), 4, difficulty);
      const frames = new Map([...set.given.join('\n').matchAll(/page (0x[0-9a-f_]+) \(set \d\) → frame (0x[0-9a-f_]+)/g)].map((m) => [num(m[1]!), num(m[2]!)]));
      const geometry = /TLB: one set of (\d) ways/.test(set.given[0]!) ? { setCount: 1, wayCount: Number(/one set of (\d) ways/.exec(set.given[0]!)![1]) } : { setCount: Number(/(\d) sets × (\d) ways/.exec(set.given[0]!)![1]), wayCount: Number(/(\d) sets × (\d) ways/.exec(set.given[0]!)![2]) };
      expect(geometry).toEqual(tlbGeometry(difficulty));
      for (const ex of set.exercises) {
        const memory = new ArrayBufferPhysicalMemory(MEMORY_BYTES);
        memory.importBytes(0, machine.image);
        const cpu = new Cpu({ memory, registers: { cr3Frame: machine.cr3Frame }, tlb: geometry, mode: Mode.User });
        cpu.onPageFault(() => 'abort');
        const steps = /^Steps: (.*)\. Which/.exec(ex.question)![1]!.split(/; (?=\d+\. )/).map((s) => s.replace(/^\d+\. /, ''));
        let lastByte = -1;
        let lastVa = -1;
        const moved = new Map<number, number>();
        steps.forEach((step, k) => {
          let m: RegExpExecArray | null;
          if ((m = /^user (read|write) of (0x[0-9a-f_]+)$/.exec(step)) !== null) {
            const va = num(m[2]!);
            if (k === steps.length - 1 && !ex.form) {
              // Markers: 0xaa at the offset in the frame the page had, 0xbb in the frame it has now.
              const page = va - (va % 4096);
              memory.write8(frames.get(page)! + (va % 4096), 0xaa);
              memory.write8(moved.get(page)! + (va % 4096), 0xbb);
              lastVa = va;
            }
            try {
              if (m[1] === 'write') cpu.write8(va, 0x11);
              else lastByte = cpu.read8(va);
            } catch (e) {
              expect(e).toBeInstanceOf(PageFaultAbortedError);
            }
          } else if ((m = /^INVLPG (0x[0-9a-f_]+)$/.exec(step)) !== null) cpu.invlpg(num(m[1]!));
          else if (step.startsWith('MOV to CR3')) cpu.writeCr3(machine.cr3Frame);
          else if (step.startsWith('CR4.PGE cleared')) {
            cpu.writeCr4(cpu.registers.cr4 & ~CR4.PGE);
            cpu.writeCr4(cpu.registers.cr4 | CR4.PGE);
          } else if ((m = /^the kernel points the PTE of page (0x[0-9a-f_]+) at frame (0x[0-9a-f_]+) \(no INVLPG\)$/.exec(step)) !== null) {
            const page = num(m[1]!);
            const pte = walkTables(new PhysicalTableAccess(memory), machine.cr3Frame, page).at(-1)!;
            expect(pte.level).toBe(1);
            memory.write32(pte.entryPa, (num(m[2]!) | (memory.read32(pte.entryPa) & 0xfff)) >>> 0);
            moved.set(page, num(m[2]!));
          } else throw new Error(`unknown step ${step}`);
        });
        cpu.checkInvariants();
        if (ex.form === 'pages') {
          expect(ex.answer).toBe(pagesAnswer(tlbPages(cpu)));
          const pages = parsePageList(ex.answer)!;
          expect(checkAnswer(ex, [...pages].reverse().map((p) => `0x${(p + 5).toString(16)}`).join(', '))).toBe(true);
          expect(checkAnswer(ex, pagesAnswer([...pages, 0x7000]))).toBe(false);
          if (pages.length > 0) expect(checkAnswer(ex, pagesAnswer(pages.slice(1)))).toBe(false);
        } else {
          // The read lands in the old frame (a stale TLB entry) or the new one (walked again).
          expect([0xaa, 0xbb]).toContain(lastByte);
          const page = lastVa - (lastVa % 4096);
          const pa = (lastByte === 0xaa ? frames.get(page)! : moved.get(page)!) + (lastVa % 4096);
          expect(ex.answer).toBe(`0x${pa.toString(16).replace(/\B(?=([0-9a-f]{4})+$)/g, '_')}`);
          expect(checkAnswer(ex, ex.answer)).toBe(true);
          expect(checkAnswer(ex, `0x${(pa ^ 0x1000).toString(16)}`)).toBe(false);
        }
      }
    },
  );

  /** Four user pages at 0x40_0000.. (page 2 global), a TLB of `setCount` × `wayCount`. */
  function machine() {
    const config = QUIZ_MODE_CONFIG['4level'];
    const { memory, mapper } = newMachine(new SeededRandom(3), config);
    for (let k = 0; k < 4; k++) mapper.mapPages(0x40_0000 + k * 0x1000, 0x80_000 + k * 0x1000, 1, PTE.Present | PTE.Writable | PTE.User | (k === 2 ? PTE.Global : 0));
    return { memory, mapper };
  }

  it('a full set evicts its ways in turn; INVLPG empties one way, which the next miss takes (SDM 4.10.2, 4.10.4.1)', () => {
    const { memory, mapper } = machine();
    const read = (va: number) => ({ op: 'access' as const, va, access: Access.Read });
    const run = runTlbSteps(memory, mapper, { setCount: 1, wayCount: 2 }, [read(0x40_0000), read(0x40_1000), read(0x40_3000), { op: 'invlpg', va: 0x40_1000 }, read(0x40_0000)]);
    expect(run.lines).toEqual([
      '#1 user read of 0x40_0000: TLB miss: walk → 0x8_0000, cached in set 0; TLB [0x40_0000, -]',
      '#2 user read of 0x40_1000: TLB miss: walk → 0x8_1000, cached in set 0; TLB [0x40_0000, 0x40_1000]',
      '#3 user read of 0x40_3000: TLB miss: walk → 0x8_3000, cached in set 0, evicting 0x40_0000; TLB [0x40_3000, 0x40_1000]',
      '#4 INVLPG 0x40_1000: drops 0x40_1000; TLB [0x40_3000, -]',
      '#5 user read of 0x40_0000: TLB miss: walk → 0x8_0000, cached in set 0; TLB [0x40_3000, 0x40_0000]',
    ]);
  });

  it('MOV to CR3 keeps global entries, a CR4.PGE toggle drops them too (SDM 4.10.4.1)', () => {
    const { memory, mapper } = machine();
    const read = (va: number) => ({ op: 'access' as const, va, access: Access.Read });
    const run = runTlbSteps(memory, mapper, tlbGeometry(2), [read(0x40_1000), read(0x40_2000), { op: 'cr3' }]);
    expect(tlbPages(run.cpu)).toEqual([0x40_2000]);
    expect(run.lines[2]).toBe('#3 MOV to CR3 (the same PML4 again): drops every non-global entry (global kept: 0x40_2000) (SDM 4.10.4.1); TLB set 0 [0x40_2000 G, -] set 1 [-, -]');
    const again = runTlbSteps(memory, mapper, tlbGeometry(2), [read(0x40_2000), { op: 'pge' }]);
    expect(tlbPages(again.cpu)).toEqual([]);
  });

  it('after a PTE change without INVLPG the next access uses the cached frame; with INVLPG the new one (SDM 4.10.4)', () => {
    const { memory, mapper } = machine();
    const image = memory.exportBytes();
    const steps = [{ op: 'access' as const, va: 0x40_1234, access: Access.Read }, { op: 'remap' as const, va: 0x40_1000, frame: 0x9_0000 }];
    const stale = runTlbSteps(memory, mapper, tlbGeometry(2), [...steps, { op: 'access', va: 0x40_1238, access: Access.Read }]);
    expect(stale.last.pa).toBe(0x8_1238);
    expect(stale.lines[2]).toContain('TLB hit → 0x8_1238 — stale: ');
    expect(stale.lines[2]).toContain('the tables now give 0x9_0238');
    memory.importBytes(0, image);
    const flushed = runTlbSteps(memory, mapper, tlbGeometry(2), [...steps, { op: 'invlpg', va: 0x40_1000 }, { op: 'access', va: 0x40_1238, access: Access.Read }]);
    expect(flushed.last.pa).toBe(0x9_0238);
  });

  it('a fault caches nothing and drops the page’s cached entry (SDM 4.10.4.1)', () => {
    const { memory, mapper } = machine();
    mapper.updateFlags(0x40_3000, 1, PTE.Present | PTE.User); // read-only now
    const run = runTlbSteps(memory, mapper, tlbGeometry(2), [
      { op: 'access', va: 0x40_3000, access: Access.Read },
      { op: 'access', va: 0x40_3000, access: Access.Write },
    ]);
    expect(run.lines[1]).toContain('#PF 0x7');
    expect(run.lines[1]).toContain('the fault drops the cached 0x40_3000');
    expect(tlbPages(run.cpu)).toEqual([]);
  });

  it('the same seed gives the same JSON; another seed another set; other modes are refused', () => {
    for (const d of [1, 2, 3]) {
      const a = JSON.stringify(generateExercises('tlb', 9, 5, d));
      expect(JSON.stringify(generateExercises('tlb', 9, 5, d))).toBe(a);
      expect(JSON.stringify(generateExercises('tlb', 10, 5, d))).not.toBe(a);
    }
    expect(() => generateExercises('tlb', 9, 5, 2, 'pae')).toThrow(/4-level paging only/);
  });
});
