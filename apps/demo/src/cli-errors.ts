// How the demo's commands end on an error: one line on stderr, `PREFIX: E_CODE: message`, and an
// exit code (2 for bad input, argument errors included; 1 for a bug).
import type { Command } from 'commander';
import { DemoInputError } from './load';

/** The code of an argument commander refused (unknown option, missing value, invalid choice). */
export const E_ARG = 'E_ARG';

/**
 * Writes `e` as one line `PREFIX: E_CODE: message` and returns the exit code: 2 for bad input (a
 * DemoInputError, or any kmem error with its stable `E_` code), 1 for anything else (a bug).
 * `KMEM_DEMO_DEBUG` set prints the whole error first.
 */
export function reportError(e: unknown, prefix: string): number {
  if (process.env.KMEM_DEMO_DEBUG !== undefined) console.error(e);
  // kmem's errors (every package's KmemError) carry a stable E_ code: the input was refused.
  const raw = e instanceof Error ? (e as Error & { code?: unknown }).code : undefined;
  const code = typeof raw === 'string' && raw.startsWith('E_') ? raw : null;
  const msg = code !== null ? `${code}: ${(e as Error).message}` : `E_INTERNAL: internal error: ${e instanceof Error ? e.message : String(e)}`;
  process.stderr.write(`${prefix}: ${msg.split('\n')[0]}\n`);
  return e instanceof DemoInputError || code !== null ? 2 : 1;
}

/**
 * Commander's `writeErr` for a command named `prefix`: its first line, reworded to the demo's
 * one format (`error: unknown option '--x'` → `PREFIX: E_ARG: unknown option '--x'`).
 */
export function argumentErrorWriter(prefix: string): (text: string) => void {
  return (text) => {
    const first = text.split('\n').find((l) => l.trim() !== '') ?? text;
    process.stderr.write(`${prefix}: ${E_ARG}: ${first.replace(/^error:\s*/, '')}\n`);
  };
}

/**
 * Parses `argv` with `command` (errors worded by argumentErrorWriter). Returns null when the
 * command should run, else its exit code: 0 after --help, 2 for a refused argument.
 */
export function parseCommandLine(command: Command, argv: readonly string[], prefix: string): number | null {
  command.exitOverride();
  command.configureOutput({ writeErr: argumentErrorWriter(prefix) });
  try {
    command.parse([...argv], { from: 'user' });
    return null;
  } catch (e) {
    const c = (e as { code?: string }).code;
    return c === 'commander.helpDisplayed' || c === 'commander.version' ? 0 : 2;
  }
}
