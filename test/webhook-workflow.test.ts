// `npm run webhook -- workflow <cluster> [--write <dir>]`, run as a process: what it prints and
// writes, that the audience and URL in the CI files are those of the Receiver synth writes, and its
// one-line refusals.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { synthesize } from '../lib/synth';
import { actionValidator } from './support/action-validator';
import { PROCESS_TEST_TIMEOUT, runScript, startScript } from './support/cli';
import { doctor } from '../tools/webhook/doctor';
import { BASE_FLEET } from './support/fleet';
import { readTree, workspace } from './support/tree';

const OIDC_FLEET = readFileSync(join(__dirname, 'fixtures', 'oidc-fleet.yaml'), 'utf8');

const GITHUB_FILE = 'lfs269/instavote/.github/workflows/flux-staging-instavote.yml';
const GITLAB_FILE = 'team/apps/worker/.gitlab/flux-staging-worker.gitlab-ci.yml';

/** The objects of a YAML file synth wrote. */
function objects(file: string): any[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((document) => document.toJSON()).filter(Boolean);
}

test('prints each file after a line saying where it goes; the audience and URL are those of the Receiver synth writes', async () => {
  const ws = workspace(OIDC_FLEET);
  await synthesize({ ...ws, secrets: false });
  const result = runScript(ws, 'webhook', ['workflow', 'staging']);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^# lfs269\/instavote: \.github\/workflows\/flux-staging-instavote\.yml\n/);
  expect(result.stdout).toMatch(/^# team\/apps\/worker: \.gitlab\/flux-staging-worker\.gitlab-ci\.yml; include it from team\/apps\/worker's \.gitlab-ci\.yml: include: \[\{ local: \.gitlab\/flux-staging-worker\.gitlab-ci\.yml \}\]$/m);

  // What synth wrote, read independently: each Receiver's audience, and its URL from the route's
  // host name and the controller's rule for the path (sha256 of token, name and namespace; no token).
  const dir = join(ws.distDir, 'clusters', 'staging');
  const receivers = objects(join(dir, 'receivers.yaml')).filter((object) => object.kind === 'Receiver');
  const hostname = objects(join(dir, 'webhook-http-route.yaml')).find((object) => object.kind === 'HTTPRoute').spec.hostnames[0];
  const json = JSON.parse(runScript(ws, 'webhook', ['workflow', 'staging', '--json']).stdout);
  expect(json.files.map((file: any) => `${file.repository}/${file.path}`)).toEqual([GITHUB_FILE, GITLAB_FILE]);
  for (const file of json.files) {
    const receiver = receivers.find((object) => object.metadata.name === file.receiver);
    expect(receiver.spec.type).toBe('generic-oidc');
    const audiences = [...new Set(receiver.spec.oidcProviders.map((provider: any) => provider.audience))];
    expect(audiences).toHaveLength(1);
    const url = `https://${hostname}/hook/${createHash('sha256').update(receiver.metadata.name + receiver.metadata.namespace).digest('hex')}`;
    const yaml = parse(file.content);
    const env = file.host === 'github' ? yaml.jobs['notify-flux'].env : yaml['flux-staging-worker'].variables;
    expect(env.FLUX_RECEIVER_URL).toBe(url);
    expect(env.FLUX_AUDIENCE).toBe(audiences[0]);
    if (file.host === 'github') {
      // A branch source and a semver source of one repository: one workflow, the branch and any tag.
      expect(yaml.on).toEqual({ push: { branches: ['main'], tags: ['**'] } });
    } else {
      expect(yaml['flux-staging-worker'].id_tokens).toEqual({ FLUX_ID_TOKEN: { aud: audiences[0] } });
      expect(yaml['flux-staging-worker'].rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_TAG == "v1.2.0"' }]);
    }
  }
}, PROCESS_TEST_TIMEOUT);

test('--write writes exactly the files, each under its repository\'s path, the same bytes twice; the GitHub workflow passes action-validator', () => {
  const ws = workspace(OIDC_FLEET);
  const out = join(ws.root, 'apps');
  const first = runScript(ws, 'webhook', ['workflow', 'staging', '--write', out]);
  expect(first.stderr).toBe('');
  expect(first.status).toBe(0);
  expect(first.stdout.split('\n')).toEqual([
    `wrote ${join(out, GITHUB_FILE)} (Receiver instavote; commit it in lfs269/instavote as .github/workflows/flux-staging-instavote.yml)`,
    `wrote ${join(out, GITLAB_FILE)} (Receiver worker; commit it in team/apps/worker as .gitlab/flux-staging-worker.gitlab-ci.yml; include it from team/apps/worker's .gitlab-ci.yml: include: [{ local: .gitlab/flux-staging-worker.gitlab-ci.yml }])`,
    '',
  ]);
  const written = readTree(out);
  expect(Object.keys(written).sort()).toEqual([GITHUB_FILE, GITLAB_FILE].sort());
  // What it printed without --write is what it wrote.
  const printed = JSON.parse(runScript(ws, 'webhook', ['workflow', 'staging', '--json']).stdout).files;
  expect(printed.map((file: any) => file.content)).toEqual([written[GITHUB_FILE], written[GITLAB_FILE]]);
  expect(runScript(ws, 'webhook', ['workflow', 'staging', '--write', out]).status).toBe(0);
  expect(readTree(out)).toEqual(written);
  const linted = actionValidator(join(out, GITHUB_FILE));
  expect(linted.stderr).toBe('');
  expect(linted.status).toBe(0);
}, PROCESS_TEST_TIMEOUT);

test('--write refuses a symbolic link on the way, in one line, writing nothing', () => {
  const ws = workspace(OIDC_FLEET);
  const real = join(ws.root, 'elsewhere');
  mkdirSync(real);
  // The target folder itself, and a repository folder below it.
  symlinkSync(real, join(ws.root, 'linked'));
  const linked = runScript(ws, 'webhook', ['workflow', 'staging', '--write', join(ws.root, 'linked')]);
  expect(linked.status).toBe(1);
  expect(linked.stderr).toBe(`error: ${join(ws.root, 'linked')} is a symbolic link, which flux-infra never follows: replace it with a real folder or file (and check where it pointed)\n`);
  const out = join(ws.root, 'apps');
  mkdirSync(join(out, 'team', 'apps'), { recursive: true });
  symlinkSync(real, join(out, 'team', 'apps', 'worker'));
  const below = runScript(ws, 'webhook', ['workflow', 'staging', '--write', out]);
  expect(below.status).toBe(1);
  expect(below.stderr).toBe(`error: ${join(out, 'team', 'apps', 'worker')} is a symbolic link, which flux-infra never follows: replace it with a real folder or file (and check where it pointed)\n`);
  // Checked before the first file is written: the GitHub file, first in line, is not there either.
  expect(readTree(real)).toEqual({});
  expect(existsSync(join(out, GITHUB_FILE))).toBe(false);
}, PROCESS_TEST_TIMEOUT);

test('a cluster without a generic-oidc Receiver has nothing to generate: one line, exit 0', () => {
  const ws = workspace(BASE_FLEET);
  const result = runScript(ws, 'webhook', ['workflow', 'staging']);
  expect(result.status).toBe(0);
  expect(result.stdout).toBe('cluster staging has no generic-oidc Receiver: no CI job to generate (its Receivers are called by their Git host\'s webhook: npm run webhook -- hook staging)\n');
  expect(JSON.parse(runScript(ws, 'webhook', ['workflow', 'staging', '--json']).stdout)).toEqual({ cluster: 'staging', files: [], warnings: [] });
}, PROCESS_TEST_TIMEOUT);

test('an unknown cluster or Receiver, or a Receiver that is not OIDC, is one line and exit 1; a missing argument is bad usage', () => {
  const ws = workspace(OIDC_FLEET.replace('      - name: worker\n        type: generic-oidc\n', '      - name: worker\n'));
  const unknown = runScript(ws, 'webhook', ['workflow', 'stagin']);
  expect(unknown.status).toBe(1);
  expect(unknown.stderr).toBe(`error: cluster "stagin" is not in ${ws.fleetFile} (it has: staging)\n`);
  const receiver = runScript(ws, 'webhook', ['workflow', 'staging', '--receiver', 'workr']);
  expect(receiver.stderr).toBe('error: cluster staging has no receiver "workr" (it has: instavote, worker)\n');
  expect(receiver.status).toBe(1);
  const notOidc = runScript(ws, 'webhook', ['workflow', 'staging', '--receiver', 'worker']);
  expect(notOidc.stderr).toBe('error: receiver worker of staging is not generic-oidc: its Git host\'s webhook calls it (npm run webhook -- hook staging)\n');
  expect(notOidc.status).toBe(1);
  const usage = runScript(ws, 'webhook', ['workflow']);
  expect(usage.status).toBe(2);
  expect(usage.stderr).toMatch(/^error: missing required argument 'cluster'/);
}, PROCESS_TEST_TIMEOUT);

test('an exposure without an address is the line url gives, naming the fix', () => {
  const ws = workspace(OIDC_FLEET.replace(/    webhook:\n      gateway:\n.*\n.*\n/, '    webhook:\n      nodePort: 31234\n'));
  const result = runScript(ws, 'webhook', ['workflow', 'staging']);
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/^error: clusters\.staging\.webhook in .* does not say where the cluster is reached: .*\(the path alone is \/hook\/[0-9a-f]{64}\)\n$/);
}, PROCESS_TEST_TIMEOUT);

test('a plain-HTTP exposure is refused as doctor refuses it, writing nothing, unless the Receiver says oidc.allowPlainHttp: true: then generated with a warning', async () => {
  const plain = OIDC_FLEET.replace(/    webhook:\n      gateway:\n.*\n.*\n/, '    webhook:\n      nodePort: 31234\n      address: 203.0.113.10\n');
  const ws = workspace(plain);
  const allowed = workspace(plain.replace('        sources: [instavote, vote-release]\n', '        sources: [instavote, vote-release]\n        oidc: {allowPlainHttp: true}\n'));
  try {
    const out = join(ws.root, 'apps');
    const refused = await startScript(ws, 'webhook', ['workflow', 'staging', '--write', out]);
    const line = (receiver: string) => `Receiver ${receiver} is generic-oidc, but clusters.staging.webhook is plain HTTP: its CI job's ID token travels in clear and can be replayed until it expires; expose the Receivers over TLS (gateway, ingress, or loadBalancer.tls), or set oidc.allowPlainHttp: true on the Receiver to accept that`;
    expect(refused.stderr).toBe(`error: ${line('instavote')}\n`);
    expect(refused.status).toBe(1);
    expect(existsSync(out)).toBe(false);
    // doctor says the same, one rule in one place.
    expect((await doctor('staging', { ...ws, env: {} })).problems).toEqual(expect.arrayContaining([line('instavote'), line('worker')]));

    // Allowed on one Receiver: the other is still refused; that one alone is generated, with a warning.
    const other = await startScript(allowed, 'webhook', ['workflow', 'staging']);
    expect(other.stderr).toBe(`error: ${line('worker')}\n`);
    expect(other.status).toBe(1);
    const generated = await startScript(allowed, 'webhook', ['workflow', 'staging', '--receiver', 'instavote', '--json']);
    expect(generated.stderr).toBe('warning: Receiver instavote is generic-oidc on plain HTTP (clusters.staging.webhook), as its oidc.allowPlainHttp: true accepts: its CI job\'s ID token travels in clear and can be replayed until it expires\n');
    expect(generated.status).toBe(0);
    const files = JSON.parse(generated.stdout).files;
    expect(files.map((file: any) => file.path)).toEqual(['.github/workflows/flux-staging-instavote.yml']);
    expect(parse(files[0].content).jobs['notify-flux'].env.FLUX_RECEIVER_URL).toMatch(/^http:\/\/203\.0\.113\.10:31234\/hook\/[0-9a-f]{64}$/);
  } finally {
    for (const workspaceRoot of [ws.root, allowed.root]) rmSync(workspaceRoot, { recursive: true, force: true });
  }
}, PROCESS_TEST_TIMEOUT);
