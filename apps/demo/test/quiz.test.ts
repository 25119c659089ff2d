// Exercises: deterministic from the seed (same JSON in the library call and the CLI), every answer
// re-asked of x86-paging (a Cpu's translate on the exercise machine, decodeEntry on the entry), and
// the CLI's --answers verdicts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { Cpu, decodeEntry, formatPa } from '@kmem/x86-paging';
import { checkAnswer, generateExercises } from '../src/quiz/quiz';
import { pteAnswer, pteExercises } from '../src/quiz/pte-exercises';
import { SeededRandom } from '../src/quiz/seeded-random';
import { translateExercises } from '../src/quiz/translate-exercises';
import { groupedHex, parseTypedNumber } from '../src/quiz/hex';
import { QUIZ_MODES, QUIZ_MODE_CONFIG } from '../src/quiz/quiz-machine';
import { quizSheetHtml } from '../src/quiz/quiz-sheet';
import { cliCommand } from './cli-bundle';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function quiz(initCwd: string, ...args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [...cliCommand(), 'quiz', ...args], { cwd: appDir, encoding: 'utf8', timeout: 60_000, input: '', env: { ...process.env, INIT_CWD: initCwd } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe('quiz exercises', () => {
  test.prop([fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 3 }), fc.constantFrom(...QUIZ_MODES)], { numRuns: 30 })('every translate answer is what x86-paging\'s Cpu does on the exercise machine, in every paging mode (SDM 4.3-4.7)', (seed, difficulty, mode) => {
    const { set, machine } = translateExercises(new SeededRandom(seed), 6, difficulty, mode);
    const cpu = new Cpu({ memory: machine.memory, registers: { ...machine.registers, cr3Frame: machine.cr3Frame }, tlb: false });
    expect(cpu.pagingMode).toBe(QUIZ_MODE_CONFIG[mode].paging);
    set.exercises.forEach((ex, i) => {
      const q = machine.questions[i]!;
      const r = cpu.translate(q.va, q.access, q.mode);
      expect(ex.answer).toBe(r.fault ? `#PF ${groupedHex(r.errorCode)}` : groupedHex(r.pa));
      expect(checkAnswer(ex, ex.answer)).toBe(true);
      expect(checkAnswer(ex, r.fault ? formatPa(0x1234) : `#PF ${r.errorCode ^ 1}`)).toBe(false);
    });
  });

  test.prop([fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 3 })], { numRuns: 30 })('every pte answer is decodeEntry of the entry in the question (SDM 4.5, Tables 4-14 to 4-20)', (seed, difficulty) => {
    for (const ex of pteExercises(new SeededRandom(seed), 5, difficulty).exercises) {
      const m = /the (PML4|PDPT|PD|PT) entry 0x([0-9a-f_]+) mean/.exec(ex.question)!;
      const hex = m[2]!.replace(/_/g, '');
      const level = ['PT', 'PD', 'PDPT', 'PML4'].indexOf(m[1]!) + 1;
      const d = decodeEntry(parseInt(hex.slice(8), 16) | 0, parseInt(hex.slice(0, 8), 16) | 0, level);
      expect(ex.answer).toBe(pteAnswer(d.pa, d.flagNames));
      const words = ex.answer.split(' ');
      // The address must come first; an entry with no flag set has a one-word answer, where the
      // reversed answer is the answer itself, so a wrong address stands in for it there.
      if (words.length > 1) expect(checkAnswer(ex, [...words].reverse().join(' '))).toBe(false);
      else expect(checkAnswer(ex, groupedHex(d.pa + 0x1000))).toBe(false);
      expect(checkAnswer(ex, `${groupedHex(d.pa)} ${[...d.flagNames].reverse().join(' ').toLowerCase()}`)).toBe(true);
      expect(checkAnswer(ex, `${groupedHex(d.pa)} ${d.flagNames.join(' ')} G`)).toBe(d.flagNames.includes('G'));
    }
  });

  it("the README's --answers example is what it says: the first answer right, the second wrong", () => {
    const readme = readFileSync(join(appDir, 'README.md'), 'utf8');
    const m = /demo quiz --seed (\d+) --count (\d+) --answers "([^"]+)"\s+# checks given answers: the first is right, the second wrong/.exec(readme);
    expect(m).not.toBeNull();
    const set = generateExercises('translate', Number(m![1]), Number(m![2]), 2); // the CLI's default difficulty
    const given = m![3]!.split(';');
    expect(given.map((a, i) => checkAnswer(set.exercises[i]!, a))).toEqual([true, false]);
  });

  it('the same seed gives the same exercises; another seed others', () => {
    const a = JSON.stringify(generateExercises('translate', 7, 10, 2));
    expect(JSON.stringify(generateExercises('translate', 7, 10, 2))).toBe(a);
    expect(JSON.stringify(generateExercises('translate', 8, 10, 2))).not.toBe(a);
    expect(JSON.stringify(generateExercises('pte', 7, 10, 2))).toBe(JSON.stringify(generateExercises('pte', 7, 10, 2)));
    for (const mode of QUIZ_MODES) {
      const m = JSON.stringify(generateExercises('translate', 7, 10, 3, mode));
      expect(JSON.stringify(generateExercises('translate', 7, 10, 3, mode))).toBe(m);
      expect(JSON.stringify(generateExercises('translate', 8, 10, 3, mode))).not.toBe(m);
      if (mode !== '4level') expect(m).not.toBe(JSON.stringify(generateExercises('translate', 7, 10, 3)));
    }
    expect(parseTypedNumber('0x12_3000')).toBe(0x12_3000);
  });

  it('the CLI: --json equals the library call; --answers gives verdicts and explanations; --sheet puts answers on a separate page', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmem-quiz-'));
    const json = quiz(dir, '--seed', '7', '--kind', 'translate', '--count', '4', '--json');
    expect(json.status).toBe(0);
    const set = generateExercises('translate', 7, 4, 2);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(JSON.stringify(set)));
    const wrong = set.exercises[1]!.answer.startsWith('#PF') ? '0x1000' : '#PF 0x1';
    const checked = quiz(dir, '--seed', '7', '--count', '2', '--answers', `${set.exercises[0]!.answer};${wrong}`);
    expect(checked.status).toBe(1);
    expect(checked.stdout).toContain(`1. right: you said ${set.exercises[0]!.answer}`);
    expect(checked.stdout).toContain(`2. wrong: you said ${wrong}, the answer is ${set.exercises[1]!.answer}`);
    expect(checked.stdout).toContain(set.exercises[1]!.explanation.at(-1)!);
    expect(checked.stdout).toContain('1 of 2 right');
    expect(quiz(dir, '--seed', '7', '--count', '2', '--answers', set.exercises.slice(0, 2).map((e) => e.answer).join(';')).status).toBe(0);
    expect(quiz(dir, '--kind', 'pte', '--seed', '3', '--sheet', 'pte.md').status).toBe(0);
    const sheet = readFileSync(join(dir, 'pte.md'), 'utf8');
    const breakAt = sheet.indexOf('page-break-before');
    const first = generateExercises('pte', 3, 10, 2).exercises[0]!;
    expect(breakAt).toBeGreaterThan(sheet.indexOf(first.question));
    expect(sheet.indexOf(`**${first.answer}**`)).toBeGreaterThan(breakAt);
    const modeJson = quiz(dir, '--kind', 'translate', '--mode', '32bit', '--seed', '7', '--count', '3', '--json');
    expect(JSON.parse(modeJson.stdout)).toEqual(JSON.parse(JSON.stringify(generateExercises('translate', 7, 3, 2, '32bit'))));
    const ad = generateExercises('ad', 4, 2, 2, 'pae');
    const adChecked = quiz(dir, '--kind', 'ad', '--mode', 'pae', '--seed', '4', '--count', '2', '--answers', `${ad.exercises[0]!.answer};A: none, D: none`);
    expect(adChecked.stdout).toContain(`1. right: you said ${ad.exercises[0]!.answer}`);
    expect(adChecked.stdout).toContain(`2. wrong: you said A: none, D: none, the answer is ${ad.exercises[1]!.answer}`);
    expect(adChecked.stdout).toContain(ad.exercises[1]!.explanation[0]!);
    expect(adChecked.status).toBe(1);
    expect(quiz(dir, '--kind', 'tlb', '--seed', '9', '--count', '3', '--sheet', 'tlb.html').status).toBe(0);
    const html = readFileSync(join(dir, 'tlb.html'), 'utf8');
    const tlbSet = generateExercises('tlb', 9, 3, 2);
    expect(html).toBe(quizSheetHtml(tlbSet));
    const pageBreak = html.indexOf('<section class="answers">');
    expect(html).toMatch(/section\.answers \{ break-before: page;/);
    expect(html.indexOf('Which')).toBeLessThan(pageBreak);
    expect(html.indexOf(`<strong class="answer">${tlbSet.exercises[0]!.answer}</strong>`)).toBeGreaterThan(pageBreak);
    expect(html).not.toMatch(/<script|<link|src=/); // self-contained
    const refused = quiz(dir, '--kind', 'evict', '--mode', '5level');
    expect(refused.status).toBe(2);
    expect(refused.stderr).toBe('kmem-demo quiz: E_ARG: kind evict comes in 4-level paging only (--mode 5level applies to translate and ad)\n');
    const bad = quiz(dir, '--kind', 'nope');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^kmem-demo quiz: E_ARG: /);
  });
});
