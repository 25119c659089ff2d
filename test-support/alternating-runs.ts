// Side-by-side benchmark runs on a shared machine (TEAM.md, issue 19): every implementation runs
// in its own process, the processes alternate A B C A B C ..., each reports CPU time
// (process.cpuUsage: user + system) and wall time per workload, and the table shows medians over
// the rounds beside the machine's load, so a figure can be judged against what else was running.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';

/** One workload's cost in one process. */
export interface Figure {
  /** Operations done (allocations + frees, frames, pairs…). */
  ops: number;
  /** CPU milliseconds (user + system) the process spent on them. */
  cpuMs: number;
  /** Wall-clock milliseconds. */
  wallMs: number;
  /** Anything else the workload reports (footprint, live blocks). */
  extra?: Record<string, number>;
}

/** What a child process prints as its last stdout line: workload name → figure. */
export type ChildReport = Record<string, Figure>;

/** Runs `fn` once and returns its CPU and wall milliseconds. */
export function measure(ops: number, fn: () => void): Figure {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ops, cpuMs: (c.user + c.system) / 1000, wallMs };
}

/** The median of `xs` (mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median of per-run figures: the run with the median CPU time (its wall time and extras go with it). */
export function medianFigure(figs: readonly Figure[]): Figure {
  const byCpu = [...figs].sort((a, b) => a.ops / a.cpuMs - b.ops / b.cpuMs);
  return byCpu[(byCpu.length - 1) >> 1]!;
}

/** Prints the child's report as the last stdout line (what {@link runAlternating} reads). */
export function report(r: ChildReport): void {
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

/** One contender: a name and the command that runs it (argv[0] is the executable). */
export interface Contender {
  name: string;
  argv: string[];
  /** Extra environment variables for this contender's process. */
  env?: Record<string, string>;
}

/** Per contender, per workload: the figure of each round. */
export type Rounds = Map<string, Map<string, Figure[]>>;

/**
 * Runs the contenders `rounds` times in alternation (A B C A B C …), one process each, and
 * collects their reports. Prints the load average before each round to stderr.
 */
export function runAlternating(contenders: readonly Contender[], rounds: number): { rounds: Rounds; loads: number[] } {
  const out: Rounds = new Map(contenders.map((c) => [c.name, new Map<string, Figure[]>()]));
  const loads: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) {
      loads.push(loadavg()[0]!);
      const p = spawnSync(c.argv[0]!, c.argv.slice(1), { encoding: 'utf8', maxBuffer: 16 << 20, env: { ...process.env, ...c.env } });
      if (p.status !== 0) throw new Error(`${c.name} failed (${String(p.status)}):\n${p.stderr}`);
      const last = p.stdout.trim().split('\n').pop()!;
      const rep = JSON.parse(last) as ChildReport;
      for (const [w, f] of Object.entries(rep)) {
        const m = out.get(c.name)!;
        if (!m.has(w)) m.set(w, []);
        m.get(w)!.push(f);
      }
      process.stderr.write(`round ${r + 1}/${rounds} ${c.name}: ${Object.entries(rep).map(([w, f]) => `${w} ${(f.ops / f.cpuMs / 1000).toFixed(2)}M/cpu-s`).join(', ')}\n`);
    }
  }
  return { rounds: out, loads };
}

/** Ops per CPU-second and per wall-second of the median run. */
export function rates(figs: readonly Figure[]): { cpu: number; wall: number; fig: Figure } {
  const f = medianFigure(figs);
  return { cpu: (f.ops / f.cpuMs) * 1000, wall: (f.ops / f.wallMs) * 1000, fig: f };
}

/** "12.3M" / "456k". */
export function si(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(1);
}

/** One line on the machine: date, CPUs, Node, load during the run. */
export function machineState(loads: readonly number[]): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  let uptime = '';
  try {
    uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    uptime = `load ${loadavg().map((l) => l.toFixed(2)).join(', ')}`;
  }
  const lo = Math.min(...loads).toFixed(1);
  const hi = Math.max(...loads).toFixed(1);
  return `${new Date().toISOString().slice(0, 16)}Z, ${cpus().length} × ${cpu}, Node ${process.version}; 1-min load ${lo}-${hi} during the run (shared machine: other sessions' jobs were running); now: ${uptime}`;
}

/**
 * Prints a markdown table: one row per workload, one column per contender (ops per CPU-second,
 * per wall-second in brackets, of the median run), then the first contender ÷ each other one.
 * A contender that did not run a workload shows '-'.
 */
export function printTable(got: Rounds, names: readonly string[], workloads: readonly (readonly [key: string, label: string])[]): void {
  console.log(`| workload | ${names.join(' | ')} | ${names.slice(1).map((n) => `ours ÷ ${n}`).join(' | ')} |`);
  console.log(`|---|${names.map(() => '---').join('|')}|${names.slice(1).map(() => '---').join('|')}|`);
  for (const [w, label] of workloads) {
    const r = names.map((n) => {
      const figs = got.get(n)?.get(w);
      return figs === undefined ? null : rates(figs);
    });
    const ours = r[0]?.cpu ?? NaN;
    const cell = (x: (typeof r)[number]): string => (x === null ? '-' : `${si(x.cpu)} (${si(x.wall)})`);
    console.log(`| ${label} | ${r.map(cell).join(' | ')} | ${r.slice(1).map((x) => (x === null ? '-' : (ours / x.cpu).toFixed(2))).join(' | ')} |`);
  }
}
