// generic-oidc Receivers against the real notification-controller: a cluster (namespace e2e-oidc,
// NodePort 31270) with a GitHub and a GitLab source, each behind its own generic-oidc Receiver whose
// `oidc.issuer` is a loopback issuer (test/e2e/oidc-issuer.ts) standing in for GitHub Actions' and
// GitLab CI's, synthesized by our synth and applied by Flux from a fleet repository. The controller
// verifies each token against the issuer's keys and runs our validations with its own CEL: the
// pinned caller reconciles its source; every other caller is refused (a bare 400) with the reason
// the controller logs, which for a failed validation is our validations' messages.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runScript, startScript } from '../support/cli';
import { testCaFromPem } from '../support/certificates';
import { workspace, Workspace } from '../support/tree';
import { GitHubCaller, githubClaims, GitLabCaller, gitlabClaims, Minting, OidcIssuer, OidcIssuers, startOidcIssuers } from './oidc-issuer';
import { bootstrapFiles, controlPlane, getObject, kubectl, LocalGit, logFromNow, readyMessage, Repository, secretManifest, startLocalGit, waitFor } from './support';

const CLUSTER = 'oidc';
const NAMESPACE = 'e2e-oidc';
const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';
const NOTIFICATION = ['notification-controller'];

// The IDs the fleet pins (as `webhook ids --write-fleet` would write them); the tokens carry them as strings.
const GITHUB = { path: 'e2e-oidc-octo/app', repositoryId: 700_001, ownerId: 700_002 };
const GITLAB = { path: 'e2e-oidc-group/sub/app', projectId: 800_001, namespaceId: 800_002 };

/** The callers the fleet pins: a push to main of each app repository. */
const rightGitHub: GitHubCaller = { repository: GITHUB.path, repositoryId: GITHUB.repositoryId, ownerId: GITHUB.ownerId, ref: 'refs/heads/main', event: 'push' };
const rightGitLab: GitLabCaller = { projectPath: GITLAB.path, projectId: GITLAB.projectId, namespaceId: GITLAB.namespaceId, refType: 'branch', ref: 'main', pipelineSource: 'push', host: '127.0.0.1' };

function fleetFile(github: Repository, gitlab: Repository, issuers: OidcIssuers['issuers']): string {
  return `clusters:
  ${CLUSTER}:
    namespace: ${NAMESPACE}
    webhook:
      address: 127.0.0.1
      nodePort: 31270
    sources:
      - name: octo
        url: ${github.url}
        host: github
        branch: main
        interval: 1h
        secretName: git-ca
        repositoryId: ${GITHUB.repositoryId}
        ownerId: ${GITHUB.ownerId}
      - name: group
        url: ${gitlab.url}
        host: gitlab
        branch: main
        interval: 1h
        secretName: git-ca
        repositoryId: ${GITLAB.projectId}
        ownerId: ${GITLAB.namespaceId}
    receivers:
      # One Receiver per source host: a Receiver's oidc.issuer replaces the issuer of all its sources.
      - name: octo
        type: generic-oidc
        sources: [octo]
        oidc:
          issuer: ${issuers.github.url}
          allowPlainHttp: true    # the controller's receiver address here is plain HTTP on loopback
      - name: group
        type: generic-oidc
        sources: [group]
        oidc:
          issuer: ${issuers.gitlab.url}
          allowPlainHttp: true
`;
}

function run(ws: Workspace, script: 'synth' | 'webhook', args: string[]): string {
  const result = runScript(ws, script, args);
  if (result.status !== 0) throw new Error(`npm run ${script} -- ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

const gitRepository = (name: string): any => getObject('gitrepository', name, NAMESPACE);
const requestedAt = (name: string): string | undefined => gitRepository(name)?.metadata?.annotations?.[REQUESTED_AT];
const revision = (name: string): string | undefined => gitRepository(name)?.status?.artifact?.revision;

/** Whether a CEL expression reads claim `name` (claims.name or claims['name']; claims.ref is not claims.ref_type). */
function readsClaim(expression: string, name: string): boolean {
  return new RegExp(`claims\\.${name}(?![\\w])|claims\\[['"]${name}['"]\\]`).test(expression);
}

/** The claims whose values differ between two tokens' claims. */
function changedClaims(right: Record<string, unknown>, wrong: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(right), ...Object.keys(wrong)])].filter((name) => JSON.stringify(right[name]) !== JSON.stringify(wrong[name]));
}

interface Answer {
  readonly status: number;
  readonly body: string;
  /** The `error` of the controller's "unable to validate payload" line for this Receiver, if it logged one. */
  readonly refusal?: string;
}

describe('generic-oidc Receivers against the real notification-controller', () => {
  let gitServer: LocalGit;
  let oidc: OidcIssuers;
  let fleet: Repository;
  let github: Repository;
  let gitlab: Repository;
  let ws: Workspace;
  /** Each Receiver's URL at the controller's receiver address, by Receiver name. */
  const urls = new Map<string, string>();

  beforeAll(async () => {
    const plane = controlPlane();
    gitServer = await startLocalGit();
    // The issuer's certificate is the suite CA's, which the control plane made notification-controller trust.
    const ca = await testCaFromPem(readFileSync(plane.caFile, 'utf8'), readFileSync(plane.caKeyFile, 'utf8'));
    oidc = await startOidcIssuers(await ca.issue(['127.0.0.1']));
    fleet = new Repository(gitServer, 'e2e-oidc/fleet.git');
    github = new Repository(gitServer, `${GITHUB.path}.git`);
    gitlab = new Repository(gitServer, `${GITLAB.path}.git`);
    const heads = { octo: github.commit({ 'README.md': 'octo\n' }, 'first'), group: gitlab.commit({ 'README.md': 'group\n' }, 'first') };
    ws = workspace(fleetFile(github, gitlab, oidc.issuers));
    run(ws, 'synth', []);
    for (const line of run(ws, 'webhook', ['url', CLUSTER]).trim().split('\n')) {
      const [name, url] = line.split(': ');
      urls.set(name, `${plane.receiver}${new URL(url).pathname}`);
    }

    fleet.commitFolder(join(ws.distDir, 'clusters'), 'clusters', 'synth');
    const bootstrap = bootstrapFiles({ namespace: NAMESPACE, fleetUrl: fleet.url, clusterPath: `./clusters/${CLUSTER}`, secretName: 'git-ca' });
    const bootstrapped = fleet.commit(Object.fromEntries(Object.entries(bootstrap).map(([file, content]) => [`clusters/${CLUSTER}/flux-system/${file}`, content])), 'flux bootstrap');
    // Forced as a second bootstrap is, for a run on a control plane kept from an earlier one.
    kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], bootstrap['gotk-components.yaml']);
    kubectl(['apply', '-f', '-'], secretManifest('git-ca', NAMESPACE, { 'ca.crt': gitServer.ca }));
    // No token Secret to apply: an all-OIDC cluster has none.
    kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], bootstrap['gotk-sync.yaml']);

    await waitFor(`Kustomization flux-system in ${NAMESPACE} to apply the fleet repository's head`, () => {
      const root = getObject('kustomization', 'flux-system', NAMESPACE);
      return root?.status?.lastAppliedRevision === `main@sha1:${bootstrapped}` && readyMessage(root).startsWith('Ready=True') ? root : undefined;
    }, { describe: () => readyMessage(getObject('kustomization', 'flux-system', NAMESPACE)), logs: ['source-controller', 'kustomize-controller'] });
    for (const [name, url] of urls) {
      await waitFor(`Receiver ${name} Ready at the path webhook url prints`, () => {
        const receiver = getObject('receiver', name, NAMESPACE);
        return readyMessage(receiver).startsWith('Ready=True') && receiver.status.webhookPath === new URL(url).pathname ? receiver : undefined;
      }, { describe: () => `${readyMessage(getObject('receiver', name, NAMESPACE))}; webhookPath ${getObject('receiver', name, NAMESPACE)?.status?.webhookPath}`, logs: NOTIFICATION });
    }
    for (const [name, head] of Object.entries(heads)) {
      await waitFor(`GitRepository ${name} at its first commit`, () => (revision(name) === `main@sha1:${head}` ? true : undefined), {
        describe: () => `${readyMessage(gitRepository(name))}; revision ${revision(name)}`, logs: ['source-controller'],
      });
    }
  });

  afterAll(async () => {
    for (const repo of [github, gitlab, fleet]) repo?.remove();
    await gitServer?.close();
    await oidc?.close();
    if (ws) rmSync(ws.root, { recursive: true, force: true });
  });

  const receiver = (name: string): any => getObject('receiver', name, NAMESPACE);
  const audienceOf = (name: string): string => receiver(name).spec.oidcProviders[0].audience;

  /**
   * POSTs to Receiver `name` with `token` as a CI job does (the body is not read by generic-oidc);
   * the answer must be the controller's bare status, and a refusal comes with the reason it logged.
   */
  async function call(name: string, token: string | undefined): Promise<Answer> {
    const logged = logFromNow('notification-controller');
    const response = await fetch(urls.get(name)!, {
      method: 'POST',
      body: '{}',
      headers: { 'Content-Type': 'application/json', ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }) },
      signal: AbortSignal.timeout(10_000),
    });
    const answer = { status: response.status, body: await response.text() };
    expect([answer.body, response.headers.get('content-type')]).toEqual(['', null]);
    const line = logged().find((entry) => entry.msg === 'unable to validate payload' && entry.name === name && entry.namespace === NAMESPACE);
    return { ...answer, refusal: line === undefined ? undefined : String(line.error) };
  }

  /**
   * The reason the controller gives for a token whose claims differ from the right caller's: our
   * validations that read a changed claim fail, their messages joined as the controller joins them.
   * Empty when no validation pins any of them (which the tests refuse: each such caller must be pinned).
   */
  function validationFailure(name: string, right: Record<string, unknown>, wrong: Record<string, unknown>): string[] {
    const changed = changedClaims(right, wrong);
    return receiver(name).spec.oidcProviders[0].validations
      .filter((validation: { expression: string }) => changed.some((claim) => readsClaim(validation.expression, claim)))
      .map((validation: { message: string }) => validation.message);
  }

  test('synth wrote generic-oidc Receivers, one provider each with its own audience, and no token anywhere', () => {
    const octo = receiver('octo');
    const group = receiver('group');
    for (const [object, issuer] of [[octo, oidc.issuers.github], [group, oidc.issuers.gitlab]] as const) {
      expect(object.spec.type).toBe('generic-oidc');
      expect(object.spec.secretRef).toBeUndefined();
      expect(object.spec.oidcProviders.map((provider: any) => provider.issuerURL)).toEqual([issuer.url]);
      expect(object.spec.oidcProviders[0].validations.length).toBeGreaterThan(0);
      expect(object.spec.resources.every((resource: any) => typeof resource.filter === 'string')).toBe(true);
    }
    // A cluster- and Receiver-specific audience, not the controller's shared default.
    expect(audienceOf('octo')).not.toBe('notification-controller');
    expect(audienceOf('octo')).not.toBe(audienceOf('group'));
    // No token Secret in the cluster, no token or Secret manifest in secrets/.
    expect(JSON.parse(kubectl(['get', 'secrets', '-n', NAMESPACE, '-o', 'json'])).items.map((secret: any) => secret.metadata.name)).toEqual(['git-ca']);
    let secrets: string[] = [];
    try {
      secrets = readdirSync(join(ws.secretsDir, CLUSTER));
    } catch {
      // No folder at all: nothing to keep.
    }
    expect(secrets).toEqual([]);
  });

  test('webhook verify passes: each Receiver Ready at the path webhook url prints', async () => {
    // Started, not run: the Git server it reads lives in this process and must go on answering.
    const verified = await startScript(ws, 'webhook', ['verify', CLUSTER, '--heads', 'git', '--kubeconfig', controlPlane().kubeconfig], { GIT_SSL_CAINFO: controlPlane().caFile });
    expect([verified.status, verified.stderr]).toEqual([0, '']);
  });

  test('webhook ping can only call without a token: each Receiver answers that with the controller\'s bare 400, and ping says so (exit 0) without claiming the CI token passes', () => {
    const before = [requestedAt('octo'), requestedAt('group')];
    const result = runScript(ws, 'webhook', ['ping', CLUSTER, '--url', controlPlane().receiver]);
    expect([result.status, result.stderr]).toEqual([0, '']);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const [line, name] of lines.map((text, index) => [text, ['octo', 'group'][index]])) {
      expect(line).toMatch(new RegExp(`^ok ${name}: answers: a Receiver is at the path and refused a call without an ID token \\(400\\), as Receiver ${name} \\(generic-oidc\\) must; ping cannot mint a CI ID token`));
    }
    expect([requestedAt('octo'), requestedAt('group')]).toEqual(before);
  });

  describe.each([
    {
      host: 'GitHub Actions',
      name: 'octo',
      platform: 'github' as const,
      repo: () => github,
      right: (): Record<string, unknown> => githubClaims(rightGitHub),
      wrong: (): [string, Record<string, unknown>][] => [
        ['a fork (another repository and owner)', githubClaims({ ...rightGitHub, repository: 'e2e-someone/app', repositoryId: 900_001, ownerId: 900_002 })],
        ['a repository deleted and recreated under the same name (another repository_id)', githubClaims({ ...rightGitHub, repositoryId: 900_003 })],
        ['another branch', githubClaims({ ...rightGitHub, ref: 'refs/heads/feature' })],
        ['a tag', githubClaims({ ...rightGitHub, ref: 'refs/tags/v1.0.0' })],
        ['another event (a pull request)', githubClaims({ ...rightGitHub, event: 'pull_request' })],
      ],
    },
    {
      host: 'GitLab CI',
      name: 'group',
      platform: 'gitlab' as const,
      repo: () => gitlab,
      right: (): Record<string, unknown> => gitlabClaims(rightGitLab),
      wrong: (): [string, Record<string, unknown>][] => [
        ['a fork (another project and namespace)', gitlabClaims({ ...rightGitLab, projectPath: 'e2e-someone/app', projectId: 900_011, namespaceId: 900_012 })],
        ['a project deleted and recreated under the same path (another project_id)', gitlabClaims({ ...rightGitLab, projectId: 900_013 })],
        ['another branch', gitlabClaims({ ...rightGitLab, ref: 'feature' })],
        ['a tag', gitlabClaims({ ...rightGitLab, refType: 'tag', ref: 'v1.0.0' })],
        ['another pipeline source (a merge request)', gitlabClaims({ ...rightGitLab, pipelineSource: 'merge_request_event' })],
      ],
    },
  ])('$host', ({ name, platform, repo, right, wrong }) => {
    const issuer = (): OidcIssuer => oidc.issuers[platform];
    const other = name === 'octo' ? 'group' : 'octo';
    const mint = (claims: Record<string, unknown>, minting: Partial<Minting> = {}) => issuer().mint(claims, { audience: audienceOf(name), ...minting });

    test('the pinned caller\'s token: 200, and the source fetches the pushed commit', async () => {
      const before = requestedAt(name);
      const pushed = repo().commit({ 'README.md': `${name} pushed\n` }, 'pushed');
      const served = issuer().requests.length;
      const answer = await call(name, await mint(right()));
      expect([answer.status, answer.refusal]).toEqual([200, undefined]);
      // The controller found the keys through our discovery document, over TLS with the suite's CA.
      const discovery = new URL(issuer().url).pathname;
      expect(issuer().requests.slice(served)).toEqual([`GET ${discovery}/.well-known/openid-configuration`, `GET ${discovery}${platform === 'github' ? '/.well-known/jwks' : '/oauth/discovery/keys'}`]);
      expect(requestedAt(name)).toBeDefined();
      expect(requestedAt(name)).not.toBe(before);
      await waitFor(`GitRepository ${name} at the pushed commit`, () => (revision(name) === `main@sha1:${pushed}` ? true : undefined), {
        describe: () => `${readyMessage(gitRepository(name))}; revision ${revision(name)}`, logs: [...NOTIFICATION, 'source-controller'],
      });
    });

    test.each(wrong())('%s: 400, refused by our validations with their messages', async (_what, claims) => {
      const expected = validationFailure(name, right(), claims);
      // The caller must be pinned at all: some validation reads a claim that tells it apart.
      expect(expected).not.toEqual([]);
      const before = requestedAt(name);
      const answer = await call(name, await mint(claims));
      expect([answer.status, answer.refusal]).toEqual([400, `token validation failed: ${expected.join('; ')}`]);
      expect(requestedAt(name)).toBe(before);
    });

    test('a token for the other Receiver\'s audience: 400, the audience named', async () => {
      const answer = await call(name, await mint(right(), { audience: audienceOf(other) }));
      expect([answer.status, answer.refusal]).toEqual([400, `failed to verify OIDC token: oidc: expected audience ${JSON.stringify(audienceOf(name))} got [${JSON.stringify(audienceOf(other))}]`]);
    });

    test('an expired token: 400', async () => {
      const answer = await call(name, await mint(right(), { expiresIn: -60 }));
      expect(answer.status).toBe(400);
      expect(answer.refusal).toMatch(/^failed to verify OIDC token: oidc: token is expired \(Token Expiry: /);
    });

    test('a token signed by a key the issuer never published: 400', async () => {
      const answer = await call(name, await mint(right(), { unpublishedKey: true }));
      expect([answer.status, answer.refusal]).toEqual([400, 'failed to verify OIDC token: failed to verify signature: failed to verify id token signature']);
    });

    test('the other platform\'s token (another issuer), and no token at all: 400', async () => {
      const foreign = await oidc.issuers[platform === 'github' ? 'gitlab' : 'github'].mint(right(), { audience: audienceOf(name) });
      const answer = await call(name, foreign);
      expect([answer.status, answer.refusal]).toEqual([400, `no oidcProvider configured for issuer ${JSON.stringify(oidc.issuers[platform === 'github' ? 'gitlab' : 'github'].url)}`]);
      const none = await call(name, undefined);
      expect([none.status, none.refusal]).toEqual([400, 'the Authorization header is missing or malformed']);
    });
  });

  test('a suspended Receiver: 503 even to the pinned caller, and ping says the Receiver is not ready or suspended (exit 1)', async () => {
    kubectl(['patch', 'receiver', 'group', '-n', NAMESPACE, '--type', 'merge', '-p', '{"spec":{"suspend":true}}']);
    try {
      await waitFor('Receiver group to be suspended in the controller\'s cache', async () => ((await call('group', undefined)).status === 503 ? true : undefined), { timeoutMs: 30_000, logs: NOTIFICATION });
      const answer = await call('group', await oidc.issuers.gitlab.mint(gitlabClaims(rightGitLab), { audience: audienceOf('group') }));
      expect([answer.status, answer.refusal]).toEqual([503, undefined]);
      const result = runScript(ws, 'webhook', ['ping', CLUSTER, '--receiver', 'group', '--url', controlPlane().receiver]);
      expect([result.status, result.stdout.trim()]).toEqual([1, 'FAILED group: Receiver group is not ready or is suspended (503): kubectl describe receiver group says why (its oidcProviders, or a controller older than 1.9 that knows no generic-oidc)']);
    } finally {
      kubectl(['patch', 'receiver', 'group', '-n', NAMESPACE, '--type', 'merge', '-p', '{"spec":{"suspend":false}}']);
    }
  });

  test('GitHub Actions: the repository in another case is the same repository (GitHub names are case-insensitive): 200', async () => {
    const before = requestedAt('octo');
    const claims = githubClaims({ ...rightGitHub, repository: GITHUB.path.toUpperCase() });
    const answer = await call('octo', await oidc.issuers.github.mint(claims, { audience: audienceOf('octo') }));
    expect([answer.status, answer.refusal]).toEqual([200, undefined]);
    expect(requestedAt('octo')).not.toBe(before);
  });
});

