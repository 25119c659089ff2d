// The page-table diff behind the "entries changed by the last step" panel: exact (every entry that
// changed, nothing else, checked against a reference that finds the tables another way — by frame
// owner, on two separately replayed machines), placed right (level, table, index and linear range
// agree with x86-paging's own walk), and each changed bit named as SDM vol. 3A 4.5 (Tables 4-14 to
// 4-19) names it, or as kernel-sim's swap entries use it when P = 0.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { parseMemoryMap, swapEntryHi, swapEntryLo, type Kernel } from '@kmem/kernel-sim';
import { PhysicalTableAccess, walkTables } from '@kmem/x86-paging';
import { DemoSession, Timeline, changedFields, describeEntry, diffPageTables, entryHex, snapshotPageTables, type EntryChange, type ScenarioName } from '../src/scenarios/index';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAP = 'qemu-q35-linux-128m.e820.txt';
const parsed = parseMemoryMap(readFileSync(join(appDir, 'fixtures', MAP)), { fileName: MAP });
const program = new Uint8Array(readFileSync(join(appDir, 'fixtures', 'hello-static-pie')));
/** Steps of the boot: from the ninth on, the kernel's frame owners say which frames are tables. */
const BOOT_STEPS = 8;

function timeline(scenario: ScenarioName): Timeline {
  return new Timeline(() => new DemoSession({ memoryMap: { name: MAP, format: parsed.format, regions: parsed.regions }, layout: 'higher-half', program: { name: 'hello-static-pie', bytes: program }, traceAccesses: 3_000, swapPhaseAccesses: 600 }, scenario));
}

/** The frames the kernel's owner records call page tables. */
function tableFrames(k: Kernel): Set<number> {
  const out = new Set<number>();
  for (let f = 0; f < k.pmm.totalFrames; f++) if (k.frames.kindOf(f * 4096) === 'page-table') out.add(f * 4096);
  return out;
}

/** Reference: entries that differ between two machines, over the frames either calls a table (a frame a table on one side only: zeros on the other). */
function referenceDiff(before: Kernel, after: Kernel): string[] {
  const b = tableFrames(before);
  const a = tableFrames(after);
  const out: string[] = [];
  for (const frame of new Set([...b, ...a])) {
    const ow = b.has(frame) ? before.machine.memory.frameWords(frame) : new Uint32Array(1024);
    const nw = a.has(frame) ? after.machine.memory.frameWords(frame) : new Uint32Array(1024);
    for (let i = 0; i < 512; i++) if (ow[2 * i] !== nw[2 * i] || ow[2 * i + 1] !== nw[2 * i + 1]) out.push(`${frame}[${i}] ${entryHex(ow[2 * i]!, ow[2 * i + 1]!)} -> ${entryHex(nw[2 * i]!, nw[2 * i + 1]!)}`);
  }
  return out.sort();
}

const key = (c: EntryChange): string => `${c.tableFrame}[${c.index}] ${entryHex(c.oldLo, c.oldHi)} -> ${entryHex(c.newLo, c.newHi)}`;

function rootOf(k: Kernel, space: number): number {
  return space === 0 ? k.kernelRoot : k.processes.list().find((p) => p.pid === space)!.root;
}

/** Each change is where x86-paging's walk of its first address finds it: same level, entry address and value. */
function checkPlacement(changes: readonly EntryChange[], before: Kernel, after: Kernel): void {
  for (const c of changes) {
    const k = c.table === 'freed' ? before : after;
    const space = c.spaces.find((s) => s === 0 || k.processes.list().some((p) => p.pid === s));
    if (space === undefined) continue; // a process gone on that side
    const steps = walkTables(new PhysicalTableAccess(k.memory), rootOf(k, space), c.vaStart, k.machine.maxPhysAddrBits);
    const step = steps.find((s) => s.level === c.level)!;
    expect(step.entryPa).toBe(c.entryPa);
    expect(step.index).toBe(c.index);
    const [lo, hi] = c.table === 'freed' ? [c.oldLo, c.oldHi] : [c.newLo, c.newHi];
    expect([step.entry.lo >>> 0, step.entry.hi >>> 0]).toEqual([lo >>> 0, hi >>> 0]);
    expect(c.vaEnd - c.vaStart).toBe(2 ** (12 + 9 * (c.level - 1)));
  }
}

describe('diffPageTables', () => {
  for (const scenario of ['tour', 'swap'] as const) {
    it(`finds exactly the entries every step of the ${scenario} scenario changed, where the walk finds them`, () => {
      const t = timeline(scenario);
      let checked = 0;
      let swapEntries = 0;
      for (let n = BOOT_STEPS + 1; n <= t.length; n++) {
        const point = t.replay(n, (s) => snapshotPageTables(s.kernel));
        const previous = t.replay(n - 1, () => null).session.kernel;
        const k = point.session.kernel;
        if (k.state !== 'running') continue;
        const changes = diffPageTables(point.before!, snapshotPageTables(k));
        expect(changes.map(key).sort()).toEqual(referenceDiff(previous, k));
        checkPlacement(changes, previous, k);
        checked += changes.length;
        swapEntries += changes.filter((c) => c.fields.some((f) => f.name === 'swap (OS bit 11)')).length;
      }
      expect(checked).toBeGreaterThan(100);
      if (scenario === 'swap') expect(swapEntries).toBeGreaterThan(0);
    }, 240_000);
  }

  it('sees the boot build its tables: the boot-table step makes the first PML4, PDPT and PD with 2 MiB leaves', () => {
    const t = timeline('tour');
    const point = t.replay(3, (s) => snapshotPageTables(s.kernel));
    const changes = diffPageTables(point.before!, snapshotPageTables(point.session.kernel));
    expect(changes.length).toBeGreaterThan(0);
    expect(changes.every((c) => c.table === 'new' && c.oldLo === 0 && c.oldHi === 0)).toBe(true);
    expect(new Set(changes.map((c) => c.levelName))).toEqual(new Set(['PML4', 'PDPT', 'PD']));
    // SDM 4.5: a PDE with PS = 1 maps a 2 MiB page.
    expect(changes.filter((c) => c.level === 2).every((c) => c.fields.some((f) => f.name === 'PS' && f.new === '1'))).toBe(true);
  });

  it('says nothing changed for a step that touched no table (the frame allocator is built before paging)', () => {
    const point = timeline('tour').replay(2, (s) => snapshotPageTables(s.kernel));
    expect(diffPageTables(point.before!, snapshotPageTables(point.session.kernel))).toEqual([]);
  });
});

/** An entry value: a 32-bit low and high word. */
const WORD = fc.integer({ min: 0, max: 0xffff_ffff });

describe('changedFields', () => {
  test.prop([fc.integer({ min: 1, max: 4 }), WORD, WORD, WORD, WORD], { numRuns: 2000 })('names every changed bit exactly once, and only changed ones', (level, oldLo, oldHi, newLo, newHi) => {
    const fields = changedFields(level, oldLo, oldHi, newLo, newHi);
    let lo = 0;
    let hi = 0;
    for (const f of fields) {
      // Disjoint fields, each with a changed bit.
      expect((lo & f.mask[0]) | (hi & f.mask[1])).toBe(0);
      expect(((oldLo ^ newLo) & f.mask[0]) | ((oldHi ^ newHi) & f.mask[1])).not.toBe(0);
      lo |= f.mask[0];
      hi |= f.mask[1];
      if (!f.bits.includes(':')) {
        const b = Number(f.bits);
        const bitOf = (l: number, h: number): string => String(b < 32 ? (l >>> b) & 1 : (h >>> (b - 32)) & 1);
        expect([f.old, f.new]).toEqual([bitOf(oldLo, oldHi), bitOf(newLo, newHi)]);
      }
    }
    // Every changed bit is inside some field.
    expect((((oldLo ^ newLo) & ~lo) | ((oldHi ^ newHi) & ~hi)) >>> 0).toBe(0);
  });

  test.prop([fc.integer({ min: 1, max: 4 }), WORD, WORD, fc.integer({ min: 0, max: 63 })], { numRuns: 2000 })('names a single flipped bit by the one field that holds it', (level, lo, hi, b) => {
    const nlo = b < 32 ? (lo ^ (1 << b)) >>> 0 : lo;
    const nhi = b >= 32 ? (hi ^ (1 << (b - 32))) >>> 0 : hi;
    const fields = changedFields(level, lo, hi, nlo, nhi);
    expect(fields).toHaveLength(1);
    expect(b < 32 ? (fields[0]!.mask[0] >>> b) & 1 : (fields[0]!.mask[1] >>> (b - 32)) & 1).toBe(1);
  });

  const names = (level: number, o: [number, number], n: [number, number]): string[] => changedFields(level, o[0], o[1], n[0], n[1]).map((f) => `${f.name} ${f.old}->${f.new}`);

  it('names the accessed and dirty bits the CPU sets (SDM 4.8)', () => {
    expect(names(1, [0x0025_4007, 0x8000_0000], [0x0025_4067, 0x8000_0000])).toEqual(['A 0->1', 'D 0->1']);
    // Bit 6 of an entry that points to a table is ignored, not D (SDM 4.5, Table 4-15).
    expect(names(4, [0x0025_5007, 0], [0x0025_5047, 0])).toEqual(['bit 6 (ignored) 0->1']);
  });

  it('names bit 7 by level: PAT in a PTE, PS in a PDE / PDPTE, reserved in a PML4E (SDM 4.5)', () => {
    expect(names(1, [0x1001, 0], [0x1081, 0])).toEqual(['PAT 0->1']);
    expect(names(2, [0x1001, 0], [0x1081, 0])[0]).toBe('PS 0->1');
    expect(names(3, [0x1001, 0], [0x1081, 0])[0]).toBe('PS 0->1');
    expect(names(4, [0x1001, 0], [0x1081, 0])).toEqual(['PS (reserved) 0->1']);
  });

  it('reads a 2 MiB leaf: PAT at bit 12, the page address from bit 21, bits 20:13 reserved', () => {
    expect(names(2, [0x0020_0083, 0], [0x0020_1083, 0])).toEqual(['PAT 0->1']);
    expect(names(2, [0x0020_0083, 0], [0x0040_0083, 0])).toEqual(['frame address 0x0020_0000->0x0040_0000']);
    expect(names(2, [0x0020_0083, 0], [0x0020_2083, 0])).toEqual(['reserved 0x0->0x1']);
  });

  it('names the page address, the global and the execute-disable bits, and the copy-on-write mark of a leaf', () => {
    expect(names(1, [0x0024_3025, 0], [0x0024_3225, 0])).toEqual(['COW (OS bit 9) 0->1']);
    expect(names(1, [0x0024_3025, 0], [0x0031_0125, 0x8000_0000])).toEqual(['G 0->1', 'frame address 0x0024_3000->0x0031_0000', 'XD 0->1']);
    expect(names(3, [0x0010_2003, 0], [0x0010_2003, 0x1])).toEqual(['table address 0x0010_2000->0x0001_0010_2000']);
  });

  it("reads kernel-sim's swap entries (P = 0, bit 11, device in 62:58, slot inverted in 51:12)", () => {
    const lo = swapEntryLo(3, 17);
    const hi = swapEntryHi(3, 17);
    expect(describeEntry(1, lo, hi)).toBe('not present: swap entry, device 3, slot 17');
    // A page swapped out: the present layout names the bits (the CPU's view of the old value).
    const out = names(1, [0x0024_3067, 0x8000_0000], [lo, hi]);
    expect(out).toContain('P 1->0');
    expect(out).toContain('swap (OS bit 11) 0->1');
    // Slot 17 to slot 18 of the same device: only the slot changed.
    expect(names(1, [lo, hi], [swapEntryLo(3, 18), swapEntryHi(3, 18)])).toEqual(['swap slot (inverted) slot 17->slot 18']);
    expect(names(1, [lo, hi], [swapEntryLo(4, 17), swapEntryHi(4, 17)])).toEqual(['swap device 3->4']);
  });

  it('calls the bits of a not-present entry ignored (SDM 4.5: P = 0, the CPU reads no other bit)', () => {
    expect(names(2, [0, 0], [0x10_0000, 0])).toEqual(['ignored bits 63:1 0x0->0x80000']);
    expect(describeEntry(2, 0x10_0000, 0)).toBe('not present (the CPU ignores the other bits)');
    expect(describeEntry(3, 0, 0)).toBe('empty');
    expect(describeEntry(2, 0x0020_00e3, 0x8000_0000)).toBe('P RW A D XD → 2 MiB page 0x0020_0000');
  });
});
