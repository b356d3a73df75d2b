// Server-side validation of every output: a fleet using all four exposures, every Git host kind,
// every Receiver type the fleet accepts, SOPS, and every app and source option, synthesized as a
// user does; then each file synth writes is dry-run applied with strict field validation by the
// real kube-apiserver, the Gateway API CRDs installed first, and each cluster's flux-system folder
// built with kustomize over bootstrap's files, as the flux-system Kustomization builds it. The real
// cdk8s CLI's `--stdout` is piped to `kubectl apply --dry-run=client -f -`, as cdk8s users do.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ReceiverType } from '../../lib/fleet/model';
import { GENERATED_HEADER } from '../../lib/layout';
import { sopsDecrypt } from '../../lib/secrets/sops';
import { identitiesIn } from '../../lib/secrets/age-identities';
import { foreignLines, runCdk8s } from '../support/cdk8s';
import { runScriptOk } from '../support/cli';
import { workspace } from '../support/tree';
import { bootstrapFiles, controlPlane, crdsEstablished, kubectl, listFiles } from './support';

/** Each exposure with every option, then again with its defaults and plain HTTP: cluster -> its Flux namespace. */
const CLUSTERS = {
  'validate-np': 'e2e-validate-np', 'validate-lb': 'e2e-validate-lb', 'validate-gw': 'e2e-validate-gw', 'validate-ing': 'e2e-validate-ing',
  'validate-np-plain': 'e2e-validate-np-plain', 'validate-lb-plain': 'e2e-validate-lb-plain', 'validate-gw-plain': 'e2e-validate-gw-plain', 'validate-ing-plain': 'e2e-validate-ing-plain',
} as const;
type Cluster = keyof typeof CLUSTERS;
const SOPS_CLUSTER: Cluster = 'validate-np';
const GATEWAY_API_CRDS = join(__dirname, '..', 'fixtures', 'gateway-api', 'httproutes.yaml');
const FIELD_MANAGER = 'flux-infra-e2e-validation';

/** What each cluster's webhook-receiver Service must hold once the flux-system folder is built (bootstrap's ClusterIP behind a route or an Ingress). */
const EXPOSED_SERVICE: Record<Cluster, object> = {
  'validate-np': { spec: { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ port: 80, nodePort: 31280 }] } },
  'validate-lb': {
    metadata: { annotations: { 'service.beta.kubernetes.io/aws-load-balancer-ssl-ports': '443' } },
    spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', loadBalancerSourceRanges: ['198.51.100.0/24'], ports: expect.arrayContaining([expect.objectContaining({ port: 80 }), expect.objectContaining({ port: 443 })]) },
  },
  'validate-gw': { spec: { type: 'ClusterIP', ports: [{ port: 80 }] } },
  'validate-ing': { spec: { type: 'ClusterIP', ports: [{ port: 80 }] } },
  'validate-np-plain': { spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 31281 }] } },
  'validate-lb-plain': { spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } },
  'validate-gw-plain': { spec: { type: 'ClusterIP', ports: [{ port: 80 }] } },
  'validate-ing-plain': { spec: { type: 'ClusterIP', ports: [{ port: 80 }] } },
};

/** The registry and event Receiver types (harbor ... cdevents): the fleet accepts them for a source whose host it cannot tell (git.corp.example). */
const HOSTLESS_TYPES = Object.values(ReceiverType).filter((type) => ![ReceiverType.GITHUB, ReceiverType.GITLAB, ReceiverType.BITBUCKET, ReceiverType.GENERIC, ReceiverType.GENERIC_HMAC, ReceiverType.GENERIC_OIDC].includes(type));

/** Every field docs/fleet-file.md lists, each exposure on its own cluster, every host kind and Receiver type. */
const FLEET = `repository:
  url: https://github.com/acme/fleet
  branch: main
  host: github
  receiver: true
clusters:
  validate-np:
    namespace: ${CLUSTERS['validate-np']}
    webhook:
      nodePort: 31280
      address: 127.0.0.1
      externalTrafficPolicy: Local
      networkPolicy: true
      allowFrom: [192.0.2.0/24, "2001:db8::/32"]
    sources:
      - name: gh
        url: https://github.com/acme/app
        branch: main
        interval: 1h
        timeout: 90s
        secretName: git-auth
        repositoryId: 74
        ownerId: 65
        ignore: |
          /docs
          *.md
      - name: ghe
        url: https://git.corp.example/acme/app
        tag: v1.2.3
        apiUrl: https://git.corp.example/api/v3
      - name: gitea
        url: https://gitea.example.org/acme/app
        host: gitea
        semver: ">=1.0.0 <2.0.0"
      - name: forgejo
        url: https://codeberg.org/acme/app
        commit: 0123456789abcdef0123456789abcdef01234567
      - name: gitlab
        url: https://gitlab.com/acme/app
        branch: release
        interval: 30m
      - name: bitbucket
        url: https://bitbucket.org/acme/app
      - name: over-ssh
        url: ssh://git@git.example.net/acme/app
        host: github
    apps:
      - name: redis
        source: gh
        path: ./deploy/redis
        interval: 1h
        retryInterval: 1m
        timeout: 3m
        prune: false
        wait: false
        targetNamespace: vote
      - name: vote
        source: gitlab
        path: ./deploy/vote
        dependsOn: [redis]
        targetNamespace: vote
      - name: worker
        source: bitbucket
        path: ./deploy/worker
        dependsOn: [redis, vote]
        wait: false
    receivers:
      - name: github
        type: github
        events: [ping, push]
        sources: [gh, ghe, gitea, forgejo, over-ssh]
      - name: gitlab
        events: [Push Hook]
        sources: [gitlab]
      - name: bitbucket
        sources: [bitbucket]
      - name: hmac
        type: generic-hmac
        sources: [gh, gitlab]
      - name: generic
        type: generic
        sources: [bitbucket]
        filter: false
      # generic-oidc: one provider per issuer (GitHub Actions, gitlab.com, a GitHub Enterprise Server), then every oidc option.
      - name: oidc
        type: generic-oidc
        sources: [gh, gitlab, over-ssh]
      - name: oidc-options
        type: generic-oidc
        sources: [gh]
        oidc:
          audience: validate/oidc-options
          issuer: https://token.validate.example
          allowPlainHttp: true
${HOSTLESS_TYPES.map((type) => `      - name: ${type}\n        type: ${type}\n        sources: [ghe]\n`).join('')}
  validate-lb:
    namespace: ${CLUSTERS['validate-lb']}
    webhook:
      loadBalancer:
        address: lb.validate.example
        sourceRanges: [198.51.100.0/24]
        annotations:
          service.beta.kubernetes.io/aws-load-balancer-ssl-cert: "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
          service.beta.kubernetes.io/aws-load-balancer-ssl-ports: "443"
        tls: true
      externalTrafficPolicy: Local
    sources:
      - name: app
        url: https://github.com/acme/app
    apps:
      - name: app
        source: app
        path: ./deploy
    receivers:
      - name: app
        sources: [app]
  validate-gw:
    namespace: ${CLUSTERS['validate-gw']}
    webhook:
      gateway:
        parentRef: {name: public, namespace: gateway-system, sectionName: https, port: 443}
        hostname: gw.validate.example
        tls: true
      networkPolicy: true
      allowFrom: [10.0.0.0/8]
    sources:
      - name: app
        url: https://gitlab.com/acme/app
    apps:
      - name: app
        source: app
        path: ./deploy
    receivers:
      - name: app
        sources: [app]
  validate-ing:
    namespace: ${CLUSTERS['validate-ing']}
    webhook:
      ingress:
        className: traefik
        hostname: ing.validate.example
        tls: {secretName: hooks-tls, clusterIssuer: letsencrypt}
        annotations:
          traefik.ingress.kubernetes.io/router.entrypoints: websecure
    sources:
      - name: app
        url: https://bitbucket.org/acme/app
    apps:
      - name: app
        source: app
        path: ./deploy
    receivers:
      - name: app
        sources: [app]
  validate-np-plain:
    namespace: ${CLUSTERS['validate-np-plain']}
    webhook:
      nodePort: 31281
      networkPolicy: false
    sources:
      - name: app
        url: https://gitea.com/acme/app
  validate-lb-plain:
    namespace: ${CLUSTERS['validate-lb-plain']}
    webhook:
      loadBalancer: {}
    sources:
      - name: app
        url: https://codeberg.org/acme/app
    receivers:
      - name: app
        sources: [app]
        filter: false
  validate-gw-plain:
    namespace: ${CLUSTERS['validate-gw-plain']}
    webhook:
      gateway:
        parentRef: {name: public}
        hostname: gw-plain.validate.example
        tls: false
    sources:
      - name: app
        url: https://github.com/acme/app
        tag: v1.0.0
    receivers:
      - name: app
        sources: [app]
  validate-ing-plain:
    namespace: ${CLUSTERS['validate-ing-plain']}
    webhook:
      ingress:
        hostname: ing-plain.validate.example
        tls: false
    sources:
      - name: app
        url: https://gitlab.com/acme/app
        semver: "~1.2"
    receivers:
      - name: app
        sources: [app]
`;

/**
 * Dry-runs `manifests` (a file or stdin) with strict field validation: the objects as the server
 * would store them, or an Error naming `what` with the server's message. A warning the server
 * sends (a deprecated field, an unknown annotation) fails it too.
 */
function dryRun(what: string, manifests: { file: string } | { stdin: string }): any[] {
  const args = ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--dry-run=server', '--validate=strict', '-o', 'json', '-f', 'file' in manifests ? manifests.file : '-'];
  const result = spawnSync('kubectl', args, { env: { ...process.env, KUBECONFIG: controlPlane().kubeconfig }, input: 'stdin' in manifests ? manifests.stdin : undefined, encoding: 'utf8' });
  if (result.status !== 0 || result.stderr.trim() !== '') throw new Error(`the API server refused ${what}: ${(result.stderr || result.error?.message || '').trim()}`);
  const answer = JSON.parse(result.stdout);
  return answer.kind === 'List' ? answer.items : [answer];
}

/** kind/namespace/name of each object, as a file names them or the server answers. */
function namesOf(objects: any[]): string[] {
  return objects.map((object) => `${object.kind}/${object.metadata.namespace}/${object.metadata.name}`);
}

/** The objects of a multi-document YAML text. */
function objectsOf(text: string): any[] {
  return parseAllDocuments(text).map((document) => document.toJS()).filter((object) => object !== null);
}

/** Every namespaced object in `namespace`, as kind/name: what a dry-run must never leave behind. */
function objectsIn(namespace: string): string[] {
  const kinds = kubectl(['api-resources', '--verbs=list', '--namespaced', '-o', 'name']).trim().split('\n');
  const out = kubectl(['get', kinds.join(','), '-n', namespace, '-o', 'name', '--ignore-not-found']).trim();
  return out === '' ? [] : out.split('\n');
}

/**
 * Deletes a namespace this scenario made. No kube-controller-manager runs here, so nothing would
 * remove the namespace's `kubernetes` finalizer: with nothing in it (checked first, by a test) the
 * finalize call does what the namespace controller would.
 */
function deleteNamespace(namespace: string): void {
  kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
  try {
    kubectl(['replace', '--raw', `/api/v1/namespaces/${namespace}/finalize`, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace }, spec: { finalizers: [] } }));
  } catch (error) {
    if (!/NotFound|not found/.test((error as Error).message)) throw error;
  }
}

// synth runs while jest collects the tests, so that test.each can name every file it wrote.
const ws = workspace(FLEET);
runScriptOk(ws, 'secrets', ['age-key', SOPS_CLUSTER, '--write-fleet']);
runScriptOk(ws, 'synth', []);
const distFiles = listFiles(ws.distDir).sort();
/** The manifests kubectl applies as they are: every YAML file but the flux-system folders (a kustomize input) and the SOPS file (below). */
const manifestFiles = distFiles.filter((file) => file.endsWith('.yaml') && basename(dirname(file)) !== 'flux-system' && !file.endsWith('.sops.yaml'));
/** A cluster without apps still gets apps.yaml, holding no object: kubectl refuses to apply nothing (before any request), kustomize (Flux) takes it as empty. */
const emptyFiles = manifestFiles.filter((file) => objectsOf(readFileSync(join(ws.distDir, file), 'utf8')).length === 0);
/** Synth's token Secret manifests for the clusters without sops, written to secrets/ for `kubectl apply -f`. */
const secretFiles = listFiles(ws.secretsDir).filter((file) => file.endsWith('webhook-token-secret.yaml')).sort();

describe('server-side validation of every output', () => {
  beforeAll(async () => {
    kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--force-conflicts', '-f', GATEWAY_API_CRDS]);
    await crdsEstablished(['httproutes.gateway.networking.k8s.io']);
    for (const namespace of Object.values(CLUSTERS)) {
      kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }));
    }
  });

  afterAll(() => {
    try {
      for (const namespace of Object.values(CLUSTERS)) deleteNamespace(namespace);
    } finally {
      rmSync(ws.root, { recursive: true, force: true });
    }
  });

  test('the fleet makes every kind of file synth writes', () => {
    const kinds = new Set(distFiles.map((file) => file.split('/').slice(2).join('/')));
    expect([...kinds].sort()).toEqual([
      'README.md', 'apps.yaml', 'flux-system/kustomization.yaml', 'flux-system/webhook-receiver-service.yaml', 'receivers.yaml', 'sources.yaml',
      'webhook-http-route.yaml', 'webhook-ingress.yaml', 'webhook-network-policy.yaml', 'webhook-token-secret.sops.yaml',
    ]);
    expect(secretFiles.map((file) => dirname(file)).sort()).toEqual(Object.keys(CLUSTERS).filter((cluster) => cluster !== SOPS_CLUSTER).sort());
    const receivers = readFileSync(join(ws.distDir, 'clusters', 'validate-np', 'receivers.yaml'), 'utf8');
    for (const type of Object.values(ReceiverType)) expect(receivers).toContain(`type: ${type}\n`);
  });

  test('strict validation is on: the server refuses an unknown field', () => {
    const bad = { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'bad', namespace: CLUSTERS['validate-np'] }, spec: { url: 'https://github.com/acme/app', interval: '1h', intervall: '1h' } };
    expect(() => dryRun('a GitRepository with a misspelt field', { stdin: JSON.stringify(bad) })).toThrow(/intervall/);
  });

  test('the files without objects are the apps.yaml of the clusters without apps, holding only the header', () => {
    expect(emptyFiles).toEqual(Object.keys(CLUSTERS).filter((cluster) => cluster.endsWith('-plain')).sort().map((cluster) => `clusters/${cluster}/apps.yaml`));
    for (const file of emptyFiles) expect(readFileSync(join(ws.distDir, file), 'utf8').trim()).toBe(GENERATED_HEADER);
  });

  test.each(manifestFiles.filter((file) => !emptyFiles.includes(file)))('dist/%s is accepted by the API server', (file) => {
    const path = join(ws.distDir, file);
    const accepted = dryRun(`dist/${file}`, { file: path });
    expect(namesOf(accepted)).toEqual(namesOf(objectsOf(readFileSync(path, 'utf8'))));
  });

  test('cdk8s synth --stdout (the real CLI, this project\'s app) piped to kubectl apply --dry-run=client -f -: every manifest accepted, no warning', () => {
    const root = join(__dirname, '..', '..');
    const app = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.synth.replace('tools/launch.cjs', join(root, 'tools', 'launch.cjs'));
    const cli = runCdk8s(ws, ['synth', '--stdout', '--no-check-upgrade', '--app', app]);
    expect({ status: cli.status, foreign: foreignLines(cli.stderr) }).toEqual({ status: 0, foreign: [] });
    const applied = spawnSync('kubectl', ['apply', '--dry-run=client', '-o', 'json', '-f', '-'], { env: { ...process.env, KUBECONFIG: controlPlane().kubeconfig }, input: cli.stdout, encoding: 'utf8' });
    expect({ status: applied.status, stderr: applied.stderr }).toEqual({ status: 0, stderr: '' });
    const answer = JSON.parse(applied.stdout);
    const expected = manifestFiles.flatMap((file) => objectsOf(readFileSync(join(ws.distDir, file), 'utf8')));
    expect(namesOf(answer.kind === 'List' ? answer.items : [answer]).sort()).toEqual(namesOf(expected).sort());
  });

  test.each(secretFiles)('secrets/%s (the token Secret for kubectl apply) is accepted by the API server', (file) => {
    const accepted = dryRun(`secrets/${file}`, { file: join(ws.secretsDir, file) });
    expect(namesOf(accepted)).toEqual([`Secret/${CLUSTERS[dirname(file) as Cluster]}/webhook-token`]);
  });

  test.each(Object.keys(CLUSTERS) as Cluster[])('dist/clusters/%s/flux-system, built with kustomize over bootstrap\'s files, is accepted by the API server', (cluster) => {
    // As the flux-system Kustomization builds it: bootstrap's gotk files beside synth's kustomization.yaml and patch.
    const folder = mkdtempSync(join(tmpdir(), 'flux-infra-e2e-validate-'));
    try {
      const synthesized = join(ws.distDir, 'clusters', cluster, 'flux-system');
      for (const file of listFiles(synthesized)) writeFileSync(join(folder, file), readFileSync(join(synthesized, file)));
      const bootstrap = bootstrapFiles({ namespace: CLUSTERS[cluster], fleetUrl: 'https://github.com/acme/fleet', clusterPath: `./clusters/${cluster}`, secretName: 'flux-system' });
      for (const [file, content] of Object.entries(bootstrap)) writeFileSync(join(folder, file), content);
      const built = kubectl(['kustomize', folder]);
      const accepted = dryRun(`the kustomize build of dist/clusters/${cluster}/flux-system`, { stdin: built });
      expect(namesOf(accepted)).toEqual(namesOf(objectsOf(built)));
      // Our patches reached bootstrap's objects, as the server has them.
      const service = accepted.find((object) => object.kind === 'Service' && object.metadata.name === 'webhook-receiver');
      expect(service).toMatchObject(EXPOSED_SERVICE[cluster]);
      const root = accepted.find((object) => object.kind === 'Kustomization' && object.metadata.name === 'flux-system');
      expect(root.spec.decryption).toEqual(cluster === SOPS_CLUSTER ? { provider: 'sops', secretRef: { name: 'sops-age' } } : undefined);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test(`dist/clusters/${SOPS_CLUSTER}/webhook-token-secret.sops.yaml, decrypted as kustomize-controller does, is accepted by the API server`, async () => {
    const file = join(ws.distDir, 'clusters', SOPS_CLUSTER, 'webhook-token-secret.sops.yaml');
    const encrypted = readFileSync(file, 'utf8');
    // The file as committed is for kustomize-controller, which decrypts it and drops the sops:
    // block before applying; kubectl would send that block and strict validation refuses it.
    expect(() => dryRun('the encrypted Secret as committed', { file })).toThrow(/\.sops: field not declared in schema/);
    const identities = identitiesIn(readFileSync(join(ws.secretsDir, SOPS_CLUSTER, 'age.agekey'), 'utf8'));
    const { documents } = await sopsDecrypt(encrypted, identities);
    expect(documents).toHaveLength(1);
    const token = readFileSync(join(ws.secretsDir, SOPS_CLUSTER, 'webhook-token'), 'utf8').trim();
    expect(documents[0].stringData.token).toBe(token);
    const accepted = dryRun(`the decrypted dist/clusters/${SOPS_CLUSTER}/webhook-token-secret.sops.yaml`, { stdin: JSON.stringify(documents[0]) });
    expect(namesOf(accepted)).toEqual([`Secret/${CLUSTERS[SOPS_CLUSTER]}/webhook-token`]);
  });

  test('the dry-runs left the cluster unchanged: nothing in the scenario\'s namespaces', () => {
    for (const namespace of Object.values(CLUSTERS)) expect({ namespace, objects: objectsIn(namespace) }).toEqual({ namespace, objects: [] });
  });
});
