// `webhook deliveries`: GitHub's record of what it delivered, against a loopback stand-in for its
// hook deliveries API (paginated with Link headers, as GitHub pages), read by the real Octokit.
import { createHash } from 'node:crypto';
import { deliveries, latestAccepted } from '../tools/webhook/deliveries';
import { PROCESS_TEST_TIMEOUT, startScript } from './support/cli';
import { listen } from './support/servers';
import { BASE_FLEET } from './support/fleet';
import { TOKEN } from './support/synth';
import { workspace } from './support/tree';

const ENV = { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN };
const FLEET = BASE_FLEET.replace('      nodePort: 31234\n', '      nodePort: 31234\n      address: 203.0.113.10\n');
const URL_OF_RECEIVER = `http://203.0.113.10:31234/hook/${createHash('sha256').update(`${TOKEN}instavoteflux-system`).digest('hex')}`;

/** Deliveries newest first, as GitHub lists them; #5 was redelivered as #6 and then went through. */
const DELIVERIES = [
  { id: 6, guid: 'g5', delivered_at: '2026-11-27T10:06:00Z', redelivery: true, duration: 0.2, status: 'OK', status_code: 200, event: 'push' },
  { id: 5, guid: 'g5', delivered_at: '2026-11-27T10:05:00Z', redelivery: false, duration: 0.1, status: 'Invalid HTTP Response: 503', status_code: 503, event: 'push' },
  { id: 4, guid: 'g4', delivered_at: '2026-11-27T10:04:00Z', redelivery: false, duration: 0.1, status: 'Invalid HTTP Response: 400', status_code: 400, event: 'push' },
  { id: 3, guid: 'g3', delivered_at: '2026-11-27T10:03:00Z', redelivery: false, duration: 10, status: 'We couldn\'t deliver this payload: timed out', status_code: 0, event: 'push' },
  { id: 2, guid: 'g2', delivered_at: '2026-11-27T10:02:00Z', redelivery: false, duration: 0.1, status: 'Invalid HTTP Response: 404', status_code: 404, event: 'push' },
  { id: 7, guid: 'g7', delivered_at: '2026-11-27T10:01:30Z', redelivery: false, duration: 0.1, status: 'Accepted', status_code: 202, event: 'push' },
  { id: 1, guid: 'g1', delivered_at: '2026-11-27T10:01:00Z', redelivery: false, duration: 0.1, status: 'OK', status_code: 200, event: 'ping' },
];

/** GitHub's hooks and deliveries API for lfs269/instavote, two deliveries a page. */
async function fakeGithub(deliveryList = DELIVERIES) {
  const redelivered: number[] = [];
  const requests: string[] = [];
  const api = await listen(async (request, response) => {
    for await (const _chunk of request) { /* drain */ }
    requests.push(`${request.method} ${request.url}`);
    const url = new URL(request.url!, 'http://127.0.0.1');
    const send = (status: number, data: unknown, headers: Record<string, string> = {}) => response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(data));
    if (url.pathname === '/repos/lfs269/instavote/hooks') return send(200, [{ id: 99, config: { url: 'http://elsewhere/hook/x' } }, { id: 7, config: { url: URL_OF_RECEIVER } }]);
    if (url.pathname === '/repos/lfs269/instavote/hooks/7/deliveries') {
      const page = Number(url.searchParams.get('cursor') ?? 0);
      const next: Record<string, string> = page + 2 < deliveryList.length ? { link: `<http://${request.headers.host}/repos/lfs269/instavote/hooks/7/deliveries?per_page=2&cursor=${page + 2}>; rel="next"` } : {};
      return send(200, deliveryList.slice(page, page + 2), next);
    }
    const attempt = /^\/repos\/lfs269\/instavote\/hooks\/7\/deliveries\/(\d+)\/attempts$/.exec(url.pathname);
    if (request.method === 'POST' && attempt) {
      redelivered.push(Number(attempt[1]));
      return send(202, {});
    }
    return send(404, { message: 'Not Found' });
  });
  return { ...api, redelivered, requests };
}

// The stand-ins are on 127.0.0.1, whose token variable this is (GITHUB_TOKEN is api.github.com's only).
const options = (apiUrl: string) => ({ ...workspace(FLEET), env: { ...ENV, FLUX_INFRA_TOKEN_127_0_0_1: 'ghp_test' }, apiUrl });

test('lists each delivery of the cluster\'s hook, across pages, each status explained as ping explains it', async () => {
  const github = await fakeGithub();
  try {
    const [result] = await deliveries('staging', { ...options(github.url), limit: 7 });
    expect(result).toMatchObject({ repository: 'lfs269/instavote', receiver: 'instavote', hookId: '7', redelivered: [] });
    // A 202 is no Receiver's answer (notification-controller's events server gives it): not ok.
    expect(result.deliveries.map((delivery) => [delivery.id, delivery.statusCode, delivery.ok])).toEqual([[6, 200, true], [5, 503, false], [4, 400, false], [3, 0, false], [2, 404, false], [7, 202, false], [1, 200, true]]);
    const explained = Object.fromEntries(result.deliveries.map((delivery) => [delivery.id, delivery.explanation]));
    expect(explained[6]).toMatch(/^accepted: Receiver instavote checked the signature/);
    expect(explained[5]).toMatch(/^Receiver instavote is not ready or is suspended \(503\): usually its Secret webhook-token is missing/);
    expect(explained[4]).toMatch(/^rejected \(400\): the signature \(X-Hub-Signature-256\) does not match \(the cluster's webhook-token Secret holds another token than this one\); the event "push" is one the fleet file's Receiver takes/);
    expect(explained[3]).toMatch(/^no answer \(We couldn't deliver this payload: timed out\): a firewall or a NetworkPolicy drops outside traffic to the NodePort/);
    expect(explained[2]).toMatch(/^no Receiver at that path \(404\)/);
    expect(explained[7]).toMatch(/^answer 202 is none of a Receiver's: the URL probably reached notification-controller's events server/);
    // Four pages of two, through Octokit's paginator.
    expect(github.requests.filter((request) => request.includes('/deliveries'))).toHaveLength(4);
    expect(latestAccepted([result])).toBe(true);
  } finally {
    await github.close();
  }
});

test('--limit stops reading pages; the newest delivery failing makes the check fail', async () => {
  const github = await fakeGithub(DELIVERIES.slice(1));
  try {
    const results = await deliveries('staging', { ...options(github.url), limit: 2 });
    expect(results[0].deliveries.map((delivery) => delivery.id)).toEqual([5, 4]);
    expect(github.requests.filter((request) => request.includes('/deliveries'))).toHaveLength(1);
    expect(latestAccepted(results)).toBe(false);
  } finally {
    await github.close();
  }
});

test('--redeliver-failed asks again for each delivery whose latest attempt failed, not for one already redelivered', async () => {
  const github = await fakeGithub();
  try {
    const [result] = await deliveries('staging', { ...options(github.url), limit: 7, redeliverFailed: true });
    // #5 failed, but its redelivery #6 went through: only #4, #3, #2 and #7 are sent again.
    expect(github.redelivered).toEqual([4, 3, 2, 7]);
    expect(result.redelivered).toEqual([4, 3, 2, 7]);
    const one = await deliveries('staging', { ...options(github.url), limit: 6, redeliver: '2' });
    expect(one[0].redelivered).toEqual([2]);
    await expect(deliveries('staging', { ...options(github.url), limit: 2, redeliver: '2' })).rejects.toThrow('delivery 2 is not among the listed deliveries of staging\'s hooks: raise --limit, or name its --receiver');
    await expect(deliveries('staging', { ...options(github.url), redeliver: 'last' })).rejects.toThrow('--redeliver "last" is not a delivery id');
  } finally {
    await github.close();
  }
});

test('npm run webhook -- deliveries staging --redeliver-failed, as a process: lists, redelivers each failed one, exits 0 as the newest delivery went through', async () => {
  const github = await fakeGithub();
  try {
    const ws = workspace(FLEET);
    const run = await startScript(ws, 'webhook', ['deliveries', 'staging', '--redeliver-failed', '--api-url', github.url, '--limit', '7'], { ...ENV, FLUX_INFRA_TOKEN_127_0_0_1: 'ghp_test' });
    expect(github.redelivered).toEqual([4, 3, 2, 7]);
    expect(run.stdout).toContain('lfs269/instavote hook 7 (Receiver instavote):');
    expect(run.stdout).toMatch(/#4 +push +400 .*FAILED/);
    expect(run.stdout.match(/asked GitHub to deliver #\d+ again/g)).toEqual([4, 3, 2, 7].map((id) => `asked GitHub to deliver #${id} again`));
    expect(run.stderr).not.toContain('ghp_test');
    expect(run.status).toBe(0);
    // One delivery by its id, the hook chosen by its Receiver, within a deadline.
    const one = await startScript(ws, 'webhook', ['deliveries', 'staging', '--receiver', 'instavote', '--redeliver', '2', '--timeout', '30', '--api-url', github.url, '--limit', '7'], { ...ENV, FLUX_INFRA_TOKEN_127_0_0_1: 'ghp_test' });
    expect([one.status, one.stdout.match(/asked GitHub to deliver #\d+ again/g)]).toEqual([0, ['asked GitHub to deliver #2 again']]);
    expect(github.redelivered).toEqual([4, 3, 2, 7, 2]);
  } finally {
    await github.close();
  }
}, PROCESS_TEST_TIMEOUT);

test('says so when no hook calls the Receiver, and needs the API host\'s token', async () => {
  const github = await fakeGithub();
  try {
    const ws = workspace(FLEET.replace('nodePort: 31234', 'nodePort: 31299'));
    const [result] = await deliveries('staging', { ...ws, env: { ...ENV, FLUX_INFRA_TOKEN_127_0_0_1: 'ghp_test' }, apiUrl: github.url });
    expect(result).toMatchObject({ deliveries: [], missingHook: true, note: 'no hook of lfs269/instavote calls Receiver instavote: npm run webhook -- hook staging' });
    // No hook: the after-push check fails, every push waits for polling.
    expect(latestAccepted([result])).toBe(false);
    await expect(deliveries('staging', { ...workspace(FLEET), env: { ...ENV, GITHUB_TOKEN: 'ghp_github_com' }, apiUrl: github.url })).rejects.toThrow(/^FLUX_INFRA_TOKEN_127_0_0_1 is not set: create a GitHub token \(admin on the repository/);
  } finally {
    await github.close();
  }
});
