// The `inspect` subcommand: `pnpm demo inspect DUMP [--cr3 0x…] [--walk VA] [--lint] [--diff DUMP2] [--json]`.
import { Command, Option } from 'commander';
import { SEVERITIES } from '@kmem/kernel-sim';
import { argumentErrorWriter, reportError } from '../cli-errors';
import { parseLimit, parsePat, parseRegister, parseSeverity, parseVa, parseVaRange } from './inspect-args';
import { runInspect, type InspectCliOptions } from './run-inspect';

const collect =
  <T>(parse: (v: string) => T) =>
  (v: string, prev: T[] | undefined): T[] => [...(prev ?? []), parse(v)];

/** The subcommand's command line; its action reports the exit code through `setExitCode`. */
export function makeInspectCommand(setExitCode: (code: number) => void): Command {
  return new Command('kmem-demo inspect')
    .description("Read a real kernel's page tables from a QEMU memory dump (dump-guest-memory ELF core, or a raw pmemsave 0 SIZE file): mappings like `info mem` with rights, page sizes, memory types and OS bits; walks explained level by level; lint; diff of two dumps.")
    .argument('<dump>', 'the dump file (relative to your directory)')
    .option('--cr3 <value>', 'CR3 (required for a raw dump; overrides the ELF core\'s CPU note)', parseRegister)
    .option('--cr0 <value>', 'CR0 (default: the CPU note, else PE|WP|PG)', parseRegister)
    .option('--cr4 <value>', 'CR4 (default: the CPU note, else PAE)', parseRegister)
    .option('--efer <value>', 'IA32_EFER (QEMU dumps carry none: default LME|LMA|NXE; `info registers` prints it)', parseRegister)
    .option('--cpu <n>', 'which CPU note of the ELF core gives the registers', (v: string) => parseLimit(v), 0)
    .option('--maxphyaddr <bits>', 'physical address width: address bits above it are reserved (QEMU TCG default 40)', (v: string) => parseLimit(v), 52)
    .option('--pat <value>', 'IA32_PAT for memory types: power-on, linux, or 0x… (dumps carry no MSRs)', parsePat)
    .option('--walk <va...>', 'walk these addresses level by level, explained', collect(parseVa))
    .option('--frames <range...>', 'which physical frames back START-END or START+SIZE', collect(parseVaRange))
    .option('--lint', 'check W^X, user pages in the kernel half, writable kernel text, missing NX, reserved bits, shared or looping tables, leaves outside RAM', false)
    .addOption(new Option('--fail-on <severity>', 'exit 3 when a lint finding is at least this severe').choices(SEVERITIES).default('error').argParser(parseSeverity))
    .option('--text <range...>', 'where kernel code may execute, for the NX lint (default Linux x86_64: 0xffff_ffff_8000_0000-0xffff_ffff_ff00_0000)', collect(parseVaRange))
    .option('--diff <dump2>', 'compare with a second dump: added, removed and changed mappings')
    .option('--diff-cr3 <value>', "CR3 of the second dump (default: its CPU note, else the first dump's CR3)", parseRegister)
    .option('--info-mem', 'merge ranges on rights alone, as QEMU `info mem` (frames need not continue each other)', false)
    .option('--limit <n>', 'mapping lines printed (0 = all; --json always has all)', parseLimit, 200)
    .option('--json', 'print one JSON document', false)
    .exitOverride()
    .addHelpText(
      'after',
      '\nExamples:\n  pnpm demo inspect linux.elf --efer 0xd01 --pat linux --walk 0xffff_8880_0010_0000 --lint\n  pnpm demo inspect mem.raw --cr3 0x10_1000 --frames 0xffff_8000_0000_0000+0x20_0000\n  pnpm demo inspect before.elf --diff after.elf --json | jq .diff',
    )
    .action((dump: string, opts: InspectCliOptions) => {
      const { result, text, exitCode } = runInspect(dump, opts, process.env.INIT_CWD ?? process.cwd());
      process.stdout.write(opts.json ? `${JSON.stringify(result, null, 1)}\n` : `${text}\n`);
      setExitCode(exitCode);
    });
}

/**
 * `kmem-demo inspect ARGS`: returns the exit code — 0, 2 for bad input or an unreadable dump (one
 * line on stderr with the error's code), 3 when lint findings reach --fail-on.
 */
export function inspectMain(argv: readonly string[]): number {
  let exit = 0;
  const command = makeInspectCommand((code) => (exit = code));
  command.configureOutput({ writeErr: argumentErrorWriter('kmem-demo inspect') });
  try {
    command.parse([...argv], { from: 'user' });
  } catch (e) {
    const c = (e as { code?: string }).code;
    if (typeof c === 'string' && c.startsWith('commander.')) return c === 'commander.helpDisplayed' ? 0 : 2;
    return reportError(e, 'kmem-demo inspect');
  }
  return exit;
}
