// Exercises on the page: the terminal quiz's seeded generators (src/quiz/), answer boxes checked as
// you type Enter, the explanation with each verdict, and the printable sheet (answers on a separate
// page). Same kind, seed, difficulty and count → the same exercises as `npx pnpm@10 demo quiz`.
import { QUIZ_KINDS, type ExerciseSet, type QuizKind } from '../../../src/quiz/exercise';
import { checkAnswer, generateExercises } from '../../../src/quiz/quiz';
import { quizSheet } from '../../../src/quiz/quiz-sheet';
import { h } from '../shell/dom';
import type { WebView } from '../shell/view';

function input(id: string, value: string, attrs: Record<string, string> = {}): HTMLInputElement {
  return h('input', { id, value, spellcheck: 'false', autocomplete: 'off', ...attrs });
}

function exerciseList(set: ExerciseSet): HTMLElement {
  return h(
    'ol',
    { id: 'quiz-list', class: 'quiz-list', 'data-kind': set.kind, 'data-seed': String(set.seed) },
    ...set.exercises.map((ex, i) => {
      const answer = input(`quiz-answer-${i}`, '', { placeholder: ex.kind === 'translate' ? '0x1234 or #PF 0x5' : ex.kind === 'evict' ? 'a page number, e.g. 4' : '0x12_3000 P RW US', class: 'quiz-answer' });
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
  const seed = input('quiz-seed', '7', { size: '8' });
  const difficulty = h('select', { id: 'quiz-difficulty' }, ...[1, 2, 3].map((d) => h('option', { value: String(d) }, `difficulty ${d}`)));
  difficulty.value = '2';
  const count = input('quiz-count', '5', { size: '3' });
  const sheet = h('button', { id: 'quiz-sheet', type: 'button', title: 'the questions, then the answers with their explanations on a separate printed page' }, 'sheet (Markdown)');
  let current: ExerciseSet | null = null;
  sheet.addEventListener('click', () => {
    if (current === null) return;
    // Made on demand: a blob URL kept in the page would differ from one page load to the next.
    const url = URL.createObjectURL(new Blob([quizSheet(current)], { type: 'text/markdown' }));
    const a = h('a', { href: url, download: `kmem-exercises-${current.kind}-seed${current.seed}.md` });
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
  const given = h('pre', { id: 'quiz-given', class: 'quiz-given' });
  const list = h('div', {});
  const make = (): void => {
    const set = generateExercises(kind.value as QuizKind, Number(seed.value) >>> 0, Math.max(1, Math.min(50, Number(count.value) || 5)), Number(difficulty.value));
    given.textContent = set.given.join('\n');
    list.replaceChildren(exerciseList(set));
    current = set;
  };
  const form = h('form', { class: 'walk-form', id: 'quiz-form' }, kind, h('label', {}, 'seed', seed), difficulty, h('label', {}, 'count', count), h('button', { type: 'submit', id: 'quiz-new' }, 'exercises'), sheet);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    make();
  });
  body.append(h('div', { class: 'muted' }, 'Generated from a seed, answered by the library itself (x86-paging for translate and pte, kernel-sim\'s replacement policies for evict) (the same sets as npx pnpm@10 demo quiz --kind K --seed N --difficulty D --count C). Type an answer and press Enter.'), form, given, list);
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
