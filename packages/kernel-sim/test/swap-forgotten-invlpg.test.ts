// A Clock that forgets INVLPG after clearing the Accessed bit: does x86-paging's stale-use
// detector catch it? SDM vol. 3A 4.10.4.3: when software changes A from 1 to 0 without
// invalidating, the processor may keep using the cached translation and never set A again, so
// "software cannot interpret the bit being clear as an indication that such an access has not
// occurred" — the page looks idle while it is in use, and Clock evicts a hot page. The kernel's
// own signals rewrite the PTE with INVLPG (SDM 4.10.4.1); this policy pokes the PTE in physical
// memory instead. The detector (Tlb.detectStaleUses with detectClearedAccessed: A is no right the
// CPU acts on, so it is reported only when asked) must report the next use of the cached entry;
// the same run with the shipped Clock must report none.
import { describe, expect, it } from 'vitest';
import { ClockPolicy, MemorySwapDevice, type Kernel, type PageSignals, type ReplacementPolicy } from '../src/index';
import { PAGE, bootProcessKernel } from './process-helpers';

const ACCESSED = 0x20;

/** Clears A in the PTE of (pid, va) by writing physical memory: no INVLPG. @returns whether A was set */
function clearAWithoutInvlpg(kernel: Kernel, key: number): boolean {
  const pid = Math.floor(key / 2 ** 36);
  const va = (key % 2 ** 36) * PAGE;
  const p = kernel.processes.list().find((x) => x.pid === pid)!;
  const leaf = kernel.mapperFor(p.root).walk(va).at(-1)!;
  const lo = kernel.machine.memory.read32(leaf.entryPa);
  if ((lo & ACCESSED) === 0) return false;
  kernel.machine.memory.write32(leaf.entryPa, lo & ~ACCESSED);
  return true;
}

/** Clock whose second chance clears A straight in the PTE and forgets the INVLPG. */
class ForgetfulClock extends ClockPolicy {
  override readonly name = 'forgetful-clock';
  constructor(private readonly kernel: Kernel) {
    super();
  }
  override selectVictim(signals: PageSignals, nowNs: number): number {
    return super.selectVictim({ ...signals, testAndClearAccessed: (page) => clearAWithoutInvlpg(this.kernel, signals.pageKey(page)) }, nowNs);
  }
}

/** Pages 0..11 with room for 8: a hot set of 4 pages read between cold ones. */
function run(policy: (kernel: Kernel) => ReplacementPolicy): { kernel: Kernel; stale: number; descriptions: string[] } {
  const kernel = bootProcessKernel({ ramMiB: 32 });
  const tlb = kernel.machine.cpu.tlb!;
  tlb.detectStaleUses = true;
  tlb.detectClearedAccessed = true;
  kernel.enableSwap({ devices: [new MemorySwapDevice({ slotCount: 64, cost: 'free' })], policy: policy(kernel), maxResidentPages: 8, tickNs: 0 });
  const p = kernel.createProcess({ name: 'hot-and-cold' })!;
  const base = p.mmap({ lengthBytes: 12 * PAGE })!;
  for (let round = 0; round < 6; round++) {
    for (let cold = 4; cold < 12; cold++) {
      for (let hot = 0; hot < 4; hot++) expect(p.touch(base + hot * PAGE, 'read')).toBe('ok');
      expect(p.touch(base + cold * PAGE, 'write', cold)).toBe('ok');
    }
  }
  kernel.checkInvariants();
  return { kernel, stale: tlb.staleUseCount, descriptions: tlb.staleUses.map((u) => u.description) };
}

describe('a replacement policy that forgets INVLPG after clearing A (SDM 4.10.4.3)', () => {
  it('is caught by the TLB stale-use detector', () => {
    const r = run((kernel) => new ForgetfulClock(kernel));
    expect(r.stale).toBeGreaterThan(0);
    expect(r.descriptions[0]).toMatch(/stale TLB entry used: user read .* \(A was cleared without invlpg/);
  });

  it('the shipped Clock, which clears A with INVLPG, leaves nothing stale on the same run', () => {
    const r = run(() => new ClockPolicy());
    expect(r.stale).toBe(0);
    expect(r.kernel.events.ofKind('tlb-flush').some((e) => e.reason === 'invlpg')).toBe(true);
  });
});
