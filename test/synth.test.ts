import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parseDocument } from 'yaml';
import { synthesize, SynthResult } from '../lib/synth';
import { recoverInterruptedWrite } from '../lib/output/dist-writer';
import { PROCESS_TEST_TIMEOUT, runScript } from './support/cli';

import { tokenEnvironmentVariable } from '../lib/secrets/token-store';
import { BAD_INPUTS } from './support/bad-fleets';
import { BASE_FLEET } from './support/fleet';
import { LAUNCH, TOKEN } from './support/synth';
import { modeOf, readTree, workspace, writeFile } from './support/tree';
import { GENERATED_HEADER } from '../lib/layout';

const BOOTSTRAP_COMPONENTS = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n';
const BOOTSTRAP_KUSTOMIZATION = 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-components.yaml\n- gotk-sync.yaml\n';

function objectsIn(file: string): any[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((document) => document.toJS());
}

describe('synth of a cluster', () => {
  const ws = workspace(BASE_FLEET);
  let result: SynthResult;
  beforeAll(async () => {
    result = await synthesize({ ...ws, env: {} });
  });
  const staging = join(ws.distDir, 'clusters', 'staging');

  test('writes one file per concern, with the walkthrough objects, all in flux-system', async () => {
    expect(Object.keys(readTree(staging)).sort()).toEqual([
      'README.md', 'apps.yaml', 'flux-system/kustomization.yaml', 'flux-system/webhook-receiver-service.yaml',
      'receivers.yaml', 'sources.yaml', 'webhook-network-policy.yaml',
    ]);
    const [repo] = objectsIn(join(staging, 'sources.yaml'));
    const [app] = objectsIn(join(staging, 'apps.yaml'));
    const [receiver] = objectsIn(join(staging, 'receivers.yaml'));
    expect(repo.metadata).toEqual({ name: 'instavote', namespace: 'flux-system' });
    expect(app.metadata).toEqual({ name: 'vote-staging', namespace: 'flux-system' });
    expect(app.spec.path).toBe('./deploy/vote/staging');
    // Kustomization -> GitRepository, Receiver -> GitRepository and Secret, one namespace.
    expect(app.spec.sourceRef).toEqual({ kind: repo.kind, name: repo.metadata.name });
    expect(receiver.metadata).toEqual({ name: 'instavote', namespace: 'flux-system' });
    expect(receiver.spec).toEqual({
      type: 'github', events: ['ping', 'push'], secretRef: { name: 'webhook-token' },
      // Only a push of the tracked branch to this repository reconciles it (a ping, another branch: nothing).
      resources: [{
        apiVersion: repo.apiVersion, kind: 'GitRepository', name: 'instavote',
        filter: "has(req.ref) && type(req.ref) == string && req.ref == 'refs/heads/main' && has(req.repository) && type(req.repository) == map && has(req.repository.full_name) && type(req.repository.full_name) == string && req.repository.full_name.matches('(?i)^lfs269/instavote$') && !(has(req.deleted) && req.deleted == true) && !(has(req.after) && req.after == '0000000000000000000000000000000000000000')",
      }],
    });
    const [service] = objectsIn(join(staging, 'flux-system', 'webhook-receiver-service.yaml'));
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http-webhook', nodePort: 31234 }]);
    expect(objectsIn(join(staging, 'flux-system', 'kustomization.yaml'))).toEqual([{
      apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization',
      resources: ['gotk-components.yaml', 'gotk-sync.yaml'],
      patches: [{ path: 'webhook-receiver-service.yaml', target: { kind: 'Service', name: 'webhook-receiver' } }],
    }]);
  });

  test('generates the token once (64 hex, no newline, 0600 in a 0700 folder) and writes the Secret there, never to dist', async () => {
    const tokenFile = join(ws.secretsDir, 'staging', 'webhook-token');
    expect(result.generatedTokens).toEqual([tokenFile]);
    const token = readFileSync(tokenFile, 'utf8');
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(modeOf(tokenFile)).toBe(0o600);
    expect(modeOf(ws.secretsDir)).toBe(0o700);
    expect(modeOf(join(ws.secretsDir, 'staging'))).toBe(0o700);
    const secretFile = join(ws.secretsDir, 'staging', 'webhook-token-secret.yaml');
    expect(modeOf(secretFile)).toBe(0o600);
    expect(objectsIn(secretFile)[0]).toMatchObject({ kind: 'Secret', metadata: { name: 'webhook-token', namespace: 'flux-system' }, stringData: { token } });
    for (const content of Object.values(readTree(ws.distDir))) {
      expect(content).not.toContain(token);
      expect(content).not.toMatch(/kind: Secret/);
    }
    const again = await synthesize({ ...ws, env: {} });
    expect(again.generatedTokens).toEqual([]);
    expect(readFileSync(tokenFile, 'utf8')).toBe(token);
  });

  test('is byte-for-byte the same on every run, and without any token', async () => {
    const before = readTree(ws.distDir);
    const mtime = statSync(join(staging, 'apps.yaml')).mtimeMs;
    expect((await synthesize({ ...ws, env: {} })).dist.changed).toBe(false);
    expect(statSync(join(staging, 'apps.yaml')).mtimeMs).toBe(mtime);
    const bare = workspace(BASE_FLEET);
    await synthesize({ ...bare, secrets: false, env: {} });
    expect(existsSync(bare.secretsDir)).toBe(false);
    expect(readTree(bare.distDir)).toEqual(before);
  });
});

describe('ownership of dist/', () => {
  test('keeps bootstrap files, takes over bootstrap\'s kustomization.yaml, removes stale generated files and folders', async () => {
    const ws = workspace(BASE_FLEET);
    const fluxSystem = join(ws.distDir, 'clusters', 'staging', 'flux-system');
    writeFile(join(fluxSystem, 'gotk-components.yaml'), BOOTSTRAP_COMPONENTS);
    writeFile(join(fluxSystem, 'gotk-sync.yaml'), 'apiVersion: v1\nkind: List\n');
    writeFile(join(fluxSystem, 'kustomization.yaml'), BOOTSTRAP_KUSTOMIZATION);
    writeFile(join(ws.distDir, 'clusters', 'staging', 'old-apps.yaml'), `${GENERATED_HEADER}\nkind: List\n`);
    writeFile(join(ws.distDir, 'clusters', 'gone', 'apps.yaml'), `${GENERATED_HEADER}\nkind: List\n`);
    writeFile(join(ws.distDir, 'clusters', 'staging', 'notes.md'), 'mine');
    chmodSync(join(fluxSystem, 'gotk-sync.yaml'), 0o640);

    const result = await synthesize({ ...ws, secrets: false });
    expect(result.dist.removed.sort()).toEqual(['clusters/gone/apps.yaml', 'clusters/staging/old-apps.yaml']);
    expect(readFileSync(join(fluxSystem, 'gotk-components.yaml'), 'utf8')).toBe(BOOTSTRAP_COMPONENTS);
    expect(modeOf(join(fluxSystem, 'gotk-sync.yaml'))).toBe(0o640);
    expect(readFileSync(join(ws.distDir, 'clusters', 'staging', 'notes.md'), 'utf8')).toBe('mine');
    expect(readFileSync(join(fluxSystem, 'kustomization.yaml'), 'utf8')).toContain('webhook-receiver-service.yaml');
    expect(existsSync(join(ws.distDir, 'clusters', 'gone'))).toBe(false);
    expect(existsSync(join(ws.distDir, 'clusters', 'staging', 'old-apps.yaml'))).toBe(false);
  });

  test('leaves the NetworkPolicy out, and removes the old one, when a cluster turns it off', async () => {
    const ws = workspace(BASE_FLEET.replace('nodePort: 31234', 'nodePort: 31234\n      allowFrom: [192.30.252.0/22]'));
    await synthesize({ ...ws, secrets: false });
    const policy = join(ws.distDir, 'clusters', 'staging', 'webhook-network-policy.yaml');
    expect(objectsIn(policy)[0].spec.ingress[0].from).toEqual([{ ipBlock: { cidr: '192.30.252.0/22' } }]);
    writeFile(ws.fleetFile, BASE_FLEET.replace('nodePort: 31234', 'nodePort: 31234\n      networkPolicy: false'));
    const result = await synthesize({ ...ws, secrets: false });
    expect(result.dist.removed).toEqual(['clusters/staging/webhook-network-policy.yaml']);
    expect(existsSync(policy)).toBe(false);
  });

  test('fails, changing nothing, where a file it did not write stands in the way', async () => {
    const ws = workspace(BASE_FLEET);
    writeFile(join(ws.distDir, 'clusters', 'staging', 'sources.yaml'), 'hand: written\n');
    writeFile(join(ws.distDir, 'clusters', 'staging', 'flux-system', 'kustomization.yaml'), `${BOOTSTRAP_KUSTOMIZATION}patches:\n- path: mine.yaml\n`);
    const before = readTree(ws.distDir);
    await expect(synthesize({ ...ws, secrets: false })).rejects.toThrow(/flux-system\/kustomization\.yaml was not written by flux-infra, but synth generates that file: move it away[\s\S]*sources\.yaml was not written by flux-infra/);
    expect(readTree(ws.distDir)).toEqual(before);
  });

  test('writes only the files that change: every other file and folder keeps its inode and timestamps', async () => {
    const ws = workspace(`${BASE_FLEET}${BASE_FLEET.replace(/^clusters:\n/, '').replace(/staging/g, 'qa').replace('203.0.113.10', '203.0.113.11')}`);
    await synthesize({ ...ws, secrets: false });
    const stamp = (path: string) => {
      const stats = statSync(path);
      return { ino: stats.ino, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs };
    };
    const paths = Object.keys(readTree(ws.distDir)).map((path) => join(ws.distDir, path));
    const folders = [ws.distDir, join(ws.distDir, 'clusters'), join(ws.distDir, 'clusters', 'qa'), join(ws.distDir, 'clusters', 'staging')];
    const before = new Map([...paths, ...folders].map((path) => [path, stamp(path)]));
    writeFile(ws.fleetFile, readFileSync(ws.fleetFile, 'utf8').replace('path: ./deploy/vote/staging\n        interval: 1h', 'path: ./deploy/vote/staging\n        interval: 2h'));

    const result = await synthesize({ ...ws, secrets: false });
    // The app's interval is in its file and in the cluster's README.
    const changed = ['clusters/staging/README.md', 'clusters/staging/apps.yaml'];
    expect(result.dist.written.sort()).toEqual(changed);
    const touched = [...before].filter(([path, stats]) => JSON.stringify(stamp(path)) !== JSON.stringify(stats)).map(([path]) => path);
    // The folder holding the new files changes too (renames into it); nothing else does.
    expect(touched.sort()).toEqual([join(ws.distDir, 'clusters', 'staging'), ...changed.map((path) => join(ws.distDir, path))].sort());
    expect(readFileSync(join(ws.distDir, 'clusters', 'staging', 'apps.yaml'), 'utf8')).toContain('interval: 2h');
    expect(readdirSync(ws.root).filter((name) => name.startsWith('.dist'))).toEqual([]);
  });

  test.each(['dist-between-renames', 'dist-moving-in'])('a write killed for real at %s is rolled back by the next command to the tree as it was', (point) => {
    const ws = workspace(BASE_FLEET.replace('nodePort: 31234', 'nodePort: 31234\n      allowFrom: [192.30.252.0/22]'));
    writeFile(join(ws.distDir, 'clusters', 'staging', 'flux-system', 'gotk-components.yaml'), BOOTSTRAP_COMPONENTS);
    expect(runScript(ws, 'synth', ['--no-secrets']).status).toBe(0);
    const before = readTree(ws.distDir);
    // A change that writes two files, adds one (a new cluster's) and removes one (the policy).
    writeFile(ws.fleetFile, `${BASE_FLEET.replace('interval: 1h', 'interval: 2h').replace('nodePort: 31234', 'nodePort: 31234\n      networkPolicy: false')}${BASE_FLEET.replace(/^clusters:\n/, '').replace(/staging/g, 'qa').replace('203.0.113.10', '203.0.113.11')}`);
    const killed = runScript(ws, 'synth', ['--no-secrets'], { FLUX_INFRA_FAILPOINT: point });
    expect(killed.signal).toBe('SIGKILL');
    expect(readTree(ws.distDir)).not.toEqual(before);

    recoverInterruptedWrite(ws.distDir);
    expect(readTree(ws.distDir)).toEqual(before);
    expect(readdirSync(ws.root).filter((name) => name.startsWith('.dist'))).toEqual([]);
    const again = runScript(ws, 'synth', ['--no-secrets']);
    expect(again.status).toBe(0);
    expect(existsSync(join(ws.distDir, 'clusters', 'qa', 'apps.yaml'))).toBe(true);
    expect(existsSync(join(ws.distDir, 'clusters', 'staging', 'webhook-network-policy.yaml'))).toBe(false);
  }, PROCESS_TEST_TIMEOUT);

  test('undoes a swap that was killed half-way, and ignores a half-built tree', async () => {
    const ws = workspace(BASE_FLEET);
    writeFile(join(ws.distDir, 'clusters', 'staging', 'flux-system', 'gotk-components.yaml'), BOOTSTRAP_COMPONENTS);
    await synthesize({ ...ws, secrets: false });
    const good = readTree(ws.distDir);
    // Killed between the two renames: dist/ moved away, the new tree not yet in place.
    renameSync(ws.distDir, join(ws.root, '.dist.old'));
    writeFile(join(ws.root, '.dist.next', 'clusters', 'staging', 'apps.yaml'), 'half');
    expect((await synthesize({ ...ws, secrets: false })).dist.changed).toBe(false);
    expect(readTree(ws.distDir)).toEqual(good);
    expect(existsSync(join(ws.root, '.dist.old'))).toBe(false);
    expect(existsSync(join(ws.root, '.dist.next'))).toBe(false);
  });
});

describe('bad input leaves dist/ and the secrets exactly as they were', () => {
  const mistakes: [string, (string | number)[], unknown][] = [
    ['an out-of-range nodePort', ['clusters', 'staging', 'webhook', 'nodePort'], 32768],
    ['an unknown key', ['clusters', 'staging', 'apps', 0, 'prnue'], true],
    ['a bad duration', ['clusters', 'staging', 'apps', 0, 'interval'], '1 hour'],
    ['a name that is not RFC 1123', ['clusters', 'staging', 'sources', 0, 'name'], 'InstaVote'],
    ['a source that does not exist', ['clusters', 'staging', 'receivers', 0, 'sources', 0], 'missing'],
    ['a dependsOn cycle', ['clusters', 'staging', 'apps', 0, 'dependsOn'], ['vote-staging']],
  ];
  test.each(mistakes)('fails on %s', async (_what, path, value) => {
    const ws = workspace(BASE_FLEET);
    writeFile(join(ws.distDir, 'clusters', 'staging', 'flux-system', 'gotk-components.yaml'), BOOTSTRAP_COMPONENTS);
    await synthesize({ ...ws, env: {} });
    const dist = readTree(ws.distDir);
    const secrets = readTree(ws.secretsDir);
    const document = parseDocument(BASE_FLEET);
    document.setIn(path, value);
    writeFile(ws.fleetFile, document.toString());
    await expect(synthesize({ ...ws, env: {} })).rejects.toThrow(/clusters\.staging\./);
    expect(readTree(ws.distDir)).toEqual(dist);
    expect(readTree(ws.secretsDir)).toEqual(secrets);
  });

  test.each(BAD_INPUTS)('fails on %s in one line, before anything is read or written', async (_what, text, expected) => {
    const ws = workspace(BASE_FLEET);
    await synthesize({ ...ws, env: {} });
    const dist = readTree(ws.distDir);
    const secrets = readTree(ws.secretsDir);
    writeFile(ws.fleetFile, text);
    await expect(synthesize({ ...ws, env: {} })).rejects.toThrow(typeof expected === 'string' ? `${ws.fleetFile}${expected.slice('fleet.yaml'.length)}` : new RegExp(`^${ws.fleetFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: [^\\n]+$`));
    expect(readTree(ws.distDir)).toEqual(dist);
    expect(readTree(ws.secretsDir)).toEqual(secrets);
  });

  test('stores no new token when a later cluster fails', async () => {
    const document = parseDocument(BASE_FLEET);
    const broken = parseDocument(BASE_FLEET).getIn(['clusters', 'staging']) as any;
    broken.setIn(['apps', 0, 'dependsOn'], ['vote-staging-2']);
    broken.addIn(['apps'], { name: 'vote-staging-2', source: 'instavote', path: './two', dependsOn: ['vote-staging'] });
    document.setIn(['clusters', 'zz-broken'], broken);
    const ws = workspace(document.toString());
    await expect(synthesize({ ...ws, env: {} })).rejects.toThrow(/clusters\.zz-broken\.apps\[0\]\.dependsOn: forms a cycle: vote-staging -> vote-staging-2 -> vote-staging/);
    expect(existsSync(ws.secretsDir)).toBe(false);
    expect(existsSync(ws.distDir)).toBe(false);
  });

  test('fails on a malformed token file or variable, naming it, and keeps the file', async () => {
    const ws = workspace(BASE_FLEET);
    const tokenFile = join(ws.secretsDir, 'staging', 'webhook-token');
    writeFile(tokenFile, `${TOKEN}\n`);
    await expect(synthesize({ ...ws, env: {} })).rejects.toThrow(`webhook token in ${tokenFile} contains whitespace or a newline`);
    expect(readFileSync(tokenFile, 'utf8')).toBe(`${TOKEN}\n`);
    expect(existsSync(ws.distDir)).toBe(false);
    await expect(synthesize({ ...ws, env: { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: 'short' } })).rejects.toThrow('webhook token in FLUX_INFRA_WEBHOOK_TOKEN_STAGING is 5 characters long');
  });
});

test('a token from the environment wins over the file and is not stored', async () => {
  const ws = workspace(BASE_FLEET);
  expect(tokenEnvironmentVariable('staging')).toBe('FLUX_INFRA_WEBHOOK_TOKEN_STAGING');
  const result = await synthesize({ ...ws, env: { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN } });
  expect(result.generatedTokens).toEqual([]);
  expect(existsSync(join(ws.secretsDir, 'staging', 'webhook-token'))).toBe(false);
  expect(readFileSync(join(ws.secretsDir, 'staging', 'webhook-token-secret.yaml'), 'utf8')).toContain(`token: ${TOKEN}`);
});

test('the synth command exits 1 with the field named, and dist/ untouched', async () => {
  const ws = workspace(BASE_FLEET.replace('nodePort: 31234', 'nodePort: 32768'));
  // As npm run synth runs it, from the workspace.
  const run = spawnSync(process.execPath, [...LAUNCH, 'main'], {
    cwd: ws.root, env: { ...process.env, FLUX_INFRA_FLEET: ws.fleetFile }, encoding: 'utf8',
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('clusters.staging.webhook.nodePort: 32768 is outside 30000-32767');
  expect(existsSync(ws.distDir)).toBe(false);
  rmSync(ws.root, { recursive: true });
});
