// What every Chromium test of the visualizer starts with: the page built by Vite into a temporary
// directory, served by Vite's preview server on 127.0.0.1, and Debian's Chromium driven headless by
// playwright-core. `stop()` closes all three and removes the build.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';

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
