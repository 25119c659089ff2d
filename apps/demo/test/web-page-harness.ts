// What every Chromium test of the visualizer starts with: the page built by Vite into a temporary
// directory, served by Vite's preview server on 127.0.0.1, and Debian's Chromium driven headless by
// playwright-core. `stop()` closes all three and removes the build.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { parseMemoryMap } from '@kmem/kernel-sim';
import { DemoSession, Timeline, type AccessRequest, type ScenarioName } from '../src/scenarios/index';

/** The demo app's directory. */
export const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Debian's Chromium. */
export const CHROMIUM = '/usr/bin/chromium';
/** Skip only on a developer machine without Chromium; in CI (CI set) a missing browser fails. */
export const NO_BROWSER = !existsSync(CHROMIUM) && process.env.CI === undefined;

/** A built and served page with a browser. */
export interface WebPageHarness {
  /** The page's URL. */
  readonly url: string;
  readonly browser: Browser;
  stop(): Promise<void>;
}

/** Builds the page (into a fresh `kmem-<prefix>-` temporary directory), serves it, launches Chromium. */
export async function startWebPage(prefix: string): Promise<WebPageHarness> {
  const configFile = join(appDir, 'vite.config.ts');
  const dist = mkdtempSync(join(tmpdir(), `kmem-${prefix}-`));
  let server: PreviewServer | undefined;
  let browser: Browser | undefined;
  const stop = async (): Promise<void> => {
    await browser?.close();
    await server?.close();
    rmSync(dist, { recursive: true, force: true });
  };
  try {
    await build({ configFile, logLevel: 'warn', build: { outDir: dist, emptyOutDir: true } });
    server = await preview({ configFile, logLevel: 'warn', build: { outDir: dist }, preview: { host: '127.0.0.1', port: 0, open: false } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    return { url: server.resolvedUrls!.local[0]!, browser, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Page conditions are strings polled every 100 ms: no vitest-transformed function is sent to the page. */
export const PAGE_POLL = { polling: 100, timeout: 60_000 } as const;

/**
 * The page's run in Node: a memory map from fixtures/ (default the page's, q35 with 128 MiB), the
 * higher-half layout, the static PIE, 40,000 trace accesses, and the TLB geometry (default x86-paging's).
 */
export function pageTimeline(scenario: ScenarioName = 'tour', tlb?: { setCount: number; wayCount: number } | false, map = 'qemu-q35-linux-128m.e820.txt'): Timeline {
  const parsed = parseMemoryMap(readFileSync(join(appDir, 'fixtures', map)), { fileName: map });
  const bytes = new Uint8Array(readFileSync(join(appDir, 'fixtures', 'hello-static-pie')));
  return new Timeline(() => new DemoSession({ memoryMap: { name: map, format: parsed.format, regions: parsed.regions }, layout: 'higher-half', program: { name: 'hello-static-pie', bytes }, traceAccesses: 40_000, ...(tlb === undefined ? {} : { tlb }) }, scenario));
}

/** Opens `url` and waits until the page has drawn. */
export async function openPage(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(`document.body.dataset.ready === 'true'`, undefined, PAGE_POLL);
}

/** Makes an access in the page's "Make an access" panel; returns the report's data attributes once the page is at `expectStep`. */
export async function makePageAccess(page: Page, r: AccessRequest, expectStep: number): Promise<Record<string, string>> {
  await page.selectOption('#access-pid', String(r.pid));
  await page.fill('#access-address', `0x${r.va.toString(16)}`);
  await page.selectOption('#access-kind', r.access);
  await page.selectOption('#access-mode', r.mode);
  await page.click('#btn-access');
  await page.waitForFunction(`document.body.dataset.step === '${expectStep}'`, undefined, PAGE_POLL);
  return page.evaluate(() => ({ ...document.getElementById('access-report')!.dataset }) as Record<string, string>);
}
