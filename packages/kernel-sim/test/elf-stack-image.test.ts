import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AT, StackImageError, buildInitialStack, elfLoadPlan, parseElf64, type ElfLoadPlan } from '../src/index';
import { ELF_FIXTURE_DIR, loadElfFixture } from './elf-fixtures';

const plan: ElfLoadPlan = elfLoadPlan(parseElf64(loadElfFixture('hello-static')));
const random = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const T = 0x7fff_ffff_f000; // Linux's STACK_TOP with 4-level paging and no randomisation

describe('buildInitialStack', () => {
  it('builds byte for byte the stack a real Linux exec built (setarch -R; env -i A=1 BB=22 ./stack-dump x yy zzz)', () => {
    // stack-dump.linux.bin: 8 bytes of the RSP the program started with, then [RSP, stack top).
    // Written by test/fixtures/elf/build.sh on the kernel named in stack-dump.linux.txt.
    const dump = new Uint8Array(readFileSync(join(ELF_FIXTURE_DIR, 'stack-dump.linux.bin')));
    const dv = new DataView(dump.buffer);
    const u64 = (at: number): number => dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 2 ** 32;
    const realRsp = u64(0);
    const real = dump.subarray(8);
    // Only what depends on the machine is taken from the dump: the vDSO address, AT_MINSIGSTKSZ,
    // the CPU's hwcaps, rseq's sizes and the random bytes. The layout is buildInitialStack's own.
    let at = 8 + 8 * (1 + 4 + 1 + 2 + 1);
    const auxv = new Map<number, number>();
    for (; u64(at) !== AT.NULL; at += 16) auxv.set(u64(at), u64(at + 8));
    const randomAt = 8 + auxv.get(AT.RANDOM)! - realRsp;
    const stack = buildInitialStack({
      plan: elfLoadPlan(parseElf64(loadElfFixture('stack-dump'))),
      argv: ['./stack-dump', 'x', 'yy', 'zzz'],
      envp: ['A=1', 'BB=22'],
      random: dump.slice(randomAt, randomAt + 16),
      archAuxv: [[AT.SYSINFO_EHDR, auxv.get(AT.SYSINFO_EHDR)!], [AT.MINSIGSTKSZ, auxv.get(AT.MINSIGSTKSZ)!]],
      hwcap: auxv.get(AT.HWCAP)!,
      hwcap2: auxv.get(AT.HWCAP2) ?? 0,
      extraAuxv: [[AT.RSEQ_FEATURE_SIZE, auxv.get(AT.RSEQ_FEATURE_SIZE)!], [AT.RSEQ_ALIGN, auxv.get(AT.RSEQ_ALIGN)!]],
    });
    expect(stack.top).toBe(realRsp + real.length);
    expect(stack.rsp).toBe(realRsp);
    expect(stack.bytes).toEqual(real);
  });

  it('lays out argc, argv, envp, auxv, random bytes and strings byte for byte as Linux does', () => {
    const stack = buildInitialStack({ plan, argv: ['/bin/x', 'a'], envp: ['K=V'], random });
    // Worked by hand from fs/exec.c and create_elf_tables (offsets below the top T):
    //   T-8 end marker; "/bin/x" (execfn) at T-15; "K=V" T-19; "a" T-21; "/bin/x" T-28;
    //   round to T-32; "x86_64" T-39; random T-55; 42 words (argc 1, argv 3, envp 2, auxv 36)
    //   = 336 bytes below T-55 is T-391, rounded down to 16: rsp = T-400.
    expect(stack.rsp).toBe(T - 400);
    expect(stack.base).toBe(stack.rsp);
    expect(stack.top).toBe(T);
    expect(stack.rsp % 16).toBe(0);
    expect(stack.argvVa).toEqual([T - 28, T - 21]);
    expect(stack.envpVa).toEqual([T - 19]);
    expect([stack.execFnVa, stack.platformVa, stack.randomVa]).toEqual([T - 15, T - 39, T - 55]);

    const expected = new Uint8Array(400);
    const view = new DataView(expected.buffer);
    const words = [
      2, T - 28, T - 21, 0, T - 19, 0,
      16, 0, 6, 4096, 17, 100, 3, 0x400040, 4, 56, 5, 4, 7, 0, 8, 0, 9, 0x401000,
      11, 0, 12, 0, 13, 0, 14, 0, 23, 0, 25, T - 55, 31, T - 15, 15, T - 39, 0, 0,
    ];
    words.forEach((w, i) => {
      view.setUint32(i * 8, w % 2 ** 32, true);
      view.setUint32(i * 8 + 4, Math.floor(w / 2 ** 32), true);
    });
    const put = (va: number, text: string): void => expected.set(new TextEncoder().encode(text), va - (T - 400));
    expected.set(random, T - 55 - (T - 400));
    put(T - 39, 'x86_64');
    put(T - 28, '/bin/x');
    put(T - 21, 'a');
    put(T - 19, 'K=V');
    put(T - 15, '/bin/x');
    expect(stack.bytes).toEqual(expected);
    expect(stack.auxv.at(-1)).toEqual([AT.NULL, 0]);
    expect(stack.pageCount).toBe(1);
  });

  it('places the image under a given stack top, with the layout-chosen ids and extra auxv entries', () => {
    const stack = buildInitialStack({
      plan, argv: [], random, stackTopVa: 0x4000_0000, execFn: '/init', uid: 1000, gid: 100, extraAuxv: [[AT.MINSIGSTKSZ, 2048]],
    });
    expect(stack.top).toBe(0x4000_0000);
    const view = new DataView(stack.bytes.buffer);
    const u64 = (at: number): number => view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
    expect(u64(0)).toBe(0); // argc
    expect(u64(8)).toBe(0); // argv NULL
    expect(u64(16)).toBe(0); // envp NULL
    const auxv = new Map<number, number>();
    for (let at = 24; ; at += 16) {
      auxv.set(u64(at), u64(at + 8));
      if (u64(at) === AT.NULL) break;
    }
    expect(auxv.get(AT.UID)).toBe(1000);
    expect(auxv.get(AT.EGID)).toBe(100);
    expect(auxv.get(AT.MINSIGSTKSZ)).toBe(2048);
    const fn = auxv.get(AT.EXECFN)! - stack.base;
    expect(new TextDecoder().decode(stack.bytes.subarray(fn, fn + 5))).toBe('/init');
    expect(stack.bytes[fn + 5]).toBe(0);
  });

  it('counts the pages a large environment spans', () => {
    const stack = buildInitialStack({ plan, argv: ['x'], envp: Array.from({ length: 100 }, (_, i) => `VAR${i}=${'v'.repeat(60)}`), random });
    expect(stack.pageCount).toBe(Math.ceil((T - (stack.rsp - (stack.rsp % 4096))) / 4096));
    expect(stack.pageCount).toBeGreaterThan(1);
  });

  it('encodes strings as UTF-8', () => {
    const stack = buildInitialStack({ plan, argv: ['é'], random });
    const at = stack.argvVa[0]! - stack.base;
    expect([...stack.bytes.subarray(at, at + 3)]).toEqual([0xc3, 0xa9, 0]);
  });

  const misuse: [string, Parameters<typeof buildInitialStack>[0], RegExp][] = [
    ['a NUL inside an argument', { plan, argv: ['a\0b'], random }, /argv\[0\] contains a NUL/],
    ['a NUL inside an environment string', { plan, argv: [], envp: ['A=\0'], random }, /envp\[0\]/],
    ['AT_RANDOM of 15 bytes', { plan, argv: [], random: new Uint8Array(15) }, /exactly 16 bytes/],
    ['a misaligned stack top', { plan, argv: [], random, stackTopVa: T - 8 }, /16-byte aligned/],
    ['a stack top past 2^47', { plan, argv: [], random, stackTopVa: 2 ** 47 + 16 }, /within \(0, 2\^47\]/],
    ['an image over the size limit', { plan, argv: ['x'.repeat(5000)], random, maxBytes: 4096 }, /exceeds the 4096-byte limit/],
    ['a negative auxv value', { plan, argv: [], random, extraAuxv: [[99, -1]] }, /auxv value of type 99/],
  ];
  for (const [what, options, message] of misuse) {
    it(`rejects ${what} with E_STACK_IMAGE`, () => {
      expect(() => buildInitialStack(options)).toThrow(StackImageError);
      expect(() => buildInitialStack(options)).toThrow(message);
    });
  }
});
