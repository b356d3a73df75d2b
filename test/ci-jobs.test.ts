// The generated callers of a generic-oidc Receiver (tools/webhook/ci-jobs.ts): their shape, the
// linters (action-validator for GitHub, GitLab's CI schema), and their scripts run for real with
// bash / sh, curl and jq against loopback stand-ins for GitHub's token endpoint and the Receiver.
import { spawn, SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { CallerReceiver, CallerSource, callerFiles } from '../tools/webhook/ci-jobs';
import { actionValidator } from './support/action-validator';
import { testWith } from './support/external-tools';
import { listen } from './support/servers';

const AUDIENCE = 'flux-infra/staging/flux-system/instavote';

function receiver(sources: CallerSource[], url = 'https://hooks.example.com/hook/0123abcd'): CallerReceiver {
  return { cluster: 'staging', name: 'instavote', namespace: 'flux-system', url, audience: AUDIENCE, sources };
}
const github = (ref: CallerSource['ref'], repository = 'lfs269/instavote', source = 'instavote'): CallerSource => ({ source, host: 'github', repository, ref });
const gitlab = (ref: CallerSource['ref'], repository = 'team/apps/vote', source = 'vote'): CallerSource => ({ source, host: 'gitlab', repository, ref });

/** The one file generated for `source`, parsed. */
function only(source: CallerSource, url?: string) {
  const files = callerFiles(receiver([source], url));
  expect(files).toHaveLength(1);
  return { file: files[0], yaml: parse(files[0].content) };
}

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'flux-infra-ci-jobs-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs the real action-validator on `content`, saved as a workflow (it tells workflows by their folder). */
function lintWorkflow(content: string): SpawnSyncReturns<string> {
  const directory = mkdtempSync(join(scratch, 'repo-'));
  mkdirSync(join(directory, '.github', 'workflows'), { recursive: true });
  const file = join(directory, '.github', 'workflows', 'flux.yml');
  writeFileSync(file, content);
  return actionValidator(file);
}

/** A child process, SIGKILLed after 60 s at most; async, so that loopback servers in this process can answer it. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { env: { PATH: process.env.PATH, ...env }, timeout: 60_000, killSignal: 'SIGKILL' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

describe('the GitHub Actions workflow', () => {
  test('for a branch source: runs on pushes of that branch only, may mint an ID token and read, uses no action, and goes to .github/workflows/', () => {
    const { file, yaml } = only(github({ kind: 'branch', name: 'main' }));
    expect(file).toEqual(expect.objectContaining({ host: 'github', repository: 'lfs269/instavote', path: '.github/workflows/flux-staging-instavote.yml', sources: ['instavote'] }));
    expect(yaml.on).toEqual({ push: { branches: ['main'] } });
    expect(yaml.permissions).toBeUndefined();
    const jobs = Object.values(yaml.jobs) as any[];
    expect(jobs).toHaveLength(1);
    expect(jobs[0].permissions).toEqual({ 'id-token': 'write', contents: 'read' });
    expect(jobs[0]['timeout-minutes']).toEqual(expect.any(Number));
    expect(jobs[0].env).toEqual(expect.objectContaining({ FLUX_RECEIVER_URL: 'https://hooks.example.com/hook/0123abcd', FLUX_AUDIENCE: AUDIENCE }));
    expect(file.content).not.toMatch(/^\s*(-\s+)?uses:/m);
    expect(yaml.concurrency).toEqual({ group: 'flux-staging-instavote-${{ github.ref }}', 'cancel-in-progress': true });
    const linted = lintWorkflow(file.content);
    expect(linted.stderr).toBe('');
    expect(linted.status).toBe(0);
  }, 30_000);

  test('for a tag source: runs on that tag only; for a semver source: on any tag', () => {
    expect(only(github({ kind: 'tag', name: 'v1.2.0' })).yaml.on).toEqual({ push: { tags: ['v1.2.0'] } });
    const semver = only(github({ kind: 'anyTag' }));
    expect(semver.yaml.on).toEqual({ push: { tags: ['**'] } });
    for (const content of [only(github({ kind: 'tag', name: 'v1.2.0' })).file.content, semver.file.content]) {
      const linted = lintWorkflow(content);
      expect(linted.stderr).toBe('');
      expect(linted.status).toBe(0);
    }
  }, 30_000);

  test('the linter rejects a broken copy (so its acceptance means something)', () => {
    const { file } = only(github({ kind: 'branch', name: 'main' }));
    const linted = lintWorkflow(file.content.replace('runs-on: ubuntu-latest', 'runs-onn: ubuntu-latest'));
    expect(linted.status).not.toBe(0);
    expect(linted.stderr).toContain('runs-on');
  }, 30_000);

  test('a branch with a filter pattern\'s special characters is matched literally', () => {
    expect(only(github({ kind: 'branch', name: 'release+1!' })).yaml.on.push.branches).toEqual(['release\\+1\\!']);
  });

  test('sources of one repository share one workflow with all their refs (GitHub names ignore case)', () => {
    const files = callerFiles(receiver([github({ kind: 'branch', name: 'main' }, 'Org/App', 'app'), github({ kind: 'tag', name: 'v1' }, 'org/app', 'app-release'), github({ kind: 'branch', name: 'main' }, 'org/other', 'other')]));
    expect(files.map((file) => [file.repository, file.sources])).toEqual([['Org/App', ['app', 'app-release']], ['org/other', ['other']]]);
    expect(parse(files[0].content).on).toEqual({ push: { branches: ['main'], tags: ['v1'] } });
  });
});

describe('the GitLab CI job', () => {
  const schema = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'gitlab-ci-schema', 'ci.json'), 'utf8'));
  const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);

  test('for a branch source: an id_token for the audience, push pipelines of the branch only, no image, in .gitlab/ with its include line', () => {
    const { file, yaml } = only(gitlab({ kind: 'branch', name: 'main' }));
    expect(file).toEqual(expect.objectContaining({ host: 'gitlab', repository: 'team/apps/vote', path: '.gitlab/flux-staging-instavote.gitlab-ci.yml', include: '- local: .gitlab/flux-staging-instavote.gitlab-ci.yml' }));
    expect(Object.keys(yaml)).toEqual(['flux-staging-instavote']);
    const job = yaml['flux-staging-instavote'];
    expect(job.id_tokens).toEqual({ FLUX_ID_TOKEN: { aud: AUDIENCE } });
    expect(job.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == "main"' }]);
    expect(job.image).toBeUndefined();
    expect(file.content).toMatch(/pin it by digest/);
    expect(job.variables).toEqual(expect.objectContaining({ FLUX_RECEIVER_URL: 'https://hooks.example.com/hook/0123abcd', FLUX_AUDIENCE: AUDIENCE }));
    expect(validate(yaml)).toBe(true);
    // The include line is what .gitlab-ci.yml takes.
    expect(validate({ include: parse(file.include!) })).toBe(true);
  });

  test('for a tag and a semver source: that tag, any tag', () => {
    expect(only(gitlab({ kind: 'tag', name: 'v1.2.0' })).yaml['flux-staging-instavote'].rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_TAG == "v1.2.0"' }]);
    const semver = only(gitlab({ kind: 'anyTag' })).yaml;
    expect(semver['flux-staging-instavote'].rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_TAG' }]);
    expect(validate(semver)).toBe(true);
  });

  test('GitLab\'s schema rejects a job whose id_token has no audience (so its acceptance means something)', () => {
    const { yaml } = only(gitlab({ kind: 'branch', name: 'main' }));
    yaml['flux-staging-instavote'].id_tokens.FLUX_ID_TOKEN = { audience: AUDIENCE };
    expect(validate(yaml)).toBe(false);
  });
});

test('a value the CI platform would expand is refused in one line', () => {
  expect(() => callerFiles({ ...receiver([github({ kind: 'branch', name: 'main' })]), audience: 'aud-${{ secrets.X }}' })).toThrow(/^Receiver instavote of cluster staging: the audience "aud-\$\{\{ secrets.X \}\}" holds a "\$"/);
});

test('a GitLab branch or tag with a "$" or a control character is refused in one line naming the source (GitLab expands variables in rules:if)', () => {
  expect(() => callerFiles(receiver([gitlab({ kind: 'branch', name: 'release-$CI_JOB_TOKEN' })]))).toThrow(/^Receiver instavote of cluster staging: source vote's branch "release-\$CI_JOB_TOKEN" holds a "\$", which the CI platform would expand$/);
  expect(() => callerFiles(receiver([gitlab({ kind: 'tag', name: 'v1\u0007' })]))).toThrow(/^Receiver instavote of cluster staging: source vote's tag "v1\\u0007" holds a control character$/);
  // GitHub does not evaluate expressions in on.push: the same branch is matched literally there.
  expect(only(github({ kind: 'branch', name: 'release-$X' })).yaml.on.push.branches).toEqual(['release-$X']);
});

describe('the scripts, run', () => {
  const ID_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ0ZXN0In0.c2lnbmF0dXJl';
  const REQUEST_TOKEN = 'request-token-0123456789';

  /** A stand-in Receiver answering `statuses` in turn (the last one again), with `body` (none by default, as the controller), recording each call. */
  async function receiverStandIn(statuses: number[], body?: (request: IncomingMessage) => string) {
    const calls: IncomingMessage['headers'][] = [];
    const server = await listen((request: IncomingMessage, response: ServerResponse) => {
      calls.push(request.headers);
      request.resume();
      response.statusCode = statuses[Math.min(calls.length - 1, statuses.length - 1)];
      response.end(body?.(request));
    });
    return { ...server, calls, url: `${server.url}/hook/0123abcd` };
  }

  /** GitHub's ID token endpoint, as actions/core calls it: ?api-version=...&audience=..., the request token as bearer, {"value": token} back. */
  async function tokenEndpoint() {
    const asked: { query: string; authorization: string | undefined }[] = [];
    const server = await listen((request, response) => {
      asked.push({ query: new URL(request.url!, 'http://127.0.0.1').search, authorization: request.headers.authorization });
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ count: 1, value: ID_TOKEN }));
    });
    return { ...server, asked };
  }

  /** The temporary folder each script run gets (TMPDIR): empty again once the job is over. */
  function jobTmp(): string {
    return mkdtempSync(join(scratch, 'tmp-'));
  }

  async function runGithub(receiverUrl: string, tokenUrl: string, tmp = jobTmp()) {
    const { yaml } = only(github({ kind: 'branch', name: 'main' }), receiverUrl);
    const job = yaml.jobs['notify-flux'];
    // As GitHub runs a `shell: bash` step.
    return run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', job.steps[0].run], {
      ...job.env, ACTIONS_ID_TOKEN_REQUEST_URL: `${tokenUrl}/token?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
      GITHUB_REF: 'refs/heads/main', GITHUB_REPOSITORY: 'lfs269/instavote', GITHUB_EVENT_NAME: 'push', TMPDIR: tmp,
    });
  }

  async function runGitlab(receiverUrl: string, tmp = jobTmp()) {
    const { yaml } = only(gitlab({ kind: 'branch', name: 'main' }), receiverUrl);
    const job = yaml['flux-staging-instavote'];
    // A POSIX sh, as on a runner image without bash.
    return run('sh', ['-c', job.script.join('\n')], { ...job.variables, FLUX_ID_TOKEN: ID_TOKEN, CI_COMMIT_REF_NAME: 'main', CI_PROJECT_PATH: 'team/apps/vote', CI_PIPELINE_SOURCE: 'push', TMPDIR: tmp });
  }

  // The GitHub tests need jq besides curl (every GitHub-hosted runner has both).
  testWith('jq', 'GitHub: asks for the token with the audience URL-encoded, POSTs it as a bearer, and passes on the Receiver\'s 200 without printing either token', async () => {
      const standIn = await receiverStandIn([200]);
      const endpoint = await tokenEndpoint();
      try {
        const result = await runGithub(standIn.url, endpoint.url);
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        expect(result.stdout).toContain('took the push (HTTP 200)');
        expect(endpoint.asked).toEqual([{ query: `?api-version=2.0&audience=${encodeURIComponent(AUDIENCE)}`, authorization: `Bearer ${REQUEST_TOKEN}` }]);
        expect(standIn.calls).toHaveLength(1);
        expect(standIn.calls[0].authorization).toBe(`Bearer ${ID_TOKEN}`);
        for (const secret of [ID_TOKEN, REQUEST_TOKEN]) expect(result.stdout + result.stderr).not.toContain(secret);
      } finally {
        await standIn.close();
        await endpoint.close();
      }
    }, 60_000);

  testWith('jq', 'GitHub: a refused token (bare 400) fails the job at once, naming the code and where the reason is', async () => {
    const standIn = await receiverStandIn([400]);
    const endpoint = await tokenEndpoint();
    try {
      const result = await runGithub(standIn.url, endpoint.url);
      expect(result.status).toBe(1);
      expect(standIn.calls).toHaveLength(1);
      // The controller's 400 has no body: nothing is said of one.
      expect(result.stdout).not.toContain('answered with');
      expect(result.stdout).toMatch(/^::error title=Flux did not take the push::HTTP 400 from http:\/\/127\.0\.0\.1:\d+\/hook\/0123abcd: notification-controller refused the ID token.*kubectl -n flux-system logs deploy\/notification-controller \| grep instavote; flux events -n flux-system --for Receiver\/instavote$/m);
      expect(result.stdout + result.stderr).not.toContain(ID_TOKEN);
    } finally {
      await standIn.close();
      await endpoint.close();
    }
  }, 60_000);

  testWith('curl', 'GitLab (sh): the id_token as a bearer; a 503 is tried again, then the 200 passes', async () => {
    const standIn = await receiverStandIn([503, 200]);
    try {
      const result = await runGitlab(standIn.url);
      expect(result.status).toBe(0);
      expect(result.stdout).toContain('HTTP 503 from the Receiver (attempt 1 of 3)');
      expect(standIn.calls.map((headers) => headers.authorization)).toEqual([`Bearer ${ID_TOKEN}`, `Bearer ${ID_TOKEN}`]);
      expect(result.stdout + result.stderr).not.toContain(ID_TOKEN);
    } finally {
      await standIn.close();
    }
  }, 60_000);

  testWith('curl', 'GitLab (sh): a 404 fails without retrying; a 202 (the events server) is not taken for success', async () => {
    for (const [code, words] of [[404, 'no Receiver at this path'], [202, 'events server']] as const) {
      const standIn = await receiverStandIn([code]);
      try {
        const result = await runGitlab(standIn.url);
        expect(result.status).toBe(1);
        expect(standIn.calls).toHaveLength(1);
        expect(result.stdout).toMatch(new RegExp(`^ERROR: HTTP ${code} from .*${words}`, 'm'));
      } finally {
        await standIn.close();
      }
    }
  }, 60_000);

  /** A proxy's refusal: an HTML page with a terminal escape, a line that would be a workflow command, the bearer it was sent echoed back, and more than 1 KiB. */
  const proxyPage = (request: IncomingMessage) => `<html><body>\n\u001b[31mDenied by policy\u001b[0m\n::add-mask::x\r\ngot ${request.headers.authorization}\n${'y'.repeat(2000)}</body></html>`;
  const SAID = `The Receiver's URL answered with: <html><body> [31mDenied by policy [0m ::add-mask::x got Bearer [the ID token] ${'y'.repeat(1024 - '<html><body>\n\u001b[31mDenied by policy\u001b[0m\n::add-mask::x\r\ngot Bearer \n'.length - ID_TOKEN.length)}`;

  for (const flavour of ['GitHub (bash)', 'GitLab (sh)'] as const) {
    testWith(flavour === 'GitHub (bash)' ? 'jq' : 'curl', `${flavour}: a non-2xx answer with a body prints its first KiB on one line, printable only, the ID token cut out, before the explanation; its temporary file is removed`, async () => {
      const standIn = await receiverStandIn([403], proxyPage);
      const endpoint = await tokenEndpoint();
      const tmp = jobTmp();
      try {
        const result = flavour === 'GitHub (bash)' ? await runGithub(standIn.url, endpoint.url, tmp) : await runGitlab(standIn.url, tmp);
        expect(result.status).toBe(1);
        const lines = result.stdout.split('\n');
        const said = lines.findIndex((line) => line.startsWith('The Receiver\'s URL answered with: '));
        expect(lines[said]).toBe(SAID);
        expect(lines[said + 1]).toMatch(/^(::error title=Flux did not take the push::|ERROR: )HTTP 403 from /);
        expect(result.stdout + result.stderr).not.toContain(ID_TOKEN);
        expect(result.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
        expect(readdirSync(tmp)).toEqual([]);
      } finally {
        await standIn.close();
        await endpoint.close();
      }
    }, 60_000);
  }
});
