// Compares what QEMU saw (qemu.txt, captured by run.sh) with what the simulator says (meta.json),
// root by root: `info mem` (effective U/S and R/W per range, SDM 4.6), `info tlb` (every leaf:
// linear address, physical address, page size, G, NX) and `gva2gpa` samples.
// Usage: node --import tsx compare.ts <layoutDir> [--mutate]; exit status 1 on any difference.
// --mutate is the negative control: it perturbs the simulator's side (one range loses R/W and
// moves one frame up, one sample moves one byte) so the comparison must fail; run.sh checks that it does.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonical, linear, type Meta } from './meta';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: compare.ts <layoutDir>');
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Meta;
if (process.argv.includes('--mutate')) {
  const root = meta.roots[meta.roots.length - 1]!;
  const range = root.ranges.find((r) => (r.flags & 0x2) !== 0)!;
  range.flags &= ~0x2;
  range.pa += 0x1000;
  const sample = root.samples.find((s) => s.pa !== null)!;
  sample.pa = sample.pa! + 1;
}
// The monitor's lines come through gdb with CRLF endings.
const text = readFileSync(join(dir, 'qemu.txt'), 'utf8').replaceAll('\r\n', '\n');

const W = 0x2;
const U = 0x4;
const G = 0x100;
const NX = 0x8000_0000;
const HIGHER_HALF = 0x8000_0000_0000;
const LIMIT = 2 ** 48;
const hex = (n: number): string => canonical(n);

/** QEMU's sections for one root: the lines between `@@ROOT name` and `@@END`. */
function section(name: string): string[] {
  const start = text.indexOf(`@@ROOT ${name}\n`);
  if (start < 0) throw new Error(`qemu.txt has no section for root ${name} (did gdb fail? see qemu.txt)`);
  const end = text.indexOf('@@END', start);
  return text.slice(start, end).split('\n');
}

const problems: string[] = [];
let checks = 0;
const afterRegs = /@@AFTER\n([\s\S]*?)@@ROOT/.exec(text)?.[1] ?? '';
const want = meta.registers;
for (const [reg, value] of [['cr3', want.cr3], ['cr4', want.cr4], ['efer', want.efer]] as const) {
  const m = new RegExp(`^${reg}\\s+0x([0-9a-f]+)`, 'm').exec(afterRegs);
  checks++;
  if (m === null || Number.parseInt(m[1]!, 16) !== value) problems.push(`${reg}: QEMU has ${m?.[1] ?? '?'}, wanted ${value.toString(16)}`);
}
// QEMU keeps CR0.ET (bit 4) set, as every CPU since the 486 does: compare without it.
const cr0 = /^cr0\s+0x([0-9a-f]+)/m.exec(afterRegs);
checks++;
if (cr0 === null || (Number.parseInt(cr0[1]!, 16) & ~0x10) !== (want.cr0 & ~0x10)) problems.push(`cr0: QEMU has ${cr0?.[1] ?? '?'}, wanted ${want.cr0.toString(16)}`);

for (const root of meta.roots) {
  const lines = section(root.name);
  const before = problems.length;
  const at = (tag: string): number => lines.indexOf(tag);

  // --- info mem: QEMU merges adjacent pages with equal effective U/S and R/W (it prints no X).
  const mem: { start: number; end: number; u: boolean; w: boolean }[] = [];
  for (const l of lines.slice(at('@@MEM') + 1, at('@@TLB'))) {
    const m = /^([0-9a-f]{16})-([0-9a-f]{16}) ([0-9a-f]{16}) ([u-])r([w-])$/.exec(l);
    if (m === null) continue;
    const start = linear(m[1]!);
    let end = linear(m[2]!);
    if (end === 0 && start !== 0) end = LIMIT;
    mem.push({ start, end, u: m[4] === 'u', w: m[5] === 'w' });
  }
  const simMem: typeof mem = [];
  for (const r of root.ranges) {
    const u = (r.flags & U) !== 0;
    const w = (r.flags & W) !== 0;
    const last = simMem[simMem.length - 1];
    if (last !== undefined && last.end === r.start && r.start !== HIGHER_HALF && last.u === u && last.w === w) last.end = r.end;
    else simMem.push({ start: r.start, end: r.end, u, w });
  }
  const fmt = (x: (typeof mem)[number]): string => `${hex(x.start)}-${hex(x.end)} ${x.u ? 'u' : '-'}r${x.w ? 'w' : '-'}`;
  checks++;
  const memQ = mem.map(fmt).join('\n');
  const memS = simMem.map(fmt).join('\n');
  if (memQ !== memS) problems.push(`${root.name}: info mem differs\n  QEMU:\n    ${memQ.replaceAll('\n', '\n    ')}\n  kmem:\n    ${memS.replaceAll('\n', '\n    ')}`);

  // --- info tlb: one line per leaf entry (flags of the leaf itself).
  const tlb = new Map<number, { pa: number; x: boolean; g: boolean; ps: boolean; u: boolean; w: boolean }>();
  for (const l of lines.slice(at('@@TLB') + 1)) {
    const m = /^([0-9a-f]{16}): ([0-9a-f]{16}) ([X-])([G-])([P-])[D-][A-][C-][T-]([U-])([W-])$/.exec(l);
    if (m === null) continue;
    tlb.set(linear(m[1]!), { pa: Number.parseInt(m[2]!, 16), x: m[3] === 'X', g: m[4] === 'G', ps: m[5] === 'P', u: m[6] === 'U', w: m[7] === 'W' });
  }
  let leaves = 0;
  let nxFromAbove = 0;
  for (const r of root.ranges) {
    for (let va = r.start; va < r.end; va += r.pageSizeBytes) {
      leaves++;
      const pa = r.pa + (va - r.start);
      const q = tlb.get(va);
      const where = `${root.name}: leaf ${hex(va)} (kmem: ${r.pageSizeBytes / 1024} KiB page -> 0x${pa.toString(16)})`;
      if (q === undefined) {
        problems.push(`${where}: QEMU has no leaf there`);
        continue;
      }
      tlb.delete(va);
      const simNx = (r.flags & NX) !== 0;
      if (q.pa !== pa) problems.push(`${where}: QEMU maps it to 0x${q.pa.toString(16)}`);
      if (q.ps !== r.pageSizeBytes > 4096) problems.push(`${where}: QEMU PS=${q.ps}`);
      if (q.g !== ((r.flags & G) !== 0)) problems.push(`${where}: QEMU G=${q.g}, kmem G=${(r.flags & G) !== 0}`);
      // The leaf's NX must show in the effective NX; the effective one may also come from above.
      if (q.x && !simNx) problems.push(`${where}: leaf NX set in QEMU, kmem says executable`);
      if (simNx && !q.x) nxFromAbove++;
      // Effective U/S and R/W are the AND over all levels: they can only be narrower than the leaf's.
      if (((r.flags & U) !== 0 && !q.u) || ((r.flags & W) !== 0 && !q.w)) problems.push(`${where}: kmem grants more than the leaf (QEMU U=${q.u} W=${q.w})`);
    }
  }
  for (const va of tlb.keys()) problems.push(`${root.name}: QEMU has a leaf at ${hex(va)} that kmem does not list`);
  checks += leaves;

  // --- gva2gpa: QEMU's own walk of the current CR3 for sample addresses.
  let mapped = 0;
  let unmapped = 0;
  for (let i = 0; i < lines.length; i++) {
    const m = /^@@GVA ([0-9a-f]{16})$/.exec(lines[i]!);
    if (m === null) continue;
    const va = linear(m[1]!);
    const sample = root.samples.find((s) => s.va === va);
    const reply = lines[i + 1] ?? '';
    // QEMU prints the address with %#x: "gpa: 0x1000", but "gpa: 0" for zero.
    const g = /^gpa: (0x[0-9a-f]+|0)$/.exec(reply);
    const got = g !== null ? Number(g[1]) : reply.startsWith('Unmapped') ? null : undefined;
    checks++;
    if (sample === undefined || got === undefined || got !== sample.pa) {
      problems.push(`${root.name}: gva2gpa ${hex(va)}: QEMU "${reply}", kmem ${sample?.pa === null ? 'unmapped' : `0x${(sample?.pa ?? -1).toString(16)}`}`);
    } else if (got === null) unmapped++;
    else mapped++;
  }
  if (mapped + unmapped !== root.samples.length) problems.push(`${root.name}: ${root.samples.length} samples asked, ${mapped + unmapped} answered alike`);

  console.log(
    `${root.name.padEnd(7)} CR3=0x${root.cr3.toString(16).padEnd(7)} info mem ${mem.length} ranges vs ${simMem.length}; ` +
      `info tlb ${leaves} leaves; gva2gpa ${mapped} mapped + ${unmapped} unmapped alike; ` +
      `${nxFromAbove} leaves NX only from an upper level; ${problems.length - before === 0 ? 'SAME' : `${problems.length - before} DIFFERENCES`}`,
  );
}
if (problems.length > 0) {
  console.log(problems.slice(0, 40).join('\n'));
  console.log(`${problems.length} differences in ${checks} checks`);
  process.exit(1);
}
console.log(`all ${checks} checks agree`);
