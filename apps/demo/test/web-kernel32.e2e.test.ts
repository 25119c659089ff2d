// The 32-bit kernel's panel end to end: build the visualizer with Vite, serve it with Vite's
// preview server, drive Debian's Chromium with playwright-core, step seed 002's kernel in its panel
// and check that every page-directory and page-table cell, the recursive window and the 2-level
// walk on the page are what the library computes for the same run in Node.
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Machine, parseMemoryMap } from '@kmem/kernel-sim';
import { KERNEL32_VIEW_STEPS, Kernel32Run, classifyDirectory, classifyTable } from '../web/src/views/kernel32-model';
import { NO_BROWSER, appDir, startWebPage, type WebPageHarness } from './web-page-harness';

const POLL = { polling: 100, timeout: 30_000 } as const;

/** The same run in Node: the page's default map (q35, 128 MiB), normalised as the page's Machine does. */
function nodeRun(steps: number): Kernel32Run {
  const name = 'qemu-q35-linux-128m.e820.txt';
  const regions = new Machine({ memoryMap: parseMemoryMap(readFileSync(join(appDir, 'fixtures', name)), { fileName: name }).regions }).memoryMap;
  const run = new Kernel32Run(regions, new Uint8Array(readFileSync(join(appDir, 'fixtures', 'i386-hello-static'))));
  for (let i = 0; i < steps; i++) run.next();
  return run;
}

const kindsOf = (page: Page, grid: string): Promise<string[]> => page.$$eval(`#${grid} i`, (cells) => cells.map((c) => (c as HTMLElement).dataset.kind!));

async function stepTo(page: Page, n: number): Promise<void> {
  const now = Number(await page.getAttribute('#view-kernel32 .view-body', 'data-step'));
  for (let i = now + 1; i <= n; i++) {
    await page.click('#k32-next');
    await page.waitForFunction(`document.querySelector('#view-kernel32 .view-body').dataset.step === '${i}'`, undefined, POLL);
  }
}

describe.skipIf(NO_BROWSER)('the 32-bit kernel view in headless Chromium', () => {
  let web: WebPageHarness;
  beforeAll(async () => {
    web = await startWebPage();
  }, 180_000);
  afterAll(async () => web?.stop());

  it('shows the 4 MiB boot pages, the 4 KiB remapped higher half, the recursive window and 2-level walks exactly as the library computes them', async () => {
    const page = await web.browser.newPage({ viewport: { width: 1440, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(web.url);
    await page.waitForFunction(`document.body.dataset.ready === 'true'`, undefined, POLL);
    expect(await page.textContent('#view-kernel32 h2')).toContain('32-bit kernel');

    // Boot tables: 768 identity 4 MiB pages, the alias at PDE 768, PDE 1023 recursive; CR3 is still the boot directory.
    await stepTo(page, 1);
    const boot = await kindsOf(page, 'k32-boot-dir');
    expect(boot.filter((k) => k === '4mib-identity')).toHaveLength(768);
    expect([boot[768], boot[1023], boot[800]]).toEqual(['4mib-alias', 'recursive', 'empty']);
    expect(await page.locator('#k32-cr3-dir').count()).toBe(0);
    let node = nodeRun(1);
    expect(await page.textContent('#k32-lines')).toBe(node.lines.join('\n'));

    // After sysinit 5: CR3 is the new directory, no identity map, PDEs 768-1022 kernel page tables.
    await stepTo(page, 6);
    node = nodeRun(6);
    const k = node.kernel;
    const cr3 = k.machine.cpu.registers.cr3Frame;
    expect(Number(await page.getAttribute('#k32-cr3-dir', 'data-frame'))).toBe(cr3);
    const dir = await kindsOf(page, 'k32-cr3-dir');
    expect(dir).toEqual(classifyDirectory(k.machine.memory.frameWords(cr3), cr3));
    expect(dir.slice(0, 768).every((x) => x === 'empty')).toBe(true);
    expect(dir.slice(768, 1023).every((x) => x === 'kernel-table')).toBe(true);
    // PDE 768's page table: the image in 4 KiB pages, text/rodata read-only, data/bss writable, all Global.
    const pt768 = await kindsOf(page, 'k32-pt');
    const table768 = classifyTable(k.machine.memory.frameWords((k.machine.memory.frameWords(cr3)[768]! & ~0xfff) >>> 0));
    expect(pt768).toEqual(table768.map((e) => e.kind));
    const ro = k.image.sections.filter((s) => !s.writable).reduce((n, s) => n + (s.end - s.start) / 4096, 0);
    expect(pt768.filter((x) => x === 'kernel-ro')).toHaveLength(ro);
    expect(pt768.filter((x) => x === 'kernel-rw')).toHaveLength(k.image.sizeBytes / 4096 - ro);
    expect(await page.$$eval('#k32-pt i[data-global="true"]', (c) => c.length)).toBe(k.image.sizeBytes / 4096);
    expect(await page.getAttribute('#k32-recursive', 'data-directory-pa')).toBe(String(cr3));
    expect(await page.getAttribute('#k32-recursive', 'data-table-pa')).toBe(String(node.recursiveWindow(768).tablePa));
    // The identity address of the image no longer translates: the walk on the page says so, as the library does.
    await page.fill('#k32-walk-va', '0x0010_0000');
    await page.click('#k32-walk-btn');
    await page.waitForFunction(`document.getElementById('k32-walk').dataset.va === '${0x10_0000}'`, undefined, POLL);
    expect(await page.textContent('#k32-walk')).toBe(k.formatWalk(0x10_0000));
    expect(await page.textContent('#k32-walk')).toMatch(/not present/);

    // To the end: exec at 0x0804_8000, fork with copy-on-write, kmalloc under every CR3.
    await stepTo(page, KERNEL32_VIEW_STEPS.length);
    node = nodeRun(KERNEL32_VIEW_STEPS.length);
    const nk = node.kernel;
    const childCr3 = nk.machine.cpu.registers.cr3Frame;
    expect(Number(await page.getAttribute('#k32-cr3-dir', 'data-frame'))).toBe(childCr3);
    expect(await page.textContent('#k32-lines')).toBe(node.lines.join('\n'));
    expect(await page.textContent('#k32-lines')).toContain('0x5eed0002');
    // PDE 32 (0x0800_0000-0x083f_ffff): the child's page table of the program.
    await page.click('#k32-cr3-dir i[data-index="32"]');
    const pt32 = await kindsOf(page, 'k32-pt');
    const childDir = nk.machine.memory.frameWords(childCr3);
    expect(classifyDirectory(childDir, childCr3)[32]).toBe('user-table');
    expect(pt32).toEqual(classifyTable(nk.machine.memory.frameWords((childDir[32]! & ~0xfff) >>> 0)).map((e) => e.kind));
    // fork shared all three of the program's pages, each marked copy-on-write (PTE bit 9) and read-only.
    expect(pt32.filter((x) => x !== 'empty')).toEqual(['user-cow', 'user-cow', 'user-cow']);
    // PDE 767 (the stack): the child's copied page is writable; the parent's, under its CR3, is still copy-on-write.
    await page.click('#k32-cr3-dir i[data-index="767"]');
    expect((await kindsOf(page, 'k32-pt')).filter((x) => x !== 'empty')).toEqual(['user-rw']);
    await page.selectOption('#k32-cr3', '1');
    await page.waitForFunction(`document.getElementById('k32-cr3-dir').dataset.frame === '${nk.processes.list()[0]!.root}'`, undefined, POLL);
    expect((await kindsOf(page, 'k32-pt')).filter((x) => x !== 'empty')).toEqual(['user-cow']);
    await page.selectOption('#k32-cr3', '2');
    await page.waitForFunction(`document.getElementById('k32-cr3-dir').dataset.frame === '${childCr3}'`, undefined, POLL);
    // The walk of the program's entry in the child's tables.
    const entry = nk.processes.list()[0]!.image!.plan.entry;
    await page.fill('#k32-walk-va', `0x${entry.toString(16)}`);
    await page.click('#k32-walk-btn');
    await page.waitForFunction(`document.getElementById('k32-walk').dataset.va === '${entry}'`, undefined, POLL);
    expect(await page.textContent('#k32-walk')).toBe(nk.formatWalk(entry));
    expect(await page.textContent('#k32-stacks')).toContain('TSS.ESP0 = ');

    // A context switch to the kernel's directory: the user half is empty again, the recursive window follows CR3.
    await page.selectOption('#k32-cr3', '0');
    await page.waitForFunction(`document.getElementById('k32-cr3-dir').dataset.frame === '${nk.kernelRoot}'`, undefined, POLL);
    expect((await kindsOf(page, 'k32-cr3-dir'))[32]).toBe('empty');
    expect(await page.getAttribute('#k32-recursive', 'data-directory-pa')).toBe(String(nk.kernelRoot));

    mkdirSync(join(appDir, 'test-output'), { recursive: true });
    await page.locator('#view-kernel32').screenshot({ path: join(appDir, 'test-output', 'web-kernel32.png') });
    expect(statSync(join(appDir, 'test-output', 'web-kernel32.png')).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
