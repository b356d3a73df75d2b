// The walkthrough, for real: a fleet made as README tells a user (own age key, SOPS token, NodePort
// 31234, Receiver instavote for ping and push), applied by the real Flux controllers from a fleet
// repository; then a push reaches the Deployment through the webhook alone (every interval is 1h).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScript, runScriptOk, startScript } from '../support/cli';
import { workspace, Workspace } from '../support/tree';
import { applyBootstrap, bootstrapFiles, controlPlane, getObject, LocalGit, readyMessage, Repository, secretManifest, startLocalGit, waitFor } from './support';

const NAMESPACE = 'flux-system';

function deployment(replicas: number): string {
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:\n  name: vote\n  namespace: instavote',
    `spec:\n  replicas: ${replicas}\n  selector:\n    matchLabels:\n      app: vote\n  template:\n    metadata:\n      labels:\n        app: vote\n    spec:\n      containers:\n        - name: vote\n          image: schoolofdevops/vote:v1`,
    '',
  ].join('\n');
}

function fleetFile(appUrl: string): string {
  return `clusters:
  staging:
    webhook:
      address: 127.0.0.1
      nodePort: 31234
    sources:
      - name: instavote
        url: ${appUrl}
        host: github
        branch: main
        interval: 1h
        secretName: git-ca
    apps:
      - name: vote-staging
        source: instavote
        path: ./deploy/vote/staging
        interval: 1h
        wait: false          # no kubelet here: a Deployment never becomes Available
    receivers:
      - name: instavote
        sources: [instavote]
`;
}

function deploymentReplicas(): number | undefined {
  return getObject('deployment', 'vote', 'instavote')?.spec?.replicas;
}

describe('the walkthrough, staging', () => {
  let gitServer: LocalGit;
  let app: Repository;
  let fleet: Repository;
  let ws: Workspace;

  beforeAll(async () => {
    gitServer = await startLocalGit();
    app = new Repository(gitServer, 'lfs269/instavote.git');
    fleet = new Repository(gitServer, 'fleet.git');
    ws = workspace(fleetFile(app.url));
  });

  afterAll(async () => {
    app?.remove();
    fleet?.remove();
    await gitServer?.close();
  });

  test('Flux applies dist/clusters/staging, and a push reaches the Deployment through the webhook alone', async () => {
    const first = app.commit({
      'deploy/vote/staging/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: instavote\n',
      'deploy/vote/staging/vote-deployment.yaml': deployment(2),
    }, 'vote: 2 replicas');

    // As docs/secrets.md ("Secrets in git") tells a user: the cluster's own age key, then synth encrypts the token.
    runScriptOk(ws, 'secrets', ['age-key', 'staging', '--write-fleet']);
    runScriptOk(ws, 'synth', []);
    const token = readFileSync(join(ws.secretsDir, 'staging', 'webhook-token'), 'utf8').trim();
    const url = runScriptOk(ws, 'webhook', ['url', 'staging', '--receiver', 'instavote']).trim();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:31234\/hook\/[0-9a-f]{64}$/);
    const path = new URL(url).pathname;

    // Bootstrap's part: gotk files in the fleet repository, the namespace, the sops-age Secret and the sources' CA.
    const fleetSha = fleet.commitFolder(join(ws.distDir, 'clusters'), 'clusters', 'synth');
    const bootstrap = bootstrapFiles({ namespace: NAMESPACE, fleetUrl: fleet.url, clusterPath: './clusters/staging', secretName: 'git-ca' });
    const bootstrapped = fleet.commit(Object.fromEntries(Object.entries(bootstrap).map(([file, content]) => [`clusters/staging/flux-system/${file}`, content])), 'flux bootstrap');
    expect(bootstrapped).not.toBe(fleetSha);
    applyBootstrap(bootstrap, NAMESPACE, gitServer.ca, [secretManifest('sops-age', NAMESPACE, { 'age.agekey': readFileSync(join(ws.secretsDir, 'staging', 'age.agekey'), 'utf8') })]);

    const logs = ['source-controller', 'kustomize-controller'];
    await waitFor('the flux-system Kustomization to apply the fleet repository\'s head', () => {
      const root = getObject('kustomization', 'flux-system', NAMESPACE);
      return root?.status?.lastAppliedRevision === `main@sha1:${bootstrapped}` && readyMessage(root).startsWith('Ready=True') ? root : undefined;
    }, { describe: () => readyMessage(getObject('kustomization', 'flux-system', NAMESPACE)), logs });

    const service = getObject('service', 'webhook-receiver', NAMESPACE);
    expect(service.spec.type).toBe('NodePort');
    expect(service.spec.ports[0].nodePort).toBe(31234);

    // kustomize-controller's first apply, before the decryption patch it carries takes effect, writes
    // the Secret still encrypted (token "ENC[...]"); the next one, a moment later, decrypts it.
    const tokenInCluster = () => {
      const data = getObject('secret', 'webhook-token', NAMESPACE)?.data?.token;
      return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
    };
    await waitFor('the decrypted token in Secret webhook-token', () => (tokenInCluster() === token ? true : undefined), { describe: () => `token: ${tokenInCluster()?.slice(0, 24)}...`, logs: ['kustomize-controller'] });

    // The Receiver may first have seen that encrypted value: its label makes it look again at once.
    await waitFor(`Receiver instavote Ready at the path webhook url printed (${path})`, () => {
      const object = getObject('receiver', 'instavote', NAMESPACE);
      return readyMessage(object).startsWith('Ready=True') && object.status.webhookPath === path ? object : undefined;
    }, { describe: () => { const object = getObject('receiver', 'instavote', NAMESPACE); return `${readyMessage(object)}; webhookPath ${object?.status?.webhookPath}`; }, logs: ['notification-controller'], timeoutMs: 30_000 });

    await waitFor('the app at 2 replicas (the first commit)', () => (deploymentReplicas() === 2 ? true : undefined), {
      describe: () => readyMessage(getObject('kustomization', 'vote-staging', NAMESPACE)),
      logs,
    });
    expect(getObject('gitrepository', 'instavote', NAMESPACE).status.artifact.revision).toBe(`main@sha1:${first}`);

    // Several pushes, each delivered as GitHub does and nothing else: every interval is 1h.
    const receiverUrl = controlPlane().receiver;
    const latencies: number[] = [];
    let pushed = first;
    for (const replicas of [5, 3, 4]) {
      pushed = app.commit({ 'deploy/vote/staging/vote-deployment.yaml': deployment(replicas) }, `vote: ${replicas} replicas`);
      const sentAt = Date.now();
      const ping = runScript(ws, 'webhook', ['ping', 'staging', '--event', 'push', '--url', receiverUrl]);
      expect([ping.status, ping.stderr]).toEqual([0, '']);
      await waitFor(`the pushed commit to reach the Deployment (${replicas} replicas)`, () => (deploymentReplicas() === replicas ? true : undefined), {
        describe: () => `${readyMessage(getObject('gitrepository', 'instavote', NAMESPACE))}; ${readyMessage(getObject('kustomization', 'vote-staging', NAMESPACE))}`,
        logs: ['notification-controller', 'source-controller', 'kustomize-controller'],
        timeoutMs: 60_000,
      });
      latencies.push(Date.now() - sentAt);
      expect(getObject('gitrepository', 'instavote', NAMESPACE).status.artifact.revision).toBe(`main@sha1:${pushed}`);
    }
    const median = [...latencies].sort((a, b) => a - b)[Math.floor(latencies.length / 2)];
    process.stderr.write(`push to applied (delivery to the Deployment's new spec.replicas): median ${median} ms of ${latencies.length} pushes (${latencies.join(', ')} ms); the polling interval it replaces: 1h\n`);

    // verify, as a user runs it after a push: this API server, heads read from the Git server with git.
    await waitFor('vote-staging to be Ready at the pushed commit', () => {
      const kustomization = getObject('kustomization', 'vote-staging', NAMESPACE);
      return kustomization?.status?.lastAppliedRevision === `main@sha1:${pushed}` && readyMessage(kustomization).startsWith('Ready=True') ? true : undefined;
    }, { describe: () => readyMessage(getObject('kustomization', 'vote-staging', NAMESPACE)), logs: ['kustomize-controller'] });
    // Started, not run: the Git server it reads lives in this process and must go on answering.
    const verified = await startScript(ws, 'webhook', ['verify', 'staging', '--wait', '2m', '--heads', 'git', '--kubeconfig', controlPlane().kubeconfig], { GIT_SSL_CAINFO: controlPlane().caFile });
    expect([verified.status, verified.stderr]).toEqual([0, '']);
    expect(verified.stdout).toContain(pushed);
  });
});
