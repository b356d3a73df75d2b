// Files flux-infra reads but did not write, replaced by a link or a special file (planted, or
// pulled with git): every read goes through lib/io/safe-read.ts, so synth and doctor refuse them in
// one line and end at once, with the lock released, instead of reading /dev/zero to exhaustion or
// hanging on a FIFO. Commands run as real processes, each killed if it outlives its bound.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oneLine, PROCESS_TEST_TIMEOUT, runScript } from './support/cli';
import { BASE_FLEET } from './support/fleet';
import { TOKEN } from './support/synth';
import { git } from './support/git';
import { readTree, workspace, Workspace, workspaceAt } from './support/tree';

/** Far above what a refusal takes: only a hang reaches it, and then the process is killed, not waited for. */
const BOUND_MS = 20_000;

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/** The command ended by itself (not killed at the bound) with exit 1 and `message` as its one line on stderr. */
function expectRefused(result: ReturnType<typeof runScript>, message: string | RegExp): void {
  expect({ signal: result.signal, status: result.status }).toEqual({ signal: null, status: 1 });
  expect(oneLine(result.stderr)).toMatch(message);
}

/** No lock is left held: the next synth gets it at once. */
function expectLockReleased(ws: Workspace): void {
  expect(existsSync(join(ws.root, '.flux-infra.lock'))).toBe(false);
}

/** A workspace synthesized once by npm run synth (which leaves its render cache), with `apps.yaml` of staging as the planted file's place. */
function synthesized(): { ws: Workspace; apps: string } {
  const ws = workspace(BASE_FLEET);
  expect(runScript(ws, 'synth', ['--no-secrets']).status).toBe(0);
  const apps = join(ws.distDir, 'clusters', 'staging', 'apps.yaml');
  return { ws, apps };
}

describe('in place of a generated file in dist/', () => {
  test('a link to /dev/zero is refused by synth and doctor in one line, never read', () => {
    const { ws, apps } = synthesized();
    rmSync(apps);
    symlinkSync('/dev/zero', apps);
    expectRefused(runScript(ws, 'synth', ['--no-secrets'], {}, BOUND_MS), `${apps} is a symbolic link, which flux-infra never follows: replace it with a real file (and check where it pointed)`);
    expectLockReleased(ws);
    const doctor = runScript(ws, 'webhook', ['doctor', 'staging'], { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN }, BOUND_MS);
    expect({ signal: doctor.signal, status: doctor.status }).toEqual({ signal: null, status: 1 });
    expect(doctor.stdout).toContain(`problem: ${apps} is a symbolic link, which flux-infra never follows`);
  }, PROCESS_TEST_TIMEOUT * 2);

  test('a FIFO is refused by synth and doctor in one line, without waiting on it', () => {
    const { ws, apps } = synthesized();
    rmSync(apps);
    mkfifo(apps);
    expectRefused(runScript(ws, 'synth', ['--no-secrets'], {}, BOUND_MS), `${apps} is not a regular file (a folder, FIFO, socket or device), which flux-infra never reads: move it away`);
    expectLockReleased(ws);
    const doctor = runScript(ws, 'webhook', ['doctor', 'staging'], { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN }, BOUND_MS);
    expect({ signal: doctor.signal, status: doctor.status }).toEqual({ signal: null, status: 1 });
    expect(doctor.stdout).toContain(`problem: ${apps} is not a regular file`);
  }, PROCESS_TEST_TIMEOUT * 2);
});

test('a FIFO as the token file is refused in one line, and the lock released', () => {
  const ws = workspace(BASE_FLEET);
  mkdirSync(join(ws.secretsDir, 'staging'), { recursive: true, mode: 0o700 });
  const tokenFile = join(ws.secretsDir, 'staging', 'webhook-token');
  mkfifo(tokenFile);
  expectRefused(runScript(ws, 'synth', [], {}, BOUND_MS), `${tokenFile} is not a regular file (a folder, FIFO, socket or device), which flux-infra never reads: move it away`);
  expectLockReleased(ws);
  expect(existsSync(ws.distDir)).toBe(false);
}, PROCESS_TEST_TIMEOUT);

test('a FIFO as the lock file is refused in one line, not waited on', () => {
  const ws = workspace(BASE_FLEET);
  const lock = join(ws.root, '.flux-infra.lock');
  mkfifo(lock);
  expectRefused(runScript(ws, 'synth', ['--no-secrets'], {}, BOUND_MS), `the lock ${lock} is not a regular file (a folder, FIFO, socket or device), which flux-infra never reads: move it away`);
  expect(existsSync(ws.distDir)).toBe(false);
}, PROCESS_TEST_TIMEOUT);

test('a link to /dev/zero as the render cache is refused in one line', () => {
  const { ws } = synthesized();
  const cache = join(ws.root, '.flux-infra.cache.json');
  rmSync(cache);
  symlinkSync('/dev/zero', cache);
  expectRefused(runScript(ws, 'synth', ['--no-secrets'], {}, BOUND_MS), `the render cache ${cache} is a symbolic link, which flux-infra never follows`);
  expectLockReleased(ws);
}, PROCESS_TEST_TIMEOUT);

describe('the fleet file', () => {
  test('with invalid UTF-8 is refused in one line, never read as U+FFFD', () => {
    const ws = workspace(BASE_FLEET);
    writeFileSync(ws.fleetFile, Buffer.concat([Buffer.from(BASE_FLEET.replace('branch: main', 'branch: ma')), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]));
    expectRefused(runScript(ws, 'synth', ['--no-secrets'], {}, BOUND_MS), `the fleet file ${ws.fleetFile} is not valid UTF-8: save it as UTF-8`);
    expect(existsSync(ws.distDir)).toBe(false);
  }, PROCESS_TEST_TIMEOUT);

  test('with a 60 MB value is refused in one line by its size, before it is read', () => {
    const ws = workspace(BASE_FLEET);
    const text = BASE_FLEET.replace('./deploy/vote/staging', `./${'a'.repeat(60 * 1024 * 1024)}`);
    writeFileSync(ws.fleetFile, text);
    expectRefused(runScript(ws, 'synth', ['--no-secrets'], {}, BOUND_MS), `the fleet file ${ws.fleetFile} is ${Buffer.byteLength(text)} bytes, over the 16777216 bytes flux-infra reads: check what put it there`);
    expect(existsSync(ws.distDir)).toBe(false);
  }, PROCESS_TEST_TIMEOUT);

  test('as a FIFO is refused by secrets age-key --write-fleet and webhook doctor in one line', () => {
    const ws = workspace(BASE_FLEET);
    rmSync(ws.fleetFile);
    mkfifo(ws.fleetFile);
    const message = `the fleet file ${ws.fleetFile} is not a regular file (a folder, FIFO, socket or device), which flux-infra never reads: move it away`;
    const ageKey = runScript(ws, 'secrets', ['age-key', 'staging', '--write-fleet'], {}, BOUND_MS);
    expect({ signal: ageKey.signal, status: ageKey.status, stderr: ageKey.stderr }).toEqual({ signal: null, status: 1, stderr: expect.stringContaining(message) });
    const doctor = runScript(ws, 'webhook', ['doctor', 'staging'], {}, BOUND_MS);
    expect({ signal: doctor.signal, status: doctor.status }).toEqual({ signal: null, status: 1 });
    expect(`${doctor.stdout}${doctor.stderr}`).toContain(message);
  }, PROCESS_TEST_TIMEOUT * 2);
});

function clone(remote: string, into: string): Workspace {
  git(join(into, '..'), 'clone', '--quiet', remote, into);
  return workspaceAt(into);
}

test('a link committed in place of a generated file arrives with git pull and is refused by synth and doctor in one line', () => {
  const root = mkdtempSync(join(tmpdir(), 'flux-infra-git-'));
  const remote = join(root, 'remote.git');
  git(root, 'init', '--quiet', '--bare', remote);
  const a = clone(remote, join(root, 'a'));
  writeFileSync(a.fleetFile, BASE_FLEET);
  expect(runScript(a, 'synth', ['--no-secrets']).status).toBe(0);
  git(a.root, 'add', 'fleet.yaml', 'dist');
  git(a.root, 'commit', '--quiet', '-m', 'fleet');
  git(a.root, 'push', '--quiet', 'origin', 'HEAD:main');

  const b = clone(remote, join(root, 'b'));
  expect(runScript(b, 'synth', ['--no-secrets']).stderr).toBe('dist: up to date\n');
  const before = readTree(b.distDir);

  const planted = join('dist', 'clusters', 'staging', 'apps.yaml');
  rmSync(join(a.root, planted));
  symlinkSync('/dev/zero', join(a.root, planted));
  git(a.root, 'add', planted);
  git(a.root, 'commit', '--quiet', '-m', 'planted');
  git(a.root, 'push', '--quiet', 'origin', 'HEAD:main');
  git(b.root, 'pull', '--quiet', 'origin', 'main');

  const link = join(b.root, planted);
  expect(spawnSync('test', ['-L', link]).status).toBe(0);
  expectRefused(runScript(b, 'synth', ['--no-secrets'], {}, BOUND_MS), `${link} is a symbolic link, which flux-infra never follows: replace it with a real file (and check where it pointed)`);
  expectLockReleased(b);
  const doctor = runScript(b, 'webhook', ['doctor', 'staging'], { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN }, BOUND_MS);
  expect({ signal: doctor.signal, status: doctor.status }).toEqual({ signal: null, status: 1 });
  expect(doctor.stdout).toContain(`problem: ${link} is a symbolic link, which flux-infra never follows`);
  // Everything else in dist/ is as the pull left it (the link, taken out, was left as a link).
  rmSync(link);
  delete before[join('clusters', 'staging', 'apps.yaml')];
  expect(readTree(b.distDir)).toEqual(before);
  expect(readFileSync(b.fleetFile, 'utf8')).toBe(BASE_FLEET);
}, PROCESS_TEST_TIMEOUT * 3);
