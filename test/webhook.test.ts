import { createHash, createHmac } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { synthesize } from '../lib/synth';
import { run } from '../tools/webhook';
import { doctor } from '../tools/webhook/doctor';
import { MASK, syncGithubHooks } from '../tools/webhook/hook';
import { ping, sendDelivery } from '../tools/webhook/ping';
import { gitHost } from '../lib/hosts';
import { exposureOf } from '../lib/constructs/exposures';
import { payloadUrls } from '../tools/webhook/url';
import { ageKeygen } from './support/age';
import { BASE_FLEET } from './support/fleet';
import { listen, receiverServer } from './support/servers';
import { TOKEN } from './support/synth';
import { workspace, Workspace, writeFile } from './support/tree';

// The Receiver path for TOKEN + instavote + flux-system, computed with coreutils' sha256sum.
const VECTOR_PATH = '/hook/b3bc2cd0c6a47fbbe44bf0516d8f41aad0a2092e9f8aeea653b095f162e60ac6';
const ENV = { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN };

function fleetWith(changes: [(string | number)[], unknown][]): string {
  const document = parseDocument(BASE_FLEET);
  for (const [path, value] of changes) {
    if (value === undefined) document.deleteIn(path);
    else document.setIn(path, value);
  }
  return document.toString();
}

function withAddress(address = '203.0.113.10'): Workspace {
  return workspace(fleetWith([[['clusters', 'staging', 'webhook', 'address'], address]]));
}

describe('url', () => {
  test('is http://<address>:<nodePort>/hook/<sha256(token+name+namespace)>', async () => {
    const ws = withAddress();
    expect(await payloadUrls('staging', { ...ws, env: ENV })).toEqual({
      cluster: 'staging',
      receivers: [{ name: 'instavote', namespace: 'flux-system', path: VECTOR_PATH, url: `http://203.0.113.10:31234${VECTOR_PATH}` }],
    });
    expect((await payloadUrls('staging', { ...withAddress('2001:db8::7'), env: ENV })).receivers[0].url).toBe(`http://[2001:db8::7]:31234${VECTOR_PATH}`);
    expect((await payloadUrls('staging', { ...withAddress('node1.example.org'), env: ENV })).receivers[0].url).toBe(`http://node1.example.org:31234${VECTOR_PATH}`);
  });

  test('uses the token synth stored, and says clearly what is missing', async () => {
    const ws = withAddress();
    await expect(payloadUrls('staging', { ...ws, env: {} })).rejects.toThrow(/no webhook token for staging here: not in FLUX_INFRA_WEBHOOK_TOKEN_STAGING, not in .*secrets\/staging\/webhook-token; run npm run synth/);
    await synthesize({ ...ws, env: {} });
    expect((await payloadUrls('staging', { ...ws, env: {} })).receivers[0].url).toMatch(/^http:\/\/203\.0\.113\.10:31234\/hook\/[0-9a-f]{64}$/);
    await expect(payloadUrls('staging', { ...workspace(BASE_FLEET), env: ENV })).rejects.toThrow(/^clusters\.staging\.webhook in .*fleet\.yaml does not say where the cluster is reached: add webhook\.address: the IP address or DNS name at which the Git host reaches a node \(the path alone is \/hook\/[0-9a-f]{64}\)$/);
    await expect(payloadUrls('staging', { ...ws, env: ENV, receiver: 'other' })).rejects.toThrow('cluster staging has no receiver "other" (it has: instavote)');
    await expect(payloadUrls('nope', { ...ws, env: ENV })).rejects.toThrow('cluster "nope" is not in');
  });

  test('the command prints the URL, or JSON, with exit codes 0, 1 and 2', async () => {
    const ws = withAddress();
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const saved = { ...process.env };
    Object.assign(process.env, { FLUX_INFRA_FLEET: ws.fleetFile, FLUX_INFRA_DIST: ws.distDir, FLUX_INFRA_SECRETS: ws.secretsDir, ...ENV });
    try {
      // Each line names its Receiver, however many there are; --receiver prints the URL alone, for $(...).
      expect(await run(['url', 'staging'])).toBe(0);
      expect(log).toHaveBeenLastCalledWith(`instavote: http://203.0.113.10:31234${VECTOR_PATH}`);
      expect(await run(['url', 'staging', '--receiver', 'instavote'])).toBe(0);
      expect(log).toHaveBeenLastCalledWith(`http://203.0.113.10:31234${VECTOR_PATH}`);
      expect(await run(['url', 'staging', '--json'])).toBe(0);
      expect(JSON.parse(log.mock.calls.at(-1)![0]).receivers[0].path).toBe(VECTOR_PATH);
      expect(await run(['url', 'nope'])).toBe(1);
      // A failed check exits 1 through the return value, never through process.exitCode.
      expect(await run(['doctor', 'staging'])).toBe(1);
      expect(log).toHaveBeenLastCalledWith(expect.stringContaining('problem: '));
      expect(await run(['ping', 'staging', '--url', 'http://127.0.0.1:1'])).toBe(1);
      expect(log).toHaveBeenLastCalledWith(expect.stringContaining('FAILED instavote: port 1 is on the list of ports fetch refuses'));
      expect(process.exitCode).toBeUndefined();
      expect(error).toHaveBeenLastCalledWith(expect.stringContaining('cluster "nope" is not in'));
      const usage: string[] = [];
      const output = { writeOut: (text: string) => usage.push(text), writeErr: (text: string) => usage.push(text) };
      expect(await run(['url'], output)).toBe(2);
      expect(await run(['ping', 'staging', '--event', 'pull'], output)).toBe(2);
      expect(await run(['frobnicate'], output)).toBe(2);
      expect(usage.join('')).toContain("error: option '--event <event>' argument 'pull' is invalid. Allowed choices are ping, push.");
      expect(await run(['ping', 'staging', '--url', 'ftp://x'], output)).toBe(2);
      expect(error).toHaveBeenLastCalledWith('error: --url "ftp://x" must be http:// or https://');
      expect(await run(['ping', '--help'], output)).toBe(0);
      expect(usage.join('')).toContain('--event <event>');
      expect(usage.join('')).toMatch(/--timeout <seconds> +how long to wait for an answer \(default: 10\)/);
    } finally {
      process.env = saved;
      log.mockRestore();
      error.mockRestore();
    }
  });
});

describe('ping', () => {
  const receiverOptions = { token: TOKEN, name: 'instavote', namespace: 'flux-system', events: ['ping', 'push'] };

  test.each(['ping', 'push'] as const)('a %s delivery is accepted by a receiver that checks it like notification-controller', async (event) => {
    const receiver = await receiverServer(receiverOptions);
    try {
      const [outcome] = await ping('staging', { ...workspace(BASE_FLEET), env: ENV, event, url: receiver.url });
      expect(outcome).toMatchObject({ accepted: true, status: 200, receiver: 'instavote', url: `${receiver.url}${VECTOR_PATH}` });
      // A ping names no ref: the Receiver's filter reconciles nothing for it; a push to main reconciles the source.
      expect(outcome.explanation).toBe(event === 'ping'
        ? 'accepted: Receiver instavote checked the signature; its filters reconcile none of its sources for this delivery (skipped: GitRepository instavote)'
        : 'accepted: Receiver instavote checked the signature and asked GitRepository instavote to reconcile');
      const [delivery] = receiver.deliveries;
      expect(delivery.headers['content-type']).toBe('application/json');
      expect(delivery.headers['x-github-event']).toBe(event);
      expect(delivery.headers['x-github-delivery']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(delivery.headers['x-hub-signature']).toBe(`sha1=${createHmac('sha1', TOKEN).update(JSON.stringify(delivery.body)).digest('hex')}`);
      expect(delivery.body.repository).toMatchObject({ full_name: 'lfs269/instavote', clone_url: 'https://github.com/lfs269/instavote.git' });
      if (event === 'ping') expect(delivery.body).toMatchObject({ zen: expect.any(String), hook: { config: { content_type: 'json' } } });
      else expect(delivery.body).toMatchObject({ ref: 'refs/heads/main', after: expect.stringMatching(/^[0-9a-f]{40}$/), commits: [expect.any(Object)] });
    } finally {
      await receiver.close();
    }
  });

  test('reports a wrong token (signature) and an event the Receiver does not take as 400', async () => {
    const ws = workspace(BASE_FLEET);
    const otherKey = await receiverServer({ ...receiverOptions, signingToken: 'a-different-token-in-the-cluster-secret' });
    const pingOnly = await receiverServer({ ...receiverOptions, events: ['ping'] });
    try {
      const [tampered] = await ping('staging', { ...ws, env: ENV, url: otherKey.url });
      expect(tampered).toMatchObject({ accepted: false, status: 400 });
      expect(tampered.explanation).toMatch(/^rejected \(400\): the signature \(X-Hub-Signature-256\) does not match \(the cluster's webhook-token Secret holds another token than this one\)/);
      // The fleet's Receiver takes push: only a Receiver in the cluster older than dist/ can refuse it for its event.
      const [event] = await ping('staging', { ...ws, env: ENV, event: 'push', url: pingOnly.url });
      expect(event.explanation).toMatch(/; the event "push" is one the fleet file's Receiver takes, unless the Receiver in the cluster is older than dist\//);
    } finally {
      await Promise.all([otherKey.close(), pingOnly.close()]);
    }
  });

  test('a 400 for an event the fleet\'s Receiver does not list is named as that, not as a wrong token', async () => {
    // The real notification-controller answers a ping to a Receiver with events [push] with a bare 400 (test/e2e/receivers.e2e.ts).
    const ws = workspace(fleetWith([[['clusters', 'staging', 'receivers', 0, 'events'], ['push']]]));
    const pushOnly = await receiverServer({ ...receiverOptions, events: ['push'] });
    try {
      const [outcome] = await ping('staging', { ...ws, env: ENV, event: 'ping', url: pushOnly.url });
      expect(outcome).toMatchObject({ accepted: false, status: 400 });
      expect(outcome.explanation).toBe('rejected (400): the event "ping" is not in the Receiver\'s events (push): add it to the Receiver\'s events in the fleet file if it should be taken');
    } finally {
      await pushOnly.close();
    }
  });

  test('reports a wrong path (stale token, other receiver) as 404', async () => {
    const receiver = await receiverServer({ ...receiverOptions, name: 'another' });
    try {
      const [outcome] = await ping('staging', { ...workspace(BASE_FLEET), env: ENV, url: receiver.url });
      expect(outcome).toMatchObject({ accepted: false, status: 404 });
      expect(outcome.explanation).toMatch(/^no Receiver at that path \(404\): the token in the cluster differs/);
    } finally {
      await receiver.close();
    }
  });

  test('reports a closed port, a silent firewall, and answers from outside the Receiver codes', async () => {
    const ws = workspace(BASE_FLEET);
    const closed = await listen(() => undefined);
    await closed.close();
    const [refused] = await ping('staging', { ...ws, env: ENV, url: closed.url });
    expect(refused.explanation).toMatch(/^connection refused by 127\.0\.0\.1:\d+: nothing listens there; the NodePort patch is not applied/);

    const silent = await listen(() => undefined);
    const fixed = (status: number) => listen((_request: IncomingMessage, response) => response.writeHead(status).end());
    const [events, notReady, missing] = await Promise.all([fixed(202), fixed(503), fixed(500)]);
    try {
      const [timeout] = await ping('staging', { ...ws, env: ENV, url: silent.url, timeoutMs: 300 });
      expect(timeout.explanation).toMatch(/^no answer from 127\.0\.0\.1:\d+ within 0\.3s: a firewall or a NetworkPolicy drops/);
      expect((await ping('staging', { ...ws, env: ENV, url: events.url }))[0].explanation).toMatch(/^answer 202 is none of a Receiver's: the URL probably reached notification-controller's events server/);
      expect((await ping('staging', { ...ws, env: ENV, url: notReady.url }))[0].explanation).toMatch(/not ready or is suspended \(503\): usually its Secret webhook-token is missing/);
      expect((await ping('staging', { ...ws, env: ENV, url: missing.url }))[0].explanation).toMatch(/\(500\): one of GitRepository instavote does not exist/);
    } finally {
      await Promise.all([silent, events, notReady, missing].map((server) => server.close()));
    }
  });
});

describe('ping: no silent no-op, and only what it saw', () => {
  const receiverOptions = { token: TOKEN, name: 'instavote', namespace: 'flux-system', events: ['ping', 'push'] };

  /** Runs the command line with the workspace's paths; its exit code and what it printed. */
  async function cli(ws: Workspace, args: string[]): Promise<{ code: number; out: string }> {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const saved = { ...process.env };
    Object.assign(process.env, { FLUX_INFRA_FLEET: ws.fleetFile, FLUX_INFRA_DIST: ws.distDir, FLUX_INFRA_SECRETS: ws.secretsDir, ...ENV });
    try {
      const code = await run(args);
      return { code, out: log.mock.calls.map((call) => String(call[0])).join('\n') };
    } finally {
      process.env = saved;
      log.mockRestore();
    }
  }

  test('a branch the pushes do not go to: the push of main is taken but reconciles nothing, which fails (exit 1) naming the filter and the branch', async () => {
    // The issue's reproduction: branch mian in the fleet file, a push to main.
    const ws = workspace(BASE_FLEET.replace('branch: main', 'branch: mian'));
    const receiver = await receiverServer(receiverOptions);
    try {
      const { code, out } = await cli(ws, ['ping', 'staging', '--event', 'push', '--ref', 'refs/heads/main', '--url', receiver.url]);
      expect(code).toBe(1);
      expect(out).toBe('FAILED instavote: this push reconciles nothing: answered 200: Receiver instavote checked the signature, but its filters refuse every source: '
        + 'the filter of GitRepository instavote wants branch mian (refs/heads/mian), the delivery pushed refs/heads/main: if main is what you push to, set branch: main for source instavote in the fleet file (npm run webhook -- doctor --online checks that each ref exists)');
      expect(receiver.deliveries).toHaveLength(1);
      // Without --ref, a push names the source's own branch, which its filter takes.
      expect(await cli(ws, ['ping', 'staging', '--event', 'push', '--url', receiver.url])).toEqual({ code: 0, out: 'ok instavote: accepted: Receiver instavote checked the signature and asked GitRepository instavote to reconcile' });
      expect(receiver.deliveries[1].body.ref).toBe('refs/heads/mian');
      // A ping names no ref: nothing to reconcile is what it is for, not a failure.
      expect((await cli(ws, ['ping', 'staging', '--url', receiver.url])).code).toBe(0);
    } finally {
      await receiver.close();
    }
  });

  test('a push from another repository is refused by the filter for its repository', async () => {
    const ws = workspace(fleetWith([[['clusters', 'staging', 'sources', 1], { name: 'other', url: 'https://github.com/lfs269/other', tag: 'v1.0.0' }], [['clusters', 'staging', 'receivers', 0, 'sources'], ['other', 'instavote']]]));
    const receiver = await receiverServer(receiverOptions);
    try {
      // --ref takes the first source's repository: other's, at a ref instavote's filter does not take either.
      const [outcome] = await ping('staging', { ...ws, env: ENV, event: 'push', ref: 'refs/heads/feature', url: receiver.url });
      expect(outcome).toMatchObject({ accepted: false, reconciled: [], skipped: ['other', 'instavote'] });
      expect(outcome.explanation).toContain('the filter of GitRepository other wants tag v1.0.0 (refs/tags/v1.0.0), the delivery pushed refs/heads/feature');
      expect(outcome.explanation).toContain('; the filter of GitRepository instavote wants pushes to lfs269/instavote, the delivery came from lfs269/other');
    } finally {
      await receiver.close();
    }
  });

  test('a push goes once for each source\'s own repository and ref, each reconciling its source', async () => {
    const ws = workspace(fleetWith([[['clusters', 'staging', 'sources', 1], { name: 'other', url: 'https://github.com/lfs269/other', tag: 'v1.0.0' }], [['clusters', 'staging', 'receivers', 0, 'sources'], ['instavote', 'other']]]));
    const receiver = await receiverServer(receiverOptions);
    try {
      const { code, out } = await cli(ws, ['ping', 'staging', '--event', 'push', '--url', receiver.url]);
      expect([code, out.split('\n')]).toEqual([0, [
        'ok instavote (refs/heads/main of lfs269/instavote): accepted: Receiver instavote checked the signature and asked GitRepository instavote to reconcile; its filters skip GitRepository other',
        'ok instavote (refs/tags/v1.0.0 of lfs269/other): accepted: Receiver instavote checked the signature and asked GitRepository other to reconcile; its filters skip GitRepository instavote',
      ]]);
      expect(receiver.deliveries.map(({ body }) => [body.repository.full_name, body.ref])).toEqual([['lfs269/instavote', 'refs/heads/main'], ['lfs269/other', 'refs/tags/v1.0.0']]);
    } finally {
      await receiver.close();
    }
  });

  test('a 200 or a 404 that is not notification-controller\'s answer is said as seen, never as a Receiver\'s check or a wrong token', async () => {
    const ws = workspace(BASE_FLEET);
    // A listener that answers 200 to anything, as Python's http.server does: a Server header and a body.
    const anything = await listen((_request, response) => response.writeHead(200, { server: 'BaseHTTP/0.6 Python/3.12.3', 'content-type': 'text/plain' }).end('ok\n'));
    // A web server with no such path: nginx's 404 page.
    const nginx = await listen((_request, response) => response.writeHead(404, { server: 'nginx/1.27.0', 'content-type': 'text/html' }).end('<html><head><title>404 Not Found</title></head></html>'));
    // Only a Server header, through --url: a tunnel in front may add it, so the answer is hedged, not refused.
    const tunnel = await listen((_request, response) => response.writeHead(200, { server: 'tunnel' }).end());
    try {
      const { code, out } = await cli(ws, ['ping', 'staging', '--event', 'push', '--url', anything.url]);
      expect(code).toBe(1);
      expect(out).toBe(`FAILED instavote: HTTP 200 from ${anything.url}, which is not notification-controller's answer (it has a body, "ok"; the controller answers with a status alone): `
        + 'a Receiver answers 200 only once the signature (X-Hub-Signature-256) checks out, but this server may answer so to anything: nothing shows that Receiver instavote got the delivery; check that the NodePort patch targets webhook-receiver (fluxcd/flux2#1115)');
      expect(out).not.toContain('checked the signature and');
      const [notFound] = await ping('staging', { ...ws, env: ENV, url: nginx.url });
      expect(notFound).toMatchObject({ accepted: false, status: 404 });
      expect(notFound.explanation).toMatch(/^HTTP 404 from http:\/\/127\.0\.0\.1:\d+, which is not notification-controller's answer \(it has a body, "<html><head><title>404 Not Found.*: the delivery did not reach a Receiver, so this says nothing about the token/);
      expect(notFound.explanation).not.toMatch(/token in the cluster differs/);
      const [hedged] = await ping('staging', { ...ws, env: ENV, event: 'push', url: tunnel.url });
      expect(hedged).toMatchObject({ accepted: true, status: 200 });
      expect(hedged.explanation).toBe(`accepted (HTTP 200 from ${tunnel.url}; its Server header says "tunnel": a proxy in front, or a server that is not notification-controller): as notification-controller answers when Receiver instavote checked the signature and asked GitRepository instavote to reconcile`);
    } finally {
      await Promise.all([anything.close(), nginx.close(), tunnel.close()]);
    }
  });

  test('on a NodePort (no proxy in front), a Server header alone shows the answer is not notification-controller\'s', async () => {
    const server = await listen((_request, response) => response.writeHead(200, { server: 'nginx' }).end());
    try {
      // The fleet's own URL is sent as is: no --url, so no tunnel that could add the header.
      const delivery = await gitHost('github').delivery('push', { host: 'github.com', owner: 'lfs269', name: 'instavote' }, 'refs/heads/main', server.url, TOKEN);
      const hints = exposureOf({ nodePort: 31234, address: '127.0.0.1' } as never).deliveryHints('flux-system');
      const outcome = await sendDelivery({ url: server.url, event: 'push', delivery, hints, receiver: 'instavote', type: 'github', resources: 'GitRepository instavote' });
      expect(outcome).toMatchObject({ accepted: false, status: 200 });
      expect(outcome.explanation).toMatch(/^HTTP 200 from http:\/\/127\.0\.0\.1:\d+, which is not notification-controller's answer \(its Server header says "nginx"; /);
    } finally {
      await server.close();
    }
  });
});

describe('github', () => {
  interface Hook { id: number; name: string; active: boolean; events: string[]; config: Record<string, string> }

  /** A stand-in for GitHub's REST API: list, create and update repository hooks, or fail with `failWith`. */
  async function fakeGithub(hooks: Hook[] = [], failWith?: { status: number; body: unknown }) {
    const requests: { method: string; url: string; auth?: string; body?: any }[] = [];
    const api = await listen(async (request, response) => {
      let raw = '';
      for await (const chunk of request) raw += chunk;
      const body = raw ? JSON.parse(raw) : undefined;
      requests.push({ method: request.method!, url: request.url!, auth: request.headers.authorization, body });
      const send = (status: number, data: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(data));
      if (failWith) return send(failWith.status, failWith.body);
      if (request.method === 'GET' && request.url!.startsWith('/repos/lfs269/instavote/hooks')) return send(200, hooks);
      if (request.method === 'POST' && request.url === '/repos/lfs269/instavote/hooks') {
        const hook = { id: 100 + hooks.length, ...body };
        hooks.push(hook);
        return send(201, hook);
      }
      const update = /^\/repos\/lfs269\/instavote\/hooks\/(\d+)$/.exec(request.url!);
      if (request.method === 'PATCH' && update) {
        const hook = hooks.find((candidate) => candidate.id === Number(update[1]))!;
        Object.assign(hook, body);
        return send(200, hook);
      }
      return send(404, { message: 'Not Found' });
    });
    return { ...api, hooks, requests };
  }

  // The stand-ins are on 127.0.0.1, whose token variable this is (GITHUB_TOKEN is api.github.com's only).
  const options = (apiUrl: string) => ({ ...withAddress(), env: { ...ENV, FLUX_INFRA_TOKEN_127_0_0_1: 'ghp_test' }, apiUrl });

  test('creates the hook once, then updates it in place: idempotent', async () => {
    const github = await fakeGithub();
    try {
      const [created] = await syncGithubHooks('staging', options(github.url));
      expect(created).toMatchObject({ action: 'create', host: 'GitHub', repository: 'lfs269/instavote', receiver: 'instavote', hookId: '100' });
      const post = github.requests.find((request) => request.method === 'POST')!;
      expect(post.auth).toBe('token ghp_test');
      expect(post.body).toEqual({
        name: 'web', active: true, events: ['push'],
        config: { url: `http://203.0.113.10:31234${VECTOR_PATH}`, content_type: 'json', insecure_ssl: '0', secret: TOKEN },
      });
      const [updated] = await syncGithubHooks('staging', options(github.url));
      expect(updated).toMatchObject({ action: 'update', hookId: '100', reason: 'same URL' });
      expect(github.requests.filter((request) => request.method === 'POST')).toHaveLength(1);
      expect(github.requests.find((request) => request.method === 'PATCH')!.body).toEqual({ active: true, events: ['push'], config: post.body.config });
      expect(github.hooks).toHaveLength(1);
    } finally {
      await github.close();
    }
  });

  test('updates the hook of the token before the last rotation, and never a hook that only shares the host and port', async () => {
    const previous = 'fedcba9876543210'.repeat(4);
    const previousPath = `/hook/${createHash('sha256').update(`${previous}instavoteflux-system`).digest('hex')}`;
    const rotated = { id: 7, name: 'web', active: true, events: ['push'], config: { url: `http://203.0.113.10:31234${previousPath}`, content_type: 'json' } };
    const foreign = { id: 8, name: 'web', active: true, events: ['push'], config: { url: 'http://203.0.113.10:31234/hook/0000', content_type: 'json' } };
    const ws = withAddress();
    const github = await fakeGithub([foreign, rotated]);
    try {
      writeFile(join(ws.secretsDir, 'staging', 'webhook-token.previous'), previous);
      const [change] = await syncGithubHooks('staging', { ...ws, env: { ...ENV, FLUX_INFRA_TOKEN_127_0_0_1: 'ghp_test' }, apiUrl: github.url });
      expect(change).toMatchObject({ action: 'update', hookId: '7', reason: 'the URL before the last token rotation' });
      expect(github.hooks.find((hook) => hook.id === 7)!.config.url).toBe(`http://203.0.113.10:31234${VECTOR_PATH}`);
      expect(github.hooks.find((hook) => hook.id === 8)!.config.url).toBe('http://203.0.113.10:31234/hook/0000');

      // Without the previous token here, the same-host hook may be another cluster's: a new hook is made.
      const fresh = await fakeGithub([foreign]);
      try {
        const [created] = await syncGithubHooks('staging', options(fresh.url));
        expect(created).toMatchObject({ action: 'create' });
        expect(fresh.hooks.find((hook) => hook.id === 8)!.config.url).toBe('http://203.0.113.10:31234/hook/0000');
      } finally {
        await fresh.close();
      }
    } finally {
      await github.close();
    }
  });

  test('never sends GITHUB_TOKEN or the webhook secret off the API origin: no cross-origin page, no redirect', async () => {
    const elsewhere: { method: string; auth?: string; body: string }[] = [];
    const other = await listen(async (request, response) => {
      let body = '';
      for await (const chunk of request) body += chunk;
      elsewhere.push({ method: request.method!, auth: request.headers.authorization, body });
      response.writeHead(201, { 'content-type': 'application/json' }).end('{"id": 1}');
    });
    const api = await listen(async (request, response) => {
      for await (const _chunk of request) { /* drain */ }
      if (request.method === 'GET') {
        return response.writeHead(200, { 'content-type': 'application/json', link: `<${other.url}/repos/lfs269/instavote/hooks?page=2>; rel="next"` }).end('[]');
      }
      return response.writeHead(307, { location: `${other.url}/repos/lfs269/instavote/hooks` }).end();
    });
    try {
      await expect(syncGithubHooks('staging', options(api.url))).rejects.toThrow(`GitHub API call for lfs269/instavote stopped: refused to send a request to ${other.url}, which is not the API's origin`);
      const noList = await listen(async (request, response) => {
        for await (const _chunk of request) { /* drain */ }
        if (request.method === 'GET') return response.writeHead(200, { 'content-type': 'application/json' }).end('[]');
        return response.writeHead(307, { location: `${other.url}/repos/lfs269/instavote/hooks` }).end();
      });
      try {
        await expect(syncGithubHooks('staging', options(noList.url))).rejects.toThrow(/stopped: http:\/\/127\.0\.0\.1:\d+ answered 307 redirecting to http:\/\/127\.0\.0\.1:\d+, which is not followed/);
      } finally {
        await noList.close();
      }
      expect(elsewhere).toEqual([]);
    } finally {
      await api.close();
      await other.close();
    }
  });

  test('refuses a plain-http API off loopback, and names network failures and odd answers in one line', async () => {
    await expect(syncGithubHooks('staging', options('http://ghe.example.com/api/v3'))).rejects.toThrow('--api-url "http://ghe.example.com/api/v3" is plain http, which would send FLUX_INFRA_TOKEN_GHE_EXAMPLE_COM and the webhook secret in clear');
    const closed = await listen(() => undefined);
    await closed.close();
    const refused = syncGithubHooks('staging', options(closed.url));
    await expect(refused).rejects.toThrow(/^GitHub API call for lfs269\/instavote got no answer: connection refused by 127\.0\.0\.1:\d+: nothing listens at the API URL$/);
    await expect(syncGithubHooks('staging', options(closed.url))).rejects.not.toThrow(/HTTP 500|\(500\)/);
    await expect(syncGithubHooks('staging', options('https://user:ghp_secret@ghe.example.com/api/v3'))).rejects.toThrow(/^--api-url carries credentials: give the API URL alone and the token in FLUX_INFRA_TOKEN_GHE_EXAMPLE_COM$/);
    const answers: [number, Record<string, string>, string, RegExp][] = [
      [502, { 'content-type': 'text/html' }, '<html>\n<body>\n<h1>502 Bad Gateway</h1>\n</body>\n</html>', /^GitHub API call for lfs269\/instavote failed \(HTTP 502\): 502 Bad Gateway$/],
      [403, { 'content-type': 'application/json', 'x-ratelimit-remaining': '0' }, '{"message": "API rate limit exceeded"}', /^GitHub's rate limit for this token is used up \(403\)/],
      [200, { 'content-type': 'application/json' }, '[{"id": 1, "config": null}]', /^GitHub's list of hooks of lfs269\/instavote is not what its REST API returns/],
    ];
    for (const [status, headers, body, message] of answers) {
      const server = await listen((_request, response) => response.writeHead(status, headers).end(body));
      try {
        await expect(syncGithubHooks('staging', options(server.url))).rejects.toThrow(message);
      } finally {
        await server.close();
      }
    }
    const odd = await listen(async (request, response) => {
      for await (const _chunk of request) { /* drain */ }
      response.writeHead(request.method === 'GET' ? 200 : 201, { 'content-type': 'application/json' }).end(request.method === 'GET' ? '[]' : '{}');
    });
    try {
      await expect(syncGithubHooks('staging', options(odd.url))).rejects.toThrow(/has no hook id \(HTTP 201\): check that --api-url is GitHub's REST API/);
    } finally {
      await odd.close();
    }
  });

  test('--dry-run calls no API, even with the token set, and masks the secret', async () => {
    const github = await fakeGithub();
    try {
      const changes = await syncGithubHooks('staging', { ...options(github.url), dryRun: true });
      expect(github.requests).toEqual([]);
      expect(changes[0].request).toMatchObject({ method: 'POST', path: '/repos/lfs269/instavote/hooks', body: { config: { secret: MASK } } });
      expect(JSON.stringify(changes)).not.toContain(TOKEN);
      const offline = await syncGithubHooks('staging', { ...withAddress(), env: ENV, dryRun: true });
      expect((offline[0].request!.body.config as { secret: string }).secret).toBe(MASK);
    } finally {
      await github.close();
    }
  });

  test.each([
    [401, { message: 'Bad credentials' }, /GitHub refused the token \(401\): FLUX_INFRA_TOKEN_127_0_0_1 is missing, wrong or expired/],
    [404, { message: 'Not Found' }, /GitHub answered 404 for lfs269\/instavote: it does not exist for this token, or the token lacks the rights \(admin on the repository: classic admin:repo_hook scope/],
    [422, { message: 'Validation Failed', errors: [{ message: 'Hook already exists on this repository' }] }, /GitHub refused the request for lfs269\/instavote \(422\): Hook already exists on this repository/],
  ])('explains GitHub\'s %s', async (status, body, message) => {
    const github = await fakeGithub([], { status, body });
    try {
      await expect(syncGithubHooks('staging', options(github.url))).rejects.toThrow(message);
    } finally {
      await github.close();
    }
  });

  test('needs GITHUB_TOKEN for a real run; a GitHub Enterprise source\'s API is its apiUrl, else https://<host>/api/v3', async () => {
    await expect(syncGithubHooks('staging', { ...withAddress(), env: ENV })).rejects.toThrow('GITHUB_TOKEN is not set: create a GitHub token (admin on the repository');
    const ghe = (apiUrl?: string) => workspace(fleetWith([
      [['clusters', 'staging', 'webhook', 'address'], '203.0.113.10'],
      [['clusters', 'staging', 'sources', 0, 'url'], 'https://ghe.example.org/team/instavote'],
      ...(apiUrl ? [[['clusters', 'staging', 'sources', 0, 'apiUrl'], apiUrl] as [string[], string]] : []),
    ]));
    const [planned] = await syncGithubHooks('staging', { ...ghe(), env: ENV, dryRun: true });
    expect(planned.request!.path).toBe('/repos/team/instavote/hooks');
    const github = await fakeGithub();
    try {
      const fleetApi = ghe(github.url);
      await expect(syncGithubHooks('staging', { ...fleetApi, env: { ...ENV, FLUX_INFRA_TOKEN_127_0_0_1: 'x' } })).rejects.toThrow('GitHub answered 404 for team/instavote');
      expect(github.requests[0].url).toMatch(/^\/repos\/team\/instavote\/hooks/);
    } finally {
      await github.close();
    }
  });
});

describe('doctor', () => {
  test('finds nothing wrong with a synthesized, complete cluster', async () => {
    const ws = withAddress();
    await synthesize({ ...ws, env: {} });
    expect(await doctor('staging', { ...ws, env: {} })).toEqual({ cluster: 'staging', problems: [], notes: [] });
  });

  test('reports each problem on one line', async () => {
    const ws = workspace(fleetWith([
      [['clusters', 'staging', 'sources', 1], { name: 'infra', url: 'https://github.com/org/infra' }],
      [['clusters', 'staging', 'receivers', 0, 'events'], ['ping']],
    ]));
    writeFile(join(ws.distDir, 'clusters', 'staging', 'extra-secret.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked\nstringData:\n  password: hunter2\n');
    const { problems } = await doctor('staging', { ...ws, env: {} });
    expect(problems).toEqual([
      expect.stringMatching(/^no webhook token here for staging/),
      'Receiver instavote does not accept push events (events: ping): GitHub\'s pushes get 400',
      'source infra is in no Receiver\'s sources: pushes to https://github.com/org/infra wait for its polling interval',
      'clusters.staging.webhook: the Payload URL cannot be made: add webhook.address: the IP address or DNS name at which the Git host reaches a node',
      expect.stringMatching(/extra-secret\.yaml holds a plaintext Secret/),
      expect.stringMatching(/dist\/clusters\/staging\/ is not what the fleet file synthesizes \(.*apps\.yaml.*\): run npm run synth/),
    ]);
  });

  test('reports a Secret that should be encrypted and is not, or not for the right keys', async () => {
    const ws = workspace(fleetWith([
      [['clusters', 'staging', 'webhook', 'address'], '203.0.113.10'],
      [['clusters', 'staging', 'sops'], { ageRecipients: ['age1rcdf89j5etn82nxsp8v82ax8felj9vuhu4sqczet2nhmtssrhurqpglwf9'] }],
    ]));
    const { problems } = await doctor('staging', { ...ws, env: ENV });
    // One line, with the fix every missing-token message gives (the token is in ENV here).
    expect(problems).toEqual([
      expect.stringMatching(/webhook-token-secret\.sops\.yaml does not exist yet and there is no webhook token here to encrypt: run npm run synth, which uses the token this clone holds$/),
    ]);

    await synthesize({ ...ws, env: ENV });
    expect((await doctor('staging', { ...ws, env: ENV })).problems).toEqual([]);
    writeFile(ws.fleetFile, readFileSync(ws.fleetFile, 'utf8').replace(/age1\w+/, (await ageKeygen()).recipient));
    expect((await doctor('staging', { ...ws, env: ENV })).problems).toEqual([
      expect.stringMatching(/webhook-token-secret\.sops\.yaml must be re-encrypted \(its age recipients changed\), which needs a key that opens it now/),
    ]);
  });

  test('reports a cluster without receivers, and a broken fleet file as its problems', async () => {
    const ws = workspace(fleetWith([[['clusters', 'staging', 'receivers'], []], [['clusters', 'staging', 'webhook', 'address'], '203.0.113.10']]));
    await synthesize({ ...ws, env: {} });
    expect((await doctor('staging', { ...ws, env: {} })).problems).toEqual(['no Receiver: a push triggers nothing, every change waits for polling']);
    writeFile(ws.fleetFile, BASE_FLEET.replace('nodePort: 31234', 'nodePort: 99999'));
    expect((await doctor('staging', { ...ws })).problems).toEqual([expect.stringContaining('clusters.staging.webhook.nodePort: 99999 is outside 30000-32767')]);
  });
});
