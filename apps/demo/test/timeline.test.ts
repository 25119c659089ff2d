// The history behind time travel: a replay gives the machine that stepping gave (the page's "back"
// rests on it), links round-trip, an access is inserted as a new branch, and an access's report says
// what the library did (SDM 4.7 error codes, 4.8 A/D bits).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { parseMemoryMap } from '@kmem/kernel-sim';
import { DemoSession, Timeline, heapView, observe, ownerUsage, processViews, tlbView, type AccessRequest, type ScenarioName, type TimelineAction } from '../src/scenarios/index';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAP = 'qemu-q35-linux-128m.e820.txt';
const parsed = parseMemoryMap(readFileSync(join(appDir, 'fixtures', MAP)), { fileName: MAP });
const program = new Uint8Array(readFileSync(join(appDir, 'fixtures', 'hello-static-pie')));

function timeline(scenario: ScenarioName, actions?: readonly TimelineAction[]): Timeline {
  return new Timeline(() => new DemoSession({ memoryMap: { name: MAP, format: parsed.format, regions: parsed.regions }, layout: 'higher-half', program: { name: 'hello-static-pie', bytes: program }, traceAccesses: 10_000 }, scenario), actions);
}

/** Everything the page draws about a machine, as one string (looked at as the page looks: observe). */
function digest(s: DemoSession): string {
  if (!s.booted) return JSON.stringify({ position: s.position });
  const k = s.kernel;
  return observe(s, () => JSON.stringify({ state: k.state, processes: processViews(k), tlb: tlbView(k, 1 << 16), owners: ownerUsage(k), heap: heapView(k), events: k.events.emitted, free: k.pmm.freeFrames }));
}

const ACCESS = fc.record({
  region: fc.nat(7),
  page: fc.nat(40),
  offset: fc.nat(4095),
  access: fc.constantFrom('read' as const, 'write' as const, 'execute' as const),
  mode: fc.constantFrom('user' as const, 'supervisor' as const),
  who: fc.nat(3),
});

describe('Timeline', () => {
  test.prop([fc.array(fc.tuple(fc.integer({ min: 8, max: 12 }), ACCESS), { minLength: 1, maxLength: 4 })], { numRuns: 8 })(
    'a replay to any position gives the machine stepping gave (a replay is deterministic)',
    (inserts) => {
      const t = timeline('demand-paging');
      // Accesses at the drawn positions, to the drawn process's regions (or the kernel's).
      let point = t.replay(0, () => null);
      const sorted = [...inserts].sort((a, b) => a[0] - b[0]);
      for (const [at, a] of sorted) {
        while (point.position < Math.min(at, t.length)) point = t.advance(point, () => null);
        const k = point.session.kernel;
        if (k.state !== 'running') break;
        const procs = k.processes.list();
        const p = a.who < procs.length ? procs[a.who]! : null;
        const regions = p === null ? [] : p.regions();
        const r = regions[a.region % Math.max(1, regions.length)];
        const va = r === undefined ? point.session.kernelObjects[0] ?? 0x10 : Math.min(r.end - 1, r.start + a.page * 4096 + a.offset);
        const request: AccessRequest = { pid: p === null ? 0 : p.pid, va, access: a.access, mode: p === null ? 'supervisor' : a.mode };
        t.insertAccess(point.position, request);
        point = t.advance(point, () => null);
      }
      const again = t.replay(point.position, () => null);
      // Each machine looked at once: a look may change a machine (observe.ts), never the next replay.
      const seen = digest(again.session);
      expect(seen).toBe(digest(point.session));
      expect(JSON.stringify(again.last)).toBe(JSON.stringify(point.last));
      expect(digest(t.replay(point.position, () => null).session)).toBe(seen);
      // And through a link: the encoded history decodes to the same actions.
      expect(Timeline.decode(t.encode())).toEqual(t.actions);
    },
    120_000,
  );

  it('inserting an access drops the accesses after it and keeps the scenario steps left', () => {
    const t = timeline('demand-paging');
    const n = t.length;
    t.insertAccess(9, { pid: 1, va: 0x1000, access: 'read', mode: 'user' });
    t.insertAccess(10, { pid: 1, va: 0x2000, access: 'read', mode: 'user' });
    expect(t.length).toBe(n + 2);
    t.insertAccess(10, { pid: 1, va: 0x3000, access: 'write', mode: 'user' });
    expect(t.length).toBe(n + 2);
    expect(t.encode()).toBe(`s9-a1.1000.ru-a1.3000.wu-s${n - 9}`);
    t.insertAccess(3, { pid: 0, va: 0x10, access: 'execute', mode: 'supervisor' });
    expect(t.encode()).toBe(`s3-a0.10.es-s${n - 3}`);
    expect(Timeline.decode('s3-a0.10.es-s2')!.length).toBe(6);
    expect(Timeline.decode('s3-x')).toBeNull();
    expect(Timeline.decode('a1.zz.ru')).toBeNull();
  });

  it('an access reports the library\'s fault, decision, retried translation and A/D bits (SDM 4.7, 4.8)', () => {
    const t = timeline('demand-paging');
    const point = t.replay(11, () => null);
    const k = point.session.kernel;
    const worker = k.processes.list().find((p) => p.name === 'worker')!;
    const buffer = worker.regions().find((r) => r.kind === 'mmap')!.start;
    const va = buffer + 12 * 4096 + 0x34;
    t.insertAccess(11, { pid: worker.pid, va, access: 'write', mode: 'user' });
    const after = t.advance(point, () => null);
    expect(after.last?.kind).toBe('access');
    const r = after.last?.kind === 'access' ? after.last.report : null;
    expect(r!.outcome).toBe('ok');
    expect(r!.tlb!.hit).toBe(false);
    // A user write to a page never touched: not present (P = 0), W/R = 1, U/S = 1.
    expect(r!.faults.map((f) => [f.errorCode, f.resolution])).toEqual([[0x6, 'lazy-zero']]);
    expect(r!.faults[0]!.cr2).toBe(r!.vaHex);
    expect(r!.checks.at(-1)!.stops).toBe(true);
    expect(r!.result!.pa).toBe(worker.translate(va));
    expect(r!.bitsSet).toContain('PT.D');
    // The same page read again: a TLB hit, no fault, nothing newly set.
    t.insertAccess(12, { pid: worker.pid, va, access: 'read', mode: 'user' });
    const again = t.advance(after, () => null);
    const r2 = again.last?.kind === 'access' ? again.last.report : null;
    expect(r2!.tlb!.hit).toBe(true);
    expect(r2!.faults).toEqual([]);
    expect(r2!.bitsSet).toEqual([]);
    // A request the kernel's API refuses leaves the machine as it was.
    const before = digest(again.session);
    t.insertAccess(13, { pid: 99, va, access: 'read', mode: 'user' });
    const refused = t.advance(again, () => null);
    expect(refused.last?.kind === 'access' && refused.last.report.outcome).toBe('refused');
    expect(digest(refused.session)).toBe(before);
  });
});
