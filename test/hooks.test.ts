// `webhook hook` against stand-ins for GitLab's, Gitea's (and Forgejo's) and Bitbucket Cloud's REST
// APIs, on loopback only: each implements the few calls the hook clients make, in the shapes the
// real APIs answer, and records what it was sent.
import { createHash } from 'node:crypto';
import { parseDocument } from 'yaml';
import { HookChange, MASK, syncHooks } from '../tools/webhook/hook';
import { PROCESS_TEST_TIMEOUT, startScript } from './support/cli';
import { BASE_FLEET } from './support/fleet';
import { Recorded, standIn } from './support/servers';
import { TOKEN } from './support/synth';
import { workspace, Workspace } from './support/tree';

const ENV = { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN };
/** The token variable of the stand-ins' API host, 127.0.0.1: each API host has its own (GITLAB_TOKEN is gitlab.com's only). */
const LOOPBACK_TOKEN = 'FLUX_INFRA_TOKEN_127_0_0_1';

/** The Payload URL of Receiver `receiver` of staging (namespace flux-system), computed here with node:crypto. */
function payloadUrl(receiver: string): string {
  return `http://203.0.113.10:31234/hook/${createHash('sha256').update(`${TOKEN}${receiver}flux-system`).digest('hex')}`;
}

/** BASE_FLEET with the cluster's address set and its one source (instavote) at `url`, with `extra` fields. */
function fleetWithSource(url: string, extra: Record<string, string> = {}): Workspace {
  const document = parseDocument(BASE_FLEET);
  document.setIn(['clusters', 'staging', 'webhook', 'address'], '203.0.113.10');
  document.setIn(['clusters', 'staging', 'sources', 0, 'url'], url);
  for (const [key, value] of Object.entries(extra)) document.setIn(['clusters', 'staging', 'sources', 0, key], value);
  return workspace(document.toString());
}

/** GitLab's project hooks API (GET/POST /api/v4/projects/:id/hooks, PUT …/hooks/:hook_id), :id the URL-encoded path. */
async function fakeGitlab(hooks: Record<string, unknown>[] = []) {
  const base = '/api/v4/projects/group%2Fsub%2Fproject/hooks';
  let origin = '';
  const api = await standIn((request, send) => {
    const [path, query] = request.url.split('?');
    if (request.method === 'GET' && path === base) {
      // Offset pagination as GitLab does it: page and per_page (default 20), a Link to the next page.
      const params = new URLSearchParams(query);
      const page = Number(params.get('page') ?? 1);
      const perPage = Number(params.get('per_page') ?? 20);
      const pages = Math.max(1, Math.ceil(hooks.length / perPage));
      const next: Record<string, string> = page < pages ? { link: `<${origin}${base}?page=${page + 1}&per_page=${perPage}>; rel="next"`, 'x-next-page': String(page + 1) } : {};
      return send(200, hooks.slice((page - 1) * perPage, page * perPage), { 'x-total': String(hooks.length), 'x-page': String(page), 'x-per-page': String(perPage), 'x-total-pages': String(pages), ...next });
    }
    if (request.method === 'POST' && path === base) {
      const hook = { id: 500 + hooks.length, project_id: 42, created_at: '2024-01-01T00:00:00Z', ...request.body };
      // GitLab never echoes the secret token.
      delete hook.token;
      hooks.push(hook);
      return send(201, hook);
    }
    const update = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(\\d+)$`).exec(path);
    const hook = update && hooks.find((candidate) => candidate.id === Number(update[1]));
    if (request.method === 'PUT' && hook) {
      Object.assign(hook, request.body);
      delete hook.token;
      return send(200, hook);
    }
    return undefined;
  });
  origin = api.url;
  return { ...api, hooks, apiUrl: `${api.url}/api/v4` };
}

/** Gitea's (and Forgejo's) repository hooks API: GET/POST /api/v1/repos/org/app/hooks, PATCH …/hooks/:id. */
type GiteaHook = { id: number; type: string; active: boolean; events: string[]; config: Record<string, string> };
async function fakeGitea(hooks: GiteaHook[] = [], maxResponseItems = 50) {
  const base = '/api/v1/repos/org/app/hooks';
  const api = await standIn((request, send) => {
    const [path, query] = request.url.split('?');
    if (request.method === 'GET' && path === base) {
      // page and limit, as Gitea pages (limit capped at 50, its default MAX_RESPONSE_ITEMS).
      const params = new URLSearchParams(query);
      const page = Number(params.get('page') ?? 1);
      const limit = Math.min(Number(params.get('limit') ?? 50), maxResponseItems);
      return send(200, hooks.slice((page - 1) * limit, page * limit), { 'x-total-count': String(hooks.length) });
    }
    if (request.method === 'POST' && path === base) {
      // Gitea answers the config without the secret.
      const { secret: _secret, ...config } = request.body.config;
      const hook = { id: 1 + hooks.length, type: request.body.type, active: request.body.active, events: request.body.events, config };
      hooks.push(hook);
      return send(201, hook);
    }
    const update = /^\/api\/v1\/repos\/org\/app\/hooks\/(\d+)$/.exec(path);
    const hook = update && hooks.find((candidate) => candidate.id === Number(update[1]));
    if (request.method === 'PATCH' && hook) {
      const { secret: _secret, ...config } = request.body.config;
      Object.assign(hook, { active: request.body.active, events: request.body.events, config });
      return send(200, hook);
    }
    return undefined;
  });
  return { ...api, hooks, apiUrl: `${api.url}/api/v1` };
}

/** Bitbucket Cloud's repository webhooks API (REST 2.0): GET/POST /2.0/repositories/ws/repo/hooks, PUT …/hooks/{uuid}. */
type BitbucketHook = { uuid: string; url: string; description: string; active: boolean; events: string[] };
async function fakeBitbucket(hooks: BitbucketHook[] = []) {
  const base = '/2.0/repositories/ws/repo/hooks';
  let origin = '';
  const api = await standIn((request, send) => {
    const [path, query] = request.url.split('?');
    if (request.method === 'GET' && path === base) {
      // A page of values, with the absolute URL of the next page while there is one.
      const params = new URLSearchParams(query);
      const page = Number(params.get('page') ?? 1);
      const pagelen = Math.min(Number(params.get('pagelen') ?? 10), 100);
      const values = hooks.slice((page - 1) * pagelen, page * pagelen);
      const next = page * pagelen < hooks.length ? { next: `${origin}${base}?pagelen=${pagelen}&page=${page + 1}` } : {};
      return send(200, { pagelen, size: hooks.length, page, values, ...next });
    }
    if (request.method === 'POST' && path === base) {
      const hook = { uuid: `{${String(hooks.length).padStart(8, '0')}-aaaa-4bbb-8ccc-dddddddddddd}`, url: request.body.url, description: request.body.description, active: request.body.active, events: request.body.events, secret_set: true };
      hooks.push(hook);
      return send(201, hook);
    }
    const update = /^\/2\.0\/repositories\/ws\/repo\/hooks\/([^/]+)$/.exec(path);
    const hook = update && hooks.find((candidate) => candidate.uuid === decodeURIComponent(update[1]));
    if (request.method === 'PUT' && hook) {
      Object.assign(hook, { url: request.body.url, description: request.body.description, active: request.body.active, events: request.body.events });
      return send(200, hook);
    }
    return undefined;
  });
  origin = api.url;
  return { ...api, hooks, apiUrl: `${api.url}/2.0` };
}

const GITLAB_URL = 'https://gitlab.com/group/sub/project';

describe('gitlab', () => {
  const options = (apiUrl: string) => ({ ...fleetWithSource(GITLAB_URL), env: { ...ENV, [LOOPBACK_TOKEN]: 'glpat-test' }, apiUrl });

  test('creates the project hook of a nested group once, then updates it in place', async () => {
    const gitlab = await fakeGitlab();
    try {
      const ws = options(gitlab.apiUrl);
      const [created] = await syncHooks('staging', ws);
      expect(created).toMatchObject({ host: 'GitLab', repository: 'group/sub/project', receiver: 'instavote', action: 'create', hookId: '500' });
      const post = gitlab.requests.find((request) => request.method === 'POST')!;
      expect(post.url).toBe('/api/v4/projects/group%2Fsub%2Fproject/hooks');
      expect(post.headers['private-token']).toBe('glpat-test');
      expect(post.body).toMatchObject({ url: payloadUrl('instavote'), token: TOKEN, push_events: true, tag_push_events: true, enable_ssl_verification: true });
      expect(gitlab.requests.filter((request) => request.method === 'GET').every((request) => request.headers['private-token'] === 'glpat-test')).toBe(true);

      const [updated] = await syncHooks('staging', ws);
      expect(updated).toMatchObject({ action: 'update', reason: 'same URL', hookId: '500' });
      const put = gitlab.requests.find((request) => request.method === 'PUT')!;
      expect(put.url).toBe('/api/v4/projects/group%2Fsub%2Fproject/hooks/500');
      expect(put.headers['private-token']).toBe('glpat-test');
      expect(put.body).toMatchObject({ url: payloadUrl('instavote'), token: TOKEN, push_events: true, tag_push_events: true, enable_ssl_verification: true });
      expect(gitlab.requests.filter((request) => request.method === 'POST')).toHaveLength(1);
      expect(gitlab.hooks).toHaveLength(1);
      expect(gitlab.hooks[0]).toMatchObject({ id: 500, url: payloadUrl('instavote') });
    } finally {
      await gitlab.close();
    }
  });

  test('explains a 401 in one line', async () => {
    const gitlab = await standIn((_request, send) => send(401, { message: '401 Unauthorized' }));
    try {
      await expect(syncHooks('staging', options(`${gitlab.url}/api/v4`))).rejects.toThrow(/^GitLab refused the token \(401\): FLUX_INFRA_TOKEN_127_0_0_1 is missing, wrong or expired$/);
      expect(gitlab.requests).toHaveLength(1);
    } finally {
      await gitlab.close();
    }
  });

  test('follows no redirect: the token and the secret never reach the other server', async () => {
    const elsewhere: Recorded[] = [];
    const other = await standIn((request, send) => {
      elsewhere.push(request);
      send(201, request.method === 'GET' ? [] : { id: 1, url: 'x' });
    });
    // One answers the list with a redirect; the other lists no hook, then redirects the POST (which carries the secret).
    const redirectList = await standIn((request, send) => send(307, {}, { location: `${other.url}${request.url}` }));
    const redirectCreate = await standIn((request, send) => (request.method === 'GET'
      ? send(200, [])
      : send(307, {}, { location: `${other.url}${request.url}` })));
    try {
      await expect(syncHooks('staging', options(`${redirectList.url}/api/v4`))).rejects.toThrow(/^GitLab API call for group\/sub\/project stopped: http:\/\/127\.0\.0\.1:\d+ answered 307 redirecting to http:\/\/127\.0\.0\.1:\d+, which is not followed/);
      await expect(syncHooks('staging', options(`${redirectCreate.url}/api/v4`))).rejects.toThrow(/^GitLab API call for group\/sub\/project stopped: http:\/\/127\.0\.0\.1:\d+ answered 307 redirecting to http:\/\/127\.0\.0\.1:\d+, which is not followed/);
      expect(redirectCreate.requests.map((request) => request.method)).toEqual(['GET', 'POST']);
      expect(elsewhere).toEqual([]);
    } finally {
      await Promise.all([other, redirectList, redirectCreate].map((server) => server.close()));
    }
  });

  test('says what GitLab refused, field by field, when its message is a mapping', async () => {
    const blocked = await standIn((request, send) => (request.method === 'GET'
      ? send(200, [])
      : send(422, { message: { url: ['is blocked: Requests to the local network are not allowed'] } })));
    try {
      await expect(syncHooks('staging', options(`${blocked.url}/api/v4`))).rejects.toThrow(/^GitLab refused the request for group\/sub\/project \(422\): url is blocked: Requests to the local network are not allowed$/);
    } finally {
      await blocked.close();
    }
  });

  test('refuses a list of hooks that is not a list', async () => {
    const odd = await standIn((_request, send) => send(200, { message: 'hello' }));
    try {
      await expect(syncHooks('staging', options(`${odd.url}/api/v4`))).rejects.toThrow(/^GitLab's list of hooks of group\/sub\/project is not what its REST API returns/);
      expect(odd.requests.map((request) => request.method)).toEqual(['GET']);
    } finally {
      await odd.close();
    }
  });

  test('needs the API host\'s own token for a real run: GITLAB_TOKEN is gitlab.com\'s, not any GitLab\'s', async () => {
    const gitlab = await fakeGitlab();
    try {
      const run = syncHooks('staging', { ...fleetWithSource(GITLAB_URL), env: { ...ENV, GITLAB_TOKEN: 'glpat-gitlab-com' }, apiUrl: gitlab.apiUrl });
      await expect(run).rejects.toThrow(/^FLUX_INFRA_TOKEN_127_0_0_1 is not set: create a GitLab token \(Maintainer on the project, scope api\) for 127\.0\.0\.1 and export it$/);
      expect(gitlab.requests).toEqual([]);
      const [created] = await syncHooks('staging', { ...fleetWithSource(GITLAB_URL), env: { ...ENV, GITLAB_TOKEN: 'glpat-gitlab-com', [LOOPBACK_TOKEN]: 'glpat-env' }, apiUrl: gitlab.apiUrl });
      expect(created).toMatchObject({ action: 'create', hookId: '500' });
      expect(gitlab.requests.every((request) => request.headers['private-token'] === 'glpat-env')).toBe(true);
      expect(gitlab.requests.map((request) => request.method)).toEqual(['GET', 'POST']);
    } finally {
      await gitlab.close();
    }
  });
});

describe('gitea and forgejo', () => {
  test('Gitea: creates the repository hook once, then updates it in place', async () => {
    const gitea = await fakeGitea();
    try {
      const ws = { ...fleetWithSource('https://gitea.com/org/app'), env: { ...ENV, [LOOPBACK_TOKEN]: 'gitea-test' }, apiUrl: gitea.apiUrl };
      const [created] = await syncHooks('staging', ws);
      expect(created).toMatchObject({ host: 'Gitea', repository: 'org/app', receiver: 'instavote', action: 'create', hookId: '1' });
      const post = gitea.requests.find((request) => request.method === 'POST')!;
      expect(post.url).toBe('/api/v1/repos/org/app/hooks');
      // gitea-js sends the token as a bearer token (Gitea takes `token <t>` and `Bearer <t>` alike).
      expect(post.headers.authorization).toBe('Bearer gitea-test');
      expect(post.body).toEqual({ type: 'gitea', active: true, events: ['push'], config: { url: payloadUrl('instavote'), content_type: 'json', secret: TOKEN } });
      expect(gitea.requests.find((request) => request.method === 'GET')!.headers.authorization).toBe('Bearer gitea-test');

      const [updated] = await syncHooks('staging', ws);
      expect(updated).toMatchObject({ action: 'update', reason: 'same URL', hookId: '1' });
      const patch = gitea.requests.find((request) => request.method === 'PATCH')!;
      expect(patch.url).toBe('/api/v1/repos/org/app/hooks/1');
      expect(patch.headers.authorization).toBe('Bearer gitea-test');
      expect(patch.body).toEqual({ active: true, events: ['push'], config: { url: payloadUrl('instavote'), content_type: 'json', secret: TOKEN } });
      expect(gitea.requests.filter((request) => request.method === 'POST')).toHaveLength(1);
      expect(gitea.hooks).toHaveLength(1);
      expect(gitea.hooks[0].config.url).toBe(payloadUrl('instavote'));
    } finally {
      await gitea.close();
    }
  });

  test('Forgejo: a self-hosted source\'s apiUrl from the fleet file, no --api-url', async () => {
    const forgejo = await fakeGitea();
    try {
      // A .invalid host: were the fleet's apiUrl ignored, the default https://<host>/api/v1 could not be reached.
      const ws = { ...fleetWithSource('https://git.example.invalid/org/app', { host: 'forgejo', apiUrl: forgejo.apiUrl }), env: { ...ENV, [LOOPBACK_TOKEN]: 'forgejo-test' } };
      const [created] = await syncHooks('staging', ws);
      expect(created).toMatchObject({ host: 'Forgejo', repository: 'org/app', action: 'create', hookId: '1' });
      const [updated] = await syncHooks('staging', ws);
      expect(updated).toMatchObject({ host: 'Forgejo', action: 'update', hookId: '1' });
      expect(forgejo.requests.map((request) => request.method)).toEqual(['GET', 'POST', 'GET', 'PATCH']);
      expect(forgejo.requests.every((request) => request.headers.authorization === 'Bearer forgejo-test')).toBe(true);
      expect(forgejo.requests[1].body.config).toEqual({ url: payloadUrl('instavote'), content_type: 'json', secret: TOKEN });
      expect(forgejo.hooks).toHaveLength(1);
    } finally {
      await forgejo.close();
    }
  });
});

describe('bitbucket', () => {
  test('creates the repository webhook once, then updates it in place by its uuid', async () => {
    const bitbucket = await fakeBitbucket();
    try {
      const ws = { ...fleetWithSource('https://bitbucket.org/ws/repo'), env: { ...ENV, [LOOPBACK_TOKEN]: 'bb-test' }, apiUrl: bitbucket.apiUrl };
      const [created] = await syncHooks('staging', ws);
      expect(created).toMatchObject({ host: 'Bitbucket', repository: 'ws/repo', receiver: 'instavote', action: 'create', hookId: '{00000000-aaaa-4bbb-8ccc-dddddddddddd}' });
      const post = bitbucket.requests.find((request) => request.method === 'POST')!;
      expect(post.url).toBe('/2.0/repositories/ws/repo/hooks');
      expect(post.headers.authorization).toBe('Bearer bb-test');
      expect(post.body).toMatchObject({ url: payloadUrl('instavote'), active: true, events: ['repo:push'], secret: TOKEN });
      expect(bitbucket.requests.find((request) => request.method === 'GET')!.headers.authorization).toBe('Bearer bb-test');

      const [updated] = await syncHooks('staging', ws);
      expect(updated).toMatchObject({ action: 'update', reason: 'same URL', hookId: '{00000000-aaaa-4bbb-8ccc-dddddddddddd}' });
      const put = bitbucket.requests.find((request) => request.method === 'PUT')!;
      expect(decodeURIComponent(put.url)).toBe('/2.0/repositories/ws/repo/hooks/{00000000-aaaa-4bbb-8ccc-dddddddddddd}');
      expect(put.headers.authorization).toBe('Bearer bb-test');
      expect(put.body).toMatchObject({ url: payloadUrl('instavote'), active: true, events: ['repo:push'], secret: TOKEN });
      expect(bitbucket.requests.filter((request) => request.method === 'POST')).toHaveLength(1);
      expect(bitbucket.hooks).toHaveLength(1);
    } finally {
      await bitbucket.close();
    }
  });
});

describe('errors on the other hosts', () => {
  test.each([
    ['Gitea', 'https://gitea.com/org/app', '/api/v1', 'gitea-test', { message: 'user does not exist [uid: 0, name: ]', url: 'https://gitea.com/api/swagger' }, /^Gitea refused the token \(401\): FLUX_INFRA_TOKEN_127_0_0_1 is missing, wrong or expired$/],
    ['Bitbucket', 'https://bitbucket.org/ws/repo', '/2.0', 'bb-test', { type: 'error', error: { message: 'Access token expired.' } }, /^Bitbucket refused the token \(401\): FLUX_INFRA_TOKEN_127_0_0_1 is missing, wrong or expired$/],
  ])('%s: a 401 in one line', async (_host, url, root, apiToken, body, message) => {
    const api = await standIn((_request, send) => send(401, body));
    try {
      await expect(syncHooks('staging', { ...fleetWithSource(url), env: { ...ENV, [LOOPBACK_TOKEN]: apiToken }, apiUrl: `${api.url}${root}` })).rejects.toThrow(message);
      expect(api.requests.map((request) => request.method)).toEqual(['GET']);
    } finally {
      await api.close();
    }
  });

  test('Bitbucket: a next page on another origin is not fetched, and nothing is created', async () => {
    const elsewhere = await standIn((_request, send) => send(200, { values: [] }));
    const api = await standIn((request, send) => send(200, { pagelen: 100, values: [], next: `${elsewhere.url}${request.url}&page=2` }));
    try {
      await expect(syncHooks('staging', { ...fleetWithSource('https://bitbucket.org/ws/repo'), env: { ...ENV, [LOOPBACK_TOKEN]: 'bb-test' }, apiUrl: `${api.url}/2.0` }))
        .rejects.toThrow(`Bitbucket API call for ws/repo stopped: refused to send a request to ${elsewhere.url}, which is not the API's origin`);
      expect(elsewhere.requests).toEqual([]);
      expect(api.requests.map((request) => request.method)).toEqual(['GET']);
    } finally {
      await Promise.all([api.close(), elsewhere.close()]);
    }
  });
});

describe('pagination', () => {
  const foreign = (index: number) => `http://198.51.100.${index % 250}:31234/hook/${String(index).padStart(64, '0')}`;

  test('GitLab: the hook on the second page is updated, not duplicated', async () => {
    const hooks: Record<string, unknown>[] = Array.from({ length: 100 }, (_, index) => ({ id: index + 1, url: foreign(index), push_events: true }));
    hooks.push({ id: 101, url: payloadUrl('instavote'), push_events: true });
    const gitlab = await fakeGitlab(hooks);
    try {
      const [change] = await syncHooks('staging', { ...fleetWithSource(GITLAB_URL), env: { ...ENV, [LOOPBACK_TOKEN]: 'glpat-test' }, apiUrl: gitlab.apiUrl });
      expect(change).toMatchObject({ action: 'update', hookId: '101' });
      expect(gitlab.requests.map((request) => `${request.method} ${request.url}`)).toEqual([
        'GET /api/v4/projects/group%2Fsub%2Fproject/hooks?per_page=100',
        'GET /api/v4/projects/group%2Fsub%2Fproject/hooks?page=2&per_page=100',
        'PUT /api/v4/projects/group%2Fsub%2Fproject/hooks/101',
      ]);
      expect(gitlab.hooks).toHaveLength(101);
    } finally {
      await gitlab.close();
    }
  });

  test('Gitea: the hook on the second page is updated, not duplicated', async () => {
    const hooks: GiteaHook[] = Array.from({ length: 50 }, (_, index) => ({ id: 1000 + index, type: 'gitea', active: true, events: ['push'], config: { url: foreign(index), content_type: 'json' } }));
    hooks.push({ id: 2000, type: 'gitea', active: true, events: ['push'], config: { url: payloadUrl('instavote'), content_type: 'json' } });
    const gitea = await fakeGitea(hooks);
    try {
      const [change] = await syncHooks('staging', { ...fleetWithSource('https://gitea.com/org/app'), env: { ...ENV, [LOOPBACK_TOKEN]: 'gitea-test' }, apiUrl: gitea.apiUrl });
      expect(change).toMatchObject({ action: 'update', hookId: '2000' });
      expect(gitea.requests.map((request) => `${request.method} ${request.url}`)).toEqual([
        'GET /api/v1/repos/org/app/hooks?page=1&limit=50',
        'GET /api/v1/repos/org/app/hooks?page=2&limit=50',
        'PATCH /api/v1/repos/org/app/hooks/2000',
      ]);
      expect(gitea.hooks).toHaveLength(51);
    } finally {
      await gitea.close();
    }
  });

  test('Gitea: an instance that caps pages below 50 is paged to its reported total, not stopped at the first short page', async () => {
    const hooks: GiteaHook[] = Array.from({ length: 12 }, (_, index) => ({ id: 1000 + index, type: 'gitea', active: true, events: ['push'], config: { url: foreign(index), content_type: 'json' } }));
    hooks.push({ id: 2000, type: 'gitea', active: true, events: ['push'], config: { url: payloadUrl('instavote'), content_type: 'json' } });
    const gitea = await fakeGitea(hooks, 10);
    try {
      const [change] = await syncHooks('staging', { ...fleetWithSource('https://gitea.com/org/app'), env: { ...ENV, [LOOPBACK_TOKEN]: 'gitea-test' }, apiUrl: gitea.apiUrl });
      expect(change).toMatchObject({ action: 'update', hookId: '2000' });
      expect(gitea.hooks).toHaveLength(13);
    } finally {
      await gitea.close();
    }
  });

  test('Bitbucket: the hook on the second page is updated, not duplicated', async () => {
    const hooks: BitbucketHook[] = Array.from({ length: 100 }, (_, index) => ({ uuid: `{ffffffff-0000-4000-8000-${String(index).padStart(12, '0')}}`, url: foreign(index), description: 'other', active: true, events: ['repo:push'] }));
    hooks.push({ uuid: '{eeeeeeee-0000-4000-8000-000000000000}', url: payloadUrl('instavote'), description: 'Flux Receiver (flux-infra)', active: true, events: ['repo:push'] });
    const bitbucket = await fakeBitbucket(hooks);
    try {
      const [change] = await syncHooks('staging', { ...fleetWithSource('https://bitbucket.org/ws/repo'), env: { ...ENV, [LOOPBACK_TOKEN]: 'bb-test' }, apiUrl: bitbucket.apiUrl });
      expect(change).toMatchObject({ action: 'update', hookId: '{eeeeeeee-0000-4000-8000-000000000000}' });
      expect(bitbucket.requests.map((request) => `${request.method} ${request.url}`)).toEqual([
        'GET /2.0/repositories/ws/repo/hooks?pagelen=100',
        'GET /2.0/repositories/ws/repo/hooks?pagelen=100&page=2',
        'PUT /2.0/repositories/ws/repo/hooks/%7Beeeeeeee-0000-4000-8000-000000000000%7D',
      ]);
      expect(bitbucket.requests.every((request) => request.headers.authorization === 'Bearer bb-test')).toBe(true);
      expect(bitbucket.hooks).toHaveLength(101);
    } finally {
      await bitbucket.close();
    }
  });
});

describe('--dry-run', () => {
  // Each source's API is a loopback recorder, so that a call a dry run without tokens must not make is seen, and goes nowhere else.
  const fourHosts = (api: string) => `clusters:
  staging:
    webhook:
      nodePort: 31234
      address: 203.0.113.10
    sources:
      - name: gh
        url: https://github.com/org/gh-repo
        apiUrl: ${api}/github
      - name: gl
        url: https://gitlab.com/group/sub/gl-repo
        apiUrl: ${api}/api/v4
      - name: gt
        url: https://gitea.com/org/gt-repo
        apiUrl: ${api}/api/v1
      - name: bb
        url: https://bitbucket.org/ws/bb-repo
        apiUrl: ${api}/2.0
    receivers:
      - name: gh
        sources: [gh]
      - name: gl
        sources: [gl]
      - name: gt
        sources: [gt]
      - name: bb
        sources: [bb]
`;

  test('plans each host\'s request with the secret masked, sending nothing and needing no host token', async () => {
    const api = await standIn((_request, send) => send(200, []));
    try {
      const changes = await syncHooks('staging', { ...workspace(fourHosts(api.url)), env: ENV, dryRun: true });
      expect(api.requests).toEqual([]);
      expect(JSON.stringify(changes)).not.toContain(TOKEN);
      expect(changes.map((change) => change.host).sort()).toEqual(['Bitbucket', 'GitHub', 'GitLab', 'Gitea']);
      const byHost = Object.fromEntries(changes.map((change) => [change.host, change])) as Record<string, HookChange>;
      expect(changes.every((change) => change.action === 'create' && change.hookId === undefined)).toBe(true);
      expect(byHost.GitHub).toMatchObject({ repository: 'org/gh-repo', receiver: 'gh', request: { method: 'POST', path: '/repos/org/gh-repo/hooks', body: { config: { url: payloadUrl('gh'), secret: MASK } } } });
      expect(byHost.GitLab).toMatchObject({ repository: 'group/sub/gl-repo', receiver: 'gl', request: { method: 'POST', path: '/projects/group%2Fsub%2Fgl-repo/hooks', body: { url: payloadUrl('gl'), token: MASK } } });
      expect(byHost.Gitea).toMatchObject({ repository: 'org/gt-repo', receiver: 'gt', request: { method: 'POST', path: '/repos/org/gt-repo/hooks', body: { type: 'gitea', config: { url: payloadUrl('gt'), secret: MASK } } } });
      expect(byHost.Bitbucket).toMatchObject({ repository: 'ws/bb-repo', receiver: 'bb', request: { method: 'POST', path: '/repositories/ws/bb-repo/hooks', body: { url: payloadUrl('bb'), events: ['repo:push'], secret: MASK } } });
    } finally {
      await api.close();
    }
  });

  test('--host gitlab, as a process: only the GitLab repository\'s hook is planned', async () => {
    const api = await standIn((_request, send) => send(200, []));
    try {
      const run = await startScript(workspace(fourHosts(api.url)), 'webhook', ['hook', 'staging', '--dry-run', '--host', 'gitlab'], ENV);
      expect(run.status).toBe(0);
      expect(run.stdout.match(/^would create the \w+ webhook of \S+:$/gim)?.map((line) => line.toLowerCase())).toEqual(['would create the gitlab webhook of group/sub/gl-repo:']);
      expect(api.requests).toEqual([]);
      const wrong = await startScript(workspace(fourHosts(api.url)), 'webhook', ['hook', 'staging', '--dry-run', '--host', 'gitlub'], ENV);
      expect(wrong.status).toBe(2);
    } finally {
      await api.close();
    }
  }, PROCESS_TEST_TIMEOUT);

  test('with the API host\'s token set, still calls no API: the token goes nowhere, each hook is planned as a create', async () => {
    const gitlab = await fakeGitlab();
    try {
      const options = { ...fleetWithSource(GITLAB_URL), env: { ...ENV, [LOOPBACK_TOKEN]: 'glpat-test' }, apiUrl: gitlab.apiUrl };
      await syncHooks('staging', options);
      const before = gitlab.requests.length;
      const [planned] = await syncHooks('staging', { ...options, dryRun: true });
      expect(planned).toMatchObject({ action: 'create', request: { method: 'POST', path: '/projects/group%2Fsub%2Fproject/hooks', body: { token: MASK } } });
      expect(JSON.stringify(planned)).not.toContain(TOKEN);
      expect(gitlab.requests.slice(before)).toEqual([]);
    } finally {
      await gitlab.close();
    }
  });
});
