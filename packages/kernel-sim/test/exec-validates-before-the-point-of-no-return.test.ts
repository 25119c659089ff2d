// Does exec check every argument before it touches the process? A call with argv or envp that is
// not an array of strings (null, a string, an array holding a number), a file that is neither
// bytes nor a parsed ELF, or options that are not an object must throw a typed error and leave
// the process exactly as it was: same image, regions, resident pages, frames (issue 14, defect 2;
// on the old code `exec(pid, elf, ['x'], null)` threw a TypeError after tearing the old image down).
import { describe, expect, it } from 'vitest';
import { ExecArgumentError, parseElf64, type KmemError } from '../src/index';
import { kernelState } from './kernel-state';
import { bootProcessKernel, elfFixture } from './process-helpers';

describe('exec with malformed arguments', () => {
  it('throws ExecArgumentError (E_EXEC_ARGUMENT) and leaves the process and the kernel exactly as they were', () => {
    const kernel = bootProcessKernel({ ramMiB: 64 });
    const elf = elfFixture('hello-static');
    const p = kernel.exec(undefined, elf, ['hello'], ['HOME=/'])!;
    expect(p.touch(p.image!.entry, 'execute')).toBe('ok');
    const before = JSON.stringify(kernelState(kernel));
    const bad: [string, () => unknown][] = [
      ['envp null', () => kernel.exec(p.pid, elf, ['x'], null as never)],
      ['argv null', () => kernel.exec(p.pid, elf, null as never)],
      ['argv a string', () => kernel.exec(p.pid, elf, 'abc' as never)],
      ['envp a string', () => kernel.exec(p.pid, elf, ['x'], 'HOME=/' as never)],
      ['argv holding a number', () => kernel.exec(p.pid, elf, ['x', 1] as never)],
      ['envp holding undefined', () => kernel.exec(p.pid, elf, ['x'], [undefined] as never)],
      ['argv an object', () => kernel.exec(p.pid, elf, { length: 1, 0: 'x' } as never)],
      ['file a number', () => kernel.exec(p.pid, 42 as never, ['x'])],
      ['file null', () => kernel.exec(p.pid, null as never, ['x'])],
      ['file a plain object', () => kernel.exec(p.pid, {} as never, ['x'])],
      ['options a string', () => kernel.exec(p.pid, elf, ['x'], [], 'opts' as never)],
      ['target null', () => kernel.exec(null as never, elf, ['x'])],
      ['target a string', () => kernel.exec('1' as never, elf, ['x'])],
      ['target NaN', () => kernel.exec(Number.NaN, elf, ['x'])],
      ['name a number', () => kernel.exec({ name: 7 } as never, elf, ['x'])],
      ['random a string', () => kernel.exec({ random: 'abc' } as never, elf, ['x'])],
    ];
    for (const [what, call] of bad) {
      let thrown: unknown = null;
      try {
        call();
      } catch (e) {
        thrown = e;
      }
      expect(thrown, what).toBeInstanceOf(ExecArgumentError);
      expect((thrown as KmemError).code, what).toBe('E_EXEC_ARGUMENT');
      expect(JSON.stringify(kernelState(kernel)), what).toBe(before);
      kernel.checkInvariants();
    }
    // The process still runs its old image, and a good exec still works.
    expect(p.touch(p.image!.entry, 'execute')).toBe('ok');
    expect(kernel.exec(p.pid, parseElf64(elf), ['again'])!.image!.argv).toEqual(['again']);
    kernel.checkInvariants();
  });

  it('copies argv and envp: changing the caller\'s arrays afterwards does not change the image', () => {
    const kernel = bootProcessKernel({ ramMiB: 64 });
    const argv = ['hello', 'a'];
    const envp = ['X=1'];
    const p = kernel.exec(undefined, elfFixture('hello-static'), argv, envp)!;
    argv.push('b');
    envp[0] = 'X=2';
    expect(p.image!.argv).toEqual(['hello', 'a']);
    expect(p.image!.envp).toEqual(['X=1']);
  });
});
