// A printable exercise sheet in Markdown: the questions, then (after a page break) the answers
// with their explanations, for the teacher.
import type { ExerciseSet } from './exercise';

/** The sheet of `set`; the answers start on a new printed page. */
export function quizSheet(set: ExerciseSet): string {
  const head = `# x86 paging exercises: ${set.kind} (seed ${set.seed}, difficulty ${set.difficulty})\n\nRegenerate with \`npx pnpm@10 demo quiz --kind ${set.kind} --seed ${set.seed} --difficulty ${set.difficulty} --count ${set.exercises.length} --sheet FILE.md\`.\n`;
  const given = `\n## Given\n\n\`\`\`\n${set.given.join('\n')}\n\`\`\`\n`;
  const questions = `\n## Questions\n\n${set.exercises.map((e) => `${e.number}. ${e.question}\n\n   Answer: ______________________\n`).join('\n')}`;
  const answers = `\n<div style="page-break-before: always"></div>\n\n## Answers (teacher's page)\n\n${set.exercises.map((e) => `${e.number}. **${e.answer}**\n\n   \`\`\`\n${e.explanation.map((l) => `   ${l}`).join('\n')}\n   \`\`\`\n`).join('\n')}`;
  return head + given + questions + answers;
}
