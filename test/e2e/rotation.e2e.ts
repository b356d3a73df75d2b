// Rotation and a broken push, against the real controllers. Rotation: a cluster with its own age
// key and a Receiver for the fleet repository; `rotate-token`, commit, push, and the delivery the
// Git host still sends to the OLD URL makes Flux apply the new Secret: then the new URLs answer 200
// and the old ones 404 within 30 s. A broken push: a commit with an invalid manifest fails the
// Kustomization, and `verify --heads git` says so with the controller's message (exit 1), where it
// passed (exit 0) after a good push.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gitHost } from '../../lib/hosts';
import { encryptSecretFile } from '../../lib/secrets/encrypted-secret';
import { runScript, runScriptOk, startScript } from '../support/cli';
import { workspace, Workspace } from '../support/tree';
import { applyBootstrap, bootstrapFiles, controlPlane, getObject, kubectl, LocalGit, readyMessage, Repository, REQUESTED_AT, secretManifest, startLocalGit, waitFor } from './support';

/** The fleet file of one scenario's cluster: an app repository, its Receiver, and a Receiver for the fleet repository. */
function fleetFile(options: { cluster: string; namespace: string; nodePort: number; fleetUrl: string; appUrl: string }): string {
  return `repository:
  url: ${options.fleetUrl}
  host: github
clusters:
  ${options.cluster}:
    namespace: ${options.namespace}
    webhook:
      address: 127.0.0.1
      nodePort: ${options.nodePort}
    sources:
      - name: app
        url: ${options.appUrl}
        host: github
        branch: main
        interval: 1h
        secretName: git-ca
    apps:
      - name: app
        source: app
        path: ./deploy
        interval: 1h
        wait: false          # no kubelet here: a Deployment never becomes Available
    receivers:
      - name: app
        sources: [app]
`;
}

/** The Payload URL of each Receiver, as `webhook url` prints it, by Receiver name. */
function receiverUrls(ws: Workspace, cluster: string): Record<string, string> {
  return Object.fromEntries(['app', 'flux-system'].map((receiver) => [receiver, runScriptOk(ws, 'webhook', ['url', cluster, '--receiver', receiver]).trim()]));
}

/**
 * A GitHub push of `main` to `repositoryUrl`, signed with `token`, sent to the controller's
 * receiver address at `path`: what the Git host sends to a hook's Payload URL. Its status code.
 */
async function deliverPush(path: string, token: string, repositoryUrl: string): Promise<number> {
  const github = gitHost('github');
  const url = `${controlPlane().receiver}${path}`;
  const delivery = await github.delivery('push', github.repositoryOf(repositoryUrl), 'refs/heads/main', url, token);
  const response = await fetch(url, { method: 'POST', headers: delivery.headers, body: delivery.body, signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer();
  return response.status;
}

/** The scenario's fleet: the workspace, its repositories, and bootstrap's part written into the fleet repository. */
class Scenario {
  public readonly ws: Workspace;
  public readonly app: Repository;
  public readonly fleet: Repository;

  public constructor(public readonly git: LocalGit, public readonly cluster: string, public readonly namespace: string, nodePort: number) {
    this.app = new Repository(git, `${namespace}/app.git`);
    this.fleet = new Repository(git, `${namespace}/fleet.git`);
    this.ws = workspace(fleetFile({ cluster, namespace, nodePort, fleetUrl: this.fleet.url, appUrl: this.app.url }));
  }

  /**
   * Bootstrap's part: its gotk files in the fleet repository (written into dist/ as a user who
   * pulled bootstrap's commit has them: synth keeps them), the sources' CA and (with SOPS) the
   * sops-age Secret, then gotk-sync. Returns the fleet commit Flux must apply.
   */
  public bootstrap(extraSecrets: string[] = []): string {
    const files = bootstrapFiles({ namespace: this.namespace, fleetUrl: this.fleet.url, clusterPath: `./clusters/${this.cluster}`, secretName: 'git-ca' });
    const folder = join(this.ws.distDir, 'clusters', this.cluster, 'flux-system');
    mkdirSync(folder, { recursive: true });
    for (const [file, content] of Object.entries(files)) writeFileSync(join(folder, file), content);
    const sha = this.pushDist('synth, with flux bootstrap\'s files');
    applyBootstrap(files, this.namespace, this.git.ca, extraSecrets);
    return sha;
  }

  /** Commits dist/clusters/ to the fleet repository's clusters/ and pushes; the commit's SHA. */
  public pushDist(message: string): string {
    return this.fleet.commitFolder(join(this.ws.distDir, 'clusters'), 'clusters', message);
  }

  public object(kind: string, name: string): any {
    return getObject(kind, name, this.namespace);
  }

  /** Waits until Kustomization `name` is Ready having applied `sha`. */
  public async applied(name: string, sha: string, what: string): Promise<any> {
    return waitFor(what, () => {
      const object = this.object('kustomization', name);
      return object?.status?.lastAppliedRevision === `main@sha1:${sha}` && readyMessage(object).startsWith('Ready=True') ? object : undefined;
    }, {
      describe: () => `${readyMessage(this.object('gitrepository', name === 'flux-system' ? 'flux-system' : 'app'))}; ${readyMessage(this.object('kustomization', name))}`,
      logs: ['notification-controller', 'source-controller', 'kustomize-controller'],
    });
  }

  /** Waits until Receiver `name` is Ready at `path`. */
  public async receiverAt(name: string, path: string): Promise<void> {
    // On a kept control plane an earlier run's Receiver may serve that run's token, its Secret unlabelled
    // (the rotation scenario's first state): ask it to reconcile, as `flux reconcile receiver` does.
    if (this.object('receiver', name)) kubectl(['annotate', '--overwrite', '-n', this.namespace, 'receiver', name, `${REQUESTED_AT}=${new Date().toISOString()}`]);
    await waitFor(`Receiver ${name} Ready at ${path}`, () => {
      const object = this.object('receiver', name);
      return readyMessage(object).startsWith('Ready=True') && object.status?.webhookPath === path ? true : undefined;
    }, { describe: () => { const object = this.object('receiver', name); return `${readyMessage(object)}; webhookPath ${object?.status?.webhookPath}`; }, logs: ['notification-controller'] });
  }

  public remove(): void {
    this.app.remove();
    this.fleet.remove();
    rmSync(this.ws.root, { recursive: true, force: true });
  }
}

describe('rotation', () => {
  let git: LocalGit;
  let scenario: Scenario;

  beforeAll(async () => {
    git = await startLocalGit();
    scenario = new Scenario(git, 'rotation', 'e2e-rotation', 31260);
  });

  afterAll(async () => {
    scenario?.remove();
    await git?.close();
  });

  const RECEIVERS = ['app', 'flux-system'];

  /** The URL of each Receiver, with the token that signs for it. */
  function current(): { token: string; urls: Record<string, string> } {
    return { token: readFileSync(join(scenario.ws.secretsDir, 'rotation', 'webhook-token'), 'utf8').trim(), urls: receiverUrls(scenario.ws, 'rotation') };
  }

  /**
   * rotate-token, commit and push dist/, and the push's delivery to the fleet Receiver's OLD URL
   * (the Git host still has it): Flux applies the new Secret; within 30 s of that every Receiver
   * answers 200 at its new URL and 404 at its old one. Returns the seconds it took.
   */
  async function rotate(what: string): Promise<string> {
    const before = current();
    runScriptOk(scenario.ws, 'secrets', ['rotate-token', 'rotation']);
    const after = current();
    expect(after.token).not.toBe(before.token);
    for (const receiver of RECEIVERS) expect(after.urls[receiver]).not.toBe(before.urls[receiver]);
    const rotated = scenario.pushDist(`rotate the webhook token (${what})`);

    expect(await deliverPush(new URL(before.urls['flux-system']).pathname, before.token, scenario.fleet.url)).toBe(200);
    await scenario.applied('flux-system', rotated, `Flux to apply the rotated Secret (${what}), pushed with a delivery to the old fleet Receiver URL`);
    const appliedAt = Date.now();
    const secret = scenario.object('secret', 'webhook-token');
    expect(Buffer.from(secret.data.token, 'base64').toString('utf8')).toBe(after.token);
    expect(secret.metadata.labels?.['reconcile.fluxcd.io/watch']).toBe('Enabled');

    const wanted = Object.fromEntries(RECEIVERS.flatMap((receiver) => [[`${receiver} new`, 200], [`${receiver} old`, 404]]));
    const answers = async () => Object.fromEntries(await Promise.all(RECEIVERS.flatMap((receiver) => {
      const repositoryUrl = receiver === 'app' ? scenario.app.url : scenario.fleet.url;
      return [
        deliverPush(new URL(after.urls[receiver]).pathname, after.token, repositoryUrl).then((status) => [`${receiver} new`, status] as const),
        deliverPush(new URL(before.urls[receiver]).pathname, before.token, repositoryUrl).then((status) => [`${receiver} old`, status] as const),
      ];
    })));
    let last: Record<string, number> = {};
    while (Date.now() - appliedAt < 30_000) {
      last = await answers();
      if (JSON.stringify(last) === JSON.stringify(wanted)) break;
      await sleep(1000);
    }
    const switched = JSON.stringify(last) === JSON.stringify(wanted);
    // On failure: what the controller still serves (the old path until the Receiver's interval, without the watch label).
    const receivers = RECEIVERS.map((name) => { const object = scenario.object('receiver', name); return `Receiver ${name}: ${readyMessage(object)}; webhookPath ${object?.status?.webhookPath}`; }).join('\n');
    expect({ what, answers: last, receivers: switched ? 'switched' : receivers }).toEqual({ what, answers: wanted, receivers: 'switched' });
    return ((Date.now() - appliedAt) / 1000).toFixed(1);
  }

  test('after rotate-token and a push of dist/, the new URLs are accepted and the old ones are 404 within 30 s of Flux applying the new Secret', async () => {
    const { ws, app, namespace } = scenario;
    const first = app.commit({ 'deploy/settings.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${namespace}\ndata:\n  colour: blue\n` }, 'settings');

    // As docs/secrets.md ("Secrets in git") tells a user: the cluster's own age key, then synth encrypts the token.
    const recipient = runScriptOk(ws, 'secrets', ['age-key', 'rotation', '--write-fleet']).split('\n')[0].trim();
    runScriptOk(ws, 'synth', []);
    // The committed Secret as flux-infra wrote it before it carried the watch label, pulled where its
    // key is not (synth adds the label where it is): the next rotation writes the label with the new token.
    const committed = join(ws.distDir, 'clusters', 'rotation', 'webhook-token-secret.sops.yaml');
    const unlabelled = await encryptSecretFile(
      `apiVersion: v1\nkind: Secret\nmetadata:\n  annotations:\n    flux-infra.io/cluster: rotation\n  name: webhook-token\n  namespace: ${namespace}\nstringData:\n  token: ${current().token}\ntype: Opaque\n`,
      { recipients: [recipient], now: new Date() },
    );
    writeFileSync(committed, unlabelled);
    const original = current();
    const bootstrapped = scenario.bootstrap([secretManifest('sops-age', namespace, { 'age.agekey': readFileSync(join(ws.secretsDir, 'rotation', 'age.agekey'), 'utf8') })]);

    await scenario.applied('flux-system', bootstrapped, 'the flux-system Kustomization to apply the fleet repository (with the SOPS Secret)');
    await scenario.applied('app', first, 'the app Kustomization to apply the app\'s first commit');
    expect(scenario.object('secret', 'webhook-token').metadata.labels?.['reconcile.fluxcd.io/watch']).toBeUndefined();
    for (const receiver of RECEIVERS) await scenario.receiverAt(receiver, new URL(original.urls[receiver]).pathname);

    const fromUnlabelled = await rotate('from a Secret without the label');
    const fromLabelled = await rotate('from a labelled Secret');
    process.stderr.write(`rotation: new URLs accepted and old ones 404 ${fromUnlabelled} s, then ${fromLabelled} s after Flux applied the new Secret\n`);

    // And ping, with the new token, is accepted where the user's fleet file says.
    const ping = runScript(ws, 'webhook', ['ping', 'rotation', '--event', 'push', '--url', controlPlane().receiver]);
    expect([ping.status, ping.stderr]).toEqual([0, '']);
  });
});

describe('a broken push', () => {
  let git: LocalGit;
  let scenario: Scenario;
  let caFile: string;

  beforeAll(async () => {
    git = await startLocalGit();
    scenario = new Scenario(git, 'broken', 'e2e-broken', 31261);
    // git ls-remote (verify --heads git) trusts the Git server's CA through GIT_SSL_CAINFO, as a user's private CA.
    const folder = mkdtempSync(join(tmpdir(), 'flux-infra-e2e-ca-'));
    caFile = join(folder, 'ca.pem');
    writeFileSync(caFile, git.ca);
  });

  afterAll(async () => {
    scenario?.remove();
    if (caFile) rmSync(join(caFile, '..'), { recursive: true, force: true });
    await git?.close();
  });

  function deployment(namespace: string, spec: string, apiVersion = 'apps/v1'): string {
    return `apiVersion: ${apiVersion}\nkind: Deployment\nmetadata:\n  name: web\n  namespace: ${namespace}\nspec:\n${spec}  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n`;
  }

  /** Started without blocking: git ls-remote asks the Git server, which runs in this process. */
  async function verify(): Promise<{ status: number | null; output: string }> {
    const result = await startScript(scenario.ws, 'webhook', ['verify', 'broken', '--heads', 'git', '--kubeconfig', controlPlane().kubeconfig], { GIT_SSL_CAINFO: caFile });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  test('verify --heads git passes after a good push, and after a commit with an invalid manifest reports the Kustomization\'s failure with the controller\'s message, exit 1', async () => {
    const { ws, app, namespace } = scenario;
    const first = app.commit({ 'deploy/web.yaml': deployment(namespace, '  replicas: 2\n') }, 'web: 2 replicas');
    runScriptOk(ws, 'synth', []);
    // No SOPS here: the token's Secret is applied by hand, as README says for such clusters.
    const bootstrapped = scenario.bootstrap([readFileSync(join(ws.secretsDir, 'broken', 'webhook-token-secret.yaml'), 'utf8')]);
    await scenario.applied('flux-system', bootstrapped, 'the flux-system Kustomization to apply the fleet repository');
    await scenario.applied('app', first, 'the app Kustomization to apply the first commit');
    const urls = receiverUrls(ws, 'broken');
    await scenario.receiverAt('app', new URL(urls.app).pathname);

    // A good push, through the Receiver: verify passes. Its misspelt field breaks nothing: the API
    // server drops unknown fields from kustomize-controller's server-side apply (no strict validation).
    const good = app.commit({ 'deploy/web.yaml': deployment(namespace, '  replicas: 3\n  replicaz: 3\n') }, 'web: 3 replicas, and a typo');
    const goodPing = runScript(ws, 'webhook', ['ping', 'broken', '--receiver', 'app', '--event', 'push', '--url', controlPlane().receiver]);
    expect([goodPing.status, goodPing.stderr]).toEqual([0, '']);
    await scenario.applied('app', good, 'the good push to be applied');
    const live = scenario.object('deployment', 'web');
    expect([live.spec.replicas, live.spec.replicaz]).toEqual([3, undefined]);
    const passing = await verify();
    expect(passing).toEqual({ status: 0, output: expect.stringContaining(`Kustomization app`) });

    // A push that breaks the app: an API version Deployments no longer have (removed in Kubernetes 1.16).
    const broken = app.commit({ 'deploy/web.yaml': deployment(namespace, '  replicas: 4\n', 'apps/v1beta2') }, 'web: an old apiVersion');
    const brokenPing = runScript(ws, 'webhook', ['ping', 'broken', '--receiver', 'app', '--event', 'push', '--url', controlPlane().receiver]);
    expect([brokenPing.status, brokenPing.stderr]).toEqual([0, '']);
    const failed = await waitFor('the app Kustomization to fail on the broken commit', () => {
      const object = scenario.object('kustomization', 'app');
      const ready = object?.status?.conditions?.find((condition: any) => condition.type === 'Ready');
      return object?.status?.lastAttemptedRevision === `main@sha1:${broken}` && ready?.status === 'False' ? ready : undefined;
    }, { describe: () => readyMessage(scenario.object('kustomization', 'app')), logs: ['source-controller', 'kustomize-controller'] });
    expect(failed.message).toMatch(/apps\/v1beta2/);
    expect(scenario.object('deployment', 'web').spec.replicas).toBe(3);

    const failing = await verify();
    expect(failing.status).toBe(1);
    // verify names the Kustomization, what it applied instead, and the controller's own reason and message.
    const line = failing.output.split('\n').find((text) => text.includes('Kustomization app'));
    expect(line).toBe(`FAILED Kustomization app: applied main@sha1:${good}, not ${broken}: ${failed.reason}: ${failed.message.trim()}`);
  });
});
