// Records a simulation's user-mode accesses as a kmem trace, so the run can be replayed exactly.
import { Mode, type Cpu, type CpuAddress } from '@kmem/x86-paging';
import { AccessKind } from './access-kind';
import type { KmemTraceWriter } from './kmem-trace';
import { TraceOptionError } from './trace-errors';

type Method = 'read8' | 'read16' | 'read32' | 'fetch8' | 'fetch16' | 'fetch32' | 'write8' | 'write16' | 'write32';

const METHODS: readonly (readonly [Method, number, number])[] = [
  ['read8', 1, AccessKind.Load],
  ['read16', 2, AccessKind.Load],
  ['read32', 4, AccessKind.Load],
  ['fetch8', 1, AccessKind.Fetch],
  ['fetch16', 2, AccessKind.Fetch],
  ['fetch32', 4, AccessKind.Fetch],
  ['write8', 1, AccessKind.Store],
  ['write16', 2, AccessKind.Store],
  ['write32', 4, AccessKind.Store],
];

const recording = new WeakSet<Cpu>();

/**
 * Records every user-mode load, store and fetch made through `cpu` (its `read*`, `write*` and
 * `fetch*` methods: what `Process.touch`, `kernel.user.*` and a program's accesses use) into
 * `writer`, in order, before each access runs (an access that kills the process is recorded too).
 * Supervisor-mode accesses (the kernel's own, exec writing the initial stack) are not: a replay
 * makes them itself. Works by wrapping the methods on this one Cpu object, not its class; the
 * returned function removes the wrappers (it does not end the writer).
 * @throws TraceOptionError if this Cpu is already being recorded
 */
export function recordCpuAccesses(cpu: Cpu, writer: KmemTraceWriter): () => void {
  if (recording.has(cpu)) throw new TraceOptionError('this Cpu is already being recorded');
  recording.add(cpu);
  const target = cpu as unknown as Record<Method, (va: CpuAddress, a?: number, b?: number) => number | undefined>;
  const originals = METHODS.map(([name]) => [name, Object.prototype.hasOwnProperty.call(cpu, name) ? target[name] : undefined] as const);
  for (const [name, sizeBytes, kind] of METHODS) {
    const original = target[name];
    const isWrite = kind === AccessKind.Store;
    target[name] = function (this: Cpu, va: CpuAddress, a?: number, b?: number) {
      const mode = (isWrite ? b : a) ?? this.mode;
      if (mode === Mode.User && typeof va === 'number' && va >= 0 && va < 2 ** 48 && Number.isInteger(va)) writer.write(va, sizeBytes, kind);
      return original.call(this, va, a, b);
    };
  }
  return () => {
    for (const [name, own] of originals) {
      if (own === undefined) delete (target as Partial<typeof target>)[name];
      else target[name] = own;
    }
    recording.delete(cpu);
  };
}
