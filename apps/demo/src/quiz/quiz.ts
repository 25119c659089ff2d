// Exercise sets from a seed, a kind, a difficulty and a paging mode, and checking a typed answer
// against one.
import { adExercises } from './ad-exercises';
import { MODE_KINDS, type Exercise, type ExerciseSet, type QuizKind } from './exercise';
import { parseTypedNumber } from './hex';
import { evictExercises } from './evict-exercises';
import { pteExercises } from './pte-exercises';
import type { QuizMode } from './quiz-machine';
import { SeededRandom } from './seeded-random';
import { tlbExercises } from './tlb-exercises';
import { translateExercises } from './translate-exercises';

/** A kind that has no paging-mode variants was asked for in another mode than 4-level. */
export class QuizModeError extends Error {
  readonly code = 'E_ARG';
  constructor(kind: QuizKind, mode: QuizMode) {
    super(`kind ${kind} comes in 4-level paging only (--mode ${mode} applies to ${MODE_KINDS.join(' and ')})`);
    this.name = 'QuizModeError';
  }
}

/**
 * The same (kind, seed, count, difficulty, mode) gives the same set, in the terminal, the web page,
 * the sheet and tests.
 * @throws QuizModeError for a mode other than 4-level with a kind not in MODE_KINDS
 */
export function generateExercises(kind: QuizKind, seed: number, count: number, difficulty: number, mode: QuizMode = '4level'): ExerciseSet {
  if (mode !== '4level' && !MODE_KINDS.includes(kind)) throw new QuizModeError(kind, mode);
  const rng = new SeededRandom(seed);
  const set =
    kind === 'translate'
      ? translateExercises(rng, count, difficulty, mode).set
      : kind === 'ad'
        ? adExercises(rng, count, difficulty, mode).set
        : kind === 'tlb'
          ? tlbExercises(rng, count, difficulty).set
          : kind === 'pte'
            ? pteExercises(rng, count, difficulty)
            : evictExercises(rng, count, difficulty);
  return { ...set, seed };
}

function words(text: string): string[] {
  return text.trim().toUpperCase().replace(/[,;]/g, ' ').split(/\s+/).filter((w) => w !== '');
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((w) => y.has(w));
}

/** The entry names after `A:` and after `D:` in an ad answer (`none` or nothing: no entry), or null when malformed. */
export function parseAdAnswer(text: string): { accessed: string[]; dirty: string[] } | null {
  const m = /^\s*A\s*:?(.*?)[\s,;]*\bD\s*:?(.*)$/is.exec(text);
  if (m === null) return null;
  const names = (part: string): string[] | null => {
    const ws = words(part.replace(/\s*\[\s*/g, '[').replace(/\s*\]/g, ']'));
    if (ws.length === 1 && (ws[0] === 'NONE' || ws[0] === '-')) return [];
    return ws.every((w) => /^[A-Z0-9]+\[\d+\]$/.test(w)) ? ws.map((w) => w.replace(/\[0+(\d)/, '[$1')) : null;
  };
  const accessed = names(m[1]!);
  const dirty = names(m[2]!);
  return accessed === null || dirty === null ? null : { accessed, dirty };
}

/** The pages a typed list names (any address in a page names the page; `none`: no page), or null when a word is not a number. */
export function parsePageList(text: string): number[] | null {
  const ws = words(text);
  if (ws.length === 1 && (ws[0] === 'NONE' || ws[0] === '-')) return [];
  const pages = ws.map((w) => parseTypedNumber(w.toLowerCase()));
  return pages.every((p): p is number => p !== null) ? pages.map((p) => p - (p % 4096)) : null;
}

/**
 * Whether `typed` says what `ex.answer` says (numbers in any width, `#PF 5` = `#PF 0x5`, flags,
 * entries and pages in any order).
 */
export function checkAnswer(ex: Exercise, typed: string): boolean {
  if (ex.form === 'ad') {
    const want = parseAdAnswer(ex.answer)!;
    const got = parseAdAnswer(typed);
    return got !== null && sameSet(got.accessed, want.accessed) && sameSet(got.dirty, want.dirty);
  }
  if (ex.form === 'pages') {
    const got = parsePageList(typed);
    return got !== null && sameSet(got.map(String), parsePageList(ex.answer)!.map(String));
  }
  const want = words(ex.answer);
  const got = words(typed.replace(/^\s*(#?pf|fault)\b/i, '#PF '));
  if (want[0] === '#PF') return got[0] === '#PF' && got.length === 2 && parseTypedNumber(got[1]!.replace(/^0X/, '0x')) === parseTypedNumber(want[1]!.replace(/^0X/, '0x'));
  if (got.length === 0) return false;
  const num = (w: string): number | null => parseTypedNumber(w.replace(/^0X/, '0x').toLowerCase());
  if (num(got[0]!) === null || num(got[0]!) !== num(want[0]!)) return false;
  return sameSet(want.slice(1), got.slice(1));
}
