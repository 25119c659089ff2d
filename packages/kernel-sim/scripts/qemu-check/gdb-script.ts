// Writes the gdb command file that puts QEMU's halted CPU into the simulator's paging state and
// asks QEMU's monitor (through gdb's `monitor`, i.e. the gdbstub's qRcmd) what it sees, root by root.
// Usage: node --import tsx gdb-script.ts <layoutDir> > commands.gdb
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonical, type Meta } from './meta';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: gdb-script.ts <layoutDir>');
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Meta;

/** A 64-bit register value as the gdb remote protocol's `P` packet wants it: 8 bytes, little-endian hex. */
function le64(value: number): string {
  let s = '';
  let v = BigInt(value);
  for (let i = 0; i < 8; i++, v >>= 8n) s += (v & 0xffn).toString(16).padStart(2, '0');
  return s;
}

// Remote register numbers of QEMU's x86_64 gdbstub (`maint print remote-registers`):
// cr0 = 0x1b, cr3 = 0x1d, cr4 = 0x1e, efer = 0x20. gdb's own `set $cr4 = ...` fails with
// "Invalid cast" (the registers have flags types), so the raw packet writes them.
// Order matters: CR4.PAE and EFER.LME first, then CR3, then CR0.PG (QEMU enters long mode
// only when PG is turned on with LME and PAE set, as a real CPU does: SDM 10.8.5).
const r = meta.registers;
const lines = [
  'set pagination off',
  'set confirm off',
  'set architecture i386:x86-64',
  'target remote 127.0.0.1:' + (process.env.GDB_PORT ?? '12345'),
  'echo @@BEFORE\\n',
  'info registers cr0 cr3 cr4 efer',
  `maint packet P1e=${le64(r.cr4)}`,
  `maint packet P20=${le64(r.efer)}`,
  `maint packet P1d=${le64(r.cr3)}`,
  `maint packet P1b=${le64(r.cr0)}`,
  'maintenance flush register-cache',
  'echo @@AFTER\\n',
  'info registers cr0 cr3 cr4 efer',
];
for (const root of meta.roots) {
  lines.push(`maint packet P1d=${le64(root.cr3)}`, 'maintenance flush register-cache');
  lines.push(`echo @@ROOT ${root.name}\\n`, 'info registers cr3');
  lines.push('echo @@MEM\\n', 'monitor info mem');
  lines.push('echo @@TLB\\n', 'monitor info tlb');
  for (const s of root.samples) lines.push(`echo @@GVA ${canonical(s.va)}\\n`, `monitor gva2gpa 0x${canonical(s.va)}`);
  lines.push('echo @@END\\n');
}
lines.push('kill');
console.log(lines.join('\n'));
