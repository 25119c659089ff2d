// "What does the TLB hold?" exercises: a small TLB geometry (x86-paging's Tlb with a few sets and
// ways), a handful of mapped 4 KiB pages, and a seeded sequence of user reads and writes, INVLPGs,
// CR3 reloads and CR4.PGE toggles; the question: which pages the TLB holds after it, or (after the
// kernel changed a PTE, with or without INVLPG) which physical address the next read uses — the
// stale translation of SDM vol. 3A 4.10.4. Answered by running the steps through x86-paging's Cpu
// (its Mmu and Tlb) and reading the Tlb's entries; nothing here models a TLB.
import { Access, CR4, Mode, PAGE_SIZE_4K, PTE, accessName, describePageFaultErrorCode, type ArrayBufferPhysicalMemory, type Cpu, type Mapper } from '@kmem/x86-paging';
import type { Exercise, ExerciseSet } from './exercise';
import { groupedHex } from './hex';
import { QUIZ_MODE_CONFIG, machineCpu, newMachine } from './quiz-machine';
import type { SeededRandom } from './seeded-random';

/** One step of a TLB sequence. */
export type TlbStep =
  | { readonly op: 'access'; readonly va: number; readonly access: Access }
  | { readonly op: 'invlpg'; readonly va: number }
  | { readonly op: 'cr3' }
  | { readonly op: 'pge' }
  | { readonly op: 'remap'; readonly va: number; readonly frame: number };

/** The TLB's geometry at a difficulty: 1 set × 4 ways (fully associative), else 2 sets × 2 ways. */
export function tlbGeometry(difficulty: number): { setCount: number; wayCount: number } {
  return difficulty === 1 ? { setCount: 1, wayCount: 4 } : { setCount: 2, wayCount: 2 };
}

/** A step as the question prints it. */
export function describeTlbStep(step: TlbStep): string {
  switch (step.op) {
    case 'access':
      return `user ${accessName(step.access)} of ${groupedHex(step.va)}`;
    case 'invlpg':
      return `INVLPG ${groupedHex(step.va)}`;
    case 'cr3':
      return 'MOV to CR3 (the same PML4 again)';
    case 'pge':
      return 'CR4.PGE cleared and set again';
    case 'remap':
      return `the kernel points the PTE of page ${groupedHex(step.va)} at frame ${groupedHex(step.frame)} (no INVLPG)`;
  }
}

/** The pages the TLB holds, ascending (4 KiB page addresses). */
export function tlbPages(cpu: Cpu): number[] {
  return cpu.tlb!.entries().map((e) => e.va).sort((a, b) => a - b);
}

/** The answer form of a page list: addresses, or `none`. */
export function pagesAnswer(pages: readonly number[]): string {
  return pages.length === 0 ? 'none' : pages.map((p) => groupedHex(p)).join(' ');
}

function contents(cpu: Cpu): string {
  const tlb = cpu.tlb!;
  const slots: string[] = Array.from({ length: tlb.setCount * tlb.wayCount }, () => '-');
  for (const e of tlb.entries()) slots[e.slot] = `${groupedHex(e.va)}${e.global ? ' G' : ''}`;
  const sets = Array.from({ length: tlb.setCount }, (_, s) => slots.slice(s * tlb.wayCount, (s + 1) * tlb.wayCount).join(', '));
  return tlb.setCount === 1 ? `TLB [${sets[0]}]` : `TLB ${sets.map((s, i) => `set ${i} [${s}]`).join(' ')}`;
}

/**
 * Runs `steps` on a fresh Cpu (an empty TLB of `geometry`) over `memory`, whose tables `mapper`
 * edits for the remap steps (the Mapper has no TLB, so a remap invalidates nothing), and explains
 * each step from the Tlb's own entries before and after it.
 * @returns the lines, the Cpu (its TLB as the steps left it) and the last access's outcome
 */
export function runTlbSteps(memory: ArrayBufferPhysicalMemory, mapper: Mapper, geometry: { setCount: number; wayCount: number }, steps: readonly TlbStep[]): { lines: string[]; cpu: Cpu; last: { fault: boolean; pa: number; errorCode: number } } {
  const cpu = machineCpu(QUIZ_MODE_CONFIG['4level'], memory, mapper.root, geometry);
  const tlb = cpu.tlb!;
  tlb.detectStaleUses = true;
  const lines: string[] = [];
  let last = { fault: false, pa: 0, errorCode: 0 };
  steps.forEach((step, i) => {
    const before = new Set(tlbPages(cpu));
    const stale = tlb.staleUseCount;
    let what: string;
    switch (step.op) {
      case 'access': {
        const r = cpu.translate(step.va, step.access, Mode.User);
        last = { fault: r.fault, pa: r.pa, errorCode: r.errorCode };
        const page = step.va - (step.va % PAGE_SIZE_4K);
        const after = tlbPages(cpu);
        const evicted = [...before].filter((p) => p !== page && !after.includes(p));
        if (r.fault) what = `#PF ${groupedHex(r.errorCode)} (${describePageFaultErrorCode(r.errorCode)}): nothing cached${before.has(page) ? `, and the fault drops the cached ${groupedHex(page)} (SDM 4.10.4.1)` : ''}`;
        else if (r.tlbHit) what = `TLB hit → ${groupedHex(r.pa)}`;
        else if (before.has(page)) what = `cached with D = 0: walks again to set D (SDM 4.8) → ${groupedHex(r.pa)}`;
        else what = `TLB miss: walk → ${groupedHex(r.pa)}, cached in set ${tlb.setIndex(0, page / PAGE_SIZE_4K)}${evicted.length > 0 ? `, evicting ${evicted.map((p) => groupedHex(p)).join(' ')}` : ''}`;
        if (tlb.staleUseCount > stale) what += ` — stale: ${tlb.staleUses.at(-1)!.description}`;
        break;
      }
      case 'invlpg':
        cpu.invlpg(step.va);
        what = before.has(step.va) ? `drops ${groupedHex(step.va)}` : 'nothing cached for that page';
        break;
      case 'cr3': {
        cpu.writeCr3(mapper.root);
        const kept = tlbPages(cpu);
        what = `drops every non-global entry${kept.length > 0 ? ` (global kept: ${kept.map((p) => groupedHex(p)).join(' ')})` : ''} (SDM 4.10.4.1)`;
        break;
      }
      case 'pge':
        cpu.writeCr4(cpu.registers.cr4 & ~CR4.PGE);
        cpu.writeCr4(cpu.registers.cr4 | CR4.PGE);
        what = 'drops every entry, global ones too (SDM 4.10.4.1)';
        break;
      case 'remap': {
        const flags = mapper.leafEntry(step.va)!.flags & ~(PTE.Accessed | PTE.Dirty);
        mapper.unmapPages(step.va, 1, { freeTables: false });
        mapper.mapPages(step.va, step.frame, 1, flags);
        what = before.has(step.va) ? 'the PTE changes in memory; the TLB still holds the old frame (SDM 4.10.4)' : 'the PTE changes in memory; the page is not cached';
        break;
      }
    }
    lines.push(`#${i + 1} ${describeTlbStep(step)}: ${what}; ${contents(cpu)}`);
  });
  return { lines, cpu, last };
}

/** The machine of a tlb set (tests re-run every sequence on a copy of `image`). */
export interface TlbMachine {
  readonly image: Uint8Array;
  readonly cr3Frame: number;
  readonly geometry: { setCount: number; wayCount: number };
  readonly sequences: readonly (readonly TlbStep[])[];
  /** Per exercise: 'pages' (which pages are cached after the last step) or 'pa' (what the last read uses). */
  readonly asks: readonly ('pages' | 'pa')[];
}

/**
 * `count` TLB exercises (4-level paging). Difficulty 1: a fully associative 4-entry TLB, reads and
 * INVLPG; 2: 2 sets × 2 ways, writes, CR3 reloads and global pages; 3: and CR4.PGE toggles,
 * faulting writes and accesses to unmapped pages.
 */
export function tlbExercises(rng: SeededRandom, count: number, difficulty: number): { set: Omit<ExerciseSet, 'seed'>; machine: TlbMachine } {
  const config = QUIZ_MODE_CONFIG['4level'];
  const { memory, mapper } = newMachine(rng, config);
  const geometry = tlbGeometry(difficulty);
  const base = (0x40 + rng.int(0xb0)) * 0x1_0000;
  const slots = [0, 1, 2, 3, 4, 5, 6, 7];
  const unmapped = [rng.int(8)];
  unmapped.push((unmapped[0]! + 1 + rng.int(7)) % 8);
  const pages: number[] = [];
  const lines: string[] = [];
  const probe = machineCpu(config, memory, mapper.root, geometry);
  for (const k of slots) {
    if (unmapped.includes(k)) continue;
    const va = base + k * PAGE_SIZE_4K;
    let flags = PTE.Present | PTE.User;
    if (difficulty === 1 || rng.chance(0.7)) flags |= PTE.Writable;
    if (difficulty >= 2 && rng.chance(0.3)) flags |= PTE.Global;
    const frame = (0x80 + rng.int(0x70)) * PAGE_SIZE_4K;
    mapper.mapPages(va, frame, 1, flags);
    pages.push(va);
    lines.push(`page ${groupedHex(va)} (set ${probe.tlb!.setIndex(0, va / PAGE_SIZE_4K)}) → frame ${groupedHex(frame)}, user, ${(flags & PTE.Writable) !== 0 ? 'writable' : 'read-only'}${(flags & PTE.Global) !== 0 ? ', global (G)' : ''}`);
  }
  const image = memory.exportBytes();
  const { setCount, wayCount } = geometry;
  const given = [
    `Registers: 4-level paging (SDM vol. 3A 4.5), CR0.WP = 1, CR4.PGE = 1 (global pages). TLB: ${setCount === 1 ? `one set of ${wayCount} ways (fully associative)` : `${setCount} sets × ${wayCount} ways`}, empty when each exercise starts; a miss fills an empty way of the page's set, else evicts the set's ways in turn (one round-robin pointer per set, from way 0). x86-paging's Tlb.`,
    `Mapped pages (unmapped: ${[...unmapped].sort((a, b) => a - b).map((k) => groupedHex(base + k * PAGE_SIZE_4K)).join(', ')}); every access is user mode:`,
    ...lines,
    'SDM 4.10.2-4.10.4: a successful walk caches the page (frame and rights); a page fault caches nothing and drops the page\'s entry; INVLPG drops one page (global too); MOV to CR3 drops every non-global entry; toggling CR4.PGE drops every entry. Changing a PTE changes nothing in the TLB: until an INVLPG or a flush, the cached (stale) translation is used. A write through an entry cached with D = 0 walks again to set D (SDM 4.8).',
    'Answer with page addresses (0x47_2000 0x47_5000, any order; none for an empty TLB) or a physical address.',
  ];
  const sequences: TlbStep[][] = [];
  const asks: ('pages' | 'pa')[] = [];
  const exercises: Exercise[] = [];
  const randomStep = (): TlbStep => {
    const r = rng.next();
    if (difficulty >= 2 && r < 0.1) return { op: 'cr3' };
    if (difficulty >= 3 && r < 0.17) return { op: 'pge' };
    if (r < 0.3) return { op: 'invlpg', va: rng.pick(pages) };
    const va = difficulty >= 3 && rng.chance(0.1) ? base + rng.pick(unmapped) * PAGE_SIZE_4K : rng.pick(pages);
    const access = difficulty >= 2 && rng.chance(0.35) ? Access.Write : Access.Read;
    return { op: 'access', va: va + rng.int(PAGE_SIZE_4K), access };
  };
  for (let i = 0; i < count; i++) {
    memory.importBytes(0, image); // each exercise starts from the tables as listed
    const ask = rng.chance(0.5) ? 'pa' : 'pages';
    const steps: TlbStep[] = [];
    if (ask === 'pages') {
      for (let k = 0; k < 4 + difficulty + rng.int(3); k++) steps.push(randomStep());
    } else {
      // The page whose PTE changes was read before; what comes between decides whether the read
      // after the change still finds the old translation.
      const page = rng.pick(pages);
      const before = 1 + rng.int(2 + difficulty);
      for (let k = 0; k < before; k++) steps.push(randomStep());
      steps.splice(rng.int(steps.length + 1), 0, { op: 'access', va: page + rng.int(PAGE_SIZE_4K), access: Access.Read });
      let frame = (0x80 + rng.int(0x70)) * PAGE_SIZE_4K;
      if (frame === mapper.leafEntry(page)!.pa) frame += PAGE_SIZE_4K;
      steps.push({ op: 'remap', va: page, frame });
      for (let k = rng.int(3); k > 0; k--) steps.push(randomStep());
      if (rng.chance(0.35)) steps.push({ op: 'invlpg', va: page });
      steps.push({ op: 'access', va: page + rng.int(PAGE_SIZE_4K), access: Access.Read });
    }
    const run = runTlbSteps(memory, mapper, geometry, steps);
    const answer = ask === 'pages' ? pagesAnswer(tlbPages(run.cpu)) : run.last.fault ? `#PF ${groupedHex(run.last.errorCode)}` : groupedHex(run.last.pa);
    const steps1 = steps.map((s, k) => `${k + 1}. ${describeTlbStep(s)}`).join('; ');
    exercises.push({
      kind: 'tlb',
      number: i + 1,
      question: ask === 'pages' ? `Steps: ${steps1}. Which pages does the TLB hold after step ${steps.length}?` : `Steps: ${steps1}. Which physical address does the read of step ${steps.length} use?`,
      answer,
      explanation: run.lines,
      ...(ask === 'pages' ? { form: 'pages' as const } : {}),
    });
    sequences.push(steps);
    asks.push(ask);
  }
  memory.importBytes(0, image);
  return { set: { kind: 'tlb', difficulty, given, exercises }, machine: { image, cr3Frame: mapper.root, geometry, sequences, asks } };
}
