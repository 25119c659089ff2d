// A process's pages arrive on demand through page faults; fork shares them copy-on-write; an
// instruction fetch from a data page is SIGSEGV. The kernel's event log says how each fault ended.
import { Kernel, Machine, type Process } from '@kmem/kernel-sim';

const kernel = new Kernel(new Machine({ memoryMap: [{ base: 0x10_0000, lengthBytes: 64 * 2 ** 20, kind: 'usable' }] }), { layout: 'higher-half' });
kernel.boot();
const parent: Process = kernel.createProcess({ name: 'parent' })!;
const buf: number = parent.mmap({ lengthBytes: 2 * 4096 })!;
console.log(parent.touch(buf, 'write', 42), `rss ${parent.stats.rssPages} pages`);
const child: Process = kernel.fork(parent.pid)!;
console.log(child.touch(buf, 'write', 7), child.touch(buf + 4096, 'execute'), child.killed!.reason);
for (const e of kernel.events.ofKind('page-fault').slice(-3)) console.log(`pid ${e.pid} ${e.access} ${e.va.toString(16)}: ${e.resolution}`);
parent.exit(0);
kernel.checkInvariants();
console.log(`${kernel.processes.count} process(es) left, ${kernel.frames.usageByOwner().user} user frames`);


// prints:
// ok rss 1 pages
// ok segv execute-non-executable
// pid 1 write 2aaaaaaaa000: lazy-zero
// pid 2 write 2aaaaaaaa000: cow-copy
// pid 2 instruction fetch 2aaaaaaab000: segv
// 0 process(es) left, 0 user frames
