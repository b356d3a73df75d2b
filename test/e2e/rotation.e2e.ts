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
import { runScript } from '../support/cli';
import { workspace, Workspace } from '../support/tree';
import { bootstrapFiles, controlPlane, getObject, kubectl, LocalGit, readyMessage, Repository, secretManifest, startLocalGit, waitFor } from './support';

/** Runs one of our commands as a user does; its stdout, or a failure with its stderr. */
function run(ws: Workspace, script: 'synth' | 'secrets' | 'webhook', args: string[], env: NodeJS.ProcessEnv = {}): string {
  const result = runScript(ws, script, args, env);
  if (result.status !== 0) throw new Error(`npm run ${script} -- ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

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
  return Object.fromEntries(['app', 'flux-system'].map((receiver) => [receiver, run(ws, 'webhook', ['url', cluster, '--receiver', receiver]).trim()]));
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
    kubectl(['apply', '--server-side', '-f', '-'], files['gotk-components.yaml']);
    kubectl(['apply', '-f', '-'], secretManifest('git-ca', this.namespace, { 'ca.crt': this.git.ca }));
    for (const manifest of extraSecrets) kubectl(['apply', '-f', '-'], manifest);
    kubectl(['apply', '--server-side', '-f', '-'], files['gotk-sync.yaml']);
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

  test('after rotate-token and a push of dist/, the new URLs are accepted and the old ones are 404 within 30 s of Flux applying the new Secret', async () => {
    const { ws, app, namespace } = scenario;
    const first = app.commit({ 'deploy/settings.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${namespace}\ndata:\n  colour: blue\n` }, 'settings');

    // As README's "Secrets in git" tells a user: the cluster's own age key, then synth encrypts the token.
    run(ws, 'secrets', ['age-key', 'rotation', '--write-fleet']);
    run(ws, 'synth', []);
    const oldToken = readFileSync(join(ws.secretsDir, 'rotation', 'webhook-token'), 'utf8').trim();
    const oldUrls = receiverUrls(ws, 'rotation');
    const bootstrapped = scenario.bootstrap([secretManifest('sops-age', namespace, { 'age.agekey': readFileSync(join(ws.secretsDir, 'rotation', 'age.agekey'), 'utf8') })]);

    await scenario.applied('flux-system', bootstrapped, 'the flux-system Kustomization to apply the fleet repository (with the SOPS Secret)');
    await scenario.applied('app', first, 'the app Kustomization to apply the app\'s first commit');
    for (const receiver of ['app', 'flux-system']) await scenario.receiverAt(receiver, new URL(oldUrls[receiver]).pathname);

    run(ws, 'secrets', ['rotate-token', 'rotation']);
    const newToken = readFileSync(join(ws.secretsDir, 'rotation', 'webhook-token'), 'utf8').trim();
    expect(newToken).not.toBe(oldToken);
    const newUrls = receiverUrls(ws, 'rotation');
    for (const receiver of ['app', 'flux-system']) expect(newUrls[receiver]).not.toBe(oldUrls[receiver]);
    const rotated = scenario.pushDist('rotate the webhook token');

    // The Git host still has the old URL and secret: the push of the rotation arrives there.
    expect(await deliverPush(new URL(oldUrls['flux-system']).pathname, oldToken, scenario.fleet.url)).toBe(200);
    await scenario.applied('flux-system', rotated, 'Flux to apply the rotated Secret (pushed with a delivery to the old fleet Receiver URL)');
    const appliedAt = Date.now();
    const secret = scenario.object('secret', 'webhook-token');
    expect(Buffer.from(secret.data.token, 'base64').toString('utf8')).toBe(newToken);

    // Within 30 s of that: each Receiver answers at the new path (signed with the new token) and no longer at the old one.
    const answers = async () => Object.fromEntries(await Promise.all(['app', 'flux-system'].flatMap((receiver) => {
      const repositoryUrl = receiver === 'app' ? app.url : scenario.fleet.url;
      return [
        deliverPush(new URL(newUrls[receiver]).pathname, newToken, repositoryUrl).then((status) => [`${receiver} new`, status] as const),
        deliverPush(new URL(oldUrls[receiver]).pathname, oldToken, repositoryUrl).then((status) => [`${receiver} old`, status] as const),
      ];
    })));
    const wanted = { 'app new': 200, 'app old': 404, 'flux-system new': 200, 'flux-system old': 404 };
    let last: Record<string, number> = {};
    while (Date.now() - appliedAt < 30_000) {
      last = await answers();
      if (JSON.stringify(last) === JSON.stringify(wanted)) break;
      await sleep(1000);
    }
    const seconds = ((Date.now() - appliedAt) / 1000).toFixed(1);
    const receivers = ['app', 'flux-system'].map((name) => { const object = scenario.object('receiver', name); return `Receiver ${name}: ${readyMessage(object)}; webhookPath ${object?.status?.webhookPath}`; }).join('\n');
    expect({ answers: last, receivers: JSON.stringify(last) === JSON.stringify(wanted) ? 'switched' : receivers }).toEqual({ answers: wanted, receivers: 'switched' });
    process.stderr.write(`rotation: new URLs accepted and old ones 404 ${seconds} s after Flux applied the new Secret\n`);

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

  function deployment(namespace: string, spec: string): string {
    return `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: ${namespace}\nspec:\n${spec}  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n`;
  }

  function verify(): { status: number | null; output: string } {
    const result = runScript(scenario.ws, 'webhook', ['verify', 'broken', '--heads', 'git', '--kubeconfig', controlPlane().kubeconfig], { GIT_SSL_CAINFO: caFile });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  test('verify --heads git passes after a good push, and after a commit with an invalid manifest reports the Kustomization\'s failure with the controller\'s message, exit 1', async () => {
    const { ws, app, namespace } = scenario;
    const first = app.commit({ 'deploy/web.yaml': deployment(namespace, '  replicas: 2\n') }, 'web: 2 replicas');
    run(ws, 'synth', []);
    // No SOPS here: the token's Secret is applied by hand, as README says for such clusters.
    const bootstrapped = scenario.bootstrap([readFileSync(join(ws.secretsDir, 'broken', 'webhook-token-secret.yaml'), 'utf8')]);
    await scenario.applied('flux-system', bootstrapped, 'the flux-system Kustomization to apply the fleet repository');
    await scenario.applied('app', first, 'the app Kustomization to apply the first commit');
    const urls = receiverUrls(ws, 'broken');
    await scenario.receiverAt('app', new URL(urls.app).pathname);

    // A good push, through the Receiver: verify passes.
    const good = app.commit({ 'deploy/web.yaml': deployment(namespace, '  replicas: 3\n') }, 'web: 3 replicas');
    const goodPing = runScript(ws, 'webhook', ['ping', 'broken', '--receiver', 'app', '--event', 'push', '--url', controlPlane().receiver]);
    expect([goodPing.status, goodPing.stderr]).toEqual([0, '']);
    await scenario.applied('app', good, 'the good push to be applied');
    expect(scenario.object('deployment', 'web').spec.replicas).toBe(3);
    const passing = verify();
    expect(passing).toEqual({ status: 0, output: expect.stringContaining(`Kustomization app`) });

    // A push that breaks the app: a field Deployments do not have.
    const broken = app.commit({ 'deploy/web.yaml': deployment(namespace, '  replicas: 4\n  replicaz: 4\n') }, 'web: a typo');
    const brokenPing = runScript(ws, 'webhook', ['ping', 'broken', '--receiver', 'app', '--event', 'push', '--url', controlPlane().receiver]);
    expect([brokenPing.status, brokenPing.stderr]).toEqual([0, '']);
    const failed = await waitFor('the app Kustomization to fail on the broken commit', () => {
      const object = scenario.object('kustomization', 'app');
      const ready = object?.status?.conditions?.find((condition: any) => condition.type === 'Ready');
      return object?.status?.lastAttemptedRevision === `main@sha1:${broken}` && ready?.status === 'False' ? ready : undefined;
    }, { describe: () => readyMessage(scenario.object('kustomization', 'app')), logs: ['source-controller', 'kustomize-controller'] });
    expect(failed.message).toMatch(/replicaz/);
    expect(scenario.object('deployment', 'web').spec.replicas).toBe(3);

    const failing = verify();
    expect(failing.status).toBe(1);
    // verify names the Kustomization and quotes the controller's own message (its first line).
    const line = failing.output.split('\n').find((text) => text.includes('Kustomization app'));
    expect(line).toContain(failed.message.split('\n')[0]);
  });
});
