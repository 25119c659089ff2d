// Agreement with QEMU's x86 model: random page tables of every paging mode (32-bit, PAE, 4-level,
// 5-level) run in a real QEMU guest (test/qemu/guest.S, `-cpu max,phys-bits=40`: PSE-36, LA57,
// SMEP, SMAP, NX) and on kmem's Cpu, case by case: the exception (none, #PF or #GP), the #PF
// error code and CR2, the physical address (the value a read returns names the word's physical
// address) and every entry of the walk's path afterwards (A and D bits). Supervisor accesses
// only (read, write, instruction fetch), under random CR0.WP, CR4.PSE / SMEP / SMAP, EFER.NXE and
// RFLAGS.AC. Skipped, with a message, where qemu-system-x86_64 or gcc / ld / objcopy are missing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../test-support/mulberry32';
import { buildCases, CONFIG, IMAGE_END, kindName, MAX_PHYS, type ModeName, type Outcome, parseResults, runOnKmem } from './qemu/qemu-cases';

const here = dirname(fileURLToPath(import.meta.url));
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const tools = ['qemu-system-x86_64', 'gcc', 'ld', 'objcopy'].filter((t) => !has(t));
const CASES_PER_MODE = Number(process.env.QEMU_CASES ?? 400);

function buildGuest(dir: string): string {
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  };
  run('gcc', ['-c', join(here, 'qemu/guest.S'), '-o', join(dir, 'guest.o')]);
  run('ld', ['-m', 'elf_x86_64', '-T', join(here, 'qemu/link.ld'), '--no-warn-rwx-segments', '-o', join(dir, 'guest64.elf'), join(dir, 'guest.o')]);
  run('objcopy', ['-O', 'elf32-i386', join(dir, 'guest64.elf'), join(dir, 'guest.elf')]);
  return join(dir, 'guest.elf');
}

interface Tally {
  cases: number;
  faults: number;
  gps: number;
  agree: number;
  /** Cases that differ only where QEMU 7.2 departs from the SDM (see KNOWN_QEMU_DEPARTURES). */
  departures: Record<string, number>;
  mismatches: string[];
}

/**
 * Where QEMU 7.2's TCG model departs from the SDM, and kmem follows the SDM:
 * - `rsvd-without-p`: a reserved-bit #PF has P = 1 in its error code (SDM 4.7: P is 0 only when
 *   the fault comes from a not-present entry; real CPUs report reserved-bit violations as 0x9 /
 *   0xb, as Linux's "error_code(0x0009) - reserved bit violation" shows); QEMU 7.2 leaves P clear.
 * - `pae-pdpte-accessed`: PAE PDPTEs are loaded into registers at MOV to CR3 and have no A bit
 *   (SDM 4.4.1, Table 4-8: bits 8:5 reserved); QEMU 7.2 re-reads them from memory on every walk
 *   and sets bit 5 there.
 * - `accessed-on-faulting-1g-leaf`: an access that faults on a 1 GiB page (rights or a reserved
 *   alignment bit): QEMU 7.2 sets A in the PDPTE before it knows the PDPTE is a leaf, where kmem
 *   sets A on a leaf only for an access it allows (as on 2 MiB and 4 KiB leaves in QEMU too).
 *   Only accesses that fault: the A/D bits after successful accesses agree exactly.
 */
const KNOWN_QEMU_DEPARTURES = ['rsvd-without-p', 'pae-pdpte-accessed', 'accessed-on-faulting-1g-leaf'] as const;

function compare(mode: ModeName, kmem: Outcome[], qemu: Outcome[], cases: ReturnType<typeof buildCases>['cases']): Tally {
  const t: Tally = { cases: cases.length, faults: 0, gps: 0, agree: 0, departures: {}, mismatches: [] };
  cases.forEach((c, i) => {
    const k = kmem[i]!;
    const q = qemu[i]!;
    const problems: string[] = [];
    const departures: string[] = [];
    if (k.vector !== q.vector) problems.push(`vector kmem ${k.vector} qemu ${q.vector} (qemu ec=${q.errorCode} cr2=0x${q.cr2.toString(16)}; entries ${k.entries.map((e) => `0x${e.toString(16)}`).join(' ')})`);
    else if (k.vector === 14 && k.cr2 !== q.cr2) problems.push(`#PF kmem cr2=0x${k.cr2.toString(16)} qemu cr2=0x${q.cr2.toString(16)}`);
    else if (k.vector === 14 && k.errorCode !== q.errorCode) {
      if ((q.errorCode & 9) === 8 && k.errorCode === (q.errorCode | 1)) departures.push('rsvd-without-p');
      else problems.push(`#PF kmem ec=${k.errorCode} qemu ec=${q.errorCode}`);
    }
    if (k.vector === -1 && c.kind === 0 && k.value !== -1 && k.value !== q.value) problems.push(`value kmem 0x${k.value.toString(16)} qemu 0x${q.value.toString(16)}`);
    k.entries.forEach((e, n) => {
      if (e === q.entries[n]) return;
      if (mode === 'pae' && n === 0 && (e ^ q.entries[n]!) === 0x20n) departures.push('pae-pdpte-accessed');
      else if (k.vector === 14 && (e ^ q.entries[n]!) === 0x20n && (e & 0x80n) !== 0n && n === c.entries.length - 1 && c.entries.length === (mode === '5-level' ? 3 : 2)) departures.push('accessed-on-faulting-1g-leaf');
      else problems.push(`entry ${n} kmem 0x${e.toString(16)} qemu 0x${q.entries[n]!.toString(16)}`);
    });
    if (k.vector === 14) t.faults++;
    if (k.vector === 13) t.gps++;
    for (const d of departures) t.departures[d] = (t.departures[d] ?? 0) + 1;
    if (problems.length === 0 && departures.length === 0) t.agree++;
    if (problems.length > 0)
      t.mismatches.push(`${mode} case ${i} ${kindName(c.kind)} va=0x${c.va.toString(16)} cr0=0x${c.cr0.toString(16)} cr4=0x${c.cr4.toString(16)} efer=0x${c.efer.toString(16)} ac=${c.ac}: ${problems.join('; ')}`);
  });
  return t;
}

describe.skipIf(tools.length > 0)('agreement with QEMU (qemu-system-x86_64 -cpu max) on random tables of every paging mode', () => {
  if (tools.length > 0) console.warn(`qemu-modes: skipped, missing ${tools.join(', ')}`);
  const modes: ModeName[] = ['32-bit', 'pae', '4-level', '5-level'];
  const tallies: Record<string, Tally> = {};
  for (const [n, mode] of modes.entries()) {
    it(`${mode}: exception, error code, CR2, physical address and A/D bits agree`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'kmem-qemu-'));
      try {
        const guest = buildGuest(dir);
        const { memory, cases, boot } = buildCases(mode, CASES_PER_MODE, mulberry32(0x5eed + n));
        const image = memory.exportBytes(CONFIG, IMAGE_END - CONFIG);
        writeFileSync(join(dir, 'image.bin'), image);
        const kmem = runOnKmem(mode, memory, cases, boot);
        const out = join(dir, 'out.bin');
        const r = spawnSync(
          'qemu-system-x86_64',
          ['-machine', 'pc', '-accel', 'tcg', '-cpu', `max,phys-bits=${MAX_PHYS}`, '-m', '64M', '-display', 'none', '-monitor', 'none', '-serial', 'none', '-no-reboot',
            '-kernel', guest, '-device', `loader,file=${join(dir, 'image.bin')},addr=0x${CONFIG.toString(16)}`,
            '-debugcon', `file:${out}`, '-global', 'isa-debugcon.iobase=0xe9', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4'],
          { encoding: 'utf8', timeout: 60_000 },
        );
        // isa-debug-exit: status (value << 1) | 1; the guest writes 0 when every case ran.
        expect(r.status, `qemu: ${r.stderr}`).toBe(1);
        const bytes = new Uint8Array(readFileSync(out));
        expect(bytes.length).toBe(cases.length * 64);
        const t = compare(mode, kmem, parseResults(bytes, cases, mode), cases);
        tallies[mode] = t;
        const known = KNOWN_QEMU_DEPARTURES.filter((d) => t.departures[d] !== undefined).map((d) => `${d} ${t.departures[d]}`);
        console.log(`qemu-modes ${mode}: ${t.agree}/${t.cases} cases agree exactly, ${t.mismatches.length} disagree (${t.faults} #PF, ${t.gps} #GP, ${t.cases - t.faults - t.gps} completed); known QEMU departures: ${known.join(', ') || 'none'}`);
        for (const m of t.mismatches.slice(0, 10)) console.log(m);
        expect(t.mismatches).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
