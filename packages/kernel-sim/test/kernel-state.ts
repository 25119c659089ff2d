// The kernel's exported state as plain data, for tests that check a rejected call changed
// nothing: processes (regions, maps, counters, image), frames by owner, free frames, the
// kernel's virtual space, the heap, CR3 and the current process, mappings made on purpose.
import type { Kernel, Process } from '../src/index';

function processState(p: Process): unknown {
  return {
    pid: p.pid,
    name: p.name,
    state: p.state,
    exitCode: p.exitCode,
    killed: p.killed?.reason ?? null,
    brk: [p.brkStart, p.brkEnd],
    stats: { ...p.stats },
    maps: p.alive ? p.formatMaps() : '',
    image: p.image === null ? null : { name: p.image.name, entry: p.image.entry, rsp: p.image.rsp, argv: [...p.image.argv], envp: [...p.image.envp] },
    pageTables: p.alive ? p.pageTableCount : 0,
  };
}

/** Everything a caller can read back, as JSON-comparable data. */
export function kernelState(kernel: Kernel): unknown {
  const usage = kernel.processes.frameUsage();
  return {
    state: kernel.state,
    processes: kernel.processes.list().map(processState),
    gone: kernel.processes.gone().map((p) => p.pid),
    current: kernel.processes.current?.pid ?? null,
    cr3: kernel.machine.cpu.registers.cr3Frame,
    byOwner: usage.byOwner,
    byPid: [...usage.byPid],
    freeFrames: usage.freeFrames,
    sharedFrames: usage.sharedFrames,
    kernelSpace: kernel.kernelSpace.stats(),
    heap: kernel.heap.stats(),
    physicalMappings: kernel.physicalMappings.map((m) => ({ ...m })),
    kernelStacks: kernel.kernelStacks.map((s) => ({ ...s })),
    roots: kernel.addressSpaceRoots(),
    killCount: kernel.processes.killCount,
  };
}
