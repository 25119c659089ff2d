// The web visualizer end to end: serve the page Vite builds (builtWebPage) as static files, drive Debian's
// Chromium with playwright-core, step the scenario, walk addresses (typed and clicked) and check
// that the walk on the page is the library's walk of the same address in the same run.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMemoryMap } from '@kmem/kernel-sim';
import { DemoSession } from '../src/scenarios/index';
import { builtWebPage } from './web-page-harness';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = '/usr/bin/chromium';
const outputDir = join(appDir, 'test-output');

// Page conditions are strings polled every 100 ms: no vitest-transformed function is sent to the page.
const POLL = { polling: 100, timeout: 30_000 } as const;

const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

/** The same run in Node: the page's defaults (128 MiB q35 map, higher-half, tour, the static PIE). */
function nodeSession(steps: number): DemoSession {
  const name = 'qemu-q35-linux-128m.e820.txt';
  const parsed = parseMemoryMap(readFileSync(join(appDir, 'fixtures', name)), { fileName: name });
  const s = new DemoSession(
    { memoryMap: { name, format: parsed.format, regions: parsed.regions }, layout: 'higher-half', program: { name: 'hello-static-pie', bytes: new Uint8Array(readFileSync(join(appDir, 'fixtures', 'hello-static-pie'))) }, traceAccesses: 40_000 },
    'tour',
  );
  for (let i = 0; i < steps; i++) s.next();
  return s;
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

// Skipped only on a developer machine without Chromium; in CI (CI set) a missing browser fails.
describe.skipIf(!existsSync(CHROMIUM) && process.env.CI === undefined)('web visualizer in headless Chromium', () => {
  let dist: string;
  let server: Server;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    dist = await builtWebPage();
    server = createServer((req, res) => {
      const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)).replace(/^(\.\.[/\\])+/, '');
      let file = join(dist, path);
      if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
      if (!file.startsWith(dist) || !existsSync(file)) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no port');
    url = `http://127.0.0.1:${addr.port}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  });

  it('steps the scenario, walks a typed and a clicked address exactly as the library does, and saves a screenshot', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1200 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(`document.body.dataset.ready === 'true'`, undefined, POLL);

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
  });
});
