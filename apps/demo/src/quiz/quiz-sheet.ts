// Printable exercise sheets, in Markdown and in self-contained HTML: the questions, then (on a new
// printed page) the answers with their explanations, for the teacher.
import type { ExerciseSet } from './exercise';

function title(set: ExerciseSet): string {
  return `x86 paging exercises: ${set.kind}${set.mode !== undefined ? ` (${set.mode})` : ''} (seed ${set.seed}, difficulty ${set.difficulty})`;
}

/** The command that writes this sheet again (`ext`: md or html). */
export function sheetCommand(set: ExerciseSet, ext: 'md' | 'html'): string {
  return `npx pnpm@10 demo quiz --kind ${set.kind}${set.mode !== undefined ? ` --mode ${set.mode}` : ''} --seed ${set.seed} --difficulty ${set.difficulty} --count ${set.exercises.length} --sheet FILE.${ext}`;
}

/** The Markdown sheet of `set`; the answers start on a new printed page. */
export function quizSheet(set: ExerciseSet): string {
  const head = `# ${title(set)}\n\nRegenerate with \`${sheetCommand(set, 'md')}\`.\n`;
  const given = `\n## Given\n\n\`\`\`\n${set.given.join('\n')}\n\`\`\`\n`;
  const questions = `\n## Questions\n\n${set.exercises.map((e) => `${e.number}. ${e.question}\n\n   Answer: ______________________\n`).join('\n')}`;
  const answers = `\n<div style="page-break-before: always"></div>\n\n## Answers (teacher's page)\n\n${set.exercises.map((e) => `${e.number}. **${e.answer}**\n\n   \`\`\`\n${e.explanation.map((l) => `   ${l}`).join('\n')}\n   \`\`\`\n`).join('\n')}`;
  return head + given + questions + answers;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const SHEET_CSS = `body { font: 11pt/1.45 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #111; }
h1 { font-size: 16pt; } h2 { font-size: 13pt; margin-top: 1.6rem; }
pre { font: 9pt/1.35 ui-monospace, monospace; white-space: pre-wrap; overflow-wrap: anywhere; background: #f4f4f4; padding: 0.5rem; }
ol.questions > li { margin-bottom: 1.4rem; break-inside: avoid; }
.blank { display: block; margin-top: 0.6rem; border-bottom: 1px solid #888; height: 1.6rem; }
section.answers { break-before: page; page-break-before: always; margin-top: 3rem; border-top: 2px dashed #888; }
section.answers li { break-inside: avoid; margin-bottom: 0.8rem; }
code { font-family: ui-monospace, monospace; }
@media print { body { margin: 0; max-width: none; } pre { background: none; border: 1px solid #ccc; } section.answers { margin-top: 0; border-top: none; } }`;

/**
 * The sheet of `set` as one self-contained HTML document (inline CSS, no scripts, nothing
 * fetched): the given and the questions with a line to answer on, then the answers with their
 * explanations in a section that starts a new printed page (CSS `break-before: page`).
 */
export function quizSheetHtml(set: ExerciseSet): string {
  const t = escapeHtml(title(set));
  const li = (inner: string): string => `<li>${inner}</li>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${t}</title>
<style>
${SHEET_CSS}
</style>
</head>
<body>
<h1>${t}</h1>
<p>Regenerate with <code>${escapeHtml(sheetCommand(set, 'html'))}</code>. Name: ______________________</p>
<h2>Given</h2>
<pre class="given">${escapeHtml(set.given.join('\n'))}</pre>
<h2>Questions</h2>
<ol class="questions">
${set.exercises.map((e) => li(`${escapeHtml(e.question)}<span class="blank"></span>`)).join('\n')}
</ol>
<section class="answers">
<h2>Answers (teacher's page)</h2>
<ol>
${set.exercises.map((e) => li(`<strong class="answer">${escapeHtml(e.answer)}</strong><pre>${escapeHtml(e.explanation.join('\n'))}</pre>`)).join('\n')}
</ol>
</section>
</body>
</html>
`;
}
