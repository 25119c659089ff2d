// Trace replay speed on a real Valgrind lackey trace: busybox-static md5sum of 400 KB (recorded
// here with valgrind the first time, then cached in the OS temp folder; about 7.4 M records,
// 106 MB). Each mode runs in its own process, modes alternating, 3 rounds, the trace read twice
// per process and the second pass measured; CPU time from process.cpuUsage(), peak RSS of the
// process from process.resourceUsage(). Imports the BUILT package: run
// `npx tsup` first.
//
//   node --import tsx bench/trace-replay.bench.ts [TRACE [ELF]]     (or: pnpm --filter @kmem/kernel-sim bench)
//   modes: parse (reader only), replay (Cpu + TLB hierarchy + Mattson + working set, no policy
//   table), replay-policies (the default fifo, clock, lru, opt at 64/128/256 frames), lru-curve
//   (Mattson alone over the trace's page numbers), replay-half (replay of the first half: memory)
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTraceReader, LruStackDistance, PageIdTable, readTrace, TraceReplay } from '@kmem/kernel-sim';

const here = dirname(fileURLToPath(import.meta.url));
const busybox = join(here, '..', 'test', 'fixtures', 'elf', 'busybox-static');

function defaultTrace(): string | null {
  const trace = join(tmpdir(), 'kmem-bench-md5sum.lackey');
  if (existsSync(trace)) return trace;
  if (spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status !== 0) return null;
  const input = join(tmpdir(), 'kmem-bench-md5sum.in');
  const bytes = new Uint8Array(400_000);
  let x = 1;
  for (let i = 0; i < bytes.length; i++) bytes[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  writeFileSync(input, bytes);
  console.log('recording the lackey trace of busybox md5sum (about a minute)...');
  spawnSync('valgrind', ['--tool=lackey', '--trace-mem=yes', `--log-file=${trace}`, busybox, 'md5sum', input], { stdio: 'ignore' });
  return trace;
}

async function child(mode: string, trace: string, elf: string | null): Promise<void> {
  // Twice in the process, the second one measured: the first loads modules (tsx's loader thread
  // is counted in process.cpuUsage) and warms the JIT.
  await once(mode, trace, elf, false);
  await once(mode, trace, elf, true);
}

async function once(mode: string, trace: string, elf: string | null, report: boolean): Promise<void> {
  const chunks = (limit = Infinity) => createReadStream(trace, { highWaterMark: 1 << 20, end: limit });
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  let records = 0;
  if (mode === 'parse') {
    const reader = createTraceReader('lackey', (b) => {
      records += b.length;
    });
    for await (const c of chunks()) reader.push(c as Uint8Array);
    reader.end();
  } else if (mode === 'lru-curve') {
    const ids = new PageIdTable();
    const lru = new LruStackDistance();
    const reader = createTraceReader('lackey', (b) => {
      records += b.length;
      for (let i = 0; i < b.length; i++) lru.reference(ids.idOf(Math.floor(b.va[i]! / 4096)));
    });
    for await (const c of chunks()) reader.push(c as Uint8Array);
    reader.end();
    lru.missCurve();
  } else {
    const replay = new TraceReplay({ ...(elf === null ? {} : { elf: new Uint8Array(readFileSync(elf)), argv: ['busybox', 'md5sum'] }), policies: mode === 'replay-policies' ? undefined : [] } as never);
    const half = mode === 'replay-half' ? Math.floor(statSync(trace).size / 2) : Infinity;
    const reader = await readTrace(chunks(half), (b) => replay.consume(b), { format: 'lackey', lenient: mode === 'replay-half' });
    records = replay.finish(reader).accesses.records;
  }
  const cpu = process.cpuUsage(t0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const wallS = (performance.now() - w0) / 1e3;
  if (report) process.stdout.write(JSON.stringify({ mode, records, cpuS, wallS, maxRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n');
}

const [arg0, arg1, arg2, arg3] = process.argv.slice(2);
if (arg0 === '--child') await child(arg1!, arg2!, arg3 === '-' ? null : arg3!);
else {
  const trace = arg0 ?? defaultTrace();
  const elf = arg0 === undefined ? busybox : (arg1 ?? null);
  if (trace === null) console.log('trace-replay bench: valgrind not found and no trace given, skipped');
  else {
    const modes = ['parse', 'replay', 'replay-policies', 'lru-curve', 'replay-half'];
    const runs: Record<string, { records: number; cpuS: number; wallS: number; maxRssMiB: number }[]> = {};
    for (let round = 0; round < 3; round++) {
      for (const mode of modes) {
        const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode, trace, elf ?? '-'], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(r.stderr);
        (runs[mode] ??= []).push(JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { records: number; cpuS: number; wallS: number; maxRssMiB: number });
      }
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`trace ${trace} (${(statSync(trace).size / 2 ** 20).toFixed(0)} MiB)`);
    for (const mode of modes) {
      const rs = runs[mode]!;
      const rec = rs[0]!.records;
      console.log(`${mode.padEnd(16)} ${rec.toLocaleString('en-US').padStart(11)} records  ${(rec / median(rs.map((r) => r.cpuS)) / 1e6).toFixed(2).padStart(6)} M/CPU-s  ${(rec / median(rs.map((r) => r.wallS)) / 1e6).toFixed(2).padStart(6)} M/s wall  peak RSS ${median(rs.map((r) => r.maxRssMiB)).toFixed(0)} MiB`);
    }
  }
}
