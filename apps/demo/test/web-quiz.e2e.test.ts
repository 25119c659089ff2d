// Exercises on the web page in real Chromium: the same seed gives the exercises the library (and
// `demo quiz`) gives, a right and a wrong answer get the right verdicts with the explanation, and
// the sheet downloaded is the terminal's sheet of the same set.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateExercises } from '../src/quiz/quiz';
import { quizSheet, quizSheetHtml } from '../src/quiz/quiz-sheet';
import { NO_BROWSER, startWebPage, type WebPageHarness } from './web-page-harness';

const POLL = { polling: 100, timeout: 60_000 } as const;

describe.skipIf(NO_BROWSER)('exercises in headless Chromium', () => {
  let web: WebPageHarness;
  beforeAll(async () => {
    web = await startWebPage();
  }, 180_000);
  afterAll(async () => {
    await web?.stop();
  });

  it('shows the seeded set, checks a right and a wrong answer with the explanation, and downloads the sheet', async () => {
    const page = await web.browser.newPage({ viewport: { width: 1440, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(web.url);
    await page.waitForFunction(`document.body.dataset.ready === 'true'`, undefined, POLL);
    // [kind, seed, difficulty, mode, a wrong answer]
    const cases = [
      ['translate', 11, 2, '4level', '0x1'],
      ['pte', 3, 3, '4level', '0x1'],
      ['ad', 4, 2, 'pae', 'A: none, D: none'],
      ['tlb', 9, 2, '4level', '0x1'],
    ] as const;
    for (const [kind, seed, difficulty, mode, wrong] of cases) {
      await page.selectOption('#quiz-kind', kind);
      expect(await page.isDisabled('#quiz-mode')).toBe(kind !== 'translate' && kind !== 'ad');
      if (kind === 'translate' || kind === 'ad') await page.selectOption('#quiz-mode', mode);
      await page.fill('#quiz-seed', String(seed));
      await page.selectOption('#quiz-difficulty', String(difficulty));
      await page.fill('#quiz-count', '4');
      await page.click('#quiz-new');
      await page.waitForFunction(`document.getElementById('quiz-list')?.dataset.seed === '${seed}' && document.getElementById('quiz-list').dataset.kind === '${kind}' && document.getElementById('quiz-list').dataset.mode === '${mode}'`, undefined, POLL);
      const set = generateExercises(kind, seed, 4, difficulty, mode);
      expect(await page.textContent('#quiz-given')).toBe(set.given.join('\n'));
      expect(await page.locator('#quiz-list > li > div:first-child').allTextContents()).toEqual(set.exercises.map((e) => e.question));
      // Right: the library's answer (typed in lower case); wrong: another number.
      await page.fill('#quiz-answer-0', set.exercises[0]!.answer.toLowerCase());
      await page.press('#quiz-answer-0', 'Enter');
      expect(set.exercises[1]!.answer).not.toBe(wrong);
      await page.fill('#quiz-answer-1', wrong);
      await page.click('#quiz-check-1');
      expect(await page.getAttribute('#quiz-verdict-0', 'data-verdict')).toBe('right');
      expect(await page.getAttribute('#quiz-verdict-1', 'data-verdict')).toBe('wrong');
      expect(await page.textContent('#quiz-verdict-1 strong')).toBe(`wrong: the answer is ${set.exercises[1]!.answer}`);
      expect(await page.textContent('#quiz-verdict-1 pre')).toBe(set.exercises[1]!.explanation.join('\n'));
      expect(await page.textContent('#quiz-verdict-0 pre')).toBe(set.exercises[0]!.explanation.join('\n'));
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#quiz-sheet')]);
      expect(readFileSync(await download.path(), 'utf8')).toBe(quizSheet(set));
      const [html] = await Promise.all([page.waitForEvent('download'), page.click('#quiz-sheet-html')]);
      expect(html.suggestedFilename()).toBe(`kmem-exercises-${kind}${mode === '4level' ? '' : `-${mode}`}-seed${seed}.html`);
      expect(readFileSync(await html.path(), 'utf8')).toBe(quizSheetHtml(set));
      if (kind === 'translate') await page.locator('#view-quiz').screenshot({ path: 'test-output/web-quiz.png' });
      if (kind === 'ad') await page.locator('#view-quiz').screenshot({ path: 'test-output/web-quiz-ad.png' });
    }
    // The HTML sheet printed: the answers section starts a new page (CSS break-before: page).
    const sheetPage = await web.browser.newPage();
    await sheetPage.setContent(quizSheetHtml(generateExercises('ad', 4, 4, 2, 'pae')));
    expect(await sheetPage.$eval('section.answers', (e) => getComputedStyle(e).breakBefore)).toBe('page');
    expect(await sheetPage.$$eval('ol.questions > li', (l) => l.length)).toBe(4);
    await sheetPage.close();
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
