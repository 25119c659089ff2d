// The TLB geometry chosen in the header: sets × ways of the CPU's TLB (x86-paging's `Tlb`: one
// set-associative level, a set a hash of the page number), or none. It is an input of the machine,
// like the memory map: a new choice boots a new machine, and the URL keeps it (`tlb=16x4`,
// `tlb=off`; the default 256 × 8 is left out) so that a link replays the same machine.
import { $, h } from './dom';

/** A geometry, or false for a CPU without a TLB. */
export type TlbGeometry = { readonly setCount: number; readonly wayCount: number } | false;

/** x86-paging's default: 256 sets × 8 ways (2,048 entries, a current second-level TLB's size). */
export const TLB_DEFAULT: TlbGeometry = { setCount: 256, wayCount: 8 };

/** Sets offered: powers of two (x86-paging takes 1..65536). */
const SETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 16384, 65536];
/** Ways offered (x86-paging takes 1..32). */
const WAYS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32];
/** Real TLBs for the tooltips (Intel's optimization manual, Skylake / Haswell). */
const KNOWN: Record<string, string> = {
  '16x4': 'like an L1 dTLB for 4 KiB pages (64 entries, 4-way)',
  '128x8': "like Haswell's STLB (1,024 entries, 8-way)",
  '128x12': "like Skylake's STLB (1,536 entries, 12-way)",
  '256x8': "x86-paging's default (2,048 entries, 8-way)",
  '1024x2': '2,048 entries, 2-way',
  '1x32': 'fully associative, 32 entries',
};

/** The URL form of a geometry: null for the default, `off`, or `SETSxWAYS`. */
export function tlbParam(g: TlbGeometry): string | null {
  if (g === false) return 'off';
  if (TLB_DEFAULT !== false && g.setCount === TLB_DEFAULT.setCount && g.wayCount === TLB_DEFAULT.wayCount) return null;
  return `${g.setCount}x${g.wayCount}`;
}

/** A geometry from its URL form; the default for null or a malformed or unsupported one. */
export function parseTlbParam(text: string | null): TlbGeometry {
  if (text === 'off') return false;
  const m = text === null ? null : /^(\d{1,5})x(\d{1,2})$/.exec(text);
  if (m === null) return TLB_DEFAULT;
  const setCount = Number(m[1]);
  const wayCount = Number(m[2]);
  return SETS.includes(setCount) && WAYS.includes(wayCount) ? { setCount, wayCount } : TLB_DEFAULT;
}

/** The geometry the header's selects say now. */
export function tlbChoice(): TlbGeometry {
  const sets = $<HTMLSelectElement>('tlb-sets').value;
  return sets === 'off' ? false : { setCount: Number(sets), wayCount: Number($<HTMLSelectElement>('tlb-ways').value) };
}

function showChoice(): void {
  const sets = $<HTMLSelectElement>('tlb-sets');
  const ways = $<HTMLSelectElement>('tlb-ways');
  ways.disabled = sets.value === 'off';
  const key = `${sets.value}x${ways.value}`;
  sets.parentElement!.title = sets.value === 'off' ? 'no TLB: every access walks the page tables' : `${Number(sets.value) * Number(ways.value)} entries${KNOWN[key] === undefined ? '' : `, ${KNOWN[key]}`} (x86-paging's Tlb: one set-associative level; the set is a hash of the page number)`;
}

/** Fills the selects (from the link's `tlb`), and calls `changed` when someone picks another geometry. */
export function mountTlbChoice(fromLink: string | null, changed: () => void): void {
  const sets = $<HTMLSelectElement>('tlb-sets');
  const ways = $<HTMLSelectElement>('tlb-ways');
  sets.replaceChildren(h('option', { value: 'off' }, 'off'), ...SETS.map((n) => h('option', { value: String(n) }, `${n} sets`)));
  ways.replaceChildren(...WAYS.map((n) => h('option', { value: String(n) }, `${n} way${n === 1 ? '' : 's'}`)));
  const g = parseTlbParam(fromLink);
  sets.value = g === false ? 'off' : String(g.setCount);
  ways.value = String(g === false || TLB_DEFAULT === false ? 2 : g.wayCount);
  showChoice();
  for (const el of [sets, ways])
    el.addEventListener('change', () => {
      showChoice();
      changed();
    });
}
