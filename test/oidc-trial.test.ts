// What a new user's trial of generic-oidc Receivers ran into, each as the commands answer it in real
// processes: deliveries and allowlist on clusters whose callers are CI runners, the cluster README's
// steps per kind of Receiver, and the lines doctor gives.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { synthesize } from '../lib/synth';
import { doctor } from '../tools/webhook/doctor';
import { PROCESS_TEST_TIMEOUT, startScript } from './support/cli';
import { listen, metaServer } from './support/servers';
import { TOKEN } from './support/synth';
import { workspace } from './support/tree';

const HOOKS = ['192.30.252.0/22', '185.199.108.0/22', '140.82.112.0/20'];

/** A cluster with a generic-oidc Receiver `apps` and, with `hooked`, a GitHub-webhook Receiver `hooks` beside it. */
const FLEET = (options: { hooked?: boolean; webhook?: string; sops?: boolean } = {}) => `clusters:
  staging:${options.sops ? `
    sops:
      ageRecipients: [age1rcdf89j5etn82nxsp8v82ax8felj9vuhu4sqczet2nhmtssrhurqpglwf9]` : ''}
    webhook: ${options.webhook ?? '{nodePort: 31234, address: 203.0.113.10, externalTrafficPolicy: Local}'}
    sources:
      - name: vote
        url: https://github.com/octo-org/vote
        branch: main
      - name: worker
        url: https://github.com/octo-org/worker
        branch: main
    receivers:
      - name: apps
        type: generic-oidc
        sources: [vote]${options.hooked ? `
      - name: hooks
        sources: [worker]` : ''}
`;

/** What the stand-in for GitHub's /meta answers. */
const META = { hooks: HOOKS, actions: ['4.148.0.0/16'] };

const CALLERS = 'a generic-oidc Receiver is called by CI runners, not by a Git host\'s webhook: GitHub-hosted runners come from the actions ranges of GitHub\'s /meta (thousands of CIDRs), self-hosted runners from your own addresses, and GitLab.com\'s runners have no fixed list';
const FIX = 'admit the runners\' addresses yourself (e.g. your self-hosted runners\' ranges), or leave allowFrom and sourceRanges open: the OIDC audience and validations are the security';

describe('webhook deliveries', () => {
  const NONE = 'no Receiver of staging gets Git host webhook deliveries: a generic-oidc Receiver is called by its CI job, whose log shows each call\'s answer; npm run webhook -- verify staging checks that the cluster applied the push\n';

  test('on a cluster whose Receivers are all generic-oidc: one line, exit 0, no token asked for', async () => {
    const ws = workspace(FLEET());
    try {
      const run = await startScript(ws, 'webhook', ['deliveries', 'staging']);
      expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({ status: 0, stdout: NONE, stderr: '' });
    } finally {
      rmSync(ws.root, { recursive: true, force: true });
    }
  }, PROCESS_TEST_TIMEOUT);

  test('on a mixed cluster, for its generic-oidc Receiver: the same line, no token asked for', async () => {
    const ws = workspace(FLEET({ hooked: true }));
    try {
      const run = await startScript(ws, 'webhook', ['deliveries', 'staging', '--receiver', 'apps']);
      expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({ status: 0, stdout: NONE, stderr: '' });
    } finally {
      rmSync(ws.root, { recursive: true, force: true });
    }
  }, PROCESS_TEST_TIMEOUT);
});

describe('webhook allowlist', () => {
  test('refuses a cluster whose Receivers are all generic-oidc, before asking GitHub, the fleet file untouched', async () => {
    const meta = await metaServer(META);
    const ws = workspace(FLEET());
    const before = readFileSync(ws.fleetFile, 'utf8');
    try {
      for (const args of [[], ['--write-fleet']]) {
        const run = await startScript(ws, 'webhook', ['allowlist', 'staging', '--api-url', meta.url, ...args]);
        expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({
          status: 1, stdout: '',
          stderr: `error: cluster staging's Receivers are all generic-oidc, and GitHub's webhook ranges would drop every call: ${CALLERS}; ${FIX}\n`,
        });
      }
      expect(meta.requests).toEqual([]);
      expect(readFileSync(ws.fleetFile, 'utf8')).toBe(before);
    } finally {
      await meta.close();
      rmSync(ws.root, { recursive: true, force: true });
    }
  }, PROCESS_TEST_TIMEOUT);

  test('on a mixed cluster: says the ranges drop the OIDC calls; --write-fleet refuses unless --drop-oidc-calls', async () => {
    const meta = await metaServer(META);
    const ws = workspace(FLEET({ hooked: true }));
    const before = readFileSync(ws.fleetFile, 'utf8');
    const drops = `GitHub's webhook ranges would also drop the CI calls of staging's generic-oidc Receiver apps: ${CALLERS}`;
    try {
      const printed = await startScript(ws, 'webhook', ['allowlist', 'staging', '--api-url', meta.url]);
      expect({ status: printed.status, stderr: printed.stderr }).toEqual({ status: 0, stderr: `warning: ${drops}\n` });
      expect(printed.stdout).toContain('- 192.30.252.0/22\n');

      const refused = await startScript(ws, 'webhook', ['allowlist', 'staging', '--api-url', meta.url, '--write-fleet']);
      expect({ status: refused.status, stdout: refused.stdout, stderr: refused.stderr }).toEqual({
        status: 1, stdout: '',
        stderr: `error: ${drops}; write them anyway with --drop-oidc-calls (those Receivers' pushes then wait for polling), or ${FIX}\n`,
      });
      expect(readFileSync(ws.fleetFile, 'utf8')).toBe(before);

      const alone = await startScript(ws, 'webhook', ['allowlist', 'staging', '--api-url', meta.url, '--drop-oidc-calls']);
      expect({ status: alone.status, stderr: alone.stderr }).toEqual({ status: 2, stderr: 'error: --drop-oidc-calls is about what --write-fleet writes: give it with --write-fleet\n' });

      const written = await startScript(ws, 'webhook', ['allowlist', 'staging', '--api-url', meta.url, '--write-fleet', '--drop-oidc-calls']);
      expect({ status: written.status, stderr: written.stderr }).toEqual({ status: 0, stderr: `warning: ${drops}\n` });
      expect(readFileSync(ws.fleetFile, 'utf8')).toContain('allowFrom: [192.30.252.0/22, 185.199.108.0/22, 140.82.112.0/20]}');
      expect(meta.requests.map((request) => request.url)).toEqual(['/meta', '/meta']);
    } finally {
      await meta.close();
      rmSync(ws.root, { recursive: true, force: true });
    }
  }, PROCESS_TEST_TIMEOUT);
});

describe('the cluster README', () => {
  async function readme(fleet: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
    const ws = workspace(fleet);
    try {
      await synthesize({ ...ws, env });
      return readFileSync(join(ws.distDir, 'clusters', 'staging', 'README.md'), 'utf8');
    } finally {
      rmSync(ws.root, { recursive: true, force: true });
    }
  }
  const steps = (text: string) => text.split('\n').filter((line) => /^\d+\. /.test(line));

  test('all generic-oidc: ends at verify and the CI job\'s log, not deliveries; the firewall step names the CI runners, not allowlist', async () => {
    const list = steps(await readme(FLEET()));
    expect(list.join('\n')).not.toContain('deliveries');
    expect(list.join('\n')).not.toContain('allowlist');
    expect(list.at(-1)).toMatch(/^\d+\. After each push: the CI job's log shows the Receiver's answer to its call, and `npm run webhook -- verify staging --wait 2m` that the cluster applied the pushed commit\.$/);
    const open = list.find((line) => line.includes('Open NodePort'))!;
    expect(open).toContain('Open NodePort 31234 to the callers\' addresses (firewall, security group);');
    expect(open).toContain(`For the generic-oidc Receivers (apps): ${CALLERS}; any list narrowing who may call (firewall, allowFrom, sourceRanges) must hold them: ${FIX}.`);
    expect(list.find((line) => line.includes('webhook -- ping'))).toContain('reports "answers" when a Receiver is at the path and refuses a call without a token');
  });

  test('mixed: the ping step in each kind\'s words, deliveries for the webhook Receivers and the CI job\'s log for the others', async () => {
    const list = steps(await readme(FLEET({ hooked: true }), { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN }));
    expect(list.find((line) => line.includes('webhook -- ping'))).toMatch(/Send a signed test delivery: `npm run webhook -- ping staging`; it should report "accepted" for hooks; for the generic-oidc Receivers \(apps\) it cannot mint a CI token, so it reports "answers" when a Receiver is at the path and refuses a call without a token, then push/);
    expect(list.at(-1)).toContain('`npm run webhook -- deliveries staging` shows what the Git host delivered (GitHub) (for the generic-oidc Receivers, the CI job\'s log shows each call\'s answer)');
    const open = list.find((line) => line.includes('Open NodePort'))!;
    expect(open).toContain('GitHub\'s: `npm run webhook -- allowlist staging`');
    expect(open).toContain('For the generic-oidc Receivers (apps): ');
  });
});

describe('doctor', () => {
  const notesOf = async (fleet: string) => {
    const ws = workspace(fleet);
    try {
      return (await doctor('staging', { ...ws, env: {} })).notes.filter((note) => !note.includes('repositoryId/ownerId'));
    } finally {
      rmSync(ws.root, { recursive: true, force: true });
    }
  };

  test('a generic-oidc Receiver behind a narrowed allowFrom or sourceRanges: a note that the CI runners must be inside it; open lists get none', async () => {
    expect(await notesOf(FLEET({ webhook: '{nodePort: 31234, address: 203.0.113.10, externalTrafficPolicy: Local, allowFrom: [198.51.100.0/24]}' }))).toEqual([
      `clusters.staging.webhook.allowFrom narrows who may call, and ${CALLERS} (Receiver apps): the CI runners' addresses must be inside it, or their calls are dropped`,
    ]);
    expect(await notesOf(FLEET({ webhook: '{loadBalancer: {address: 203.0.113.10, sourceRanges: [198.51.100.0/24]}}' }))).toEqual([
      `clusters.staging.webhook.loadBalancer.sourceRanges narrows who may call, and ${CALLERS} (Receiver apps): the CI runners' addresses must be inside it, or their calls are dropped`,
    ]);
    expect(await notesOf(FLEET({ webhook: '{nodePort: 31234, address: 203.0.113.10, allowFrom: [0.0.0.0/0, "::/0"]}' }))).toEqual([]);
  });

  test('a sops block on a cluster whose Receivers are all generic-oidc: a note to remove it; synth still works', async () => {
    expect(await notesOf(FLEET({ sops: true }))).toEqual(['clusters.staging.sops is unused: every Receiver of staging is generic-oidc, so there is no token to encrypt; remove it']);
    expect(await notesOf(FLEET({ sops: true, hooked: true }))).toEqual([]);
    const ws = workspace(FLEET({ sops: true }));
    try {
      const result = await synthesize({ ...ws, env: {} });
      expect(result.secretFiles).toEqual([]);
      expect(readFileSync(join(ws.distDir, 'clusters', 'staging', 'receivers.yaml'), 'utf8')).toContain('type: generic-oidc');
    } finally {
      rmSync(ws.root, { recursive: true, force: true });
    }
  });
});

describe('ping --url on a generic-oidc Receiver', () => {
  test('only the controller\'s bare 400 passes; a 400 with a body, a Server header or a Content-Type fails as not the controller\'s', async () => {
    let headers: Record<string, string> = {};
    let body = '';
    const server = await listen((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(400, headers).end(body));
    });
    const ws = workspace(FLEET());
    try {
      const bare = await startScript(ws, 'webhook', ['ping', 'staging', '--url', server.url]);
      expect(bare.status).toBe(0);
      expect(bare.stdout).toContain('answers: a Receiver is at the path and refused a call without an ID token (400)');
      for (const [answer, reason] of [
        [{ headers: { Server: 'nginx' }, body: '' }, 'its Server header says "nginx"'],
        [{ headers: {}, body: 'Bad Request' }, 'it has a body, "Bad Request"'],
        [{ headers: { 'Content-Type': 'text/plain' }, body: '' }, 'it has a Content-Type (text/plain)'],
      ] as const) {
        headers = { ...answer.headers };
        body = answer.body;
        const run = await startScript(ws, 'webhook', ['ping', 'staging', '--url', server.url]);
        expect(run.status).toBe(1);
        expect(run.stdout).toContain(`HTTP 400 from ${server.url}, which is not notification-controller's answer (${reason}; the controller answers with a status alone)`);
        expect(run.stdout).not.toContain('a Receiver is at the path');
      }
    } finally {
      await server.close();
      rmSync(ws.root, { recursive: true, force: true });
    }
  }, PROCESS_TEST_TIMEOUT * 2);
});

describe('secrets rotate-token on a mixed cluster', () => {
  test('lists only the token-based Receivers\' URLs to update; the generic-oidc one is said to stay as it is', async () => {
    const ws = workspace(FLEET({ hooked: true }));
    try {
      expect((await startScript(ws, 'secrets', ['rotate-token', 'staging'])).status).toBe(0);
      const run = await startScript(ws, 'secrets', ['rotate-token', 'staging']);
      expect(run.status).toBe(0);
      const output = run.stdout + run.stderr;
      expect(output).toMatch(/   Receiver hooks \(GitHub https:\/\/github.com\/octo-org\/worker\): Payload URL http:\/\/203\.0\.113\.10:31234\/hook\/[0-9a-f]{64}\n/);
      expect(output.match(/Payload URL/g)).toHaveLength(1);
      expect(output).not.toContain('octo-org/vote');
      expect(output).toContain('The generic-oidc Receiver apps takes no token: its path and CI job stay as they are.');
    } finally {
      rmSync(ws.root, { recursive: true, force: true });
    }
  }, PROCESS_TEST_TIMEOUT * 2);
});

describe('webhook ids when a host cannot be reached', () => {
  test('every source is tried, each failure one line naming the fleet\'s apiUrl (ids has no --api-url), exit 1, nothing written', async () => {
    // A port that was just listened on and closed: connection refused, on loopback.
    const closed = await listen(() => undefined);
    await closed.close();
    const ws = workspace(FLEET().replace('        branch: main\n      - name: worker', '        branch: main\n        apiUrl: https://flux-infra-test.invalid/api/v3\n      - name: worker')
      .replace('sources: [vote]', 'sources: [vote, worker]')
      .replace('url: https://github.com/octo-org/worker\n', `url: https://github.com/octo-org/worker\n        apiUrl: ${closed.url}/api/v3\n`));
    const before = readFileSync(ws.fleetFile, 'utf8');
    try {
      const run = await startScript(ws, 'webhook', ['ids', 'staging', '--write-fleet']);
      expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 1, stdout: '' });
      expect(run.stderr.split('\n')).toEqual([
        'error: GitHub API call for octo-org/vote got no answer: cannot resolve flux-infra-test.invalid: check the source\'s apiUrl in fleet.yaml',
        expect.stringMatching(/^error: GitHub API call for octo-org\/worker got no answer: connection refused by 127\.0\.0\.1:\d+: nothing listens at the API URL$/),
        '',
      ]);
      expect(readFileSync(ws.fleetFile, 'utf8')).toBe(before);
    } finally {
      rmSync(ws.root, { recursive: true, force: true });
    }
  }, PROCESS_TEST_TIMEOUT);
});
