import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { synthesize } from '../lib/synth';
import { readTree, workspace } from './support/tree';

const ROOT = join(__dirname, '..');

test('the committed dist/ is exactly what the default fleet synthesizes, without any secret (as in CI)', async () => {
  const ws = workspace(readFileSync(join(ROOT, 'fleet.yaml'), 'utf8'));
  // The encrypted Secrets are only kept, never made, without their token: start from the committed ones.
  cpSync(join(ROOT, 'dist'), ws.distDir, { recursive: true });
  const result = await synthesize({ ...ws, secrets: false });
  expect(result.dist.changed).toBe(false);
  expect(readFileSync(join(ws.root, '.sops.yaml'), 'utf8')).toBe(readFileSync(join(ROOT, '.sops.yaml'), 'utf8'));
  // From an empty dist/ (new clusters, new tokens), every file but the encrypted one is the same.
  rmSync(ws.distDir, { recursive: true });
  await synthesize({ ...ws, env: {} });
  const fresh = readTree(ws.distDir);
  const committed = readTree(join(ROOT, 'dist'));
  const plain = (tree: Record<string, string>) => Object.fromEntries(Object.entries(tree).filter(([path]) => !path.endsWith('.sops.yaml')));
  expect(plain(fresh)).toEqual(plain(committed));
});

test('no tracked file of this repository holds a plaintext token, a plaintext Secret or an age private key', () => {
  const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  expect(tracked).toContain('fleet.yaml');
  const localTokens = ['staging', 'production']
    .map((cluster) => join(ROOT, 'secrets', cluster, 'webhook-token'))
    .filter(existsSync)
    .map((file) => readFileSync(file, 'utf8'));
  for (const file of tracked) {
    if (!existsSync(join(ROOT, file))) continue;
    const text = readFileSync(join(ROOT, file), 'utf8');
    expect({ file, privateKey: /AGE-SECRET-KEY-1[0-9A-Z]{20,}/.test(text) }).toEqual({ file, privateKey: false });
    for (const token of localTokens) expect({ file, token: text.includes(token) }).toEqual({ file, token: false });
    if (file.startsWith('dist/')) {
      for (const object of parseAllDocuments(text).map((document) => document.toJS())) {
        if (object?.kind === 'Secret') expect({ file, encrypted: typeof object.sops?.mac === 'string' }).toEqual({ file, encrypted: true });
      }
    }
  }
});

test('the default fleet is the walkthrough on staging, and production reuses the same code', async () => {
  const ws = workspace(readFileSync(join(ROOT, 'fleet.yaml'), 'utf8'));
  await synthesize({ ...ws, env: {} });
  const objects = (cluster: string, file: string) =>
    parseAllDocuments(readFileSync(join(ws.distDir, 'clusters', cluster, file), 'utf8')).map((document) => document.toJS());
  expect(objects('staging', 'sources.yaml')[0]).toMatchObject({ metadata: { name: 'instavote', namespace: 'flux-system' }, spec: { ref: { branch: 'main' } } });
  expect(objects('staging', 'apps.yaml')[0]).toMatchObject({
    metadata: { name: 'vote-staging', namespace: 'flux-system' },
    spec: { path: './deploy/vote/staging', sourceRef: { kind: 'GitRepository', name: 'instavote' } },
  });
  expect(objects('staging', 'receivers.yaml')[0]).toMatchObject({ metadata: { name: 'instavote' }, spec: { type: 'github', secretRef: { name: 'webhook-token' } } });
  expect(objects('staging', 'flux-system/webhook-receiver-service.yaml')[0].spec.ports[0].nodePort).toBe(31234);
  const production = objects('production', 'apps.yaml')[0];
  expect(production.metadata.name).toBe('vote-production');
  expect(production.spec.path).not.toBe('./deploy/vote/staging');
  expect(objects('production', 'flux-system/webhook-receiver-service.yaml')[0].spec.ports[0].nodePort).not.toBe(31234);
});

test('in a git checkout, the token and the plaintext Secret stay out of every tracked file', async () => {
  const ws = workspace(readFileSync(join(ROOT, 'fleet.yaml'), 'utf8'));
  copyFileSync(join(ROOT, '.gitignore'), join(ws.root, '.gitignore'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ws.root, encoding: 'utf8' });
  git('init', '-q');
  await synthesize({ ...ws, env: {} });
  git('add', '-A');
  const tracked = git('ls-files').trim().split('\n');
  expect(tracked).toContain('dist/clusters/staging/receivers.yaml');
  expect(tracked.filter((file) => file.startsWith('secrets/'))).toEqual([]);
  const token = readFileSync(join(ws.secretsDir, 'staging', 'webhook-token'), 'utf8');
  for (const file of tracked) {
    expect(readFileSync(join(ws.root, file), 'utf8')).not.toContain(token);
  }
});
