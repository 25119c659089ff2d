// Helpers shared by the memory-map tests: fixture access and tiny binary builders.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The project's firmware captures (repo-root fixtures/, a copy of the team's shared captures). */
export const SHARED_FIXTURES = join(import.meta.dirname, '../../../fixtures/memory-maps');
/** This package's own captures (see fixtures/memory-maps/README.md). */
export const LOCAL_FIXTURES = join(import.meta.dirname, 'fixtures/memory-maps');

export function fixture(name: string, dir = SHARED_FIXTURES): Uint8Array {
  return new Uint8Array(readFileSync(join(dir, name)));
}

export function fixtureText(name: string, dir = SHARED_FIXTURES): string {
  return readFileSync(join(dir, name), 'latin1');
}

export function fixtureNames(dir = SHARED_FIXTURES): string[] {
  return readdirSync(dir)
    .filter((f) => /\.(bin|txt)$/.test(f))
    .sort();
}

/** UEFI descriptor size/version from the `.json` beside a `.efi-memmap.bin`. */
export function uefiMeta(name: string): { descriptorSize: number; descriptorVersion: number } {
  return JSON.parse(readFileSync(join(SHARED_FIXTURES, name.replace(/\.bin$/, '.json')), 'utf8')) as { descriptorSize: number; descriptorVersion: number };
}

/** Little-endian byte builder. */
export class Bytes {
  private readonly out: number[] = [];
  u32(v: number): this {
    for (let i = 0; i < 4; i++) this.out.push(Math.floor(v / 2 ** (8 * i)) & 0xff);
    return this;
  }
  u64(v: number | bigint): this {
    const b = BigInt(v);
    for (let i = 0n; i < 8n; i++) this.out.push(Number((b >> (8n * i)) & 0xffn));
    return this;
  }
  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.out.push(0);
    return this;
  }
  get length(): number {
    return this.out.length;
  }
  build(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** The decoder's totals (logs/decoded.txt): per section title, entry count and usable bytes. */
export interface DecodedSection {
  entries: number;
  usableBytes: number;
  usableAfterExitBootServices?: number;
  lines: string[];
}

export function decodedSections(): Map<string, DecodedSection> {
  const text = readFileSync(join(SHARED_FIXTURES, 'logs/decoded.txt'), 'utf8');
  const sections = new Map<string, DecodedSection>();
  let current: DecodedSection | null = null;
  for (const line of text.split('\n')) {
    const head = /^== (.+?)(?: \((?:[^()]|\([^)]*\))*\))?$/.exec(line);
    if (head) {
      current = { entries: -1, usableBytes: -1, lines: [] };
      sections.set(head[1]!, current);
      continue;
    }
    if (!current) continue;
    current.lines.push(line);
    const totals = /entries: (\d+); usable bytes: (\d+)/.exec(line);
    if (totals) {
      current.entries = Number(totals[1]);
      current.usableBytes = Number(totals[2]);
    }
    const after = /usable after ExitBootServices .*: (\d+)/.exec(line);
    if (after) current.usableAfterExitBootServices = Number(after[1]);
  }
  return sections;
}
