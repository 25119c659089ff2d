// Whatever bytes arrive, does every trace reader either produce well-formed records or throw a
// TraceParseError — never another exception, never a hang — and the same result however the
// bytes are cut into chunks? Random bytes, token soup, and mutations of the real lackey trace.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KmemTraceWriter, TraceParseError, type TraceFormat } from '../src/index';
import { bigBssTrace, concatChunks, readAll, utf8 } from './trace-helpers';

type Outcome = { ok: true; records: [number, number, number][]; skipped: number } | { ok: false; line: number; offset: number };

function outcome(format: TraceFormat, bytes: Uint8Array, sizes: number[], lenient: boolean): Outcome {
  try {
    const { records, skipped } = readAll(format, bytes, sizes, { lenient });
    for (const r of records) {
      expect(Number.isInteger(r.va) && r.va >= 0 && r.va < 2 ** 48).toBe(true);
      expect(r.sizeBytes >= 1 && r.sizeBytes <= 4096).toBe(true);
      expect(r.kind >= 0 && r.kind <= 3).toBe(true);
    }
    return { ok: true, records: records.map((r) => [r.va, r.sizeBytes, r.kind]), skipped };
  } catch (e) {
    expect(e).toBeInstanceOf(TraceParseError);
    return { ok: false, line: (e as TraceParseError).line, offset: (e as TraceParseError).offset };
  }
}

const formats: TraceFormat[] = ['lackey', 'plain', 'kmem'];
const tokens = ['I  ', ' L ', ' S ', ' M ', '==1== x', '0x', 'ffffffffff600000', '7fff0000', '00401000', ',', '8', '4096', '0', 'R', 'W', ' ', '\t', '\n', '\r\n', '#', 'z', '-'];
const soup = fc.array(fc.constantFrom(...tokens), { maxLength: 60 }).map((t) => utf8(t.join('')));
const chunking = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 });

describe('trace readers under random input', () => {
  it('random bytes and token soup: records or TraceParseError, the same for any chunking', () => {
    fc.assert(
      fc.property(fc.constantFrom(...formats), fc.oneof(fc.uint8Array({ maxLength: 300 }), soup), chunking, fc.boolean(), (format, bytes, sizes, lenient) => {
        expect(outcome(format, bytes, sizes, lenient)).toEqual(outcome(format, bytes, [bytes.length + 1], lenient));
      }),
      { numRuns: 300 },
    );
  });

  it('mutations of the real lackey trace: records or TraceParseError', () => {
    const real = bigBssTrace().subarray(0, 3000);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(real.length), chunking, (flips, cut, sizes) => {
        const bytes = real.slice(0, cut);
        for (const [at, value] of flips) if (at < bytes.length) bytes[at] = value;
        expect(outcome('lackey', bytes, sizes, false)).toEqual(outcome('lackey', bytes, [bytes.length + 1], false));
        const lenient = outcome('lackey', bytes, sizes, true);
        expect(lenient.ok).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('mutations of a kmem trace: records or TraceParseError with a byte offset inside the stream', () => {
    const parts: Uint8Array[] = [];
    const w = new KmemTraceWriter((c) => parts.push(c));
    for (let i = 0; i < 200; i++) w.write((i * 7919 * 4096 + (i % 13) * 8) % 2 ** 40, 1 + (i % 70), i % 4);
    w.end();
    const real = concatChunks(parts);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(real.length), chunking, (flips, cut, sizes) => {
        const bytes = real.slice(0, cut);
        for (const [at, value] of flips) if (at < bytes.length) bytes[at] = value;
        const a = outcome('kmem', bytes, sizes, false);
        expect(a).toEqual(outcome('kmem', bytes, [bytes.length + 1], false));
        if (!a.ok) expect(a.offset).toBeLessThanOrEqual(bytes.length);
        if (cut < real.length && flips.length === 0) expect(a.ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe('LackeyTraceReader fast paths', () => {
  // The reader parses lackey's commonest lines (8 or 10 hex digits, a one-digit size, LF) without
  // a loop; CRLF lines always go the general way. Both must read the same records, or fail on
  // the same line, for lines near those shapes (odd digits, sizes 0 and 10+, upper case).
  const hexDigit = fc.constantFrom(...'0123456789abcdefABCDEFgx,'.split(''));
  const lineArb = fc.record({
    kind: fc.constantFrom('I  ', ' L ', ' S ', ' M '),
    digits: fc.array(hexDigit, { minLength: 7, maxLength: 11 }),
    size: fc.constantFrom('1', '4', '8', '9', '0', '10', '16', 'x'),
  });
  it('reads the same records as the general parser (LF against CRLF)', () => {
    fc.assert(
      fc.property(fc.array(lineArb, { minLength: 1, maxLength: 30 }), chunking, (lines, sizes) => {
        const text = lines.map((l) => `${l.kind}${l.digits.join('')},${l.size}`);
        const lf = outcome('lackey', utf8(text.join('\n') + '\n'), sizes, false);
        const crlf = outcome('lackey', utf8(text.join('\r\n') + '\r\n'), sizes, false);
        if (lf.ok && crlf.ok) expect(lf).toEqual(crlf);
        else {
          expect(lf.ok).toBe(crlf.ok);
          if (!lf.ok && !crlf.ok) expect(lf.line).toBe(crlf.line);
        }
      }),
      { numRuns: 300 },
    );
  });
});
