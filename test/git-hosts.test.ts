// Sources on every Git host, and the fleet repository: what the fleet file accepts and refuses,
// what synth writes (Receivers valid against the current Receiver CRD), and how each host is named.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { AppDeployment } from '../lib/constructs/app-deployment';
import { GitSource } from '../lib/constructs/git-source';
import { secretFromName } from '../lib/constructs/secret-reference';
import { WebhookReceiver } from '../lib/constructs/webhook-receiver';
import { FleetError, parseFleet } from '../lib/fleet/parse';
import { pathsFromEnvironment } from '../lib/layout';
import { synthesize } from '../lib/synth';
import { doctor } from '../tools/webhook/doctor';
import { syncHooks } from '../tools/webhook/hook';
import { run as runSecrets } from '../tools/secrets';
import { payloadUrls } from '../tools/webhook/url';
import { crdValidator } from './support/crd';
import { TOKEN } from './support/synth';
import { workspace } from './support/tree';

const validateReceiver = crdValidator(join(__dirname, 'fixtures', 'flux-crds', 'notification.toolkit.fluxcd.io_receivers.yaml'));
const ENV = { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN };

const EVERY_HOST = `repository: https://github.com/acme/fleet   # the flux-infra repository itself
clusters:
  staging:
    webhook: {nodePort: 31234, address: 203.0.113.10}
    sources:
      - {name: on-github, url: "https://github.com/acme/app", branch: main}
      - {name: on-ghe, url: "https://ghe.acme.internal/team/app", apiUrl: "https://ghe.acme.internal/api/v3", branch: main}
      - {name: on-gitlab, url: "https://gitlab.com/acme/platform/app", semver: ">=1.0.0"}
      - {name: on-gitlab-self, url: "https://git.acme.internal/acme/app", host: gitlab, tag: v2.0.0}
      - {name: on-gitea, url: "https://gitea.com/acme/app", branch: main}
      - {name: on-forgejo, url: "https://codeberg.org/acme/app", branch: main}
      - {name: on-bitbucket, url: "https://bitbucket.org/acme/app", branch: main}
      - {name: pinned, url: "https://github.com/acme/pinned", commit: "${'c'.repeat(40)}"}
    receivers:
      - {name: github, sources: [on-github, on-ghe, on-gitea, on-forgejo, pinned]}
      - {name: gitlab, sources: [on-gitlab, on-gitlab-self]}
      - {name: bitbucket, sources: [on-bitbucket]}
      - {name: any, type: generic-hmac, sources: [on-github], filter: false}
`;

const problemsOf = (text: string) => {
  try {
    parseFleet(text);
    return [];
  } catch (error) {
    return (error as FleetError).problems;
  }
};

describe('the fleet file', () => {
  test('takes a Receiver type from its sources\' host, the fleet repository, and the per-host defaults', () => {
    const fleet = parseFleet(EVERY_HOST);
    expect(fleet.repository).toEqual({ url: 'https://github.com/acme/fleet' });
    const [cluster] = fleet.clusters;
    expect(cluster.receivers.map((receiver) => [receiver.name, receiver.type])).toEqual([['github', 'github'], ['gitlab', 'gitlab'], ['bitbucket', 'bitbucket'], ['any', 'generic-hmac']]);
    expect(cluster.fleetRepository).toEqual({ url: 'https://github.com/acme/fleet' });
  });

  test('refuses a type that does not check a source\'s host, and one Receiver for hosts of different types', () => {
    expect(problemsOf(EVERY_HOST.replace('{name: gitlab, sources:', '{name: gitlab, type: github, sources:'))).toEqual([
      'fleet.yaml:16:30: clusters.staging.receivers[1].type: a github Receiver cannot check deliveries from gitlab (source on-gitlab, https://gitlab.com/acme/platform/app): use type gitlab',
    ]);
    expect(problemsOf(EVERY_HOST.replace('sources: [on-bitbucket]}', 'sources: [on-bitbucket, on-gitlab]}'))).toEqual([
      'fleet.yaml:17:36: clusters.staging.receivers[2].sources: lists sources on hosts that different Receiver types check (bitbucket: on-bitbucket; gitlab: on-gitlab): give each host a Receiver of its own',
    ]);
  });

  test('reserves flux-system for bootstrap\'s GitRepository, and takes URLs under a sub-path', () => {
    expect(problemsOf(EVERY_HOST.replace('{name: on-gitea,', '{name: flux-system,').replace('on-gitea, on-forgejo', 'flux-system, on-forgejo'))).toEqual([
      'fleet.yaml:10:16: clusters.staging.sources[4].name: "flux-system" is the GitRepository flux bootstrap makes for the fleet repository: choose another name',
    ]);
    // An installation under a sub-path, Bitbucket Server's /scm/<project>/<repo>: owner and name are the last two segments.
    const subPath = parseFleet(EVERY_HOST.replace('"https://gitea.com/acme/app"', '"https://git.acme.internal/gitea/acme/app", host: gitea'));
    expect(subPath.clusters[0].sources.find((source) => source.name === 'on-gitea')!.url).toBe('https://git.acme.internal/gitea/acme/app');
  });

  test('refuses an unknown host, a bad API URL, a Receiver named flux-system beside repository:, and a bad repository', () => {
    expect(problemsOf(EVERY_HOST.replace('host: gitlab,', 'host: gitlub,'))).toEqual(['fleet.yaml:9:81: clusters.staging.sources[3].host: must be one of github, gitlab, gitea, forgejo, bitbucket, not "gitlub"']);
    expect(problemsOf(EVERY_HOST.replace('apiUrl: "https://ghe.acme.internal/api/v3"', 'apiUrl: "https://user:pw@ghe.acme.internal/api/v3"'))).toEqual([
      'fleet.yaml:7:75: clusters.staging.sources[1].apiUrl: "https://user:pw@ghe.acme.internal/api/v3" carries credentials: give the URL alone; the token comes from the environment',
    ]);
    expect(problemsOf(EVERY_HOST.replace('{name: bitbucket, sources:', '{name: flux-system, sources:'))).toEqual([
      'fleet.yaml:17:16: clusters.staging.receivers[2].name: "flux-system" is the Receiver of the fleet repository (repository:): choose another name',
    ]);
    expect(problemsOf(EVERY_HOST.replace('repository: https://github.com/acme/fleet', 'repository: {url: "https://github.com/acme/fleet", brnach: main}'))).toEqual([
      'fleet.yaml:1:52: repository.brnach: is not a known field: did you mean branch? (see docs/fleet-file.md)',
    ]);
  });
});

describe('synth of a source on every host and the fleet repository', () => {
  test('writes Receivers the current Receiver CRD accepts, with per-host events and filters, and flux-system\'s own', async () => {
    const ws = workspace(EVERY_HOST);
    await synthesize({ ...ws, env: ENV });
    const receivers = parseAllDocuments(readFileSync(join(ws.distDir, 'clusters', 'staging', 'receivers.yaml'), 'utf8')).map((document) => document.toJS());
    for (const receiver of receivers) expect(validateReceiver(receiver)).toEqual([]);
    const byName = Object.fromEntries(receivers.map((receiver) => [receiver.metadata.name, receiver.spec]));
    expect(Object.keys(byName)).toEqual(['github', 'gitlab', 'bitbucket', 'any', 'flux-system']);
    expect(byName.gitlab.events).toEqual(['Push Hook', 'Tag Push Hook']);
    // Cloud's push event, and Server's and Data Center's, which the same type checks.
    expect(byName.bitbucket.events).toEqual(['repo:push', 'repo:refs_changed']);
    expect(byName.any.events).toBeUndefined();
    // Every resource of a Git host's Receiver has its filter; a pinned commit is never reconciled by a push.
    expect(byName.github.resources.find((resource: any) => resource.name === 'pinned').filter).toBe('false');
    expect(byName.gitlab.resources.map((resource: any) => resource.filter)).toEqual([
      expect.stringContaining("req.ref.startsWith('refs/tags/')"),
      expect.stringContaining("req.ref == 'refs/tags/v2.0.0'"),
    ]);
    expect(byName.any.resources.every((resource: any) => resource.filter === undefined)).toBe(true);
    // The fleet repository: bootstrap's GitRepository flux-system, on pushes to its branch.
    expect(byName['flux-system']).toMatchObject({
      type: 'github',
      events: ['ping', 'push'],
      resources: [{ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', name: 'flux-system', filter: expect.stringContaining("req.ref == 'refs/heads/main'") }],
    });
    expect(validateReceiver({ ...receivers[0], spec: { ...receivers[0].spec, resources: [{ kind: 'GitRepository', name: 'x', filtr: 'true' }] } })).toEqual(['/spec/resources/0 must NOT have additional properties: filtr']);

    const readme = readFileSync(join(ws.distDir, 'clusters', 'staging', 'README.md'), 'utf8');
    for (const line of ['GitLab repository<br/>https://gitlab.com/acme/platform/app', 'Bitbucket repository<br/>https://bitbucket.org/acme/app', 'Forgejo repository<br/>https://codeberg.org/acme/app', 'Gitea repository<br/>https://gitea.com/acme/app', 'GitHub repository<br/>https://ghe.acme.internal/team/app', 'GitHub repository<br/>https://github.com/acme/fleet']) {
      expect(readme).toContain(line);
    }
    expect(readme).toContain('Add the webhook on GitHub, Gitea, Forgejo, GitLab, Bitbucket: `npm run webhook -- hook staging`');
    expect(readme).toContain('on GitHub, the token in the "Secret" field, and "Just the push event" for the events; on Gitea, the token in the "Secret" field, and "Push events" for the events; on Forgejo, the token in the "Secret" field, and "Push events" for the events; on GitLab, the token in the "Secret token" field, and "Push events and Tag push events" for the events; on Bitbucket, the token in the "Secret" field, and "Repository push" for the events.');
    const urls = await payloadUrls('staging', { ...ws, env: ENV });
    expect(urls.receivers.map((receiver) => receiver.name)).toEqual(['github', 'gitlab', 'bitbucket', 'any', 'flux-system']);
  });

  test('doctor names each host\'s push event when a Receiver does not take it', async () => {
    const ws = workspace(EVERY_HOST.replace('{name: gitlab, sources:', '{name: gitlab, events: ["Tag Push Hook"], sources:'));
    await synthesize({ ...ws, env: ENV });
    const { problems } = await doctor('staging', { ...ws, env: ENV });
    expect(problems).toContain('Receiver gitlab does not accept push hook events (events: Tag Push Hook): GitLab\'s pushes get 400');
  });
});

test('a Receiver can reconcile a Kustomization too, written with its apiVersion (the controller answers 500 without one)', () => {
  const chart = Testing.chart();
  const source = new GitSource(chart, 'src', { name: 'app', url: 'https://github.com/acme/app' });
  const app = new AppDeployment(chart, 'app', { source, path: './deploy' });
  new WebhookReceiver(chart, 'receiver', { name: 'app', secret: secretFromName('webhook-token', 'flux-system'), resources: [source, app] });
  const receiver = Testing.synth(chart).find((object: any) => object.kind === 'Receiver');
  expect(receiver.spec.resources).toEqual([
    { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', name: 'app' },
    { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', name: 'app' },
  ]);
  expect(validateReceiver(receiver)).toEqual([]);
});

test('a Bitbucket Server source and a URL naming no owner/name synthesize, unfiltered: their payloads are not known here', async () => {
  const ws = workspace(`clusters:
  staging:
    webhook: {nodePort: 31234, address: 203.0.113.10}
    sources:
      - {name: server, url: "https://bitbucket.acme.internal/scm/proj/app", host: bitbucket}
      - {name: sub-path, url: "https://git.acme.internal/gitea/acme/app", host: gitea}
      - {name: bare, url: "https://git.acme.internal/app"}
    receivers:
      - {name: server, sources: [server]}
      - {name: others, sources: [sub-path, bare]}
`);
  await synthesize({ ...ws, env: ENV });
  const receivers = parseAllDocuments(readFileSync(join(ws.distDir, 'clusters', 'staging', 'receivers.yaml'), 'utf8')).map((document) => document.toJS());
  for (const receiver of receivers) expect(validateReceiver(receiver)).toEqual([]);
  const [server, others] = receivers;
  expect(server.spec.resources[0].filter).toBeUndefined();
  expect(others.spec.resources.map((resource: any) => resource.filter)).toEqual([expect.stringContaining("matches('(?i)^acme/app$')"), undefined]);
  const changes = await syncHooks('staging', { ...ws, env: ENV, dryRun: true, receiver: 'server' });
  expect(changes).toEqual([{ host: 'Bitbucket', repository: 'proj/app', receiver: 'server', action: 'skip', reason: expect.stringMatching(/^Bitbucket Server and Data Center hooks are not made here \(Cloud's API only\): add it by hand/) }]);
});

test('hook keeps apart two repositories of one name on two installations', async () => {
  const ws = workspace(`clusters:
  staging:
    webhook: {nodePort: 31234, address: 203.0.113.10}
    sources:
      - {name: public, url: "https://github.com/acme/app"}
      - {name: enterprise, url: "https://ghe.acme.internal/acme/app"}
    receivers:
      - {name: app, sources: [public, enterprise]}
`);
  const changes = await syncHooks('staging', { ...ws, env: ENV, dryRun: true });
  expect(changes.map((change) => [change.host, change.repository])).toEqual([['GitHub', 'acme/app'], ['GitHub', 'acme/app']]);
});

test('rotate-token names each Receiver\'s hosts and repositories, and each host\'s word for the secret', async () => {
  const ws = workspace(EVERY_HOST);
  await synthesize({ ...ws, env: {} });
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  const saved = { ...process.env };
  Object.assign(process.env, { FLUX_INFRA_FLEET: ws.fleetFile, FLUX_INFRA_DIST: ws.distDir, FLUX_INFRA_SECRETS: ws.secretsDir, FLUX_INFRA_SOPS_CONFIG: ws.sopsConfigFile });
  try {
    expect(await runSecrets(['rotate-token', 'staging'])).toBe(0);
    const report = String(log.mock.calls.at(-1)![0]);
    expect(report).toMatch(/Receiver gitlab \(GitLab https:\/\/gitlab\.com\/acme\/platform\/app, GitLab https:\/\/git\.acme\.internal\/acme\/app\): Payload URL http:\/\/203\.0\.113\.10:31234\/hook\/[0-9a-f]{64}/);
    expect(report).toContain('Receiver bitbucket (Bitbucket https://bitbucket.org/acme/app)');
    expect(report).toContain('Receiver flux-system (GitHub https://github.com/acme/fleet)');
    expect(report).toContain('Secret / Secret token: the new token');
  } finally {
    process.env = saved;
    log.mockRestore();
    error.mockRestore();
  }
});

test('the cluster README bootstraps with the fleet repository host\'s command, and lists only the hosts that get a hook', async () => {
  const ws = workspace(`repository: {url: "https://gitlab.com/acme/fleet"}
clusters:
  staging:
    webhook: {nodePort: 31234, address: 203.0.113.10}
    sources:
      - {name: app, url: "https://bitbucket.org/acme/app"}
    receivers:
      - {name: app, type: generic-hmac, sources: [app]}
`);
  await synthesize({ ...ws, env: ENV });
  const readme = readFileSync(join(ws.distDir, 'clusters', 'staging', 'README.md'), 'utf8');
  expect(readme).toContain('bootstrap Flux on this directory: `flux bootstrap gitlab --owner=acme --repository=fleet --branch=main --path=dist/clusters/staging`.');
  // The Bitbucket repository is called through a generic-hmac Receiver: no hook is made there, only on the fleet repository.
  expect(readme).toContain('Add the webhook on GitLab: `npm run webhook -- hook staging`');
  expect(readme).toContain('Bitbucket repository<br/>https://bitbucket.org/acme/app');
});

test('a scratch dist/ gets its own .sops.yaml beside it, never the repository\'s', () => {
  expect(pathsFromEnvironment({ FLUX_INFRA_DIST: 'scratch/sdist' }).sopsConfigFile).toBe(join('scratch', '.sops.yaml'));
  expect(pathsFromEnvironment({}).sopsConfigFile).toBe('.sops.yaml');
  expect(pathsFromEnvironment({ FLUX_INFRA_DIST: 'scratch/sdist', FLUX_INFRA_SOPS_CONFIG: 'x/.sops.yaml' }).sopsConfigFile).toBe('x/.sops.yaml');
});
