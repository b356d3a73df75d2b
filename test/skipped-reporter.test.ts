// The skip list at the end of `npm test` (test/support/skipped-reporter.js): jest runs as a child
// process, with the tools that testWith checks for hidden from its PATH or stood in for, and what it
// prints after its own summary is compared line by line.
import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const JEST = join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
const REPORTER = join(ROOT, 'test', 'support', 'skipped-reporter.js');
const EXTERNAL_TOOLS = join(ROOT, 'test', 'support', 'external-tools');
/** A bound on each child jest, which takes a few seconds. */
const CHILD_BOUND_MS = 120_000;

let scratch: string;
/** Tests that use testWith as the suite's do, and a file with a skip that gives no reason. */
let fixtures: string;
/** A PATH with stand-ins for age and kubectl (`--version` succeeds), and one with neither. */
let withTools: string;
let withoutTools: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'flux-infra-skipped-'));
  fixtures = join(scratch, 'fixtures');
  mkdirSync(fixtures);
  writeFileSync(join(fixtures, 'checks.test.ts'), [
    `import { testNeeding, testWith } from ${JSON.stringify(EXTERNAL_TOOLS)};`,
    `testWith('age', 'opens the file with the age CLI', () => expect(1).toBe(1));`,
    `describe('keys', () => testWith('age', 'the age CLI accepts the key', () => expect(1).toBe(1)));`,
    `describe('overlays', () => testWith('kubectl', 'builds flux-system', () => expect(1).toBe(1)));`,
    `testNeeding(true, 'a full disk', 'fills the disk', () => expect(1).toBe(1));`,
    `test('runs anywhere', () => expect(1).toBe(1));`,
    '',
  ].join('\n'));
  writeFileSync(join(fixtures, 'plain-skip.test.ts'), `test.skip('not ready yet', () => undefined);\ntest('runs', () => expect(1).toBe(1));\n`);
  withTools = join(scratch, 'tools');
  withoutTools = join(scratch, 'no-tools');
  mkdirSync(withTools);
  mkdirSync(withoutTools);
  for (const tool of ['age', 'kubectl']) writeFileSync(join(withTools, tool), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Jest on the fixtures with the suite's reporters, `PATH` as given, and CI's requirement off unless `env` sets it. */
function jestOnFixtures(path: string, args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const config = {
    rootDir: fixtures,
    testEnvironment: 'node',
    cacheDirectory: join(scratch, 'cache'),
    transform: { '^.+\\.ts$': [require.resolve('@swc/jest'), { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
    reporters: ['default', REPORTER],
  };
  return runJest(['--config', JSON.stringify(config), ...args], path, env);
}

function runJest(args: string[], path: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const inherited = { ...process.env };
  delete inherited.FLUX_INFRA_REQUIRE_TOOLS;
  return spawnSync(process.execPath, [JEST, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...inherited, PATH: path, ...env }, timeout: CHILD_BOUND_MS, killSignal: 'SIGKILL' });
}

/** What jest printed after its summary's last line. */
function afterSummary(result: SpawnSyncReturns<string>): string[] {
  const summary = result.stderr.lastIndexOf('\nRan all test suites');
  expect(summary).toBeGreaterThan(0);
  const end = result.stderr.indexOf('\n', summary + 1);
  return result.stderr.slice(end + 1).split('\n').filter((line) => line !== '');
}

test('lists each skipped check under what it needs, after the summary', () => {
  const result = jestOnFixtures(withoutTools, []);
  expect(result.status).toBe(0);
  expect(result.stderr).toMatch(/^Tests: +4 skipped, 3 passed, 7 total$/m);
  expect(afterSummary(result).sort()).toEqual([
    'skipped: 2 checks need the age CLI (apt-get install age):',
    '  checks.test.ts › opens the file with the age CLI',
    '  checks.test.ts › keys › the age CLI accepts the key',
    'skipped: 1 check needs kubectl, for its built-in kustomize:',
    '  checks.test.ts › overlays › builds flux-system',
    'skipped: 1 check giving no reason:',
    '  plain-skip.test.ts › not ready yet',
  ].sort());
  // Each group's names follow its own heading.
  const lines = afterSummary(result);
  const kubectl = lines.indexOf('skipped: 1 check needs kubectl, for its built-in kustomize:');
  expect(lines[kubectl + 1]).toBe('  checks.test.ts › overlays › builds flux-system');
}, CHILD_BOUND_MS);

test('lists nothing when every check ran', () => {
  const result = jestOnFixtures(withTools, ['checks.test.ts']);
  expect(result.status).toBe(0);
  expect(result.stderr).toMatch(/^Tests: +5 passed, 5 total$/m);
  expect(afterSummary(result)).toEqual([]);
  expect(result.stderr).not.toMatch(/^skipped:/m);
}, CHILD_BOUND_MS);

test('does not list the tests a name pattern filtered out', () => {
  const result = jestOnFixtures(withTools, ['-t', 'runs anywhere']);
  expect(result.status).toBe(0);
  expect(result.stderr).toMatch(/^Tests: +6 skipped, 1 passed, 7 total$/m);
  expect(afterSummary(result)).toEqual([]);
}, CHILD_BOUND_MS);

test('where CI requires the tools, a missing one fails its checks instead of listing them', () => {
  const result = jestOnFixtures(withoutTools, ['checks.test.ts'], { FLUX_INFRA_REQUIRE_TOOLS: '1' });
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/^Tests: +3 failed, 2 passed, 5 total$/m);
  expect(result.stderr).toContain('age is not on PATH, and FLUX_INFRA_REQUIRE_TOOLS=1 says this check must run here');
  expect(afterSummary(result)).toEqual([]);
}, CHILD_BOUND_MS);

test('the suite\'s own kubectl checks say what they need, with the project\'s jest configuration', () => {
  const result = runJest(['test/kustomize.test.ts'], withoutTools);
  expect(result.status).toBe(0);
  const lines = afterSummary(result);
  expect(lines[0]).toMatch(/^skipped: \d+ checks need kubectl, for its built-in kustomize:$/);
  expect(lines.length).toBe(Number(/^skipped: (\d+)/.exec(lines[0])![1]) + 1);
  for (const name of lines.slice(1)) expect(name).toMatch(/^ {2}test\/kustomize\.test\.ts › kubectl kustomize /);
}, CHILD_BOUND_MS);
