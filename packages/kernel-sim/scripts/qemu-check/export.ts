// Boots the simulated kernel on QEMU's own q35 128 MiB memory map, runs two processes (one forked,
// so copy-on-write pages are read-only in both) and writes, per layout, what QEMU needs to look at
// the same page tables with a real x86-64 MMU model:
//   <out>/<layout>/image.bin      physical memory 0 .. top of RAM (exportRawImage)
//   <out>/<layout>/meta.json      control registers and every root (kernel, parent, child) with the
//                                 simulator's own mappings() and sample translations
//   <out>/<layout>/<root>.sim.txt formatMappings() of that root (the simulator's `info mem`)
// Usage: node --import tsx export.ts [outDir]   (default /tmp/kmem-qemu-check)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kernel, Machine, PROT, exportRawImage, formatCanonical, parseE820Log, type LAYOUTS } from '../../src/index';

const FIXTURES = join(import.meta.dirname, '../../../../fixtures/memory-maps');
const out = process.argv[2] ?? '/tmp/kmem-qemu-check';
const PAGE = 4096;

interface RootOut {
  name: string;
  cr3: number;
  /** Ranges as the simulator reports them (48-bit linear addresses, effective flags). */
  ranges: { start: number; end: number; pa: number; flags: number; pageSizeBytes: number }[];
  /** Sample linear addresses and where the simulator translates them (null: not mapped). */
  samples: { va: number; pa: number | null }[];
}

function samplesFor(kernel: Kernel, root: number, ranges: RootOut['ranges']): RootOut['samples'] {
  const mapper = kernel.mapperFor(root);
  const vas = new Set<number>();
  for (const r of ranges) {
    vas.add(r.start);
    vas.add(r.start + 0x123);
    vas.add(r.end - 8);
    vas.add(r.start + Math.floor((r.end - r.start) / PAGE / 2) * PAGE + 0x7f8);
    if (r.start >= PAGE) vas.add(r.start - PAGE); // often a hole (guard page, region edge)
    vas.add(r.end); // often a hole
  }
  return [...vas].filter((va) => va >= 0 && va < 2 ** 48).sort((a, b) => a - b).map((va) => {
    const t = mapper.translate(va);
    return { va, pa: t === null ? null : t.pa };
  });
}

/**
 * One machine: `fixture` is the e820 map QEMU itself reported for `-machine q35 -m <qemuMemory>`.
 * `fullImage`: write the raw image up to the top of usable RAM below 4 GiB's first gap; otherwise
 * only up to the highest frame the simulator touched (the 5 GiB machine: its tables sit low).
 */
function scenario(layoutName: keyof typeof LAYOUTS, fixture: string, qemuMemory: string, dirName: string, fullImage: boolean): void {
  const machine = new Machine({ memoryMap: parseE820Log(readFileSync(join(FIXTURES, fixture), 'utf8')) });
  const kernel = new Kernel(machine, { layout: layoutName });
  kernel.boot();
  for (let i = 0; i < 40; i++) kernel.kmalloc(i % 2 === 0 ? 64 : 5000);

  const parent = kernel.createProcess({ name: 'parent' });
  if (parent === null) throw new Error('out of memory creating a process');
  const data = parent.mmap({ lengthBytes: 8 * PAGE, prot: PROT.Read | PROT.Write })!;
  const ro = parent.mmap({ lengthBytes: 2 * PAGE, prot: PROT.Read })!;
  const code = parent.mmap({ lengthBytes: 3 * PAGE, prot: PROT.Read | PROT.Exec })!;
  for (let i = 0; i < 6; i++) parent.touch(data + i * PAGE, 'write', 0x40 + i);
  parent.touch(ro, 'read');
  parent.touch(code + PAGE, 'execute');
  const child = kernel.fork(parent.pid);
  if (child === null) throw new Error('out of memory forking');
  child.touch(data + 2 * PAGE, 'write', 0x77); // the child's own copy: writable again in the child only
  child.touch(data + 7 * PAGE, 'write', 0x78); // a page the parent never touched
  kernel.checkInvariants();

  const roots: RootOut[] = [];
  for (const [name, cr3] of [['kernel', kernel.kernelRoot], ['parent', parent.root], ['child', child.root]] as const) {
    const mapper = kernel.mapperFor(cr3);
    const ranges = mapper.mappings().map((r) => ({ start: r.start, end: r.end, pa: r.pa, flags: r.flags, pageSizeBytes: r.pageSizeBytes }));
    roots.push({ name, cr3, ranges, samples: samplesFor(kernel, cr3, ranges) });
    mkdirSync(join(out, dirName), { recursive: true });
    writeFileSync(join(out, dirName, `${name}.sim.txt`), mapper.formatMappings() + '\n');
  }

  // Top of usable RAM of the 128 MiB map (0x7fdf000): everything the kernel touched lies below it.
  const ramTop = Math.max(...machine.memoryMap.filter((r) => r.kind === 'usable' && r.base < 2 ** 32).map((r) => r.base + r.lengthBytes));
  const image = exportRawImage(kernel.memory, fullImage ? { limitBytes: ramTop } : {});
  writeFileSync(join(out, dirName, 'image.bin'), image);
  const regs = kernel.controlRegisters();
  const meta = { layout: layoutName, fixture, qemuMemory, imageBytes: image.length, registers: regs, processes: { parent: parent.pid, child: child.pid }, roots };
  writeFileSync(join(out, dirName, 'meta.json'), JSON.stringify(meta, null, 1));
  const hex = (n: number): string => '0x' + n.toString(16);
  console.log(
    `${dirName}: image ${image.length} bytes; CR0=${hex(regs.cr0)} CR3=${hex(regs.cr3)} CR4=${hex(regs.cr4)} EFER=${hex(regs.efer)}; ` +
      roots.map((r) => `${r.name} CR3=${hex(r.cr3)} ${r.ranges.length} ranges ${r.samples.length} samples`).join(', ') +
      `; data ${formatCanonical(data)}`,
  );
}

for (const name of ['higher-half', 'identity-low', 'limine-higher-half'] as const) scenario(name, 'qemu-q35-linux-128m.e820.txt', '128M', name, true);
// 5 GiB: RAM above 4 GiB and a direct map with 1 GiB pages (SDM 4.5, PDPTE.PS; QEMU: -cpu max has pdpe1gb).
for (const name of ['higher-half', 'limine-higher-half'] as const) scenario(name, 'qemu-q35-linux-5g.e820.txt', '5G', `${name}-5g`, false);
