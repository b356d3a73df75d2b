// `webhook doctor --online`: each source's repository and ref, read with git ls-remote from a real
// Git server (loopback HTTPS, a test CA the user's git trusts through GIT_SSL_CAINFO), or through
// the host's API (stand-ins on loopback, answered to the real clients) where its token is set.
import { IncomingMessage } from 'node:http';
import { run } from '../tools/webhook';
import { doctor } from '../tools/webhook/doctor';
import { closest } from '../tools/webhook/source-refs';
import { testCa } from './support/certificates';
import { PROCESS_TEST_TIMEOUT } from './support/cli';
import { listen } from './support/servers';
import { TOKEN } from './support/synth';
import { workspace } from './support/tree';
import { GitServer } from './e2e/git-server';
import { startTrustedGit, TrustedGit } from './support/trusted-git';
import { git, Repository } from './e2e/support';

const ENV = { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN };
/** The token variable of the stand-ins' API host, 127.0.0.1. */
const LOOPBACK_TOKEN = 'FLUX_INFRA_TOKEN_127_0_0_1';

/** A fleet of one cluster whose sources are these lines (YAML flow mappings), each with a Receiver of its own; `top` before clusters. */
function fleet(sources: string[], top = ''): string {
  const names = sources.map((source) => /name: ([^,]+),/.exec(source)![1]);
  return `${top}clusters:
  staging:
    webhook: {nodePort: 31234, address: 203.0.113.10}
    sources:
${sources.map((source) => `      - ${source}`).join('\n')}
    receivers:
${names.map((name) => `      - {name: ${name}, sources: [${name}]}`).join('\n')}
`;
}

/** Only the online check's lines: the rest of doctor's report (dist/ not synthesized here) is not this test's. */
const online = (problems: string[]) => problems.filter((line) => /^(source |the fleet repository)/.test(line));

describe('with git ls-remote, where no host token is set', () => {
  let trusted: TrustedGit;
  let server: GitServer;
  let repository: Repository;
  let gitEnv: NodeJS.ProcessEnv;
  beforeAll(async () => {
    trusted = await startTrustedGit(await testCa('git test CA'), 'app.git', ENV);
    ({ server, repository, gitEnv } = trusted);
    repository.commit({ 'README.md': 'app\n' }, 'first');
    repository.commit({ 'README.md': 'dev\n' }, 'develop', 'develop');
    // A lightweight tag and an annotated one (listed peeled too).
    git(repository.work, ['tag', 'v1.2.0']);
    git(repository.work, ['tag', '-a', '-m', 'release', 'v1.3.0']);
    git(repository.work, ['push', '--quiet', 'origin', '--tags']);
  }, PROCESS_TEST_TIMEOUT);
  afterAll(() => trusted?.close());

  test('a misspelt branch, a missing tag, an empty semver range and a missing repository: one line each, naming the fix; exit 1', async () => {
    const url = repository.url;
    const ws = workspace(fleet([
      `{name: typo, url: "${url}", branch: mian}`,
      `{name: main, url: "${url}", branch: main}`,
      `{name: tagged, url: "${url}", tag: v1.3.0}`,
      `{name: no-tag, url: "${url}", tag: v9.9.9}`,
      `{name: range, url: "${url}", semver: "~1.2"}`,
      `{name: no-range, url: "${url}", semver: ">=2.0.0"}`,
      `{name: pinned, url: "${url}", commit: "${'c'.repeat(40)}"}`,
      `{name: gone, url: "${server.url}/nothing", branch: main}`,
    ], `repository: {url: "${url}", branch: production}\n`));
    const report = await doctor('staging', { ...ws, env: gitEnv, online: true });
    expect(online(report.problems)).toEqual([
      `source typo: branch mian is not on ${url}: the branches there include main, develop; fix its branch in the fleet file, or pushes reconcile nothing`,
      `source no-tag: tag v9.9.9 is not on ${url}: the tags there include v1.2.0, v1.3.0; fix its tag in the fleet file`,
      `source no-range: no tag on ${url} is in the semver range ">=2.0.0": the semver tags there include v1.2.0, v1.3.0; fix its semver in the fleet file, or push such a tag`,
      `source gone: cannot list the refs of ${server.url}/nothing: git ls-remote ${server.url}/nothing failed: fatal: repository '${server.url}/nothing/' not found`,
      `the fleet repository: branch production is not on ${url}: the branches there include develop, main; fix its branch in the fleet file, or pushes reconcile nothing`,
    ]);
    // Offline, doctor stays as it was: no host is asked.
    const requests = server.requests.length;
    expect(online((await doctor('staging', { ...ws, env: gitEnv })).problems)).toEqual([]);
    expect(server.requests.length).toBe(requests);
  }, PROCESS_TEST_TIMEOUT);

  test('the command exits 1 with a problem line each, and 0 with none of its own for refs that resolve', async () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const saved = { ...process.env };
    try {
      const bad = workspace(fleet([`{name: typo, url: "${repository.url}", branch: mian}`]));
      process.env = { ...gitEnv, FLUX_INFRA_FLEET: bad.fleetFile, FLUX_INFRA_DIST: bad.distDir, FLUX_INFRA_SECRETS: bad.secretsDir };
      expect(await run(['doctor', 'staging', '--online', '--timeout', '30'])).toBe(1);
      expect(log.mock.calls.at(-1)![0]).toContain(`problem: source typo: branch mian is not on ${repository.url}: the branches there include main, develop`);
      const good = workspace(fleet([`{name: app, url: "${repository.url}", branch: develop}`]));
      process.env = { ...gitEnv, FLUX_INFRA_FLEET: good.fleetFile, FLUX_INFRA_DIST: good.distDir, FLUX_INFRA_SECRETS: good.secretsDir };
      await run(['doctor', 'staging', '--online']);
      expect(log.mock.calls.at(-1)![0]).not.toMatch(/source app/);
    } finally {
      process.env = saved;
      log.mockRestore();
    }
  }, PROCESS_TEST_TIMEOUT);
});

describe('through the host\'s API, where its token variable is set', () => {
  interface Recorded { url: string; authorization?: string; privateToken?: string }

  /** A loopback API that answers `lists` (path -> names) a page at a time, as `paging` says, and records each request. */
  async function api(lists: Record<string, string[]>, paging: (path: string, params: URLSearchParams, names: string[], origin: string) => { body: unknown; headers?: Record<string, string> }) {
    const requests: Recorded[] = [];
    let origin = '';
    const server = await listen((request: IncomingMessage, response) => {
      const [path, query] = request.url!.split('?');
      requests.push({ url: request.url!, authorization: request.headers.authorization, privateToken: request.headers['private-token'] as string | undefined });
      const names = lists[path];
      if (names === undefined) {
        response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Not Found' }));
        return;
      }
      const { body, headers } = paging(path, new URLSearchParams(query), names, origin);
      response.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    });
    origin = server.url;
    return { ...server, requests };
  }

  const many = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => `${prefix}${index}`);

  test('GitHub (Octokit): branches and tags over Link pages, the API host\'s token only; a 404 is the repository', async () => {
    // 150 branches: two pages of 100, the second linked from the first.
    const branches = ['main', ...many('feature-', 149)];
    const github = await api({ '/repos/org/app/branches': branches, '/repos/org/app/tags': ['v1.0.0'] }, (path, params, names, origin) => {
      const page = Number(params.get('page') ?? 1);
      const perPage = Number(params.get('per_page') ?? 30);
      const more = page * perPage < names.length ? { link: `<${origin}${path}?per_page=${perPage}&page=${page + 1}>; rel="next"` } : undefined;
      return { body: names.slice((page - 1) * perPage, page * perPage).map((name) => ({ name, commit: { sha: 'a'.repeat(40) } })), headers: more };
    });
    try {
      const ws = workspace(fleet([
        `{name: typo, url: "https://github.com/org/app", branch: mian, apiUrl: "${github.url}"}`,
        `{name: late, url: "https://github.com/org/app", branch: feature-140, apiUrl: "${github.url}"}`,
        `{name: semver, url: "https://github.com/org/app", semver: "^1", apiUrl: "${github.url}"}`,
        `{name: gone, url: "https://github.com/org/gone", branch: main, apiUrl: "${github.url}"}`,
      ]));
      const env = { ...ENV, [LOOPBACK_TOKEN]: 'ghp-loopback', GITHUB_TOKEN: 'not-for-this-host' };
      const report = await doctor('staging', { ...ws, env, online: true });
      expect(online(report.problems)).toEqual([
        'source typo: branch mian is not on https://github.com/org/app: the branches there include main, feature-0, feature-1, feature-2, feature-3; fix its branch in the fleet file, or pushes reconcile nothing',
        'source gone: cannot list the refs of https://github.com/org/gone: GitHub answered 404 for org/gone: it does not exist for this token, or the token lacks the rights (read access to the repository\'s contents)',
      ]);
      expect(github.requests.some(({ url }) => url.includes('page=2'))).toBe(true);
      expect(new Set(github.requests.map(({ authorization }) => authorization))).toEqual(new Set(['token ghp-loopback']));
    } finally {
      await github.close();
    }
  });

  test('GitLab (gitbeaker), Gitea (gitea-js) and Bitbucket Cloud: each host\'s pages, each with its token header', async () => {
    const gitlab = await api({ '/api/v4/projects/group%2Fapp/repository/branches': ['main', 'develop'], '/api/v4/projects/group%2Fapp/repository/tags': ['v2.0.0'] }, (_path, params, names) => {
      const page = Number(params.get('page') ?? 1);
      const perPage = Number(params.get('per_page') ?? 20);
      const pages = Math.max(1, Math.ceil(names.length / perPage));
      return { body: names.slice((page - 1) * perPage, page * perPage).map((name) => ({ name })), headers: { 'x-page': String(page), 'x-per-page': String(perPage), 'x-total': String(names.length), 'x-total-pages': String(pages), ...(page < pages ? { 'x-next-page': String(page + 1) } : {}) } };
    });
    const gitea = await api({ '/api/v1/repos/org/app/branches': many('b', 60), '/api/v1/repos/org/app/tags': [] }, (_path, params, names) => {
      const page = Number(params.get('page') ?? 1);
      const limit = Math.min(Number(params.get('limit') ?? 50), 50);
      return { body: names.slice((page - 1) * limit, page * limit).map((name) => ({ name })), headers: { 'x-total-count': String(names.length) } };
    });
    const bitbucket = await api({ '/2.0/repositories/ws/app/refs/branches': ['master'], '/2.0/repositories/ws/app/refs/tags': ['v1.0.0'] }, (path, params, names, origin) => {
      const page = Number(params.get('page') ?? 1);
      const values = names.slice((page - 1) * 1, page).map((name) => ({ name, type: 'branch' }));
      return { body: { values, page, ...(page < names.length ? { next: `${origin}${path}?page=${page + 1}` } : {}) } };
    });
    try {
      const ws = workspace(fleet([
        `{name: on-gitlab, url: "https://gitlab.com/group/app", branch: mian, apiUrl: "${gitlab.url}/api/v4"}`,
        `{name: gitlab-tag, url: "https://gitlab.com/group/app", tag: v2.0.0, apiUrl: "${gitlab.url}/api/v4"}`,
        `{name: on-gitea, url: "https://git.example.org/org/app", host: gitea, branch: b59, apiUrl: "${gitea.url}/api/v1"}`,
        `{name: gitea-tag, url: "https://git.example.org/org/app", host: gitea, tag: v1.0.0, apiUrl: "${gitea.url}/api/v1"}`,
        `{name: on-bitbucket, url: "https://bitbucket.org/ws/app", branch: main, apiUrl: "${bitbucket.url}/2.0"}`,
      ]));
      const report = await doctor('staging', { ...ws, env: { ...ENV, [LOOPBACK_TOKEN]: 'loopback-token' }, online: true });
      expect(online(report.problems)).toEqual([
        'source on-gitlab: branch mian is not on https://gitlab.com/group/app: the branches there include main, develop; fix its branch in the fleet file, or pushes reconcile nothing',
        'source gitea-tag: tag v1.0.0 is not on https://git.example.org/org/app: there are no tags there; fix its tag in the fleet file',
        'source on-bitbucket: branch main is not on https://bitbucket.org/ws/app: the branches there include master; fix its branch in the fleet file, or pushes reconcile nothing',
      ]);
      // b59 is on Gitea's second page.
      expect(gitea.requests.some(({ url }) => url.includes('page=2'))).toBe(true);
      expect(gitlab.requests.every(({ privateToken }) => privateToken === 'loopback-token')).toBe(true);
      expect(gitea.requests.every(({ authorization }) => authorization === 'Bearer loopback-token')).toBe(true);
      expect(bitbucket.requests.every(({ authorization }) => authorization === 'Bearer loopback-token')).toBe(true);
    } finally {
      await Promise.all([gitlab.close(), gitea.close(), bitbucket.close()]);
    }
  });
});

test('a misspelt ref is shown the names closest to it first', () => {
  expect(closest('mian', ['release', 'develop', 'main', 'maint'], 2)).toEqual(['main', 'maint']);
});
