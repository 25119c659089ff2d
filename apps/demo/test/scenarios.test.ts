// The scenario layer in-process: every scenario under every layout keeps the kernel's invariants
// after every step, runs deterministically (the web page and Node must agree), and the views
// report what the library reports.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FRAME_OWNER_KINDS, parseMemoryMap, type LayoutName } from '@kmem/kernel-sim';
import { PhysicalTableAccess, walkTables } from '@kmem/x86-paging';
import { DemoSession, FRAME_CLASSES, LAYOUT_NAMES, SCENARIO_NAMES, classifyFrames, walkViewPhysical, zoneUsage, type DemoInputs, type ScenarioName } from '../src/scenarios/index';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

function inputs(layout: LayoutName, map = 'qemu-q35-linux-128m.e820.txt'): DemoInputs {
  const parsed = parseMemoryMap(readFileSync(join(fixtures, map)), { fileName: map });
  return {
    memoryMap: { name: map, format: parsed.format, regions: parsed.regions },
    layout,
    program: { name: 'hello-static-pie', bytes: new Uint8Array(readFileSync(join(fixtures, 'hello-static-pie'))) },
    traceAccesses: 6000,
    swapPhaseAccesses: 800,
  };
}

describe('DemoSession', () => {
  for (const layout of LAYOUT_NAMES) {
    it.each(SCENARIO_NAMES)(`runs %s under ${layout}, the kernel consistent after every step`, (name: ScenarioName) => {
      const s = new DemoSession(inputs(layout), name);
      expect(s.stepCount).toBe(8 + s.scenario.steps.length);
      while (!s.done) {
        const r = s.next()!;
        expect(r.lines.length).toBeGreaterThan(0);
        if (s.kernel.state === 'running') s.kernel.checkInvariants();
      }
      expect(s.next()).toBeNull();
      expect(s.kernel.state).toBe('running');
      const res = s.result();
      expect(JSON.parse(JSON.stringify(res))).toEqual(res);
      expect(res.bootSteps).toHaveLength(8);
      if (name === 'tour' || name === 'panic') expect(res.panic?.report.reason).toMatch(/page fault/);
      if (name === 'trace') expect(res.trace?.accesses).toBe(6000);
    });
  }

  it('is deterministic: the same inputs give the same result (the web page relies on it)', () => {
    const a = new DemoSession(inputs('higher-half'), 'tour');
    const b = new DemoSession(inputs('higher-half'), 'tour');
    a.runToEnd();
    b.runToEnd();
    expect(JSON.stringify(a.result())).toBe(JSON.stringify(b.result()));
  });

  it('refuses a fixed-address program that does not fit the layout before booting', () => {
    const bad = { ...inputs('identity-low'), program: { name: 'hello-static', bytes: new Uint8Array(readFileSync(join(fixtures, 'hello-static'))) } };
    expect(() => new DemoSession(bad, 'tour')).toThrow(/outside user space/);
  });
});

describe('views', () => {
  const s = new DemoSession(inputs('higher-half', 'qemu-q35-linux-5g.e820.txt'), 'cow-fork');
  s.runToEnd();
  const k = s.kernel;

  it('walk() shows exactly the library walk, for mapped, unmapped, user and kernel addresses', () => {
    const worker = k.processes.list().find((p) => p.name === 'worker')!;
    const buffer = worker.regions().find((r) => r.kind === 'mmap')!.start;
    const cases: [number, number][] = [
      [buffer + 0x123, worker.pid],
      [buffer + 15 * 4096, worker.pid],
      [0x10, worker.pid],
      [s.kernelObjects[0]!, 0],
      [k.directMapOffset + 0x1234_5000, 0],
    ];
    for (const [va, pid] of cases) {
      const root = pid === 0 ? k.kernelRoot : worker.root;
      const lib = walkTables(new PhysicalTableAccess(k.memory), root, va);
      const shown = s.walk(va, pid);
      expect(shown.levels.map((l) => [l.levelName, l.index, l.tableFrame, l.entryPa, l.present, l.leaf, l.pa])).toEqual(
        lib.map((st) => [st.levelName, st.index, st.tableFrame, st.entryPa, st.entry.present, st.entry.leaf, st.entry.pa]),
      );
      const last = lib[lib.length - 1]!;
      expect(shown.pa).toBe(last.entry.leaf ? last.entry.pa + (va % last.entry.pageSizeBytes) : null);
      expect(walkViewPhysical(k, root, va, 'x').levels).toEqual(shown.levels);
    }
    // Demand paging: a touched page translates where the process says it does.
    expect(s.walk(buffer, worker.pid).pa).toBe(worker.translate(buffer));
  });

  it('classifyFrames agrees with the ownership records for every owner kind', () => {
    const total = k.pmm.totalFrames;
    const kinds = new Uint8Array(total);
    const pids = new Int32Array(total);
    classifyFrames(k, 0, total, kinds, pids);
    const counts = new Map<string, number>();
    for (const c of kinds) counts.set(FRAME_CLASSES[c]!, (counts.get(FRAME_CLASSES[c]!) ?? 0) + 1);
    const usage = k.frames.usageByOwner();
    for (const kind of FRAME_OWNER_KINDS) if (kind !== 'reserved') expect(counts.get(kind) ?? 0).toBe(usage[kind]);
    expect(counts.get('free')).toBe(k.pmm.freeFrames);
    for (const p of k.processes.list()) expect(pids.filter((x) => x === p.pid).length).toBe(k.frames.framesOfPid(p.pid));
  });

  it('zoneUsage splits the free frames by zone', () => {
    const zones = zoneUsage(k);
    expect(zones.reduce((n, z) => n + z.freeFrames, 0)).toBe(k.pmm.freeFrames);
    for (const z of zones) expect(z.usedFrames + z.freeFrames).toBe(z.usableFrames);
  });
});
