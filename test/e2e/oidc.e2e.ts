// generic-oidc Receivers against the real notification-controller: a cluster (namespace e2e-oidc,
// NodePort 31270) with a GitHub and a GitLab source, each behind its own generic-oidc Receiver whose
// `oidc.issuer` is a loopback issuer (test/e2e/oidc-issuer.ts) standing in for GitHub Actions' and
// GitLab CI's, synthesized by our synth and applied by Flux from a fleet repository. The controller
// verifies each token against the issuer's keys and runs our validations with its own CEL: the
// pinned caller reconciles its source; every other caller is refused (a bare 400) with the reason
// the controller logs, which for a failed validation is our validations' messages. Two more
// Receivers each take two sources of one repository, a branch and releases (GitHub: a semver range,
// GitLab: a tag), so a push's token must reconcile only the source its ref is for: the per-resource
// filter over `claims`, run by the controller's CEL.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runScript, runScriptOk, startScript } from '../support/cli';
import { testCaFromPem } from '../support/certificates';
import { workspace, Workspace } from '../support/tree';
import { GitHubCaller, githubClaims, GitLabCaller, gitlabClaims, Minting, OidcIssuer, OidcIssuers, startOidcIssuers } from './oidc-issuer';
import { applyBootstrap, bootstrapFiles, controlPlane, getObject, gitRepository, kubectl, LocalGit, logFromNow, readyMessage, Repository, requestedAt, revision, startLocalGit, waitFor } from './support';

const CLUSTER = 'oidc';
const NAMESPACE = 'e2e-oidc';
const NOTIFICATION = ['notification-controller'];

// The IDs the fleet pins (as `webhook ids --write-fleet` would write them); the tokens carry them as strings.
const GITHUB = { path: 'e2e-oidc-octo/app', repositoryId: 700_001, ownerId: 700_002 };
const GITLAB = { path: 'e2e-oidc-group/sub/app', projectId: 800_001, namespaceId: 800_002 };
/** The release sources of the pair Receivers: GitHub's follows a semver range, GitLab's one tag. */
const RELEASES = '>=1.0.0 <2.0.0';
const GITLAB_TAG = 'v1.2.0';
/** Every Receiver, in the fleet file's order (webhook ping's). */
const RECEIVERS = ['octo', 'group', 'octo-pair', 'group-pair'];

/** The callers the fleet pins: a push to main of each app repository. */
const rightGitHub: GitHubCaller = { repository: GITHUB.path, repositoryId: GITHUB.repositoryId, ownerId: GITHUB.ownerId, ref: 'refs/heads/main', event: 'push' };
const rightGitLab: GitLabCaller = { projectPath: GITLAB.path, projectId: GITLAB.projectId, namespaceId: GITLAB.namespaceId, refType: 'branch', ref: 'main', pipelineSource: 'push', host: '127.0.0.1' };

/** A source entry of the fleet file: one of the two app repositories, following `ref` (a `branch: main`-like line). */
function sourceEntry(name: string, repository: Repository, host: 'github' | 'gitlab', ref: string): string {
  const ids = host === 'github' ? [GITHUB.repositoryId, GITHUB.ownerId] : [GITLAB.projectId, GITLAB.namespaceId];
  return `      - name: ${name}
        url: ${repository.url}
        host: ${host}
        ${ref}
        interval: 1h
        secretName: git-ca
        repositoryId: ${ids[0]}
        ownerId: ${ids[1]}
`;
}

/** A generic-oidc Receiver of the fleet file, on the loopback `issuer`. */
function receiverEntry(name: string, sources: string[], issuer: string): string {
  // allowPlainHttp: the controller's receiver address here is plain HTTP on loopback.
  return `      - name: ${name}
        type: generic-oidc
        sources: [${sources.join(', ')}]
        oidc:
          issuer: ${issuer}
          allowPlainHttp: true
`;
}

function fleetFile(github: Repository, gitlab: Repository, issuers: OidcIssuers['issuers']): string {
  return `clusters:
  ${CLUSTER}:
    namespace: ${NAMESPACE}
    webhook:
      address: 127.0.0.1
      nodePort: 31270
    sources:
${sourceEntry('octo', github, 'github', 'branch: main')}${sourceEntry('group', gitlab, 'gitlab', 'branch: main')}\
      # Two sources of each repository, as a fleet follows main for staging and releases for production.
${sourceEntry('octo-main', github, 'github', 'branch: main')}${sourceEntry('octo-releases', github, 'github', `semver: "${RELEASES}"`)}\
${sourceEntry('group-main', gitlab, 'gitlab', 'branch: main')}${sourceEntry('group-release', gitlab, 'gitlab', `tag: ${GITLAB_TAG}`)}\
    receivers:
      # One Receiver per source host: a Receiver's oidc.issuer replaces the issuer of all its sources.
${receiverEntry('octo', ['octo'], issuers.github.url)}${receiverEntry('group', ['group'], issuers.gitlab.url)}\
${receiverEntry('octo-pair', ['octo-main', 'octo-releases'], issuers.github.url)}${receiverEntry('group-pair', ['group-main', 'group-release'], issuers.gitlab.url)}`;
}

const handledAt = (name: string): string | undefined => gitRepository(name, NAMESPACE)?.status?.lastHandledReconcileAt;

/** Claims without `name`: a token that does not carry it at all. */
function without(claims: Record<string, unknown>, name: string): Record<string, unknown> {
  const { [name]: _left, ...rest } = claims;
  return rest;
}

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
  /** The GitRepositories the controller logged as annotated (asked to reconcile) for this call. */
  readonly annotated: string[];
  /** Those it logged as not annotated because their `filter` returned false. */
  readonly filteredOut: string[];
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
    // The first release of each: in the semver range, and the tag group-release follows.
    github.tag('v1.0.0');
    gitlab.tag(GITLAB_TAG);
    const firstRevisions = {
      octo: `main@sha1:${heads.octo}`, group: `main@sha1:${heads.group}`,
      'octo-main': `main@sha1:${heads.octo}`, 'octo-releases': `v1.0.0@sha1:${heads.octo}`,
      'group-main': `main@sha1:${heads.group}`, 'group-release': `${GITLAB_TAG}@sha1:${heads.group}`,
    };
    ws = workspace(fleetFile(github, gitlab, oidc.issuers));
    runScriptOk(ws, 'synth', []);
    for (const line of runScriptOk(ws, 'webhook', ['url', CLUSTER]).trim().split('\n')) {
      const [name, url] = line.split(': ');
      urls.set(name, `${plane.receiver}${new URL(url).pathname}`);
    }

    fleet.commitFolder(join(ws.distDir, 'clusters'), 'clusters', 'synth');
    const bootstrap = bootstrapFiles({ namespace: NAMESPACE, fleetUrl: fleet.url, clusterPath: `./clusters/${CLUSTER}`, secretName: 'git-ca' });
    const bootstrapped = fleet.commit(Object.fromEntries(Object.entries(bootstrap).map(([file, content]) => [`clusters/${CLUSTER}/flux-system/${file}`, content])), 'flux bootstrap');
    // No token Secret to apply: an all-OIDC cluster has none.
    applyBootstrap(bootstrap, NAMESPACE, gitServer.ca);

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
    for (const [name, first] of Object.entries(firstRevisions)) {
      await waitFor(`GitRepository ${name} at ${first}`, () => (revision(name, NAMESPACE) === first ? true : undefined), {
        describe: () => `${readyMessage(gitRepository(name, NAMESPACE))}; revision ${revision(name, NAMESPACE)}`, logs: ['source-controller'],
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
    const lines = logged().filter((entry) => entry.name === name && entry.namespace === NAMESPACE);
    const line = lines.find((entry) => entry.msg === 'unable to validate payload');
    const resources = (outcome: string) => lines.flatMap((entry) => {
      const match = new RegExp(`^resource 'GitRepository/([\\w.-]+)\\.${NAMESPACE}' ${outcome}$`).exec(String(entry.msg));
      return match ? [match[1]] : [];
    });
    return { ...answer, refusal: line === undefined ? undefined : String(line.error), annotated: resources('annotated'), filteredOut: resources('NOT annotated because CEL expression returned false') };
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
    for (const [object, issuer, sources] of [[octo, oidc.issuers.github, ['octo']], [group, oidc.issuers.gitlab, ['group']], [receiver('octo-pair'), oidc.issuers.github, ['octo-main', 'octo-releases']], [receiver('group-pair'), oidc.issuers.gitlab, ['group-main', 'group-release']]] as const) {
      expect(object.spec.type).toBe('generic-oidc');
      expect(object.spec.resources.map((resource: any) => resource.name)).toEqual(sources);
      expect(object.spec.secretRef).toBeUndefined();
      expect(object.spec.oidcProviders.map((provider: any) => provider.issuerURL)).toEqual([issuer.url]);
      expect(object.spec.oidcProviders[0].validations.length).toBeGreaterThan(0);
      expect(object.spec.resources.every((resource: any) => typeof resource.filter === 'string')).toBe(true);
    }
    // A cluster- and Receiver-specific audience, not the controller's shared default.
    expect(audienceOf('octo')).not.toBe('notification-controller');
    expect(new Set(RECEIVERS.map(audienceOf)).size).toBe(RECEIVERS.length);
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
    const sources = ['octo', 'group', 'octo-main', 'octo-releases', 'group-main', 'group-release'];
    const before = sources.map((name) => requestedAt(name, NAMESPACE));
    const result = runScript(ws, 'webhook', ['ping', CLUSTER, '--url', controlPlane().receiver]);
    expect([result.status, result.stderr]).toEqual([0, '']);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(RECEIVERS.length);
    for (const [line, name] of lines.map((text, index) => [text, RECEIVERS[index]])) {
      expect(line).toMatch(new RegExp(`^ok ${name}: answers: a Receiver is at the path and refused a call without an ID token \\(400\\), as Receiver ${name} \\(generic-oidc\\) must; ping cannot mint a CI ID token`));
    }
    expect(sources.map((name) => requestedAt(name, NAMESPACE))).toEqual(before);
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
        ['a workflow_dispatch run on the right branch', githubClaims({ ...rightGitHub, event: 'workflow_dispatch' })],
        ['the owner id changed alone (repository_owner_id)', githubClaims({ ...rightGitHub, ownerId: 900_004 })],
        ['a token without a ref claim', without(githubClaims(rightGitHub), 'ref')],
        ['a token whose ref claim is null', { ...githubClaims(rightGitHub), ref: null }],
        ['ids as numbers, not the strings GitHub sends', { ...githubClaims(rightGitHub), repository_id: GITHUB.repositoryId, repository_owner_id: GITHUB.ownerId }],
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
        ['a pipeline run from the web UI on the right branch', gitlabClaims({ ...rightGitLab, pipelineSource: 'web' })],
        ['a tag named as the branch (ref_type tag, ref main)', gitlabClaims({ ...rightGitLab, refType: 'tag', ref: 'main' })],
        ['the namespace id changed alone (namespace_id)', gitlabClaims({ ...rightGitLab, namespaceId: 900_014 })],
        ['a token without a ref_type claim', without(gitlabClaims(rightGitLab), 'ref_type')],
      ],
    },
  ])('$host', ({ name, platform, repo, right, wrong }) => {
    const issuer = (): OidcIssuer => oidc.issuers[platform];
    const other = name === 'octo' ? 'group' : 'octo';
    const mint = (claims: Record<string, unknown>, minting: Partial<Minting> = {}) => issuer().mint(claims, { audience: audienceOf(name), ...minting });

    test('the pinned caller\'s token: 200, and the source fetches the pushed commit', async () => {
      const before = requestedAt(name, NAMESPACE);
      const pushed = repo().commit({ 'README.md': `${name} pushed\n` }, 'pushed');
      const served = issuer().requests.length;
      const answer = await call(name, await mint(right()));
      expect([answer.status, answer.refusal]).toEqual([200, undefined]);
      // The controller found the keys through our discovery document, over TLS with the suite's CA.
      const discovery = new URL(issuer().url).pathname;
      expect(issuer().requests.slice(served)).toEqual([`GET ${discovery}/.well-known/openid-configuration`, `GET ${discovery}${platform === 'github' ? '/.well-known/jwks' : '/oauth/discovery/keys'}`]);
      expect(requestedAt(name, NAMESPACE)).toBeDefined();
      expect(requestedAt(name, NAMESPACE)).not.toBe(before);
      await waitFor(`GitRepository ${name} at the pushed commit`, () => (revision(name, NAMESPACE) === `main@sha1:${pushed}` ? true : undefined), {
        describe: () => `${readyMessage(gitRepository(name, NAMESPACE))}; revision ${revision(name, NAMESPACE)}`, logs: [...NOTIFICATION, 'source-controller'],
      });
    });

    test.each(wrong())('%s: 400, refused by our validations with their messages', async (_what, claims) => {
      const expected = validationFailure(name, right(), claims);
      // The caller must be pinned at all: some validation reads a claim that tells it apart.
      expect(expected).not.toEqual([]);
      const before = requestedAt(name, NAMESPACE);
      const answer = await call(name, await mint(claims));
      expect([answer.status, answer.refusal]).toEqual([400, `token validation failed: ${expected.join('; ')}`]);
      expect(requestedAt(name, NAMESPACE)).toBe(before);
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
    const before = requestedAt('octo', NAMESPACE);
    const claims = githubClaims({ ...rightGitHub, repository: GITHUB.path.toUpperCase() });
    const answer = await call('octo', await oidc.issuers.github.mint(claims, { audience: audienceOf('octo') }));
    expect([answer.status, answer.refusal]).toEqual([200, undefined]);
    expect(requestedAt('octo', NAMESPACE)).not.toBe(before);
  });

  // Two sources of one repository behind one Receiver: both pass the validations, so only the
  // per-resource filter over `claims` decides which GitRepository the controller asks to reconcile.
  describe.each([
    {
      host: 'GitHub Actions',
      name: 'octo-pair',
      platform: 'github' as const,
      repo: () => github,
      branchSource: 'octo-main',
      tagSource: 'octo-releases',
      branchClaims: (): Record<string, unknown> => githubClaims(rightGitHub),
      tagClaims: (tag: string): Record<string, unknown> => githubClaims({ ...rightGitHub, ref: `refs/tags/${tag}` }),
      fork: (): Record<string, unknown> => githubClaims({ ...rightGitHub, repository: 'e2e-someone/app', repositoryId: 900_001, ownerId: 900_002 }),
      repositoryPin: `repository must be ${GITHUB.path} (the Receiver's sources)`,
    },
    {
      host: 'GitLab CI',
      name: 'group-pair',
      platform: 'gitlab' as const,
      repo: () => gitlab,
      branchSource: 'group-main',
      tagSource: 'group-release',
      branchClaims: (): Record<string, unknown> => gitlabClaims(rightGitLab),
      tagClaims: (tag: string): Record<string, unknown> => gitlabClaims({ ...rightGitLab, refType: 'tag', ref: tag }),
      fork: (): Record<string, unknown> => gitlabClaims({ ...rightGitLab, projectPath: 'e2e-someone/app', projectId: 900_011, namespaceId: 900_012 }),
      repositoryPin: `project_path must be ${GITLAB.path} (the Receiver's sources)`,
    },
  ])('$host: a Receiver with a branch and a release source of one repository', ({ name, platform, repo, branchSource, tagSource, branchClaims, tagClaims, fork, repositoryPin }) => {
    const mint = (claims: Record<string, unknown>) => oidc.issuers[platform].mint(claims, { audience: audienceOf(name) });

    /** Calls with `claims`; the answer must be 200 with `reconciled` alone asked to reconcile and `untouched` filtered out, its annotation as it was. */
    async function reconcilesOnly(claims: Record<string, unknown>, reconciled: string, untouched: string): Promise<void> {
      const before = { reconciled: requestedAt(reconciled, NAMESPACE), untouched: requestedAt(untouched, NAMESPACE) };
      const answer = await call(name, await mint(claims));
      expect([answer.status, answer.refusal, answer.annotated, answer.filteredOut]).toEqual([200, undefined, [reconciled], [untouched]]);
      expect(requestedAt(reconciled, NAMESPACE)).toBeDefined();
      expect(requestedAt(reconciled, NAMESPACE)).not.toBe(before.reconciled);
      expect(requestedAt(untouched, NAMESPACE)).toBe(before.untouched);
    }

    test('the branch push\'s token: 200, only the branch source reconciles, and it fetches the pushed commit', async () => {
      const pushed = repo().commit({ 'CHANGELOG.md': `${name} main\n` }, 'on main');
      await reconcilesOnly(branchClaims(), branchSource, tagSource);
      await waitFor(`GitRepository ${branchSource} at the pushed commit`, () => (revision(branchSource, NAMESPACE) === `main@sha1:${pushed}` ? true : undefined), {
        describe: () => `${readyMessage(gitRepository(branchSource, NAMESPACE))}; revision ${revision(branchSource, NAMESPACE)}`, logs: [...NOTIFICATION, 'source-controller'],
      });
    });

    test(`the tag push's token (${GITLAB_TAG}): 200, only the release source reconciles, and it fetches the tagged commit`, async () => {
      // GitHub: a new release in the range; GitLab: the tag its source follows, moved to a new commit.
      repo().commit({ 'CHANGELOG.md': `${name} ${GITLAB_TAG}\n` }, `release ${GITLAB_TAG}`);
      const tagged = repo().tag(GITLAB_TAG);
      await reconcilesOnly(tagClaims(GITLAB_TAG), tagSource, branchSource);
      await waitFor(`GitRepository ${tagSource} at ${GITLAB_TAG}`, () => (revision(tagSource, NAMESPACE) === `${GITLAB_TAG}@sha1:${tagged}` ? true : undefined), {
        describe: () => `${readyMessage(gitRepository(tagSource, NAMESPACE))}; revision ${revision(tagSource, NAMESPACE)}`, logs: [...NOTIFICATION, 'source-controller'],
      });
    });
    test('a fork\'s token: 400, refused with the repository its two sources share named once, and neither source reconciles', async () => {
      const expected = validationFailure(name, branchClaims(), fork());
      expect(expected[0]).toBe(repositoryPin);
      const before = [branchSource, tagSource].map((name) => requestedAt(name, NAMESPACE));
      const answer = await call(name, await mint(fork()));
      expect([answer.status, answer.refusal, answer.annotated]).toEqual([400, `token validation failed: ${expected.join('; ')}`, []]);
      expect([branchSource, tagSource].map((name) => requestedAt(name, NAMESPACE))).toEqual(before);
    });
  });

  test(`GitHub Actions, semver source (${RELEASES}): a tag outside the range still passes (the pins take any tag) and reconciles only the semver source, whose own range keeps the newest tag in it`, async () => {
    github.commit({ 'CHANGELOG.md': 'v3.0.0\n' }, 'release v3.0.0');
    github.tag('v3.0.0');
    const kept = revision('octo-releases', NAMESPACE);
    // Whichever v1 release the source has (v1.0.0, or v1.2.0 after the tag push above): never v3.
    expect(kept).toMatch(/^v1\.\d+\.\d+@sha1:[0-9a-f]{40}$/);
    const before = requestedAt('octo-main', NAMESPACE);
    const answer = await call('octo-pair', await oidc.issuers.github.mint(githubClaims({ ...rightGitHub, ref: 'refs/tags/v3.0.0' }), { audience: audienceOf('octo-pair') }));
    expect([answer.status, answer.refusal, answer.annotated, answer.filteredOut]).toEqual([200, undefined, ['octo-releases'], ['octo-main']]);
    expect(requestedAt('octo-main', NAMESPACE)).toBe(before);
    const requested = requestedAt('octo-releases', NAMESPACE);
    await waitFor('GitRepository octo-releases to handle the request', () => (requested !== undefined && handledAt('octo-releases') === requested ? true : undefined), {
      describe: () => `${readyMessage(gitRepository('octo-releases', NAMESPACE))}; lastHandledReconcileAt ${handledAt('octo-releases')}, requested ${requested}`, logs: ['source-controller'],
    });
    expect(revision('octo-releases', NAMESPACE)).toBe(kept);
  });

  test(`GitLab CI, tag source (${GITLAB_TAG}): another tag's token (v1.3.0): 400, refused by the ref validation`, async () => {
    const right = gitlabClaims({ ...rightGitLab, refType: 'tag', ref: GITLAB_TAG });
    const wrong = gitlabClaims({ ...rightGitLab, refType: 'tag', ref: 'v1.3.0' });
    const expected = validationFailure('group-pair', right, wrong);
    expect(expected).toHaveLength(1);
    const before = ['group-main', 'group-release'].map((name) => requestedAt(name, NAMESPACE));
    const answer = await call('group-pair', await oidc.issuers.gitlab.mint(wrong, { audience: audienceOf('group-pair') }));
    expect([answer.status, answer.refusal, answer.annotated]).toEqual([400, `token validation failed: ${expected.join('; ')}`, []]);
    expect(['group-main', 'group-release'].map((name) => requestedAt(name, NAMESPACE))).toEqual(before);
  });
});
