// `webhook ping` for each Receiver type a Git host is checked with, against loopback receivers that
// validate deliveries as notification-controller does for that type.
import { ping } from '../tools/webhook/ping';
import { listen, receiverServer } from './support/servers';
import { TOKEN } from './support/synth';
import { workspace } from './support/tree';

const ENV = { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN };

const FLEET = `clusters:
  staging:
    webhook: {nodePort: 31234, address: 203.0.113.10}
    sources:
      - {name: app-gitlab, url: "https://gitlab.com/group/sub/app", branch: main}
      - {name: app-bitbucket, url: "https://bitbucket.org/ws/app", tag: v1.0.0}
      - {name: app-gitea, url: "https://git.example.org/org/app", host: gitea, branch: main}
      - {name: app-github, url: "https://github.com/org/app", branch: main}
    receivers:
      - {name: gitlab, sources: [app-gitlab]}
      - {name: bitbucket, sources: [app-bitbucket]}
      - {name: gitea, sources: [app-gitea]}
      - {name: hmac, type: generic-hmac, sources: [app-github]}
      - {name: plain, type: generic, sources: [app-github]}
`;

/** The stand-in for one Receiver of FLEET, checking as its type does. */
function receiverFor(name: string, type: string, events: string[], signingToken?: string) {
  return receiverServer({ token: TOKEN, name, namespace: 'flux-system', events, type, signingToken });
}

test.each([
  ['gitlab', 'gitlab', ['Push Hook', 'Tag Push Hook'], { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': TOKEN }, 'accepted: Receiver gitlab checked the X-Gitlab-Token header and asked GitRepository app-gitlab to reconcile'],
  ['bitbucket', 'bitbucket', ['repo:push'], { 'x-event-key': 'repo:push' }, 'accepted: Receiver bitbucket checked the signature and asked GitRepository app-bitbucket to reconcile'],
  ['gitea', 'github', ['ping', 'push'], { 'x-gitea-event': 'push', 'x-github-event': 'push' }, 'accepted: Receiver gitea checked the signature and asked GitRepository app-gitea to reconcile'],
  ['hmac', 'generic-hmac', [], { 'content-type': 'application/json' }, 'accepted: Receiver hmac checked the signature and asked GitRepository app-github to reconcile'],
])('a %s delivery is shaped, signed and accepted as that Receiver type checks it', async (name, type, events, headers, explanation) => {
  const receiver = await receiverFor(name, type, events);
  try {
    const [outcome] = await ping('staging', { ...workspace(FLEET), env: ENV, receiver: name, url: receiver.url });
    expect(outcome).toMatchObject({ accepted: true, status: 200, explanation });
    expect(receiver.deliveries[0].headers).toMatchObject(headers);
  } finally {
    await receiver.close();
  }
});

test('a generic Receiver gets the source host\'s body unsigned: its path is the only secret', async () => {
  const received: { headers: Record<string, unknown>; body: string }[] = [];
  const server = await listen(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    received.push({ headers: request.headers, body });
    response.writeHead(200).end();
  });
  try {
    const [outcome] = await ping('staging', { ...workspace(FLEET), env: ENV, receiver: 'plain', url: server.url });
    expect(outcome).toMatchObject({ accepted: true, status: 200 });
    expect(Object.keys(received[0].headers).filter((name) => /signature|token|event/i.test(name))).toEqual([]);
    expect(JSON.parse(received[0].body).repository.full_name).toBe('org/app');
  } finally {
    await server.close();
  }
});

test('each host\'s body names the source\'s repository and ref as that host does', async () => {
  const servers = await Promise.all([
    receiverFor('gitlab', 'gitlab', []), receiverFor('bitbucket', 'bitbucket', []),
  ]);
  try {
    const ws = workspace(FLEET);
    await ping('staging', { ...ws, env: ENV, receiver: 'gitlab', url: servers[0].url });
    await ping('staging', { ...ws, env: ENV, receiver: 'bitbucket', url: servers[1].url });
    expect(servers[0].deliveries[0].body).toMatchObject({ object_kind: 'push', ref: 'refs/heads/main', project: { path_with_namespace: 'group/sub/app' } });
    expect(servers[1].deliveries[0].body).toMatchObject({ repository: { full_name: 'ws/app' }, push: { changes: [{ new: { type: 'tag', name: 'v1.0.0' } }] } });
  } finally {
    await Promise.all(servers.map((server) => server.close()));
  }
});

test.each([
  ['gitlab', 'gitlab', 'the X-Gitlab-Token header does not match'],
  ['bitbucket', 'bitbucket', 'the signature (X-Hub-Signature) does not match'],
  ['gitea', 'github', 'the signature (X-Hub-Signature-256) does not match'],
  ['hmac', 'generic-hmac', 'the signature (X-Signature) does not match'],
])('a wrong token in the cluster is explained as %s checks it', async (name, type, check) => {
  const receiver = await receiverFor(name, type, [], 'another-token-in-the-cluster-secret');
  try {
    const [outcome] = await ping('staging', { ...workspace(FLEET), env: ENV, receiver: name, url: receiver.url });
    expect(outcome).toMatchObject({ accepted: false, status: 400 });
    expect(outcome.explanation).toMatch(new RegExp(`^rejected \\(400\\): ${check.replace(/[()]/g, '\\$&')} \\(the cluster's webhook-token Secret holds another token than this one\\)`));
    if (type === 'generic-hmac') expect(outcome.explanation).not.toContain('events');
  } finally {
    await receiver.close();
  }
});

test('a push of another branch is accepted, but reconciles nothing: a failure that names the filter and the branch it wants', async () => {
  const receiver = await receiverFor('gitlab', 'gitlab', ['Push Hook']);
  try {
    const [outcome] = await ping('staging', { ...workspace(FLEET), env: ENV, receiver: 'gitlab', url: receiver.url, event: 'push', ref: 'refs/heads/feature' });
    expect(outcome).toMatchObject({ accepted: false, status: 200, reconciled: [], skipped: ['app-gitlab'] });
    expect(outcome.explanation).toBe('this push reconciles nothing: answered 200: Receiver gitlab checked the X-Gitlab-Token header, but its filters refuse every source: '
      + 'the filter of GitRepository app-gitlab wants branch main (refs/heads/main), the delivery pushed refs/heads/feature: if feature is what you push to, set branch: feature for source app-gitlab in the fleet file (npm run webhook -- doctor --online checks that each ref exists)');
    expect(receiver.deliveries[0].body.ref).toBe('refs/heads/feature');
  } finally {
    await receiver.close();
  }
});

test('refuses an event the host never sends, and a ref that is not one', async () => {
  const ws = workspace(FLEET);
  await expect(ping('staging', { ...ws, env: ENV, receiver: 'gitlab', url: 'http://127.0.0.1:9', event: 'ping' })).rejects.toThrow('GitLab sends no ping event (source app-gitlab): use --event push');
  await expect(ping('staging', { ...ws, env: ENV, receiver: 'gitlab', url: 'http://127.0.0.1:9', ref: 'main' })).rejects.toThrow('--ref "main" must be refs/heads/<branch> or refs/tags/<tag>');
});
