import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * vitest's order (project by project, by name; in each, the slowest file of the last run first,
 * else the largest) with the repo-level project first: its six files start processes (TypeDoc,
 * pnpm pack, the examples) and the docs build is the longest file of the run, so it starts at
 * once instead of running alone at the end while the other core idles.
 */
class RepoFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return [...sorted.filter((f) => f.project.name === 'repo'), ...sorted.filter((f) => f.project.name !== 'repo')];
  }
}

// One run, every package a project: `pnpm test` prints one summary for the whole repo.
// Run one package alone with `pnpm vitest run --project @kmem/pmm-bitmap`.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tests'],
    // vitest's default for `run` is one worker fewer than the cores: on a 2-core machine that is a
    // single worker, every test file in series while a core idles. The files spend their time in
    // the workers (the main process only transforms sources), so use every core.
    maxWorkers: availableParallelism(),
    sequence: { sequencer: RepoFilesFirst },
  },
});
