// What exec is given, checked in full before anything changes: the target (a pid, options or
// nothing), the file (bytes or a parsed ELF), argv and envp (arrays of strings, copied so later
// changes by the caller do not reach the image), the options. A bad argument is an
// ExecArgumentError; the process it was meant for stays exactly as it was.
import type { ElfExecutable } from '../elf/parse-elf';
import { ExecArgumentError } from './process-errors';
import type { ExecOptions } from './process-limits';
import { show } from '../show-value';

/** exec's arguments after the checks. */
export interface ExecArguments {
  /** The pid to exec into, or null for a new process. */
  readonly pid: number | null;
  /** The options (target options merged with `options`). */
  readonly opts: ExecOptions;
  /** The program. */
  readonly file: Uint8Array | ElfExecutable;
  /** A copy of argv. */
  readonly argv: readonly string[];
  /** A copy of envp. */
  readonly envp: readonly string[];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `the string "${value.slice(0, 20)}"`;
    case 'number':
    case 'bigint':
    case 'boolean':
      return `${typeof value} ${show(value)}`;
    case 'undefined':
      return 'undefined';
    default:
      return `a value of type ${typeof value}`;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function strings(value: unknown, what: string): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ExecArgumentError(`${what} is ${describe(value)}, not an array of strings`);
  const out: string[] = [];
  for (let i = 0; i < value.length; i++) {
    const s: unknown = value[i];
    if (typeof s !== 'string') throw new ExecArgumentError(`${what}[${i}] is ${describe(s)}, not a string`);
    out.push(s);
  }
  return out;
}

/**
 * Checks exec's arguments (see `ProcessManager.exec`).
 * @throws ExecArgumentError for a target that is not a pid, options or undefined; a file that is
 *   neither a Uint8Array nor an ELF from `parseElf64`; argv / envp that are not arrays of strings;
 *   options that are not an object; a name that is not a string; `random` that is not a Uint8Array
 */
export function checkExecArguments(target: unknown, file: unknown, argv: unknown, envp: unknown, options: unknown): ExecArguments {
  let pid: number | null = null;
  if (typeof target === 'number') {
    if (!Number.isSafeInteger(target) || target < 1) throw new ExecArgumentError(`target pid ${show(target)} is not a positive integer`);
    pid = target;
  } else if (target !== undefined && !isPlainObject(target)) throw new ExecArgumentError(`target is ${describe(target)}, not a pid, exec options or undefined`);
  if (options !== undefined && !isPlainObject(options)) throw new ExecArgumentError(`options are ${describe(options)}, not an object`);
  const given: ExecOptions = isPlainObject(options) ? options : {};
  const opts: ExecOptions = isPlainObject(target) ? { ...target, ...given } : given;
  if (opts.name !== undefined && typeof opts.name !== 'string') throw new ExecArgumentError(`name is ${describe(opts.name)}, not a string`);
  if (opts.random !== undefined && !(opts.random instanceof Uint8Array)) throw new ExecArgumentError(`random is ${describe(opts.random)}, not a Uint8Array of 16 bytes`);
  if (!(file instanceof Uint8Array)) {
    const elf = file as Partial<ElfExecutable> | null;
    if (!isPlainObject(elf) || (elf.bits !== 64 && elf.bits !== 32) || !Array.isArray(elf.loadSegments) || !(elf.bytes instanceof Uint8Array)) {
      throw new ExecArgumentError(`file is ${describe(file)}, not the bytes of an ELF file or what parseElf64 returned`);
    }
  }
  return { pid, opts, file: file as Uint8Array | ElfExecutable, argv: strings(argv, 'argv'), envp: strings(envp, 'envp') };
}
