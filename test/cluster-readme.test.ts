import { App } from 'cdk8s';
import { clusterReadme } from '../lib/output/cluster-readme';
import { FluxCluster } from '../lib/constructs/flux-cluster';

import { TOKEN } from './support/synth';
import { GENERATED_MARKDOWN_HEADER } from '../lib/layout';
import { ClusterConfig, ReceiverType } from '../lib/fleet/model';

function readmeOf(sops: boolean): string {
  const cluster = new FluxCluster(new App(), 'staging', {
    webhookToken: TOKEN,
    config: {
      name: 'staging',
      webhook: { nodePort: 31234, address: '203.0.113.10' },
      sources: [
        { name: 'instavote', url: 'https://github.com/lfs269/instavote', interval: '1h' },
        { name: 'infra', url: 'https://github.com/org/infra', tag: 'v2.0.0' },
      ],
      apps: [
        { name: 'redis', source: 'infra', path: './redis' },
        { name: 'vote-staging', source: 'instavote', path: './deploy/vote/staging', dependsOn: ['redis'] },
        { name: 'result-staging', source: 'instavote', path: './deploy/result/staging', interval: '2h', prune: false },
      ],
      receivers: [{ name: 'instavote', sources: ['instavote'] }, { name: 'infra', sources: ['infra'], events: ['push'] }],
      sops: sops ? { ageRecipients: ['age1rcdf89j5etn82nxsp8v82ax8felj9vuhu4sqczet2nhmtssrhurqpglwf9'] } : undefined,
    },
  });
  return clusterReadme(cluster);
}

test('the diagram shows the chain: repository -> NodePort Service -> Receiver -> GitRepository -> every Kustomization', () => {
  const readme = readmeOf(false);
  expect(readme.startsWith(`${GENERATED_MARKDOWN_HEADER}\n# Cluster staging\n`)).toBe(true);
  const diagram = /```mermaid\n([\s\S]*?)```/.exec(readme)![1];
  expect(diagram).toMatch(/^flowchart LR\n/);
  for (const text of [
    'GitHub repository<br/>https://github.com/lfs269/instavote', 'NodePort 31234 → http-webhook',
    'Receiver instavote<br/>github: ping, push', 'Receiver infra<br/>github: push',
    'GitRepository instavote<br/>branch main<br/>polls every 1h', 'GitRepository infra<br/>tag v2.0.0<br/>polls every 30m',
    'Kustomization redis<br/>./redis<br/>every 1h, prune', 'Kustomization vote-staging<br/>./deploy/vote/staging',
    'Kustomization result-staging<br/>./deploy/result/staging<br/>every 2h"',
  ]) {
    expect(diagram).toContain(text);
  }
  expect(diagram).toContain('repo_0 -->|"push: POST :31234/hook/..."| svc');
  expect(diagram).toContain('svc --> rcv_instavote');
  expect(diagram).toContain('rcv_instavote -->|reconcile now| src_instavote');
  for (const app of ['vote_staging', 'result_staging']) expect(diagram).toContain(`src_instavote --> app_${app}`);
  expect(diagram).toContain('src_infra --> app_redis');
  expect(diagram).toContain('app_vote_staging -.->|dependsOn| app_redis');
  expect(readme).toContain('| infra | GitRepository infra | push |');
});

test('holds no secret and no webhook path, and the checklist fits how the token reaches the cluster', () => {
  for (const sops of [false, true]) {
    const readme = readmeOf(sops);
    expect(readme).not.toContain(TOKEN);
    expect(readme).not.toMatch(/\/hook\/[0-9a-f]{8,}/);
    expect(readme).toContain(sops ? 'create secret generic sops-age' : 'kubectl apply -f secrets/staging/webhook-token-secret.yaml');
    expect(readme).toContain('npm run webhook -- ping staging');
  }
});

describe('the setup checklist', () => {
  const clusterWith = (fleetRepository?: ClusterConfig['fleetRepository'], urls = ['https://github.com/lfs269/instavote']) => new FluxCluster(new App(), 'staging', {
    webhookToken: TOKEN,
    config: {
      name: 'staging',
      webhook: { nodePort: 31234, address: '203.0.113.10' },
      sources: urls.map((url, index) => ({ name: `app${index}`, url })),
      apps: [],
      receivers: urls.map((url, index) => ({ name: `app${index}`, sources: [`app${index}`], type: url.includes('gitlab') ? ReceiverType.GITLAB : ReceiverType.GITHUB })),
      fleetRepository,
    },
  });

  test.each([
    ['no repository: placeholders, and how to fill them', undefined,
      'flux bootstrap github --owner=<owner> --repository=<the fleet repository> --branch=main --path=dist/clusters/staging'],
    ['a GitHub repository', { url: 'https://github.com/acme/fleet' },
      'flux bootstrap github --owner=acme --repository=fleet --branch=main --path=dist/clusters/staging'],
    ['another branch, and .git', { url: 'https://github.com/acme/fleet.git', branch: 'prod' },
      'flux bootstrap github --owner=acme --repository=fleet --branch=prod --path=dist/clusters/staging'],
    ['a self-hosted GitLab with nested groups', { url: 'https://git.example.org/platform/infra/fleet', host: 'gitlab' as const },
      'flux bootstrap gitlab --hostname=git.example.org --owner=platform/infra --repository=fleet --branch=main --path=dist/clusters/staging'],
    ['Codeberg (Forgejo)', { url: 'https://codeberg.org/acme/fleet' },
      'flux bootstrap gitea --hostname=codeberg.org --owner=acme --repository=fleet --branch=main --path=dist/clusters/staging'],
    ['Bitbucket, which has no subcommand of its own', { url: 'https://bitbucket.org/acme/fleet' },
      'flux bootstrap git --url=https://bitbucket.org/acme/fleet --branch=main --path=dist/clusters/staging'],
    ['a host the fleet does not name', { url: 'ssh://git@git.example.org/acme/fleet.git' },
      'flux bootstrap git --url=ssh://git@git.example.org/acme/fleet.git --branch=main --path=dist/clusters/staging'],
  ])('bootstraps on the fleet repository: %s', (_what, repository, command) => {
    const readme = clusterReadme(clusterWith(repository));
    expect(readme).toContain(`bootstrap Flux on this directory: \`${command}\``);
    expect(readme.includes('set the fleet\'s `repository:`')).toBe(repository === undefined);
  });

  test('names the secret field and the events in each host\'s words, with nothing doubled', () => {
    expect(clusterReadme(clusterWith())).toContain('content type `application/json`, the token in the "Secret" field, and "Just the push event" for the events.');
    const both = clusterReadme(clusterWith(undefined, ['https://github.com/acme/app', 'https://gitlab.com/acme/lib']));
    expect(both).toContain('on GitHub, the token in the "Secret" field, and "Just the push event" for the events; on GitLab, the token in the "Secret token" field, and "Push events and Tag push events" for the events.');
    expect(both).not.toMatch(/GitHub: Secret|GitHub: Just/);
  });
});
