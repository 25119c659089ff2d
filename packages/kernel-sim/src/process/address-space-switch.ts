// Which address space the CPU runs in: CR3 loads for context switches (with a PCID and no flush
// once CR4.PCIDE is on, SDM 4.10.1), a return to the kernel's own tables, and running kernel code
// against a process's tables when the table-access mechanism needs them in CR3 (recursive slot).
import { CR4, InvpcidType } from '@kmem/x86-paging';
import type { KernelEventInput } from '../events';
import type { KernelServices } from '../kernel-services';
import type { Process } from './process';

/** CR3 and PCID handling for process address spaces. */
export class AddressSpaceSwitch {
  private readonly pcidWanted: boolean;
  /** Whether CR4.PCIDE is on (set when the first process is created, if asked for). */
  pcidOn = false;

  constructor(
    private readonly kernel: KernelServices,
    pcid: boolean,
  ) {
    this.pcidWanted = pcid;
  }

  /** Turns CR4.PCIDE on the first time a process is created, if the kernel was asked to. */
  enablePcidOnce(): void {
    if (!this.pcidWanted || this.pcidOn) return;
    const cpu = this.kernel.machine.cpu;
    // SDM 4.10.1: CR4.PCIDE may be set only while CR3[11:0] = 0 (the kernel runs with PCID 0).
    cpu.writeCr4(cpu.registers.cr4 | CR4.PCIDE);
    this.pcidOn = true;
    this.emit({ kind: 'control-register', register: 'cr4', value: cpu.registers.cr4 >>> 0, why: 'CR4.PCIDE: each process gets its own PCID, so switches keep TLB entries' });
  }

  /** Loads `p`'s PML4 (its PCID, no flush, with PCIDs; a flushing MOV to CR3 otherwise). */
  load(p: Process): void {
    const cpu = this.kernel.machine.cpu;
    if (this.pcidOn) cpu.writeCr3(p.root, { pcid: p.pcid, noFlush: true });
    else cpu.writeCr3(p.root);
    this.emit({ kind: 'context-switch', pid: p.pid, cr3: p.root, pcid: this.pcidOn ? p.pcid : 0 });
  }

  /** Loads the kernel's own tables (PCID 0) unless they are loaded. */
  loadKernel(): void {
    const cpu = this.kernel.machine.cpu;
    const root = this.kernel.kernelRoot;
    if (cpu.registers.cr3Frame !== root) {
      if (this.pcidOn) cpu.writeCr3(root, { pcid: 0, noFlush: true });
      else cpu.writeCr3(root);
      this.emit({ kind: 'context-switch', pid: 0, cr3: root, pcid: 0 });
    }
  }

  /** Drops every TLB entry tagged with `pcid` (a new or gone address space), when PCIDs are on. */
  flushPcid(pcid: number): void {
    if (this.pcidOn) this.kernel.machine.cpu.invpcid(InvpcidType.SingleContext, pcid);
  }

  /**
   * Runs `fn` with `p`'s page tables reachable by the kernel's table access. Only a recursive
   * slot needs that address space in CR3 (direct map, windows and physical access reach any
   * table): CR3 is switched for the call and restored, as a kernel with recursive tables must.
   */
  withSpace<T>(p: Process, fn: () => T): T {
    const cpu = this.kernel.machine.cpu;
    const regs = cpu.registers;
    if (this.kernel.layout.tableAccess !== 'recursive' || regs.cr3Frame === p.root) return fn();
    const frame = regs.cr3Frame;
    const low = regs.cr3Low;
    if (this.pcidOn) cpu.writeCr3(p.root, { pcid: p.pcid, noFlush: true });
    else cpu.writeCr3(p.root);
    try {
      return fn();
    } finally {
      if (this.pcidOn) cpu.writeCr3(frame, { pcid: low, noFlush: true });
      else cpu.writeCr3(frame);
    }
  }

  private emit(e: KernelEventInput): void {
    const events = this.kernel.events;
    if (events.wants(e.kind)) events.emit(e);
  }
}
