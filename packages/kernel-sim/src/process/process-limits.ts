// Options a process is created or exec'd with, and the stack limits they come to (Linux's
// defaults: 128 KiB initial stack, 8 MiB RLIMIT_STACK, a 256-page stack_guard_gap).
import type { ProcessLimits } from './process';
import { ProcessOptionError } from './process-errors';
import { show } from '../show-value';

const PAGE = 4096;
const MiB = 1024 * 1024;

/** Defaults of {@link ProcessLimits}: Linux's 128 KiB initial stack, 8 MiB RLIMIT_STACK, 256-page stack_guard_gap. */
export const DEFAULT_PROCESS_LIMITS: ProcessLimits = Object.freeze({ stackSizeBytes: 128 * 1024, stackLimitBytes: 8 * MiB, guardGapBytes: 256 * PAGE });

/** Options of `kernel.createProcess`. */
export interface CreateProcessOptions {
  /** A name for people (default `proc<pid>`). */
  readonly name?: string;
  /** Initial stack region size in bytes (page multiple, default 128 KiB). */
  readonly stackSizeBytes?: number;
  /** RLIMIT_STACK in bytes (page multiple, at least the initial size; default 8 MiB). */
  readonly stackLimitBytes?: number;
  /** Stack guard gap in bytes (page multiple, default 1 MiB). */
  readonly guardGapBytes?: number;
  /** Where the brk heap starts when no program is loaded (page aligned; default the start of the user range). */
  readonly brkStartVa?: number;
}

/** Options of `kernel.exec` besides the file, argv and envp. */
export interface ExecOptions extends CreateProcessOptions {
  /** Load bias for a PIE (default: Linux's ELF_ET_DYN_BASE, see `defaultPieLoadBias`). */
  readonly loadBias?: number;
  /** The 16 AT_RANDOM bytes (default: a fixed pattern derived from the pid, for reproducible runs). */
  readonly random?: Uint8Array;
}

/** `n` rounded up to a whole page. */
export function pageUp(n: number): number {
  const r = n % PAGE;
  return r === 0 ? n : n + PAGE - r;
}

/**
 * The limits `o` asks for, defaults filled in.
 * @throws ProcessOptionError for options that are not an object, a name that is not a string, a size
 *   that is not a page multiple or a limit below the initial size
 */
export function checkLimits(o: CreateProcessOptions): ProcessLimits {
  if (typeof o !== 'object' || o === null) throw new ProcessOptionError(`process options are ${o === null ? 'null' : typeof o}, not an object`);
  if (o.name !== undefined && typeof o.name !== 'string') throw new ProcessOptionError(`name is ${typeof o.name}, not a string`);
  const d = DEFAULT_PROCESS_LIMITS;
  const stackSizeBytes = o.stackSizeBytes ?? d.stackSizeBytes;
  const stackLimitBytes = o.stackLimitBytes ?? Math.max(d.stackLimitBytes, stackSizeBytes);
  const guardGapBytes = o.guardGapBytes ?? d.guardGapBytes;
  const ok = (n: number, min: number): boolean => Number.isSafeInteger(n) && n >= min && n % PAGE === 0;
  if (!ok(stackSizeBytes, PAGE)) throw new ProcessOptionError(`stackSizeBytes ${show(stackSizeBytes)} is not a positive multiple of 4096`);
  if (!ok(stackLimitBytes, stackSizeBytes)) throw new ProcessOptionError(`stackLimitBytes ${show(stackLimitBytes)} is not a multiple of 4096 at least the initial stack size`);
  if (!ok(guardGapBytes, 0)) throw new ProcessOptionError(`guardGapBytes ${show(guardGapBytes)} is not a non-negative multiple of 4096`);
  return { stackSizeBytes, stackLimitBytes, guardGapBytes };
}
