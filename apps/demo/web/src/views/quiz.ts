// Exercises on the page: the terminal quiz's seeded generators (src/quiz/), answer boxes checked as
// you type Enter, the explanation with each verdict, and the printable sheets (Markdown or HTML,
// answers on a separate page). Same kind, mode, seed, difficulty and count → the same exercises as
// `npx pnpm@10 demo quiz`.
import { MODE_KINDS, QUIZ_KINDS, type Exercise, type ExerciseSet, type QuizKind } from '../../../src/quiz/exercise';
import { checkAnswer, generateExercises } from '../../../src/quiz/quiz';
import { QUIZ_MODES, type QuizMode } from '../../../src/quiz/quiz-machine';
import { quizSheet, quizSheetHtml } from '../../../src/quiz/quiz-sheet';
import { h } from '../shell/dom';
import type { WebView } from '../shell/view';

function input(id: string, value: string, attrs: Record<string, string> = {}): HTMLInputElement {
  return h('input', { id, value, spellcheck: 'false', autocomplete: 'off', ...attrs });
}

/** What an answer box suggests, by the form of its answer. */
function placeholder(ex: Exercise): string {
  if (ex.form === 'ad') return 'A: PD[1] PT2[5], D: PT2[5]';
  if (ex.form === 'pages') return 'page addresses, e.g. 0x47_2000 0x47_5000, or none';
  return ex.kind === 'translate' || ex.kind === 'tlb' ? '0x1234 or #PF 0x5' : ex.kind === 'evict' ? 'a page number, e.g. 4' : '0x12_3000 P RW US';
}

/** Downloads `text` as `name` (a blob URL made on demand: one kept in the page would differ between loads). */
function download(text: string, type: string, name: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  h('a', { href: url, download: name }).click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function exerciseList(set: ExerciseSet): HTMLElement {
  return h(
    'ol',
    { id: 'quiz-list', class: 'quiz-list', 'data-kind': set.kind, 'data-seed': String(set.seed), 'data-mode': set.mode ?? '4level' },
    ...set.exercises.map((ex, i) => {
      const answer = input(`quiz-answer-${i}`, '', { placeholder: placeholder(ex), class: ex.form === undefined ? 'quiz-answer' : 'quiz-answer quiz-answer-wide' });
      const verdict = h('div', { class: 'quiz-verdict', id: `quiz-verdict-${i}` });
      const check = (): void => {
        const right = checkAnswer(ex, answer.value);
        verdict.dataset.verdict = right ? 'right' : 'wrong';
        verdict.replaceChildren(h('strong', {}, right ? 'right' : `wrong: the answer is ${ex.answer}`), h('pre', {}, ex.explanation.join('\n')));
      };
      const form = h('form', { class: 'walk-form' }, answer, h('button', { type: 'submit', id: `quiz-check-${i}` }, 'check'));
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        check();
      });
      return h('li', {}, h('div', {}, ex.question), form, verdict);
    }),
  );
}

function build(body: HTMLElement): void {
  const kind = h('select', { id: 'quiz-kind' }, ...QUIZ_KINDS.map((k) => h('option', { value: k }, k)));
  const mode = h('select', { id: 'quiz-mode', title: 'paging mode (translate and ad)' }, ...QUIZ_MODES.map((m) => h('option', { value: m }, m)));
  mode.value = '4level';
  // Only translate and ad come in every paging mode; the others are 4-level (or need no tables).
  const modeFits = (): void => {
    mode.disabled = !MODE_KINDS.includes(kind.value as QuizKind);
    if (mode.disabled) mode.value = '4level';
  };
  kind.addEventListener('change', modeFits);
  const seed = input('quiz-seed', '7', { size: '8' });
  const difficulty = h('select', { id: 'quiz-difficulty' }, ...[1, 2, 3].map((d) => h('option', { value: String(d) }, `difficulty ${d}`)));
  difficulty.value = '2';
  const count = input('quiz-count', '5', { size: '3' });
  const sheetTitle = 'the questions, then the answers with their explanations on a separate printed page';
  const sheet = h('button', { id: 'quiz-sheet', type: 'button', title: sheetTitle }, 'sheet (Markdown)');
  const sheetHtml = h('button', { id: 'quiz-sheet-html', type: 'button', title: `${sheetTitle} (self-contained HTML: open it and print)` }, 'sheet (HTML)');
  let current: ExerciseSet | null = null;
  const fileName = (set: ExerciseSet, ext: string): string => `kmem-exercises-${set.kind}${set.mode !== undefined ? `-${set.mode}` : ''}-seed${set.seed}.${ext}`;
  sheet.addEventListener('click', () => {
    if (current !== null) download(quizSheet(current), 'text/markdown', fileName(current, 'md'));
  });
  sheetHtml.addEventListener('click', () => {
    if (current !== null) download(quizSheetHtml(current), 'text/html', fileName(current, 'html'));
  });
  const given = h('pre', { id: 'quiz-given', class: 'quiz-given' });
  const list = h('div', {});
  const make = (): void => {
    modeFits();
    const set = generateExercises(kind.value as QuizKind, Number(seed.value) >>> 0, Math.max(1, Math.min(50, Number(count.value) || 5)), Number(difficulty.value), mode.value as QuizMode);
    given.textContent = set.given.join('\n');
    list.replaceChildren(exerciseList(set));
    current = set;
  };
  const form = h('form', { class: 'walk-form', id: 'quiz-form' }, kind, mode, h('label', {}, 'seed', seed), difficulty, h('label', {}, 'count', count), h('button', { type: 'submit', id: 'quiz-new' }, 'exercises'), sheet, sheetHtml);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    make();
  });
  body.append(h('div', { class: 'muted' }, 'Generated from a seed, answered by the library itself (x86-paging\'s Mmu, Cpu and Tlb for translate, ad and tlb, decodeEntry for pte, kernel-sim\'s replacement policies for evict) — the same sets as npx pnpm@10 demo quiz --kind K --mode M --seed N --difficulty D --count C. Type an answer and press Enter.'), form, given, list);
  make();
}

/** The panel. */
export const quizView: WebView = {
  id: 'quiz',
  title: 'Exercises',
  columns: 12,
  render(body: HTMLElement): void {
    // Not about the running machine: built once, kept as the history moves.
    if (body.childElementCount === 0) build(body);
  },
};
