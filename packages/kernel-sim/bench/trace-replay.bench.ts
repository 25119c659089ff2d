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
//
// A/B against another build: TRACE_BENCH_BASE=<its kernel-sim dist/index.js (or any bundle of
// it)> adds `parse` and `replay` of that build, run alternately with this one's in the same
// rounds; TRACE_BENCH_MODULE=<path> replaces this build (default: the package's own dist);
// TRACE_BENCH_MODES=parse,replay limits the modes; TRACE_BENCH_ROUNDS (default 3).
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as KernelSim from '@kmem/kernel-sim';
import { importBuild } from '../../../test-support/import-build';

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

type Api = Pick<typeof KernelSim, 'createTraceReader' | 'LruStackDistance' | 'PageIdTable' | 'readTrace' | 'TraceReplay'>;
let api: Api;

async function child(mode: string, trace: string, elf: string | null, module: string): Promise<void> {
  api = module === '-' ? await import('@kmem/kernel-sim') : await importBuild<Api>(module);
  // Twice in the process, the second one measured: the first loads modules (tsx's loader thread
  // is counted in process.cpuUsage) and warms the JIT.
  await once(mode, trace, elf, false);
  await once(mode, trace, elf, true);
}

async function once(mode: string, trace: string, elf: string | null, report: boolean): Promise<void> {
  const { createTraceReader, LruStackDistance, PageIdTable, readTrace, TraceReplay } = api;
  const chunks = (limit = Infinity) => createReadStream(trace, { highWaterMark: 1 << 20, end: limit });
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  let records = 0;
  if (mode.startsWith('parse')) {
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

const [arg0, arg1, arg2, arg3, arg4] = process.argv.slice(2);
if (arg0 === '--child') await child(arg1!, arg2!, arg3 === '-' ? null : arg3!, arg4 ?? '-');
else {
  const trace = arg0 ?? defaultTrace();
  const elf = arg0 === undefined ? busybox : (arg1 ?? null);
  if (trace === null) console.log('trace-replay bench: valgrind not found and no trace given, skipped');
  else {
    const base = process.env.TRACE_BENCH_BASE;
    const self = process.env.TRACE_BENCH_MODULE ?? '-';
    const wanted = process.env.TRACE_BENCH_MODES?.split(',') ?? ['parse', 'replay', 'replay-policies', 'lru-curve', 'replay-half'];
    // With a base build, its parse and replay run right after this build's, in every round.
    const modes = wanted.flatMap((m) => (base !== undefined && (m === 'parse' || m === 'replay') ? [m, `${m}@base`] : [m]));
    const runs: Record<string, { records: number; cpuS: number; wallS: number; maxRssMiB: number }[]> = {};
    for (let round = 0; round < Number(process.env.TRACE_BENCH_ROUNDS ?? 3); round++) {
      for (const mode of modes) {
        const module = mode.endsWith('@base') ? base! : self;
        const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode.replace('@base', ''), trace, elf ?? '-', module], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(r.stderr);
        const line = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { records: number; cpuS: number; wallS: number; maxRssMiB: number };
        (runs[mode] ??= []).push(line);
      }
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`trace ${trace} (${(statSync(trace).size / 2 ** 20).toFixed(0)} MiB); load average after the run: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    for (const mode of modes) {
      const rs = runs[mode]!;
      const rec = rs[0]!.records;
      const cpuS = median(rs.map((r) => r.cpuS));
      const ratio = runs[`${mode}@base`] !== undefined ? `  ${(median(runs[`${mode}@base`]!.map((r) => r.cpuS)) / cpuS).toFixed(2)}x the base` : '';
      console.log(`${mode.padEnd(16)} ${rec.toLocaleString('en-US').padStart(11)} records  ${(rec / cpuS / 1e6).toFixed(2).padStart(6)} M/CPU-s  ${(rec / median(rs.map((r) => r.wallS)) / 1e6).toFixed(2).padStart(6)} M/s wall  peak RSS ${median(rs.map((r) => r.maxRssMiB)).toFixed(0)} MiB${ratio}`);
    }
  }
}
