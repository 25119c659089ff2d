// `pnpm changeset` + `pnpm changeset version` bump one package and leave the others alone:
// packages are versioned independently (.changeset/config.json has no fixed or linked groups).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'kmem-changeset-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function versions(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(dir, group))) {
      const json = JSON.parse(readFileSync(join(dir, group, name, 'package.json'), 'utf8')) as { name: string; version: string };
      out[json.name] = json.version;
    }
  }
  return out;
}

describe('changeset version', () => {
  it('bumps only the package a changeset names', () => {
    // A copy of the workspace's manifests and changeset config, without node_modules.
    for (const file of ['package.json', 'pnpm-workspace.yaml']) cpSync(join(root, file), join(scratch, file));
    cpSync(join(root, '.changeset', 'config.json'), join(scratch, '.changeset', 'config.json'));
    for (const group of ['packages', 'apps']) {
      for (const name of readdirSync(join(root, group))) {
        cpSync(join(root, group, name, 'package.json'), join(scratch, group, name, 'package.json'));
      }
    }
    const before = versions(scratch);
    writeFileSync(join(scratch, '.changeset', 'tidy-frames-sing.md'), '---\n"@kmem/pmm-bitmap": minor\n---\n\nA test change.\n');
    execFileSync(process.execPath, [join(root, 'node_modules', '@changesets', 'cli', 'bin.js'), 'version'], { cwd: scratch, stdio: 'pipe' });
    const after = versions(scratch);

    const [major, minor] = before['@kmem/pmm-bitmap']!.split('.').map(Number);
    expect(after['@kmem/pmm-bitmap']).toBe(major === 0 ? `0.${minor! + 1}.0` : `${major}.${minor! + 1}.0`);
    // kernel-sim depends on pmm-bitmap with `workspace:^`; a 0.x minor bump leaves that caret
    // range, so changesets gives the dependent a patch bump for the new range. Nothing else moves.
    const [kMajor, kMinor, kPatch] = before['@kmem/kernel-sim']!.split('.').map(Number);
    expect(after['@kmem/kernel-sim']).toBe(`${kMajor}.${kMinor}.${kPatch! + 1}`);
    for (const [name, version] of Object.entries(before)) {
      if (name === '@kmem/pmm-bitmap' || name === '@kmem/kernel-sim') continue;
      expect(after[name], name).toBe(version);
    }
    expect(readFileSync(join(scratch, 'packages', 'pmm-bitmap', 'CHANGELOG.md'), 'utf8')).toContain('A test change.');
  });
});
