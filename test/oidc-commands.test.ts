// The commands and a cluster whose Receivers all take OIDC tokens: nothing to do for secrets and hook
// (exit 0, one line), url without a token, doctor on plain HTTP and unpinned ids, ping saying only
// what a call without a token shows, and `ids` against loopback stand-ins of GitHub's and GitLab's
// APIs answered to the real Octokit and gitbeaker clients.
import { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync, rmSync } from 'node:fs';
import { webhookPath } from '../lib/constructs/webhook-path';
import { doctor } from '../tools/webhook/doctor';
import { ids } from '../tools/webhook/ids';
import { ping } from '../tools/webhook/ping';
import { payloadUrls } from '../tools/webhook/url';
import { PROCESS_TEST_TIMEOUT, runScript, startScript } from './support/cli';
import { listen } from './support/servers';
import { workspace } from './support/tree';

const FLEET = (webhook: string, oidc = '', apis = { github: '', gitlab: '' }) => `clusters:
  staging:
    webhook: ${webhook}
    sources:
      # the app, on GitHub
      - name: vote
        url: https://github.com/octo-org/vote
        branch: main${apis.github}
      - {name: result, url: "https://gitlab.com/my-group/sub/result", tag: v1.2.0${apis.gitlab}}
    receivers:
      - name: apps   # called by the CI jobs
        type: generic-oidc
        sources: [vote, result]${oidc}
`;
const NODE_PORT = '{nodePort: 31234, address: 203.0.113.10}';
const LINE = 'receiver apps is generic-oidc: no token/hook, its caller is the CI job (npm run webhook -- workflow staging)';

describe('commands with nothing to do for a generic-oidc Receiver', () => {
  const ws = workspace(FLEET(NODE_PORT));
  afterAll(() => rmSync(ws.root, { recursive: true, force: true }));

  test.each([
    ['secrets', ['rotate-token', 'staging']],
    ['secrets', ['take-token', 'staging']],
    ['secrets', ['age-key', 'staging', '--write-fleet']],
    ['secrets', ['bind', 'staging']],
    ['webhook', ['hook', 'staging']],
  ] as const)('%s %s: one line, exit 0, nothing written', (script, args) => {
    const before = readFileSync(ws.fleetFile, 'utf8');
    const result = runScript(ws, script, [...args]);
    expect({ status: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() }).toEqual({ status: 0, stdout: LINE, stderr: '' });
    expect(readFileSync(ws.fleetFile, 'utf8')).toBe(before);
  }, PROCESS_TEST_TIMEOUT);

  test('url prints the path without any token (it is sha256 of name and namespace, not secret)', async () => {
    const result = await payloadUrls('staging', { ...ws, env: {} });
    expect(result.receivers).toEqual([{ name: 'apps', namespace: 'flux-system', path: webhookPath('', 'apps', 'flux-system'), url: `http://203.0.113.10:31234${webhookPath('', 'apps', 'flux-system')}` }]);
  });
});

describe('doctor', () => {
  test('refuses a generic-oidc Receiver behind plain HTTP unless allowPlainHttp, and notes the unpinned ids', async () => {
    const plain = workspace(FLEET(NODE_PORT));
    const allowed = workspace(FLEET(NODE_PORT, '\n        oidc: {allowPlainHttp: true}'));
    const tls = workspace(FLEET('{ingress: {hostname: flux.example.org}}'));
    try {
      const refused = await doctor('staging', { ...plain, env: {} });
      expect(refused.problems.filter((line) => line.includes('generic-oidc'))).toEqual([
        'Receiver apps is generic-oidc, but clusters.staging.webhook is plain HTTP: its CI job\'s ID token travels in clear and can be replayed until it expires; expose the Receivers over TLS (gateway, ingress, or loadBalancer.tls), or set oidc.allowPlainHttp: true on the Receiver to accept that',
      ]);
      expect(refused.problems.filter((line) => /webhook token|token here/.test(line))).toEqual([]);
      expect((await doctor('staging', { ...allowed, env: {} })).problems.filter((line) => line.includes('generic-oidc'))).toEqual([]);
      const report = await doctor('staging', { ...tls, env: {} });
      expect(report.problems.filter((line) => line.includes('generic-oidc'))).toEqual([]);
      expect(report.notes).toEqual(['the generic-oidc pins of vote (Receiver apps), result (Receiver apps) have no repositoryId/ownerId: a repository deleted and recreated (or an owner renamed and taken) under the same name would pass them; fetch the ids with npm run webhook -- ids staging --write-fleet']);
    } finally {
      for (const ws of [plain, allowed, tls]) rmSync(ws.root, { recursive: true, force: true });
    }
  });
});

describe('ping', () => {
  test('a bare 400 to a call without a bearer: ok, saying a Receiver answers and that the CI token is not checked; a 200 is not a generic-oidc Receiver', async () => {
    const seen: { url?: string; authorization?: string }[] = [];
    let status = 400;
    const server = await listen((request: IncomingMessage, response: ServerResponse) => {
      seen.push({ url: request.url, authorization: request.headers.authorization });
      request.resume();
      request.on('end', () => {
        response.writeHead(status);
        response.end();
      });
    });
    const ws = workspace(FLEET(NODE_PORT));
    try {
      const [answered] = await ping('staging', { ...ws, env: {}, url: server.url });
      expect(answered).toMatchObject({ accepted: true, status: 400, receiver: 'apps' });
      expect(answered.explanation).toMatch(/^answers: a Receiver is at the path and refused a call without an ID token \(400\).*ping cannot mint a CI ID token/);
      expect(seen).toEqual([{ url: webhookPath('', 'apps', 'flux-system'), authorization: undefined }]);
      status = 200;
      const [open] = await ping('staging', { ...ws, env: {}, url: server.url });
      expect(open).toMatchObject({ accepted: false, status: 200 });
      expect(open.explanation).toContain('which a generic-oidc Receiver never does');
      status = 404;
      expect((await ping('staging', { ...ws, env: {}, url: server.url }))[0]).toMatchObject({ accepted: false, status: 404 });
    } finally {
      await server.close();
      rmSync(ws.root, { recursive: true, force: true });
    }
  });
});

describe('ids, against loopback stand-ins of the hosts\' APIs', () => {
  test('reads GitHub\'s repository and owner ids and GitLab\'s project and namespace ids with each host\'s token, and writes them keeping comments', async () => {
    const requests: string[] = [];
    const answer = (response: ServerResponse, body: unknown) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const github = await listen((request, response) => {
      requests.push(`github ${request.method} ${request.url} ${request.headers.authorization}`);
      if (request.url === '/repos/octo-org/vote') answer(response, { id: 74, full_name: 'octo-org/vote', owner: { login: 'octo-org', id: 65 } });
      else { response.writeHead(404, { 'Content-Type': 'application/json' }); response.end('{"message":"Not Found"}'); }
    });
    const gitlab = await listen((request, response) => {
      requests.push(`gitlab ${request.method} ${request.url} ${request.headers['private-token'] ?? request.headers.authorization}`);
      if (request.url?.startsWith('/api/v4/projects/my-group%2Fsub%2Fresult')) answer(response, { id: 20, path_with_namespace: 'my-group/sub/result', namespace: { id: 72, full_path: 'my-group/sub' } });
      else { response.writeHead(404, { 'Content-Type': 'application/json' }); response.end('{"message":"404 Project Not Found"}'); }
    });
    const ws = workspace(FLEET('{ingress: {hostname: flux.example.org}}', '', { github: `\n        apiUrl: "${github.url}"`, gitlab: `, apiUrl: "${gitlab.url}/api/v4"` }));
    const env = { FLUX_INFRA_TOKEN_127_0_0_1: 'loopback-token' };
    try {
      // As README gives it (`npm run webhook -- ids <cluster> --write-fleet`), a process reading the stand-ins.
      const run = await startScript(ws, 'webhook', ['ids', 'staging', '--write-fleet', '--json'], env);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const result = JSON.parse(run.stdout);
      expect(result.sources).toEqual([
        { source: 'vote', host: 'github', repository: 'octo-org/vote', repositoryId: 74, ownerId: 65 },
        { source: 'result', host: 'gitlab', repository: 'my-group/sub/result', repositoryId: 20, ownerId: 72 },
      ]);
      expect(result.written).toBe(true);
      expect(requests).toEqual([
        'github GET /repos/octo-org/vote token loopback-token',
        expect.stringMatching(/^gitlab GET \/api\/v4\/projects\/my-group%2Fsub%2Fresult\S* loopback-token$/),
      ]);
      const text = readFileSync(ws.fleetFile, 'utf8');
      expect(text).toContain('      # the app, on GitHub\n      - name: vote\n        url: https://github.com/octo-org/vote\n        branch: main\n');
      expect(text).toContain('        repositoryId: 74\n        ownerId: 65\n');
      expect(text).toContain(`/api/v4", repositoryId: 20, ownerId: 72}`);
      expect(text).toContain('      - name: apps   # called by the CI jobs\n');
      // A second run finds them written: nothing changes.
      expect((await ids('staging', { ...ws, env, writeFleet: true })).written).toBe(false);
      expect(readFileSync(ws.fleetFile, 'utf8')).toBe(text);
    } finally {
      await github.close();
      await gitlab.close();
      rmSync(ws.root, { recursive: true, force: true });
    }
    }, PROCESS_TEST_TIMEOUT);

  test('a repository the host does not know: one line naming it, the fleet file untouched', async () => {
    const github = await listen((_request, response) => {
      response.writeHead(404, { 'Content-Type': 'application/json' });
      response.end('{"message":"Not Found"}');
    });
    const ws = workspace(FLEET('{ingress: {hostname: flux.example.org}}', '', { github: `\n        apiUrl: "${github.url}"`, gitlab: '' }));
    const before = readFileSync(ws.fleetFile, 'utf8');
    try {
      await expect(ids('staging', { ...ws, env: {}, writeFleet: true })).rejects.toThrow(/octo-org\/vote/);
      expect(readFileSync(ws.fleetFile, 'utf8')).toBe(before);
    } finally {
      await github.close();
      rmSync(ws.root, { recursive: true, force: true });
    }
  });

  test('ids the fleet already pins that the host answers differently: one line naming the source, the old and new ids and what it means, nothing written; --replace-ids writes them', async () => {
    const github = await listen((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ id: 91, full_name: 'octo-org/vote', owner: { login: 'octo-org', id: 65 } }));
    });
    // Ids written earlier, when the repository of that name was another one.
    const ws = workspace(FLEET('{ingress: {hostname: flux.example.org}}', '', { github: `\n        apiUrl: "${github.url}"\n        repositoryId: 74   # pinned\n        ownerId: 65`, gitlab: '' }).replace('    receivers:\n', '    receivers:\n').replace('sources: [vote, result]', 'sources: [vote]'));
    const before = readFileSync(ws.fleetFile, 'utf8');
    const LINE_CHANGED = 'source vote (octo-org/vote): the fleet file pins repositoryId 74, ownerId 65, but GitHub now says repositoryId 91, ownerId 65: the repository was deleted and recreated, or moved, since the ids were written; check that it is the one you trust before replacing them (npm run webhook -- ids staging --write-fleet --replace-ids)';
    try {
      const written = await startScript(ws, 'webhook', ['ids', 'staging', '--write-fleet']);
      expect(written.stderr).toBe(`error: ${LINE_CHANGED}\n`);
      expect(written.status).toBe(1);
      expect(readFileSync(ws.fleetFile, 'utf8')).toBe(before);
      const printed = await startScript(ws, 'webhook', ['ids', 'staging']);
      expect(printed.stderr).toBe(`error: ${LINE_CHANGED}\n`);
      expect(printed.status).toBe(1);
      const alone = await startScript(ws, 'webhook', ['ids', 'staging', '--replace-ids']);
      expect(alone.stderr).toBe('error: --replace-ids replaces the ids in the fleet file: give it with --write-fleet\n');
      expect(alone.status).toBe(2);
      expect(readFileSync(ws.fleetFile, 'utf8')).toBe(before);

      const replaced = await startScript(ws, 'webhook', ['ids', 'staging', '--write-fleet', '--replace-ids']);
      expect(replaced.stderr).toBe('');
      expect(replaced.status).toBe(0);
      expect(replaced.stdout).toContain(`replaced the ids of vote in ${ws.fleetFile}: run npm run synth and commit`);
      expect(readFileSync(ws.fleetFile, 'utf8')).toBe(before.replace('repositoryId: 74   # pinned', 'repositoryId: 91   # pinned'));
    } finally {
      await github.close();
      rmSync(ws.root, { recursive: true, force: true });
    }
  }, PROCESS_TEST_TIMEOUT);

  test('a repository GitHub answers 301 for (renamed or moved, as its REST API says): one line saying to update the source\'s url', async () => {
    const requests: string[] = [];
    // As api.github.com answers the old name of a renamed repository: 301 to /repositories/<id>, with a JSON body saying so.
    const github = await listen((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      const location = `http://${request.headers.host}/repositories/74`;
      response.writeHead(301, { 'Content-Type': 'application/json; charset=utf-8', Location: location });
      response.end(JSON.stringify({ message: 'Moved Permanently', url: location, documentation_url: 'https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects' }));
    });
    const ws = workspace(FLEET('{ingress: {hostname: flux.example.org}}', '', { github: `\n        apiUrl: "${github.url}"`, gitlab: '' }).replace('sources: [vote, result]', 'sources: [vote]'));
    const before = readFileSync(ws.fleetFile, 'utf8');
    try {
      const run = await startScript(ws, 'webhook', ['ids', 'staging', '--write-fleet']);
      expect(run.stderr).toBe('error: source vote: GitHub says octo-org/vote was renamed or moved (301): update the source\'s url to the repository\'s new name, then run ids again\n');
      expect(run.status).toBe(1);
      // The redirect is not followed: the token would go with it.
      expect(requests).toEqual(['GET /repos/octo-org/vote']);
      expect(readFileSync(ws.fleetFile, 'utf8')).toBe(before);
    } finally {
      await github.close();
      rmSync(ws.root, { recursive: true, force: true });
    }
  }, PROCESS_TEST_TIMEOUT);
});
