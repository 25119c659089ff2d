// Writes src/tlsf-words.ts from src/tlsf.ts: the same TLSF, with every word access through the
// `Mem` port (`m.rd(off)`, `m.wr(off, v)`) rewritten as a direct `Int32Array` access
// (`w[(off) >> 2]`). The heap picks that class when its backing offers `words32()` (a plain
// ArrayBuffer), and the port one otherwise (kernel-sim, where every access goes through the MMU).
// One source, two compiled shapes: V8 inlines a typed-array access, where ~60 port calls in
// `alloc`/`free` exhaust its inlining budget. test/tlsf-words-generated.test.ts fails when the
// file is stale.
//
//   node --import tsx packages/kheap/scripts/gen-tlsf-words.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Index of the parenthesis closing the one opened at `open`. */
function closing(src: string, open: number): number {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    const ch = src[i];
    if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i;
  }
  throw new Error(`unbalanced parenthesis at ${open}`);
}

/** Splits `args` at its top-level commas. */
function splitArgs(args: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < args.length; i++) {
    const ch = args[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(args.slice(from, i).trim());
      from = i + 1;
    }
  }
  out.push(args.slice(from).trim());
  return out;
}

/**
 * Rewrites `[this.]m.rd(E)` to `[this.]w[(E) >> 2]!` and `[this.]m.wr(E, V)` to
 * `[this.]w[(E) >> 2] = V`; the word-numbered `m.rdw(Q)` / `m.wrw(Q, V)` to `w[Q]!` / `w[Q] = V`.
 */
function rewriteAccesses(src: string): string {
  const call = /(this\.)?\bm\.(rdw|wrw|rd|wr)\(/g;
  let out = '';
  let at = 0;
  for (let hit = call.exec(src); hit !== null; hit = call.exec(src)) {
    const open = hit.index + hit[0].length - 1;
    const close = closing(src, open);
    const args = splitArgs(src.slice(open + 1, close));
    const w = `${hit[1] ?? ''}w`;
    out += src.slice(at, hit.index);
    const index = hit[2]!.endsWith('w') ? args[0] : `(${args[0]}) >> 2`;
    if (hit[2]!.startsWith('rd')) out += `${w}[${index}]!`;
    else out += `${w}[${index}] = ${args[1]}`;
    at = close + 1;
    call.lastIndex = at;
  }
  return out + src.slice(at);
}

/** The text of src/tlsf-words.ts for the text of src/tlsf.ts. */
export function tlsfWordsSource(tlsf: string): string {
  let s = rewriteAccesses(tlsf);
  // Locals: `const m = this.m;` becomes the words view; what still needs the port (byte fills,
  // pattern checks) reaches it through `this.m`.
  s = s.replace(/const m = this\.m;/g, 'const w = this.w;');
  s = s.replace(/(?<!this\.)\bm\.(fill8|rd8|wr8|copy)\(/g, (_all, op: string) => `this.m.${op}(`);
  s = s.replace(/firstMismatch\(m,/g, 'firstMismatch(this.m,');
  s = s.replace('export class Tlsf {', 'export class TlsfWords {');
  s = s.replace('/** The medium-size allocator. */', '/** The medium-size allocator, over a backing that offers its memory as one `Int32Array` (`words32()`). */');
  s = s.replace('    private readonly m: Mem,\n', '    private readonly m: Mem,\n    /** The backing\'s memory as words: index = offset / 4. */\n    private readonly w: Int32Array,\n');
  const header =
    '// GENERATED from tlsf.ts by scripts/gen-tlsf-words.ts: do not edit; change tlsf.ts and run\n' +
    '//   node --import tsx packages/kheap/scripts/gen-tlsf-words.ts\n' +
    '// Word accesses go straight to an Int32Array instead of through the Mem port.\n';
  return header + s;
}

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const src = join(here, '..', 'src');
  writeFileSync(join(src, 'tlsf-words.ts'), tlsfWordsSource(readFileSync(join(src, 'tlsf.ts'), 'utf8')));
}
