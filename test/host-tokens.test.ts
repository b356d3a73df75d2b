// Which token goes to which host, and that no secret is ever printed (issue 20, items 6, 11 and 12's
// same-origin comparison): real `npm run synth` and `npm run webhook` processes, the real clients
// (Octokit, gitbeaker, gitea-js, fetch, @kubernetes/client-node) against loopback stand-ins.
import { existsSync, writeFileSync } from 'node:fs';
import { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { FleetError, parseFleet } from '../lib/fleet/parse';
import { tokenVariableFor } from '../tools/webhook/host-tokens';
import { PROCESS_TEST_TIMEOUT, startScript } from './support/cli';
import { testCa, TestCa } from './support/certificates';
import { BASE_FLEET } from './support/fleet';
import { kubeconfigText, KubeUser } from './support/kubeconfig';
import { listen, standIn } from './support/servers';
import { TOKEN } from './support/synth';
import { workspace, Workspace } from './support/tree';

const ENV = { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN };
/** The stand-ins listen on 127.0.0.1: this is its token variable. */
const LOOPBACK_TOKEN = 'FLUX_INFRA_TOKEN_127_0_0_1';
const LOOK_ALIKE = 'https://gіthub.com/lfs269/instavote'; // a Cyrillic і

const problemsOf = (text: string): string[] => {
  try {
    parseFleet(text);
    return [];
  } catch (error) {
    return (error as FleetError).problems;
  }
};

/** BASE_FLEET with the Payload URL's address, and `fields` set below clusters.staging (paths as lists). */
function fleet(fields: [(string | number)[], unknown][] = [], top: Record<string, unknown> = {}): string {
  const document = parseDocument(BASE_FLEET);
  document.setIn(['clusters', 'staging', 'webhook', 'address'], '203.0.113.10');
  for (const [path, value] of fields) document.setIn(['clusters', 'staging', ...path], value);
  for (const [key, value] of Object.entries(top)) document.set(key, value);
  return document.toString();
}

const sourceAt = (url: string, extra: Record<string, string> = {}) => fleet([[['sources', 0, 'url'], url], ...Object.entries(extra).map(([key, value]) => [['sources', 0, key], value] as [string[], string])]);

describe('item 6: a host that passes for another, and which token goes where', () => {
  test('a source or repository URL written with non-ASCII letters or in punycode is refused in one line, unless host: names its Git host', () => {
    expect(problemsOf(sourceAt(LOOK_ALIKE))).toEqual([
      expect.stringMatching(/^fleet\.yaml:\d+:\d+: clusters\.staging\.sources\[0\]\.url: the host "gіthub\.com" \(xn--gthub-n2e\.com\) is written with non-ASCII letters or in punycode, so it can pass for another host: write the host in plain ASCII, or, if it is really yours, name its Git host with host: \(github, gitlab, gitea, forgejo, bitbucket\)$/),
    ]);
    expect(problemsOf(sourceAt('https://xn--gthub-n2e.com/lfs269/instavote'))).toEqual([expect.stringContaining('the host "xn--gthub-n2e.com" (gіthub.com) is written with non-ASCII letters or in punycode')]);
    expect(problemsOf(sourceAt('ssh://git@gіtlab.com/group/app'))).toEqual([expect.stringContaining('clusters.staging.sources[0].url: the host "gіtlab.com" (xn--gtlab-n2e.com)')]);
    expect(problemsOf(fleet([], { repository: LOOK_ALIKE }))).toEqual([expect.stringContaining('repository: the host "gіthub.com"')]);
    expect(problemsOf(fleet([], { repository: { url: LOOK_ALIKE } }))).toEqual([expect.stringContaining('repository.url: the host "gіthub.com"')]);
    // The fleet naming the Git host is the opt-in for an internationalized host that is really the team's.
    expect(parseFleet(sourceAt('https://gït.example.org/team/app', { host: 'gitea' })).clusters[0].sources[0].url).toBe('https://gït.example.org/team/app');
    expect(parseFleet(fleet([], { repository: { url: LOOK_ALIKE, host: 'github' } })).repository).toEqual({ url: LOOK_ALIKE, host: 'github' });
    expect(problemsOf(sourceAt('https://git.example.org/team/app'))).toEqual([]);
  });

  test('synth refuses the look-alike source and writes nothing', async () => {
    const ws = workspace(sourceAt(LOOK_ALIKE));
    const result = await startScript(ws, 'synth', [], ENV);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/clusters\.staging\.sources\[0\]\.url: the host "gіthub\.com" \(xn--gthub-n2e\.com\) is written with non-ASCII letters/);
    expect(existsSync(join(ws.distDir, 'clusters', 'staging', 'sources.yaml'))).toBe(false);
  }, PROCESS_TEST_TIMEOUT);

  test('each variable names the one API host it goes to', () => {
    const variable = (url: string) => tokenVariableFor(new URL(url));
    expect(variable('https://api.github.com')).toBe('GITHUB_TOKEN');
    expect(variable('https://gitlab.com/api/v4')).toBe('GITLAB_TOKEN');
    expect(variable('https://gitea.com/api/v1')).toBe('GITEA_TOKEN');
    expect(variable('https://api.bitbucket.org/2.0')).toBe('BITBUCKET_TOKEN');
    // GitHub Enterprise, self-hosted GitLab, Codeberg: each host its own.
    expect(variable('https://ghe.example.com/api/v3')).toBe('FLUX_INFRA_TOKEN_GHE_EXAMPLE_COM');
    expect(variable('https://github.com/api/v3')).toBe('FLUX_INFRA_TOKEN_GITHUB_COM');
    expect(variable('https://codeberg.org/api/v1')).toBe('FLUX_INFRA_TOKEN_CODEBERG_ORG');
    expect(variable('https://gіthub.com/api/v3')).toBe('FLUX_INFRA_TOKEN_XN____GTHUB__N2E_COM');
    // One name per host: a hyphen and a dot never give the same name.
    expect(variable('https://git-example.org')).toBe('FLUX_INFRA_TOKEN_GIT__EXAMPLE_ORG');
    expect(variable('https://git.example.org')).toBe('FLUX_INFRA_TOKEN_GIT_EXAMPLE_ORG');
    expect(variable('http://127.0.0.1:8080')).toBe(LOOPBACK_TOKEN);
    expect(variable('http://[::1]:8080')).toBeUndefined();
  });

  test('hook --dry-run sends no token anywhere; a real run sends only the API host\'s own', async () => {
    const api = await standIn((request, send) => send(request.method === 'GET' ? 200 : 201, request.method === 'GET' ? [] : { id: 1 }));
    const everyPublicToken = { GITHUB_TOKEN: 'ghp_public', GITLAB_TOKEN: 'glpat_public', GITEA_TOKEN: 'gitea_public', BITBUCKET_TOKEN: 'bb_public' };
    try {
      // The issue's case: a look-alike of github.com; its API here is the loopback recorder.
      const lookAlike = workspace(sourceAt(LOOK_ALIKE, { host: 'github', apiUrl: api.url }));
      const dryRun = await startScript(lookAlike, 'webhook', ['hook', 'staging', '--dry-run'], { ...ENV, ...everyPublicToken });
      expect(dryRun.status).toBe(0);
      expect(dryRun.stdout).toContain('would create the GitHub webhook of lfs269/instavote');
      expect(dryRun.stderr).toContain('A dry run calls no Git host API and sends no token');
      const refused = await startScript(workspace(sourceAt(LOOK_ALIKE, { apiUrl: api.url })), 'webhook', ['hook', 'staging', '--dry-run'], { ...ENV, ...everyPublicToken });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/^error: \S*fleet\.yaml:\d+:\d+: clusters\.staging\.sources\[0\]\.url: the host "gіthub\.com" \(xn--gthub-n2e\.com\)/);
      expect(api.requests).toEqual([]);

      // A real run: none of the public hosts' tokens goes to another host's API.
      const real = await startScript(lookAlike, 'webhook', ['hook', 'staging'], { ...ENV, ...everyPublicToken });
      expect(real.status).toBe(1);
      expect(real.stderr).toBe('error: FLUX_INFRA_TOKEN_127_0_0_1 is not set: create a GitHub token (admin on the repository: classic admin:repo_hook scope; fine-grained: Webhooks read and write) for 127.0.0.1 and export it\n');
      expect(api.requests).toEqual([]);
      const own = await startScript(lookAlike, 'webhook', ['hook', 'staging'], { ...ENV, ...everyPublicToken, [LOOPBACK_TOKEN]: 'ghp_loopback' });
      expect(own.status).toBe(0);
      expect(api.requests.map((request) => `${request.method} ${request.headers.authorization}`)).toEqual(['GET token ghp_loopback', 'POST token ghp_loopback']);
    } finally {
      await api.close();
    }
  }, PROCESS_TEST_TIMEOUT * 2);
});

/** Every secret of the test below: each host's token, the kube token, the webhook token. */
const SECRETS = {
  github: 'ghp_SECRETgithub0001', gitlab: 'glpat-SECRETgitlab0002', gitea: 'gitea_SECRETgitea0003', bitbucket: 'bb_SECRETbitbucket0004', kube: 'kube_SECRETkube0005',
};

/** The hosts, with a source URL on each and its API root below a stand-in's origin. */
const HOSTS = [
  { kind: 'github', url: 'https://github.com/org/app', root: '', list: [] as unknown, publicVariable: 'GITHUB_TOKEN' },
  { kind: 'gitlab', url: 'https://gitlab.com/group/app', root: '/api/v4', list: [], publicVariable: 'GITLAB_TOKEN' },
  { kind: 'gitea', url: 'https://gitea.com/org/app', root: '/api/v1', list: [], publicVariable: 'GITEA_TOKEN' },
  { kind: 'bitbucket', url: 'https://bitbucket.org/ws/app', root: '/2.0', list: { values: [] }, publicVariable: 'BITBUCKET_TOKEN' },
] as const;

/** Every string in a JSON value, for an echo. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

/** What a careless server (or proxy) puts in an error body: the request's credentials and body, first. */
function echo(request: { headers: IncomingMessage['headers'] }, body: string): string {
  let parsed: unknown = body;
  try {
    parsed = JSON.parse(body);
  } catch {
    // not JSON: echoed as it is
  }
  return [request.headers.authorization, request.headers['private-token'], request.headers['x-gitlab-token'], ...strings(parsed), JSON.stringify(request.headers)].filter(Boolean).join(' ');
}

/** Each error body in every field the clients read a message from. */
const echoed = (text: string) => ({ message: text, error: { message: text }, kind: 'Status', code: 500 });

function expectNoSecret(output: { stdout: string; stderr: string }, secrets: string[]): void {
  const all = output.stdout + output.stderr;
  expect(all).not.toContain('SECRET');
  for (const secret of secrets) expect(all).not.toContain(secret);
}

let ca: TestCa;
beforeAll(async () => {
  ca = await testCa('kube test CA');
});

/** A kubeconfig for `server` in `ws`, with `user`'s credential (a token may hold a line break). */
function kubeconfig(ws: Workspace, server: string, user: string | KubeUser): string {
  const file = join(ws.root, 'kubeconfig');
  writeFileSync(file, kubeconfigText(server, ca.cert, typeof user === 'string' ? { token: user } : user));
  return file;
}

describe('item 11: no secret in any output, on any error path', () => {
  test('a token that is no header value is refused naming its variable or place, never its value', async () => {
    const bad = (secret: string) => `${secret}\nevil-${secret}`;
    const runs = await Promise.all([
      // Each public variable, on its own host's public API (refused before any connection).
      ...HOSTS.map((host) => startScript(workspace(sourceAt(host.url)), 'webhook', ['hook', 'staging'], { ...ENV, [host.publicVariable]: bad(SECRETS[host.kind]) })
        .then((result) => ({ result, expected: `error: ${host.publicVariable} is not a usable token: it holds a line break, a space or a character outside printable ASCII; set it to the token alone\n` }))),
      startScript(workspace(sourceAt('https://ghe.example.com/org/app', { apiUrl: 'http://127.0.0.1:9/api/v3' })), 'webhook', ['hook', 'staging'], { ...ENV, [LOOPBACK_TOKEN]: bad(SECRETS.github) })
        .then((result) => ({ result, expected: `error: ${LOOPBACK_TOKEN} is not a usable token: it holds a line break, a space or a character outside printable ASCII; set it to the token alone\n` })),
      startScript(workspace(sourceAt(HOSTS[0].url)), 'webhook', ['url', 'staging'], { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: `${TOKEN}\nSECRET` })
        .then((result) => ({ result, expected: undefined })),
    ]);
    for (const { result, expected } of runs) {
      expect(result.status).toBe(1);
      if (expected !== undefined) expect(result.stderr).toBe(expected);
      expectNoSecret(result, [...Object.values(SECRETS), TOKEN]);
    }
    const ws = workspace(fleet());
    const verify = await startScript(ws, 'webhook', ['verify', 'staging', '--kubeconfig', kubeconfig(ws, 'https://localhost:9', bad(SECRETS.kube))], ENV);
    expect(verify.status).toBe(1);
    expect(verify.stderr).toBe('error: the token of user test in the kubeconfig is not a usable token: it holds a line break, a space or a character outside printable ASCII; set it to the token alone\n');
    expectNoSecret(verify, Object.values(SECRETS));
  }, PROCESS_TEST_TIMEOUT * 2);

  test('error bodies that echo the request, and connections refused: every host\'s token, the kube token and the webhook token stay masked', async () => {
    // Lists succeed and writes fail (the secret is in the body), or lists fail (the token is in the header).
    const failWrites = await standIn((request, send) => (request.method === 'GET' ? send(200, request.url.startsWith('/2.0') ? { values: [] } : []) : send(422, echoed(echo(request, request.raw)))));
    const failAll = await standIn((request, send) => send(500, echoed(echo(request, request.raw))));
    const closed = await listen(() => undefined);
    await closed.close();
    const kube = await listen(async (request, response) => {
      for await (const _chunk of request) { /* drained */ }
      response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 500, message: echo(request, '') }));
    }, await ca.issue(['localhost']));
    try {
      const runs: Promise<{ what: string; output: { status: number | null; stdout: string; stderr: string } }>[] = [];
      const run = (what: string, ws: Workspace, args: string[], env: NodeJS.ProcessEnv) => runs.push(startScript(ws, 'webhook', args, { ...ENV, ...env }).then((output) => ({ what, output })));
      for (const host of HOSTS) {
        for (const [name, origin] of [['writes echo', failWrites.url], ['lists echo', failAll.url], ['refused', closed.url]]) {
          run(`${host.kind} ${name}`, workspace(sourceAt(host.url, { apiUrl: `${origin}${host.root}` })), ['hook', 'staging'], { [LOOPBACK_TOKEN]: SECRETS[host.kind] });
        }
      }
      run('deliveries echo', workspace(fleet()), ['deliveries', 'staging', '--api-url', failAll.url], { [LOOPBACK_TOKEN]: SECRETS.github });
      run('allowlist echo', workspace(fleet()), ['allowlist', 'staging', '--api-url', failAll.url], { [LOOPBACK_TOKEN]: SECRETS.github });
      // A GitLab Receiver's delivery carries the webhook token itself (X-Gitlab-Token).
      run('ping echo', workspace(sourceAt(HOSTS[1].url)), ['ping', 'staging', '--url', failAll.url], {});
      const kubeWs = workspace(fleet());
      run('verify echo', kubeWs, ['verify', 'staging', '--kubeconfig', kubeconfig(kubeWs, kube.url, SECRETS.kube), '--api-url', failAll.url], { [LOOPBACK_TOKEN]: SECRETS.github });
      const results = await Promise.all(runs);
      for (const { what, output } of results) {
        expect([what, output.status]).toEqual([what, 1]);
        expect([what, output.stdout + output.stderr]).not.toEqual([what, expect.stringContaining('SECRET')]);
        expect([what, output.stdout + output.stderr]).not.toEqual([what, expect.stringContaining(TOKEN)]);
      }
      // The servers were sent the secrets, and their answers were printed masked.
      expect(failWrites.requests.some((request) => request.raw.includes(TOKEN))).toBe(true);
      expect(failAll.requests.some((request) => request.headers['x-gitlab-token'] === TOKEN)).toBe(true);
      const byWhat = Object.fromEntries(results.map(({ what, output }) => [what, output.stdout + output.stderr]));
      expect(byWhat['gitlab writes echo']).toMatch(/GitLab refused the request for group\/app \(422\): \*{8} http:\/\/203\.0\.113\.10:31234\/hook\/[0-9a-f]{64} \*{8} /);
      expect(byWhat['github lists echo']).toMatch(/GitHub API call for org\/app failed \(HTTP 500\): token \*{8}/);
      expect(byWhat['verify echo']).toMatch(/cannot read Receiver flux-system\/instavote from .* \(500\): Bearer \*{8}/);
      expect(byWhat['gitea refused']).toMatch(/connection refused by 127\.0\.0\.1:\d+/);
    } finally {
      await Promise.all([failWrites.close(), failAll.close(), kube.close()]);
    }
  }, PROCESS_TEST_TIMEOUT * 4);
});

describe('item 11: a kubeconfig user with a password', () => {
  test('the Basic credential the client sends is masked in an answer that echoes it, in every form', async () => {
    const credential = { username: 'admin', password: 'kube_SECRETpassword0006' };
    const basic = Buffer.from(`${credential.username}:${credential.password}`).toString('base64');
    const seen: (string | undefined)[] = [];
    const kube = await listen(async (request, response) => {
      for await (const _chunk of request) { /* drained */ }
      seen.push(request.headers.authorization);
      response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 500, message: echo(request, '') }));
    }, await ca.issue(['localhost']));
    try {
      const ws = workspace(fleet());
      const verify = await startScript(ws, 'webhook', ['verify', 'staging', '--kubeconfig', kubeconfig(ws, kube.url, credential)], ENV);
      // The server was sent the credential, and its answer was printed masked.
      expect(seen).toContain(`Basic ${basic}`);
      expect(verify.status).toBe(1);
      expect(verify.stderr).toMatch(/cannot read Receiver flux-system\/instavote from .* \(500\): Basic \*{8}/);
      expectNoSecret(verify, [basic, credential.password]);
    } finally {
      await kube.close();
    }
  }, PROCESS_TEST_TIMEOUT);
});

describe('item 12: the same-origin check compares canonical forms', () => {
  test.each([
    ['2001:db8::1', '2001:db8:0::0:1', 'http://[2001:db8::1]:31234'],
    ['203.0.113.10', '::ffff:203.0.113.10', 'http://203.0.113.10:31234'],
  ])('%s and %s are one origin', (first, second, origin) => {
    const document = parseDocument(BASE_FLEET);
    document.setIn(['clusters', 'staging', 'webhook', 'address'], first);
    const production = parseDocument(BASE_FLEET).getIn(['clusters', 'staging']) as any;
    production.setIn(['webhook', 'address'], second);
    document.setIn(['clusters', 'production'], production);
    expect(problemsOf(document.toString())).toEqual([
      expect.stringMatching(new RegExp(`^fleet\\.yaml:\\d+:\\d+: clusters\\.production\\.webhook\\.address: clusters staging and production both receive webhooks at ${origin.replace(/[.[\]]/g, '\\$&')}`)),
    ]);
  });
});
