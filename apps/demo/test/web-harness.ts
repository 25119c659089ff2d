// What every Chromium test of the visualizer starts with: the page built by Vite into a temporary
// directory, served by Vite's preview server, and Debian's Chromium driven by playwright-core.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';

export const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CHROMIUM = '/usr/bin/chromium';
/** Page conditions are strings polled every 100 ms: no vitest-transformed function is sent to the page. */
export const POLL = { polling: 100, timeout: 60_000 } as const;
/** Skipped only on a developer machine without Chromium; in CI (CI set) a missing browser fails. */
export const noChromium = !existsSync(CHROMIUM) && process.env.CI === undefined;

/** A built, served page and a browser. */
export interface WebHarness {
  readonly url: string;
  readonly browser: Browser;
  close(): Promise<void>;
}

/** Builds the visualizer, serves it on a free port and starts Chromium. */
export async function startWeb(prefix: string): Promise<WebHarness> {
  const dist = mkdtempSync(join(tmpdir(), prefix));
  await build({ configFile: join(appDir, 'vite.config.ts'), logLevel: 'warn', build: { outDir: dist, emptyOutDir: true } });
  const server: PreviewServer = await preview({ configFile: join(appDir, 'vite.config.ts'), logLevel: 'warn', build: { outDir: dist }, preview: { host: '127.0.0.1', port: 0, open: false } });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  const url = server.resolvedUrls?.local[0] ?? '';
  return {
    url,
    browser,
    async close() {
      await browser.close();
      await server.close();
      rmSync(dist, { recursive: true, force: true });
    },
  };
}
