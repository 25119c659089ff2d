// The named scenarios: each a list of steps driving kernel-sim, narrating what happened.
// Every step reads the kernel's answer (outcomes, events) rather than assuming it.
import { PROT, formatCanonical, formatPhysical, formatSize, type Kernel, type Process, type TouchAccess } from '@kmem/kernel-sim';
import { Mode } from '@kmem/x86-paging';
import type { StepContext } from './session';
import { swapStep } from './swap';
import { replayTrace } from './trace';

const PAGE = 4096;

/** Names of the scenarios. */
export type ScenarioName = 'tour' | 'demand-paging' | 'cow-fork' | 'segfault' | 'panic' | 'trace' | 'swap';

/** One step of a scenario. */
export interface ScenarioStep {
  readonly id: string;
  readonly title: string;
  run(ctx: StepContext): void;
}

/** A scenario: a name, a sentence, its steps (run after the boot). */
export interface ScenarioDefinition {
  readonly name: ScenarioName;
  readonly title: string;
  readonly description: string;
  readonly steps: readonly ScenarioStep[];
}

function proc(ctx: StepContext, role: string): Process {
  const pid = ctx.session.roles.get(role);
  const p = pid === undefined ? undefined : ctx.kernel.processes.list().find((x) => x.pid === pid);
  if (p === undefined) throw new Error(`scenario: no live process for role "${role}"`);
  return p;
}

function faultsOf(ctx: StepContext, since: number): string {
  const counts = new Map<string, number>();
  for (const e of ctx.kernel.events.all()) if (e.seq > since && e.kind === 'page-fault') counts.set(e.resolution, (counts.get(e.resolution) ?? 0) + 1);
  return counts.size === 0 ? 'no page faults' : [...counts].map(([r, n]) => `${n} ${r}`).join(', ');
}

function touchPages(ctx: StepContext, p: Process, va: number, pageCount: number, access: TouchAccess, step = PAGE): string {
  const before = ctx.kernel.events.emitted;
  let outcome = 'ok';
  for (let i = 0; i < pageCount && outcome === 'ok'; i++) outcome = p.touch(va + i * step, access, (i & 0xff) + 1);
  return `${outcome === 'ok' ? '' : `${outcome}! `}${faultsOf(ctx, before)}`;
}

// --- steps shared by scenarios ------------------------------------------------------------------

const kernelObjects: ScenarioStep = {
  id: 'kmalloc',
  title: 'the kernel allocates its own objects (kmalloc)',
  run(ctx) {
    const k = ctx.kernel;
    // Sizes a kernel asks for: small structs (slab classes), a buffer (TLSF), a big table (pages).
    const sizes = [24, 24, 40, 64, 64, 100, 100, 100, 200, 300, 500, 1000, 3000, 40_000];
    const got: number[] = [];
    for (const n of sizes) {
      const ptr = k.kmalloc(n);
      if (ptr === null) throw new Error(`kmalloc(${n}) ran out of memory`);
      got.push(ptr);
      ctx.session.kernelObjects.push(ptr);
    }
    const s = k.heap.stats();
    ctx.say(`${sizes.length} kmalloc calls (${sizes.join(', ')} bytes): ${s.allocations} live, ${s.pagesHeld} heap pages held, first at ${formatCanonical(got[0]!)}`);
    k.kfree(got[1]!);
    ctx.session.kernelObjects.splice(1, 1);
    ctx.say(`kfree(${formatCanonical(got[1]!)}) returns a 24-byte object to kmalloc-32`);
  },
};

function execStep(role = 'hello'): ScenarioStep {
  return {
    id: 'exec',
    title: 'exec a real ELF program (pages loaded on first touch)',
    run(ctx) {
      const k = ctx.kernel;
      const name = ctx.inputs.program.name;
      const p = k.exec(undefined, ctx.inputs.program.bytes, [name], ['HOME=/', 'TERM=vt100'], { name });
      if (p === null) throw new Error('exec ran out of memory');
      ctx.session.roles.set(role, p.pid);
      const img = p.image!;
      ctx.say(`pid ${p.pid} "${name}": ${img.plan.segments.length} PT_LOAD segments, entry ${formatCanonical(img.entry)}, rsp ${formatCanonical(img.rsp)}`);
      ctx.say(`writing argv/envp/auxv on the new stack faulted in ${p.stats.rssPages} page(s); nothing of the file is mapped yet`);
      const before = k.events.emitted;
      const o1 = p.touch(img.entry, 'execute');
      const ro = p.regions().find((r) => r.kind === 'rodata' && r.start > img.entry);
      const o2 = ro === undefined ? 'ok' : p.touch(ro.start, 'read');
      ctx.say(`it fetches its first instruction and reads its string: ${o1}/${o2}, ${faultsOf(ctx, before)}`);
    },
  };
}

const workerDemandPaging: ScenarioStep = {
  id: 'demand-paging',
  title: 'a second process maps memory and touches it (demand paging)',
  run(ctx) {
    const k = ctx.kernel;
    const p = k.createProcess({ name: 'worker' });
    if (p === null) throw new Error('createProcess ran out of memory');
    ctx.session.roles.set('worker', p.pid);
    const va = p.mmap({ lengthBytes: 64 * 1024, prot: PROT.Read | PROT.Write, name: 'buffer' });
    if (va === null) throw new Error('mmap failed');
    ctx.say(`pid ${p.pid} "worker": mmap(64 KiB, rw-) = ${formatCanonical(va)}; RSS ${p.stats.rssPages} pages (nothing mapped yet)`);
    ctx.say(`writes 8 of its 16 pages: ${touchPages(ctx, p, va, 8, 'write')}; RSS now ${p.stats.rssPages}`);
    const again = touchPages(ctx, p, va, 8, 'read');
    ctx.say(`reads the same 8 pages again: ${again} (the TLB and page tables already know them)`);
    const brk0 = p.brkEnd;
    const old = p.sbrk(3 * PAGE);
    if (old !== null) ctx.say(`sbrk(12 KiB) moves the break ${formatCanonical(brk0)} → ${formatCanonical(p.brkEnd)}; touching it: ${touchPages(ctx, p, old, 3, 'write')}`);
  },
};

const stackGrowth: ScenarioStep = {
  id: 'stack-growth',
  title: 'the worker recurses deeply: its stack grows down',
  run(ctx) {
    const p = proc(ctx, 'worker');
    const stack = p.regions().find((r) => r.kind === 'stack')!;
    const sizeBefore = stack.end - stack.start;
    // A frame every 4 KiB, from the top down to 64 KiB below the region's current bottom.
    const depth = (sizeBefore + 64 * 1024) / PAGE;
    const res = touchPages(ctx, p, p.stackTop - PAGE, depth, 'write', -PAGE);
    const after = p.regions().find((r) => r.kind === 'stack')!;
    ctx.say(`${depth} stack pages written from ${formatCanonical(p.stackTop - 1)} down: ${res}`);
    ctx.say(`stack region ${formatSize(sizeBefore)} → ${formatSize(after.end - after.start)} (${formatCanonical(after.start)}..${formatCanonical(after.end)}), limit ${formatSize(p.limits.stackLimitBytes)}`);
  },
};

function forkStep(parentRole = 'hello'): ScenarioStep {
  return {
    id: 'fork',
    title: 'fork with copy-on-write',
    run(ctx) {
      const k = ctx.kernel;
      const parent = proc(ctx, parentRole);
      const sharedBefore = k.frames.sharedFrames;
      const child = k.fork(parent.pid);
      if (child === null) throw new Error('fork ran out of memory');
      ctx.session.roles.set('child', child.pid);
      ctx.say(`fork(${parent.pid}) = ${child.pid}: ${child.stats.rssPages} pages shared read-only and marked COW (shared frames ${sharedBefore} → ${k.frames.sharedFrames}); no page copied`);
      const target = parent.image === null ? parent.regions().find((r) => r.prot & PROT.Write)!.start : parent.image.rsp;
      const page = target - (target % PAGE);
      const before = k.events.emitted;
      child.touch(target, 'write', 0x42);
      const childPa = child.translate(page);
      ctx.say(`the child writes ${formatCanonical(target)}: ${faultsOf(ctx, before)} → its own frame ${formatPhysical(childPa)}`);
      const before2 = k.events.emitted;
      parent.touch(target, 'write', 0x17);
      ctx.say(`the parent writes the same page: ${faultsOf(ctx, before2)} (last sharer keeps frame ${formatPhysical(parent.translate(page))})`);
      const readsChild = child.touch(target, 'read');
      ctx.say(`each sees its own byte: child ${readsChild}, frames differ: ${childPa !== parent.translate(page) ? 'yes' : 'no'}`);
    },
  };
}

function segfaultStep(role = 'worker'): ScenarioStep {
  return {
    id: 'segfault',
    title: 'a NULL pointer dereference: SIGSEGV',
    run(ctx) {
      const p = proc(ctx, role);
      const outcome = p.touch(0x10, 'read');
      const rec = p.killed;
      ctx.say(`pid ${p.pid} reads ${formatCanonical(0x10)}: ${outcome}`);
      if (rec !== null) ctx.say(`killed by ${rec.signal}: ${rec.errorCodeText}; reason ${rec.reason}; its frames and tables were freed`);
    },
  };
}

const exitChild: ScenarioStep = {
  id: 'exit',
  title: 'the child exits',
  run(ctx) {
    const p = proc(ctx, 'child');
    const free = ctx.kernel.pmm.freeFrames;
    ctx.kernel.exit(p.pid, 0);
    ctx.say(`exit(0) of pid ${p.pid}: ${ctx.kernel.pmm.freeFrames - free} frames back to the allocator`);
  },
};

const panicStep: ScenarioStep = {
  id: 'panic',
  title: 'a second kernel dereferences a wild pointer: kernel panic',
  run(ctx) {
    const report = ctx.session.runPanicKernel((k2: Kernel) => {
      const heap = k2.heapBacking.base;
      const wild = heap + 512 * 1024 * 1024; // inside the heap region, never mapped
      ctx.say(`kernel #2 booted on the same map; it writes to ${formatCanonical(wild)} (heap region, nothing mapped there)`);
      k2.cpu.write8(wild, 0xcc, Mode.Supervisor);
    });
    if (report === null) ctx.say('no panic happened (unexpected)');
    else ctx.say(`panic: ${report.reason}; kernel #2 is ${ctx.session.panicKernel?.state ?? '?'}; kernel #1 is still ${ctx.kernel.state}`);
  },
};

const segfaultKinds: ScenarioStep = {
  id: 'segfault-kinds',
  title: 'three more ways to die: write to text, execute the stack, read the kernel',
  run(ctx) {
    const k = ctx.kernel;
    const img = ctx.inputs.program;
    const tries: [string, (p: Process) => TouchAccess, (p: Process) => number][] = [
      ['writes its own code', () => 'write', (p) => p.image!.entry],
      ['jumps to its stack (NX)', () => 'execute', (p) => p.image!.rsp],
      ['reads kernel memory', () => 'read', () => k.layout.regions.find((r) => r.role === 'kernel-image')!.start],
    ];
    for (const [what, access, where] of tries) {
      const p = k.exec(undefined, img.bytes, [img.name], [], { name: img.name });
      if (p === null) throw new Error('exec ran out of memory');
      const va = where(p);
      const outcome = p.touch(va, access(p));
      ctx.say(`pid ${p.pid} ${what} at ${formatCanonical(va)}: ${outcome}${p.killed === null ? '' : ` (${p.killed.errorCodeText}; ${p.killed.reason})`}`);
    }
  },
};

function traceStep(): ScenarioStep {
  return {
    id: 'trace',
    title: 'replay a long memory-access trace of three processes',
    run(ctx) {
      const result = replayTrace(ctx.kernel, ctx.inputs.traceAccesses ?? 200_000, (d, t) => ctx.progress(d, t));
      ctx.session.trace = result;
      ctx.say(`${result.accesses} accesses by ${result.processes} processes in bursts of ${result.burst}: ${result.faults} page faults (${Object.entries(result.faultsByResolution).map(([r, n]) => `${n} ${r}`).join(', ')})`);
      ctx.say(`TLB: ${result.tlbHits} hits, ${result.tlbMisses} misses (hit rate ${(result.tlbHitRate * 100).toFixed(1)}%), ${result.contextSwitches} context switches`);
      ctx.say(`resident: ${result.residentPages} pages; frames free ${result.freeFramesBefore} → ${result.freeFramesAfter}`);
    },
  };
}

const invariants: ScenarioStep = {
  id: 'check',
  title: 'check every invariant of the system',
  run(ctx) {
    ctx.kernel.checkInvariants();
    ctx.say('kernel.checkInvariants(): every used frame has one owner, every mapping points at RAM it owns — ok');
  },
};

/** Every scenario by name. */
export const SCENARIOS: Readonly<Record<ScenarioName, ScenarioDefinition>> = {
  tour: {
    name: 'tour',
    title: 'the whole tour',
    description: 'boot, kernel heap, an ELF program and a worker touching memory, stack growth, fork with copy-on-write, a segfault, and a panic on a second kernel',
    steps: [kernelObjects, execStep(), workerDemandPaging, stackGrowth, forkStep(), segfaultStep(), exitChild, invariants, panicStep],
  },
  'demand-paging': {
    name: 'demand-paging',
    title: 'demand paging',
    description: 'pages get frames only when first touched: ELF pages from the file, anonymous pages zeroed, the stack growing down',
    steps: [kernelObjects, execStep(), workerDemandPaging, stackGrowth, invariants],
  },
  'cow-fork': {
    name: 'cow-fork',
    title: 'fork with copy-on-write',
    description: 'fork shares every page read-only; the first write by either side copies just that page',
    steps: [kernelObjects, execStep(), workerDemandPaging, forkStep('worker'), invariants],
  },
  segfault: {
    name: 'segfault',
    title: 'segmentation faults',
    description: 'user faults the kernel cannot resolve kill the process (SIGSEGV), never the kernel',
    steps: [kernelObjects, execStep(), workerDemandPaging, segfaultStep(), segfaultKinds, invariants],
  },
  panic: {
    name: 'panic',
    title: 'a kernel panic',
    description: 'a supervisor page fault the kernel cannot explain stops that kernel with a report; the host (and other kernels) keep running',
    steps: [kernelObjects, panicStep],
  },
  trace: {
    name: 'trace',
    title: 'a long trace replay',
    description: 'three processes replay a generated access trace with a hot working set; TLB hit rate and page-fault counts',
    steps: [kernelObjects, traceStep(), invariants],
  },
  swap: {
    name: 'swap',
    title: 'swap and page replacement',
    description: 'processes need three times the memory they may keep: pages go to two swap devices and come back on major faults; every policy compared on the same accesses',
    steps: [swapStep, invariants],
  },
};

/** Scenario names, tour first. */
export const SCENARIO_NAMES = Object.keys(SCENARIOS) as ScenarioName[];
