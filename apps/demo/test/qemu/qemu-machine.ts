// Test support: a QEMU machine driven over QMP (a unix socket), with its serial console in a
// file. Used by the tests that boot a real Linux kernel or load a kmem image, then dump memory.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';

/** The QEMU binary the tests start. */
export const QEMU = 'qemu-system-x86_64';

/** Whether QEMU can be started here (the tests skip with this message otherwise). */
export function qemuMissing(): string | null {
  const r = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${QEMU} is not installed (apt-get install qemu-system-x86): QEMU tests skipped`;
}

/** Control registers as QEMU's `info registers` prints them. */
export interface QemuRegisters {
  readonly cr0: number;
  readonly cr3: number;
  readonly cr4: number;
  readonly efer: number;
}

/** Parses CR0/CR3/CR4/EFER out of HMP `info registers` text. */
export function parseInfoRegisters(text: string): QemuRegisters {
  const get = (name: string): number => {
    const m = new RegExp(`\\b${name}=([0-9a-fA-F]+)`).exec(text);
    if (m === null) throw new Error(`no ${name}= in info registers:\n${text}`);
    return Number.parseInt(m[1]!, 16);
  };
  return { cr0: get('CR0'), cr3: get('CR3'), cr4: get('CR4'), efer: get('EFER') };
}

/** A running QEMU. */
export class QemuMachine {
  private buffer = '';
  private waiters: ((line: string) => void)[] = [];
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly socket: Socket,
    /** File the guest's serial console is written to. */
    readonly serialFile: string,
  ) {
    child.on('exit', () => {
      this.exited = true;
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (line === '') continue;
        // Asynchronous events ({"timestamp": ..., "event": "STOP"}) are not replies.
        if ((JSON.parse(line) as { event?: unknown }).event !== undefined) continue;
        this.waiters.shift()?.(line);
      }
    });
  }

  /** Starts `qemu-system-x86_64 args...` with QMP and the serial console set up in `dir`. */
  static async start(dir: string, args: readonly string[]): Promise<QemuMachine> {
    const sock = join(dir, 'qmp.sock');
    const serialFile = join(dir, 'serial.txt');
    const child = spawn(QEMU, ['-display', 'none', '-monitor', 'none', '-serial', `file:${serialFile}`, '-qmp', `unix:${sock},server=on,wait=off`, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`QEMU exited at start: ${stderr}`);
      if (existsSync(sock)) {
        const socket = await new Promise<Socket | null>((resolve) => {
          const s = connect(sock);
          s.once('connect', () => resolve(s));
          s.once('error', () => resolve(null));
        });
        if (socket !== null) {
          const m = new QemuMachine(child, socket, serialFile);
          await m.next(); // greeting
          await m.qmp('qmp_capabilities');
          return m;
        }
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`QMP socket did not come up: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private next(): Promise<string> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Runs a QMP command; returns its `return` value or throws its error. */
  async qmp(execute: string, args?: Record<string, unknown>): Promise<unknown> {
    const reply = this.next();
    this.socket.write(`${JSON.stringify(args === undefined ? { execute } : { execute, arguments: args })}\n`);
    const r = JSON.parse(await reply) as { return?: unknown; error?: { desc: string } };
    if (r.error !== undefined) throw new Error(`QMP ${execute}: ${r.error.desc}`);
    return r.return;
  }

  /** Runs an HMP (monitor) command through QMP and returns its text. */
  async hmp(command: string): Promise<string> {
    return (await this.qmp('human-monitor-command', { 'command-line': command })) as string;
  }

  /** CR0/CR3/CR4/EFER of CPU 0 (QMP's query-cpus-fast has no control registers). */
  async registers(): Promise<QemuRegisters> {
    return parseInfoRegisters(await this.hmp('info registers'));
  }

  /** The serial console so far. */
  serial(): string {
    return existsSync(this.serialFile) ? readFileSync(this.serialFile, 'utf8') : '';
  }

  /** Waits until the serial console shows `marker`; returns the console text. */
  async waitForSerial(marker: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.serial();
      if (text.includes(marker)) return text;
      if (this.exited) throw new Error(`QEMU exited before "${marker}":\n${text.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`no "${marker}" on the serial console after ${timeoutMs} ms:\n${text.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Writes QEMU's ELF core of guest memory (`dump-guest-memory`, physical layout, CPU notes). */
  async dumpGuestMemory(file: string): Promise<void> {
    await this.qmp('dump-guest-memory', { paging: false, protocol: `file:${file}` });
  }

  /** Writes `sizeBytes` of physical memory from 0 as a raw file (`pmemsave`). */
  async pmemsave(sizeBytes: number, file: string): Promise<void> {
    await this.qmp('pmemsave', { val: 0, size: sizeBytes, filename: file });
  }

  /** Stops QEMU (quit over QMP, then SIGKILL if it lingers). */
  async quit(): Promise<void> {
    if (!this.exited) {
      try {
        this.socket.write(`${JSON.stringify({ execute: 'quit' })}\n`);
      } catch {
        // already gone
      }
      const deadline = Date.now() + 3000;
      while (!this.exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (!this.exited) this.child.kill('SIGKILL');
    }
    this.socket.destroy();
  }
}
