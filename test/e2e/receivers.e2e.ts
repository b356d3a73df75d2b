// What must be refused, and every Receiver type we write, against the real notification-controller:
// a fleet of one cluster per type (namespaces e2e-<cluster>, NodePorts 31241-31248) and one for the
// refusals (e2e-refused, 31240), synthesized by our synth and applied by Flux from a fleet
// repository as bootstrap would. Deliveries go to the controller's receiver address with the path
// `webhook url` prints: from `webhook ping` where it can make them, raw (fetch) where it cannot.
// Our CEL filters are evaluated by the controller's own CEL: `reconcile.fluxcd.io/requestedAt` on
// the GitRepository is set by the controller exactly when it asks the source to reconcile.
import { createHmac } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runScript, runScriptOk } from '../support/cli';
import { workspace, Workspace } from '../support/tree';
import { gitHost } from '../../lib/hosts';
import { GitHostKind } from '../../lib/fleet/model';
import { explainStatus, foreignAnswer } from '../../tools/webhook/ping';
import { bootstrapFiles, controlPlane, getObject, gitRepository, kubectl, LocalGit, readyMessage, Repository, REQUESTED_AT, requestedAt, revision, secretManifest, startLocalGit, waitFor } from './support';


interface TypeCase {
  /** The cluster, its namespace e2e-<cluster>. */
  readonly cluster: string;
  readonly host: GitHostKind;
  /** The Receiver's type when not its host's. */
  readonly type?: 'generic-hmac' | 'generic';
  /** Whether synth gives its resources a CEL filter (README: generic and generic-hmac get none). */
  readonly filtered: boolean;
  /** The source URL as the fleet file names it, when not the loopback repository (see bitbucket). */
  readonly publicUrl?: string;
}

const TYPES: readonly TypeCase[] = [
  { cluster: 'github', host: 'github', filtered: true },
  { cluster: 'gitlab', host: 'gitlab', filtered: true },
  { cluster: 'gitea', host: 'gitea', filtered: true },
  { cluster: 'forgejo', host: 'forgejo', filtered: true },
  // Bitbucket Cloud's payload (and so its filter) is bitbucket.org's only: a self-hosted Bitbucket is
  // Server/Data Center, shaped otherwise and left unfiltered. The fleet names bitbucket.org; the
  // GitRepository Flux applies is pointed at the loopback copy, the only change to synth's output.
  { cluster: 'bitbucket', host: 'bitbucket', filtered: true, publicUrl: 'https://bitbucket.org/e2e-bitbucket/app' },
  // A self-hosted Bitbucket (Server, Data Center): the bitbucket type checks it, with no filter (README, webhook hook).
  { cluster: 'bitbucket-server', host: 'bitbucket', filtered: false },
  { cluster: 'generic-hmac', host: 'github', type: 'generic-hmac', filtered: false },
  { cluster: 'generic', host: 'gitlab', type: 'generic', filtered: false },
];

const REFUSED = 'refused';
const CLUSTERS = [REFUSED, ...TYPES.map(({ cluster }) => cluster)];
const namespaceOf = (cluster: string): string => `e2e-${cluster}`;

function clusterBlock(cluster: string, nodePort: number, url: string, host: GitHostKind, receivers: string): string {
  return `  ${cluster}:
    namespace: ${namespaceOf(cluster)}
    webhook:
      address: 127.0.0.1
      nodePort: ${nodePort}
    sources:
      - name: app
        url: ${url}
        host: ${host}
        branch: main
        interval: 1h
        secretName: git-ca
    receivers:
${receivers}`;
}

function fleetFile(repos: Map<string, Repository>): string {
  const refused = clusterBlock(REFUSED, 31240, repos.get(REFUSED)!.url, 'github', [
    '      - name: app',
    '        sources: [app]',
    // The same source behind a Receiver that lists only push: a ping is an event it does not list.
    '      - name: push-only',
    '        events: [push]',
    '        sources: [app]',
    '',
  ].join('\n'));
  const types = TYPES.map((entry, index) => clusterBlock(entry.cluster, 31241 + index, entry.publicUrl ?? repos.get(entry.cluster)!.url, entry.host, [
    '      - name: app',
    ...(entry.type ? [`        type: ${entry.type}`] : []),
    '        sources: [app]',
    '',
  ].join('\n')));
  return `clusters:\n${[refused, ...types].join('')}`;
}

const NOTIFICATION = ['notification-controller'];
const SOURCES = ['source-controller'];

describe('Receivers against the real notification-controller', () => {
  let gitServer: LocalGit;
  let fleet: Repository;
  const repos = new Map<string, Repository>();
  const heads = new Map<string, string>();
  let ws: Workspace;
  /** Each cluster's Receiver URLs at the controller's receiver address, by Receiver name. */
  const urls = new Map<string, Map<string, string>>();

  beforeAll(async () => {
    gitServer = await startLocalGit();
    fleet = new Repository(gitServer, 'e2e-receivers/fleet.git');
    for (const cluster of CLUSTERS) {
      const repo = new Repository(gitServer, `${namespaceOf(cluster)}/app.git`);
      repos.set(cluster, repo);
      heads.set(cluster, repo.commit({ 'README.md': `${cluster}\n` }, 'first'));
    }
    ws = workspace(fleetFile(repos));
    runScriptOk(ws, 'synth', []);

    const receiverAddress = controlPlane().receiver;
    for (const cluster of CLUSTERS) {
      const printed = runScriptOk(ws, 'webhook', ['url', cluster]).trim().split('\n');
      urls.set(cluster, new Map(printed.map((line) => {
        const [name, url] = line.includes(': ') ? line.split(': ') : ['app', line];
        return [name, `${receiverAddress}${new URL(url).pathname}`];
      })));
    }

    // Bootstrap's part for each cluster's namespace, then Flux applies dist/clusters/<cluster>.
    fleet.commitFolder(join(ws.distDir, 'clusters'), 'clusters', 'synth');
    const files: Record<string, string> = {};
    const bootstraps = new Map<string, Record<string, string>>();
    for (const cluster of CLUSTERS) {
      const bootstrap = bootstrapFiles({ namespace: namespaceOf(cluster), fleetUrl: fleet.url, clusterPath: `./clusters/${cluster}`, secretName: 'git-ca' });
      bootstraps.set(cluster, bootstrap);
      for (const [file, content] of Object.entries(bootstrap)) files[`clusters/${cluster}/flux-system/${file}`] = content;
    }
    for (const entry of TYPES.filter(({ publicUrl }) => publicUrl !== undefined)) {
      const sources = readFileSync(join(ws.distDir, 'clusters', entry.cluster, 'sources.yaml'), 'utf8');
      expect(sources).toContain(`url: ${entry.publicUrl}`);
      files[`clusters/${entry.cluster}/sources.yaml`] = sources.replace(`url: ${entry.publicUrl}`, `url: ${repos.get(entry.cluster)!.url}`);
    }
    const bootstrapped = fleet.commit(files, 'flux bootstrap');
    for (const cluster of CLUSTERS) {
      const namespace = namespaceOf(cluster);
      const bootstrap = bootstraps.get(cluster)!;
      // Forced as a second bootstrap is, for a run on a control plane kept from an earlier one (Flux manages these objects since).
      kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], bootstrap['gotk-components.yaml']);
      kubectl(['apply', '-f', '-'], secretManifest('git-ca', namespace, { 'ca.crt': gitServer.ca }));
      // As README tells a cluster without SOPS: apply the Secret synth wrote.
      kubectl(['apply', '-f', join(ws.secretsDir, cluster, 'webhook-token-secret.yaml')]);
      // A Receiver kept from an earlier run on this control plane re-reads its (new) token only at its interval.
      for (const name of urls.get(cluster)!.keys()) {
        if (getObject('receiver', name, namespace)) kubectl(['annotate', '--overwrite', 'receiver', name, '-n', namespace, `${REQUESTED_AT}=${Date.now()}`]);
      }
      kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], bootstrap['gotk-sync.yaml']);
    }

    for (const cluster of CLUSTERS) {
      const namespace = namespaceOf(cluster);
      await waitFor(`Kustomization flux-system in ${namespace} to apply the fleet repository's head`, () => {
        const root = getObject('kustomization', 'flux-system', namespace);
        return root?.status?.lastAppliedRevision === `main@sha1:${bootstrapped}` && readyMessage(root).startsWith('Ready=True') ? root : undefined;
      }, { describe: () => readyMessage(getObject('kustomization', 'flux-system', namespace)), logs: ['source-controller', 'kustomize-controller'] });
      for (const [name, url] of urls.get(cluster)!) {
        await waitFor(`Receiver ${name} in ${namespace} to be Ready at the path webhook url prints`, () => {
          const receiver = getObject('receiver', name, namespace);
          return readyMessage(receiver).startsWith('Ready=True') && receiver.status.webhookPath === new URL(url).pathname ? receiver : undefined;
        }, { describe: () => `${readyMessage(getObject('receiver', name, namespace))}; webhookPath ${getObject('receiver', name, namespace)?.status?.webhookPath}`, logs: NOTIFICATION });
      }
      await waitFor(`GitRepository app in ${namespace} at its first commit`, () => (revision('app', namespaceOf(cluster)) === `main@sha1:${heads.get(cluster)}` ? true : undefined), {
        describe: () => `${readyMessage(gitRepository('app', namespaceOf(cluster)))}; revision ${revision('app', namespaceOf(cluster))}`,
        logs: SOURCES,
      });
    }
  });

  afterAll(async () => {
    for (const repo of repos.values()) repo.remove();
    fleet?.remove();
    await gitServer?.close();
    if (ws) rmSync(ws.root, { recursive: true, force: true });
  });

  /** `webhook ping <cluster> --url <the Receiver's URL at the controller>`, as a user runs it. */
  function ping(cluster: string, receiver: string, args: string[] = [], url = urls.get(cluster)!.get(receiver)!) {
    const result = runScript(ws, 'webhook', ['ping', cluster, '--receiver', receiver, '--url', url, ...args]);
    return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
  }

  /**
   * A raw POST to the controller; its status and the body it answered. Every answer is checked to
   * have the shape ping tells the controller by (tools/webhook/ping.ts foreignAnswer): a status
   * alone, with no body, no Server header and no Content-Type.
   */
  async function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    const response = await fetch(url, { method: 'POST', body, headers, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    const answer = { status: response.status, body: await response.text() };
    expect([answer.body, response.headers.get('server'), response.headers.get('content-type')]).toEqual(['', null, null]);
    const seen = { origin: new URL(url).origin, server: response.headers.get('server'), contentType: response.headers.get('content-type'), proxied: false };
    expect(foreignAnswer({ ...answer, location: null, seen })).toBeUndefined();
    return answer;
  }

  /** GitHub's push for `full_name` owner/name and `ref`, signed with the refused cluster's token. */
  async function githubPush(owner: string, name: string, ref: string, url: string) {
    const token = readFileSync(join(ws.secretsDir, REFUSED, 'webhook-token'), 'utf8');
    return gitHost('github').delivery('push', { host: '127.0.0.1', owner, name }, ref, url, token);
  }

  /** What ping's table says of an answer the controller gave to a delivery ping cannot make. */
  function pingsWords(answer: { status: number; body: string }, event: string): string {
    const hints = { notFound: '', proxyFailure: undefined, notReceiver: '', noAnswer: '', refused: '' };
    return explainStatus({ status: answer.status, location: null, body: answer.body }, event, 'github', 'app', 'GitRepository app', hints as never).explanation;
  }

  describe('what must be refused', () => {
    const appUrl = () => urls.get(REFUSED)!.get('app')!;

    test('a wrong signature: 400 from the controller, the source not asked to reconcile', async () => {
      const before = requestedAt('app', namespaceOf(REFUSED));
      const delivery = await githubPush(namespaceOf(REFUSED), 'app', 'refs/heads/main', appUrl());
      const wrong = createHmac('sha256', 'not-the-token').update(delivery.body).digest('hex');
      const answer = await post(appUrl(), delivery.body, { ...delivery.headers, 'X-Hub-Signature-256': `sha256=${wrong}`, 'X-Hub-Signature': `sha1=${createHmac('sha1', 'not-the-token').update(delivery.body).digest('hex')}` });
      expect(answer.status).toBe(400);
      expect(requestedAt('app', namespaceOf(REFUSED))).toBe(before);
      expect(pingsWords(answer, 'push')).toMatch(/^rejected \(400\): the signature \(X-Hub-Signature-256\) does not match/);
    });

    test('an unknown path: 404 from the controller, and ping says no Receiver is there (exit 1)', async () => {
      const unknown = `${controlPlane().receiver}/hook/${'0'.repeat(64)}`;
      const raw = await post(unknown, '{}', { 'Content-Type': 'application/json', 'X-GitHub-Event': 'ping' });
      expect(raw.status).toBe(404);
      const result = ping(REFUSED, 'app', [], unknown);
      expect(result.status).toBe(1);
      expect(result.stdout).toMatch(/^FAILED app: no Receiver at that path \(404\)/);
    });

    test('an event the Receiver does not list: 400 from the controller, named as such by ping', async () => {
      const before = requestedAt('app', namespaceOf(REFUSED));
      // ping sends GitHub's ping event; Receiver push-only lists push alone.
      const result = ping(REFUSED, 'push-only', ['--event', 'ping']);
      expect(result.status).toBe(1);
      expect(result.stdout).toMatch(/^FAILED push-only: rejected \(400\): the event "ping" is not in the Receiver's events \(push\)/);
      // An event GitHub sends but Receiver app does not list, signed right: 400 too.
      const delivery = await githubPush(namespaceOf(REFUSED), 'app', 'refs/heads/main', appUrl());
      const answer = await post(appUrl(), delivery.body, { ...delivery.headers, 'X-GitHub-Event': 'create' });
      expect(answer.status).toBe(400);
      expect(requestedAt('app', namespaceOf(REFUSED))).toBe(before);
    });

    test('a push to another branch: 200 from the controller, but our filter keeps the source from reconciling, which ping reports as a failure', async () => {
      const before = requestedAt('app', namespaceOf(REFUSED));
      const result = ping(REFUSED, 'app', ['--event', 'push', '--ref', 'refs/heads/feature']);
      expect([result.status, result.stderr]).toEqual([1, '']);
      expect(result.stdout).toBe('FAILED app: this push reconciles nothing: answered 200: Receiver app checked the signature, but its filters refuse every source: the filter of GitRepository app wants branch main (refs/heads/main), the delivery pushed refs/heads/feature: '
        + 'if feature is what you push to, set branch: feature for source app in the fleet file (npm run webhook -- doctor --online checks that each ref exists)');
      // The controller annotates before it answers: unchanged now means it was not asked.
      expect(requestedAt('app', namespaceOf(REFUSED))).toBe(before);
    });

    test('a push from another repository: 200 from the controller, the source not asked to reconcile', async () => {
      const before = requestedAt('app', namespaceOf(REFUSED));
      const delivery = await githubPush('someone-else', 'app', 'refs/heads/main', appUrl());
      const answer = await post(appUrl(), delivery.body, delivery.headers);
      expect(answer.status).toBe(200);
      expect(requestedAt('app', namespaceOf(REFUSED))).toBe(before);
    });

    test('a ping: 200, and nothing reconciles (the filters guard the ref a ping lacks)', async () => {
      const before = requestedAt('app', namespaceOf(REFUSED));
      const result = ping(REFUSED, 'app');
      expect([result.status, result.stdout]).toEqual([0, 'ok app: accepted: Receiver app checked the signature; its filters reconcile none of its sources for this delivery (skipped: GitRepository app)']);
      expect(requestedAt('app', namespaceOf(REFUSED))).toBe(before);
    });

    test('a body over 3 MiB: 413 from the controller', async () => {
      const answer = await post(appUrl(), `{"pad":"${'x'.repeat(3 * 1024 * 1024)}"}`, { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push' });
      expect(answer.status).toBe(413);
      expect(pingsWords(answer, 'push')).toMatch(/^rejected \(413\)/);
    });

    test('and the matching push does set the annotation, and the source fetches the pushed commit', async () => {
      const before = requestedAt('app', namespaceOf(REFUSED));
      const pushed = repos.get(REFUSED)!.commit({ 'README.md': 'pushed\n' }, 'pushed');
      const result = ping(REFUSED, 'app', ['--event', 'push']);
      expect([result.status, result.stdout]).toEqual([0, 'ok app: accepted: Receiver app checked the signature and asked GitRepository app to reconcile']);
      expect(requestedAt('app', namespaceOf(REFUSED))).not.toBe(before);
      expect(requestedAt('app', namespaceOf(REFUSED))).toBeDefined();
      await waitFor('GitRepository app in e2e-refused at the pushed commit', () => (revision('app', namespaceOf(REFUSED)) === `main@sha1:${pushed}` ? true : undefined), {
        describe: () => `${readyMessage(gitRepository('app', namespaceOf(REFUSED)))}; revision ${revision('app', namespaceOf(REFUSED))}`, logs: SOURCES,
      });
    });
  });

  describe('every Receiver type we write', () => {
    test.each(TYPES.map((entry) => [entry.cluster, entry.filtered ? 'does not (our CEL filter)' : 'does too (no filter)', entry] as const))('%s: a push to the source\'s branch reconciles it; one to another branch %s', async (_name, _other, entry) => {
      const { cluster } = entry;
      const repo = repos.get(cluster)!;
      const receiver = getObject('receiver', 'app', namespaceOf(cluster));
      expect(receiver.spec.type).toBe(entry.type ?? (entry.host === 'gitlab' ? 'gitlab' : entry.host === 'bitbucket' ? 'bitbucket' : 'github'));
      expect(receiver.spec.resources.every((resource: any) => typeof resource.filter === 'string')).toBe(entry.filtered);

      // A commit lands on main, but the delivery names another branch.
      const first = revision('app', namespaceOf(cluster));
      const pushed = repo.commit({ 'README.md': `${cluster} pushed\n` }, 'pushed');
      const before = requestedAt('app', namespaceOf(cluster));
      const other = ping(cluster, 'app', ['--event', 'push', '--ref', 'refs/heads/feature']);
      expect([other.status, other.stderr]).toEqual([entry.filtered ? 1 : 0, '']);
      if (entry.filtered) {
        expect(other.stdout).toMatch(/^FAILED app: this push reconciles nothing: answered 200: .*, but its filters refuse every source: the filter of GitRepository app wants branch main \(refs\/heads\/main\), the delivery pushed refs\/heads\/feature: /);
        expect(requestedAt('app', namespaceOf(cluster))).toBe(before);
        expect(revision('app', namespaceOf(cluster))).toBe(first);
      } else {
        // README: a generic or generic-hmac Receiver, or a self-hosted Bitbucket's, gets no filter, so any push reconciles.
        expect(other.stdout).toMatch(/^ok app: accepted: .* and asked GitRepository app to reconcile$/);
        expect(requestedAt('app', namespaceOf(cluster))).not.toBe(before);
      }

      const annotated = requestedAt('app', namespaceOf(cluster));
      const result = ping(cluster, 'app', ['--event', 'push']);
      expect([result.status, result.stderr]).toEqual([0, '']);
      expect(result.stdout).toMatch(/^ok app: accepted: .* and asked GitRepository app to reconcile$/);
      expect(requestedAt('app', namespaceOf(cluster))).toBeDefined();
      expect(requestedAt('app', namespaceOf(cluster))).not.toBe(annotated);
      await waitFor(`GitRepository app in ${namespaceOf(cluster)} at the pushed commit`, () => (revision('app', namespaceOf(cluster)) === `main@sha1:${pushed}` ? true : undefined), {
        describe: () => `${readyMessage(gitRepository('app', namespaceOf(cluster)))}; revision ${revision('app', namespaceOf(cluster))}`, logs: [...NOTIFICATION, ...SOURCES],
      });
    });
  });
});
