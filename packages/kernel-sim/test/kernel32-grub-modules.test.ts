// Seed 002's kernel booted by GRUB, as the seed's kernel was: does the 32-bit kernel read and lock
// the modules GRUB 2 really hands over (multiboot1 `module` lines: mods_addr / mods_count, each
// module's command line), on GRUB's own memory map? The committed captures come from
// fixtures/multiboot1/capture-grub.sh (grub-mkrescue CD image, QEMU with SeaBIOS); where GRUB,
// xorriso, mtools, gcc -m32 and QEMU are installed, the test makes a fresh capture and boots on it too.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventLog, MB1_INFO_FLAG, type Multiboot1Boot } from '../src/index';
import { bootKernel32, grubModulesHandOver, serialHandOver } from './kernel32-helpers';

const CAPTURES = join(import.meta.dirname, 'fixtures', 'multiboot1');
const PAGE = 4096;

/** The loader's name, read from the LOADER line of a capture. */
function loaderName(path: string): string {
  const line = readFileSync(path, 'latin1').split('\n').find((l) => l.startsWith('LOADER '))!;
  const hex = line.split(' ')[2]!;
  return String.fromCharCode(...(hex.match(/../g) ?? []).map((h) => parseInt(h, 16))).replace(/\0$/, '');
}

/** What every GRUB hand-over of capture-grub.sh's CD must hold, and the kernel booted on it. */
function checkGrubBoot(boot: Multiboot1Boot, mem: '128m' | '5g'): void {
  expect(boot.info.flags & MB1_INFO_FLAG.Mods).not.toBe(0);
  expect(boot.modules.map((m) => [m.index, m.sizeBytes, m.cmdline])).toEqual([
    [0, 40, 'mod-one.bin root=/dev/ram0 quiet'],
    [1, 20000, 'mod-two.bin'],
  ]);
  // GRUB page-aligns the modules (mb1dump's header asks for it, flags bit 0) after the kernel image.
  for (const m of boot.modules) expect(m.startPa % PAGE).toBe(0);
  expect(boot.modules[0]!.startPa).toBeGreaterThanOrEqual(0x10_0000);
  expect(boot.modules[1]!.startPa).toBeGreaterThanOrEqual(boot.modules[0]!.endPa);
  const events = new EventLog();
  const k = bootKernel32(boot, { events });
  const step = events.ofKind('boot-step').find((e) => e.step === 'lock-module-frames')!;
  // 40 bytes: one frame; 20,000 bytes: five.
  expect(step.detail).toMatchObject({ moduleCount: 2, frameCount: 6 });
  expect(step.summary).toContain('"mod-one.bin root=/dev/ram0 quiet"');
  for (const m of boot.modules) for (let f = m.startPa; f < m.endPa; f += PAGE) expect(k.frames.kindOf(f)).toBe('module');
  // The frame bitmap goes after the image and the modules.
  const bitmapPa = events.ofKind('boot-step').find((e) => e.step === 'pmm-from-multiboot')!.detail.bitmapPa as number;
  expect(bitmapPa).toBeGreaterThanOrEqual(boot.modules[1]!.endPa);
  expect(k.ignoredRamBytes > 0).toBe(mem === '5g');
  k.checkInvariants();
}

describe('Kernel32 on GRUB 2 with two modules', () => {
  for (const mem of ['128m', '5g'] as const) {
    it(`reads GRUB's module list (mods_addr in GRUB's info area, modules after the image) and locks the modules (-m ${mem})`, () => {
      const boot = grubModulesHandOver(mem);
      expect(loaderName(join(CAPTURES, `grub-mb1-modules-${mem}.serial.txt`))).toMatch(/^GRUB 2\./);
      // GRUB keeps the list in its own info area below 1 MiB, unlike QEMU's loader (after the image).
      expect(boot.info.modsAddr).toBeLessThan(0x10_0000);
      expect(boot.modules.map((m) => [m.startPa, m.endPa])).toEqual([
        [0x17_2000, 0x17_2028],
        [0x17_3000, 0x17_3000 + 20000],
      ]);
      checkGrubBoot(boot, mem);
    });
  }

  const tools = ['grub-mkrescue', 'xorriso', 'mformat', 'qemu-system-x86_64', 'gcc'];
  const missing = tools.filter((t) => !['/usr/bin', '/usr/local/bin', '/bin'].some((d) => existsSync(join(d, t))));
  it.skipIf(missing.length > 0)(`boots a fresh GRUB capture (needs ${tools.join(', ')}; missing here: ${missing.join(', ') || 'none'})`, () => {
    const out = mkdtempSync(join(tmpdir(), 'kmem-grub-'));
    try {
      execFileSync('sh', [join(CAPTURES, 'capture-grub.sh'), out, '128M'], { stdio: 'pipe', timeout: 90_000 });
      const path = join(out, 'grub-mb1-modules-128m.serial.txt');
      expect(readFileSync(path, 'latin1')).toMatch(/^MAGIC 2badb002\n/);
      expect(loaderName(path)).toMatch(/^GRUB 2\./);
      checkGrubBoot(serialHandOver(path), '128m');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
