// `npm run synth`'s command line, in real processes: --help, --check (what CI runs instead of
// `git status`), and every other argument refused in one line with exit code 2.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { GENERATED_HEADER } from '../lib/layout';
import { oneLine, PROCESS_TEST_TIMEOUT, runScript } from './support/cli';
import { BASE_FLEET } from './support/fleet';
import { readTree, workspace, Workspace, writeFile } from './support/tree';

jest.setTimeout(PROCESS_TEST_TIMEOUT);

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function freshWorkspace(fleet = BASE_FLEET): Workspace {
  const ws = workspace(fleet);
  roots.push(ws.root);
  return ws;
}

/** Runs synth in `ws` and asserts that the folder is byte for byte as it was. */
function runWritingNothing(ws: Workspace, args: string[], env: NodeJS.ProcessEnv = {}) {
  const before = readTree(ws.root);
  const run = runScript(ws, 'synth', args, env);
  expect(readTree(ws.root)).toEqual(before);
  return run;
}

describe('npm run synth -- --help', () => {
  test.each([['--help'], ['-h']])('%s prints what synth does and its options, exits 0 and writes nothing', (flag) => {
    const ws = freshWorkspace();
    const run = runWritingNothing(ws, [flag]);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^Usage: npm run synth/);
    expect(run.stdout).toContain('dist/clusters/<cluster>/');
    for (const option of ['--check', '--no-secrets', '--keep-changed', '-h, --help']) expect(run.stdout).toMatch(new RegExp(`^  ${option}  `, 'm'));
  });

  test('wins over the other options: --check --help only prints', () => {
    const run = runWritingNothing(freshWorkspace(), ['--check', '--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage:/);
  });
});

describe('arguments synth does not take', () => {
  test.each([
    [['staging'], 'synth takes no arguments, got "staging": it synthesizes every cluster of the fleet file (see npm run synth -- --help)'],
    [['--', 'staging'], 'synth takes no arguments, got "staging": it synthesizes every cluster of the fleet file (see npm run synth -- --help)'],
    [['--frob'], 'unknown option --frob (see npm run synth -- --help)'],
    [['-x'], 'unknown option -x (see npm run synth -- --help)'],
    [['--check=yes'], '--check takes no value (see npm run synth -- --help)'],
    [['--no-secrets', '--dry-run'], 'unknown option --dry-run (see npm run synth -- --help)'],
  ])('%j: exit 2, one line, nothing written', (args, line) => {
    const run = runWritingNothing(freshWorkspace(), args);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`${line}\n`);
  });
});

describe('npm run synth -- --check', () => {
  const NO_SECRETS = { FLUX_INFRA_NO_SECRETS: '1' };

  test('exit 0 with one line when dist/ and .sops.yaml are what synth makes', () => {
    const ws = freshWorkspace();
    expect(runScript(ws, 'synth', [], NO_SECRETS).status).toBe(0);
    const run = runWritingNothing(ws, ['--check'], NO_SECRETS);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe(`dist: up to date (${ws.distDir}/ and ${ws.sopsConfigFile} are what synth makes)\n`);
  });

  test('a file edited, one synth no longer makes, and a stale .sops.yaml: exit 1, one line naming each, nothing written', () => {
    const ws = freshWorkspace();
    expect(runScript(ws, 'synth', [], NO_SECRETS).status).toBe(0);
    const apps = join(ws.distDir, 'clusters', 'staging', 'apps.yaml');
    writeFile(apps, `${readTree(ws.distDir)['clusters/staging/apps.yaml']}# edited by hand\n`);
    writeFile(join(ws.distDir, 'clusters', 'old', 'apps.yaml'), `${GENERATED_HEADER}\n{}\n`);
    writeFile(ws.sopsConfigFile, `${GENERATED_HEADER}\ncreation_rules: []\n`);
    const run = runWritingNothing(ws, ['--check'], NO_SECRETS);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`synth would change 3 file(s): ${apps} (changed), ${join(ws.distDir, 'clusters', 'old', 'apps.yaml')} (removed), ${ws.sopsConfigFile} (removed); run npm run synth and commit the result\n`);
    // What --check named is what synth then does.
    expect(runScript(ws, 'synth', [], NO_SECRETS).stderr).toContain('dist: 1 file(s) written, 1 stale file(s) removed');
    expect(runScript(ws, 'synth', ['--check'], NO_SECRETS).status).toBe(0);
  });

  test('a cluster new to the fleet, with secrets: its files are named new, and no token is made or stored', () => {
    const ws = freshWorkspace();
    const run = runWritingNothing(ws, ['--check']);
    expect(run.status).toBe(1);
    const staging = join(ws.distDir, 'clusters', 'staging');
    const line = oneLine(run.stderr);
    for (const file of ['README.md', 'apps.yaml', 'flux-system/kustomization.yaml', 'receivers.yaml', 'sources.yaml']) {
      expect(line).toContain(`${join(staging, file)} (new)`);
    }
  });

  test('a wrong fleet file: exit 1, one line naming the mistake, nothing written', () => {
    const run = runWritingNothing(freshWorkspace(BASE_FLEET.replace('interval: 1h', 'interval: soon')), ['--check'], NO_SECRETS);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^synth --check failed, nothing written: .*fleet\.yaml:\d+:\d+: .*interval[^\n]*\n$/);
  });

  test('a synth killed half-way left dist/ to be put right: exit 1, one line saying what to run, nothing written', () => {
    const ws = freshWorkspace();
    expect(runScript(ws, 'synth', [], NO_SECRETS).status).toBe(0);
    writeFile(join(ws.root, '.dist.old', 'clusters', 'staging', 'apps.yaml'), `${GENERATED_HEADER}\n{}\n`);
    const run = runWritingNothing(ws, ['--check'], NO_SECRETS);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^synth --check failed, nothing written: a synth was interrupted \(.*\.dist\.old left beside .*\): run npm run synth, [^\n]*\n$/);
  });
});
