// An interrupted dist/ write as a team meets it: a synth killed (SIGKILL) or stopped (SIGINT,
// SIGTERM) mid-write, then a teammate's change pulled over it through a bare remote; and what synth
// says when a step after the dist/ write fails.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { recoverInterruptedWrite } from '../lib/output/dist-writer';
import { CLUSTER_FILES } from '../lib/layout';
import { doctor } from '../tools/webhook/doctor';
import { ageKeygen, AgeKey } from './support/age';
import { environment, runScript } from './support/cli';
import { testNeeding } from './support/external-tools';
import { BASE_FLEET, sopsFleet } from './support/fleet';
import { LAUNCH } from './support/synth';
import { git } from './support/git';
import { readTree, workspace, Workspace, workspaceAt, writeFile } from './support/tree';

// Each test starts real processes (about a second each on a small machine).
jest.setTimeout(60_000);

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tracked(ws: Workspace): Workspace {
  roots.push(ws.root);
  return ws;
}


const encryptedFile = (ws: Workspace) => join(ws.distDir, 'clusters', 'staging', CLUSTER_FILES.encryptedTokenSecret);
const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);
const leftovers = (ws: Workspace) => readdirSync(ws.root).filter((name) => name.startsWith('.dist')).sort();

/**
 * Two clones of one repository through a bare remote, each with the staging cluster's age key and
 * the same token: A, the teammate who rotates; B, whose synth is interrupted.
 */
async function twoClones(): Promise<{ a: Workspace; b: Workspace; key: AgeKey }> {
  const a = tracked(workspace('clusters: {}\n'));
  const key = await ageKeygen(join(a.root, 'keys'));
  writeFile(a.fleetFile, sopsFleet([key.recipient]));
  writeFile(join(a.secretsDir, 'staging', 'age.agekey'), readFileSync(key.file, 'utf8'));
  rmSync(join(a.root, 'keys'), { recursive: true });
  expect(runScript(a, 'synth').status).toBe(0);
  cpSync(join(__dirname, '..', '.gitignore'), join(a.root, '.gitignore'));
  git(a.root, 'init', '-q');
  git(a.root, 'add', '-A');
  git(a.root, 'commit', '-qm', 'fleet');
  const remote = `${a.root}-remote.git`;
  roots.push(remote);
  git(a.root, 'clone', '-q', '--bare', a.root, remote);
  git(a.root, 'remote', 'add', 'origin', remote);
  git(a.root, 'fetch', '-q', 'origin');
  git(a.root, 'branch', '-q', '--set-upstream-to=origin/main');
  const b = workspaceAt(`${a.root}-b`);
  roots.push(b.root);
  git(a.root, 'clone', '-q', remote, b.root);
  cpSync(a.secretsDir, b.secretsDir, { recursive: true });
  return { a, b, key };
}

/** B's synth of a change that re-encrypts the committed Secret (a second recipient), interrupted at `failpoint`. */
async function interruptB(b: Workspace, failpoint: string): Promise<ReturnType<typeof runScript>> {
  const second = await ageKeygen(join(b.root, '..', `${b.root.split('/').at(-1)}-key2`));
  roots.push(join(second.file, '..'));
  const document = parseDocument(readFileSync(b.fleetFile, 'utf8'));
  document.addIn(['clusters', 'staging', 'sops', 'ageRecipients'], second.recipient);
  writeFile(b.fleetFile, document.toString());
  return runScript(b, 'synth', [], { FLUX_INFRA_FAILPOINT: failpoint });
}

/** A rotates the staging token, commits and pushes it. */
function rotateAndPush(a: Workspace): void {
  const rotation = runScript(a, 'secrets', ['rotate-token', 'staging']);
  expect([rotation.status, rotation.stderr]).toEqual([0, '']);
  git(a.root, 'commit', '-qam', 'rotate the staging token');
  git(a.root, 'push', '-q', 'origin', 'main');
}

describe('a synth interrupted mid-write, then a teammate\'s rotation pulled', () => {
  test('killed: the rollback stops in one line naming the pulled file, keeps it and .dist.old/; --keep-changed rolls back the rest', async () => {
    const { a, b } = await twoClones();
    expect((await interruptB(b, 'dist-between-renames')).signal).toBe('SIGKILL');
    rotateAndPush(a);
    git(b.root, 'checkout', '--', '.');
    git(b.root, 'pull', '-q', '--ff-only');
    expect(read(encryptedFile(b))).toBe(read(encryptedFile(a)));

    const synth = runScript(b, 'synth');
    expect(synth.status).toBe(1);
    const line = `${encryptedFile(b)} changed since an interrupted synth wrote it (a pull, a checkout or an edit), so that synth is not rolled back and nothing is overwritten: look at it (${join(b.root, '.dist.old')} keeps the files from before that synth), then run npm run synth -- --keep-changed, which rolls back the rest and keeps it as it is`;
    expect(synth.stderr).toBe(`synth failed, dist/ is unchanged: ${line}\n`);
    expect(read(encryptedFile(b))).toBe(read(encryptedFile(a)));
    expect(leftovers(b)).toEqual(['.dist.next', '.dist.old']);
    expect(existsSync(join(b.root, '.dist.old', 'clusters', 'staging', CLUSTER_FILES.encryptedTokenSecret))).toBe(true);
    // doctor and the other commands say the same, and change nothing.
    expect((await doctor('staging', { ...b, env: {} })).problems).toEqual([line]);
    const url = runScript(b, 'webhook', ['url', 'staging']);
    expect([url.status, url.stderr]).toEqual([1, `error: ${line}\n`]);

    const kept = runScript(b, 'synth', ['--keep-changed']);
    expect(kept.status).toBe(0);
    // B's write had replaced that one file, so the rest is nothing here.
    expect(kept.stderr.split('\n')[0]).toBe(`an interrupted synth was rolled back: 0 file(s) restored, 0 new file(s) removed, 1 changed since and kept as they are (clusters/staging/${CLUSTER_FILES.encryptedTokenSecret})`);
    expect(kept.stderr).toContain('take-token staging');
    expect(read(encryptedFile(b))).toBe(read(encryptedFile(a)));
    expect(leftovers(b)).toEqual([]);
    expect(git(b.root, 'status', '--porcelain')).toBe('');
  });

  test.each(['SIGINT', 'SIGTERM'])('stopped with %s mid-write: the write finishes first, no journal is left, and the pull is synthesized as it is', async (signal) => {
    const { a, b } = await twoClones();
    const stopped = await interruptB(b, `dist-moving-in:${signal}`);
    // Ended by the signal itself, as without flux-infra (a shell says 130 or 143), once the write is whole.
    expect([stopped.status, stopped.signal]).toEqual([null, signal]);
    expect(leftovers(b)).toEqual([]);
    const done = runScript(b, 'synth', ['--no-secrets']);
    expect([done.status, done.stderr]).toEqual([0, 'dist: up to date\n']);

    rotateAndPush(a);
    git(b.root, 'checkout', '--', '.');
    git(b.root, 'pull', '-q', '--ff-only');
    const synth = runScript(b, 'synth');
    expect(synth.status).toBe(0);
    expect(synth.stderr).not.toContain('rolled back');
    expect(read(encryptedFile(b))).toBe(read(encryptedFile(a)));
    expect(git(b.root, 'status', '--porcelain')).toBe('');
  });
});

describe('a write killed for real, then its files changed or not', () => {
  // A change that writes two files, adds a cluster (new files) and removes one (the policy).
  const before = BASE_FLEET.replace('nodePort: 31234', 'nodePort: 31234\n      allowFrom: [192.30.252.0/22]');
  const after = `${BASE_FLEET.replace('interval: 1h', 'interval: 2h').replace('nodePort: 31234', 'nodePort: 31234\n      networkPolicy: false')}${BASE_FLEET.replace(/^clusters:\n/, '').replace(/staging/g, 'qa').replace('203.0.113.10', '203.0.113.11')}`;

  /** A workspace whose synth of `after` was killed once every new file was in place, the journal still there. */
  function killedWithEverythingMovedIn(): { ws: Workspace; old: Record<string, string>; interrupted: Record<string, string> } {
    const ws = tracked(workspace(before));
    expect(runScript(ws, 'synth', ['--no-secrets']).status).toBe(0);
    const old = readTree(ws.distDir);
    writeFile(ws.fleetFile, after);
    expect(runScript(ws, 'synth', ['--no-secrets'], { FLUX_INFRA_FAILPOINT: 'dist-moved-in' }).signal).toBe('SIGKILL');
    return { ws, old, interrupted: readTree(ws.distDir) };
  }

  const policy = 'clusters/staging/webhook-network-policy.yaml';
  const cases: [string, string, (path: string) => void][] = [
    ['a file the write replaced, edited since', 'clusters/staging/sources.yaml', (path) => writeFileSync(path, '# mine\n')],
    ['a file the write created, edited since', 'clusters/qa/apps.yaml', (path) => writeFileSync(path, '# mine\n')],
    ['a file the write created, replaced by a folder since', 'clusters/qa/apps.yaml', (path) => {
      rmSync(path);
      mkdirSync(path);
    }],
    ['a file the write deleted, made again with other content', policy, (path) => writeFile(path, '# mine\n')],
  ];
  test.each(cases)('%s stops the rollback, naming it, and nothing moves', (_what, file, change) => {
    const { ws } = killedWithEverythingMovedIn();
    change(join(ws.distDir, file));
    const changed = readTree(ws.distDir);
    expect(() => recoverInterruptedWrite(ws.distDir)).toThrow(new RegExp(`^${join(ws.distDir, file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} changed since an interrupted synth wrote it .*--keep-changed[^\\n]*$`));
    expect(readTree(ws.distDir)).toEqual(changed);
    expect(leftovers(ws)).toEqual(['.dist.next', '.dist.old']);
  }, 30_000);

  test('files the write left as they were, deleted or made again as before, and untouched files edited, do not stop it: the rest is rolled back, and said', () => {
    const { ws, old } = killedWithEverythingMovedIn();
    rmSync(join(ws.distDir, 'clusters', 'qa', 'README.md'));
    writeFile(join(ws.distDir, policy), old[policy]);
    // Not in the write: an edit there is the user's, not rolled back and not a reason to stop.
    writeFileSync(join(ws.distDir, 'clusters', 'staging', 'apps.yaml'), '# mine\n');
    const report = recoverInterruptedWrite(ws.distDir);
    expect(report).toBe('an interrupted synth was rolled back: 2 file(s) restored, 6 new file(s) removed, 2 already as before');
    expect(readTree(ws.distDir)).toEqual({ ...old, 'clusters/staging/apps.yaml': '# mine\n' });
    expect(leftovers(ws)).toEqual([]);
  }, 30_000);

  test('with nothing changed since, the next synth rolls it back and says so, then writes the change', () => {
    const { ws } = killedWithEverythingMovedIn();
    const next = runScript(ws, 'synth', ['--no-secrets']);
    expect(next.status).toBe(0);
    expect(next.stderr).toBe('an interrupted synth was rolled back: 3 file(s) restored, 7 new file(s) removed\ndist: 9 file(s) written, 1 stale file(s) removed\n  removed clusters/staging/webhook-network-policy.yaml\n');
    expect(leftovers(ws)).toEqual([]);
    expect(runScript(ws, 'synth', ['--no-secrets']).stderr).toBe('dist: up to date\n');
  }, 30_000);

  test('SIGINT outside the write ends synth at once, as usual, with nothing written', () => {
    const ws = tracked(workspace(before));
    expect(runScript(ws, 'synth', ['--no-secrets']).status).toBe(0);
    const old = readTree(ws.distDir);
    writeFile(ws.fleetFile, after);
    const stopped = runScript(ws, 'synth', ['--no-secrets'], { FLUX_INFRA_FAILPOINT: 'synth-tokens-stored:SIGINT' });
    expect([stopped.status, stopped.signal]).toEqual([null, 'SIGINT']);
    expect(readTree(ws.distDir)).toEqual(old);
    expect(leftovers(ws)).toEqual([]);
  }, 30_000);
});

describe('a failure after the dist/ write says dist/ was written, and what is left', () => {
  const changed = (ws: Workspace) => writeFile(ws.fleetFile, readFileSync(ws.fleetFile, 'utf8').replace('interval: 1h', 'interval: 2h'));
  const sourcesFile = (ws: Workspace) => join(ws.distDir, 'clusters', 'staging', 'sources.yaml');
  const headline = 'synth failed after writing dist/ (2 file(s) written, 0 stale file(s) removed)';
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  test('a folder where the token Secret manifest goes in secrets/', () => {
    const ws = tracked(workspace(BASE_FLEET));
    expect(runScript(ws, 'synth').status).toBe(0);
    const manifest = join(ws.secretsDir, 'staging', CLUSTER_FILES.tokenSecret);
    rmSync(manifest);
    mkdirSync(manifest);
    changed(ws);
    const failed = runScript(ws, 'synth');
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(new RegExp(`^${escape(`${headline}: cannot write the token Secret manifest ${manifest} (`)}[^\\n]+\\): fix that and run it again, which writes what is left\\n$`));
    expect(read(sourcesFile(ws))).toContain('interval: 2h');
    rmSync(manifest, { recursive: true });
    const again = runScript(ws, 'synth');
    expect([again.status, again.stderr]).toEqual([0, `dist: up to date\napply the token Secret yourself: kubectl apply -f ${manifest}\n`]);
  });

  test('a missing folder where .sops.yaml is written', async () => {
    const ws = tracked(workspace('clusters: {}\n'));
    writeFile(ws.fleetFile, sopsFleet([(await ageKeygen(join(ws.root, 'keys'))).recipient]));
    expect(runScript(ws, 'synth').status).toBe(0);
    changed(ws);
    const blocked = { ...ws, sopsConfigFile: join(ws.root, 'conf', '.sops.yaml') };
    const failed = runScript(blocked, 'synth');
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(new RegExp(`^${escape(`${headline}: cannot write ${blocked.sopsConfigFile} (ENOENT`)}[^\\n]+\\): fix that and run it again, which writes what is left\\n$`));
    expect(read(sourcesFile(ws))).toContain('interval: 2h');
  });

  test('a file where the folder of .sops.yaml must be is found before dist/ is written', async () => {
    const ws = tracked(workspace('clusters: {}\n'));
    writeFile(ws.fleetFile, sopsFleet([(await ageKeygen(join(ws.root, 'keys'))).recipient]));
    expect(runScript(ws, 'synth').status).toBe(0);
    changed(ws);
    writeFile(join(ws.root, 'conf'), 'a file, not a folder\n');
    const blocked = { ...ws, sopsConfigFile: join(ws.root, 'conf', '.sops.yaml') };
    const failed = runScript(blocked, 'synth');
    expect([failed.status, failed.stderr]).toEqual([1, `synth failed, dist/ is unchanged: cannot read ${blocked.sopsConfigFile} (ENOTDIR): check that it and the folders above it can be read\n`]);
    expect(read(sourcesFile(ws))).toContain('interval: 1h');
  });

  // A real full disk: secrets/ on a 64 KiB tmpfs, filled, in a mount namespace of the synth's own
  // (unshare: no privilege needed where user namespaces are allowed).
  const namespaces = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'true']).status === 0;
  testNeeding(namespaces, 'unprivileged user namespaces (unshare --user --mount)', 'no space left on the device of secrets/', () => {
    const ws = tracked(workspace(BASE_FLEET));
    expect(runScript(ws, 'synth').status).toBe(0);
    const manifest = join(ws.secretsDir, 'staging', CLUSTER_FILES.tokenSecret);
    const copy = `${ws.root}-secrets`;
    roots.push(copy);
    cpSync(ws.secretsDir, copy, { recursive: true });
    rmSync(join(copy, 'staging', CLUSTER_FILES.tokenSecret));
    changed(ws);
    const script = 'mount -t tmpfs -o size=64k,mode=0700 tmpfs "$1" && cp -a "$2"/. "$1"/ && { dd if=/dev/zero of="$1/filler" bs=4k count=64 2>/dev/null; shift 2; exec "$@"; }';
    const full = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', script, 'sh', ws.secretsDir, copy, process.execPath, ...LAUNCH, 'main'], { cwd: ws.root, env: environment(ws, {}), encoding: 'utf8' });
    expect(full.status).toBe(1);
    expect(full.stderr).toMatch(new RegExp(`^${escape(`${headline}: cannot write the token Secret manifest ${manifest} (ENOSPC`)}[^\\n]+\\): fix that and run it again, which writes what is left\\n$`));
    expect(read(sourcesFile(ws))).toContain('interval: 2h');
  });

  test('a failure before the dist/ write still says dist/ is unchanged', () => {
    const ws = tracked(workspace(BASE_FLEET));
    expect(runScript(ws, 'synth').status).toBe(0);
    const dist = readTree(ws.distDir);
    writeFile(ws.fleetFile, BASE_FLEET.replace('nodePort: 31234', 'nodePort: 32768'));
    const failed = runScript(ws, 'synth');
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/^synth failed, dist\/ is unchanged: [^\n]*clusters\.staging\.webhook\.nodePort: 32768 is outside 30000-32767[^\n]*\n$/);
    expect(readTree(ws.distDir)).toEqual(dist);
  });
});
