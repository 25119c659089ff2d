// How long reading a real kernel's full page tables takes: open a QEMU dump-guest-memory core,
// scan every table, list every mapping, lint, and format every line, in a fresh process per run
// (5 runs; CPU time from process.cpuUsage and wall time; medians). Host memory: the frames read.
// Needs a dump: KMEM_INSPECT_DUMP=/path/linux.elf [KMEM_INSPECT_EFER=0xd01] (the inspect tests in
// apps/demo make one; see the kernel-sim README). Without it, prints how to get one and exits.
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DumpSource } from '../src/index';

const dumpPath = process.env.KMEM_INSPECT_DUMP;
const efer = Number(process.env.KMEM_INSPECT_EFER ?? '0xd01');

if (process.argv[2] === '--once') {
  // The sources, through the @kmem/source condition this child runs with (no build needed).
  const { describeMapping, formatMappingViews, inspectPageTables, lintPageTables, openDump, resolvePagingState } = await import('../src/index');
  const fd = openSync(dumpPath!, 'r');
  const source: DumpSource = { sizeBytes: fstatSync(fd).size, read: (offset, into) => readSync(fd, into, 0, into.length, offset) };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const dump = openDump(source);
  const insp = inspectPageTables(dump.memory, resolvePagingState({ efer }, dump.cpus[0], 40), { loops: 'prune' });
  const findings = lintPageTables(insp, dump.memory);
  const text = formatMappingViews(insp.mappings.map((m) => describeMapping(m)));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  closeSync(fd);
  const tables = insp.scan.tables.length;
  console.log(JSON.stringify({ wallMs, cpuMs: (cpu.user + cpu.system) / 1000, tables, ranges: insp.mappings.length, findings: findings.length, framesRead: dump.memory.framesRead, textBytes: text.length, dumpBytes: source.sizeBytes }));
} else if (dumpPath === undefined) {
  console.log('inspect-dump: skipped (set KMEM_INSPECT_DUMP to a QEMU dump-guest-memory file of a Linux guest)');
} else {
  const runs: { wallMs: number; cpuMs: number; tables: number; ranges: number; framesRead: number; dumpBytes: number }[] = [];
  for (let i = 0; i < 5; i++) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@kmem/source', fileURLToPath(import.meta.url), '--once'], { encoding: 'utf8', env: process.env });
    if (r.status !== 0) throw new Error(r.stderr);
    runs.push(JSON.parse(r.stdout) as (typeof runs)[number]);
  }
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const one = runs[0]!;
  console.log(
    `inspect-dump: ${(one.dumpBytes / 2 ** 20).toFixed(0)} MiB dump, ${one.tables} tables, ${one.ranges} ranges, ${one.framesRead} frames read (${((one.framesRead * 4096) / 2 ** 20).toFixed(1)} MiB): ` +
      `median ${median(runs.map((r) => r.cpuMs)).toFixed(0)} ms CPU, ${median(runs.map((r) => r.wallMs)).toFixed(0)} ms wall over ${runs.length} processes (open, scan, mappings, lint, format)`,
  );
}
