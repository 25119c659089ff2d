// Reading the demo's inputs from disk (Node only; the web app bundles its fixtures instead).
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseElf64, parseMemoryMap, type MemoryRegion } from '@kmem/kernel-sim';

/** The app's fixtures folder (memory maps and the ELF program), next to src/. */
export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
/** The memory map used without --memmap: QEMU q35 with 5 GiB, as Linux logged it. */
export const DEFAULT_MEMMAP = join(FIXTURES_DIR, 'qemu-q35-linux-5g.e820.txt');
/** The program exec'd without --program: a static position-independent hello world (loads under every layout). */
export const DEFAULT_PROGRAM = join(FIXTURES_DIR, 'hello-static-pie');

/**
 * A path the user typed, resolved from where they ran the command: pnpm runs the script in
 * apps/demo and gives the user's directory in INIT_CWD.
 */
export function userPath(path: string): string {
  return resolve(process.env.INIT_CWD ?? process.cwd(), path);
}

/** Bad input from the user: printed as one line `kmem-demo: E_CODE: message`, exit code 2. */
export class DemoInputError extends Error {
  /** Stable code: E_FILE_UNREADABLE, E_MEMMAP, E_PROGRAM, E_WALK, E_ARG, … (default E_INPUT). */
  readonly code: string;
  constructor(message: string, code = 'E_INPUT') {
    super(message);
    this.name = 'DemoInputError';
    this.code = code;
  }
}

/** The stable code of a kmem error (every package's KmemError has one), else `fallback`. */
export function errorCode(e: unknown, fallback: string): string {
  const raw = e instanceof Error ? (e as Error & { code?: unknown }).code : undefined;
  return typeof raw === 'string' && raw.startsWith('E_') ? raw : fallback;
}

function read(file: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new DemoInputError(`cannot read ${what} ${file}: ${why}`, 'E_FILE_UNREADABLE');
  }
}

/**
 * Reads and parses a memory map in any format kernel-sim detects (e820 log, sysfs, multiboot 1/2,
 * UEFI, Limine). A UEFI `.bin` uses the `.json` beside it (DescriptorSize) when there is one.
 * @throws DemoInputError for an unreadable or unrecognised file
 */
export function loadMemoryMap(file: string = DEFAULT_MEMMAP): { name: string; format: string; regions: MemoryRegion[] } {
  const bytes = read(file, 'memory map');
  let uefi: { descriptorSize: number; descriptorVersion?: number } | undefined;
  const sidecar = file.replace(/\.bin$/, '.json');
  if (sidecar !== file && existsSync(sidecar)) {
    try {
      const meta = JSON.parse(readFileSync(sidecar, 'utf8')) as { descriptorSize?: unknown; descriptorVersion?: unknown };
      if (typeof meta.descriptorSize === 'number') uefi = { descriptorSize: meta.descriptorSize, ...(typeof meta.descriptorVersion === 'number' ? { descriptorVersion: meta.descriptorVersion } : {}) };
    } catch {
      // Not our sidecar: detection guesses the descriptor size.
    }
  }
  try {
    const parsed = parseMemoryMap(bytes, { fileName: basename(file), ...(uefi === undefined ? {} : { uefi }) });
    if (parsed.regions.length === 0) throw new DemoInputError(`memory map ${file} has no entries`, 'E_MEMMAP');
    return { name: basename(file), format: parsed.format, regions: parsed.regions };
  } catch (e) {
    if (e instanceof DemoInputError) throw e;
    throw new DemoInputError(`memory map ${file}: ${(e as Error).message}`, errorCode(e, 'E_MEMMAP'));
  }
}

/**
 * Reads a static x86_64 ELF executable.
 * @throws DemoInputError for an unreadable file or one that is not a 64-bit ELF
 */
export function loadProgram(file: string = DEFAULT_PROGRAM): { name: string; bytes: Uint8Array } {
  const bytes = read(file, 'program');
  try {
    parseElf64(bytes);
  } catch (e) {
    throw new DemoInputError(`program ${file}: ${(e as Error).message}`, errorCode(e, 'E_PROGRAM'));
  }
  return { name: basename(file), bytes };
}
