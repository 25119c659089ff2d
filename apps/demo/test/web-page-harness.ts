// What every Chromium test of the visualizer starts with: the page built by Vite (once per content
// of its sources, shared by every test file: see builtWebPage), served by Vite's preview server on
// 127.0.0.1, and Debian's Chromium driven headless by playwright-core. `stop()` closes both.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** Every file the page's build reads from the repo: the page, the demo's sources and fixtures, the
 * library packages' sources (through `@kmem/source`), their manifests and the lockfile (the
 * third-party code's versions). */
function pageInputs(): string[] {
  const repo = join(appDir, '..', '..');
  const files: string[] = [join(appDir, 'vite.config.ts'), join(appDir, 'package.json'), join(repo, 'pnpm-lock.yaml')];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.push(path);
    }
  };
  for (const dir of ['web', 'src', 'fixtures']) walk(join(appDir, dir));
  for (const pkg of readdirSync(join(repo, 'packages'))) {
    files.push(join(repo, 'packages', pkg, 'package.json'));
    walk(join(repo, 'packages', pkg, 'src'));
  }
  return files.filter((f) => existsSync(f)).sort();
}

/**
 * The page built by Vite with the app's own config, into `node_modules/.cache/web-e2e/<hash>`,
 * where the hash covers every input (pageInputs): the first test file to ask builds it (the others
 * wait on a lock directory), later files and runs with the same sources reuse it. A build costs
 * about 12 s of CPU, and six test files each used to make their own.
 */
export async function builtWebPage(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of pageInputs()) hash.update(relative(appDir, file)).update('\0').update(readFileSync(file)).update('\0');
  const cache = join(appDir, 'node_modules', '.cache', 'web-e2e');
  const key = hash.digest('hex').slice(0, 16);
  const dist = join(cache, key);
  const lock = `${dist}.lock`;
  mkdirSync(cache, { recursive: true });
  for (;;) {
    if (existsSync(join(dist, 'index.html'))) return dist;
    try {
      mkdirSync(lock);
    } catch {
      // Another worker is building it; a lock older than 5 minutes was left by a killed run.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
      await sleep(250);
      continue;
    }
    try {
      if (existsSync(join(dist, 'index.html'))) return dist;
      const scratch = `${dist}.tmp-${process.pid}`;
      await build({ configFile: join(appDir, 'vite.config.ts'), logLevel: 'warn', build: { outDir: scratch, emptyOutDir: true } });
      renameSync(scratch, dist);
      // Pages built from older sources are never asked for again.
      for (const old of readdirSync(cache)) if (!old.startsWith(key) && !old.endsWith('.lock')) rmSync(join(cache, old), { recursive: true, force: true });
      return dist;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/** Serves the built page (builtWebPage) and launches Chromium. */
export async function startWebPage(): Promise<WebPageHarness> {
  const configFile = join(appDir, 'vite.config.ts');
  let server: PreviewServer | undefined;
  let browser: Browser | undefined;
  const stop = async (): Promise<void> => {
    await browser?.close();
    await server?.close();
  };
  try {
    const dist = await builtWebPage();
    server = await preview({ configFile, logLevel: 'warn', build: { outDir: dist }, preview: { host: '127.0.0.1', port: 0, open: false } });
    browser = await launchChromium();
    return { url: server.resolvedUrls!.local[0]!, browser, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Debian's Chromium, headless. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
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
