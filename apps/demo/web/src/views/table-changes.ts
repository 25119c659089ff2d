// "Which page-table entries changed in the last step": every entry of every table (the kernel's,
// each process's) whose value differs from what it was before the step, with its level, table,
// index, the linear range it covers, the old and new value (changed hex digits highlighted) and
// each changed field named (P, RW, US, PWT, PCD, A, D, PS / PAT, G, XD, the address, OS bits such
// as kernel-sim's swap entries). The diff is src/scenarios/page-table-diff.ts, on copies of the
// tables read from physical memory before and after the step.
import { entryHex, formatCanonical, formatPhysical, type DemoSession, type EntryChange } from '../../../src/scenarios/index';
import { h } from '../shell/dom';
import type { ViewContext, WebView } from '../shell/view';

/** Rows drawn at most (a fork or an exit changes a few hundred; the boot's remap ~1,700). */
const MAX_ROWS = 400;

/** The value's 16 hex digits, those that differ from `other`'s in <b>. */
function hexDiff(value: string, other: string): HTMLElement {
  const out = h('code', {});
  let run = '';
  let runChanged = false;
  const flush = (): void => {
    if (run === '') return;
    out.append(runChanged ? h('b', {}, run) : run);
    run = '';
  };
  for (let i = 0; i < value.length; i++) {
    const changed = value[i] !== other[i];
    if (changed !== runChanged) flush();
    runChanged = changed;
    run += value[i];
  }
  flush();
  return out;
}

const spaceName = (space: number): string => (space === 0 ? 'kernel' : `pid ${space}`);

function row(c: EntryChange, ctx: ViewContext): HTMLElement {
  const oldHex = entryHex(c.oldLo, c.oldHi);
  const newHex = entryHex(c.newLo, c.newHi);
  const tr = h(
    'tr',
    {
      class: `tc-${c.table}`,
      'data-level': c.levelName,
      'data-table': String(c.tableFrame),
      'data-index': String(c.index),
      'data-old': oldHex,
      'data-new': newHex,
      'data-fields': c.fields.map((f) => f.name).join(','),
      title: `entry at ${formatPhysical(c.entryPa)} = ${formatPhysical(c.tableFrame)} + 8 × ${c.index}; click: walk ${formatCanonical(c.vaStart)}`,
    },
    h('td', { class: 'tc-level' }, c.levelName),
    h('td', {}, `${formatPhysical(c.tableFrame)}[${c.index}]`, c.table === 'kept' ? '' : h('small', { class: 'tc-tag' }, c.table === 'new' ? ' new table' : ' table freed')),
    h('td', {}, `${formatCanonical(c.vaStart)}–${formatCanonical(c.vaEnd - 1)}`),
    h('td', {}, c.spaces.map(spaceName).join(', ')),
    h('td', { class: 'tc-hex' }, hexDiff(oldHex, newHex), h('span', { class: 'tc-arrow' }, ' → '), hexDiff(newHex, oldHex), h('div', { class: 'muted tc-meaning' }, `${c.oldMeaning} ⇒ ${c.newMeaning}`)),
    h('td', { class: 'tc-fields' }, h('div', { class: 'bits' }, ...c.fields.map((f) => h('span', { class: `on${f.name === 'XD' ? ' nx' : ''}`, 'data-bits': f.bits, title: `bit${f.bits.includes(':') ? 's' : ''} ${f.bits}: ${f.meaning}` }, `${f.name} ${f.old}→${f.new}`)))),
  );
  tr.addEventListener('click', () => {
    const space = c.spaces[0] ?? 0;
    ctx.walk(c.vaStart, space);
  });
  return tr;
}

/** The panel. */
export const tableChangesView: WebView = {
  id: 'table-changes',
  title: 'Page-table entries changed by the last step',
  columns: 12,
  render(body: HTMLElement, _s: DemoSession, ctx: ViewContext): void {
    const changes = ctx.tableChanges();
    if (changes === null) {
      body.dataset.count = '0';
      body.replaceChildren(h('div', { class: 'muted' }, 'Step (→) or make an access: every page-table entry the step changes shows here, old → new.'));
      return;
    }
    const tables = new Set(changes.map((c) => c.tableFrame));
    const made = new Set(changes.filter((c) => c.table === 'new').map((c) => c.tableFrame));
    const freed = new Set(changes.filter((c) => c.table === 'freed').map((c) => c.tableFrame));
    body.dataset.count = String(changes.length);
    const summary = h(
      'div',
      { class: 'muted', id: 'table-changes-summary' },
      changes.length === 0
        ? 'The last step changed no page-table entry (no table, no A or D bit).'
        : `${changes.length} entr${changes.length === 1 ? 'y' : 'ies'} in ${tables.size} table${tables.size === 1 ? '' : 's'} changed` +
            `${made.size > 0 ? ` · ${made.size} new table${made.size === 1 ? '' : 's'} (old value: 0)` : ''}${freed.size > 0 ? ` · ${freed.size} table${freed.size === 1 ? '' : 's'} freed (new value: 0)` : ''}` +
            ' · changed hex digits in bold, each changed field named (hover: its meaning); click a row to walk it',
    );
    if (changes.length === 0) {
      body.replaceChildren(summary);
      return;
    }
    const table = h(
      'table',
      { class: 'grid tc-table', id: 'table-changes' },
      h('tr', {}, h('th', {}, 'level'), h('th', {}, 'table[index]'), h('th', {}, 'covers'), h('th', {}, 'in'), h('th', {}, 'old → new'), h('th', {}, 'changed fields')),
      ...changes.slice(0, MAX_ROWS).map((c) => row(c, ctx)),
    );
    const more = changes.length > MAX_ROWS ? [h('div', { class: 'muted' }, `… and ${changes.length - MAX_ROWS} more (the first ${MAX_ROWS} by address are shown)`)] : [];
    body.replaceChildren(summary, h('div', { class: 'tc-scroll' }, table), ...more);
  },
};
