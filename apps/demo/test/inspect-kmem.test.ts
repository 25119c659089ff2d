// Inspecting a kmem machine that QEMU ran: kernel-sim boots on QEMU's own q35 128 MiB memory map,
// runs a process and a forked child, exports its physical memory; QEMU loads it (-device loader,
// the CPU held at reset with -S) and writes a dump-guest-memory ELF core of its RAM. Reading the
// page tables out of QEMU's dump must give exactly what kmem's own Mapper.mappings() says, and
// the diff of two dumps (before and after mprotect/munmap/mmap) the difference kmem made.
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kernel, Machine, PROT, diffMappings, exportRawImage, inspectPageTables, lintPageTables, openDump, parseE820Log, resolvePagingState, type ControlRegisterState } from '@kmem/kernel-sim';
import type { MappingRange } from '@kmem/x86-paging';
import { FileDumpSource } from '../src/inspect/file-dump-source';
import { runInspect } from '../src/inspect/run-inspect';
import { QemuMachine, qemuMissing } from './qemu/qemu-machine';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const missing = qemuMissing();
if (missing !== null) console.warn(`inspect-kmem.test.ts: ${missing}`);
const PAGE = 4096;

interface Snapshot {
  readonly elf: string;
  readonly registers: ControlRegisterState;
  /** kmem's own view, per root. */
  readonly expected: Map<number, MappingRange[]>;
}

/** Loads `image` into a halted q35 machine with 128 MiB and dumps its memory as an ELF core. */
async function dumpInQemu(dir: string, name: string, image: Uint8Array): Promise<string> {
  const imageFile = join(dir, `${name}.bin`);
  writeFileSync(imageFile, image);
  const qemuDir = mkdtempSync(join(dir, `${name}-`));
  const m = await QemuMachine.start(qemuDir, ['-machine', 'q35', '-accel', 'tcg', '-cpu', 'max', '-m', '128M', '-S', '-device', `loader,file=${imageFile},addr=0`]);
  try {
    const elf = join(dir, `${name}.elf`);
    await m.dumpGuestMemory(elf);
    return elf;
  } finally {
    await m.quit();
  }
}

function plain(ranges: readonly MappingRange[]): MappingRange[] {
  return ranges.map((r) => ({ start: r.start, end: r.end, pa: r.pa, flags: r.flags, pageSizeBytes: r.pageSizeBytes }));
}

function readMappings(elf: string, registers: ControlRegisterState, cr3: number): MappingRange[] {
  const source = new FileDumpSource(elf);
  try {
    const dump = openDump(source);
    return plain(inspectPageTables(dump.memory, resolvePagingState({ ...registers, cr3 }, dump.cpus[0])).mappings);
  } finally {
    source.close();
  }
}

let dir: string;
let before: Snapshot;
let after: Snapshot;
let roots: { name: string; cr3: number }[];
let data = 0;
let ro = 0;
let added = 0;

describe.skipIf(missing !== null)('inspect: a kmem machine dumped by QEMU', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kmem-inspect-kmem-'));
    const memoryMap = parseE820Log(readFileSync(join(appDir, 'fixtures', 'qemu-q35-linux-128m.e820.txt'), 'utf8'));
    const kernel = new Kernel(new Machine({ memoryMap }), { layout: 'higher-half' });
    kernel.boot();
    for (let i = 0; i < 20; i++) kernel.kmalloc(i % 2 === 0 ? 64 : 5000);
    const parent = kernel.createProcess({ name: 'parent' })!;
    data = parent.mmap({ lengthBytes: 8 * PAGE, prot: PROT.Read | PROT.Write })!;
    ro = parent.mmap({ lengthBytes: 2 * PAGE, prot: PROT.Read })!;
    const code = parent.mmap({ lengthBytes: 3 * PAGE, prot: PROT.Read | PROT.Exec })!;
    for (let i = 0; i < 6; i++) parent.touch(data + i * PAGE, 'write', 0x40 + i);
    parent.touch(ro, 'read');
    parent.touch(code + PAGE, 'execute');
    const child = kernel.fork(parent.pid)!;
    child.touch(data + 2 * PAGE, 'write', 0x77);
    parent.touch(data, 'write', 0x41); // the parent's own copy again: writable in the parent
    kernel.checkInvariants();
    roots = [
      { name: 'kernel', cr3: kernel.kernelRoot },
      { name: 'parent', cr3: parent.root },
      { name: 'child', cr3: child.root },
    ];
    const ramTop = Math.max(...memoryMap.filter((r) => r.kind === 'usable' && r.base < 2 ** 32).map((r) => r.base + r.lengthBytes));
    const snapshot = async (name: string): Promise<Snapshot> => {
      const expected = new Map(roots.map((r) => [r.cr3, plain(kernel.mapperFor(r.cr3).mappings())]));
      const elf = await dumpInQemu(dir, name, exportRawImage(kernel.memory, { limitBytes: ramTop }));
      return { elf, registers: kernel.controlRegisters(), expected };
    };
    before = await snapshot('before');
    // The change: a writable data page read-only, the read-only region unmapped, a new region touched.
    parent.mprotect(data, PAGE, PROT.Read);
    parent.munmap(ro, 2 * PAGE);
    added = parent.mmap({ lengthBytes: 4 * PAGE, prot: PROT.Read | PROT.Write })!;
    parent.touch(added, 'write', 1);
    kernel.checkInvariants();
    after = await snapshot('after');
  }, 120_000);
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("reads the kernel's, a process's and its forked child's tables out of QEMU's dump exactly as kmem's mappings() lists them", () => {
    for (const snap of [before, after]) {
      for (const r of roots) expect(readMappings(snap.elf, snap.registers, r.cr3), r.name).toEqual(snap.expected.get(r.cr3));
    }
  });

  it('diffs the two dumps: the same difference kmem made (rights changed, region removed, region added)', () => {
    const parent = roots[1]!.cr3;
    const fromDumps = diffMappings(readMappings(before.elf, before.registers, parent), readMappings(after.elf, after.registers, parent));
    expect(fromDumps).toEqual(diffMappings(before.expected.get(parent)!, after.expected.get(parent)!));
    expect(fromDumps.find((d) => d.kind === 'changed' && d.start === data)?.changes).toContain('rights urw- -> ur--');
    expect(fromDumps.some((d) => d.kind === 'removed' && d.start === ro)).toBe(true);
    expect(fromDumps.some((d) => d.kind === 'added' && d.start === added)).toBe(true);
  });

  it("lints kmem's own kernel tables: no W+X, nothing user-accessible above 2^47, but its text is writable through the direct map", () => {
    const source = new FileDumpSource(before.elf);
    try {
      const dump = openDump(source);
      const insp = inspectPageTables(dump.memory, resolvePagingState({ ...before.registers, cr3: roots[0]!.cr3 }, dump.cpus[0]));
      // higher-half layout: the kernel image region is where its text lives.
      const findings = lintPageTables(insp, dump.memory, { textRanges: [{ start: 0x8000_0000_0000 + 16 * 2 ** 20, end: 0x8000_0000_0000 + 144 * 2 ** 20 }] });
      expect(findings.filter((f) => f.rule === 'wx' || f.rule === 'user-in-kernel-half' || f.rule === 'reserved-bits')).toEqual([]);
      // A real finding: kernel-sim's direct map (at +4 TiB) maps every frame RW, the kernel's
      // text frames included, so the R-X text (at +16 MiB) has a writable alias. Linux makes that
      // alias read-only (set_memory_ro also changes the direct-map alias); kmem does not.
      const errors = findings.filter((f) => f.severity === 'error');
      expect(errors.map((f) => [f.rule, f.start])).toEqual([['kernel-text-writable', '0xffff_8400_0100_0000']]);
      expect(errors[0]!.message).toContain('executable at 0xffff_8000_0100_0000');
    } finally {
      source.close();
    }
  });

  it('the command line reads the dump with the given CR3 and diffs it with --diff-cr3', () => {
    const parent = roots[1]!.cr3;
    const r = runInspect(before.elf, { cr3: parent, cr0: before.registers.cr0, cr4: before.registers.cr4, efer: before.registers.efer, diff: after.elf, diffCr3: parent, cpu: 0, maxphyaddr: 52, lint: false, failOn: 'error', infoMem: false, limit: 0, json: true }, appDir).result;
    expect(r.registers.cr3!.source).toBe('given');
    expect(r.mappingCount).toBe(before.expected.get(parent)!.length);
    expect(r.diff!.text.map((d) => d.kind).sort()).toEqual(['added', 'changed', 'removed']);
  });
});
