// Parsing the inspect subcommand's values: register values, addresses, ranges, PAT, severity.
import { InvalidArgumentError } from 'commander';
import { PAT_LINUX, PAT_POWER_ON, SEVERITIES, type Severity } from '@kmem/kernel-sim';
import { virt } from '@kmem/x86-paging';

/** A register value: hex (0x…, `_` allowed) or decimal, a non-negative integer below 2^53. */
export function parseRegister(value: string): number {
  const text = value.replace(/_/g, '');
  const n = /^0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text.slice(2), 16) : /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer below 2^53 (hex 0x… or decimal)');
  return n;
}

/** A canonical virtual address to its 48-bit linear form. */
export function parseVa(value: string): number {
  try {
    return virt(value.replace(/_/g, ''));
  } catch (e) {
    throw new InvalidArgumentError(`not a canonical x86_64 address (${(e as Error).message})`);
  }
}

/** `START-END` (end exclusive) or `START+SIZE`, canonical addresses; end 2^64 allowed as the top. */
export function parseVaRange(value: string): { start: number; end: number } {
  const plus = value.indexOf('+');
  const dash = value.indexOf('-', 1);
  let start: number;
  let end: number;
  if (plus > 0) {
    start = parseVa(value.slice(0, plus));
    end = start + parseRegister(value.slice(plus + 1));
  } else if (dash > 0) {
    start = parseVa(value.slice(0, dash));
    const e = value.slice(dash + 1).replace(/_/g, '').toLowerCase();
    end = e === '0x10000000000000000' ? 2 ** 48 : parseVa(e);
  } else throw new InvalidArgumentError('expected START-END or START+SIZE');
  if (!(end > start) || end > 2 ** 48 || (start < 2 ** 47 && end > 2 ** 47)) throw new InvalidArgumentError('expected a non-empty range inside one half of the address space');
  return { start, end };
}

/** IA32_PAT: `power-on`, `linux`, or a 64-bit hex value. */
export function parsePat(value: string): readonly [number, number] {
  if (value === 'power-on') return PAT_POWER_ON;
  if (value === 'linux') return PAT_LINUX;
  const text = value.replace(/_/g, '');
  if (!/^0x[0-9a-f]{1,16}$/i.test(text)) throw new InvalidArgumentError('expected power-on, linux or a 64-bit hex value');
  const digits = text.slice(2).padStart(16, '0');
  return [Number.parseInt(digits.slice(8), 16), Number.parseInt(digits.slice(0, 8), 16)];
}

/** A severity name. */
export function parseSeverity(value: string): Severity {
  if (!(SEVERITIES as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${SEVERITIES.join(', ')}`);
  return value as Severity;
}

/** A count of lines, 0 = no limit. */
export function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer (0 = no limit)');
  return n;
}
