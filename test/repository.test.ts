import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { synthesize } from '../main';
import { readTree, workspace } from './support/tree';

const ROOT = join(__dirname, '..');

test('the committed dist/ is exactly what the default fleet synthesizes', () => {
  const ws = workspace(readFileSync(join(ROOT, 'fleet.yaml'), 'utf8'));
  synthesize({ ...ws, secrets: false });
  expect(readTree(join(ROOT, 'dist'))).toEqual(readTree(ws.distDir));
});

test('the default fleet is the walkthrough on staging, and production reuses the same code', () => {
  const ws = workspace(readFileSync(join(ROOT, 'fleet.yaml'), 'utf8'));
  synthesize({ ...ws, secrets: false });
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

test('in a git checkout, the token and the plaintext Secret stay out of every tracked file', () => {
  const ws = workspace(readFileSync(join(ROOT, 'fleet.yaml'), 'utf8'));
  copyFileSync(join(ROOT, '.gitignore'), join(ws.root, '.gitignore'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ws.root, encoding: 'utf8' });
  git('init', '-q');
  synthesize({ ...ws, env: {} });
  git('add', '-A');
  const tracked = git('ls-files').trim().split('\n');
  expect(tracked).toContain('dist/clusters/staging/receivers.yaml');
  expect(tracked.filter((file) => file.startsWith('secrets/'))).toEqual([]);
  const token = readFileSync(join(ws.secretsDir, 'staging', 'webhook-token'), 'utf8');
  for (const file of tracked) {
    expect(readFileSync(join(ws.root, file), 'utf8')).not.toContain(token);
  }
});
