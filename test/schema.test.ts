import { App, JsonPatch, Testing } from 'cdk8s';
import { Service } from 'kubernetes-models/v1/Service';
import { Secret } from 'kubernetes-models/v1/Secret';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { GitRepository as GitRepositoryModel } from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository';
import { Kustomization as KustomizationModel } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization';
import { Receiver as ReceiverModel } from '@kubernetes-models/flux-cd/notification.toolkit.fluxcd.io/v1/Receiver';
import { parseAllDocuments } from 'yaml';
import { GitRepository } from '../imports/source.toolkit.fluxcd.io';
import { Kustomization } from '../imports/kustomize.toolkit.fluxcd.io';
import { Receiver } from '../imports/notification.toolkit.fluxcd.io';
import { FluxCluster } from '../lib/constructs/flux-cluster';
import { renderManifestFiles } from '../lib/output/render';
import { TOKEN } from './support/synth';

const VALIDATORS: Record<string, new (data: any) => { validate(): void }> = {
  'source.toolkit.fluxcd.io/v1/GitRepository': GitRepositoryModel,
  'kustomize.toolkit.fluxcd.io/v1/Kustomization': KustomizationModel,
  'notification.toolkit.fluxcd.io/v1/Receiver': ReceiverModel,
  'v1/Service': Service,
  'v1/Secret': Secret,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

test('every object FluxCluster synthesizes passes the Flux and Kubernetes schema validators', () => {
  const app = new App();
  const cluster = new FluxCluster(app, 'staging', {
    webhookToken: TOKEN,
    config: {
      name: 'staging',
      sources: [
        { name: 'instavote', url: 'https://github.com/lfs269/instavote', interval: '1h', timeout: '2m', secretName: 'git-auth', ignore: '/docs' },
        { name: 'infra', url: 'ssh://git@github.com/org/infra', commit: 'a'.repeat(40) },
      ],
      apps: [
        { name: 'db', source: 'infra', path: './db' },
        { name: 'vote-staging', source: 'instavote', path: './deploy/vote/staging', interval: '1h', retryInterval: '5m', timeout: '3m', targetNamespace: 'vote', dependsOn: ['db'], prune: true, wait: false },
      ],
      receivers: [{ name: 'instavote', sources: ['instavote', 'infra'] }],
      webhook: { nodePort: 31234, allowFrom: ['192.30.252.0/22'] },
    },
  });
  const kinds: string[] = [];
  const objects = renderManifestFiles(cluster).flatMap((file) => parseAllDocuments(file.content).map((document) => document.toJS()));
  for (const object of objects) {
    const key = `${object.apiVersion}/${object.kind}`;
    kinds.push(key);
    if (key === 'kustomize.config.k8s.io/v1beta1/Kustomization') continue;
    expect(VALIDATORS[key]).toBeDefined();
    expect(() => new VALIDATORS[key](object).validate()).not.toThrow();
  }
  expect(kinds.sort()).toEqual([
    'kustomize.config.k8s.io/v1beta1/Kustomization', 'kustomize.toolkit.fluxcd.io/v1/Kustomization', 'kustomize.toolkit.fluxcd.io/v1/Kustomization',
    'networking.k8s.io/v1/NetworkPolicy', 'notification.toolkit.fluxcd.io/v1/Receiver',
    'source.toolkit.fluxcd.io/v1/GitRepository', 'source.toolkit.fluxcd.io/v1/GitRepository', 'v1/Secret', 'v1/Service',
  ]);
});

describe('the Flux L1 bindings reject what the API server would drop or refuse', () => {
  test('fails on an unknown spec field, even nested, naming it', () => {
    const chart = Testing.chart();
    const repo = new GitRepository(chart, 'repo', { metadata: { name: 'r' }, spec: { url: 'https://h/r', interval: '1m' } });
    repo.addJsonPatch(JsonPatch.add('/spec/intreval', '1m'), JsonPatch.add('/spec/ref', { branch: 'main', brnach: 'x' }));
    expect(() => Testing.synth(chart)).toThrow(/GitRepository r: spec\.intreval is not a field of source\.toolkit\.fluxcd\.io\/v1 GitRepository[\s\S]*spec\.ref\.brnach is not a field/);
  });

  test('fails on unknown fields in lists', () => {
    const chart = Testing.chart();
    new Receiver(chart, 'rcv', {
      metadata: { name: 'rcv' },
      spec: { type: 'github', secretRef: { name: 't' }, resources: [{ kind: 'GitRepository', name: 'a', nmae: 'b' } as any] },
    });
    expect(() => Testing.synth(chart)).toThrow(/Receiver rcv: spec\.resources\[0\]\.nmae is not a field/);
  });

  test('fails on a wrong type, a bad enum and a missing required field, naming each', () => {
    const chart = Testing.chart();
    new Kustomization(chart, 'k', { metadata: { name: 'k' }, spec: { interval: '1h', prune: 'yes' as any, sourceRef: { kind: 'Git' as any, name: 's' } } });
    expect(() => Testing.synth(chart)).toThrow(/Kustomization k: spec\.prune must be boolean[\s\S]*spec\.sourceRef\.kind must be equal to one of the allowed values \(one of: OCIRepository, GitRepository, Bucket/);
  });

  test('accepts every field the package types know', () => {
    const chart = Testing.chart();
    new Kustomization(chart, 'k', {
      metadata: { name: 'k' },
      spec: {
        interval: '1h', prune: true, sourceRef: { kind: 'GitRepository', name: 's' },
        postBuild: { substitute: { any_key: 'v' }, substituteFrom: [{ kind: 'ConfigMap', name: 'vars', optional: true }] },
        patches: [{ patch: '- op: add', target: { kind: 'Deployment', labelSelector: 'a=b' } }],
        commonMetadata: { labels: { team: 'vote' } },
      },
    });
    expect(() => Testing.synth(chart)).not.toThrow();
  });
});
