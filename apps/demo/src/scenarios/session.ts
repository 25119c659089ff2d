// A demo run as a sequence of steps: the eight boot steps of the kernel, then the steps of a named
// scenario. The terminal runs them all; the web visualizer runs them one at a time (play, pause,
// step). No Node built-ins here: inputs come in as bytes and regions.
import { DEFAULT_PROCESS_LIMITS, EventLog, Kernel, KernelPanic, LAYOUTS, Machine, elfLoadPlan, formatPhysical, parseElf64, type KernelEvent, type LayoutName, type MemoryRegion, type PanicReportData } from '@kmem/kernel-sim';
import { SCENARIOS, type ScenarioDefinition, type ScenarioName } from './catalog';
import type { SwapDemoResult } from './swap';
import type { TraceResult } from './trace';
import {
  framePicture,
  heapView,
  layoutRows,
  memoryMapRows,
  ownerUsage,
  processViews,
  tlbView,
  walkView,
  walkViewPhysical,
  zoneUsage,
  type FramePicture,
  type HeapView,
  type LayoutRow,
  type MemoryMapRow,
  type OwnerUsage,
  type ProcessView,
  type TlbView,
  type WalkView,
  type ZoneUsage,
} from './views';

/** The layouts a demo can boot with. */
export const LAYOUT_NAMES: readonly LayoutName[] = ['higher-half', 'identity-low', 'limine-higher-half'];

/** What a demo run needs: a memory map, a layout, a program to exec. */
export interface DemoInputs {
  /** The firmware memory map (not necessarily normalised) and where it came from. */
  readonly memoryMap: { readonly name: string; readonly format: string; readonly regions: readonly MemoryRegion[] };
  readonly layout: LayoutName;
  /** A static x86_64 ELF executable. */
  readonly program: { readonly name: string; readonly bytes: Uint8Array };
  /** Accesses the `trace` scenario replays (default 200 000). */
  readonly traceAccesses?: number;
  /** Accesses in each phase of the `swap` scenario's workload (default 5 000). */
  readonly swapPhaseAccesses?: number;
  /** The CPU's TLB: sets × ways (x86-paging's `TlbOptions`), or false for none (default: x86-paging's 256 × 8). */
  readonly tlb?: { readonly setCount: number; readonly wayCount: number } | false;
}

/** One step done: what it said and the kernel events it caused. */
export interface StepRecord {
  readonly index: number;
  readonly phase: 'boot' | 'scenario';
  readonly id: string;
  readonly title: string;
  /** Sentences for people, in order. */
  readonly lines: readonly string[];
  /** Events the step caused (the panic kernel's events for the panic step). */
  readonly events: readonly KernelEvent[];
}

/** Hooks a front end passes in. */
export interface SessionHooks {
  /** Called during long steps (the trace replay) with work done and total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What a step function can use. */
export interface StepContext {
  readonly session: DemoSession;
  readonly kernel: Kernel;
  readonly inputs: DemoInputs;
  say(line: string): void;
  progress(done: number, total: number): void;
}

interface PlannedStep {
  readonly phase: 'boot' | 'scenario';
  readonly id: string;
  readonly title: string;
  run(ctx: StepContext): void;
}

const BOOT_TITLES: Record<string, string> = {
  'memory-map': 'read the firmware memory map',
  'frame-allocator': 'build the frame allocator',
  'bootstrap-tables': 'load the boot page tables',
  'table-access': 'build the kernel page tables',
  'kernel-vas': 'reserve kernel virtual ranges',
  'remap-kernel': 'remap the kernel with section rights',
  'kernel-heap': 'start the kernel heap',
  'kernel-stack': 'move to the kernel stack',
};

/** Everything a finished (or paused) run shows, as plain JSON. */
export interface DemoResult {
  readonly scenario: { readonly name: ScenarioName; readonly title: string; readonly description: string };
  readonly memoryMap: { readonly name: string; readonly format: string; readonly ramBytes: number; readonly rows: readonly MemoryMapRow[] };
  readonly layout: { readonly name: string; readonly tableAccess: string; readonly rows: readonly LayoutRow[] };
  readonly bootSteps: readonly { readonly step: string; readonly summary: string; readonly detail: Readonly<Record<string, number | string | boolean>> }[];
  readonly steps: readonly StepRecord[];
  readonly zones: readonly ZoneUsage[];
  readonly owners: OwnerUsage;
  /** Physical memory as pictures: all of RAM, and the first 32 MiB where the kernel lives. */
  readonly pictures: readonly FramePicture[];
  readonly walks: readonly WalkView[];
  readonly heap: HeapView;
  readonly processes: readonly ProcessView[];
  readonly tlb: TlbView;
  readonly eventCounts: Readonly<Record<string, number>>;
  readonly panic: { readonly report: PanicReportData; readonly walk: WalkView | null } | null;
  readonly trace: TraceResult | null;
  readonly swap: SwapDemoResult | null;
  readonly kernelState: string;
}

/**
 * Refuses, before anything runs, a program that exec would refuse under the layout (a fixed
 * address outside the layout's user range): the same plan exec makes.
 * @throws ElfParseError / ElfLoadError
 */
export function checkProgramFits(inputs: DemoInputs): void {
  const layout = LAYOUTS[inputs.layout];
  if (layout === undefined) return; // the Kernel constructor reports unknown layouts
  const stackTop = Math.min(layout.userStackTop, 0x7fff_ffff_f000, layout.userRange.end);
  const limits = DEFAULT_PROCESS_LIMITS;
  elfLoadPlan(parseElf64(inputs.program.bytes), { userStartVa: layout.userRange.start, userEndVa: stackTop - limits.stackLimitBytes - limits.guardGapBytes });
}

/** A demo run: boots a kernel on the inputs and plays a scenario, step by step. */
export class DemoSession {
  readonly inputs: DemoInputs;
  readonly scenario: ScenarioDefinition;
  readonly machine: Machine;
  readonly kernel: Kernel;
  readonly records: StepRecord[] = [];
  /** Processes by role in the scenario ('hello', 'worker', 'child'...). */
  readonly roles = new Map<string, number>();
  /** Heap pointers the scenario's kernel allocated (for walks). */
  readonly kernelObjects: number[] = [];
  /** The kernel started only to panic (panic step), and what it reported. */
  panicKernel: Kernel | null = null;
  panicReport: PanicReportData | null = null;
  trace: TraceResult | null = null;
  swap: SwapDemoResult | null = null;
  private readonly plan: PlannedStep[];
  private readonly hooks: SessionHooks;
  private capture: KernelEvent[] | null = null;

  /**
   * @throws KernelConfigError / LayoutError / InvalidMemoryRegionError for inputs a kernel cannot boot on
   */
  constructor(inputs: DemoInputs, scenario: ScenarioName, hooks: SessionHooks = {}) {
    const def = SCENARIOS[scenario];
    checkProgramFits(inputs);
    this.inputs = inputs;
    this.scenario = def;
    this.hooks = hooks;
    this.machine = new Machine({ memoryMap: inputs.memoryMap.regions, ...(inputs.tlb === undefined ? {} : { tlb: inputs.tlb }) });
    this.kernel = new Kernel(this.machine, { layout: inputs.layout, events: new EventLog({ capacity: 200_000 }) });
    this.kernel.events.subscribe((e) => this.capture?.push(e));
    const boot = this.kernel.bootSteps();
    const bootSteps: PlannedStep[] = Object.entries(BOOT_TITLES).map(([id, title]) => ({
      phase: 'boot',
      id,
      title,
      run: (ctx) => {
        const r = boot.next();
        if (r.done === true) throw new Error('the kernel has no more boot steps');
        ctx.say(r.value.summary);
      },
    }));
    this.plan = [...bootSteps, ...def.steps.map((s) => ({ phase: 'scenario' as const, id: s.id, title: s.title, run: (ctx: StepContext) => s.run(ctx) }))];
  }

  /** Steps in the run (boot and scenario). */
  get stepCount(): number {
    return this.plan.length;
  }
  /** Steps done. */
  get position(): number {
    return this.records.length;
  }
  /** Whether every step ran. */
  get done(): boolean {
    return this.records.length === this.plan.length;
  }
  /** Titles of every step, done or not. */
  get titles(): readonly { readonly phase: string; readonly id: string; readonly title: string }[] {
    return this.plan.map((s) => ({ phase: s.phase, id: s.id, title: s.title }));
  }
  /** Whether the boot finished (the kernel's memory API is available). */
  get booted(): boolean {
    return this.kernel.state === 'running' || this.kernel.state === 'panicked';
  }

  /** Runs the next step; null when all ran. */
  next(): StepRecord | null {
    const step = this.plan[this.records.length];
    if (step === undefined) return null;
    const lines: string[] = [];
    const events: KernelEvent[] = [];
    this.capture = events;
    const ctx: StepContext = {
      session: this,
      kernel: this.kernel,
      inputs: this.inputs,
      say: (line) => lines.push(line),
      progress: (done, total) => this.hooks.onProgress?.(done, total),
    };
    try {
      step.run(ctx);
    } finally {
      this.capture = null;
    }
    const record: StepRecord = { index: this.records.length, phase: step.phase, id: step.id, title: step.title, lines, events };
    this.records.push(record);
    return record;
  }

  /** Runs every remaining step. */
  runToEnd(): void {
    while (this.next() !== null);
  }

  /** Captures the events of a second kernel into the current step (the panic step). */
  captureFrom(log: EventLog): () => void {
    return log.subscribe((e) => this.capture?.push(e));
  }

  /** Starts a second kernel on the same memory map and layout, boots it, and runs `fn`, recording a panic. */
  runPanicKernel(fn: (k: Kernel) => void): PanicReportData | null {
    const machine = new Machine({ memoryMap: this.inputs.memoryMap.regions, ...(this.inputs.tlb === undefined ? {} : { tlb: this.inputs.tlb }) });
    const k = new Kernel(machine, { layout: this.inputs.layout, events: new EventLog() });
    k.boot();
    this.panicKernel = k;
    const off = this.captureFrom(k.events);
    try {
      fn(k);
    } catch (e) {
      if (!(e instanceof KernelPanic)) throw e;
      this.panicReport = e.report;
    } finally {
      off();
    }
    return this.panicReport;
  }

  /** Walks worth showing now: the program's entry and stack in its process, a kernel heap object. */
  defaultWalks(): WalkView[] {
    if (!this.booted || this.kernel.state !== 'running') return [];
    const out: WalkView[] = [];
    for (const role of ['hello', 'worker', 'child']) {
      const pid = this.roles.get(role);
      if (pid === undefined) continue;
      const p = this.kernel.processes.list().find((x) => x.pid === pid);
      if (p === undefined) continue;
      if (p.image !== null) out.push(walkView(this.kernel, p.root, p.image.entry, `${p.name} (pid ${p.pid})`, 'the program\'s entry point', p));
      else {
        const r = p.regions().find((x) => x.kind === 'mmap' || x.kind === 'heap');
        if (r !== undefined) out.push(walkView(this.kernel, p.root, r.start, `${p.name} (pid ${p.pid})`, null, p));
      }
      if (out.length >= 1) break;
    }
    // The same frame through the kernel's direct map: two virtual addresses, one physical page
    // (with a large page there, where the direct map uses them).
    const userPa = out[0]?.pa ?? null;
    const dm = this.kernel.directMapOffset;
    if (userPa !== null && dm >= 0) out.push(walkView(this.kernel, this.kernel.kernelRoot, dm + userPa, 'kernel', `the same frame ${formatPhysical(userPa - (userPa % 4096))} through the kernel's direct map`));
    const obj = this.kernelObjects[0];
    if (obj !== undefined) out.push(walkView(this.kernel, this.kernel.kernelRoot, obj, 'kernel', 'an object kmalloc returned'));
    return out;
  }

  /**
   * A walk of `va` in process `pid`'s tables (or the kernel's when pid is null or 0).
   * @throws Error naming the pid when there is no such live process
   */
  walk(va: number, pid: number | null): WalkView {
    if (pid === null || pid === 0) return walkView(this.kernel, this.kernel.kernelRoot, va, 'kernel');
    const p = this.kernel.processes.list().find((x) => x.pid === pid);
    if (p === undefined) throw new Error(`no live process with pid ${pid}`);
    return walkView(this.kernel, p.root, va, `${p.name} (pid ${p.pid})`, null, p);
  }

  /** Physical memory now: all RAM in 512 cells, the first 32 MiB in 512 cells (16 frames each). */
  pictures(): FramePicture[] {
    const ramEnd = this.machine.memoryMap.reduce((m, r) => (r.kind === 'reserved' || r.kind === 'bad-memory' ? m : Math.max(m, r.base + r.lengthBytes)), 0);
    return [framePicture(this.kernel, 0, ramEnd, 512), framePicture(this.kernel, 0, Math.min(ramEnd, 32 * 1024 * 1024), 512)];
  }

  /** The whole picture now, as JSON-ready data. */
  result(walks: readonly WalkView[] = this.defaultWalks()): DemoResult {
    const k = this.kernel;
    const booted = this.booted;
    const panic = this.panicReport;
    return {
      scenario: { name: this.scenario.name, title: this.scenario.title, description: this.scenario.description },
      memoryMap: { name: this.inputs.memoryMap.name, format: this.inputs.memoryMap.format, ramBytes: this.machine.ramBytes, rows: memoryMapRows(this.machine) },
      layout: { name: k.layout.name, tableAccess: k.layout.tableAccess, rows: layoutRows(k.layout) },
      bootSteps: k.events.ofKind('boot-step').map((e) => ({ step: e.step, summary: e.summary, detail: e.detail })),
      steps: this.records,
      zones: booted ? zoneUsage(k) : [],
      owners: booted ? ownerUsage(k) : { byKind: {} as OwnerUsage['byKind'], byPid: [], freeFrames: 0, sharedFrames: 0 },
      pictures: booted ? this.pictures() : [],
      walks,
      heap: booted ? heapView(k) : { base: 0, classes: [], tlsf: { blocksInUse: 0, freeBlocks: 0, bytesFree: 0 }, large: { allocations: 0, pageCount: 0 }, pagesHeld: 0, bytesInUse: 0, bytesRequested: 0, allocations: 0, fragmentation: 0, blocks: [] },
      processes: processViews(k),
      tlb: tlbView(k, 64),
      eventCounts: k.events.countsByKind(),
      panic:
        panic === null || this.panicKernel === null
          ? null
          : { report: panic, walk: panic.cr2 === undefined ? null : walkViewPhysical(this.panicKernel, panic.cr3, panic.cr2, 'kernel (panicked)') },
      trace: this.trace,
      swap: this.swap,
      kernelState: k.state,
    };
  }
}
