// Time travel and hand-made accesses in real Chromium: 20 steps forward and 20 back give the page
// the start had (DOM and screenshot bytes); a link with a step number opens at that step exactly as
// stepping there does; an access made in the UI has the result the library gives for the same
// access, and ← undoes it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../src/scenarios/index';
import { NO_BROWSER, PAGE_POLL, appDir, makePageAccess as makeAccess, openPage as open, pageTimeline, startWebPage, type WebPageHarness } from './web-page-harness';

const POLL = PAGE_POLL;

async function key(page: Page, name: 'ArrowLeft' | 'ArrowRight', expectStep: number): Promise<void> {
  await page.keyboard.press(name);
  await page.waitForFunction(`document.body.dataset.step === '${expectStep}'`, undefined, POLL);
}

/**
 * The page as data: the whole body's DOM (form values included) and the frame map's pixels, once
 * the trace panel has drawn its chart (it draws after a pause). Chromium leaves an empty `style=""`
 * on inputs it has focused or filled; an empty attribute changes nothing and is dropped.
 */
async function pageState(page: Page): Promise<{ dom: string; canvas: string }> {
  await page.waitForFunction(`document.querySelector('#view-trace .view-body')?.dataset.analysed === 'true'`, undefined, POLL);
  return page.evaluate(() => {
    const values = Array.from(document.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')).map((e) => `${e.id}=${e.value}`);
    const canvas = document.getElementById('frame-map') as HTMLCanvasElement;
    return { dom: `${document.body.outerHTML.replace(/ style=""/g, '')}\n${values.join('\n')}`, canvas: canvas.toDataURL() };
  });
}

/**
 * A full-page screenshot of the page drawn from scratch: Chromium re-rasterizes only what changed,
 * and the corners of a button repainted that way (enabled again) differ by a shade from a full
 * raster — even two screenshots in a row can differ then. A resize and back, and a repaint of the
 * sticky header (its own compositing layer), redraw everything.
 */
async function screenshot(page: Page): Promise<Buffer> {
  const size = page.viewportSize()!;
  await page.setViewportSize({ width: size.width + 1, height: size.height });
  await page.setViewportSize(size);
  await page.evaluate(`document.querySelector('header').style.background = '#0b0f15'`);
  await page.waitForTimeout(100);
  await page.evaluate(`document.querySelector('header').style.background = ''`);
  await page.waitForTimeout(100);
  return page.screenshot({ fullPage: true });
}

describe.skipIf(NO_BROWSER)('time travel and accesses in headless Chromium', () => {
  let web: WebPageHarness;
  const outputDir = join(appDir, 'test-output');

  beforeAll(async () => {
    web = await startWebPage();
  }, 180_000);
  afterAll(async () => {
    await web?.stop();
  });

  it('20 steps forward and 20 back give the start page again (DOM, frame map and screenshot bytes)', async () => {
    // A history of 20: the tour's 17 steps with three accesses by the worker after its demand paging.
    const t = pageTimeline();
    const worker = t.replay(11, () => null).session.kernel.processes.list().find((p) => p.name === 'worker')!;
    const buffer = worker.regions().find((r) => r.kind === 'mmap')!.start;
    t.insertAccess(11, { pid: worker.pid, va: buffer + 12 * 4096, access: 'write', mode: 'user' });
    t.insertAccess(12, { pid: worker.pid, va: buffer + 12 * 4096, access: 'read', mode: 'user' });
    t.insertAccess(13, { pid: worker.pid, va: buffer + 13 * 4096 + 8, access: 'read', mode: 'user' });
    expect(t.length).toBe(20);
    const page = await web.browser.newPage({ viewport: { width: 1440, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await open(page, `${web.url}?scenario=tour&step=0&ops=${t.encode()}`);
    expect(await page.textContent('#timeline-label')).toBe('step 0 of 20');
    // The screenshot first: reading the canvas back (toDataURL) before it changes how Chromium
    // draws the header's buttons afterwards, by a shade.
    const startShot = await screenshot(page);
    const start = await pageState(page);
    for (let i = 1; i <= 20; i++) await key(page, 'ArrowRight', i);
    expect(await page.textContent('#steps li.current')).toContain('kernel panic');
    const end = await pageState(page);
    expect(end.dom).not.toBe(start.dom);
    const moves: { kind: string; moveMs: number; renderMs: number }[] = [];
    for (let i = 19; i >= 0; i--) {
      // Give the page the idle moment it uses to prepare the machine one step behind.
      await page.waitForTimeout(400);
      await key(page, 'ArrowLeft', i);
      moves.push(await page.evaluate(() => (globalThis as unknown as { kmemLastMove: { kind: string; moveMs: number; renderMs: number } }).kmemLastMove));
    }
    const backShot = await screenshot(page);
    const back = await pageState(page);
    expect(back.dom).toBe(start.dom);
    expect(back.canvas).toBe(start.canvas);
    mkdirSync(outputDir, { recursive: true });
    if (Buffer.compare(backShot, startShot) !== 0) {
      writeFileSync(join(outputDir, 'time-travel-start.png'), startShot);
      writeFileSync(join(outputDir, 'time-travel-back.png'), backShot);
    }
    expect(Buffer.compare(backShot, startShot)).toBe(0);
    // A replay from the start, for the figures: how long it takes without the prepared machine.
    await key(page, 'ArrowRight', 1);
    await page.$eval('#timeline', (el: HTMLInputElement) => {
      el.value = '19';
      el.dispatchEvent(new Event('input'));
    });
    await page.waitForFunction(`document.body.dataset.step === '19'`, undefined, POLL);
    const replay19 = await page.evaluate(() => (globalThis as unknown as { kmemLastMove: { kind: string; moveMs: number } }).kmemLastMove);
    mkdirSync(outputDir, { recursive: true });
    writeFileSync(join(outputDir, 'time-travel-moves.json'), JSON.stringify({ back: moves, replayTo19: replay19 }, null, 1));
    expect(moves.every((m) => m.kind === 'swap' || m.kind === 'replay')).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('a link with a step number opens at that step, as stepping there does', async () => {
    const page = await web.browser.newPage({ viewport: { width: 1440, height: 1400 } });
    await open(page, `${web.url}?scenario=cow-fork`);
    for (let i = 1; i <= 12; i++) await key(page, 'ArrowRight', i);
    expect(page.url()).toContain('step=12');
    expect(page.url()).toContain('scenario=cow-fork');
    const stepped = await pageState(page);
    const link = page.url();
    const fresh = await web.browser.newPage({ viewport: { width: 1440, height: 1400 } });
    await open(fresh, link);
    expect(await fresh.getAttribute('body', 'data-step')).toBe('12');
    expect(await fresh.textContent('#steps li.current')).toContain('fork with copy-on-write');
    const linked = await pageState(fresh);
    expect(linked.dom).toBe(stepped.dom);
    expect(linked.canvas).toBe(stepped.canvas);
    await page.close();
    await fresh.close();
  }, 120_000);

  it('an access made in the UI gives what the library gives for the same access, and ← undoes it', async () => {
    const page = await web.browser.newPage({ viewport: { width: 1440, height: 1600 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await open(page, `${web.url}?scenario=tour&step=11`);
    const t = pageTimeline();
    const node = t.replay(11, () => null).session;
    const k = node.kernel;
    const worker = k.processes.list().find((p) => p.name === 'worker')!;
    const hello = k.processes.list().find((p) => p.pid === 1)!;
    const buffer = worker.regions().find((r) => r.kind === 'mmap')!.start;
    const requests: AccessRequest[] = [
      { pid: worker.pid, va: buffer + 12 * 4096 + 0x10, access: 'write', mode: 'user' }, // demand zero
      { pid: worker.pid, va: buffer + 12 * 4096, access: 'read', mode: 'user' }, // TLB hit now
      { pid: hello.pid, va: hello.image!.entry, access: 'write', mode: 'user' }, // write to its code: SIGSEGV
      { pid: worker.pid, va: buffer, access: 'execute', mode: 'user' }, // NX data page: SIGSEGV
    ];
    let step = 11;
    for (const r of requests) {
      const shown = await makeAccess(page, r, ++step);
      // The same access straight through the library on the Node machine.
      const p = k.processes.list().find((x) => x.pid === r.pid)!;
      const seq = k.events.all().at(-1)?.seq ?? 0;
      const hitsBefore = k.cpu.tlb!.hits;
      const outcome = p.touch(r.va, r.access, 0x5a);
      const faults = k.events.all().filter((e) => e.seq > seq && e.kind === 'page-fault') as { errorCode: number; resolution: string }[];
      expect(shown.outcome).toBe(outcome);
      expect(shown.errorCodes).toBe(faults.map((f) => f.errorCode).join(','));
      expect(shown.resolutions).toBe(faults.map((f) => f.resolution).join(','));
      expect(shown.pa).toBe(outcome === 'ok' ? String(p.translate(r.va)) : 'null');
      if (faults.length === 0 && outcome === 'ok') expect(shown.tlbHit).toBe(String(k.cpu.tlb!.hits > hitsBefore));
    }
    expect(await page.textContent('#access-report')).toContain('SIGSEGV');
    mkdirSync(outputDir, { recursive: true });
    await page.locator('#view-access').screenshot({ path: join(outputDir, 'web-access.png') });
    // Back over the four accesses: the report goes, the page is at step 11 again.
    for (let i = step - 1; i >= 11; i--) await key(page, 'ArrowLeft', i);
    expect(await page.getAttribute('#access-report', 'data-outcome')).toBeNull();
    expect(page.url()).toContain('ops=');
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
