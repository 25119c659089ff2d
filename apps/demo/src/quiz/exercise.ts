// What an exercise is, whatever its kind: a question, the expected answer in a checkable form, and
// the explanation, all plain data (the terminal, the sheet and tests read the same JSON).
import type { QuizMode } from './quiz-machine';

/** Exercise kinds generated so far. */
export const QUIZ_KINDS = ['translate', 'pte', 'evict', 'ad', 'tlb'] as const;
/** One of QUIZ_KINDS. */
export type QuizKind = (typeof QUIZ_KINDS)[number];

/** One exercise. */
export interface Exercise {
  readonly kind: QuizKind;
  /** 1-based number within its set. */
  readonly number: number;
  /** The question, one line. */
  readonly question: string;
  /** The expected answer, canonical (`0x12_3456`, `#PF 0x5`, `0x12_3000 P RW US A NX`). */
  readonly answer: string;
  /** Why: the library's walk or decode, line by line. */
  readonly explanation: readonly string[];
  /**
   * How the answer is written when it is not a number, `#PF code` or an address with flags:
   * `ad` — `A: PML4[0] PT1[5], D: PT1[5]` (entry names, `none` for no entry); `pages` — page
   * addresses in any order, or `none`.
   */
  readonly form?: 'ad' | 'pages';
}

/** Kinds that come in every paging mode (`--mode`); the others are 4-level only or need none. */
export const MODE_KINDS: readonly QuizKind[] = ['translate', 'ad'];

/** A set of exercises sharing one machine (translate, ad, tlb) or none (pte, evict). */
export interface ExerciseSet {
  readonly kind: QuizKind;
  readonly seed: number;
  readonly difficulty: number;
  /** The paging mode, when not 4-level (translate and ad). */
  readonly mode?: QuizMode;
  /** What the student is given: registers and page-table contents, one line each. */
  readonly given: readonly string[];
  readonly exercises: readonly Exercise[];
}
