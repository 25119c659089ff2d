// The text report of `kmem-demo inspect`.
import { formatMappingViews } from '@kmem/kernel-sim';
import type { InspectResult } from './run-inspect';

function mib(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`;
}

/**
 * The report: dump and registers, paging state, the tables' footprint, mappings (at most `limit`
 * lines, 0 = all), walks, backing frames, lint findings, diff.
 */
export function renderInspectReport(r: InspectResult, limit: number): string {
  const out: string[] = [];
  out.push(`dump      ${r.dump.path} (${r.dump.format}, ${mib(r.dump.fileBytes)}); RAM ${r.dump.ram.map((x) => `${x.start}-${x.end}`).join(' ')}`);
  const regs = Object.entries(r.registers).map(([k, v]) => `${k.toUpperCase()}=${v.value}${v.source === 'dump' ? '' : ` (${v.source})`}`);
  out.push(`registers ${regs.join(' ')}`);
  if (r.registers.efer!.source === 'assumed') out.push('          EFER assumed LME|LMA|NXE: QEMU dumps carry no EFER (give --efer, e.g. from `info registers`)');
  const p = r.paging;
  const bits = [p.nxe ? 'NXE' : 'no NXE', p.wp ? 'WP' : 'no WP', ...(p.pge ? ['PGE'] : []), ...(p.smep ? ['SMEP'] : []), ...(p.smap ? ['SMAP'] : []), ...(p.pke ? ['PKE'] : [])];
  out.push(`paging    4-level, PML4 at ${p.rootPa}${p.pcid !== 0 ? ` PCID ${p.pcid}` : ''}; ${bits.join(', ')}; MAXPHYADDR ${p.maxPhysAddr}`);
  const t = r.tables;
  out.push(`tables    ${t.count} (${t.byLevel.PML4} PML4, ${t.byLevel.PDPT} PDPT, ${t.byLevel.PD} PD, ${t.byLevel.PT} PT) = ${mib(t.sizeBytes)}${t.shared > 0 ? `; ${t.shared} reached from several entries` : ''}`);
  out.push(`leaves    ${t.leaves.page4K} x 4K, ${t.leaves.page2M} x 2M, ${t.leaves.page1G} x 1G; ${t.framesReadFromFile} frames read from the file in ${r.elapsedMs} ms`);
  const shown = limit === 0 ? r.mappings : r.mappings.slice(0, limit);
  out.push('', `mappings  ${r.mappingCount} ranges (start-end size rights page memory-type global -> physical)${shown.length < r.mappingCount ? `; first ${shown.length} shown (--limit 0 for all)` : ''}`);
  if (shown.length > 0) out.push(formatMappingViews(shown));
  for (const w of r.walks) out.push('', w.text);
  for (const f of r.frames) {
    out.push('', `frames backing ${f.start}-${f.end}:`);
    for (const piece of f.pieces) out.push(`  ${piece.start}-${piece.end}  ${piece.pa === null ? 'not mapped' : `${piece.rights} -> ${piece.pa}`}`);
  }
  if (r.lint !== null) {
    const n = (s: string): number => r.lint!.findings.filter((f) => f.severity === s).length;
    out.push('', `lint      ${r.lint.findings.length} findings: ${n('error')} error, ${n('warning')} warning, ${n('info')} info${r.lint.failed ? ` (fails: --fail-on ${r.lint.failOn})` : ''}`);
    for (const f of r.lint.findings) {
      const range = f.start === null ? '' : f.end === null ? ` at ${f.start}` : ` ${f.start}-${f.end}${f.pageCount === null ? '' : ` (${f.pageCount} pages)`}`;
      out.push(`  ${f.severity.padEnd(7)} ${f.rule}${range}: ${f.message}`, `          why: ${f.why}`);
      const entries = f.entries.slice(0, 4).map((e) => `${e.level} @${e.entryPa} = ${e.raw} ${e.flags.join(' ')}`);
      if (entries.length > 0) out.push(`          entries: ${entries.join('; ')}${f.entries.length > 4 ? `; ... ${f.entries.length - 4} more` : ''}`);
    }
  }
  if (r.diff !== null) {
    const n = (k: string): number => r.diff!.entries.filter((e) => e.kind === k).length;
    out.push('', `diff      against ${r.diff.against}: ${n('added')} added, ${n('removed')} removed, ${n('changed')} changed`);
    for (const d of r.diff.text) out.push(`  ${d.kind === 'added' ? '+' : d.kind === 'removed' ? '-' : '~'} ${d.start}-${d.end}  ${d.what}`);
  }
  return out.join('\n');
}

