// Shared by the elf*.test.ts files: the committed ELF fixtures and a parser for the committed
// `readelf -lW` listings (binutils 2.40), so tests compare against readelf without running it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PT } from '../src/index';

export const ELF_FIXTURE_DIR = join(import.meta.dirname, 'fixtures', 'elf');

/** Every committed binary; all are valid x86_64 executables. */
export const ELF_FIXTURES = ['hello-static', 'hello-static-pie', 'big-bss', 'hello-dynamic', 'stack-dump', 'busybox-static'] as const;

/** The committed i386 (ELF32) binaries (build-i386.sh); all are valid i386 executables. */
export const ELF32_FIXTURES = ['i386-hello-static', 'i386-hello-static-pie', 'i386-big-bss', 'i386-stack-dump', 'i386-libc-static'] as const;

export function loadElfFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(ELF_FIXTURE_DIR, name)));
}

export interface ReadelfHeader {
  type: number;
  typeName: string;
  offset: number;
  vaddr: number;
  paddr: number;
  fileSizeBytes: number;
  memSizeBytes: number;
  read: boolean;
  write: boolean;
  execute: boolean;
  alignBytes: number;
}

export interface ReadelfListing {
  fileType: 'EXEC' | 'DYN';
  entry: number;
  phnum: number;
  phoff: number;
  interpreter: string | null;
  headers: ReadelfHeader[];
}

const TYPE_NAMES: Record<string, number> = {
  NULL: PT.Null,
  LOAD: PT.Load,
  DYNAMIC: PT.Dynamic,
  INTERP: PT.Interp,
  NOTE: PT.Note,
  SHLIB: PT.Shlib,
  PHDR: PT.Phdr,
  TLS: PT.Tls,
  GNU_EH_FRAME: PT.GnuEhFrame,
  GNU_STACK: PT.GnuStack,
  GNU_RELRO: PT.GnuRelro,
  GNU_PROPERTY: PT.GnuProperty,
};

/** Parses `readelf -lW` output. Throws on any line it does not understand inside the table. */
export function parseReadelf(text: string): ReadelfListing {
  const lines = text.split('\n');
  const fileType = /Elf file type is (EXEC|DYN)/.exec(text)?.[1] as 'EXEC' | 'DYN' | undefined;
  const entry = /Entry point (0x[0-9a-f]+)/.exec(text)?.[1];
  const counts = /There are (\d+) program headers, starting at offset (\d+)/.exec(text);
  if (!fileType || !entry || !counts) throw new Error('not readelf -lW output');
  const interpreter = /\[Requesting program interpreter: (.*)\]/.exec(text)?.[1] ?? null;
  const headers: ReadelfHeader[] = [];
  const start = lines.findIndex((l) => l.startsWith('Program Headers:')) + 2;
  const row = /^ {2}(\S+)\s+(0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) ([R ][W ][E ]) (0x[0-9a-f]+)$/;
  for (let i = start; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') break;
    if (line.includes('[Requesting program interpreter')) continue;
    const m = row.exec(line);
    if (!m) throw new Error(`unparsed readelf line: ${line}`);
    const type = TYPE_NAMES[m[1]!];
    if (type === undefined) throw new Error(`unknown segment type ${m[1]}`);
    headers.push({
      type,
      typeName: m[1]!,
      offset: Number(m[2]),
      vaddr: Number(m[3]),
      paddr: Number(m[4]),
      fileSizeBytes: Number(m[5]),
      memSizeBytes: Number(m[6]),
      read: m[7]![0] === 'R',
      write: m[7]![1] === 'W',
      execute: m[7]![2] === 'E',
      alignBytes: Number(m[8]),
    });
  }
  return { fileType, entry: Number(entry), phnum: Number(counts[1]), phoff: Number(counts[2]), interpreter, headers };
}

export function loadReadelf(name: string): ReadelfListing {
  return parseReadelf(readFileSync(join(ELF_FIXTURE_DIR, `${name}.readelf.txt`), 'utf8'));
}
