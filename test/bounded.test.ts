// Every client of the webhook commands is bounded (issue 20, items 7 to 10 and 12's --timeout):
// loopback stand-ins that redirect, page without end, answer without end, or trickle, each met by
// the real client library (Octokit, gitbeaker, gitea-js, Bitbucket's calls, @kubernetes/client-node,
// undici for ping), most through the command as a user runs it, in a child process.
import { once } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';
import { parseDocument } from 'yaml';
import { syncHooks } from '../tools/webhook/hook';
import { deliveries } from '../tools/webhook/deliveries';
import { ping } from '../tools/webhook/ping';
import { verify } from '../tools/webhook/verify';
import { MAX_BODY_BYTES, MAX_PAGES } from '../tools/webhook/bounded-fetch';
import { testCa, TestCa } from './support/certificates';
import { oneLine, PROCESS_TEST_TIMEOUT, startScript } from './support/cli';
import { temporaryKubeconfig } from './support/kubeconfig';
import { BASE_FLEET } from './support/fleet';
import { listen } from './support/servers';
import { TOKEN } from './support/synth';
import { workspace } from './support/tree';

const ENV = { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN };
/** BASE_FLEET with the address a Payload URL needs, and a NetworkPolicy that sees GitHub's address (for allowlist). */
const FLEET = BASE_FLEET.replace('      nodePort: 31234\n', '      nodePort: 31234\n      address: 203.0.113.10\n      externalTrafficPolicy: Local\n');

function fleetOn(url: string): string {
  const document = parseDocument(FLEET);
  document.setIn(['clusters', 'staging', 'sources', 0, 'url'], url);
  return document.toString();
}

/**
 * Writes `chunk` again and again until the client stops reading (closes) or `cap` bytes are out:
 * the cap only ends a test whose client is unbounded. Resolves with the bytes written.
 */
async function endless(response: ServerResponse, chunk: Buffer, cap: number): Promise<number> {
  let sent = 0;
  let closed = false;
  const gone = once(response, 'close').then(() => (closed = true));
  while (!closed && sent < cap) {
    sent += chunk.length;
    if (!response.write(chunk)) await Promise.race([once(response, 'drain'), gone]);
  }
  response.end();
  return sent;
}

/** A server that answers with headers at once, then one byte every 100 ms until the client goes (at most `cap` bytes). */
async function trickle(response: ServerResponse, cap = 1200): Promise<void> {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.flushHeaders();
  let closed = false;
  response.on('close', () => (closed = true));
  for (let sent = 0; !closed && sent < cap; sent++) {
    response.write(' ');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  response.end('[]');
}

async function drain(request: IncomingMessage): Promise<void> {
  for await (const _chunk of request) { /* the stand-ins read no body */ }
}

// Ten times the limit: far past it, yet an unbounded client still ends (a test that fails, not one that hangs).
const CAP = 10 * MAX_BODY_BYTES;
const CHUNK = Buffer.alloc(64 * 1024, ' ');

describe('item 7: verify never follows a redirect from the Kubernetes API', () => {
  let ca: TestCa;
  beforeAll(async () => {
    ca = await testCa('kube test CA');
  });

  test('a 302 to another port of the same host: refused in one line naming only its origin, and the token never reaches it', async () => {
    // Same host name and CA, so a client that follows it would connect and, as node-fetch does for the same host, send the token.
    const certificate = await ca.issue(['localhost']);
    const reached: (string | undefined)[] = [];
    const elsewhere = await listen(async (request, response) => {
      await drain(request);
      reached.push(request.headers.authorization);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"Status","code":404,"message":"nothing here","details":{"name":"instavote"}}');
    }, certificate);
    const kube = await listen(async (request, response) => {
      await drain(request);
      response.writeHead(302, { location: `${elsewhere.url}${request.url}?from=redirect` }).end();
    }, certificate);
    const { file: kubeconfig, remove } = temporaryKubeconfig(kube.url, ca.cert);
    try {
      const ws = workspace(FLEET);
      const result = await startScript(ws, 'webhook', ['verify', 'staging', '--kubeconfig', kubeconfig, '--api-url', 'http://127.0.0.1:9'], ENV);
      expect(result.status).toBe(1);
      const port = new URL(elsewhere.url).port;
      expect(oneLine(result.stderr)).toMatch(new RegExp(`^error: reading Receiver flux-system/instavote from the cluster of context test \\(https://localhost:\\d+\\) stopped: https://localhost:\\d+ answered 302 redirecting to https://localhost:${port}, which is not followed \\(the request carries credentials\\): the kubeconfig's server must be the API server itself`));
      expect(result.stderr).not.toContain('?from=redirect');
      expect(reached).toEqual([]);
    } finally {
      remove();
      await Promise.all([kube.close(), elsewhere.close()]);
    }
  }, PROCESS_TEST_TIMEOUT);

  test('an endless answer and a trickling API server: each stops the command in one line', async () => {
    const certificate = await ca.issue(['localhost']);
    let sent = 0;
    let mode: 'endless' | 'trickle' = 'endless';
    const kube = await listen(async (request, response) => {
      await drain(request);
      if (mode === 'trickle') return trickle(response);
      response.writeHead(200, { 'content-type': 'application/json' });
      sent = await endless(response, CHUNK, CAP);
    }, certificate);
    const { file: kubeconfig, remove } = temporaryKubeconfig(kube.url, ca.cert);
    const options = { ...workspace(FLEET), env: ENV, kubeconfig, apiUrl: 'http://127.0.0.1:9' };
    try {
      await expect(verify('staging', options)).rejects.toThrow(/^reading Receiver flux-system\/instavote from the cluster of context test \(https:\/\/localhost:\d+\) stopped: the answer of localhost:\d+ is over 8 MiB, more than any answer read here: it was not read further/);
      expect(sent).toBeLessThan(CAP);
      mode = 'trickle';
      await expect(verify('staging', { ...options, timeoutMs: 500 })).rejects.toThrow(/^reading Receiver flux-system\/instavote from the cluster of context test \(https:\/\/localhost:\d+\) stopped: no complete answer from localhost:\d+ within the command's time \(--timeout 0\.5s\): it answers too slowly or stalls; raise --timeout if it is only slow$/);
    } finally {
      remove();
      await kube.close();
    }
  });
});

describe('item 8: a list whose next page never ends', () => {
  /** Answers every GET with a page of one hook (not ours) and a Link to one more, as GitHub and GitLab page (gitbeaker stops at an empty page). */
  async function endlessLinks() {
    const requests: { method: string; url: string; token?: string }[] = [];
    const server = await listen(async (request, response) => {
      await drain(request);
      requests.push({ method: request.method!, url: request.url!, token: String(request.headers.authorization ?? request.headers['private-token'] ?? '') });
      const url = new URL(request.url!, origin);
      url.searchParams.set('page', String(Number(url.searchParams.get('page') ?? 1) + 1));
      const page = Number(url.searchParams.get('page')) - 1;
      response.writeHead(200, { 'content-type': 'application/json', link: `<${url.href}>; rel="next"` }).end(JSON.stringify([{ id: page, url: 'https://elsewhere.example/hook', config: { url: 'https://elsewhere.example/hook' } }]));
    });
    const origin = server.url;
    return { ...server, requests };
  }

  test('GitHub (Octokit paginate): the command stops after the page limit, exit 1, one line', async () => {
    const api = await endlessLinks();
    try {
      const result = await startScript(workspace(fleetOn('https://github.com/lfs269/instavote')), 'webhook', ['hook', 'staging', '--api-url', api.url], { ...ENV, FLUX_INFRA_TOKEN_127_0_0_1: 'ghp_test' });
      expect(result.status).toBe(1);
      expect(oneLine(result.stderr)).toBe(`error: GitHub API call for lfs269/instavote stopped: the list of hooks of lfs269/instavote goes on past ${MAX_PAGES} pages (its next-page link never ends): stopped; check that the API URL is the host's REST API`);
      expect(api.requests).toHaveLength(MAX_PAGES + 1);
      expect(api.requests.every((request) => request.method === 'GET')).toBe(true);
    } finally {
      await api.close();
    }
  }, PROCESS_TEST_TIMEOUT);

  test('GitLab (gitbeaker\'s own pagination), Gitea and Bitbucket: the same page limit, nothing written', async () => {
    const gitlab = await endlessLinks();
    // Gitea pages by number and reports a total that never comes; Bitbucket names its next page in the body.
    const gitea = await listen(async (request, response) => {
      await drain(request);
      giteaRequests++;
      response.writeHead(200, { 'content-type': 'application/json', 'x-total-count': '1000000' }).end(JSON.stringify(Array.from({ length: 50 }, (_, index) => ({ id: giteaRequests * 100 + index, config: { url: 'https://elsewhere.example/hook' } }))));
    });
    let giteaRequests = 0;
    const bitbucketRequests: string[] = [];
    const bitbucket = await listen(async (request, response) => {
      await drain(request);
      bitbucketRequests.push(`${request.method} ${request.url}`);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ values: [], next: `${bitbucket.url}/2.0/repositories/ws/repo/hooks?page=${bitbucketRequests.length + 1}` }));
    });
    try {
      await expect(syncHooks('staging', { ...workspace(fleetOn('https://gitlab.com/group/project')), env: { ...ENV, FLUX_INFRA_TOKEN_127_0_0_1: 'glpat-test' }, apiUrl: `${gitlab.url}/api/v4` }))
        .rejects.toThrow(`GitLab API call for group/project stopped: the list of hooks of group/project goes on past ${MAX_PAGES} pages`);
      expect(gitlab.requests).toHaveLength(MAX_PAGES + 1);
      expect(gitlab.requests.every((request) => request.method === 'GET')).toBe(true);

      await expect(syncHooks('staging', { ...workspace(fleetOn('https://gitea.com/org/app')), env: { ...ENV, FLUX_INFRA_TOKEN_127_0_0_1: 'gitea-test' }, apiUrl: `${gitea.url}/api/v1` }))
        .rejects.toThrow(`Gitea API call for org/app stopped: the list of hooks of org/app goes on past ${MAX_PAGES} pages`);
      expect(giteaRequests).toBe(MAX_PAGES + 1);

      await expect(syncHooks('staging', { ...workspace(fleetOn('https://bitbucket.org/ws/repo')), env: { ...ENV, FLUX_INFRA_TOKEN_127_0_0_1: 'bb-test' }, apiUrl: `${bitbucket.url}/2.0` }))
        .rejects.toThrow(`Bitbucket API call for ws/repo stopped: the list of hooks of ws/repo goes on past ${MAX_PAGES} pages`);
      expect(bitbucketRequests).toHaveLength(MAX_PAGES + 1);
      expect(bitbucketRequests.every((request) => request.startsWith('GET '))).toBe(true);

      // deliveries reads pages of 100 up to --limit: a limit the page limit would cut is refused before any request.
      await expect(deliveries('staging', { ...workspace(fleetOn('https://github.com/lfs269/instavote')), env: { ...ENV, FLUX_INFRA_TOKEN_127_0_0_1: 'ghp_test' }, apiUrl: gitlab.url, limit: MAX_PAGES * 100 + 1 }))
        .rejects.toThrow(`--limit must be a whole number of deliveries from 1 to ${MAX_PAGES * 100}`);
      expect(gitlab.requests).toHaveLength(MAX_PAGES + 1);
    } finally {
      await Promise.all([gitlab.close(), gitea.close(), bitbucket.close()]);
    }
  });
});

describe('item 9: an answer that never ends', () => {
  /** A GitHub stand-in whose every answer is an endless 200 JSON body; `sent` is what it wrote. */
  async function endlessApi() {
    const state = { sent: 0, requests: 0 };
    const server = await listen(async (request, response) => {
      await drain(request);
      state.requests++;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('[');
      state.sent += await endless(response, CHUNK, CAP);
    });
    return { ...server, state };
  }

  test('hook and allowlist, as a user runs them: one line, exit 1, and the body was not read past the limit', async () => {
    const api = await endlessApi();
    try {
      const hook = await startScript(workspace(fleetOn('https://github.com/lfs269/instavote')), 'webhook', ['hook', 'staging', '--api-url', api.url], { ...ENV, FLUX_INFRA_TOKEN_127_0_0_1: 'ghp_test' });
      expect(hook.status).toBe(1);
      expect(oneLine(hook.stderr)).toMatch(/^error: GitHub API call for lfs269\/instavote stopped: the answer of 127\.0\.0\.1:\d+ is over 8 MiB, more than any answer read here: it was not read further \(is this the API it should be\?\)$/);
      const sentForHook = api.state.sent;
      expect(sentForHook).toBeLessThan(CAP);

      const list = await startScript(workspace(FLEET), 'webhook', ['allowlist', 'staging', '--api-url', api.url]);
      expect(list.status).toBe(1);
      expect(oneLine(list.stderr)).toMatch(/^error: GitHub API call for GitHub's \/meta stopped: the answer of 127\.0\.0\.1:\d+ is over 8 MiB/);
      expect(api.state.sent - sentForHook).toBeLessThan(CAP);
      expect(api.state.requests).toBe(2);
    } finally {
      await api.close();
    }
  }, PROCESS_TEST_TIMEOUT);

  test('ping reads the first KiB of a Receiver\'s answer and no more', async () => {
    const receiver = await endlessApi();
    try {
      const [outcome] = await ping('staging', { ...workspace(FLEET), env: ENV, url: receiver.url, timeoutMs: 20_000 });
      // A Receiver answers with a status alone: an answer with a body is said as seen, not taken as one.
      expect(outcome).toMatchObject({ accepted: false, status: 200 });
      expect(outcome.explanation).toMatch(/^HTTP 200 from http:\/\/127\.0\.0\.1:\d+, which is not notification-controller's answer \(it has a body, /);
      expect(receiver.state.sent).toBeLessThan(CAP);
    } finally {
      await receiver.close();
    }
  });
});

describe('item 10: one deadline for the whole command (--timeout)', () => {
  test('hook against an API that trickles its answer: stopped at --timeout, naming the host and the option', async () => {
    const api = await listen(async (request, response) => {
      await drain(request);
      await trickle(response);
    });
    try {
      const result = await startScript(workspace(fleetOn('https://github.com/lfs269/instavote')), 'webhook', ['hook', 'staging', '--api-url', api.url, '--timeout', '1'], { ...ENV, FLUX_INFRA_TOKEN_127_0_0_1: 'ghp_test' });
      expect(result.status).toBe(1);
      expect(oneLine(result.stderr)).toMatch(/^error: GitHub API call for lfs269\/instavote stopped: no complete answer from 127\.0\.0\.1:\d+ within the command's time \(--timeout 1s\): it answers too slowly or stalls; raise --timeout if it is only slow$/);
    } finally {
      await api.close();
    }
  }, PROCESS_TEST_TIMEOUT);

  test('allowlist and deliveries too, as processes given --timeout', async () => {
    const api = await listen(async (request, response) => {
      await drain(request);
      await trickle(response);
    });
    try {
      const [listed, delivered] = await Promise.all([
        startScript(workspace(FLEET), 'webhook', ['allowlist', 'staging', '--timeout', '0.5', '--api-url', api.url]),
        startScript(workspace(fleetOn('https://github.com/lfs269/instavote')), 'webhook', ['deliveries', 'staging', '--timeout', '0.5', '--api-url', api.url], { ...ENV, FLUX_INFRA_TOKEN_127_0_0_1: 'ghp_test' }),
      ]);
      expect([listed.status, oneLine(listed.stderr)]).toEqual([1, expect.stringMatching(/^error: GitHub API call for GitHub's \/meta stopped: no complete answer from 127\.0\.0\.1:\d+ within the command's time \(--timeout 0\.5s\)/)]);
      expect([delivered.status, oneLine(delivered.stderr)]).toEqual([1, expect.stringMatching(/^error: GitHub API call for lfs269\/instavote stopped: no complete answer from 127\.0\.0\.1:\d+ within the command's time \(--timeout 0\.5s\)/)]);
    } finally {
      await api.close();
    }
  }, PROCESS_TEST_TIMEOUT);
});

describe('ids: the same deadline, and plain http off loopback only with --allow-http', () => {
  const oidcFleet = (apiUrl: string) => `clusters:
  staging:
    webhook: {ingress: {hostname: flux.example.org}}
    sources:
      - {name: vote, url: https://github.com/octo-org/vote, branch: main, apiUrl: "${apiUrl}"}
    receivers:
      - {name: apps, type: generic-oidc, sources: [vote]}
`;

  test('ids --timeout 0.5 against an API that trickles: stopped, naming the option', async () => {
    const api = await listen(async (request, response) => {
      await drain(request);
      await trickle(response);
    });
    try {
      const run = await startScript(workspace(oidcFleet(api.url)), 'webhook', ['ids', 'staging', '--timeout', '0.5']);
      expect([run.status, oneLine(run.stderr)]).toEqual([1, expect.stringMatching(/stopped: no complete answer from 127\.0\.0\.1:\d+ within the command's time \(--timeout 0\.5s\)/)]);
    } finally {
      await api.close();
    }
  }, PROCESS_TEST_TIMEOUT);

  test('ids with a plain-http apiUrl off loopback: refused (exit 2) unless --allow-http, which then tries it', async () => {
    // 0.0.0.0 is not a loopback name by the rule, yet reaches this machine: port 2 refuses at once.
    const ws = workspace(oidcFleet('http://0.0.0.0:2/api/v3'));
    const refused = await startScript(ws, 'webhook', ['ids', 'staging']);
    expect([refused.status, oneLine(refused.stderr)]).toEqual([2, expect.stringMatching(/is plain http, which would send FLUX_INFRA_TOKEN_0_0_0_0 .* in clear: use https:\/\/ \(or --allow-http if the network is yours\)$/)]);
    const allowed = await startScript(ws, 'webhook', ['ids', 'staging', '--allow-http']);
    expect(allowed.status).toBe(1);
    expect(allowed.stderr).not.toContain('plain http');
    expect(allowed.stderr).toContain('0.0.0.0:2');
  }, PROCESS_TEST_TIMEOUT);
});

describe('item 12: --timeout is checked as usage', () => {
  test('ping --timeout 0.000001, 1e9 or abc, and hook --timeout 0: exit 2, one line naming the option and its range', async () => {
    const ws = workspace(FLEET);
    const runs = await Promise.all([
      ...['0.000001', '1e9', 'abc'].map((value) => startScript(ws, 'webhook', ['ping', 'staging', '--url', 'http://127.0.0.1:9', '--timeout', value], ENV)),
      startScript(ws, 'webhook', ['hook', 'staging', '--dry-run', '--timeout', '0'], ENV),
    ]);
    expect(runs.map((run) => run.status)).toEqual([2, 2, 2, 2]);
    expect(runs.map((run) => oneLine(run.stderr))).toEqual(['"0.000001"', '"1e9"', '"abc"', '"0"'].map((value) => `error: --timeout ${value} must be a number of seconds from 0.1 to 3600, e.g. 30`));
    expect(runs.map((run) => run.stdout)).toEqual(['', '', '', '']);
  }, PROCESS_TEST_TIMEOUT);
});
