// Garbage at every public method of kernel-sim (issue 14, "Also"): NaN, ±Infinity, -1, 0.5, 2^53,
// bigint, strings, null, undefined, objects, and misaligned or canonical-hole-crossing addresses.
// Each call must throw a typed KmemError with a stable E_… code, or return its documented
// null / false / -1, and leave the kernel exactly as it was: checkInvariants() passes and the
// exported state (test/kernel-state.ts) is the same before and after.
import fc from 'fast-check';
import { beforeEach, describe, it } from 'vitest';
import { EventLog, Kernel, Machine, type Process } from '../src/index';
import { expectRejected, garbage, notANumber } from '../../../test-support/garbage-arguments';
import { kernelState } from './kernel-state';
import { elfFixture, ramMap } from './process-helpers';

const RUNS = { numRuns: 6 };
const HOLE_EDGE = 0x7fff_ffff_e000; // 2 pages below the canonical hole: + 3 pages crosses it
const KERNEL_VA = 0x8000_0000_0000 + 0x1000_0000; // free kernel space (higher-half slab area)

function setUp(): { kernel: Kernel; p: Process; snapshot: () => string } {
  const kernel = new Kernel(new Machine({ memoryMap: ramMap(24) }), { layout: 'higher-half', events: new EventLog({ capacity: 64 }), exitHistory: 4 });
  kernel.boot();
  const p = kernel.exec(undefined, elfFixture('hello-static'), ['hello'])!;
  p.mmap({ lengthBytes: 8192 });
  const snapshot = (): string => {
    kernel.checkInvariants();
    return JSON.stringify(kernelState(kernel), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  };
  return { kernel, p, snapshot };
}

/** Addresses that are numbers but wrong: misaligned, in the hole's edge, beyond 2^48, negative. */
const badAddress = (): fc.Arbitrary<unknown> => fc.oneof(notANumber(), fc.constantFrom<unknown>(1, 4095, 0x1001, HOLE_EDGE + 1, 2 ** 48, 2 ** 48 + 4096, -4096));
const anyArg = (): fc.Arbitrary<unknown> => fc.oneof(garbage(), badAddress());
/** Not a linear address or pid at all (a user access to any linear address is valid: it may SIGSEGV; pid 1 is the test's process). */
const notAddress = (): fc.Arbitrary<unknown> => fc.oneof(garbage(), fc.constantFrom<unknown>(2 ** 48, 2 ** 48 + 4096, -4096, 0.5));

describe('kernel-sim public methods given garbage', () => {
  // One kernel per method (set up in beforeEach), so a failure in one does not cascade.
  let kernel: Kernel;
  let p: Process;
  let snapshot: () => string;
  let k: Record<string, (...a: unknown[]) => unknown>;
  let proc: Record<string, (...a: unknown[]) => unknown>;
  let user: Record<string, (...a: unknown[]) => unknown>;
  let frames: Record<string, (...a: unknown[]) => unknown>;
  let memory: Record<string, (...a: unknown[]) => unknown>;
  // The kernel's exported state, checked equal to the live kernel's after every call: it is the
  // state before the next call too, so each run snapshots once (checkInvariants is the cost).
  let state: string;
  beforeEach(() => {
    ({ kernel, p, snapshot } = setUp());
    state = snapshot();
    k = kernel as unknown as Record<string, (...a: unknown[]) => unknown>;
    proc = p as unknown as Record<string, (...a: unknown[]) => unknown>;
    user = kernel.user as unknown as Record<string, (...a: unknown[]) => unknown>;
    frames = kernel.frames as unknown as Record<string, (...a: unknown[]) => unknown>;
    memory = kernel.memory as unknown as Record<string, (...a: unknown[]) => unknown>;
  });
  // Every kmem package has its own KmemError base (kernel-sim passes on virt-alloc's and kheap's
  // typed errors), so the contract is checked by the stable E_… code, never a raw TypeError.
  const check = (call: () => unknown, allowed: readonly unknown[] = []): void => {
    let before = true;
    const known = (): string => {
      if (before) {
        before = false;
        return state;
      }
      state = snapshot();
      return state;
    };
    expectRejected(Error, known, call, allowed);
  };

  // [name, arity, call, documented non-throwing results]
  const cases: [string, (a: unknown, b: unknown, c: unknown) => unknown, readonly unknown[], boolean?][] = [
    ['kernel.memMapPagesAt', (a, b, c) => k.memMapPagesAt!(a, b, c), [false]],
    ['kernel.memMapPagesAt at a valid address', (_a, b, c) => k.memMapPagesAt!(KERNEL_VA, b, c), [false], true],
    ['kernel.memUnmapPages', (a, b) => k.memUnmapPages!(a, b), []],
    // Any physical address, a positive length and small flags form a valid call (1, 1, 1 maps the
    // page holding pa 1 and returns its va + 1): when all three are numbers, keep flags garbage.
    ['kernel.memMapAddr', (a, b, c) => k.memMapAddr!(a, b, typeof a === 'number' && typeof b === 'number' && typeof c === 'number' ? NaN : c), [null]],
    ['kernel.memMapAddr with a garbage va', (a, _b, c) => k.memMapAddr!(0xfee0_0000, 4096, 3, a ?? c ?? NaN), [null]],
    ['kernel.memUnmapAddr', (a) => k.memUnmapAddr!(a), []],
    ['kernel.virtaddrAlloc', (a) => k.virtaddrAlloc!(a), [null]],
    ['kernel.virtaddrTake', (a, b) => k.virtaddrTake!(a, b), [false]],
    ['kernel.virtaddrFree', (a, b) => k.virtaddrFree!(a, b ?? 4096), []],
    ['kernel.kmalloc', (a) => k.kmalloc!(typeof a === 'number' ? NaN : a), [null]],
    ['kernel.kfree', (a) => k.kfree!(a ?? NaN), []],
    ['kernel.freeKernelStack', (a) => k.freeKernelStack!(a), []],
    ['kernel.freeAddressSpaceRoot', (a) => k.freeAddressSpaceRoot!(a), []],
    ['kernel.newAddressSpaceRoot', (a) => k.newAddressSpaceRoot!(a ?? NaN), [null], true],
    ['kernel.createProcess', (a) => k.createProcess!(typeof a === 'object' && a !== null ? NaN : (a ?? NaN)), [null], true],
    ['kernel.exec', (a, b, c) => k.exec!(a, b, c), [null]],
    ['kernel.exec into the process', (_a, b, c) => k.exec!(p.pid, elfFixture('hello-static'), b ?? NaN, c), [null]],
    ['kernel.fork', (a) => k.fork!(typeof a === 'number' ? 0.5 : a), [null]],
    ['kernel.exit', (a) => k.exit!(a), [], true],
    ['kernel.exit with a garbage code', (a) => k.exit!(p.pid, typeof a === 'number' || a === undefined ? 0.5 : a), [], true],
    ['kernel.switchTo', (a) => k.switchTo!(a ?? NaN), [], true],
    ['kernel.setFaultPolicy', (a) => k.setFaultPolicy!(typeof a === 'function' || a === undefined || a === null ? NaN : a), [], true],
    ['kernel.user.read8', (a) => user.read8!(a), [], true],
    ['kernel.user.read32', (a) => user.read32!(a), [], true],
    ['kernel.user.fetch8', (a) => user.fetch8!(a), [], true],
    ['kernel.user.write8', (a, b) => user.write8!(a, b), [], true],
    ['kernel.user.write32 of a garbage value', (_a, b) => user.write32!(p.stackTop - 64, typeof b === 'number' ? 0.5 : b), [], true],
    ['kernel.user.readBytes', (a, b) => user.readBytes!(a, b), [], true],
    ['kernel.user.readBytes at a valid address', (_a, b) => user.readBytes!(p.stackTop - 64, b), [], true],
    ['kernel.user.writeBytes', (a, b) => user.writeBytes!(a, b), [], true],
    ['process.brk', (a) => proc.brk!(typeof a === 'number' ? NaN : a), [], true],
    ['process.sbrk', (a) => proc.sbrk!(typeof a === 'number' ? 0.5 : a), [null]],
    ['process.mmap', (a) => proc.mmap!(a), [null]],
    // A boolean `fixed` with no va is a valid mmap: keep `fixed` garbage.
    ['process.mmap options', (a, b, c) => proc.mmap!({ lengthBytes: 4096, fixed: typeof a === 'boolean' || a === undefined ? 'abc' : a, va: b, name: c }), [null]],
    ['process.mmap crossing the canonical hole', (a) => proc.mmap!({ lengthBytes: 3 * 4096, fixed: true, va: HOLE_EDGE, prot: a ?? 3 }), []],
    ['process.munmap', (a, b) => proc.munmap!(a, b), []],
    ['process.mprotect', (a, b, c) => proc.mprotect!(a, b, c), []],
    ['process.touch', (a, b, c) => proc.touch!(a, b, c ?? NaN), [], true],
    ['process.touch with a garbage access kind', (a) => proc.touch!(p.stackTop - 64, a ?? NaN), []],
    ['process.touchRange', (a, b, c) => proc.touchRange!(a, b, c), [], true],
    ['process.translate', (a) => proc.translate!(a), [-1], true],
    ['process.pageInfo', (a) => proc.pageInfo!(a), [null], true],
    ['process.regionAt', (a) => proc.regionAt!(a), [null], true],
    ['frames.allocFrame', (a) => frames.allocFrame!(a), []],
    ['frames.allocContiguous', (a, b) => frames.allocContiguous!(a, b), [null]],
    ['frames.allocContiguous without an owner', (a) => frames.allocContiguous!(1, a), [null]],
    ['frames.freeFrame', (a) => frames.freeFrame!(a), []],
    ['frames.share', (a) => frames.share!(a), []],
    ['frames.transfer', (a, b) => frames.transfer!(a, b), []],
    ['frames.refCount', (a) => frames.refCount!(a), [0]],
    ['frames.kindOf', (a) => frames.kindOf!(a), [null]],
    ['memory.read8', (a) => memory.read8!(typeof a === 'number' ? 2 ** 52 : a), [], true],
    ['memory.read32', (a) => memory.read32!(a), []],
    ['memory.write8', (a, b) => memory.write8!(a, typeof b === 'number' ? 1n : b), []],
    ['memory.write32 of a garbage value', (a) => memory.write32!(0x10_0000, typeof a === 'number' || a === undefined ? 1n : a), [], true],
    // Byte copies take any physical address (1 is fine): keep one argument garbage.
    ['memory.readBytes', (a, b) => memory.readBytes!(a, typeof a === 'number' && typeof b === 'number' ? NaN : b), []],
    ['memory.writeBytes', (a, b) => memory.writeBytes!(typeof a === 'number' && b instanceof Uint8Array ? NaN : a, b), []],
    ['memory.writeBytes of garbage', (a) => memory.writeBytes!(0x10_0000, a instanceof Uint8Array ? null : a), []],
    ['memory.frameWords', (a) => memory.frameWords!(a), []],
    ['memory.isRam', (a) => memory.isRam!(a), [false, true]],
  ];
  for (const [name, call, allowed, userAccess] of cases) {
    it(`${name}: a typed error or the documented result, nothing changed`, () => {
      const arg = userAccess === true ? notAddress : anyArg;
      fc.assert(
        fc.property(arg(), arg(), arg(), (a, b, c) => check(() => call(a, b, c), allowed)),
        RUNS,
      );
    });
  }
});
