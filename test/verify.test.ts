// `webhook verify`: the real @kubernetes/client-node reads a loopback stand-in for the Kubernetes API
// (through a kubeconfig that points at it), and Octokit a stand-in for GitHub's commits API.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webhookPath } from '../lib/constructs/webhook-path';
import { verify } from '../tools/webhook/verify';
import { PROCESS_TEST_TIMEOUT, startScript } from './support/cli';
import { temporaryKubeconfig } from './support/kubeconfig';
import { BASE_FLEET } from './support/fleet';
import { listen } from './support/servers';
import { testCa, TestCa } from './support/certificates';
import { TOKEN } from './support/synth';
import { workspace } from './support/tree';
import { UsageError } from '../tools/common';
import { gitEnvironment } from '../tools/webhook/git-heads';
import { GitServer } from './e2e/git-server';
import { startTrustedGit, TrustedGit } from './support/trusted-git';
import { git, Repository } from './e2e/support';

const ENV = { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN };
const HEAD = 'a'.repeat(40);
const OLD = 'b'.repeat(40);
const PUSHED_AT = '2026-11-27T10:00:00Z';

const ready = (status: 'True' | 'False', message = '', since = '2026-11-27T10:00:07Z') => ({ conditions: [{ type: 'Ready', status, reason: status === 'True' ? 'Succeeded' : 'Failed', message, lastTransitionTime: since }] });

/** The cluster as Flux leaves it after applying HEAD. */
function applied(): Record<string, any> {
  return {
    'receivers/instavote': { status: { ...ready('True'), webhookPath: webhookPath(TOKEN, 'instavote', 'flux-system') } },
    'gitrepositories/instavote': { status: { ...ready('True'), artifact: { revision: `main@sha1:${HEAD}` } } },
    'kustomizations/vote-staging': { status: { ...ready('True'), lastAppliedRevision: `main@sha1:${HEAD}` } },
  };
}

let ca: TestCa;
beforeAll(async () => {
  ca = await testCa('kube test CA');
});

/**
 * Loopback stand-ins: the Kubernetes API paths verify reads, over HTTPS with a certificate from a
 * test CA that the kubeconfig names (as a real cluster's does), and GitHub's commit of main.
 */
async function standIns(objects: () => Record<string, any>) {
  const kubeRequests: string[] = [];
  const send = (response: import('node:http').ServerResponse, status: number, data: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(data));
  const kube = await listen((request, response) => {
    const match = /^\/apis\/[^/]+\/v1\/namespaces\/flux-system\/([a-z]+\/[a-z-]+)$/.exec(request.url!);
    if (request.headers.authorization !== 'Bearer kube-token') return send(response, 401, { kind: 'Status', code: 401, reason: 'Unauthorized', message: 'Unauthorized' });
    // A kind the API server does not serve: a NotFound that names no object.
    if (!match) return send(response, 404, { kind: 'Status', code: 404, reason: 'NotFound', message: 'the server could not find the requested resource' });
    kubeRequests.push(match[1]);
    const object = objects()[match[1]];
    const [plural, name] = match[1].split('/');
    return object
      ? send(response, 200, { apiVersion: 'v1', kind: 'Object', metadata: { name }, ...object })
      : send(response, 404, { kind: 'Status', code: 404, reason: 'NotFound', message: `${plural} "${name}" not found`, details: { name, kind: plural } });
  }, await ca.issue(['localhost']));
  const github = await listen((request, response) => (decodeURIComponent(request.url!) === '/repos/lfs269/instavote/commits/heads/main'
    ? send(response, 200, { sha: HEAD, commit: { committer: { date: PUSHED_AT } } })
    : send(response, 404, { message: 'Not Found' })));
  const { file: kubeconfig, remove } = temporaryKubeconfig(kube.url, ca.cert);
  return {
    url: github.url, kubeconfig, kubeRequests,
    close: async () => {
      await Promise.all([kube.close(), github.close()]);
      remove();
    },
  };
}

const run = (servers: { url: string; kubeconfig: string }, extra: Record<string, unknown> = {}) =>
  verify('staging', { ...workspace(BASE_FLEET), env: ENV, kubeconfig: servers.kubeconfig, apiUrl: servers.url, ...extra });

test('a cluster that applied the head commit: every object ok, and how long the push took', async () => {
  const servers = await standIns(applied);
  try {
    const report = await run(servers);
    expect(report.findings).toEqual([
      { ok: true, object: 'Receiver instavote', detail: 'Ready, at the path the local token gives' },
      { ok: true, object: 'GitRepository instavote', detail: `at the head commit ${HEAD}` },
      { ok: true, object: 'Kustomization vote-staging', detail: `applied main@sha1:${HEAD}` },
    ]);
    expect(report.applied).toEqual([{ app: 'vote-staging', seconds: 7 }]);
    expect(servers.kubeRequests).toEqual(['receivers/instavote', 'gitrepositories/instavote', 'kustomizations/vote-staging']);
  } finally {
    await servers.close();
  }
});

test('a stale revision, a Receiver at another path, a failing Kustomization: each explained', async () => {
  const stale = () => ({
    ...applied(),
    'receivers/instavote': { status: { ...ready('True'), webhookPath: webhookPath('another-token-0123456789abcdef0123456789abcdef', 'instavote', 'flux-system') } },
    'gitrepositories/instavote': { status: { ...ready('True'), artifact: { revision: `main@sha1:${OLD}` } } },
    // As kustomize-controller writes it: one line per failing object, ending in a newline.
    'kustomizations/vote-staging': { status: { ...ready('False', 'Deployment/vote/vote dry-run failed: spec.replicas: Invalid value\nService/vote/vote dry-run failed: no matches for kind "Service" in version "v2"\n'), lastAppliedRevision: `main@sha1:${OLD}` } },
  });
  const servers = await standIns(stale);
  try {
    const { findings } = await run(servers);
    expect(findings.map((finding) => finding.ok)).toEqual([false, false, false]);
    expect(findings[0].detail).toMatch(/^serves \/hook\/[0-9a-f]{64}, but the local token gives \/hook\/[0-9a-f]{64}: the cluster's Secret holds another token than the one the Git host signs with/);
    expect(findings[1].detail).toBe(`is at main@sha1:${OLD}, but the head is ${HEAD}: the push has not been fetched (a delivery that failed, a filter that skipped it, or polling not due yet)`);
    // Still at the old revision, and failing: both said, with Flux's own message, on one line.
    expect(findings[2].detail).toBe(`applied main@sha1:${OLD}, not ${HEAD}: Failed: Deployment/vote/vote dry-run failed: spec.replicas: Invalid value; Service/vote/vote dry-run failed: no matches for kind "Service" in version "v2"`);
  } finally {
    await servers.close();
  }
});

test('objects missing from the cluster, and a Receiver not Ready, are named', async () => {
  const servers = await standIns(() => ({ 'receivers/instavote': { status: ready('False', 'secrets "webhook-token" not found') } }));
  try {
    const { findings } = await run(servers);
    expect(findings).toEqual([
      { ok: false, object: 'Receiver instavote', detail: 'is not Ready: Failed: secrets "webhook-token" not found (usually its Secret webhook-token is missing or not decrypted)' },
      { ok: false, object: 'GitRepository instavote', detail: 'is not in the cluster: has dist/ been pushed, and has Flux applied it?' },
      { ok: false, object: 'Kustomization vote-staging', detail: 'is not in the cluster: has dist/ been pushed, and has Flux applied it?' },
    ]);
  } finally {
    await servers.close();
  }
});

test('--wait polls until the cluster catches up with the push', async () => {
  let reads = 0;
  // The source fetches the push on the third look, the Kustomization applies it on the fourth.
  const catchingUp = () => {
    const round = Math.floor(reads++ / 3);
    const objects = applied();
    if (round < 2) objects['gitrepositories/instavote'] = { status: { ...ready('True'), artifact: { revision: `main@sha1:${OLD}` } } };
    if (round < 3) objects['kustomizations/vote-staging'] = { status: { ...ready('True'), lastAppliedRevision: `main@sha1:${OLD}` } };
    return objects;
  };
  const servers = await standIns(catchingUp);
  try {
    const report = await run(servers, { waitMs: 10_000, pollMs: 20 });
    expect(report.rounds).toBe(4);
    expect(report.findings.every((finding) => finding.ok)).toBe(true);
    const once = await run(servers);
    expect(once.rounds).toBe(1);
  } finally {
    await servers.close();
  }
});

test('the command exits 1 on a mismatch and names an unknown --context in one line', async () => {
  const servers = await standIns(() => ({ ...applied(), 'gitrepositories/instavote': { status: { ...ready('True'), artifact: { revision: `main@sha1:${OLD}` } } } }));
  try {
    const ws = workspace(BASE_FLEET);
    const failed = await startScript(ws, 'webhook', ['verify', 'staging', '--kubeconfig', servers.kubeconfig, '--api-url', servers.url], ENV);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toContain(`FAILED GitRepository instavote: is at main@sha1:${OLD}, but the head is ${HEAD}`);
    await expect(run(servers, { kubeContext: 'prod' })).rejects.toThrow('--context prod is not in the kubeconfig (it has: test)');
    // The kubeconfig's own context named, and a deadline given: the same answer, as a process.
    const named = await startScript(ws, 'webhook', ['verify', 'staging', '--context', 'test', '--timeout', '30', '--kubeconfig', servers.kubeconfig, '--api-url', servers.url], ENV);
    expect([named.status, named.stdout]).toEqual([1, failed.stdout]);
    const unknown = await startScript(ws, 'webhook', ['verify', 'staging', '--context', 'prod', '--kubeconfig', servers.kubeconfig, '--api-url', servers.url], ENV);
    expect([unknown.status, unknown.stderr.trim()]).toEqual([2, 'error: --context prod is not in the kubeconfig (it has: test)']);
  } finally {
    await servers.close();
  }
}, PROCESS_TEST_TIMEOUT);

test('a Kustomization Ready at an older revision than its fetched source, suspended objects and an unreconciled spec fail', async () => {
  const servers = await standIns(() => ({
    ...applied(),
    'receivers/instavote': { metadata: { generation: 3 }, status: { ...ready('True'), observedGeneration: 2, webhookPath: webhookPath(TOKEN, 'instavote', 'flux-system') } },
    'kustomizations/vote-staging': { status: { ...ready('True'), lastAppliedRevision: `main@sha1:${OLD}` } },
  }));
  try {
    const { findings } = await run(servers);
    expect(findings).toEqual([
      { ok: false, object: 'Receiver instavote', detail: 'is not Ready: has not reconciled its latest spec yet (generation 3, observed 2) (usually its Secret webhook-token is missing or not decrypted)' },
      { ok: true, object: 'GitRepository instavote', detail: `at the head commit ${HEAD}` },
      { ok: false, object: 'Kustomization vote-staging', detail: `applied main@sha1:${OLD}, not ${HEAD}` },
    ]);
  } finally {
    await servers.close();
  }
});

test('a commit-pinned source (revision sha1:<hex>) and the fleet repository\'s flux-system pair are checked too', async () => {
  const fleet = `repository: https://github.com/lfs269/instavote
${BASE_FLEET.replace('        branch: main\n', `        commit: "${HEAD}"\n`)}`;
  const servers = await standIns(() => ({
    ...applied(),
    'gitrepositories/instavote': { status: { ...ready('True'), artifact: { revision: `sha1:${HEAD}` } } },
    'kustomizations/vote-staging': { status: { ...ready('True'), lastAppliedRevision: `sha1:${HEAD}` } },
    'receivers/flux-system': { status: { ...ready('True'), webhookPath: webhookPath(TOKEN, 'flux-system', 'flux-system') } },
    'gitrepositories/flux-system': { status: { ...ready('True'), artifact: { revision: `main@sha1:${HEAD}` } } },
    'kustomizations/flux-system': { spec: { suspend: true }, status: { ...ready('True'), lastAppliedRevision: `main@sha1:${HEAD}` } },
  }));
  try {
    const { findings } = await verify('staging', { ...workspace(fleet), env: ENV, kubeconfig: servers.kubeconfig, apiUrl: servers.url });
    expect(findings.map((finding) => `${finding.ok ? 'ok' : 'FAILED'} ${finding.object}`)).toEqual([
      'ok Receiver instavote', 'ok Receiver flux-system', 'ok GitRepository instavote', 'ok GitRepository flux-system',
      'ok Kustomization vote-staging', 'FAILED Kustomization flux-system',
    ]);
    expect(findings.at(-1)!.detail).toBe('is not Ready: suspended (flux resume it)');
  } finally {
    await servers.close();
  }
});

test('expired credentials, and a context whose cluster has no Flux, are one line each', async () => {
  const servers = await standIns(applied);
  const folder = mkdtempSync(join(tmpdir(), 'kube-'));
  try {
    const expired = join(folder, 'expired');
    writeFileSync(expired, readFileSync(servers.kubeconfig, 'utf8').replace('"token":"kube-token"', '"token":"old-token"'));
    await expect(run({ ...servers, kubeconfig: expired })).rejects.toThrow(/^the cluster of context test \(https:\/\/localhost:\d+\) refused to show Receiver flux-system\/instavote \(401\): the kubeconfig's credentials are missing or expired/);
    const noFlux = join(folder, 'no-flux');
    writeFileSync(noFlux, readFileSync(servers.kubeconfig, 'utf8').replace(/server: "([^"]+)"/, 'server: "$1/other"'));
    await expect(run({ ...servers, kubeconfig: noFlux })).rejects.toThrow(/does not know Flux's Receiver \(notification\.toolkit\.fluxcd\.io\): Flux is not installed there, or this is not the cluster's context \(--context\)$/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
    await servers.close();
  }
});

test('no kubeconfig at all is said as such, not as a made-up localhost context', async () => {
  const home = mkdtempSync(join(tmpdir(), 'home-'));
  try {
    await expect(verify('staging', { ...workspace(BASE_FLEET), env: { ...ENV, HOME: home } })).rejects.toThrow(`no kubeconfig: ${join(home, '.kube', 'config')} does not exist and KUBECONFIG is not set; give --kubeconfig, or log in to the cluster first`);
    const broken = join(home, 'broken');
    writeFileSync(broken, 'clusters: [');
    await expect(verify('staging', { ...workspace(BASE_FLEET), env: { ...ENV, HOME: home }, kubeconfig: broken })).rejects.toThrow(`cannot read the kubeconfig ${broken}: `);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

describe('--heads git: each head read with git ls-remote from a real Git server', () => {
  let trusted: TrustedGit;
  let server: GitServer;
  let repository: Repository;
  /** What a user of a private CA sets: git trusts the server through GIT_SSL_CAINFO, our tokens stay away from it. */
  let gitEnv: NodeJS.ProcessEnv;
  beforeAll(async () => {
    trusted = await startTrustedGit(ca, 'instavote.git', ENV);
    ({ server, repository, gitEnv } = trusted);
  });
  afterAll(() => trusted.close());

  const fleetAt = (url: string, ref = '        branch: main\n') => BASE_FLEET.replace('https://github.com/lfs269/instavote', url).replace('        branch: main\n', ref);
  /** The cluster after Flux fetched and applied `revision`. */
  const at = (revision: string) => () => ({
    ...applied(),
    'gitrepositories/instavote': { status: { ...ready('True'), artifact: { revision } } },
    'kustomizations/vote-staging': { status: { ...ready('True'), lastAppliedRevision: revision } },
  });
  const runGit = (servers: { kubeconfig: string }, fleet: string, extra: Record<string, unknown> = {}) =>
    verify('staging', { ...workspace(fleet), env: gitEnv, kubeconfig: servers.kubeconfig, heads: 'git', ...extra });

  test('the head matches the applied revision: ok, with no commit date to count from', async () => {
    const sha = repository.commit({ 'deploy/vote/staging/a.yaml': 'a: 1\n' }, 'first');
    const servers = await standIns(at(`main@sha1:${sha}`));
    try {
      const report = await runGit(servers, fleetAt(repository.url));
      expect(report.findings).toEqual([
        { ok: true, object: 'Receiver instavote', detail: 'Ready, at the path the local token gives' },
        { ok: true, object: 'GitRepository instavote', detail: `at the head commit ${sha}` },
        { ok: true, object: 'Kustomization vote-staging', detail: `applied main@sha1:${sha}` },
      ]);
      expect(report.applied).toEqual([]);
      // git itself asked the server, over HTTPS.
      expect(server.requests).toContain('GET /instavote/info/refs?service=git-upload-pack');
    } finally {
      await servers.close();
    }
  });

  test('a head that moved on fails, naming both commits, in the command too (exit 1)', async () => {
    const applied = repository.commit({ 'deploy/vote/staging/a.yaml': 'a: 2\n' }, 'applied');
    const moved = repository.commit({ 'deploy/vote/staging/a.yaml': 'a: 3\n' }, 'pushed');
    const servers = await standIns(at(`main@sha1:${applied}`));
    try {
      const fleet = fleetAt(repository.url);
      const { findings } = await runGit(servers, fleet);
      expect(findings[1]).toEqual({ ok: false, object: 'GitRepository instavote', detail: `is at main@sha1:${applied}, but the head is ${moved}: the push has not been fetched (a delivery that failed, a filter that skipped it, or polling not due yet)` });
      expect(findings[2]).toEqual({ ok: false, object: 'Kustomization vote-staging', detail: `applied main@sha1:${applied}, not ${moved}` });
      const command = await startScript(workspace(fleet), 'webhook', ['verify', 'staging', '--kubeconfig', servers.kubeconfig, '--heads', 'git'], gitEnv);
      expect(command.status).toBe(1);
      expect(command.stdout).toContain(`FAILED GitRepository instavote: is at main@sha1:${applied}, but the head is ${moved}`);
    } finally {
      await servers.close();
    }
  }, PROCESS_TEST_TIMEOUT);

  test('a branch not on the server, an unknown repository and an untrusted certificate are one-line findings', async () => {
    const sha = repository.commit({}, 'head');
    const servers = await standIns(at(`feature@sha1:${sha}`));
    try {
      const missing = await runGit(servers, fleetAt(repository.url, '        branch: feature\n'));
      expect(missing.findings[1]).toEqual({ ok: false, object: 'GitRepository instavote', detail: `at feature@sha1:${sha}; branch feature is not on ${repository.url}` });
      const unknown = await runGit(servers, fleetAt(`${server.url}/nothing`));
      expect(unknown.findings[1].ok).toBe(false);
      expect(unknown.findings[1].detail).toBe(`at feature@sha1:${sha}; git ls-remote ${server.url}/nothing failed: fatal: repository '${server.url}/nothing/' not found`);
      // Without the CA the user's git trusts, git refuses the server: its own first error line.
      const untrusted = await runGit(servers, fleetAt(repository.url), { env: { ...gitEnv, GIT_SSL_CAINFO: undefined } });
      expect(untrusted.findings[1].ok).toBe(false);
      expect(untrusted.findings[1].detail).toMatch(new RegExp(`^at feature@sha1:${sha}; git ls-remote ${repository.url} failed: fatal: unable to access '${repository.url}/': .*certificate`));
      for (const { findings } of [missing, unknown, untrusted]) expect(findings[1].detail).not.toContain('\n');
    } finally {
      await servers.close();
    }
  });

  test('an annotated tag is compared by the commit it points at, as Flux reports it', async () => {
    const commit = repository.commit({ 'deploy/vote/staging/a.yaml': 'a: 4\n' }, 'release');
    git(repository.work, ['tag', '-a', 'v1.0.0', '-m', 'release 1.0.0']);
    git(repository.work, ['push', '--quiet', 'origin', 'refs/tags/v1.0.0']);
    const tagObject = git(repository.work, ['rev-parse', 'v1.0.0']);
    expect(tagObject).not.toBe(commit);
    const servers = await standIns(at(`v1.0.0@sha1:${commit}`));
    try {
      const { findings } = await runGit(servers, fleetAt(repository.url, '        tag: v1.0.0\n'));
      expect(findings.slice(1)).toEqual([
        { ok: true, object: 'GitRepository instavote', detail: `at the head commit ${commit}` },
        { ok: true, object: 'Kustomization vote-staging', detail: `applied v1.0.0@sha1:${commit}` },
      ]);
    } finally {
      await servers.close();
    }
  });

  test('a server that never answers is bounded by --timeout: one line, and git (with its helpers) is ended', async () => {
    const connections: Promise<void>[] = [];
    // Accepts the TLS connection and the request, and never answers.
    const silent = await listen(() => undefined, await ca.issue(['127.0.0.1']), '127.0.0.1');
    silent.server.on('secureConnection', (socket) => connections.push(new Promise((resolve) => socket.on('close', () => resolve()))));
    const url = `${silent.url}/instavote`;
    const servers = await standIns(applied);
    try {
      const error = await runGit(servers, fleetAt(url), { timeoutMs: 3000 }).then(() => undefined, (caught: Error) => caught);
      expect(error?.message).toBe(`git ls-remote ${url} had no complete answer within the command's time (--timeout 3s): the server does not answer or is slow; raise --timeout if it is only slow`);
      expect(connections.length).toBeGreaterThan(0);
      // Closed by the killed git-remote-https, not by the server.
      await Promise.all(connections);
    } finally {
      await Promise.all([servers.close(), silent.close()]);
    }
  });

  test('--heads takes api or git only (exit 2); git gets none of the variables flux-infra reads tokens from', async () => {
    const command = await startScript(workspace(BASE_FLEET), 'webhook', ['verify', 'staging', '--heads', 'svn'], ENV);
    expect(command.status).toBe(2);
    expect(command.stderr).toContain("option '--heads <how>' argument 'svn' is invalid. Allowed choices are api, git.");
    await expect(verify('staging', { ...workspace(BASE_FLEET), env: ENV, heads: 'svn' as 'git' })).rejects.toThrow(new UsageError('--heads svn must be one of api, git'));
    expect(gitEnvironment({ PATH: '/usr/bin', GIT_SSL_CAINFO: '/ca.pem', GITHUB_TOKEN: 't', GITLAB_TOKEN: 't', FLUX_INFRA_TOKEN_GIT_EXAMPLE_COM: 't', FLUX_INFRA_WEBHOOK_TOKEN_STAGING: 't', SOPS_AGE_KEY: 'k' }))
      .toEqual({ PATH: '/usr/bin', GIT_SSL_CAINFO: '/ca.pem', GIT_TERMINAL_PROMPT: '0' });
  }, PROCESS_TEST_TIMEOUT);
});
