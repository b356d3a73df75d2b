import { Duration, Testing } from 'cdk8s';
import { AppDeployment } from '../lib/constructs/app-deployment';
import { GitRef } from '../lib/constructs/git-ref';
import { GitSource } from '../lib/constructs/git-source';
import { secretFromName } from '../lib/constructs/secret-reference';
import { WebhookNetworkPolicy } from '../lib/constructs/webhook-network-policy';
import { ANYWHERE } from '../lib/fleet/network';
import { WebhookReceiver } from '../lib/constructs/webhook-receiver';
import { WebhookReceiverService } from '../lib/constructs/webhook-receiver-service';
import { WebhookTokenSecret } from '../lib/constructs/webhook-token-secret';
import { objectOf, TOKEN } from './support/synth';
import { ReceiverType } from '../lib/fleet/model';

describe('GitSource', () => {
  test('defaults: flux-system, branch main, 30m interval, id as name', () => {
    const chart = Testing.chart();
    const source = new GitSource(chart, 'instavote', { url: 'https://github.com/lfs269/instavote' });
    expect(source.name).toBe('instavote');
    expect(objectOf(chart, 'GitRepository')).toEqual({
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: 'instavote', namespace: 'flux-system' },
      spec: { url: 'https://github.com/lfs269/instavote', ref: { branch: 'main' }, interval: '30m' },
    });
  });

  test('every field, with each kind of ref', () => {
    const chart = Testing.chart();
    new GitSource(chart, 'a', {
      name: 'app', namespace: 'apps', url: 'ssh://git@github.com/org/app', ref: GitRef.tag('v1.2.3'),
      interval: Duration.minutes(90), timeout: Duration.seconds(90), secret: secretFromName('git-auth', 'apps'), ignore: '/docs\n',
    });
    expect(objectOf(chart, 'GitRepository').spec).toEqual({
      url: 'ssh://git@github.com/org/app', ref: { tag: 'v1.2.3' }, interval: '1h30m', timeout: '1m30s', secretRef: { name: 'git-auth' }, ignore: '/docs\n',
    });
    expect(GitRef.semver('>=1.0.0').toSpec()).toEqual({ semver: '>=1.0.0' });
    expect(GitRef.commit('a'.repeat(40)).toSpec()).toEqual({ commit: 'a'.repeat(40) });
  });

  test.each([
    ['ftp://host/repo', /must start with https:\/\/ or ssh:\/\/ \(lower case\)/],
    ['http://github.com/org/repo', /must start with https:\/\/ or ssh:\/\/ \(lower case\)/],
    ['git@github.com:org/repo.git', /scp-style.*ssh:\/\/git@github.com\/org\/repo.git/],
    ['not a url', /is not a URL/],
    ['https://user:pass@github.com/org/repo', /carries credentials/],
  ])('fails on url %s', (url, message) => {
    expect(() => new GitSource(Testing.chart(), 'x', { url })).toThrow(message);
  });

  test('fails on a bad name, a bad ref, a Secret of another namespace', () => {
    expect(() => new GitSource(Testing.chart(), 'Insta_Vote', { url: 'https://h/r' })).toThrow(/GitSource Insta_Vote: name "Insta_Vote" is not a valid RFC 1123 name/);
    expect(() => GitRef.branch('has space')).toThrow(/branch "has space" is not a valid Git ref name/);
    expect(() => GitRef.commit('abc')).toThrow(/40 or 64 hex/);
    expect(() => new GitSource(Testing.chart(), 'x', { url: 'https://h/r', secret: secretFromName('s', 'other') }))
      .toThrow(/secret s is in namespace other; a GitRepository can only read Secrets of its own namespace \(flux-system\)/);
  });
});

describe('AppDeployment', () => {
  test('references its source by a typed reference, with prune and wait on by default', () => {
    const chart = Testing.chart();
    const source = new GitSource(chart, 'instavote', { url: 'https://github.com/lfs269/instavote' });
    new AppDeployment(chart, 'vote-staging', { source, path: './deploy/vote/staging' });
    expect(objectOf(chart, 'Kustomization')).toEqual({
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: 'vote-staging', namespace: 'flux-system' },
      spec: { sourceRef: { kind: 'GitRepository', name: 'instavote' }, path: './deploy/vote/staging', interval: '1h', retryInterval: '2m', prune: true, wait: true, timeout: '5m' },
    });
  });

  test('every field; dependsOn added after construction still reaches the output', () => {
    const chart = Testing.chart();
    const source = new GitSource(chart, 'src', { url: 'https://h/r', namespace: 'sources' });
    const db = new AppDeployment(chart, 'db', { source, path: './db', namespace: 'apps' });
    const redis = new AppDeployment(chart, 'redis', { source, path: './redis', namespace: 'cache' });
    const vote = new AppDeployment(chart, 'vote', {
      source, path: './vote', namespace: 'apps', interval: Duration.minutes(10), retryInterval: Duration.minutes(2),
      prune: false, wait: false, timeout: Duration.minutes(3), targetNamespace: 'vote', dependsOn: [db],
    });
    vote.addDependsOn(redis);
    expect(objectOf(chart, 'Kustomization', 'vote').spec).toEqual({
      sourceRef: { kind: 'GitRepository', name: 'src', namespace: 'sources' }, path: './vote', interval: '10m', retryInterval: '2m',
      prune: false, wait: false, timeout: '3m', targetNamespace: 'vote', dependsOn: [{ name: 'db' }, { name: 'redis', namespace: 'cache' }],
    });
  });

  test('fails on a path without ./, a path leaving the source, a self dependency, a cycle', () => {
    const chart = Testing.chart();
    const source = new GitSource(chart, 'src', { url: 'https://h/r' });
    expect(() => new AppDeployment(chart, 'a', { source, path: 'deploy/vote' })).toThrow(/AppDeployment a: path "deploy\/vote" must .* start with "\.\/", e.g. \.\/deploy\/vote/);
    expect(() => new AppDeployment(chart, 'b', { source, path: './../x' })).toThrow(/must not leave the source/);
    const c = new AppDeployment(chart, 'c', { source, path: './c' });
    expect(() => c.addDependsOn(c)).toThrow(/must not name the app itself/);
    const d = new AppDeployment(chart, 'd', { source, path: './d', dependsOn: [c] });
    c.addDependsOn(d);
    expect(() => Testing.synth(chart)).toThrow(/dependsOn forms a cycle: c -> d -> c/);
  });
});

describe('WebhookTokenSecret', () => {
  test('is webhook-token in flux-system with key token, labelled so that notification-controller reconciles its Receivers when it changes', () => {
    const chart = Testing.chart();
    new WebhookTokenSecret(chart, 'token', { token: TOKEN });
    expect(objectOf(chart, 'Secret')).toEqual({
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      // The label makes notification-controller look at a new token at once (proven by test/e2e).
      metadata: { name: 'webhook-token', namespace: 'flux-system', labels: { 'reconcile.fluxcd.io/watch': 'Enabled' } },
      stringData: { token: TOKEN },
    });
  });

  test.each([
    [`${TOKEN}\n`, /token contains whitespace or a newline/],
    ['abc123', /token is 6 characters long; use at least 32/],
    [`${TOKEN}é`, /printable ASCII/],
  ])('fails on a bad token', (token, message) => {
    expect(() => new WebhookTokenSecret(Testing.chart(), 't', { token })).toThrow(message);
  });
});

describe('WebhookReceiver', () => {
  test('github, ping and push, the Secret and the sources it triggers', () => {
    const chart = Testing.chart();
    const source = new GitSource(chart, 'instavote', { url: 'https://github.com/lfs269/instavote' });
    const secret = new WebhookTokenSecret(chart, 'token', { token: TOKEN });
    const receiver = new WebhookReceiver(chart, 'receiver', { name: 'instavote', secret, resources: [source] });
    const other = new GitSource(chart, 'other', { url: 'https://h/other', namespace: 'apps' });
    receiver.addResource(other);
    expect(objectOf(chart, 'Receiver')).toEqual({
      apiVersion: 'notification.toolkit.fluxcd.io/v1',
      kind: 'Receiver',
      metadata: { name: 'instavote', namespace: 'flux-system' },
      spec: {
        type: 'github', events: ['ping', 'push'], secretRef: { name: 'webhook-token' },
        resources: [
          { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', name: 'instavote' },
          { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', name: 'other', namespace: 'apps' },
        ],
      },
    });
    expect(receiver.webhookPath('test-token')).toMatch(/^\/hook\/[0-9a-f]{64}$/);
  });

  test('a Git host\'s type takes its push events, the generic ones every event, unless told', () => {
    const chart = Testing.chart();
    const source = new GitSource(chart, 'src', { url: 'https://h/r' });
    new WebhookReceiver(chart, 'gl', { type: ReceiverType.GITLAB, secret: secretFromName('t', 'flux-system'), resources: [source] });
    new WebhookReceiver(chart, 'bb', { type: ReceiverType.BITBUCKET, secret: secretFromName('t', 'flux-system'), resources: [source] });
    new WebhookReceiver(chart, 'any', { type: ReceiverType.GENERIC_HMAC, secret: secretFromName('t', 'flux-system'), resources: [source] });
    expect(objectOf(chart, 'Receiver', 'gl').spec).toMatchObject({ type: 'gitlab', events: ['Push Hook', 'Tag Push Hook'] });
    expect(objectOf(chart, 'Receiver', 'bb').spec).toMatchObject({ type: 'bitbucket', events: ['repo:push', 'repo:refs_changed'] });
    expect(objectOf(chart, 'Receiver', 'any').spec.events).toBeUndefined();
  });

  test('a Kustomization with wait fails and retries within minutes, not the interval, unless told', () => {
    const chart = Testing.chart();
    const source = new GitSource(chart, 'src', { url: 'https://h/r' });
    new AppDeployment(chart, 'long', { source, path: './a', interval: Duration.hours(1) });
    new AppDeployment(chart, 'short', { source, path: './b', interval: Duration.minutes(1) });
    new AppDeployment(chart, 'nowait', { source, path: './c', wait: false });
    new AppDeployment(chart, 'told', { source, path: './d', timeout: Duration.minutes(20), retryInterval: Duration.minutes(10) });
    const spec = (name: string) => objectOf(chart, 'Kustomization', name).spec;
    expect(spec('long')).toMatchObject({ timeout: '5m', retryInterval: '2m' });
    // Never longer than the interval: Flux would reconcile again before they ran out.
    expect(spec('short')).toMatchObject({ timeout: '1m', retryInterval: '1m' });
    expect(spec('nowait').timeout).toBeUndefined();
    expect(spec('nowait').retryInterval).toBeUndefined();
    expect(spec('told')).toMatchObject({ timeout: '20m', retryInterval: '10m' });
  });

  test('fails without resources, with a Secret elsewhere, with a source twice', () => {
    const chart = Testing.chart();
    new WebhookReceiver(chart, 'empty', { secret: secretFromName('t', 'flux-system') });
    expect(() => Testing.synth(chart)).toThrow(/WebhookReceiver empty: resources is empty/);
    expect(() => new WebhookReceiver(Testing.chart(), 'r', { secret: secretFromName('t', 'other') }))
      .toThrow(/secret t is in namespace other; a Receiver reads its Secret from its own namespace \(flux-system\)/);
    const chart2 = Testing.chart();
    const source = new GitSource(chart2, 'src', { url: 'https://h/r' });
    expect(() => new WebhookReceiver(chart2, 'r', { secret: secretFromName('t', 'flux-system'), resources: [source, source] }))
      .toThrow(/GitRepository src is already a resource/);
  });
});

describe('exposure', () => {
  test('the webhook-receiver Service patch is a NodePort 80 -> http-webhook', () => {
    const chart = Testing.chart();
    new WebhookReceiverService(chart, 'svc', { nodePort: 31234 });
    expect(objectOf(chart, 'Service')).toEqual({
      apiVersion: 'v1', kind: 'Service',
      metadata: { name: 'webhook-receiver', namespace: 'flux-system' },
      spec: {
        type: 'NodePort', selector: { app: 'notification-controller' },
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http-webhook', nodePort: 31234 }],
      },
    });
  });

  test.each([29999, 32768, 31234.5])('fails on nodePort %s', (nodePort) => {
    expect(() => new WebhookReceiverService(Testing.chart(), 'svc', { nodePort })).toThrow(`nodePort ${nodePort} is outside 30000-32767`);
  });

  test('the NetworkPolicy admits the given CIDRs (anywhere by default) to port 9292 of notification-controller only', () => {
    const chart = Testing.chart();
    new WebhookNetworkPolicy(chart, 'default');
    new WebhookNetworkPolicy(chart, 'github', { name: 'allow-github-hooks', allowFrom: ['192.30.252.0/22', '2a0a:a440::/29'] });
    const policy = objectOf(chart, 'NetworkPolicy', 'allow-webhooks-external');
    expect(policy.spec).toEqual({
      podSelector: { matchLabels: { app: 'notification-controller' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: ANYWHERE.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port: 9292 }] }],
    });
    expect(objectOf(chart, 'NetworkPolicy', 'allow-github-hooks').spec.ingress[0].from).toEqual([
      { ipBlock: { cidr: '192.30.252.0/22' } }, { ipBlock: { cidr: '2a0a:a440::/29' } },
    ]);
  });

  test.each(['192.30.252.0', '192.30.252.0/33', '300.1.1.1/8', '::/129', 'anywhere'])('fails on CIDR %s', (cidr) => {
    expect(() => new WebhookNetworkPolicy(Testing.chart(), 'p', { allowFrom: [cidr] })).toThrow(`allowFrom "${cidr}" is not a CIDR`);
  });
});
