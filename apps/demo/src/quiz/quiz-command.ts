// `npx pnpm@10 demo quiz`: x86 paging exercises from a seed, asked and checked in the terminal,
// checked from --answers, printed as JSON, or written as a printable sheet.
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseCommandLine, reportError } from '../cli-errors';
import { userPath } from '../load';
import { QUIZ_KINDS, type Exercise, type ExerciseSet, type QuizKind } from './exercise';
import { checkAnswer, generateExercises } from './quiz';
import { QUIZ_MODES, type QuizMode } from './quiz-machine';
import { quizSheet, quizSheetHtml } from './quiz-sheet';

interface QuizOptions {
  seed: number;
  kind: QuizKind;
  count: number;
  difficulty: number;
  mode: QuizMode;
  json: boolean;
  answers?: string;
  sheet?: string;
}

function integer(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

/** The quiz command line, without running it. */
export function makeQuizCommand(): Command {
  return new Command('kmem-demo quiz')
    .description('x86 paging exercises generated from a seed and answered by the simulator (x86-paging\'s Mapper, Mmu, Cpu, Tlb and decodeEntry; kernel-sim\'s replacement policies): asked and checked one by one, or checked from --answers, or printed as JSON or a sheet.')
    .option('--seed <n>', 'seed: the same seed gives the same exercises', integer(0, 2 ** 32 - 1), 1)
    .addOption(new Option('--kind <kind>', 'translate (virtual address → physical address or #PF with error code), pte (what an entry means), evict (which page FIFO / Clock / LRU / OPT evicts), ad (which A/D bits a sequence of accesses sets) or tlb (what the TLB holds after a sequence with INVLPG, CR3 reloads, a changed PTE)').choices(QUIZ_KINDS).default('translate'))
    .addOption(new Option('--mode <mode>', 'paging mode of translate and ad exercises: 32bit, pae, 4level or 5level').choices(QUIZ_MODES).default('4level'))
    .option('--count <n>', 'number of exercises', integer(1, 100), 10)
    .option('--difficulty <n>', '1 to 3. translate: 1 user reads of 4 KiB pages, 2 reads/writes/fetches, user and supervisor, NX, 3 and a large page; ad: 2 adds supervisor accesses, a large page, not-present pages; tlb: 1 a 4-way TLB, reads and INVLPG, 2 a 2 x 2 TLB, writes, CR3 reloads, global pages, 3 CR4.PGE toggles and faulting accesses', integer(1, 3), 2)
    .option('--answers <list>', 'check these answers, separated by ";" (e.g. "0x8_1234;#PF 0x7"), print verdicts and explanations, exit 1 if any is wrong')
    .option('--json', 'print the exercises and answers as one JSON document', false)
    .option('--sheet <file>', 'write a printable sheet (answers on a separate page) to FILE: self-contained HTML when FILE ends in .html or .htm, else Markdown')
    .addHelpText('after', '\nExamples:\n  npx pnpm@10 demo quiz --seed 7 --kind translate --count 10\n  npx pnpm@10 demo quiz --kind translate --mode 32bit --seed 7 --count 5\n  npx pnpm@10 demo quiz --kind ad --seed 4 --count 3\n  npx pnpm@10 demo quiz --kind tlb --seed 9 --count 4 --sheet tlb.html\n  npx pnpm@10 demo quiz --kind pte --seed 3 --sheet pte.md\n  npx pnpm@10 demo quiz --kind evict --seed 5 --count 4\n  npx pnpm@10 demo quiz --seed 7 --count 2 --answers "0x9_2345;#PF 0x5"\n  npx pnpm@10 --silent demo quiz --seed 7 --json | jq .exercises');
}

function verdict(ex: Exercise, typed: string): string[] {
  const ok = checkAnswer(ex, typed);
  return [`${ex.number}. ${ok ? 'right' : 'wrong'}: you said ${typed.trim() === '' ? '(nothing)' : typed.trim()}${ok ? '' : `, the answer is ${ex.answer}`}`, ...ex.explanation.map((l) => `     ${l}`)];
}

function given(set: ExerciseSet): string {
  return `x86 paging exercises: ${set.kind}${set.mode !== undefined ? ` (${set.mode})` : ''}, seed ${set.seed}, difficulty ${set.difficulty}\n\n${set.given.join('\n')}\n`;
}

async function ask(set: ExerciseSet): Promise<number> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  let right = 0;
  try {
    process.stdout.write(`${given(set)}\n`);
    for (const ex of set.exercises) {
      const typed = await rl.question(`${ex.number}. ${ex.question}\n> `);
      if (checkAnswer(ex, typed)) right++;
      process.stdout.write(`${verdict(ex, typed).join('\n')}\n\n`);
    }
  } finally {
    rl.close();
  }
  process.stdout.write(`${right} of ${set.exercises.length} right\n`);
  return right === set.exercises.length ? 0 : 1;
}

async function runQuiz(opts: QuizOptions): Promise<number> {
  const set = generateExercises(opts.kind, opts.seed, opts.count, opts.difficulty, opts.mode);
  if (opts.sheet !== undefined) {
    writeFileSync(userPath(opts.sheet), /\.html?$/i.test(opts.sheet) ? quizSheetHtml(set) : quizSheet(set));
    process.stderr.write(`sheet written to ${userPath(opts.sheet)}\n`);
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(set, null, 1)}\n`);
    return 0;
  }
  if (opts.answers !== undefined) {
    const typed = opts.answers.split(';');
    let right = 0;
    const lines = [given(set)];
    for (const ex of set.exercises) {
      const t = typed[ex.number - 1] ?? '';
      if (checkAnswer(ex, t)) right++;
      lines.push(`${ex.number}. ${ex.question}`, ...verdict(ex, t), '');
    }
    process.stdout.write(`${lines.join('\n')}\n${right} of ${set.exercises.length} right\n`);
    return right === set.exercises.length ? 0 : 1;
  }
  if (opts.sheet !== undefined) return 0;
  if (process.stdin.isTTY !== true) {
    // Not a terminal: print the exercises with their answers (like OSTEP's generators with -c).
    process.stdout.write(`${given(set)}\n${set.exercises.map((e) => `${e.number}. ${e.question}\n   answer: ${e.answer}\n${e.explanation.map((l) => `     ${l}`).join('\n')}`).join('\n\n')}\n`);
    return 0;
  }
  return ask(set);
}

/** `kmem-demo quiz ARGS`: resolves to the exit code (0; 1 when an answer was wrong; 2 bad input). */
export async function quizMain(argv: readonly string[]): Promise<number> {
  const command = makeQuizCommand();
  const refused = parseCommandLine(command, argv, 'kmem-demo quiz');
  if (refused !== null) return refused;
  try {
    return await runQuiz(command.opts<QuizOptions>());
  } catch (e) {
    return reportError(e, 'kmem-demo quiz');
  }
}
