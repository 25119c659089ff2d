// src/tlsf-words.ts is generated from src/tlsf.ts (scripts/gen-tlsf-words.ts): this fails when
// someone changed one without regenerating, so the two TLSF shapes never drift apart.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tlsfWordsSource } from '../scripts/gen-tlsf-words';

const src = join(import.meta.dirname, '..', 'src');

describe('TlsfWords', () => {
  it('is exactly what the generator makes of tlsf.ts', () => {
    const expected = tlsfWordsSource(readFileSync(join(src, 'tlsf.ts'), 'utf8'));
    expect(readFileSync(join(src, 'tlsf-words.ts'), 'utf8')).toBe(expected);
  });

  it('has no access through the port left', () => {
    const text = readFileSync(join(src, 'tlsf-words.ts'), 'utf8');
    expect(text).not.toMatch(/\bm\.(rd|wr)\(/);
  });
});
