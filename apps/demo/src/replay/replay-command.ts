// `pnpm demo replay TRACE`: replays a memory trace (Valgrind lackey, plain R/W, or kmem's binary,
// gzip allowed) through the simulated kernel and prints TLB hit rates, faults, faults per policy
// and frame count, the LRU miss-ratio curve and the working set; --json and --svg too.
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_REPLAY_POLICIES, KernelPolicyTable, parseTlbHierarchy, POLICY_NAMES, readTrace, TraceReplay, type KernelPolicyRow, type PolicyName, type TlbGeometry, type TraceFormat } from '@kmem/kernel-sim';
import { parseCommandLine, reportError } from '../cli-errors';
import { loadProgram, userPath } from '../load';
import { makeStyle } from '../render/style';
import { replayReport } from './replay-report';
import { openTraceFile } from './trace-file';

interface ReplayOptions {
  elf?: string;
  frames: number[];
  policy: string[];
  tlb: TlbGeometry[][];
  window: number;
  json: boolean;
  svg?: string;
  lenient: boolean;
  format?: TraceFormat;
  color: boolean;
  progress: boolean;
  kernelSwap: boolean;
}

function list<T>(parse: (s: string) => T): (value: string) => T[] {
  return (value) => value.split(',').filter((s) => s.trim() !== '').map((s) => parse(s.trim()));
}

function positive(s: string): number {
  const v = Number(s.replace(/_/g, ''));
  if (!Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError(`${s} is not a positive integer`);
  return v;
}

function policy(s: string): string {
  const known = [...POLICY_NAMES];
  if (!known.includes(s as (typeof POLICY_NAMES)[number])) throw new InvalidArgumentError(`unknown policy ${s} (known: ${known.join(', ')})`);
  return s;
}

function tlb(s: string): TlbGeometry[] {
  try {
    return parseTlbHierarchy(s);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** The `replay` command line, without running it. */
export function makeReplayCommand(): Command {
  return new Command('kmem-demo replay')
    .description('Replay a memory trace through the simulated kernel: every access through a process\'s CPU (TLB, page walk, #PF, the kernel\'s fault policy), with TLB hit rates for several geometries, faults per replacement policy and frame count, the OPT bound, the LRU miss-ratio curve for every memory size (one pass) and the working set over time.')
    .argument('<trace>', 'trace file: Valgrind lackey (valgrind --tool=lackey --trace-mem=yes --log-file=F prog), plain "ADDRESS R|W" lines, or a kmem binary trace; gzip allowed')
    .option('--elf <file>', 'static x86_64 ELF the trace was recorded from: exec\'d first, its regions checked against the trace (default: a bare address space)')
    .option('--frames <list>', 'frame counts for the policy table', list(positive), [64, 128, 256])
    .option('--policy <list>', `policies (${POLICY_NAMES.join(', ')})`, list(policy), [...DEFAULT_REPLAY_POLICIES])
    .option('--tlb <list>', 'TLB hierarchies, comma-separated; each ENTRIESxWAYS, levels joined by + (L1 first)', list(tlb), [tlb('64x4+1536x12')])
    .option('--window <refs>', 'working-set window τ in page references', positive, 10_000)
    .addOption(new Option('--format <name>', 'trace format (default: detected)').choices(['lackey', 'plain', 'kmem']))
    .option('--kernel-swap', 'also replay with the kernel\'s own swap for each policy (but opt) and frame count: a resident limit of that many pages, reclaim and swap-in as the kernel does them; one pass, slower', false)
    .option('--lenient', 'skip malformed records and accesses that do not fit (counted) instead of stopping', false)
    .option('--json', 'print the results as one JSON document', false)
    .option('--svg <file>', 'write the pictures (faults vs frames, working set) as SVG')
    .option('--no-color', 'plain text, no ANSI colours')
    .option('--no-progress', 'no progress bar')
    .addHelpText('after', '\nPaths are relative to the directory you ran pnpm in.\n\nExamples:\n  valgrind --tool=lackey --trace-mem=yes --log-file=ls.lackey /bin/ls\n  pnpm demo replay ls.lackey --svg ls.svg\n  pnpm demo replay prog.lackey.gz --elf prog --frames 16,64,256 --tlb 64x4+1536x12,32x4 --json\n  pnpm demo replay prog.lackey.gz --elf prog --frames 16,32 --policy fifo,clock,lru,opt --kernel-swap');
}

async function runReplay(tracePath: string, opts: ReplayOptions): Promise<void> {
  const path = userPath(tracePath);
  const elf = opts.elf === undefined ? undefined : loadProgram(userPath(opts.elf));
  const file = await openTraceFile(path);
  const name = basename(path);
  const replay = new TraceReplay({
    ...(elf === undefined ? {} : { elf: elf.bytes, name: elf.name }),
    frameCounts: opts.frames,
    policies: opts.policy,
    tlb: opts.tlb,
    workingSetWindow: opts.window,
    lenient: opts.lenient,
  });
  // The kernel's own table: every policy the kernel can run (not OPT, which needs the future).
  const kernelPolicies = opts.policy.filter((p) => p !== 'opt') as PolicyName[];
  const kernelTable = opts.kernelSwap && kernelPolicies.length > 0 ? new KernelPolicyTable({ ...(elf === undefined ? {} : { elf: elf.bytes, name: elf.name }), policies: kernelPolicies, frameCounts: opts.frames, lenient: opts.lenient }) : null;
  const showBar = !opts.json && opts.progress && process.stderr.isTTY === true;
  const bar = showBar ? new SingleBar({ format: '  replaying  {bar} {percentage}% | {value}/{total} MiB read | {eta}s left', barCompleteChar: '█', barIncompleteChar: '░', hideCursor: true, clearOnComplete: true, stream: process.stderr }) : null;
  const mib = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;
  bar?.start(mib(file.fileBytes), 0);
  let reader;
  try {
    reader = await readTrace(file.chunks, (b) => {
      replay.consume(b);
      kernelTable?.consume(b);
    }, {
      lenient: opts.lenient,
      ...(opts.format === undefined ? {} : { format: opts.format }),
      onProgress: () => bar?.update(mib(file.fileBytesRead())),
    });
  } finally {
    bar?.stop();
  }
  const result = replay.finish(reader);
  const kernelSwap: KernelPolicyRow[] | null = kernelTable?.finish() ?? null;
  if (opts.svg !== undefined) {
    // ECharts (the SVG renderer) is loaded only when a picture is asked for: importing it costs
    // about 0.7 s of CPU, more than the rest of the CLI's start-up.
    const { replaySvg } = await import('./replay-svg');
    writeFileSync(userPath(opts.svg), replaySvg(result, name));
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(kernelSwap === null ? result : { ...result, kernelSwap }, null, 1)}\n`);
    return;
  }
  const env = process.env;
  const color = opts.color && ((env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') || (process.stdout.isTTY === true && env.NO_COLOR === undefined));
  for (const line of replayReport(result, name, makeStyle(color), kernelSwap)) process.stdout.write(`${line}\n`);
  if (opts.svg !== undefined) process.stdout.write(`\nSVG written to ${userPath(opts.svg)}\n`);
}

/** Parses the replay command's `argv` and runs it; resolves to the exit code (errors: one line on stderr). */
export async function replayMain(argv: readonly string[]): Promise<number> {
  const command = makeReplayCommand();
  const refused = parseCommandLine(command, argv, 'kmem-demo replay');
  if (refused !== null) return refused;
  try {
    await runReplay(command.args[0]!, command.opts<ReplayOptions>());
    return 0;
  } catch (e) {
    return reportError(e, 'kmem-demo replay');
  }
}
