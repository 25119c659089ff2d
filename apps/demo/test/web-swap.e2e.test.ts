// The swap panel end to end: build the visualizer with Vite, serve it with Vite's preview server,
// drive Debian's Chromium with playwright-core through the `swap` scenario, and check that the
// frame map (each frame's last fill or eviction), the swap devices' slot counts, the fault-rate
// buckets and the policy table on the page are what the library computes for the same run in Node
// — and that those agree with the library's own counters (major faults, evictions, used slots).
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMemoryMap } from '@kmem/kernel-sim';
import { DemoSession } from '../src/scenarios/index';
import { faultRateBuckets, swapFrameTimeline, swapSlotRows, swapStepEvents, type FaultRateBucket } from '../web/src/views/swap-model';
import { NO_BROWSER, appDir, startWebPage, type WebPageHarness } from './web-page-harness';

const POLL = { polling: 200, timeout: 120_000 } as const;

/** The page's run in Node: its default map (q35, 128 MiB), layout and program, the swap scenario to the end. */
function nodeSession(): DemoSession {
  const name = 'qemu-q35-linux-128m.e820.txt';
  const parsed = parseMemoryMap(readFileSync(join(appDir, 'fixtures', name)), { fileName: name });
  const s = new DemoSession(
    { memoryMap: { name, format: parsed.format, regions: parsed.regions }, layout: 'higher-half', program: { name: 'hello-static-pie', bytes: new Uint8Array(readFileSync(join(appDir, 'fixtures', 'hello-static-pie'))) }, traceAccesses: 40_000 },
    'swap',
  );
  while (!s.done) s.next();
  return s;
}

describe.skipIf(NO_BROWSER)('the swap view in headless Chromium', () => {
  let web: WebPageHarness;
  beforeAll(async () => {
    web = await startWebPage();
  }, 180_000);
  afterAll(async () => web?.stop());

  it('shows evicted and swapped-in frames, slot counts, fault rates and every policy as the library computes them', async () => {
    const page = await web.browser.newPage({ viewport: { width: 1440, height: 1600 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${web.url}?scenario=swap`);
    await page.waitForFunction(`document.body.dataset.ready === 'true'`, undefined, POLL);
    expect(await page.textContent('#view-swap h2')).toContain('Swap');
    expect(await page.getAttribute('#view-swap .view-body', 'data-ran')).toBe('false');
    await page.click('#btn-end');
    await page.waitForFunction(`document.querySelector('#view-swap .view-body').dataset.ran === 'true'`, undefined, POLL);

    const node = nodeSession();
    const swap = node.kernel.swap!;
    const c = swap.counters;
    const result = node.swap!;

    // The frame map: every user frame the run used, coloured by what happened to it in the moment
    // shown — the last one by default, then one the slider picks.
    const timeline = swapFrameTimeline(swapStepEvents(node)!);
    const shownAt = async (): Promise<{ frame: number; state: string }[]> => page.$$eval('#sw-frames i', (is) => is.map((i) => ({ frame: Number((i as HTMLElement).dataset.frame), state: (i as HTMLElement).dataset.state! })));
    const expectedAt = (m: number): { frame: number; state: string }[] => timeline.frames.map((frame, i) => ({ frame, state: timeline.moments[m]!.states[i]! }));
    const last = timeline.moments.length - 1;
    expect(await shownAt()).toEqual(expectedAt(last));
    for (const m of [3, 20]) {
      await page.fill('#sw-moment', String(m));
      await page.waitForFunction(`document.getElementById('sw-frames').dataset.moment === '${m}'`, undefined, POLL);
      expect(await shownAt()).toEqual(expectedAt(m));
      expect(Number(await page.getAttribute('#sw-moment-text', 'data-evictions'))).toBe(timeline.moments[m]!.evictions);
    }
    // ... and the timeline agrees with the library's counters: each major fault is one swap-in
    // into a frame, each eviction (written, clean or dropped) one; at the end the frames holding a
    // page are exactly the resident pages reclaim tracks.
    const end = timeline.moments[last]!;
    expect(end.swapIns).toBe(c.majorFaults);
    expect(end.evictions).toBe(c.swappedOut + c.cleanSwapEvictions + c.fileDropped);
    expect(end.states.filter((x) => x !== 'free' && x !== 'evicted')).toHaveLength(swap.residentPages);
    expect(c.majorFaults).toBeGreaterThan(1000);
    // Early on, pages are evicted to make room for fresh ones; at the end, for pages read back.
    expect(timeline.moments[3]!.states).toContain('replaced-fresh');
    expect(end.states).toContain('replaced-from-swap');

    // The slots: each device's reference counts (count > 1: copy-on-write sharers of one slot).
    const slots = swapSlotRows(swap);
    for (const [i, row] of slots.entries()) {
      const counts = await page.$$eval(`#sw-slots .sw-grid[data-device="${row.name}"] i`, (is) => is.map((x) => Number((x as HTMLElement).dataset.count)));
      expect(counts).toEqual(row.counts);
      expect(counts.filter((n) => n > 0)).toHaveLength(swap.space.areas[i]!.usedSlots);
      expect(counts.filter((n) => n > 0)).toHaveLength(result.devices[i]!.usedSlots);
    }
    expect(slots.flatMap((r) => r.counts).some((n) => n > 1)).toBe(true);

    // Fault rates over simulated time: the samples summed, totals equal to what the samples hold.
    const buckets = JSON.parse((await page.getAttribute('#sw-rates', 'data-buckets')) ?? 'null') as FaultRateBucket[];
    expect(buckets).toEqual(faultRateBuckets(swap.samples));
    expect(buckets.reduce((n, b) => n + b.majorFaults, 0)).toBe(swap.samples.reduce((n, s) => n + s.majorFaults, 0));
    expect(await page.locator('#sw-rates svg rect').count()).toBeGreaterThan(buckets.length);

    // The policy table: the terminal scenario's rows, every policy, OPT fewest.
    const rows = await page.$$eval('#sw-policies tr[data-policy]', (trs) => trs.map((tr) => Object.fromEntries(Array.from(tr.querySelectorAll('td'), (td) => [(td as HTMLElement).dataset.key!, td.textContent]))));
    expect(rows.map((r) => r.policy)).toEqual(result.rows.map((r) => r.policy));
    expect(rows).toHaveLength(9);
    for (const [i, r] of result.rows.entries()) {
      for (const k of ['faults', 'majorFaults', 'minorFaults', 'swappedOut', 'swappedIn', 'fileDropped', 'cleanSwapEvictions', 'scanned', 'directRuns', 'thrashingSamples'] as const) expect(Number(rows[i]![k])).toBe(r[k]);
      expect(rows[i]!.simulatedMs).toBe(r.simulatedMs.toFixed(1));
    }
    const opt = result.rows.find((r) => r.policy === 'opt')!;
    for (const r of result.rows) expect(opt.faults).toBeLessThanOrEqual(r.faults);
    // The Clock row is the page's own kernel's run: the same accesses give the same counters.
    expect(result.rows.find((r) => r.policy === 'clock')!.majorFaults).toBe(c.majorFaults);
    expect(await page.textContent('#sw-processes')).toContain('big');
    expect(errors).toEqual([]);

    mkdirSync(join(appDir, 'test-output'), { recursive: true });
    await page.locator('#view-swap').screenshot({ path: join(appDir, 'test-output', 'web-swap.png') });
    expect(statSync(join(appDir, 'test-output', 'web-swap.png')).size).toBeGreaterThan(10_000);
    await page.close();
  }, 300_000);
});
