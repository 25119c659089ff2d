// Do the three trace readers turn each format into the right records, wherever the chunks are
// cut, and name the line or byte offset of every bad record?
import { describe, expect, it } from 'vitest';
import { AccessKind, detectTraceFormat, KmemTraceWriter, TraceParseError, readTrace, type TraceBatch } from '../src/index';
import { concatChunks, readAll, utf8 } from './trace-helpers';

const LACKEY = `==1== Lackey, an example Valgrind tool
==1== Command: ./prog

I  004014f0,2
 L 1fff000760,8
 S 1fff000758,8
 M 0422ac18,4
I  ffffffffff600000,3
--1-- a debug line
`;

describe('LackeyTraceReader', () => {
  it('reads I, L, S and M records and skips Valgrind lines', () => {
    const { records } = readAll('lackey', utf8(LACKEY));
    expect(records).toEqual([
      { va: 0x4014f0, sizeBytes: 2, kind: AccessKind.Fetch, position: 4 },
      { va: 0x1fff000760, sizeBytes: 8, kind: AccessKind.Load, position: 5 },
      { va: 0x1fff000758, sizeBytes: 8, kind: AccessKind.Store, position: 6 },
      { va: 0x422ac18, sizeBytes: 4, kind: AccessKind.Modify, position: 7 },
      // The vsyscall page, canonical higher half, in 48-bit linear form (DESIGN.md).
      { va: 0xffffff600000, sizeBytes: 3, kind: AccessKind.Fetch, position: 8 },
    ]);
  });

  it('gives the same records for every way of cutting the bytes into chunks, CRLF included', () => {
    const bytes = utf8(LACKEY.replaceAll('\n', '\r\n'));
    const whole = readAll('lackey', bytes).records;
    for (const sizes of [[1], [2], [3, 5], [7, 1, 13]]) expect(readAll('lackey', bytes, sizes).records).toEqual(whole);
  });

  it.each([
    [' X 0040,4', 'unknown record kind'],
    ['I  0040', 'no ",SIZE"'],
    ['I  0040,', 'no size'],
    ['I  0040,0', 'size must be'],
    ['I  0040,5000', 'size must be'],
    ['I  00zz40,4', 'not a hex number'],
    ['I  12345678123456789,4', 'more than 64 bits'],
    ['I  0000800000000000,4', 'not canonical'],
    ['I  800000000000,4', 'not canonical'],
    ['I  0040,4x', 'bad size'],
    ['I ', 'truncated'],
  ])('rejects %j with its line number', (line, reason) => {
    const text = `I  0040,4\n${line}\nI  0041,4\n`;
    let error: unknown;
    try {
      readAll('lackey', utf8(text));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TraceParseError);
    expect((error as TraceParseError).code).toBe('E_TRACE_PARSE');
    expect((error as TraceParseError).line).toBe(2);
    expect((error as TraceParseError).offset).toBe(10);
    expect((error as TraceParseError).message).toContain(reason);
  });

  it('in lenient mode counts bad records and keeps the good ones', () => {
    const { records, skipped } = readAll('lackey', utf8('I  0040,4\n X 1,1\nI  zz,4\n L 0050,8\n'), undefined, { lenient: true });
    expect(records.map((r) => r.va)).toEqual([0x40, 0x50]);
    expect(skipped).toBe(2);
  });

  it('refuses a line longer than 4 KiB (memory stays bounded), or skips it when lenient', () => {
    const long = `I  0040,4\n${'I'.repeat(5000)}\nI  0041,4\n`;
    expect(() => readAll('lackey', utf8(long), [100])).toThrow(/line 2: line longer/);
    const { records, skipped } = readAll('lackey', utf8(long), [100], { lenient: true });
    expect(records.map((r) => r.va)).toEqual([0x40, 0x41]);
    expect(skipped).toBe(1);
  });
});

describe('PlainTraceReader', () => {
  it('reads "ADDRESS R|W" lines, with or without 0x, comments and blanks skipped', () => {
    const { records } = readAll('plain', utf8('# a course trace\n0041f7a0 R\n0x13f5e2c0 w\n\n  1000\tW  \n'));
    expect(records).toEqual([
      { va: 0x41f7a0, sizeBytes: 1, kind: AccessKind.Load, position: 2 },
      { va: 0x13f5e2c0, sizeBytes: 1, kind: AccessKind.Store, position: 3 },
      { va: 0x1000, sizeBytes: 1, kind: AccessKind.Store, position: 5 },
    ]);
  });

  it('names the line of a record without R/W or with a bad address', () => {
    expect(() => readAll('plain', utf8('1000 R\n2000\n'))).toThrow(/plain trace, line 2: truncated/);
    expect(() => readAll('plain', utf8('1000 R\n2000 X\n'))).toThrow(/line 2: unknown access/);
    expect(() => readAll('plain', utf8('1000 R\n1000 R\nxyz R\n'))).toThrow(/line 3: address is not a hex number/);
  });
});

describe('KmemTraceReader / KmemTraceWriter', () => {
  function encode(records: readonly [number, number, number][], chunkBytes = 64): Uint8Array {
    const parts: Uint8Array[] = [];
    const w = new KmemTraceWriter((c) => parts.push(c), chunkBytes);
    for (const [va, size, kind] of records) w.write(va, size, kind);
    w.end();
    return concatChunks(parts);
  }

  it('round-trips records (big sizes, far jumps, the top of the address space) cut anywhere', () => {
    const recs: [number, number, number][] = [
      [0x401000, 1, 0],
      [0x401004, 4, 1],
      [0x7fff_ffff_eff8, 8, 2],
      [0, 4096, 3],
      [2 ** 48 - 1, 1, 1],
      [0x1234, 62, 0],
      [0x1235, 63, 2],
    ];
    const bytes = encode(recs);
    expect(detectTraceFormat(bytes)).toBe('kmem');
    for (const sizes of [[bytes.length], [1], [3], [5, 17]]) {
      expect(readAll('kmem', bytes, sizes).records.map((r) => [r.va, r.sizeBytes, r.kind])).toEqual(recs);
    }
  });

  it('a loop costs about two bytes per access', () => {
    const recs: [number, number, number][] = [];
    for (let i = 0; i < 1000; i++) recs.push([0x400000 + (i % 50) * 4, 4, 1]);
    expect(encode(recs, 4096).length).toBeLessThan(2.1 * 1000 + 32);
  });

  it('rejects a cut stream, a bad magic, a wrong count and trailing bytes with the byte offset', () => {
    const bytes = encode([
      [0x1000, 4, 1],
      [0x2000, 4, 2],
    ]);
    expect(() => readAll('kmem', bytes.subarray(0, bytes.length - 2))).toThrow(TraceParseError);
    expect(() => readAll('kmem', bytes.subarray(0, 10))).toThrow(/truncated header/);
    expect(() => readAll('kmem', bytes.subarray(0, 18))).toThrow(/byte offset 16: truncated record|no end marker/);
    const badMagic = bytes.slice();
    badMagic[0] = 0;
    expect(() => readAll('kmem', badMagic)).toThrow(/byte offset 0: not a kmem trace/);
    const trailing = new Uint8Array(bytes.length + 1);
    trailing.set(bytes);
    expect(() => readAll('kmem', trailing)).toThrow(/after the end marker/);
    const badCount = bytes.slice();
    badCount[badCount.length - 1] = 5;
    expect(() => readAll('kmem', badCount)).toThrow(/end marker counts 5 records/);
    const badTag = bytes.slice();
    badTag[16] = 0xfe;
    expect(() => readAll('kmem', badTag)).toThrow(/byte offset 16: unknown record tag/);
  });

  it('refuses to write what it cannot represent', () => {
    const w = new KmemTraceWriter(() => {});
    expect(() => w.write(2 ** 48, 1, 0)).toThrow(/48-bit/);
    expect(() => w.write(0, 0, 0)).toThrow(/size/);
    expect(() => w.write(0, 1, 4)).toThrow(/kind/);
  });
});

describe('readTrace', () => {
  it('detects the format from the first bytes and streams an async iterable', async () => {
    async function* chunks(): AsyncGenerator<Uint8Array> {
      await Promise.resolve();
      yield utf8('==5== Lackey\n');
      yield utf8('I  0040,4\n L 10');
      yield utf8('00,8\n');
    }
    const seen: number[] = [];
    const reader = await readTrace(chunks(), (b: TraceBatch) => {
      for (let i = 0; i < b.length; i++) seen.push(b.va[i]!);
    });
    expect(reader.format).toBe('lackey');
    expect(seen).toEqual([0x40, 0x1000]);
    expect(detectTraceFormat(utf8('# c\n0041f7a0 R\n'))).toBe('plain');
    expect(detectTraceFormat(utf8('\n\n'))).toBeNull();
  });

  it('refuses gzip bytes (the caller decompresses)', async () => {
    await expect(readTrace([new Uint8Array([0x1f, 0x8b, 8, 0])], () => {})).rejects.toThrow(/gzip/);
  });
});
