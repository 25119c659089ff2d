// execve: load an ELF executable into a process (its old memory released) or a new one: one
// region per PT_LOAD, file pages read on first touch, and the initial stack (argv, envp, auxv)
// written through the CPU as copy_to_user does.
import { CR4, Mode, PageFaultAbortedError } from '@kmem/x86-paging';
import { ElfLoadError } from '../elf/elf-errors';
import { parseElf32, parseElf64, type ElfExecutable } from '../elf/parse-elf';
import { defaultPieLoadBias, elfLoadPlan, pieLoadBiasAt } from '../elf/load-plan';
import { buildInitialStack } from '../elf/stack-image';
import type { KernelServices } from '../kernel-services';
import type { Process } from './process';
import { ProcessOptionError } from './process-errors';
import { checkExecArguments } from './exec-arguments';
import { checkLimits, pageUp, type ExecOptions } from './process-limits';
import type { ProcessTable } from './process-table';
import { PROT, type RegionKind } from './regions';

/** See `ProcessManager.exec` for the contract. */
export function exec<K extends KernelServices>(table: ProcessTable<K>, target: number | ExecOptions | undefined, fileIn: Uint8Array | ElfExecutable, argvIn?: readonly string[], envpIn?: readonly string[], options?: ExecOptions): Process | null {
  table.requireRunning('exec');
  const { pid, opts, file, argv, envp } = checkExecArguments(target, fileIn, argvIn, envpIn, options);
  const existing = pid !== null ? table.requireAlive(table.get(pid), 'exec') : null;
  const limits = existing?.limits ?? checkLimits(opts);
  const kernel = table.kernel;
  const mappings = table.mappings;
  const userStart = kernel.layout.userRange.start;
  const stackTop = existing?.stackTop ?? Math.min(kernel.layout.userStackTop, kernel.layout.userRange.end);
  // The kernel's paging mode decides the ELF class it runs: i386 programs on the 32-bit kernel,
  // x86_64 ones on the others; a file of the other class is refused before anything changes.
  const bits = kernel.layout.pagingMode === '32-bit' ? 32 : 64;
  const elf = file instanceof Uint8Array ? (bits === 32 ? parseElf32(file) : parseElf64(file)) : file;
  if (elf.bits !== bits) throw new ElfLoadError(`an ELF${elf.bits} program cannot run on this ${bits === 32 ? '32-bit (i386)' : '64-bit (x86_64)'} kernel, which runs ELF${bits} programs`, 4);
  // A PIE goes to the layout's pieBase, else Linux's ELF_ET_DYN_BASE for the stack top
  // (0x0000_5555_5555_4000 by default); the image must end below the stack's reach (stack top -
  // RLIMIT_STACK - guard gap).
  const pieBase = kernel.layout.pieBase;
  const loadBias = opts.loadBias ?? (elf.positionIndependent ? (pieBase === undefined ? defaultPieLoadBias(elf, stackTop) : pieLoadBiasAt(elf, pieBase)) : undefined);
  const plan = elfLoadPlan(elf, { userStartVa: userStart, userEndVa: stackTop - limits.stackLimitBytes - limits.guardGapBytes, ...(loadBias === undefined ? {} : { loadBias }) });
  const name = opts.name ?? argv[0] ?? 'a.out';
  const pidGuess = existing?.pid ?? table.nextPid;
  const random = opts.random ?? Uint8Array.from({ length: 16 }, (_, i) => (pidGuess * 37 + i * 29 + 11) & 0xff);
  const stack = buildInitialStack({ plan, argv, envp, random, stackTopVa: stackTop, execFn: name });
  const stackBytes = Math.max(limits.stackSizeBytes, pageUp(stackTop - stack.base));
  if (stackBytes > limits.stackLimitBytes) throw new ProcessOptionError(`the initial stack (${stackBytes} bytes) exceeds the stack limit`);

  // --- the point of no return: everything above was checked without changing anything ---
  let p: Process;
  if (existing !== null) {
    p = existing;
    mappings.unmapRange(p, p.userStart, p.userEnd);
    p.image = null;
  } else {
    const made = table.create({ ...opts, name, brkStartVa: userStart });
    if (made === null) return null;
    p = made;
    mappings.unmapRange(p, p.userStart, p.userEnd);
  }
  p.name = name;
  for (let i = 0; i < plan.segments.length; i++) {
    const s = plan.segments[i]!;
    const { read, write, execute } = s.permissions;
    const prot = (read ? PROT.Read : 0) | (write ? PROT.Write : 0) | (execute ? PROT.Exec : 0);
    const kind: RegionKind = execute ? 'text' : write ? 'data' : 'rodata';
    const backing = { plan, segmentIndex: i };
    if (kind === 'data' && s.zeroPages.start > s.start && s.zeroPages.end > s.zeroPages.start) {
      mappings.addRegion(p, { start: s.start, end: s.zeroPages.start, prot, kind, backing, growsDown: false, name });
      mappings.addRegion(p, { start: s.zeroPages.start, end: s.end, prot, kind: 'bss', backing: null, growsDown: false, name });
    } else mappings.addRegion(p, { start: s.start, end: s.end, prot, kind: s.filePages.end === s.start ? 'bss' : kind, backing, growsDown: false, name });
  }
  const stackProt = PROT.Read | PROT.Write | (plan.stackExecutable ? PROT.Exec : 0);
  mappings.addRegion(p, { start: stackTop - stackBytes, end: stackTop, prot: stackProt, kind: 'stack', backing: null, growsDown: true, name: '[stack]' });
  p.brkStart = pageUp(plan.imageEnd);
  p.brkEnd = p.brkStart;
  p.image = { name, plan, entry: plan.entry, rsp: stack.rsp, stack, argv, envp };
  table.emit({ kind: 'process-exec', pid: p.pid, name, entry: plan.entry, rsp: stack.rsp, segments: plan.segments.length, brk: p.brkStart });
  // copy_to_user of the initial stack: supervisor writes into the process's pages, which the
  // fault handler maps on demand (with SMAP on, bracketed by STAC/CLAC as Linux does).
  table.switchTo(p.pid);
  const cpu = kernel.machine.cpu;
  const smap = (cpu.registers.cr4 & CR4.SMAP) !== 0;
  try {
    if (smap) cpu.stac();
    cpu.writeBytes(stack.base, stack.bytes, Mode.Supervisor);
  } catch (e) {
    if (e instanceof PageFaultAbortedError && p.killed !== null) return null;
    throw e;
  } finally {
    if (smap) cpu.clac();
  }
  return p;
}
