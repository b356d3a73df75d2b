import { Construct } from 'constructs';
import { KustomizePatch } from '../../../imports/kustomize.config.k8s.io';
import { hasNetworkPolicy, receiverOrigin } from '../../fleet/exposure';
import { WebhookExposureConfig } from '../../fleet/model';
import { CLUSTER_FILES } from '../../layout';
import { ManifestFile } from '../manifest-file';
import { WebhookNetworkPolicy } from '../webhook-network-policy';
import { WebhookReceiverService, WebhookReceiverServiceProps } from '../webhook-receiver-service';

/** Where exposure objects go and what they belong to. */
export interface ExposureScope {
  /** The cluster construct: the exposure adds its manifest files below it. */
  readonly scope: Construct;
  /** Flux's namespace, where the webhook-receiver Service and notification-controller run. */
  readonly namespace: string;
}

/** Which cluster a README is for. */
export interface ReadmeScope {
  readonly cluster: string;
  readonly namespace: string;
  /** Whether any Receiver is called by a Git host's webhook (else only CI jobs call them). @default true */
  readonly hookCallers?: boolean;
}

/** What to check when a test delivery fails, in the exposure's terms. */
export interface DeliveryHints {
  /** No answer within the timeout. */
  readonly noAnswer: string;
  /** The connection was refused. */
  readonly refused: string;
  /** A 404: besides a wrong token, name or namespace, what in the exposure can lose the path. */
  readonly notFound: string;
  /** An answer no Receiver gives. */
  readonly notReceiver: string;
  /**
   * A proxy between (gateway, ingress, a TLS load balancer) answering 502, 503 or 504 itself: what
   * keeps it from reaching webhook-receiver. Undefined where nothing between is a proxy.
   */
  readonly proxyFailure?: string;
}

/**
 * Why a proxy in the cluster may not reach notification-controller although Flux's allow-webhooks
 * admits every pod: the proxies it cannot see as pods.
 */
export function proxyFailureHint(proxy: string, namespace: string): string {
  return `${proxy} cannot reach Service webhook-receiver: no ready notification-controller (kubectl -n ${namespace} get endpointslices -l kubernetes.io/service-name=webhook-receiver), `
    + 'or a NetworkPolicy drops the proxy: allow-webhooks admits pods, not a proxy on the host network (set networkPolicy: true with the nodes\' CIDRs as allowFrom) nor Cilium\'s ingress identity (allow fromEntities: [ingress] in a CiliumNetworkPolicy)';
}

/**
 * How the Receivers of a cluster are reached from outside: the objects that open the way, the
 * Payload URL the Git host calls, and the words the cluster README uses for it. One file per kind
 * under lib/constructs/exposures/, registered in index.ts.
 */
export interface WebhookExposure {
  /** Adds the exposure's objects (Service patch, NetworkPolicy, route...) and returns the patches flux-system must apply. */
  addTo(target: ExposureScope): KustomizePatch[];
  /** The Payload URL for a Receiver path, or undefined when the fleet file does not say where the cluster is reached. */
  payloadUrl(path: string): string | undefined;
  /** The Payload URL with a placeholder for what the fleet file does not say, for messages. */
  urlTemplate(path: string): string;
  /** What to add to the fleet file when the Payload URL is unknown (payloadUrl is undefined). */
  readonly addressHint: string;
  /** What to check when a test delivery gets no answer, is refused, or reaches something that is not a Receiver. */
  deliveryHints(namespace: string): DeliveryHints;
  /**
   * The README's words: the diagram nodes from the Git host to the Receivers (each a list of
   * lines, the last node the Service), the push edge, how the Receivers are reached, and the setup
   * step that opens the way.
   */
  readme(where: ReadmeScope): {
    readonly nodes: readonly (readonly string[])[];
    readonly pushEdge: string;
    readonly through: string;
    /** What must be in the cluster before the directory is bootstrapped, if anything. */
    readonly prerequisite?: string;
    readonly openStep: string;
  };
}

/** The Payload URL of a Receiver path: the exposure's origin and the path, or undefined where the origin is unknown. */
export function payloadUrlOf(webhook: WebhookExposureConfig, path: string): string | undefined {
  const received = receiverOrigin(webhook);
  return received === undefined ? undefined : `${received.origin}${path}`;
}

/**
 * Adds the patch that opens bootstrap's webhook-receiver Service (`flux-system/`, applied by the
 * flux-system Kustomization over gotk-components.yaml), and returns it as that Kustomization's patch.
 */
export function patchReceiverService({ scope, namespace }: ExposureScope, props: Omit<WebhookReceiverServiceProps, 'namespace'>): KustomizePatch[] {
  const service = new WebhookReceiverService(new ManifestFile(scope, 'ReceiverServicePatch', { path: CLUSTER_FILES.receiverServicePatch }), 'Service', { ...props, namespace });
  return [{ path: CLUSTER_FILES.receiverServicePatch.replace('flux-system/', ''), target: { kind: 'Service', name: service.resource.name } }];
}

/** Adds our NetworkPolicy admitting `allowFrom` to the webhook port, where the cluster has one (see hasNetworkPolicy). */
export function addExternalPolicy({ scope, namespace }: ExposureScope, webhook: WebhookExposureConfig): void {
  if (!hasNetworkPolicy(webhook)) return;
  new WebhookNetworkPolicy(new ManifestFile(scope, 'NetworkPolicy', { path: CLUSTER_FILES.networkPolicy }), 'Policy', {
    allowFrom: webhook.allowFrom,
    namespace,
  });
}

/** The README words for the NetworkPolicy part of opening the way. */
export function policyWords(webhook: WebhookExposureConfig): string {
  if (!hasNetworkPolicy(webhook)) {
    return webhook.networkPolicy === false ? 'this cluster has no NetworkPolicy of ours (networkPolicy: false)' : 'Flux\'s own `allow-webhooks` NetworkPolicy admits the proxy in the cluster';
  }
  return `the NetworkPolicy \`${WebhookNetworkPolicy.DEFAULT_NAME}\` admits ${webhook.allowFrom === undefined ? 'any source' : webhook.allowFrom.join(', ')} to notification-controller in the cluster`;
}
