// Run in a child process with --expose-gc by process-churn-soak.test.ts: creates and exits
// processes, and prints the JS heap (after a full GC) at two points as JSON on stdout.
import { EventLog, Kernel, Machine } from '../../src/index';
import { ramMap } from '../process-helpers';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const processCount = Number(process.argv[2] ?? 20_000);
const warmup = 2_000;

const kernel = new Kernel(new Machine({ memoryMap: ramMap(32) }), { layout: 'higher-half', events: new EventLog({ capacity: 256 }) });
kernel.boot();
const churn = (n: number): void => {
  for (let i = 0; i < n; i++) {
    const p = kernel.createProcess();
    if (p === null) throw new Error('out of memory creating a process');
    p.mmap({ lengthBytes: 3 * 4096 });
    p.touch(p.stackTop - 8, 'write', 1);
    p.exit(i & 0xff);
  }
};
const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
churn(warmup);
const before = heap();
churn(processCount);
const after = heap();
kernel.checkInvariants();
process.stdout.write(JSON.stringify({ processCount, before, after, gone: kernel.processes.gone().length, live: kernel.processes.count, freeFrames: kernel.pmm.freeFrames }));
