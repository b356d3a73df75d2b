// Names that are also Object.prototype's: `__proto__` is no valid name or annotation key and is
// refused in one line wherever it is written (zod once dropped it without a word, and the render
// cache kept its cluster gone); `constructor` and `prototype` are valid RFC 1123 names and work as
// any other, end to end.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { parseFleetText } from '../lib/fleet/parse';
import { reparseFleet } from '../lib/fleet/reparse';
import { renderCacheFileFor } from '../lib/layout';
import { synthesize } from '../lib/synth';
import { PROCESS_TEST_TIMEOUT, runScript } from './support/cli';
import { BASE_FLEET } from './support/fleet';
import { TOKEN } from './support/synth';
import { readTree, workspace } from './support/tree';

const TWO_CLUSTERS = `${BASE_FLEET}${BASE_FLEET.replace(/^clusters:\n/, '').replace(/staging/g, 'qa').replace('nodePort: 31234', 'nodePort: 31235')}`;

/** BASE_FLEET with every name the fleet chooses (cluster, source, app, Receiver, Secret, annotation key) set to `name`. */
function fleetNaming(name: string): string {
  const document = parseDocument(BASE_FLEET.replace('  staging:', `  ${name}:`));
  const cluster = ['clusters', name];
  document.setIn([...cluster, 'sources', 0, 'name'], name);
  document.setIn([...cluster, 'sources', 0, 'secretName'], name);
  document.setIn([...cluster, 'apps', 0, 'name'], name);
  document.setIn([...cluster, 'apps', 0, 'source'], name);
  document.setIn([...cluster, 'apps', 0, 'targetNamespace'], name);
  document.setIn([...cluster, 'receivers', 0, 'name'], name);
  document.setIn([...cluster, 'receivers', 0, 'sources'], [name]);
  document.deleteIn([...cluster, 'webhook', 'nodePort']);
  document.setIn([...cluster, 'webhook', 'loadBalancer'], { address: '203.0.113.10', annotations: { [name]: 'kept', 'example.com/other': 'too' } });
  return document.toString();
}

describe.each(['constructor', 'prototype'])('%s', (name) => {
  test('as cluster, source, app, Receiver, Secret and annotation key name synthesizes like any other name', async () => {
    const ws = workspace(fleetNaming(name));
    const result = await synthesize({ ...ws, env: { [`FLUX_INFRA_WEBHOOK_TOKEN_${name.toUpperCase()}`]: TOKEN } });
    expect(result.fleet.clusters.map((cluster) => cluster.name)).toEqual([name]);
    const tree = readTree(join(ws.distDir, 'clusters', name));
    const objects = (file: string) => parseDocument(tree[file]).toJS() as any;
    expect(objects('sources.yaml')).toMatchObject({ kind: 'GitRepository', metadata: { name }, spec: { secretRef: { name } } });
    expect(objects('apps.yaml')).toMatchObject({ kind: 'Kustomization', metadata: { name }, spec: { sourceRef: { name }, targetNamespace: name } });
    expect(objects('receivers.yaml')).toMatchObject({ kind: 'Receiver', metadata: { name }, spec: { resources: [expect.objectContaining({ name })] } });
    expect(tree['flux-system/webhook-receiver-service.yaml']).toContain(`${name}: kept`);
    // Every cluster of the fleet, under its own name and no other.
    expect(Object.keys(readTree(join(ws.distDir, 'clusters'))).every((file) => file.startsWith(`${name}/`))).toBe(true);
  });

  test('as an Ingress annotation key is kept, beside cert-manager\'s, in cdk8s\'s key order', async () => {
    const ws = workspace(BASE_FLEET.replace('nodePort: 31234', `ingress:\n        hostname: hooks.example.com\n        tls: {secretName: hooks-tls, clusterIssuer: letsencrypt}\n        annotations: {${name}: kept, a.example.com/z: first}`));
    await synthesize({ ...ws, env: { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN } });
    const ingress = parseDocument(readFileSync(join(ws.distDir, 'clusters', 'staging', 'webhook-ingress.yaml'), 'utf8')).toJS();
    expect(Object.entries(ingress.metadata.annotations)).toEqual([['a.example.com/z', 'first'], ['cert-manager.io/cluster-issuer', 'letsencrypt'], [name, 'kept']]);
  });
});

describe('__proto__', () => {
  test.each([
    ['cluster', BASE_FLEET.replace('  staging:', '  __proto__:'), 'fleet.yaml:2:3: clusters.__proto__: "__proto__" is not a valid RFC 1123 label'],
    ['source', BASE_FLEET.replace('- name: instavote', '- name: __proto__'), 'fleet.yaml:6:15: clusters.staging.sources[0].name: "__proto__" is not a valid RFC 1123 name'],
    ['app', BASE_FLEET.replace('- name: vote-staging', '- name: __proto__'), 'fleet.yaml:11:15: clusters.staging.apps[0].name: "__proto__" is not a valid RFC 1123 name'],
    ['Receiver', BASE_FLEET.replace('      - name: instavote\n        sources:', '      - name: __proto__\n        sources:'), 'fleet.yaml:16:15: clusters.staging.receivers[0].name: "__proto__" is not a valid RFC 1123 name'],
    ['annotation key', BASE_FLEET.replace('nodePort: 31234', 'loadBalancer:\n        annotations:\n          __proto__: internal'), 'fleet.yaml:6:11: clusters.staging.webhook.loadBalancer.annotations.__proto__: "__proto__" is not an annotation key'],
  ])('as %s name is refused in one line naming its place, and nothing is written', async (_kind, fleet, line) => {
    const ws = workspace(fleet);
    const failure = await synthesize({ ...ws, env: { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN } }).then(() => 'synthesized', (error: Error) => error.message);
    expect(failure.split('\n')).toEqual([expect.stringContaining(line)]);
    expect(existsSync(ws.distDir)).toBe(false);
  });

  test('renaming a cluster __proto__ with npm run synth fails in one line, and dist/ keeps the cluster before and after the revert', () => {
    const ws = workspace(TWO_CLUSTERS);
    expect(runScript(ws, 'synth', ['--no-secrets']).status).toBe(0);
    const before = readTree(ws.distDir);
    expect(Object.keys(before)).toContain(join('clusters', 'qa', 'apps.yaml'));
    writeFileSync(ws.fleetFile, TWO_CLUSTERS.replace('  qa:', '  __proto__:'));
    const renamed = runScript(ws, 'synth', ['--no-secrets']);
    expect({ status: renamed.status, lines: renamed.stderr.trimEnd().split('\n').length }).toEqual({ status: 1, lines: 1 });
    expect(renamed.stderr).toContain('clusters.__proto__: "__proto__" is not a valid RFC 1123 label');
    expect(readTree(ws.distDir)).toEqual(before);
    writeFileSync(ws.fleetFile, TWO_CLUSTERS);
    const reverted = runScript(ws, 'synth', ['--no-secrets']);
    expect({ status: reverted.status, stderr: reverted.stderr }).toEqual({ status: 0, stderr: 'dist: up to date\n' });
    expect(readTree(ws.distDir)).toEqual(before);
  }, PROCESS_TEST_TIMEOUT * 2);
});

/** A parse as an older parser left it for TWO_CLUSTERS with qa renamed __proto__: the entry is there, the cluster is not. */
function droppedClusterParse() {
  const good = parseFleetText(TWO_CLUSTERS);
  const text = TWO_CLUSTERS.replace('  qa:', '  __proto__:');
  const grown = '__proto__'.length - 'qa'.length;
  const [staging, qa] = good.spans!;
  return { text, parsed: { fleet: { clusters: [good.fleet.clusters[0]] }, spans: [staging, { ...qa, name: '__proto__', end: qa.end + grown }] } };
}

test('reparse never edits an entry into a parse that lacks its cluster: the whole file is parsed', () => {
  const reverted = reparseFleet(droppedClusterParse(), TWO_CLUSTERS);
  expect(reverted).toEqual(parseFleetText(TWO_CLUSTERS));
});

test('a poisoned render cache (a dropped cluster, __proto__ and constructor records) neither hides a cluster nor reaches Object.prototype', async () => {
  const ws = workspace(TWO_CLUSTERS);
  const env = { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN, FLUX_INFRA_WEBHOOK_TOKEN_QA: TOKEN };
  await synthesize({ ...ws, env, build: 'build-1' });
  const before = readTree(ws.distDir);
  const cacheFile = renderCacheFileFor(ws.distDir);
  const record = JSON.parse(readFileSync(cacheFile, 'utf8'));
  const { qa } = record.clusters;
  // Written as text: "__proto__" must be a key of the file, as an older synth wrote it.
  const clusters = `{"staging":${JSON.stringify(record.clusters.staging)},"__proto__":${JSON.stringify(qa)},"constructor":${JSON.stringify({ ...qa, files: { __proto__: 'x' } })}}`;
  writeFileSync(cacheFile, `{"format":${record.format},"fleet":${JSON.stringify({ ...record.fleet, ...droppedClusterParse() })},"clusters":${clusters}}`);
  const result = await synthesize({ ...ws, env, build: 'build-1' });
  expect(result.fleet.clusters.map((cluster) => cluster.name)).toEqual(['staging', 'qa']);
  expect(result.dist).toMatchObject({ changed: false });
  expect(readTree(ws.distDir)).toEqual(before);
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('inputs');
  expect(({} as Record<string, unknown>).files).toBeUndefined();
});
