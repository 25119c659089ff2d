// `pnpm demo`: boots the simulated machine on a real firmware memory map and plays a scenario,
// printing each step, then tables and pictures of what the kernel's memory manager did.
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseElf32, type LayoutName } from '@kmem/kernel-sim';
import { virt } from '@kmem/x86-paging';
import { DEFAULT_MEMMAP, DEFAULT_PROGRAM, DemoInputError, SEED002_MEMMAP, SEED002_PROGRAM, loadMemoryMap, loadProgram, userPath } from './load';
import { argumentErrorWriter, reportError } from './cli-errors';
import { inspectMain } from './inspect/inspect-command';
import { quizMain } from './quiz/quiz-command';
import { runWithReport } from './render/report';
import { replayMain } from './replay/replay-command';
import { makeStyle } from './render/style';
import { DemoSession, LAYOUT_NAMES, SCENARIOS, SCENARIO_NAMES, type DemoResult, type ScenarioName, type WalkView } from './scenarios/index';
import { formatSeed002, runSeed002 } from './scenarios/seed002';

function parseAddress(value: string): number {
  try {
    return virt(value.replace(/_/g, ''));
  } catch (e) {
    throw new InvalidArgumentError(`not a canonical x86_64 address (${(e as Error).message})`);
  }
}

function parseCount(value: string): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1 || n > 50_000_000) throw new InvalidArgumentError('expected an integer from 1 to 50000000');
  return n;
}

/** A file the user named: relative to where they ran the command; the next option is no file name. */
function parseFile(value: string): string {
  if (value.startsWith('-')) throw new InvalidArgumentError(`expected a file, got the option ${value}`);
  return userPath(value);
}

function parsePid(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a pid (0 = the kernel)');
  return n;
}

interface CliOptions {
  memmap: string;
  layout: LayoutName | 'higher-half-3g';
  scenario: ScenarioName;
  program: string;
  json: boolean;
  color: boolean;
  walk?: number[];
  pid?: number;
  traceAccesses: number;
  progress: boolean;
}

const scenarioHelp = SCENARIO_NAMES.map((n) => `  ${n.padEnd(14)} ${SCENARIOS[n].description}`).join('\n');

/** The command line, without running it (tests read its help). */
export function makeProgram(): Command {
  return new Command('kmem-demo')
    .description('Boot a simulated x86_64 machine on a real firmware memory map and watch its kernel manage memory: the frame allocator, page tables and walks, the kernel heap, processes with demand paging, copy-on-write fork, segfaults, the TLB, and a kernel panic.')
    .addOption(new Option('--memmap <file>', 'firmware memory map to boot on (relative to your directory): a Linux e820 boot log, /sys/firmware/memmap dump, multiboot1/2 buffer, UEFI memory map (.bin with a .json giving DescriptorSize) or Limine memmap; format detected').argParser(parseFile).default(DEFAULT_MEMMAP, 'fixtures/qemu-q35-linux-5g.e820.txt, QEMU q35 with 5 GiB'))
    .addOption(new Option('--layout <name>', 'virtual memory layout of the kernel').choices([...LAYOUT_NAMES, 'higher-half-3g']).default('higher-half'))
    .addOption(new Option('--scenario <name>', 'what to run after the boot (see below)').choices(SCENARIO_NAMES).default('tour'))
    .addOption(new Option('--program <file>', 'static x86_64 ELF executable the scenario execs (relative to your directory)').argParser(parseFile).default(DEFAULT_PROGRAM, 'fixtures/hello-static-pie'))
    .option('--walk <address...>', 'virtual address(es) to walk level by level after the scenario (canonical hex, _ allowed, e.g. 0x5555_5555_5000 or 0xffff_8400_0000_1000)', (v: string, prev: number[] | undefined) => [...(prev ?? []), parseAddress(v)])
    .option('--pid <n>', 'process whose page tables --walk uses (0 = the kernel; default: the first process, or the kernel for kernel addresses)', parsePid)
    .option('--trace-accesses <n>', 'accesses replayed by the trace scenario', parseCount, 500_000)
    .option('--json', 'print one JSON document (every section as data) instead of the report', false)
    .option('--no-color', 'plain text, no ANSI colours (also when NO_COLOR is set or output is not a terminal)')
    .option('--no-progress', 'no progress bar on long runs')
    .addHelpText('after', `\nScenarios:\n${scenarioHelp}\n\nErrors: one line on stderr, kmem-demo: E_CODE: message, exit code 2 (E_ARG for a bad argument).\n\nExamples:\n  npx pnpm@10 demo\n  npx pnpm@10 demo --scenario cow-fork --layout identity-low\n  npx pnpm@10 demo --layout higher-half-3g   (seed 002's 32-bit kernel: multiboot1 map, i386 program)\n  npx pnpm@10 demo --memmap apps/demo/fixtures/ovmf-5g.efi-memmap.bin --walk 0xffff_8400_0000_1000\n  npx pnpm@10 demo --scenario trace --trace-accesses 2000000\n  npx pnpm@10 --silent demo --json | jq .walks     (--silent: no pnpm banner on stdout)\n\nReplay a memory trace (Valgrind lackey, plain R/W or kmem binary; see npx pnpm@10 demo replay --help):\n  npx pnpm@10 demo replay TRACE [--elf BIN] [--frames 64,128,256] [--policy fifo,clock,lru,opt] [--tlb 64x4+1536x12] [--json] [--svg FILE]\n\nx86 paging exercises from a seed (see npx pnpm@10 demo quiz --help):\n  npx pnpm@10 demo quiz [--seed N] [--kind translate|pte|evict] [--count N] [--difficulty 1-3] [--answers LIST] [--json] [--sheet FILE]\n\nInspect a real kernel's page tables in a QEMU dump (see npx pnpm@10 demo inspect --help):\n  npx pnpm@10 demo inspect DUMP [--cr3 0x…] [--walk VA] [--lint] [--diff DUMP2] [--json]`)
    .showSuggestionAfterError(true);
}

/** JSON output: the result with each step's events capped (a trace makes tens of thousands). */
function jsonResult(r: DemoResult, maxEventsPerStep = 400): unknown {
  return {
    ...r,
    steps: r.steps.map((s) => ({ ...s, eventCount: s.events.length, events: s.events.slice(0, maxEventsPerStep) })),
  };
}

/** `--layout higher-half-3g`: seed 002's 32-bit kernel on a multiboot1 map, an i386 program. */
function runSeed002Report(opts: CliOptions): void {
  const memoryMap = loadMemoryMap(opts.memmap === DEFAULT_MEMMAP ? SEED002_MEMMAP : opts.memmap);
  const program = loadProgram(opts.program === DEFAULT_PROGRAM ? SEED002_PROGRAM : opts.program, parseElf32);
  const result = runSeed002(memoryMap.regions, program);
  if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
  else for (const line of [`memory map: ${memoryMap.name} (${memoryMap.format})`, ...formatSeed002(result)]) process.stdout.write(`${line}\n`);
}

function run(opts: CliOptions): void {
  if (opts.layout === 'higher-half-3g') {
    runSeed002Report(opts);
    return;
  }
  const memoryMap = loadMemoryMap(opts.memmap);
  const program = loadProgram(opts.program);
  const json = opts.json;
  const env = process.env;
  const color = opts.color && !json && ((env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') || (process.stdout.isTTY === true && env.NO_COLOR === undefined));
  const style = makeStyle(color);
  let bar: SingleBar | null = null;
  const layout = opts.layout;
  const session = new DemoSession({ memoryMap, layout, program, traceAccesses: opts.traceAccesses }, opts.scenario, {
    onProgress: (done, total) => {
      if (json || !opts.progress || process.stderr.isTTY !== true) return;
      if (bar === null) {
        bar = new SingleBar({ format: '  replaying  {bar} {percentage}% | {value}/{total} accesses | {eta}s left', barCompleteChar: '█', barIncompleteChar: '░', hideCursor: true, clearOnComplete: true, stream: process.stderr });
        bar.start(total, 0);
      }
      bar.update(done);
      if (done >= total) {
        bar.stop();
        bar = null;
      }
    },
  });
  const walks = (): WalkView[] => {
    if (opts.walk === undefined) return session.defaultWalks();
    return opts.walk.map((va) => {
      const kernelHalf = va >= 0x8000_0000_0000;
      const firstPid = session.kernel.processes.list()[0]?.pid ?? 0;
      const pid = opts.pid ?? (kernelHalf ? 0 : firstPid);
      try {
        return session.walk(va, pid);
      } catch (e) {
        throw new DemoInputError(`--walk: ${(e as Error).message}`, 'E_WALK');
      }
    });
  };
  if (json) {
    session.runToEnd();
    process.stdout.write(`${JSON.stringify(jsonResult(session.result(walks())), null, 1)}\n`);
    return;
  }
  // With --walk the report is held until the walks succeed: a bad --pid prints no half report.
  const held: string[] | null = opts.walk === undefined ? null : [];
  runWithReport(session, style, { write: (t) => (held === null ? process.stdout.write(`${t}\n`) : held.push(t)), walks });
  if (held !== null) process.stdout.write(`${held.join('\n')}\n`);
}

/** Parses `argv` and runs; returns the exit code (errors are one line on stderr). */
export function main(argv: readonly string[]): number | Promise<number> {
  if (argv[0] === 'replay') return replayMain(argv.slice(1));
  if (argv[0] === 'inspect') return inspectMain(argv.slice(1));
  if (argv[0] === 'quiz') return quizMain(argv.slice(1));
  const program = makeProgram();
  program.exitOverride();
  program.configureOutput({ writeErr: argumentErrorWriter('kmem-demo') });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    const code = (e as { exitCode?: number; code?: string }).exitCode ?? 2;
    const c = (e as { code?: string }).code;
    return c === 'commander.helpDisplayed' || c === 'commander.version' ? 0 : code === 0 ? 0 : 2;
  }
  try {
    run(program.opts<CliOptions>());
    return 0;
  } catch (e) {
    return reportError(e, 'kmem-demo');
  }
}

// `pnpm demo | head`: a closed pipe ends the demo quietly, not with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
const exit = main(process.argv.slice(2));
if (typeof exit === 'number') process.exitCode = exit;
else void exit.then((code) => (process.exitCode = code));
