// The explanations of issue 20 in real Chromium: the page-table entries a step changed are the
// library's diff of the same step in Node (a scenario step and an access made in the UI); the frame
// map zooms, its window goes into the URL and a link opens it again; a TLB geometry chosen in the
// header gives, for the same accesses, the hit / miss and set index the library gives with that
// geometry, and a link replays the same machine; the 32-bit kernel's panel says its paging mode.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffPageTables, entryHex, snapshotPageTables, type AccessRequest, type Timeline } from '../src/scenarios/index';
import { NO_BROWSER, PAGE_POLL, appDir, makePageAccess as makeAccess, openPage as open, pageTimeline, startWebPage, type WebPageHarness } from './web-page-harness';

const POLL = PAGE_POLL;
const outputDir = join(appDir, 'test-output');
const docsDir = join(appDir, '..', '..', 'docs');

/** The diff of the timeline's step `position` in Node, as the rows the panel draws. */
function nodeRows(t: Timeline, position: number): string[] {
  const point = t.replay(position, (s) => snapshotPageTables(s.kernel));
  return diffPageTables(point.before!, snapshotPageTables(point.session.kernel)).map((c) => `${c.levelName} ${c.tableFrame}[${c.index}] ${entryHex(c.oldLo, c.oldHi)} ${entryHex(c.newLo, c.newHi)} ${c.fields.map((f) => f.name).join(',')}`);
}

async function pageRows(page: Page): Promise<string[]> {
  return page.$$eval('#table-changes tr[data-table]', (rows) => rows.map((r) => {
    const d = (r as HTMLElement).dataset;
    return `${d.level} ${d.table}[${d.index}] ${d.old} ${d.new} ${d.fields}`;
  }));
}

const mapState = (page: Page): Promise<Record<string, string>> => page.evaluate(() => ({ ...(document.getElementById('frame-map') as HTMLCanvasElement).dataset }) as Record<string, string>);

describe.skipIf(NO_BROWSER)('explanations in headless Chromium', () => {
  let web: WebPageHarness;
  beforeAll(async () => {
    web = await startWebPage();
  }, 180_000);
  afterAll(async () => web?.stop());

  it('lists the page-table entries a step changed exactly as the library diff of that step, after an access made in the UI too', async () => {
    const page = await web.browser.newPage({ viewport: { width: 1440, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Step 13 of cow-fork: fork marks the parent's pages copy-on-write and builds the child's tables.
    const t = pageTimeline('cow-fork');
    await open(page, `${web.url}?scenario=cow-fork&step=12`);
    expect(await page.textContent('#steps li.current')).toContain('fork');
    const forkRows = nodeRows(t, 12);
    expect(forkRows.length).toBeGreaterThan(0);
    expect(forkRows.length).toBeLessThanOrEqual(400);
    expect(await pageRows(page)).toEqual(forkRows);
    expect(forkRows.some((r) => r.includes('COW (OS bit 9)'))).toBe(true);
    expect(await page.getAttribute('#view-table-changes .view-body', 'data-count')).toBe(String(forkRows.length));

    // An access in the UI: the child's first write to a shared page copies it (a new frame, RW set, COW cleared).
    const k = t.replay(12, () => null).session.kernel;
    const child = k.processes.list().at(-1)!;
    const buffer = child.regions().find((r) => r.kind === 'mmap')!.start;
    const request: AccessRequest = { pid: child.pid, va: buffer + 4096, access: 'write', mode: 'user' };
    const shown = await makeAccess(page, request, 13);
    expect(shown.resolutions).toBe('cow-copy');
    t.insertAccess(12, request);
    const accessRows = nodeRows(t, 13);
    expect(await pageRows(page)).toEqual(accessRows);
    expect(accessRows.some((r) => r.startsWith('PT ') && r.includes('frame address') && r.includes('RW') && r.includes('COW (OS bit 9)'))).toBe(true);
    // Each changed field is a chip with its bit range.
    expect(await page.$$eval('#table-changes tr[data-table] .tc-fields span[data-bits="5"]', (s) => s.every((x) => x.textContent.startsWith('A ')))).toBe(true);
    mkdirSync(outputDir, { recursive: true });
    await page.locator('#view-table-changes').screenshot({ path: join(outputDir, 'web-table-changes.png') });
    if (process.env.KMEM_DOCS_SHOTS === '1') await page.locator('#view-table-changes').screenshot({ path: join(docsDir, 'visualizer-table-changes.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('zooms the frame map (buttons and wheel), keeps the window in the URL, and a link opens the same picture', async () => {
    const page = await web.browser.newPage({ viewport: { width: 1440, height: 1400 } });
    await open(page, `${web.url}?scenario=tour&step=11`);
    const fit = await mapState(page);
    expect(fit.mode).toBe('fit');
    // Fit: from the lowest used or changed frame to the highest, whole MiB; the step's changes are in it.
    expect(Number(fit.start) % 256).toBe(0);
    expect(Number(fit.end) - Number(fit.start)).toBeLessThan(Number(fit.frames));
    expect(Number(fit.changedCells)).toBeGreaterThan(0);
    expect(page.url()).not.toContain('fm=');
    await page.click('#fm-in');
    const zoomed = await mapState(page);
    expect(zoomed.mode).toBe('manual');
    expect(Number(zoomed.end) - Number(zoomed.start)).toBe(Math.round((Number(fit.end) - Number(fit.start)) / 2));
    expect(page.url()).toContain(`fm=${Number(zoomed.start).toString(16)}-${Number(zoomed.end).toString(16)}`);
    // The wheel zooms in around the pointer.
    const box = (await page.locator('#frame-map').boundingBox())!;
    await page.mouse.move(box.x + 5, box.y + 5);
    await page.mouse.wheel(0, -100);
    await page.waitForFunction(`document.getElementById('frame-map').dataset.end - document.getElementById('frame-map').dataset.start < ${Number(zoomed.end) - Number(zoomed.start)}`, undefined, POLL);
    const wheeled = await mapState(page);
    expect(Number(wheeled.start)).toBe(Number(zoomed.start));
    // A click pins what the frame is.
    await page.mouse.click(box.x + 5, box.y + 5);
    expect(await page.textContent('#frame-info')).toMatch(/^frame 0x/);
    const link = page.url();
    const picture = await page.evaluate(() => (document.getElementById('frame-map') as HTMLCanvasElement).toDataURL());
    const fresh = await web.browser.newPage({ viewport: { width: 1440, height: 1400 } });
    await open(fresh, link);
    const reopened = await mapState(fresh);
    expect([reopened.start, reopened.end, reopened.mode]).toEqual([wheeled.start, wheeled.end, 'manual']);
    expect(await fresh.evaluate(() => (document.getElementById('frame-map') as HTMLCanvasElement).toDataURL())).toBe(picture);
    // Stepping keeps a chosen window; fit follows the machine again.
    await fresh.keyboard.press('ArrowRight');
    await fresh.waitForFunction(`document.body.dataset.step === '12'`, undefined, POLL);
    expect((await mapState(fresh)).start).toBe(wheeled.start);
    await fresh.click('#fm-fit');
    expect((await mapState(fresh)).mode).toBe('fit');
    expect(fresh.url()).not.toContain('fm=');
    // "changed" zooms to the frames the step changed: all of them inside, in a window no wider than fit's.
    const fitAgain = await mapState(fresh);
    await fresh.click('#fm-changed');
    const changed = await mapState(fresh);
    expect(fresh.url()).toContain('fm=changed');
    expect(changed.mode).toBe('changed');
    expect(Number(changed.end) - Number(changed.start)).toBeLessThanOrEqual(Number(fitAgain.end) - Number(fitAgain.start));
    expect(changed.changedCells).toBe(fitAgain.changedCells);
    expect(Number(changed.changedCells)).toBeGreaterThan(0);
    await page.close();
    await fresh.close();
  }, 180_000);

  it('draws all of a 5 GiB machine in at most 8,192 cells, and fits to where the kernel and processes live', async () => {
    const page = await web.browser.newPage({ viewport: { width: 1440, height: 1400 } });
    await open(page, `${web.url}?memmap=qemu-q35-linux-5g.e820.txt&scenario=tour&step=11`);
    const fit = await mapState(page);
    await page.click('#fm-all');
    const all = await mapState(page);
    expect(Number(all.start)).toBe(0);
    expect(Number(all.end)).toBe(Number(all.frames));
    expect(Number(all.frames)).toBeGreaterThan(1_000_000);
    const cells = Math.ceil(Number(all.frames) / Number(all.perCell));
    expect(cells).toBeLessThanOrEqual(8192);
    // Fit shows a small part of it, one frame per cell or close.
    expect(Number(fit.end) - Number(fit.start)).toBeLessThan(Number(all.frames) / 8);
    mkdirSync(outputDir, { recursive: true });
    // For the figures (not asserted): the redraw of each panel after a step, all of RAM shown.
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(`document.body.dataset.step === '12'`, undefined, POLL);
    const move = await page.evaluate(() => (globalThis as unknown as { kmemLastMove: { renderMs: number; parts: Record<string, number> } }).kmemLastMove);
    writeFileSync(join(outputDir, 'frame-map-5g-redraw.json'), JSON.stringify({ cellsDrawn: cells, framesPerCell: Number(all.perCell), ...move }, null, 1));
    await page.click('#fm-fit');
    await page.locator('.frames-panel').screenshot({ path: join(outputDir, 'web-frame-map-5g.png') });
    if (process.env.KMEM_DOCS_SHOTS === '1') await page.locator('.frames-panel').screenshot({ path: join(docsDir, 'visualizer-frame-map.png') });
    await page.close();
  }, 180_000);

  it('runs the machine with the TLB geometry chosen in the header: hit / miss and set index as the library gives them, and a link replays it', async () => {
    const page = await web.browser.newPage({ viewport: { width: 1440, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await open(page, `${web.url}?scenario=tour`);
    await page.selectOption('#tlb-sets', '16');
    await page.selectOption('#tlb-ways', '4');
    expect(page.url()).toContain('tlb=16x4');
    await page.$eval('#timeline', (el: HTMLInputElement) => {
      el.value = '11';
      el.dispatchEvent(new Event('input'));
    });
    await page.waitForFunction(`document.body.dataset.step === '11'`, undefined, POLL);
    expect(await page.textContent('#tlb-caption')).toMatch(/^16 × 4 · /);

    // The same machine in Node, with the same geometry: the library's set index and hit for each access.
    const geometry = { setCount: 16, wayCount: 4 };
    const node = pageTimeline('tour', geometry).replay(11, () => null).session;
    const k = node.kernel;
    const tlb = k.cpu.tlb!;
    expect([tlb.setCount, tlb.wayCount]).toEqual([16, 4]);
    const worker = k.processes.list().find((p) => p.name === 'worker')!;
    const buffer = worker.regions().find((r) => r.kind === 'mmap')!.start;
    const requests: AccessRequest[] = [0, 1, 0, 2, 1, 0].map((page) => ({ pid: worker.pid, va: buffer + page * 4096 + 8, access: 'read', mode: 'user' }));
    let step = 11;
    const hits: boolean[] = [];
    for (const r of requests) {
      const shown = await makeAccess(page, r, ++step);
      k.switchTo(worker.pid);
      const hi = Math.floor(r.va / 2 ** 32);
      const lo = Math.floor((r.va % 2 ** 32) / 4096);
      const set = tlb.setIndex(hi, lo);
      const hitBefore = tlb.lookup(hi, lo, k.cpu.registers.pcid) >= 0;
      expect(worker.touch(r.va, r.access, 0x5a)).toBe('ok');
      expect(shown.tlbSet).toBe(`${set}/16x4`);
      expect(shown.tlbHit).toBe(String(hitBefore));
      hits.push(hitBefore);
    }
    // Pages 0, 1 and 2, resident since the demand-paging step: a miss, then hits while their sets keep them.
    expect(hits.some((x) => x)).toBe(true);
    expect(await page.textContent('#access-report')).toContain('of 16');

    // A link replays the same machine: the same geometry in the header, the same last access.
    const link = page.url();
    const last = await page.evaluate(() => ({ ...document.getElementById('access-report')!.dataset }));
    const fresh = await web.browser.newPage({ viewport: { width: 1440, height: 1400 } });
    await open(fresh, link);
    expect(await fresh.inputValue('#tlb-sets')).toBe('16');
    expect(await fresh.inputValue('#tlb-ways')).toBe('4');
    expect(await fresh.evaluate(() => ({ ...document.getElementById('access-report')!.dataset }))).toEqual(last);

    // No TLB: every access walks; the report says so and the library's CPU has none either.
    await fresh.selectOption('#tlb-sets', 'off');
    expect(fresh.url()).toContain('tlb=off');
    expect(pageTimeline('tour', false).replay(0, () => null).session.kernel.cpu.tlb).toBeNull();
    await fresh.$eval('#timeline', (el: HTMLInputElement) => {
      el.value = '11';
      el.dispatchEvent(new Event('input'));
    });
    await fresh.waitForFunction(`document.body.dataset.step === '11'`, undefined, POLL);
    const off = await makeAccess(fresh, requests[0]!, 12);
    expect(off.tlbSet).toBe('none');
    expect(await fresh.textContent('#access-report')).toContain('No TLB');
    expect(await fresh.textContent('#tlb-caption')).toContain('off');
    expect(errors).toEqual([]);
    await page.close();
    await fresh.close();
  }, 180_000);

  it("shows the 32-bit kernel's paging mode as it changes: off, then 32-bit paging", async () => {
    const page = await web.browser.newPage({ viewport: { width: 1440, height: 1400 } });
    await open(page, web.url);
    expect(await page.textContent('#k32-mode')).toMatch(/^paging off/);
    await page.click('#k32-next');
    await page.waitForFunction(`document.querySelector('#view-kernel32 .view-body').dataset.step === '1'`, undefined, POLL);
    expect(await page.textContent('#k32-mode')).toMatch(/^32-bit paging \(CR0\.PG = 1, CR4\.PAE = 0\)/);
    await page.close();
  }, 60_000);
});
