// "Make an access": pick an address space, an address, read / write / fetch, user / supervisor, and
// see what the CPU and the kernel did — the TLB set and its ways, each level of the walk with the
// bits checked and the rule that applied, the #PF error code bit by bit with CR2, the kernel's
// decision, the retried access, the A/D bits set. The access is a step of the history (← undoes it).
import { virt } from '@kmem/x86-paging';
import { formatCanonical, formatPhysical, processViews, type AccessKind, type AccessMode, type AccessReport, type DemoSession } from '../../../src/scenarios/index';
import { h } from '../shell/dom';
import type { ViewContext, WebView } from '../shell/view';

function form(body: HTMLElement, ctx: ViewContext): HTMLFormElement {
  const f = h(
    'form',
    { id: 'access-form', class: 'walk-form' },
    h('select', { id: 'access-pid', title: 'whose address space' }),
    h('input', { id: 'access-address', spellcheck: 'false', autocomplete: 'off', placeholder: '0x0000_2aaa_aaaa_a000' }),
    h('select', { id: 'access-kind' }, h('option', { value: 'read' }, 'read'), h('option', { value: 'write' }, 'write'), h('option', { value: 'execute' }, 'execute')),
    h('select', { id: 'access-mode' }, h('option', { value: 'user' }, 'user (CPL 3)'), h('option', { value: 'supervisor' }, 'supervisor (CPL 0)')),
    h('button', { id: 'btn-access', type: 'submit' }, 'access'),
  );
  const pidSel = f.querySelector<HTMLSelectElement>('#access-pid')!;
  pidSel.addEventListener('change', () => (pidSel.dataset.chosen = pidSel.value));
  const error = h('div', { id: 'access-error', class: 'walk-result fault', hidden: '' });
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = f.querySelector<HTMLInputElement>('#access-address')!.value.trim().replace(/_/g, '');
    let va: number;
    try {
      va = virt(text);
    } catch (e) {
      error.hidden = false;
      error.textContent = `not a canonical address: ${(e as Error).message}`;
      return;
    }
    error.hidden = true;
    ctx.access({
      pid: Number(f.querySelector<HTMLSelectElement>('#access-pid')!.value),
      va,
      access: f.querySelector<HTMLSelectElement>('#access-kind')!.value as AccessKind,
      mode: f.querySelector<HTMLSelectElement>('#access-mode')!.value as AccessMode,
    });
  });
  body.append(f, error, h('div', { id: 'access-report', class: 'access-report' }));
  return f;
}

function section(title: string, ...children: (Node | string)[]): HTMLElement {
  return h('div', { class: 'access-step' }, h('h3', {}, title), ...children);
}

function report(r: AccessReport): HTMLElement[] {
  const out: HTMLElement[] = [h('div', { class: 'muted' }, `${r.request.mode} ${r.request.access} of ${r.vaHex} in ${r.space}`)];
  if (r.outcome === 'refused') return [...out, h('div', { class: 'walk-result fault' }, r.lines.join(' '))];
  if (r.tlb !== null) {
    const t = r.tlb;
    out.push(
      section(
        `1. TLB lookup: ${t.hit ? 'hit' : 'miss'}`,
        h('div', {}, `page ${formatCanonical(r.request.va - (r.request.va % 4096))} → set ${t.set} of ${t.setCount} (hash of the page number), PCID ${t.pcid}; the tag is compared in each of the ${t.wayCount} ways:`),
        h(
          'table',
          { class: 'grid' },
          h('tr', {}, h('th', {}, 'way'), h('th', {}, 'slot'), h('th', {}, 'page'), h('th', {}, 'pcid'), h('th', {}, 'G'), h('th', {}, 'compare')),
          ...t.ways.map((w, i) =>
            h('tr', { class: w.hit ? 'hit' : '' }, h('td', { class: 'num' }, String(i)), h('td', { class: 'num' }, String(w.slot)), h('td', {}, w.page ?? 'empty'), h('td', { class: 'num' }, w.page === null ? '' : String(w.pcid)), h('td', {}, w.global ? 'G' : ''), h('td', {}, w.hit ? 'match: hit' : w.page === null ? '—' : 'no match')),
          ),
        ),
        h('div', { class: 'muted' }, t.hit ? 'A hit: the CPU uses the cached translation and rights, no walk (a stale entry would be used too, SDM 4.10.2).' : 'A miss: the CPU walks the page tables from CR3 (SDM 4.10.2).'),
      ),
    );
  }
  if (r.tlb === null && r.walkBefore !== null) out.push(section('1. No TLB', h('div', {}, 'This CPU has no TLB (TLB off in the header): nothing is cached, every access walks the page tables from CR3.')));
  if (r.walkBefore !== null && !(r.tlb?.hit ?? false)) {
    out.push(
      section(
        `2. Walk from CR3 = ${formatPhysical(r.walkBefore.root)}`,
        ...r.checks.map((c) => h('div', { class: `access-level${c.stops ? ' stops' : ''}` }, h('span', { class: 'name' }, c.levelName), h('code', {}, c.raw), h('span', { class: 'bits' }, ...c.bits.map((b) => h('span', { class: b.endsWith('=1') ? 'on' : '' }, b))), h('div', { class: 'rule' }, c.rule))),
      ),
    );
  }
  r.faults.forEach((f, i) => {
    out.push(
      section(
        `${i === 0 ? '3' : '3′'}. #PF (vector 14), error code ${f.errorCodeHex}, CR2 = ${f.cr2}`,
        h('div', {}, f.description),
        h('table', { class: 'grid errcode' }, h('tr', {}, h('th', {}, 'bit'), h('th', {}, 'name'), h('th', {}, ''), h('th', {}, 'meaning')), ...f.bits.map((b) => h('tr', { class: b.set ? 'on' : '' }, h('td', { class: 'num' }, String(b.bit)), h('td', {}, b.name), h('td', {}, b.set ? '1' : '0'), h('td', {}, b.meaning)))),
        h('div', { class: `decision k-${f.resolution}` }, `kernel: ${f.decision}`),
      ),
    );
  });
  const end =
    r.outcome === 'ok'
      ? `${r.faults.length > 0 ? '4. retried: ' : ''}${r.vaHex} → ${r.result === null ? '?' : formatPhysical(r.result.pa)}${r.bitsSet.length > 0 ? `; the CPU set ${r.bitsSet.join(', ')} (SDM 4.8: A on every entry used, D on the leaf of a write)` : '; no A/D bit changed (already set, or a TLB hit)'}`
      : r.outcome === 'segv'
        ? 'the process was killed (SIGSEGV): nothing is retried'
        : r.outcome === 'panic'
          ? 'the kernel panicked: the machine is stopped (← goes back)'
          : `outcome: ${r.outcome}`;
  out.push(h('div', { class: `walk-result ${r.outcome === 'ok' ? 'ok' : 'fault'}` }, end));
  return out;
}

/** The panel. */
export const accessView: WebView = {
  id: 'access',
  title: 'Make an access',
  columns: 12,
  render(body: HTMLElement, s: DemoSession, ctx: ViewContext): void {
    const f = body.querySelector<HTMLFormElement>('#access-form') ?? form(body, ctx);
    const pidSel = f.querySelector<HTMLSelectElement>('#access-pid')!;
    // The address space someone chose stays chosen; otherwise the first process (the kernel before any).
    const keep = pidSel.dataset.chosen ?? '';
    const procs = s.booted && s.kernel.state === 'running' ? processViews(s.kernel).filter((p) => p.state === 'running') : [];
    pidSel.replaceChildren(...procs.map((p) => h('option', { value: String(p.pid) }, `pid ${p.pid} ${p.name}`)), h('option', { value: '0' }, 'kernel'));
    pidSel.value = Array.from(pidSel.querySelectorAll('option')).some((o) => o.value === keep) ? keep : (pidSel.querySelector('option')?.value ?? '0');
    f.querySelector<HTMLButtonElement>('#btn-access')!.disabled = !(s.booted && s.kernel.state === 'running');
    const box = body.querySelector<HTMLElement>('#access-report')!;
    const last = ctx.last();
    if (last === null || last.kind !== 'access') {
      for (const k of Object.keys(box.dataset)) delete box.dataset[k];
      box.replaceChildren(h('div', { class: 'muted' }, s.booted ? 'Pick an address space, an address and an access, then press access: it becomes the next step (← undoes it).' : 'Boot the kernel first (→).'));
      return;
    }
    const r = last.report;
    box.dataset.outcome = r.outcome;
    box.dataset.pa = r.result === null ? 'null' : String(r.result.pa);
    box.dataset.errorCodes = r.faults.map((x) => x.errorCode).join(',');
    box.dataset.resolutions = r.faults.map((x) => x.resolution).join(',');
    box.dataset.tlbHit = String(r.tlb?.hit ?? false);
    box.dataset.tlbSet = r.tlb === null ? 'none' : `${r.tlb.set}/${r.tlb.setCount}x${r.tlb.wayCount}`;
    box.dataset.bitsSet = r.bitsSet.join(',');
    box.replaceChildren(...report(r));
  },
};
