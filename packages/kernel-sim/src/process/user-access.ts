// User-mode accesses through the CPU: what a process's own code does (read, write, fetch), with
// faults going to the kernel's handler; an access that kills the process throws ProcessKilledError
// (kernel.user.*) or reports the outcome (Process.touch).
import { Mode, PageFaultAbortedError } from '@kmem/x86-paging';
import type { KernelServices } from '../kernel-services';
import type { Process, TouchAccess, TouchOutcome } from './process';
import { ProcessKilledError, ProcessStateError } from './process-errors';
import type { ProcessTable } from './process-table';
import { checkTouchAccess, checkUserBytes, checkUserLength, checkUserValue, checkUserVa } from './user-arguments';
import { LINEAR_LIMIT } from '../hex';

const PAGE = 4096;

/** User-mode accesses of the current process through the CPU (they throw when the access kills it). */
export interface UserAccess {
  /** @throws ProcessKilledError if the access killed the process; ProcessStateError with no process; UserMemoryArgumentError unless `va` is a safe integer below 2^48 (values must be integers) */
  read8(va: number): number;
  /** @throws ProcessKilledError, ProcessStateError */
  read32(va: number): number;
  /** @throws ProcessKilledError, ProcessStateError */
  write8(va: number, value: number): void;
  /** @throws ProcessKilledError, ProcessStateError */
  write32(va: number, value: number): void;
  /** Instruction fetch of one byte. @throws ProcessKilledError, ProcessStateError */
  fetch8(va: number): number;
  /** Copies `lengthBytes` (at most 2^30) from `va`. @throws ProcessKilledError, ProcessStateError; UserMemoryArgumentError for a bad address or length */
  readBytes(va: number, lengthBytes: number): Uint8Array;
  /** Copies `bytes` (a Uint8Array) to `va`. @throws ProcessKilledError, ProcessStateError; UserMemoryArgumentError for a bad address or buffer */
  writeBytes(va: number, bytes: Uint8Array): void;
}

/** Runs `run`; a page fault that killed `p` becomes ProcessKilledError. */
function guard<T>(p: Process, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof PageFaultAbortedError && p.killed !== null) throw new ProcessKilledError(p.killed);
    throw e;
  }
}

/**
 * `kernel.user`: accesses of the table's current process.
 * @internal The process manager builds it; use `kernel.user`.
 */
export function makeUserAccess<K extends KernelServices>(table: ProcessTable<K>): UserAccess {
  const user = (): Process => {
    const p = table.current;
    if (p === null) throw new ProcessStateError(0, 'absent', 'user access with no current process');
    return p;
  };
  const cpu = table.kernel.machine.cpu;
  // With swap on, each completed access advances the simulation clock (and feeds exact LRU / OPT).
  const noted = <T>(p: Process, va: number, value: T): T => {
    table.swap?.noteAccess(p, va);
    return value;
  };
  const access = <T>(va: number, run: () => T): T => {
    const p = user();
    return noted(p, va, guard(p, run));
  };
  return {
    read8: (va) => access(va, () => cpu.read8(checkUserVa(va, 'read8'), Mode.User)),
    read32: (va) => access(va, () => cpu.read32(checkUserVa(va, 'read32'), Mode.User)),
    write8: (va, value) => access(va, () => cpu.write8(checkUserVa(va, 'write8'), checkUserValue(va, value, 'write8'), Mode.User)),
    write32: (va, value) => access(va, () => cpu.write32(checkUserVa(va, 'write32'), checkUserValue(va, value, 'write32'), Mode.User)),
    fetch8: (va) => access(va, () => cpu.fetch8(checkUserVa(va, 'fetch8'), Mode.User)),
    readBytes: (va, lengthBytes) =>
      access(va, () => {
        const out = new Uint8Array(checkUserLength(checkUserVa(va, 'readBytes'), lengthBytes, 'readBytes'));
        cpu.readBytes(va, out, Mode.User);
        return out;
      }),
    writeBytes: (va, bytes) =>
      access(va, () => {
        const checked = checkUserBytes(checkUserVa(va, 'writeBytes'), bytes, 'writeBytes');
        checkUserLength(va, checked.length, 'writeBytes');
        cpu.writeBytes(va, checked, Mode.User);
      }),
  };
}

/**
 * See `Process.touch`.
 * @internal The process manager's implementation of it; call `Process.touch`.
 */
export function touch<K extends KernelServices>(table: ProcessTable<K>, p: Process, va: number, access: TouchAccess, value: number): TouchOutcome {
  table.requireAlive(p, 'touch');
  checkUserVa(va, 'touch');
  checkTouchAccess(va, access);
  checkUserValue(va, value, 'touch');
  const cpu = table.kernel.machine.cpu;
  if (table.current !== p || cpu.registers.cr3Frame !== p.root) table.switchTo(p.pid);
  try {
    if (access === 'read') cpu.read8(va, Mode.User);
    else if (access === 'write') cpu.write8(va, value, Mode.User);
    else cpu.fetch8(va, Mode.User);
    table.swap?.noteAccess(p, va);
    return 'ok';
  } catch (e) {
    if (e instanceof PageFaultAbortedError && p.killed !== null) return p.killed.signal === 'SIGSEGV' ? 'segv' : 'oom-kill';
    throw e;
  }
}

/**
 * See `Process.touchRange`.
 * @internal The process manager's implementation of it; call `Process.touchRange`.
 */
export function touchRange<K extends KernelServices>(table: ProcessTable<K>, p: Process, va: number, lengthBytes: number, access: TouchAccess, value: number): TouchOutcome {
  table.requireAlive(p, 'touchRange');
  checkUserLength(checkUserVa(va, 'touchRange'), lengthBytes, 'touchRange', LINEAR_LIMIT);
  checkTouchAccess(va, access);
  checkUserValue(va, value, 'touchRange');
  const end = va + lengthBytes;
  for (let a = va; a < end; a += PAGE) {
    const o = touch(table, p, a, access, value);
    if (o !== 'ok') return o;
  }
  return 'ok';
}
