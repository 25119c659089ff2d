// Test support: boots the Debian kernel installed on this machine (CI installs it with
// linux-image-amd64) under QEMU TCG with a one-file initramfs whose /init prints a marker and
// sleeps, so the kernel has finished booting (text read-only, W^X checked, init running).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QemuMachine, qemuMissing } from './qemu-machine';

/** What /init prints once it runs. */
export const INIT_MARKER = 'KMEM-INIT-READY';

// /init: write(1, marker), then pause() forever. No libc: two raw syscalls (x86_64 ABI).
const INIT_C = `static const char msg[] = "${INIT_MARKER}\\n";
void _start(void) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(1), "D"(1), "S"(msg), "d"(sizeof msg - 1) : "rcx", "r11", "memory");
  for (;;) __asm__ volatile("syscall" : "=a"(r) : "a"(34) : "rcx", "r11", "memory");
}
`;

/** The newest /boot/vmlinuz-*, or null. */
export function findKernel(): string | null {
  try {
    const k = readdirSync('/boot').filter((f) => f.startsWith('vmlinuz-')).sort();
    return k.length === 0 ? null : join('/boot', k[k.length - 1]!);
  } catch {
    return null;
  }
}

/** Why the Linux boot tests cannot run here, or null. */
export function linuxBootMissing(): string | null {
  const q = qemuMissing();
  if (q !== null) return q;
  if (findKernel() === null) return 'no /boot/vmlinuz-* (apt-get install linux-image-amd64): Linux dump tests skipped';
  if (spawnSync('gcc', ['--version']).status !== 0) return 'no gcc to build the test /init: Linux dump tests skipped';
  return null;
}

/** A cpio "newc" archive (the initramfs format, Documentation/driver-api/early-userspace) of one executable file. */
export function cpioNewc(name: string, data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  const pad4 = (n: number): Uint8Array => new Uint8Array((4 - (n % 4)) % 4);
  const entry = (fileName: string, mode: number, body: Uint8Array, ino: number): void => {
    const fields = [ino, mode, 0, 0, 1, 0, body.length, 0, 0, 0, 0, fileName.length + 1, 0];
    const header = `070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}${fileName}\0`;
    const h = new TextEncoder().encode(header);
    parts.push(h, pad4(h.length), body, pad4(body.length));
  };
  entry(name, 0o100755, data, 1);
  entry('TRAILER!!!', 0, new Uint8Array(0), 0);
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Builds the initramfs in `dir`; returns its path. */
export function buildInitramfs(dir: string): string {
  writeFileSync(join(dir, 'init.c'), INIT_C);
  const r = spawnSync('gcc', ['-static', '-nostdlib', '-O2', '-o', join(dir, 'init'), join(dir, 'init.c')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc failed: ${r.stderr}`);
  const file = join(dir, 'initramfs.cpio');
  writeFileSync(file, cpioNewc('init', new Uint8Array(readFileSync(join(dir, 'init')))));
  return file;
}

/** A booted, stopped Linux guest. */
export interface BootedLinux {
  readonly machine: QemuMachine;
  /** Serial console at the time it was stopped. */
  readonly console: string;
  /** Milliseconds from QEMU's start to the init marker. */
  readonly bootMs: number;
}

/**
 * Boots the kernel with 4-level paging (`-cpu qemu64` has no LA57) and no KASLR (so Linux's
 * direct map sits at 0xffff_8880_0000_0000), waits for /init, and stops the CPU.
 */
export async function bootLinux(dir: string, memoryMiB = 512): Promise<BootedLinux> {
  const initrd = buildInitramfs(dir);
  const t0 = Date.now();
  const machine = await QemuMachine.start(dir, [
    '-machine', 'q35', '-accel', 'tcg', '-cpu', 'qemu64', '-m', `${memoryMiB}M`, '-smp', '1', '-no-reboot',
    '-kernel', findKernel()!, '-initrd', initrd, '-append', 'console=ttyS0 panic=-1 nokaslr',
  ]);
  try {
    await machine.waitForSerial(INIT_MARKER, 90_000);
    const bootMs = Date.now() - t0;
    await machine.qmp('stop');
    return { machine, console: machine.serial(), bootMs };
  } catch (e) {
    await machine.quit();
    throw e;
  }
}
