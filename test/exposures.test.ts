import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, JsonPatch, Testing } from 'cdk8s';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { Service } from 'kubernetes-models/v1/Service';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { parse, parseAllDocuments, parseDocument } from 'yaml';
import { FluxCluster } from '../lib/constructs/flux-cluster';
import { WebhookHttpRoute } from '../lib/constructs/webhook-http-route';
import { WebhookIngress } from '../lib/constructs/webhook-ingress';
import { WebhookReceiverService } from '../lib/constructs/webhook-receiver-service';
import { webhookPath } from '../lib/constructs/webhook-path';
import { ClusterConfig, WebhookExposureConfig } from '../lib/fleet/model';
import { clusterReadme } from '../lib/output/cluster-readme';
import { renderManifestFiles } from '../lib/output/render';
import { synthesize } from '../lib/synth';
import { payloadUrls } from '../tools/webhook/url';
import { crdValidator } from './support/crd';
import { BASE_FLEET } from './support/fleet';
import { TOKEN } from './support/synth';
import { workspace } from './support/tree';

const validateHttpRoute = crdValidator(join(__dirname, 'fixtures', 'gateway-api', 'httproutes.yaml'));

const EXPOSURES: Record<string, WebhookExposureConfig> = {
  'node-port': { nodePort: 31234, address: '203.0.113.10', externalTrafficPolicy: 'Local', allowFrom: ['192.30.252.0/22'] },
  'load-balancer': {
    loadBalancer: { address: 'lb.example.com', sourceRanges: ['192.30.252.0/22', '2606:50c0::/32'], annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' }, tls: true },
    externalTrafficPolicy: 'Local',
  },
  gateway: { gateway: { parentRef: { name: 'public', namespace: 'gateway-system', sectionName: 'https' }, hostname: 'flux-hooks.example.com' } },
  ingress: { ingress: { className: 'traefik', hostname: 'flux-hooks.example.org', tls: { secretName: 'flux-hooks-tls', clusterIssuer: 'letsencrypt' } } },
};

/** The fleet file: BASE_FLEET's staging once per exposure, each cluster named after its exposure. */
function fleetOfEveryExposure(): string {
  const document = parseDocument(BASE_FLEET);
  const staging = document.getIn(['clusters', 'staging']) as any;
  document.deleteIn(['clusters', 'staging']);
  for (const [name, webhook] of Object.entries(EXPOSURES)) {
    const cluster = staging.clone();
    cluster.set('webhook', document.createNode(webhook));
    document.setIn(['clusters', name], cluster);
  }
  return document.toString();
}

function clusterOf(webhook: WebhookExposureConfig): { objects: any[]; cluster: FluxCluster } {
  const config: ClusterConfig = {
    name: 'staging',
    webhook,
    sources: [{ name: 'instavote', url: 'https://github.com/lfs269/instavote' }],
    apps: [],
    receivers: [{ name: 'instavote', sources: ['instavote'] }],
  };
  const cluster = new FluxCluster(new App(), 'staging', { config, webhookToken: TOKEN });
  const objects = renderManifestFiles(cluster).filter((file) => file.path.endsWith('.yaml')).flatMap((file) => parseAllDocuments(file.content).map((document) => document.toJS()));
  return { objects, cluster };
}

const find = (objects: any[], kind: string) => objects.filter((object) => object.kind === kind);

describe('a fleet with one cluster of each exposure', () => {
  test('synthesizes each exposure\'s objects, and only those', async () => {
    const ws = workspace(fleetOfEveryExposure());
    await synthesize({ ...ws, secrets: false });
    const files = (cluster: string) => ['flux-system/webhook-receiver-service.yaml', 'webhook-network-policy.yaml', 'webhook-http-route.yaml', 'webhook-ingress.yaml']
      .filter((file) => existsSync(join(ws.distDir, 'clusters', cluster, file)));
    expect(files('node-port')).toEqual(['flux-system/webhook-receiver-service.yaml', 'webhook-network-policy.yaml']);
    expect(files('load-balancer')).toEqual(['flux-system/webhook-receiver-service.yaml', 'webhook-network-policy.yaml']);
    expect(files('gateway')).toEqual(['webhook-http-route.yaml']);
    expect(files('ingress')).toEqual(['webhook-ingress.yaml']);
    // Gateway and Ingress leave bootstrap's Service as it is: flux-system patches nothing.
    const fluxSystem = parse(readFileSync(join(ws.distDir, 'clusters', 'gateway', 'flux-system', 'kustomization.yaml'), 'utf8'));
    expect(fluxSystem.patches).toBeUndefined();
  });

  test('url prints https://<hostname>/hook/<sha256(token+name+namespace)> for gateway and ingress, and the address for the others', async () => {
    const ws = workspace(fleetOfEveryExposure());
    const env = Object.fromEntries(Object.keys(EXPOSURES).map((name) => [`FLUX_INFRA_WEBHOOK_TOKEN_${name.toUpperCase().replace(/-/g, '_')}`, TOKEN]));
    const path = webhookPath(TOKEN, 'instavote', 'flux-system');
    const urlOf = async (cluster: string) => (await payloadUrls(cluster, { ...ws, env })).receivers[0].url;
    expect(await urlOf('gateway')).toBe(`https://flux-hooks.example.com${path}`);
    expect(await urlOf('ingress')).toBe(`https://flux-hooks.example.org${path}`);
    expect(await urlOf('load-balancer')).toBe(`https://lb.example.com${path}`);
    expect(await urlOf('node-port')).toBe(`http://203.0.113.10:31234${path}`);
  });
});

describe('gateway', () => {
  test('makes an HTTPRoute that the Gateway API v1.6 CRD accepts, unknown fields counted as errors', () => {
    const { objects } = clusterOf(EXPOSURES.gateway);
    const [route] = find(objects, 'HTTPRoute');
    expect(validateHttpRoute(route)).toEqual([]);
    expect(route).toEqual({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'webhook-receiver', namespace: 'flux-system' },
      spec: {
        parentRefs: [{ name: 'public', namespace: 'gateway-system', sectionName: 'https' }],
        hostnames: ['flux-hooks.example.com'],
        // No rewrite filter: notification-controller matches the exact URI.
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/hook/' } }], backendRefs: [{ name: 'webhook-receiver', port: 80 }] }],
      },
    });
    expect(find(objects, 'NetworkPolicy')).toEqual([]);
    expect(find(objects, 'Service')).toEqual([]);
  });

  test('the CRD check itself catches an unknown field, a wrong enum and a missing name', () => {
    const { objects } = clusterOf(EXPOSURES.gateway);
    const route = structuredClone(find(objects, 'HTTPRoute')[0]);
    route.spec.rules[0].matches[0].path.type = 'Prefix';
    route.spec.parentRefs[0].sectionname = 'https';
    delete route.spec.parentRefs[0].name;
    expect(validateHttpRoute(route)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^\/spec\/parentRefs\/0 must NOT have additional properties: sectionname$/),
      expect.stringMatching(/^\/spec\/parentRefs\/0 must have required property 'name'$/),
      expect.stringMatching(/^\/spec\/rules\/0\/matches\/0\/path\/type must be equal to one of the allowed values$/),
    ]));
  });

  test('the binding refuses at synth what the API server would drop, experimental-channel fields included', () => {
    const chart = Testing.chart();
    const route = new WebhookHttpRoute(chart, 'route', { parentRef: { name: 'public' }, hostname: 'hooks.example.com' });
    route.resource.addJsonPatch(JsonPatch.add('/spec/rules/0/matchs', []), JsonPatch.add('/spec/rules/0/retry', { attempts: 2 }));
    expect(() => Testing.synth(chart)).toThrow(/HTTPRoute webhook-receiver: spec\.rules\[0\]\.matchs is not a field of gateway\.networking\.k8s\.io\/v1 HTTPRoute[\s\S]*spec\.rules\[0\]\.retry is not a field/);
    // The standard-channel CRD agrees: retry is unknown to it.
    const object = structuredClone(clusterOf(EXPOSURES.gateway).objects.find((candidate) => candidate.kind === 'HTTPRoute'));
    object.spec.rules[0].retry = { attempts: 2 };
    expect(validateHttpRoute(object)).toContain('/spec/rules/0 must NOT have additional properties: retry');
  });

  test('FluxCluster refuses a webhook block with two exposures, as the fleet file does', () => {
    expect(() => clusterOf({ nodePort: 31234, gateway: { parentRef: { name: 'public' }, hostname: 'hooks.example.com' } } as unknown as WebhookExposureConfig))
      .toThrow('webhook: gateway nodePort and gateway are both given, but a cluster\'s Receivers are reached one way: keep one');
  });

  test('adds our NetworkPolicy only when asked, for a gateway that forwards from outside the pod network', () => {
    const { objects } = clusterOf({ ...EXPOSURES.gateway, networkPolicy: true, allowFrom: ['10.20.0.0/16'] });
    const [policy] = find(objects, 'NetworkPolicy');
    expect(policy.spec.ingress[0].from).toEqual([{ ipBlock: { cidr: '10.20.0.0/16' } }]);
  });

  test('refuses a wildcard host name, an IP address and a bad parentRef at construct time', () => {
    const make = (hostname: string, name = 'public') => () => new WebhookHttpRoute(Testing.chart(), 'r', { parentRef: { name, port: 70000 }, hostname });
    expect(make('*.example.com')).toThrow('WebhookHttpRoute: hostname "*.example.com" is a wildcard');
    expect(make('10.0.0.1', 'Public')).toThrow(/hostname "10\.0\.0\.1" is an IP address.*; parentRef\.name "Public" is not a valid RFC 1123 name.*; parentRef\.port 70000 is not a port/);
  });

  test('puts the listener port into the Payload URL, and plain http when tls is false', () => {
    const path = webhookPath(TOKEN, 'instavote', 'flux-system');
    expect(clusterOf({ gateway: { parentRef: { name: 'public', port: 8443 }, hostname: 'hooks.example.com' } }).cluster.exposure.payloadUrl(path)).toBe(`https://hooks.example.com:8443${path}`);
    expect(clusterOf({ gateway: { parentRef: { name: 'public', port: 80 }, hostname: 'hooks.example.com', tls: false } }).cluster.exposure.payloadUrl(path)).toBe(`http://hooks.example.com${path}`);
  });
});

describe('ingress', () => {
  test('makes an Ingress that the Kubernetes schema accepts: /hook/ Prefix, TLS hosts, cert-manager annotation', () => {
    const { objects } = clusterOf(EXPOSURES.ingress);
    const [ingress] = find(objects, 'Ingress');
    expect(() => new Ingress(ingress).validate()).not.toThrow();
    expect(ingress).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'webhook-receiver', namespace: 'flux-system', annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' } },
      spec: {
        ingressClassName: 'traefik',
        tls: [{ hosts: ['flux-hooks.example.org'], secretName: 'flux-hooks-tls' }],
        rules: [{
          host: 'flux-hooks.example.org',
          http: { paths: [{ path: '/hook/', pathType: 'Prefix', backend: { service: { name: 'webhook-receiver', port: { number: 80 } } } }] },
        }],
      },
    });
    expect(find(objects, 'NetworkPolicy')).toEqual([]);
  });

  test('without tls uses the controller\'s default certificate; with tls: false has no TLS and an http URL', () => {
    const path = webhookPath(TOKEN, 'instavote', 'flux-system');
    const byDefault = clusterOf({ ingress: { hostname: 'hooks.example.com' } });
    expect(find(byDefault.objects, 'Ingress')[0].spec.tls).toEqual([{ hosts: ['hooks.example.com'] }]);
    expect(byDefault.cluster.exposure.payloadUrl(path)).toBe(`https://hooks.example.com${path}`);
    const plain = clusterOf({ ingress: { hostname: 'hooks.example.com', tls: false } });
    expect(find(plain.objects, 'Ingress')[0].spec.tls).toBeUndefined();
    expect(plain.cluster.exposure.payloadUrl(path)).toBe(`http://hooks.example.com${path}`);
  });

  test('refuses a cert-manager annotation that contradicts tls.clusterIssuer', () => {
    expect(() => new WebhookIngress(Testing.chart(), 'i', {
      hostname: 'hooks.example.com',
      tls: { secretName: 'tls', clusterIssuer: 'letsencrypt' },
      annotations: { 'cert-manager.io/cluster-issuer': 'staging-issuer' },
    })).toThrow('WebhookIngress: annotations.cert-manager.io/cluster-issuer is "staging-issuer" but tls.clusterIssuer is "letsencrypt": keep one');
  });
});

describe('loadBalancer and nodePort', () => {
  test('patch webhook-receiver as the fleet says, valid for Kubernetes, with a NetworkPolicy', () => {
    const { objects } = clusterOf(EXPOSURES['load-balancer']);
    const [service] = find(objects, 'Service');
    expect(() => new Service(service).validate()).not.toThrow();
    expect(service.metadata.annotations).toEqual({ 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' });
    expect(service.spec).toEqual({
      type: 'LoadBalancer',
      selector: { app: 'notification-controller' },
      externalTrafficPolicy: 'Local',
      loadBalancerSourceRanges: ['192.30.252.0/22', '2606:50c0::/32'],
      ports: [
        { name: 'http', port: 80, protocol: 'TCP', targetPort: 'http-webhook' },
        { name: 'https', port: 443, protocol: 'TCP', targetPort: 'http-webhook' },
      ],
    });
    const [policy] = find(objects, 'NetworkPolicy');
    expect(() => new NetworkPolicy(policy).validate()).not.toThrow();
    expect(find(clusterOf(EXPOSURES['node-port']).objects, 'Service')[0].spec.externalTrafficPolicy).toBe('Local');
  });

  test('WebhookReceiverService refuses a NodePort without its port, and LoadBalancer fields on a NodePort', () => {
    expect(() => new WebhookReceiverService(Testing.chart(), 's', { type: 'NodePort' })).toThrow('WebhookReceiverService: a NodePort needs nodePort');
    expect(() => new WebhookReceiverService(Testing.chart(), 's', { nodePort: 31234, loadBalancerSourceRanges: ['10.0.0.0/8'] })).toThrow('loadBalancerSourceRanges and httpsPort are for a LoadBalancer');
    expect(() => new WebhookReceiverService(Testing.chart(), 's', { type: 'LoadBalancer', loadBalancerSourceRanges: ['10.0.0.0'] })).toThrow('loadBalancerSourceRanges "10.0.0.0" is not a CIDR');
  });
});

describe('the cluster README', () => {
  test('draws each exposure between the Git host and the Receivers, and says how to open it', () => {
    const readmeOf = (webhook: WebhookExposureConfig) => clusterReadme(clusterOf(webhook).cluster);
    const gateway = readmeOf(EXPOSURES.gateway);
    expect(gateway).toContain('repo_0 -->|"push: POST https://flux-hooks.example.com/hook/..."| exposure0');
    expect(gateway).toContain('exposure0["Gateway gateway-system/public<br/>listener https<br/>https://flux-hooks.example.com"]');
    expect(gateway).toContain('exposure0 --> exposure1\n  exposure1 --> svc');
    expect(gateway).toContain('exposure1["HTTPRoute webhook-receiver<br/>PathPrefix /hook/"]');
    expect(gateway).toMatch(/Gateway `gateway-system\/public` must admit routes from namespace `flux-system`/);
    // The CRDs come before bootstrap: without them the HTTPRoute stops flux-system itself.
    expect(gateway).toMatch(/\n1\. Install the Gateway API CRDs \(v1\.x, standard channel\) first: .*\n2\. Commit and push `dist\/`, then bootstrap Flux on this directory/);
    const onPort = readmeOf({ gateway: { parentRef: { name: 'public', port: 8443 }, hostname: 'hooks.example.com' } });
    expect(onPort).toContain('"push: POST https://hooks.example.com:8443/hook/..."');
    expect(onPort).toContain('<br/>port 8443<br/>https://hooks.example.com:8443"]');
    const ingress = readmeOf(EXPOSURES.ingress);
    expect(ingress).toContain('exposure0["Ingress webhook-receiver<br/>https://flux-hooks.example.org<br/>Prefix /hook/, class traefik"]');
    expect(ingress).toContain('cert-manager issues from ClusterIssuer `letsencrypt` into Secret `flux-hooks-tls`');
    const nodePort = readmeOf(EXPOSURES['node-port']);
    expect(nodePort).toContain('repo_0 -->|"push: POST :31234/hook/..."| svc');
    expect(nodePort).toContain('only nodes running notification-controller answer');
    expect(nodePort).toContain('GitHub\'s: `npm run webhook -- allowlist staging`');
    expect(nodePort).toMatch(/\n1\. Commit and push `dist\/`, then bootstrap Flux on this directory/);
  });
});
