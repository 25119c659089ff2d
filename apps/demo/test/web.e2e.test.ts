// The web visualizer end to end: build and serve it (web-page-harness.ts), drive Debian's
// Chromium with playwright-core, step the scenario, walk addresses (typed and clicked) and check
// that the walk on the page is the library's walk of the same address in the same run.
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoSession } from '../src/scenarios/index';
import { NO_BROWSER, PAGE_POLL, appDir, openPage, pageTimeline, startWebPage, type WebPageHarness } from './web-page-harness';

const outputDir = join(appDir, 'test-output');
const POLL = PAGE_POLL;

/** The same run in Node: the page's defaults (128 MiB q35 map, higher-half, tour, the static PIE). */
function nodeSession(steps: number): DemoSession {
  return pageTimeline('tour').replay(steps, () => null).session;
}

interface ShownLevel {
  level: string;
  index: number;
  raw: string;
  present: boolean;
  pa: number;
}

async function shownWalk(page: Page): Promise<{ va: string; levels: ShownLevel[]; pa: string }> {
  await page.waitForFunction(`document.getElementById('walk').dataset.done === 'true'`, undefined, POLL);
  return page.evaluate(() => {
    const box = document.getElementById('walk')!;
    const levels = Array.from(box.querySelectorAll<HTMLElement>('.walk-level')).map((el) => ({
      level: el.dataset.level!,
      index: Number(el.dataset.index),
      raw: el.dataset.raw!,
      present: el.dataset.present === 'true',
      pa: Number(el.dataset.pa),
    }));
    return { va: box.dataset.va!, levels, pa: document.getElementById('walk-result')!.dataset.pa! };
  });
}

function expected(s: DemoSession, va: number, pid: number): { va: string; levels: ShownLevel[]; pa: string } {
  const p = s.kernel.processes.list().find((x) => x.pid === pid)!;
  // The library's own walk of the process's tables.
  const steps = s.kernel.mapperFor(p.root).walk(va);
  const hex = (hi: number, lo: number): string => {
    const h = (hi >>> 0).toString(16).padStart(8, '0');
    const l = (lo >>> 0).toString(16).padStart(8, '0');
    return `0x${h.slice(0, 4)}_${h.slice(4)}_${l.slice(0, 4)}_${l.slice(4)}`;
  };
  const last = steps[steps.length - 1]!;
  return {
    va: s.walk(va, pid).vaHex,
    levels: steps.map((st) => ({ level: st.levelName, index: st.index, raw: hex(st.entry.hi, st.entry.lo), present: st.entry.present, pa: st.entry.pa })),
    pa: last.entry.leaf ? String(last.entry.pa + (va % last.entry.pageSizeBytes)) : 'null',
  };
}

describe.skipIf(NO_BROWSER)('web visualizer in headless Chromium', () => {
  let web: WebPageHarness;
  beforeAll(async () => {
    web = await startWebPage();
  }, 180_000);
  afterAll(async () => web?.stop());

  it('steps the scenario, walks a typed and a clicked address exactly as the library does, and saves a screenshot', async () => {
    const page = await web.browser.newPage({ viewport: { width: 1440, height: 1200 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await openPage(page, web.url);

    // Eight boot steps, kmalloc, exec, the worker's demand paging: 11 steps.
    const STEPS = 11;
    for (let i = 1; i <= STEPS; i++) {
      await page.click('#btn-step');
      await page.waitForFunction(`document.body.dataset.step === '${i}'`, undefined, POLL);
    }
    expect(await page.textContent('#steps li.current')).toContain('demand paging');
    const node = nodeSession(STEPS);

    // Type the worker's buffer address (pid 2 mmaps 64 KiB and writes its first 8 pages).
    const worker = node.kernel.processes.list().find((p) => p.name === 'worker')!;
    const buffer = worker.regions().find((r) => r.kind === 'mmap')!.start;
    const va = buffer + 3 * 4096 + 0x2a8;
    await page.selectOption('#walk-pid', String(worker.pid));
    await page.fill('#walk-address', `0x${va.toString(16)}`);
    await page.click('#btn-walk');
    const typed = await shownWalk(page);
    expect(typed).toEqual(expected(node, va, worker.pid));
    expect(typed.levels.map((l) => l.level)).toEqual(['PML4', 'PDPT', 'PD', 'PT']);
    expect(typed.pa).not.toBe('null');
    // The explanations: the paging mode, each index's bit range and arithmetic (SDM 4.5, Figure 4-8), each flag's rule.
    expect(await page.textContent('#walk > .muted')).toContain('4-level paging');
    for (const [cls, shift, high] of [['l4', 39, 47], ['l3', 30, 38], ['l2', 21, 29], ['l1', 12, 20]] as const) {
      expect(await page.getAttribute(`#walk .va-bits .${cls}`, 'title')).toContain(`bits ${high}:${shift} of the address: (va >> ${shift}) & 0x1ff = ${Math.floor(va / 2 ** shift) % 512};`);
    }
    expect(await page.getAttribute('#walk .walk-level[data-level="PT"] .bits span:first-child', 'title')).toMatch(/^set: Present \(bit 0\)/);

    // Click the program's text region in the address-space panel (pid 1).
    await page.selectOption('#vas-pid', '1');
    const hello = node.kernel.processes.list().find((p) => p.pid === 1)!;
    const text = hello.regions().find((r) => r.kind === 'text')!;
    await page.click(`.region[data-start="${text.start}"] .addr >> nth=0`);
    const clicked = await shownWalk(page);
    expect(clicked).toEqual(expected(node, text.start, 1));

    // An untouched page of the buffer: the walk stops at a non-present PT entry.
    const untouched = buffer + 12 * 4096;
    await page.selectOption('#vas-pid', String(worker.pid));
    await page.click(`.region[data-start="${buffer}"] b[data-va="${untouched}"]`);
    const absent = await shownWalk(page);
    expect(absent).toEqual(expected(node, untouched, worker.pid));
    expect(absent.pa).toBe('null');

    // The frame map shows user frames and page tables; the event log and heap are filled.
    const legend = await page.textContent('#frame-legend');
    expect(legend).toContain('page tables');
    expect(legend).toContain('pid 2');
    expect(await page.locator('#events div').count()).toBeGreaterThan(0);
    expect(await page.locator('#heap-classes tr').count()).toBeGreaterThan(5);
    expect(await page.locator('#tlb tr').count()).toBeGreaterThan(1);

    // Walk the typed address again so the screenshot shows a complete walk.
    await page.selectOption('#walk-pid', String(worker.pid));
    await page.fill('#walk-address', `0x${va.toString(16)}`);
    await page.click('#btn-walk');
    await shownWalk(page);
    mkdirSync(outputDir, { recursive: true });
    await page.screenshot({ path: join(outputDir, 'web.png'), fullPage: true });
    expect(statSync(join(outputDir, 'web.png')).size).toBeGreaterThan(10_000);

    // Play the rest to the end: the panic of kernel #2 is shown, nothing threw.
    await page.click('#btn-end');
    await page.waitForFunction(`document.body.dataset.step === '${node.stepCount}'`, undefined, POLL);
    expect(await page.textContent('#step-lines')).toContain('Kernel panic');
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
