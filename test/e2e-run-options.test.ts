// `npm run test:e2e -- --keep` and `npm run test:e2e -- walkthrough`, as docs/end-to-end.md gives
// them: what run.ts takes from them, and which scenario files jest then runs (the real jest, with
// the suite's configuration, listing without running: no control plane needed).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runOptions } from './e2e/run-options';

const ROOT = join(__dirname, '..');

function scenarioFilesJestRuns(jestArgs: readonly string[]): string[] {
  const listed = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '-c', join(ROOT, 'test', 'e2e', 'jest.config.js'), '--listTests', ...jestArgs], { cwd: ROOT, encoding: 'utf8' });
  expect(listed.status).toBe(0);
  return listed.stdout.trim().split('\n').filter(Boolean).map((file) => relative(ROOT, file)).sort();
}

test('--keep is run.ts\'s own: the control plane stays up, and jest runs every scenario', () => {
  expect(runOptions(['--keep'])).toEqual({ keep: true, jestArgs: [] });
  const scenarios = readdirSync(join(ROOT, 'test', 'e2e')).filter((name) => name.endsWith('.e2e.ts')).map((name) => join('test', 'e2e', name)).sort();
  expect(scenarioFilesJestRuns(runOptions(['--keep']).jestArgs)).toEqual(scenarios);
});

test('walkthrough goes to jest, which then runs the walkthrough scenario alone', () => {
  expect(runOptions(['walkthrough'])).toEqual({ keep: false, jestArgs: ['walkthrough'] });
  expect(scenarioFilesJestRuns(runOptions(['walkthrough']).jestArgs)).toEqual([join('test', 'e2e', 'walkthrough.e2e.ts')]);
});
