// Do the kernel-sim calls of issue 14 items 7 and 8 reject malformed arguments with a typed error
// and leave the process alive? touch(va, NaN) used to kill the process with SIGSEGV; mmap({ fixed:
// 'abc' }) took any value as a flag; readBytes(va, NaN) returned an empty array and (va, -1) threw
// a RangeError; kernel.user.* with strings, undefined, null, objects or bigints threw TypeErrors;
// frames.allocContiguous without an owner, memory.read32(bigint) and memory.writeBytes(pa,
// undefined) threw TypeErrors.
import { describe, expect, it } from 'vitest';
import { FrameOwnershipError, InvalidPhysicalAddressError, MemoryArgumentError, ProcessOptionError, UserMemoryArgumentError } from '../src/index';
import { kernelState } from './kernel-state';
import { bootProcessKernel } from './process-helpers';

describe('malformed arguments to user accesses, frames and memory', () => {
  it('are typed errors, and the process stays alive with nothing changed', () => {
    const kernel = bootProcessKernel({ ramMiB: 32 });
    const p = kernel.createProcess()!;
    const va = p.stackTop - 64;
    expect(p.touch(va, 'write', 1)).toBe('ok');
    const before = JSON.stringify(kernelState(kernel));
    const any = (x: unknown): never => x as never;
    const cases: [string, () => unknown, new (...a: never[]) => Error][] = [
      ['touch with NaN as the access kind', () => p.touch(va, any(Number.NaN)), UserMemoryArgumentError],
      ['touch with a string address', () => p.touch(any('0x1000'), 'read'), UserMemoryArgumentError],
      ['touchRange with a negative length', () => p.touchRange(va, -1, 'read'), UserMemoryArgumentError],
      ["mmap with fixed: 'abc'", () => p.mmap({ lengthBytes: 4096, fixed: any('abc'), va: 0x1000_0000 }), UserMemoryArgumentError],
      ['mmap with options null', () => p.mmap(any(null)), UserMemoryArgumentError],
      ['readBytes with NaN bytes', () => kernel.user.readBytes(va, Number.NaN), UserMemoryArgumentError],
      ['readBytes with -1 bytes', () => kernel.user.readBytes(va, -1), UserMemoryArgumentError],
      ['read8 of a string', () => kernel.user.read8(any('0x1000')), UserMemoryArgumentError],
      ['read8 of undefined', () => kernel.user.read8(any(undefined)), UserMemoryArgumentError],
      ['write8 of null', () => kernel.user.write8(any(null), 1), UserMemoryArgumentError],
      ['read32 of an object', () => kernel.user.read32(any({})), UserMemoryArgumentError],
      ['fetch8 of a bigint', () => kernel.user.fetch8(any(4096n)), UserMemoryArgumentError],
      ['writeBytes of undefined', () => kernel.user.writeBytes(va, any(undefined)), UserMemoryArgumentError],
      ['frames.allocContiguous without an owner', () => kernel.frames.allocContiguous(1, any(undefined)), FrameOwnershipError],
      ['memory.read32 of a bigint', () => kernel.memory.read32(any(4096n)), InvalidPhysicalAddressError],
      ['memory.writeBytes of undefined', () => kernel.memory.writeBytes(0x10_0000, any(undefined)), MemoryArgumentError],
      ['createProcess with a string', () => kernel.createProcess(any('abc')), ProcessOptionError],
      ['setFaultPolicy with a number', () => kernel.setFaultPolicy(any(7)), ProcessOptionError],
    ];
    for (const [what, call, type] of cases) {
      expect(call, what).toThrow(type);
      expect(p.alive, what).toBe(true);
      expect(JSON.stringify(kernelState(kernel)), what).toBe(before);
    }
    kernel.checkInvariants();
  });
});
