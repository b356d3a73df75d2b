import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { synthesize } from '../lib/synth';
import { testWith } from './support/external-tools';
import { BASE_FLEET } from './support/fleet';
import { workspace } from './support/tree';

testWith('kubectl', 'kubectl kustomize builds flux-system with webhook-receiver as NodePort 31234 -> http-webhook, the rest as bootstrap made it', async () => {
  const ws = workspace(BASE_FLEET);
  await synthesize({ ...ws, secrets: false });
  const fluxSystem = join(ws.distDir, 'clusters', 'staging', 'flux-system');
  for (const file of ['gotk-components.yaml', 'gotk-sync.yaml']) {
    copyFileSync(join(__dirname, 'fixtures', file), join(fluxSystem, file));
  }
  // Bootstrap files are foreign to synth: a second synth keeps them and the build still works.
  await synthesize({ ...ws, secrets: false });

  const built = parseAllDocuments(execFileSync('kubectl', ['kustomize', fluxSystem], { encoding: 'utf8' })).map((document) => document.toJS());
  const find = (kind: string, name: string) => built.find((object) => object.kind === kind && object.metadata.name === name);
  const receiver = find('Service', 'webhook-receiver');
  expect(receiver.spec.type).toBe('NodePort');
  expect(receiver.spec.ports).toEqual([{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http-webhook', nodePort: 31234 }]);
  expect(receiver.spec.selector).toEqual({ app: 'notification-controller' });
  expect(receiver.metadata.labels['app.kubernetes.io/part-of']).toBe('flux');
  // The Service points at the port the controller really serves Receivers on.
  const ports = find('Deployment', 'notification-controller').spec.template.spec.containers[0].ports;
  expect(ports).toContainEqual({ containerPort: 9292, name: 'http-webhook', protocol: 'TCP' });
  // Nothing else changed: the events Service stays ClusterIP, Flux's own policy stays.
  expect(find('Service', 'notification-controller').spec.type).toBe('ClusterIP');
  expect(find('NetworkPolicy', 'allow-webhooks')).toBeDefined();
  expect(find('Kustomization', 'flux-system').spec.path).toBe('./dist/clusters/staging');
});

testWith('kubectl', 'kubectl kustomize of flux-system fails before bootstrap has written its gotk files, as README says, and builds once they are there', async () => {
  const ws = workspace(BASE_FLEET);
  await synthesize({ ...ws, secrets: false });
  const fluxSystem = join(ws.distDir, 'clusters', 'staging', 'flux-system');
  const before = spawnSync('kubectl', ['kustomize', fluxSystem], { encoding: 'utf8' });
  expect(before.status).not.toBe(0);
  expect(before.stderr).toContain('gotk-components.yaml');
  for (const file of ['gotk-components.yaml', 'gotk-sync.yaml']) copyFileSync(join(__dirname, 'fixtures', file), join(fluxSystem, file));
  expect(spawnSync('kubectl', ['kustomize', fluxSystem], { encoding: 'utf8' }).status).toBe(0);
});

/** Synthesizes `fleet`, adds bootstrap's files to staging's flux-system, and builds it with kubectl kustomize. */
async function buildFluxSystem(fleet: string): Promise<any[]> {
  const ws = workspace(fleet);
  await synthesize({ ...ws, secrets: false });
  const fluxSystem = join(ws.distDir, 'clusters', 'staging', 'flux-system');
  for (const file of ['gotk-components.yaml', 'gotk-sync.yaml']) {
    copyFileSync(join(__dirname, 'fixtures', file), join(fluxSystem, file));
  }
  return parseAllDocuments(execFileSync('kubectl', ['kustomize', fluxSystem], { encoding: 'utf8' })).map((document) => document.toJS());
}

const withWebhook = (webhook: string) => BASE_FLEET.replace('      nodePort: 31234\n', webhook.split('\n').map((line) => `      ${line}\n`).join(''));

testWith('kubectl', 'kubectl kustomize builds webhook-receiver as a LoadBalancer with its source ranges, annotations, traffic policy and TLS port', async () => {
  const built = await buildFluxSystem(withWebhook([
    'loadBalancer:',
    '  address: hooks.example.com',
    '  sourceRanges: [192.30.252.0/22]',
    '  annotations: {service.beta.kubernetes.io/aws-load-balancer-ssl-cert: "arn:aws:acm:eu-west-1:1:certificate/x"}',
    '  tls: true',
    'externalTrafficPolicy: Local',
  ].join('\n')));
  const receiver = built.find((object) => object.kind === 'Service' && object.metadata.name === 'webhook-receiver');
  expect(receiver.spec.type).toBe('LoadBalancer');
  expect(receiver.spec.externalTrafficPolicy).toBe('Local');
  expect(receiver.spec.loadBalancerSourceRanges).toEqual(['192.30.252.0/22']);
  expect(receiver.metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-ssl-cert']).toBe('arn:aws:acm:eu-west-1:1:certificate/x');
  // The strategic merge keeps bootstrap's port 80 and adds 443, both to the webhook port.
  expect([...receiver.spec.ports].sort((a, b) => a.port - b.port)).toEqual([
    { name: 'http', port: 80, protocol: 'TCP', targetPort: 'http-webhook' },
    { name: 'https', port: 443, protocol: 'TCP', targetPort: 'http-webhook' },
  ]);
  expect(receiver.metadata.labels['app.kubernetes.io/part-of']).toBe('flux');
});

testWith('kubectl', 'kubectl kustomize leaves webhook-receiver a ClusterIP behind a gateway', async () => {
  const built = await buildFluxSystem(withWebhook('gateway: {parentRef: {name: public, namespace: gateway-system}, hostname: hooks.example.com}'));
  const receiver = built.find((object) => object.kind === 'Service' && object.metadata.name === 'webhook-receiver');
  expect(receiver.spec.type).toBe('ClusterIP');
  expect(receiver.spec.ports).toEqual([{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http-webhook' }]);
});
