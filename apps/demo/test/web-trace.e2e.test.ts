// The trace replay panel end to end: build the visualizer with Vite, serve it with Vite's preview
// server, drive Debian's Chromium with playwright-core, step through the built-in trace's first
// records and check that each row (TLB hits, walks, #PF and how the kernel resolved it), the page
// walk shown and the miss-ratio curve are what the library computes for the same trace in Node;
// then load a plain course trace through the file input and step it.
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TraceStepper, analyseTrace, demoTrace, loadTrace } from '../web/src/views/trace-model';
import { NO_BROWSER, appDir, startWebPage, type WebPageHarness } from './web-page-harness';

const POLL = { polling: 100, timeout: 60_000 } as const;

describe.skipIf(NO_BROWSER)('the trace replay view in headless Chromium', () => {
  let web: WebPageHarness;
  beforeAll(async () => {
    web = await startWebPage();
  }, 180_000);
  afterAll(async () => web?.stop());

  it('steps through accesses (TLB hit / walk / #PF with the page walk) and draws the miss-ratio curve as the library computes them', async () => {
    const page = await web.browser.newPage({ viewport: { width: 1440, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(web.url);
    await page.waitForFunction(`document.body.dataset.ready === 'true'`, undefined, POLL);
    expect(await page.textContent('#view-trace h2')).toContain('Trace replay');
    await page.waitForFunction(`document.querySelector('#view-trace .view-body').dataset.analysed === 'true'`, undefined, POLL);

    // The same trace in Node.
    const trace = await loadTrace('built-in loop', new TextEncoder().encode(demoTrace()));
    const node = new TraceStepper(trace);
    for (let i = 0; i < 11; i++) node.next();

    await page.click('#tr-step');
    await page.waitForFunction(`document.querySelector('#view-trace .view-body').dataset.step === '1'`, undefined, POLL);
    await page.click('#tr-step10');
    await page.waitForFunction(`document.querySelector('#view-trace .view-body').dataset.step === '11'`, undefined, POLL);
    const rows = await page.$$eval('#tr-steps tr[data-index]', (trs) => trs.map((tr) => ({ outcome: (tr as HTMLElement).dataset.outcome!, va: Number((tr as HTMLElement).dataset.va), cells: Array.from(tr.querySelectorAll('td'), (td) => td.textContent) })));
    expect(rows.map((r) => r.outcome)).toEqual(node.steps.map((s) => s.outcome));
    expect(rows.map((r) => r.va)).toEqual(node.steps.map((s) => s.va));
    expect(rows.map((r) => r.cells.slice(3, 6).map(Number))).toEqual(node.steps.map((s) => [s.tlbHits, s.walks, s.faults]));
    // The first fetch and the first load fault (new zeroed pages); the loop's next accesses hit in the TLB.
    expect(rows[0]!.outcome).toBe('fault');
    expect(rows[0]!.cells[6]).toContain('zero-filled page');
    expect(rows[2]!.outcome).toBe('tlb-hit');
    // The page walk shown is the library's walk of the last record's address.
    expect(await page.textContent('#tr-walk')).toContain(node.steps[10]!.walk);
    expect(await page.textContent('#tr-walk')).toMatch(/PML4\[\s*\d+\].*\n.*PDPT/);

    // The picture: faults against frames with the LRU curve for every memory size (and OPT), the working set.
    const result = await analyseTrace(trace);
    expect(JSON.parse((await page.getAttribute('#tr-summary', 'data-lru-curve'))!)).toEqual(result.lruCurve);
    expect(Number(await page.getAttribute('#tr-summary', 'data-distinct-pages'))).toBe(result.distinctPages);
    const svg = (await page.innerHTML('#tr-chart')).trim();
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Page faults vs frames');
    expect(svg).toContain('LRU (every size)');
    expect(svg).toContain('Working set');

    // A plain course trace from the file input: two pages read and written in turn.
    await page.setInputFiles('#tr-file', { name: 'course.trace', mimeType: 'text/plain', buffer: Buffer.from('0x5000 R\n0x5008 W\n0x9000 R\n0x5010 R\n') });
    await page.waitForFunction(`document.getElementById('tr-caption')?.dataset.format === 'plain' && document.querySelector('#view-trace .view-body').dataset.analysed === 'true'`, undefined, POLL);
    await page.click('#tr-step10');
    await page.waitForFunction(`document.querySelector('#view-trace .view-body').dataset.step === '4'`, undefined, POLL);
    expect(await page.$$eval('#tr-steps tr[data-index]', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.outcome))).toEqual(['fault', 'walk', 'fault', 'tlb-hit']);
    expect(await page.textContent('#tr-totals')).toContain('2 page faults');
    expect(errors).toEqual([]);

    mkdirSync(join(appDir, 'test-output'), { recursive: true });
    await page.locator('#view-trace').screenshot({ path: join(appDir, 'test-output', 'web-trace.png') });
    expect(statSync(join(appDir, 'test-output', 'web-trace.png')).size).toBeGreaterThan(10_000);
  }, 240_000);
});
