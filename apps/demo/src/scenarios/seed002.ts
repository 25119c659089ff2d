// `pnpm demo --layout higher-half-3g`: seed 002's 32-bit higher-half kernel, shown as the seed
// tells it - the layout table, the 4 MiB boot tables and the six sysinit steps, the recursive
// window, an i386 program at 0x0804_8000 loaded with demand paging, 2-level walks with 4-byte
// entries, and a kmalloc seen under every CR3.
import { EventLog, HIGHER_HALF_3G, Kernel32, Machine, formatLayoutTable, type MemoryRegion } from '@kmem/kernel-sim';
import { formatVa32 } from '@kmem/x86-paging';

/** What the seed-002 run found, as data (the `--json` output) and as report lines. */
export interface Seed002Result {
  readonly layout: string;
  readonly bootSteps: readonly { readonly step: string; readonly summary: string }[];
  readonly ignoredRamBytes: number;
  readonly recursive: { readonly directoryVa: number; readonly directoryPa: number; readonly kernelTableVa: number; readonly kernelTablePa: number };
  readonly identityAfterRemap: string;
  readonly program: { readonly name: string; readonly entry: number; readonly esp: number; readonly pageFaults: number; readonly rssPages: number; readonly maps: string };
  readonly walks: readonly string[];
  readonly kmallocSeenUnderEveryCr3: boolean;
}

/** Boots the 32-bit kernel on `memoryMap`, runs `program` (an i386 ELF) and reports. */
export function runSeed002(memoryMap: readonly MemoryRegion[], program: { readonly name: string; readonly bytes: Uint8Array }): Seed002Result {
  const events = new EventLog();
  const machine = new Machine({ memoryMap, cpuMode: 'protected' });
  const k = new Kernel32({ machine, events }).boot();
  const cpu = machine.cpu;
  const bootSteps = events.ofKind('boot-step').map((e) => ({ step: e.step, summary: e.summary }));
  const directoryPa = cpu.mmu.probe(0xffff_f000).pa;
  const kernelTableVa = 0xffc0_0000 + 768 * 4096;
  const identity = cpu.mmu.probe(0x0010_0000);
  const identityAfterRemap = identity.fault ? `0x0010_0000 (the kernel image by its physical address) no longer translates: error code 0x${identity.errorCode.toString(16)} (not present)` : 'still mapped (unexpected)';

  const faults0 = events.count('page-fault');
  const p = k.processes.exec(undefined, program.bytes, [program.name], ['HOME=/'])!;
  k.processes.switchTo(p.pid);
  const plan = p.image!.plan;
  for (const s of plan.segments) k.processes.user.readBytes(s.start, 16); // demand paging: first touches
  const va = k.kmalloc(64 * 1024)!;
  cpu.write32(va, 0x5eed_0002);
  const other = k.processes.create()!;
  let seen = true;
  for (const pid of [p.pid, other.pid]) {
    k.processes.switchTo(pid);
    seen &&= cpu.read32(va) === 0x5eed_0002;
  }
  k.processes.switchTo(p.pid);
  const walks = [k.formatWalk(plan.entry), k.formatWalk(0xc010_0000), k.formatWalk(0xffff_f000)];
  k.checkInvariants();
  return {
    layout: formatLayoutTable(HIGHER_HALF_3G),
    bootSteps,
    ignoredRamBytes: k.ignoredRamBytes,
    recursive: { directoryVa: 0xffff_f000, directoryPa, kernelTableVa, kernelTablePa: cpu.mmu.probe(kernelTableVa).pa },
    identityAfterRemap,
    program: { name: program.name, entry: plan.entry, esp: p.image!.rsp, pageFaults: events.count('page-fault') - faults0, rssPages: p.stats.rssPages, maps: p.formatMaps() },
    walks,
    kmallocSeenUnderEveryCr3: seen,
  };
}

/** The report, one line per entry. */
export function formatSeed002(r: Seed002Result): string[] {
  const hex = (n: number): string => `0x${n.toString(16)}`;
  return [
    "seed 002: a 32-bit higher-half kernel at 0xc000_0000 (32-bit paging, 4-byte entries, two levels)",
    '',
    r.layout,
    '',
    'boot (multiboot1 hand-over, kernel image at 1 MiB):',
    ...r.bootSteps.map((s, i) => `  ${i === 0 ? 'boot' : `${i}.`.padEnd(4)} ${s.step.padEnd(20)} ${s.summary}`),
    '',
    `recursive PDE 1023: the directory at ${formatVa32(r.recursive.directoryVa)} is frame ${hex(r.recursive.directoryPa)}; PDE 768's page table at ${formatVa32(r.recursive.kernelTableVa)} is frame ${hex(r.recursive.kernelTablePa)}`,
    `identity map after the remap: ${r.identityAfterRemap}`,
    '',
    `program ${r.program.name}: entry ${formatVa32(r.program.entry)}, ESP ${formatVa32(r.program.esp)}, ${r.program.pageFaults} page faults so far (demand paging), ${r.program.rssPages} pages resident`,
    ...r.program.maps.split('\n').map((l) => `  ${l}`),
    '',
    ...r.walks.flatMap((w) => [...w.split('\n'), '']),
    `kmalloc after the processes exist, read under every process's CR3: ${r.kmallocSeenUnderEveryCr3 ? 'same bytes everywhere (PDEs 768-1022 shared)' : 'MISSING'}`,
  ];
}
