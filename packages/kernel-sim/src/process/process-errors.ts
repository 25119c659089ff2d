// Errors of the process API: misuse is thrown before any state changes; running out of memory
// and faults that kill a process are outcomes (null, a TouchOutcome, a kill record), not errors —
// except through the throwing accessors (`kernel.user.read8` ...), which report a kill as
// ProcessKilledError because they have no other way to say it.
import { KmemError } from '../api';
import { formatCanonical } from '../hex';
import { show } from '../show-value';
import type { KillRecord } from './process';

/** No process has this pid (it never existed). */
export class NoSuchProcessError extends KmemError {
  readonly code = 'E_NO_SUCH_PROCESS';
  /** @param pid The pid given. */
  constructor(readonly pid: number) {
    super(`no process has pid ${show(pid)}`);
  }
}

/** The process is no longer running (it exited or was killed): nothing can be done in it. */
export class ProcessStateError extends KmemError {
  readonly code = 'E_PROCESS_STATE';
  /**
   * @param pid The process.
   * @param state Its state (not `running`; `absent` when there is no current process).
   */
  constructor(
    readonly pid: number,
    readonly state: string,
    what: string,
  ) {
    super(`${what}: process ${pid} is ${state}`);
  }
}

/** A user-memory call with arguments the kernel rejects (Linux's EINVAL): misaligned, empty, outside user space. */
export class UserMemoryArgumentError extends KmemError {
  readonly code = 'E_USER_MEMORY_ARGUMENT';
  constructor(
    /** The address given (or 0). */
    readonly va: number,
    reason: string,
  ) {
    super(`${Number.isSafeInteger(va) && va >= 0 && va < 2 ** 48 ? formatCanonical(va) : show(va)}: ${reason}`);
  }
}

/** Process options the kernel rejects (sizes, limits, addresses). */
export class ProcessOptionError extends KmemError {
  readonly code = 'E_PROCESS_OPTION';
}

/**
 * A user access made through a throwing accessor (`kernel.user.read8` ...) killed the process
 * (SIGSEGV, or the OOM killer). `record` says why; the process is gone when this is thrown.
 */
export class ProcessKilledError extends KmemError {
  readonly code = 'E_PROCESS_KILLED';
  /** @param record Why and where the process was killed. */
  constructor(readonly record: KillRecord) {
    super(`process ${record.pid} killed by ${record.signal} at ${formatCanonical(record.va)}: ${record.reason} (${record.errorCodeText})`);
  }
}

/**
 * `exec` was called with arguments of the wrong shape (argv or envp not an array of strings, a
 * file that is neither bytes nor a parsed ELF, options that are not an object): thrown before
 * anything changes, so the target process keeps its old image.
 */
export class ExecArgumentError extends KmemError {
  readonly code = 'E_EXEC_ARGUMENT';
}
