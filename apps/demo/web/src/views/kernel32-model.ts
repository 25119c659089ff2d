// What the 32-bit kernel view shows, as data (no DOM, so a Node test computes the same): seed 002's
// Kernel32 run step by step on the page's memory map - its 4 MiB boot tables and six sysinit
// steps, an i386 program at 0x0804_8000, a fork with copy-on-write, a kmalloc seen under every CR3 -
// and each page-directory and page-table entry classified for drawing.
import { BOOT_STEPS_32, EventLog, Kernel32, Machine, PTE_COW, formatPhysical, RECURSIVE_PDE_32_SLOT, type MemoryRegion, type Process } from '@kmem/kernel-sim';
import { PTE, formatVa32 } from '@kmem/x86-paging';

const PAGE = 4096;
const FOUR_MIB = 4 * 1024 * 1024;
/** First kernel PDE (0xc000_0000 / 4 MiB). */
const KERNEL_PDE = 768;

const frameOf = (pa: number): number => pa - (pa % PAGE);

/** The steps of the view: the kernel's seven boot steps, then three things processes do. */
export const KERNEL32_VIEW_STEPS: readonly string[] = [
  ...BOOT_STEPS_32.map((s, i) => (i === 0 ? `boot: ${s}` : `sysinit ${i}: ${s}`)),
  'exec i386-hello-static at 0x0804_8000 (demand paging)',
  'fork: the child writes its stack (copy-on-write)',
  'kmalloc(64 KiB) after both processes: the same bytes under every CR3',
];

/** How a page-directory entry is drawn. */
export type PdeKind = 'empty' | '4mib-identity' | '4mib-alias' | '4mib' | 'kernel-table' | 'user-table' | 'recursive';

/** How a page-table entry is drawn (`global` is shown apart). */
export type PteKind = 'empty' | 'kernel-ro' | 'kernel-rw' | 'user-ro' | 'user-rw' | 'user-cow';

/** Classifies the 1024 entries of the directory in frame `dir`. */
export function classifyDirectory(words: Uint32Array, dir: number): PdeKind[] {
  const out: PdeKind[] = [];
  for (let i = 0; i < 1024; i++) {
    const e = words[i]!;
    const base = (e & ~0xfff) >>> 0;
    if ((e & PTE.Present) === 0) out.push('empty');
    else if (i === RECURSIVE_PDE_32_SLOT && base === dir) out.push('recursive');
    else if ((e & PTE.HugePage) !== 0) {
      // A 4 MiB PDE: bits 31:22 are the page's address (bits 20:13 hold PSE-36's high bits, 0 here).
      const pa = (e & 0xffc0_0000) >>> 0;
      out.push(i < KERNEL_PDE && pa === i * FOUR_MIB ? '4mib-identity' : i >= KERNEL_PDE ? '4mib-alias' : '4mib');
    } else out.push((e & PTE.User) !== 0 ? 'user-table' : 'kernel-table');
  }
  return out;
}

/** Classifies the 1024 entries of a page table. */
export function classifyTable(words: Uint32Array): { kind: PteKind; global: boolean }[] {
  const out: { kind: PteKind; global: boolean }[] = [];
  for (let i = 0; i < 1024; i++) {
    const e = words[i]!;
    if ((e & PTE.Present) === 0) {
      out.push({ kind: 'empty', global: false });
      continue;
    }
    const rw = (e & PTE.Writable) !== 0;
    const kind: PteKind = (e & PTE.User) === 0 ? (rw ? 'kernel-rw' : 'kernel-ro') : (e & PTE_COW) !== 0 && !rw ? 'user-cow' : rw ? 'user-rw' : 'user-ro';
    out.push({ kind, global: (e & PTE.Global) !== 0 });
  }
  return out;
}

/** The 32-bit kernel, advanced one view step at a time. */
export class Kernel32Run {
  readonly kernel: Kernel32;
  readonly events = new EventLog();
  /** Steps run so far (0: the machine as the loader left it, paging off). */
  position = 0;
  /** What the last step did, a line each. */
  lines: string[] = ['A multiboot1 loader left the CPU in protected mode with paging off; the kernel image is at 1 MiB.'];
  private readonly boot: Generator<{ readonly step: string; readonly summary: string }, void, void>;
  private program: Process | null = null;

  constructor(
    regions: readonly MemoryRegion[],
    private readonly programBytes: Uint8Array,
  ) {
    this.kernel = new Kernel32({ machine: new Machine({ memoryMap: regions, cpuMode: 'protected' }), events: this.events });
    this.boot = this.kernel.bootSteps();
  }

  /** Whether every step ran. */
  get done(): boolean {
    return this.position >= KERNEL32_VIEW_STEPS.length;
  }

  /** Whether the boot finished. */
  get booted(): boolean {
    return this.position >= BOOT_STEPS_32.length;
  }

  /** Runs the next step. */
  next(): void {
    if (this.done) return;
    const k = this.kernel;
    const cpu = k.machine.cpu;
    if (this.position < BOOT_STEPS_32.length) {
      const e = this.boot.next().value!;
      this.lines = [e.summary];
    } else if (this.position === BOOT_STEPS_32.length) {
      const p = k.processes.exec(undefined, this.programBytes, ['hello'], ['HOME=/'])!;
      k.processes.switchTo(p.pid);
      const faults0 = this.events.count('page-fault');
      for (const s of p.image!.plan.segments) k.processes.user.readBytes(s.start, 16);
      this.program = p;
      const stack = k.kernelStackOf(p.pid)!;
      this.lines = [
        `pid ${p.pid}: entry ${formatVa32(p.image!.plan.entry)}, ESP ${formatVa32(p.image!.rsp)}; ${this.events.count('page-fault') - faults0} page faults on the first touches of its segments`,
        `its kernel stack ${formatVa32(stack.bottom)}-${formatVa32(stack.top - 1)} (TSS.ESP0 ${formatVa32(k.tssEsp0)}), guard page ${formatVa32(stack.guard)}`,
      ];
    } else if (this.position === BOOT_STEPS_32.length + 1) {
      const parent = this.program!;
      const child = k.processes.fork(parent.pid)!;
      // The child writes where ESP pointed at exec (argc, on the initial stack: present in both).
      const va = parent.image!.rsp;
      const shared = child.translate(va) === parent.translate(va);
      k.processes.switchTo(child.pid);
      k.processes.user.write32(va, 7);
      this.lines = [
        `pid ${child.pid} forked from pid ${parent.pid}: ${shared ? 'every page shared read-only, marked copy-on-write (PTE bit 9)' : 'pages not shared (unexpected)'}`,
        `the child's write to its stack at ${formatVa32(va)} copied that page: the parent keeps frame ${formatPhysical(frameOf(parent.translate(va)))} (still marked copy-on-write), the child writes its own ${formatPhysical(frameOf(child.translate(va)))}; CR3 is now pid ${child.pid}'s directory`,
      ];
    } else {
      const va = k.kmalloc(64 * 1024)!;
      cpu.write32(va + 60 * 1024, 0x5eed_0002);
      const seen: string[] = [];
      for (const p of k.processes.list()) {
        k.processes.switchTo(p.pid);
        seen.push(`pid ${p.pid}: 0x${cpu.read32(va + 60 * 1024).toString(16)}`);
      }
      this.lines = [`kmalloc(64 KiB) = ${formatVa32(va)}, mapped after both directories were made; read under each CR3: ${seen.join(', ')} (PDEs 768-1022 are the same tables everywhere)`];
    }
    this.position++;
  }

  /** Loads the directory of `pid` (0: the kernel's own) into CR3. */
  load(pid: number): void {
    if (pid === 0) this.kernel.processes.switchTo(null);
    else this.kernel.processes.switchTo(pid);
  }

  /** The pid whose directory is in CR3, or 0 for the kernel's (or the boot directory before step 5). */
  get loadedPid(): number {
    return this.booted ? (this.kernel.processes.current?.pid ?? 0) : 0;
  }

  /** The recursive window as the CPU sees it now: the directory at 0xffff_f000, PDE `pdeIndex`'s table at 0xffc0_0000 + index x 4 KiB. */
  recursiveWindow(pdeIndex: number): { directoryPa: number | null; tableVa: number; tablePa: number | null } {
    const mmu = this.kernel.machine.cpu.mmu;
    // probe() returns one reused result object: read each answer before the next probe.
    const dir = mmu.probe(0xffff_f000);
    const directoryPa = dir.fault ? null : dir.pa;
    const tableVa = 0xffc0_0000 + pdeIndex * PAGE;
    const table = mmu.probe(tableVa);
    return { directoryPa, tableVa, tablePa: table.fault ? null : table.pa };
  }
}
