// Does a process that is gone hold any memory? The README says exited processes "hold no
// memory": each one in `processes.gone()` must be a small record (pid, name, state, exit code or
// kill record, counters) with no region list, virtual allocator, page-table helper or program
// image attached, and the kernel keeps only the last `exitHistory` records (default 1,000)
// (issue 14, defect 4; the old kernel kept 3-6 KB of JS heap per exited process, forever).
import { describe, expect, it } from 'vitest';
import { VirtualAllocator } from '@kmem/virt-alloc';
import { EventLog, Kernel, KernelConfigError, Machine, NoSuchProcessError, RegionList, UserPageTables, type Process } from '../src/index';
import { bootProcessKernel, elfFixture, ramMap } from './process-helpers';

/** Every object reachable from a gone process, not through the process manager it shares with all. */
function heavyPartsReachable(p: Process): string[] {
  const found: string[] = [];
  const seen = new Set<object>();
  const visit = (value: unknown, path: string): void => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    if (value instanceof VirtualAllocator || value instanceof RegionList || value instanceof UserPageTables || value instanceof Uint8Array) {
      found.push(`${path}: ${value.constructor.name}`);
      return;
    }
    for (const key of Object.keys(value)) if (key !== 'manager') visit((value as Record<string, unknown>)[key], `${path}.${key}`);
  };
  visit(p, `pid ${p.pid}`);
  return found;
}

describe('exited processes', () => {
  it('keep no address space or image: only the exit record', () => {
    const kernel = bootProcessKernel({ ramMiB: 64 });
    const a = kernel.exec(undefined, elfFixture('hello-static'), ['hello'])!;
    a.touch(a.image!.entry, 'execute');
    const b = kernel.createProcess({ name: 'segv' })!;
    expect(b.touch(0x10, 'read')).toBe('segv');
    a.exit(3);
    for (const p of [a, b]) {
      expect(heavyPartsReachable(p)).toEqual([]);
      expect(p.regions()).toEqual([]);
      expect(p.pageTableCount).toBe(0);
      expect(p.image).toBeNull();
    }
    expect([a.state, a.exitCode, a.name]).toEqual(['exited', 3, 'hello']);
    expect([b.state, b.killed?.signal]).toEqual(['killed', 'SIGSEGV']);
    expect(kernel.processes.gone().map((p) => p.pid)).toEqual([b.pid, a.pid]);
    kernel.checkInvariants();
  });

  it('are kept as the last exitHistory records, oldest dropped first', () => {
    const kernel = new Kernel(new Machine({ memoryMap: ramMap(64) }), { layout: 'higher-half', exitHistory: 5, events: new EventLog({ capacity: 64 }) });
    kernel.boot();
    const pids: number[] = [];
    for (let i = 0; i < 12; i++) {
      const p = kernel.createProcess()!;
      pids.push(p.pid);
      p.exit(i);
    }
    expect(kernel.processes.gone().map((p) => [p.pid, p.exitCode])).toEqual(pids.slice(7).map((pid, i) => [pid, i + 7]));
    expect(kernel.processes.get(pids[11]!).exitCode).toBe(11);
    expect(() => kernel.processes.get(pids[0]!)).toThrow(NoSuchProcessError);
    kernel.checkInvariants();
  });

  it('exitHistory must be a non-negative integer (KernelConfigError before anything changes)', () => {
    for (const bad of [-1, 0.5, Number.NaN, Infinity]) {
      expect(() => new Kernel(new Machine({ memoryMap: ramMap(64) }), { layout: 'higher-half', exitHistory: bad })).toThrow(KernelConfigError);
    }
    const none = new Kernel(new Machine({ memoryMap: ramMap(64) }), { layout: 'higher-half', exitHistory: 0 });
    none.boot();
    none.createProcess()!.exit();
    expect(none.processes.gone()).toEqual([]);
  });
});
