import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { synthesize } from '../lib/synth';
import { allowlist } from '../tools/webhook/allowlist';
import { doctor } from '../tools/webhook/doctor';
import { PROCESS_TEST_TIMEOUT, startScript } from './support/cli';
import { BASE_FLEET } from './support/fleet';
import { metaServer } from './support/servers';
import { TOKEN } from './support/synth';
import { workspace } from './support/tree';

// GitHub's hook ranges as of 2026-10-29, three of them new that day.
const HOOKS = ['192.30.252.0/22', '185.199.108.0/22', '140.82.112.0/20', '143.55.64.0/20', '9.234.98.160/28', '9.234.98.176/28', '9.234.106.48/28', '2a0a:a440::/29', '2606:50c0::/32'];

/** GitHub's /meta answer, as the stand-in gives it. */
const META = { verifiable_password_authentication: false, hooks: HOOKS, web: ['192.30.252.0/22'] };

const COMMENTED = BASE_FLEET.replace('      nodePort: 31234\n', [
  '      nodePort: 31234          # the walkthrough\'s port',
  '      address: 203.0.113.10',
  '      externalTrafficPolicy: Local   # keep GitHub\'s address for the policy',
  '      allowFrom:               # GitHub\'s hooks, from its /meta',
  '        - 192.30.252.0/22',
  '        - 185.199.108.0/22',
  '',
].join('\n'));

test('writes GitHub\'s /meta hook ranges into allowFrom, keeping every comment, and the NetworkPolicy follows', async () => {
  const meta = await metaServer(META);
  const ws = workspace(COMMENTED);
  try {
    const result = await allowlist('staging', { ...ws, env: { FLUX_INFRA_TOKEN_127_0_0_1: 'ghp_test' }, apiUrl: meta.url, writeFleet: true });
    expect(result).toEqual({ cluster: 'staging', ranges: HOOKS, fields: ['clusters.staging.webhook.allowFrom'], written: true, warnings: [] });
    const text = readFileSync(ws.fleetFile, 'utf8');
    expect(text).toContain('nodePort: 31234          # the walkthrough\'s port');
    expect(text).toContain('allowFrom:               # GitHub\'s hooks, from its /meta\n        - 192.30.252.0/22\n        - 185.199.108.0/22\n        - 140.82.112.0/20\n');
    expect(parse(text).clusters.staging.webhook.allowFrom).toEqual(HOOKS);
    expect(meta.requests).toEqual([{ url: '/meta', authorization: 'token ghp_test' }]);

    await synthesize({ ...ws, env: { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN } });
    const policy = parse(readFileSync(join(ws.distDir, 'clusters', 'staging', 'webhook-network-policy.yaml'), 'utf8').split('\n').filter((line) => !line.startsWith('#')).join('\n'));
    expect(policy.spec.ingress[0].from).toEqual(HOOKS.map((cidr) => ({ ipBlock: { cidr } })));

    // Already current: the file is not touched.
    const again = await allowlist('staging', { ...ws, env: {}, apiUrl: meta.url, writeFleet: true });
    expect(again.written).toBe(false);
    expect(readFileSync(ws.fleetFile, 'utf8')).toBe(text);
  } finally {
    await meta.close();
  }
});

test('only prints without --write-fleet; refuses a policy that would not see GitHub\'s address', async () => {
  const meta = await metaServer(META);
  const ws = workspace(COMMENTED);
  try {
    const result = await allowlist('staging', { ...ws, env: {}, apiUrl: meta.url });
    expect(result).toMatchObject({ written: false, ranges: HOOKS, warnings: [] });
    expect(readFileSync(ws.fleetFile, 'utf8')).toBe(COMMENTED);
    expect(meta.requests[0].authorization).toBeUndefined();
    // Without externalTrafficPolicy: Local the policy sees node addresses: GitHub's ranges would drop everything.
    const cluster = workspace(BASE_FLEET);
    await expect(allowlist('staging', { ...cluster, env: {}, apiUrl: meta.url, writeFleet: true })).rejects.toThrow(
      'cluster staging\'s NetworkPolicy would not see GitHub\'s address (externalTrafficPolicy is not Local), so GitHub\'s ranges there would drop every delivery: set clusters.staging.webhook.externalTrafficPolicy: Local first');
    expect(readFileSync(cluster.fleetFile, 'utf8')).toBe(BASE_FLEET);
  } finally {
    await meta.close();
  }
});

test('writes a load balancer\'s sourceRanges, and its allowFrom only where the policy sees GitHub\'s address', async () => {
  const meta = await metaServer(META);
  const ws = workspace(BASE_FLEET.replace('      nodePort: 31234\n', '      loadBalancer: {address: hooks.example.com, sourceRanges: [10.0.0.0/8]}\n      externalTrafficPolicy: Local\n'));
  try {
    const result = await allowlist('staging', { ...ws, env: {}, apiUrl: meta.url, writeFleet: true });
    expect(result.fields).toEqual(['clusters.staging.webhook.loadBalancer.sourceRanges', 'clusters.staging.webhook.allowFrom']);
    const webhook = parse(readFileSync(ws.fleetFile, 'utf8')).clusters.staging.webhook;
    expect(webhook.allowFrom).toEqual(HOOKS);
    expect(webhook.loadBalancer.sourceRanges).toEqual(HOOKS);
    // A load balancer that terminates TLS is a proxy: only its own sourceRanges can filter, added where missing.
    const tls = workspace(BASE_FLEET.replace('      nodePort: 31234\n', '      loadBalancer:\n        address: hooks.example.com   # the NLB\n        tls: true\n      externalTrafficPolicy: Local\n'));
    expect((await allowlist('staging', { ...tls, env: {}, apiUrl: meta.url, writeFleet: true })).fields).toEqual(['clusters.staging.webhook.loadBalancer.sourceRanges']);
    const text = readFileSync(tls.fleetFile, 'utf8');
    expect(text).toContain('        address: hooks.example.com   # the NLB\n        tls: true\n        sourceRanges:\n          - 192.30.252.0/22\n');
    expect(parse(text).clusters.staging.webhook.allowFrom).toBeUndefined();
  } finally {
    await meta.close();
  }
});

test('refuses where no list of ours filters sources, and a server that is not GitHub\'s, leaving the fleet file alone', async () => {
  const gateway = workspace(BASE_FLEET.replace('      nodePort: 31234\n', '      gateway: {parentRef: {name: public}, hostname: hooks.example.com}\n'));
  await expect(allowlist('staging', { ...gateway, env: {}, apiUrl: 'http://127.0.0.1:9', writeFleet: true }))
    .rejects.toThrow('cluster staging is reached through a gateway, whose proxy calls notification-controller from its own address: filter GitHub\'s ranges at the gateway itself (its controller\'s source-range option), not in a NetworkPolicy');
  for (const body of [{ hooks: ['not-a-cidr'] }, { hooks: [] }, '<html>proxy login</html>', { message: 'ok' }]) {
    const meta = await metaServer(body);
    const ws = workspace(COMMENTED);
    try {
      await expect(allowlist('staging', { ...ws, env: {}, apiUrl: meta.url, writeFleet: true })).rejects.toThrow('GitHub\'s /meta answer has no list of webhook CIDRs (hooks): check that --api-url is GitHub\'s REST API');
      expect(readFileSync(ws.fleetFile, 'utf8')).toBe(COMMENTED);
    } finally {
      await meta.close();
    }
  }
});

test('doctor reports a narrowed allowFrom that kube-proxy would hide GitHub\'s address from', async () => {
  const ws = workspace(COMMENTED.replace('      externalTrafficPolicy: Local   # keep GitHub\'s address for the policy\n', ''));
  const { problems } = await doctor('staging', { ...ws, env: { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN } });
  expect(problems).toContain('clusters.staging.webhook.allowFrom is narrowed, but externalTrafficPolicy is not Local: kube-proxy replaces the Git host\'s address with a node\'s, so the NetworkPolicy drops every delivery; set externalTrafficPolicy: Local');
  const behindTls = await doctor('staging', { ...workspace(COMMENTED.replace('      nodePort: 31234          # the walkthrough\'s port\n      address: 203.0.113.10\n', '      loadBalancer: {address: hooks.example.com, tls: true}\n')), env: { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN } });
  expect(behindTls.problems).toContain('clusters.staging.webhook.allowFrom is narrowed, but a load balancer that terminates TLS calls notification-controller from its own address, so the NetworkPolicy drops every delivery; narrow loadBalancer.sourceRanges instead and leave allowFrom out');
  const kept = await doctor('staging', { ...workspace(COMMENTED), env: { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN } });
  expect(kept.problems.filter((problem) => problem.includes('externalTrafficPolicy'))).toEqual([]);
});

test('npm run webhook -- allowlist --write-fleet, as a user runs it', async () => {
  const meta = await metaServer(META);
  const ws = workspace(COMMENTED);
  try {
    const result = await startScript(ws, 'webhook', ['allowlist', 'staging', '--write-fleet', '--api-url', meta.url]);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout.trim()).toBe(`wrote GitHub's ${HOOKS.length} webhook ranges into clusters.staging.webhook.allowFrom of ${ws.fleetFile}: run npm run synth and commit`);
    expect(parse(readFileSync(ws.fleetFile, 'utf8')).clusters.staging.webhook.allowFrom).toEqual(HOOKS);
  } finally {
    await meta.close();
  }
}, PROCESS_TEST_TIMEOUT);
