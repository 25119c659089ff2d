// Paging-structure entries read straight from a dump (x86-paging's TableAccess port), the way the
// CPU reads them: by physical address. Read-only.
import type { TableAccess } from '@kmem/x86-paging';
import type { DumpPhysicalMemory } from './dump-memory';
import { DumpReadOnlyError } from './inspect-errors';

/**
 * Reads entries straight from a dump, reading as not present the entries in `pruned`; writes
 * throw {@link DumpReadOnlyError}.
 */
export class DumpTableAccess implements TableAccess {
  lo = 0;
  hi = 0;
  constructor(
    protected readonly memory: DumpPhysicalMemory,
    private readonly pruned: ReadonlySet<number> = new Set(),
  ) {}

  readEntry(_level: number, _va: number, tableFrame: number, index: number): void {
    if (this.pruned.size !== 0 && this.pruned.has(tableFrame + index * 8)) {
      this.lo = 0;
      this.hi = 0;
      return;
    }
    const w = this.memory.frameWords(tableFrame);
    this.lo = w[index * 2]!;
    this.hi = w[index * 2 + 1]!;
  }

  writeEntry(_level: number, _va: number, tableFrame: number, index: number): void {
    throw new DumpReadOnlyError(tableFrame + index * 8);
  }

  zeroTable(_level: number, _va: number, tableFrame: number): void {
    throw new DumpReadOnlyError(tableFrame);
  }
}
