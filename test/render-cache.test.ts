import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { FluxCluster } from '../lib/constructs/flux-cluster';
import { parseFleet } from '../lib/fleet/parse';
import { renderCacheFileFor } from '../lib/layout';
import { renderManifestFiles } from '../lib/output/render';
import { planSynth, synthesize } from '../lib/synth';
import { ageKeygen } from './support/age';
import { PROCESS_TEST_TIMEOUT, runScript } from './support/cli';
import { BASE_FLEET } from './support/fleet';
import { TOKEN } from './support/synth';
import { syntheticFleet } from '../tools/bench';
import { readTree, workspace, writeFile } from './support/tree';

const TWO_CLUSTERS = `${BASE_FLEET}${BASE_FLEET.replace(/^clusters:\n/, '').replace(/staging/g, 'qa').replace('nodePort: 31234', 'nodePort: 31235')}`;
const ENV = { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN, FLUX_INFRA_WEBHOOK_TOKEN_QA: TOKEN.replace(/0/g, 'f') };

/** The files a synth would write, computed by rendering every cluster. */
async function uncached(ws: ReturnType<typeof workspace>) {
  const plan = await planSynth({ ...ws, env: ENV });
  return { files: plan.files, secretManifests: plan.secretManifests };
}

describe('the render cache', () => {
  test('a synth of the same code takes unchanged clusters from dist/ and plans exactly what rendering them plans', async () => {
    const ws = workspace(TWO_CLUSTERS);
    await synthesize({ ...ws, env: ENV, build: 'build-1' });
    expect(existsSync(renderCacheFileFor(ws.distDir))).toBe(true);
    const again = await planSynth({ ...ws, env: ENV, build: 'build-1' });
    expect({ files: again.files.map(({ path, content }) => ({ path, content })), secretManifests: again.secretManifests }).toEqual(await uncached(ws));
    expect(again.files.every((file) => file.onDisk)).toBe(true);

    // One cluster edited: it alone is rendered, and the plan is still what rendering all of it gives.
    writeFile(ws.fleetFile, TWO_CLUSTERS.replace('path: ./deploy/vote/qa\n        interval: 1h', 'path: ./deploy/vote/qa\n        interval: 3h'));
    const edited = await planSynth({ ...ws, env: ENV, build: 'build-1' });
    const rendered = edited.files.filter((file) => !file.onDisk).map((file) => file.path);
    expect(rendered).toContain('clusters/qa/apps.yaml');
    expect(rendered.every((path) => path.startsWith('clusters/qa/'))).toBe(true);
    expect(edited.files.filter((file) => file.path.startsWith('clusters/staging/')).every((file) => file.onDisk)).toBe(true);
    expect({ files: edited.files.map(({ path, content }) => ({ path, content })), secretManifests: edited.secretManifests }).toEqual(await uncached(ws));
  });

  test('a file edited by hand in dist/ is rendered again and put right', async () => {
    const ws = workspace(TWO_CLUSTERS);
    await synthesize({ ...ws, env: ENV, build: 'build-1' });
    const before = readTree(ws.distDir);
    const apps = join(ws.distDir, 'clusters', 'qa', 'apps.yaml');
    writeFileSync(apps, readFileSync(apps, 'utf8').replace('interval: 1h', 'interval: 9h'));
    const result = await synthesize({ ...ws, env: ENV, build: 'build-1' });
    expect(result.dist.written).toEqual(['clusters/qa/apps.yaml']);
    expect(readTree(ws.distDir)).toEqual(before);
  });

  test('is keyed on the code: a record another build made is not trusted', async () => {
    const ws = workspace(TWO_CLUSTERS);
    await synthesize({ ...ws, env: ENV, build: 'build-1' });
    const before = readTree(ws.distDir);
    // A record that vouches for a wrong file: the same build takes it as it is (which shows the
    // cache is used), another build renders the cluster and puts the file right.
    const apps = join(ws.distDir, 'clusters', 'qa', 'apps.yaml');
    const wrong = readFileSync(apps, 'utf8').replace('interval: 1h', 'interval: 9h');
    writeFileSync(apps, wrong);
    const cacheFile = renderCacheFileFor(ws.distDir);
    const { createHash } = await import('node:crypto');
    const record = JSON.parse(readFileSync(cacheFile, 'utf8'));
    record.clusters.qa.files['clusters/qa/apps.yaml'] = createHash('sha256').update(wrong).digest('hex');
    writeFileSync(cacheFile, JSON.stringify(record));
    expect((await synthesize({ ...ws, env: ENV, build: 'build-1' })).dist.changed).toBe(false);
    expect(readFileSync(apps, 'utf8')).toBe(wrong);
    expect((await synthesize({ ...ws, env: ENV, build: 'build-2' })).dist.written).toEqual(['clusters/qa/apps.yaml']);
    expect(readTree(ws.distDir)).toEqual(before);
  });

  test('a damaged record, or one naming files outside the cluster\'s folder, means rendering again', async () => {
    const ws = workspace(TWO_CLUSTERS);
    await synthesize({ ...ws, env: ENV, build: 'build-1' });
    const before = readTree(ws.distDir);
    const cacheFile = renderCacheFileFor(ws.distDir);
    const record = JSON.parse(readFileSync(cacheFile, 'utf8'));
    for (const damaged of [
      '{"format": 3, "clusters": {"qa": {"inputs": "x", "files": null}}',
      JSON.stringify({ ...record, clusters: { ...record.clusters, qa: { ...record.clusters.qa, files: null } } }),
      JSON.stringify({ ...record, fleet: { ...record.fleet, parsed: null } }),
      JSON.stringify({ ...record, clusters: { ...record.clusters, qa: { ...record.clusters.qa, files: { ...record.clusters.qa.files, 'clusters/staging/apps.yaml': record.clusters.staging.files['clusters/staging/apps.yaml'] } } } }),
    ]) {
      writeFileSync(cacheFile, damaged);
      const plan = await planSynth({ ...ws, env: ENV, build: 'build-1' });
      expect(plan.files.filter((file) => file.path.startsWith('clusters/qa/')).every((file) => !file.onDisk)).toBe(true);
      expect({ files: plan.files.map(({ path, content }) => ({ path, content })), secretManifests: plan.secretManifests }).toEqual(await uncached(ws));
    }
    expect((await synthesize({ ...ws, env: ENV, build: 'build-1' })).dist.changed).toBe(false);
    expect(readTree(ws.distDir)).toEqual(before);
  });

  test('holds no token, not even a hash of one: the files it vouches for do not depend on the token', async () => {
    const ws = workspace(TWO_CLUSTERS);
    await synthesize({ ...ws, env: ENV, build: 'build-1' });
    const cache = readFileSync(renderCacheFileFor(ws.distDir), 'utf8');
    const { createHash } = await import('node:crypto');
    for (const token of Object.values(ENV)) {
      expect(cache).not.toContain(token);
      expect(cache).not.toContain(createHash('sha256').update(token).digest('hex'));
    }
    // Every exposure, SOPS and the fleet repository's Receiver: what the token could reach.
    const key = await ageKeygen();
    const fleet = parseFleet(`repository: https://github.com/example/fleet\n${syntheticFleet(8, key.recipient)}`);
    for (const config of fleet.clusters) {
      const rendered = (token: string) => renderManifestFiles(new FluxCluster(new App(), config.name, { config, webhookToken: token })).filter((file) => !file.sensitive);
      expect(rendered(TOKEN)).toEqual(rendered(TOKEN.replace(/0/g, '1')));
    }
  });

  test('keeps a committed encrypted Secret, and takes the SOPS cluster\'s other files from dist/', async () => {
    const key = await ageKeygen();
    const ws = workspace(TWO_CLUSTERS.replace('        sources: [instavote]\n', `        sources: [instavote]\n    sops:\n      ageRecipients: [${key.recipient}]\n`));
    const env = { ...ENV, SOPS_AGE_KEY_FILE: key.file };
    await synthesize({ ...ws, env, build: 'build-1' });
    const before = readTree(ws.distDir);
    const again = await synthesize({ ...ws, env, build: 'build-1' });
    expect(again.dist.changed).toBe(false);
    expect(again.encrypted).toEqual([]);
    expect(readTree(ws.distDir)).toEqual(before);
  });

  test('npm run synth keeps it beside dist/, and a second run has nothing to write', () => {
    const ws = workspace(TWO_CLUSTERS);
    expect(runScript(ws, 'synth', ['--no-secrets']).status).toBe(0);
    expect(existsSync(join(ws.root, '.flux-infra.cache.json'))).toBe(true);
    const again = runScript(ws, 'synth', ['--no-secrets']);
    expect({ status: again.status, stderr: again.stderr }).toEqual({ status: 0, stderr: 'dist: up to date\n' });
  }, PROCESS_TEST_TIMEOUT);
});
