// The arguments of user accesses and memory calls, checked before the CPU or the process is
// touched: an address must be a linear address (a safe integer in [0, 2^48)); a length a
// non-negative safe integer no larger than a host buffer may be (2^30 bytes); a byte value an
// integer; an access kind 'read', 'write' or 'execute'; mmap's options an object with booleans
// where booleans are meant. Anything else is a UserMemoryArgumentError, never a TypeError from
// inside, never a SIGSEGV the caller did not cause.
import { LINEAR_LIMIT } from '../hex';
import type { MmapOptions, TouchAccess } from './process';
import { UserMemoryArgumentError } from './process-errors';

/** Bytes a user copy (`kernel.user.readBytes`) may move at once: the host buffer behind it is allocated. */
export const MAX_USER_COPY_BYTES = 2 ** 30;

function shown(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

/** @throws UserMemoryArgumentError unless `va` is a safe integer in [0, 2^48) */
export function checkUserVa(va: unknown, what: string): number {
  if (typeof va !== 'number' || !Number.isSafeInteger(va) || va < 0 || va >= LINEAR_LIMIT) throw new UserMemoryArgumentError(shown(va), `${what}: address ${typeof va === 'number' ? String(va) : typeof va} is not a linear address (a safe integer below 2^48)`);
  return va;
}

/** @throws UserMemoryArgumentError unless `lengthBytes` is a safe integer in [0, max] and `[va, va + lengthBytes)` stays below 2^48 */
export function checkUserLength(va: number, lengthBytes: unknown, what: string, max = MAX_USER_COPY_BYTES): number {
  if (typeof lengthBytes !== 'number' || !Number.isSafeInteger(lengthBytes) || lengthBytes < 0 || lengthBytes > max) {
    throw new UserMemoryArgumentError(va, `${what}: length ${typeof lengthBytes === 'number' ? String(lengthBytes) : typeof lengthBytes} is not an integer in [0, ${max}]`);
  }
  if (va + lengthBytes > LINEAR_LIMIT) throw new UserMemoryArgumentError(va, `${what}: ${lengthBytes} bytes run past 2^48`);
  return lengthBytes;
}

/** @throws UserMemoryArgumentError unless `value` is an integer (its low 8 or 32 bits are written) */
export function checkUserValue(va: number, value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new UserMemoryArgumentError(va, `${what}: value ${typeof value === 'number' ? String(value) : typeof value} is not an integer`);
  return value;
}

/** @throws UserMemoryArgumentError unless `access` is 'read', 'write' or 'execute' */
export function checkTouchAccess(va: number, access: unknown): TouchAccess {
  if (access !== 'read' && access !== 'write' && access !== 'execute') throw new UserMemoryArgumentError(va, `access kind ${typeof access === 'string' ? `"${access.slice(0, 20)}"` : typeof access === 'number' ? String(access) : typeof access} is not 'read', 'write' or 'execute'`);
  return access;
}

/** @throws UserMemoryArgumentError unless `bytes` is a Uint8Array */
export function checkUserBytes(va: number, bytes: unknown, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new UserMemoryArgumentError(va, `${what}: bytes are ${bytes === null ? 'null' : typeof bytes}, not a Uint8Array`);
  return bytes;
}

/** @throws UserMemoryArgumentError unless `options` is an object whose flags are booleans and name a string */
export function checkMmapOptions(options: unknown): MmapOptions {
  if (typeof options !== 'object' || options === null) throw new UserMemoryArgumentError(0, `mmap options are ${options === null ? 'null' : typeof options}, not an object`);
  const o = options as Record<string, unknown>;
  for (const flag of ['fixed', 'noReplace', 'shared'] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') throw new UserMemoryArgumentError(shown(o.va), `mmap ${flag} is ${typeof o[flag]}, not a boolean`);
  }
  if (o.name !== undefined && typeof o.name !== 'string') throw new UserMemoryArgumentError(shown(o.va), `mmap name is ${typeof o.name}, not a string`);
  if (o.va !== undefined && typeof o.va !== 'number') throw new UserMemoryArgumentError(0, `mmap va is ${typeof o.va}, not a number`);
  if (o.offsetBytes !== undefined && typeof o.offsetBytes !== 'number') throw new UserMemoryArgumentError(shown(o.va), `mmap offsetBytes is ${typeof o.offsetBytes}, not a number`);
  return options as MmapOptions;
}
