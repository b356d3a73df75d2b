// Which exposure a cluster's webhook block chooses, and the origin (scheme, host, port) the Git host
// calls: the fleet parser needs it to refuse two clusters at one origin, the constructs and the
// tools to make the Payload URL. One rule here, no I/O.
import { ANYWHERE, ipFamily } from './network';
import { GatewayWebhookConfig, IngressWebhookConfig, LoadBalancerWebhookConfig, NodePortWebhookConfig, WebhookExposureConfig } from './model';

/** The exposures, by the key that chooses each under `webhook:`. */
export const EXPOSURE_KINDS = ['nodePort', 'loadBalancer', 'gateway', 'ingress'] as const;
export type ExposureKind = (typeof EXPOSURE_KINDS)[number];
/** The exposures that open the webhook-receiver Service itself to the outside. */
const SERVICE_KINDS: readonly ExposureKind[] = ['nodePort', 'loadBalancer'];

/** The exposures a webhook block names, in EXPOSURE_KINDS' order: one for a valid block. */
function chosenKinds(webhook: object): ExposureKind[] {
  return EXPOSURE_KINDS.filter((kind) => (webhook as Record<string, unknown>)[kind] !== undefined);
}

/** The exposure a (checked) webhook block chooses. */
export function exposureKindOf(webhook: WebhookExposureConfig): ExposureKind {
  return chosenKinds(webhook)[0] ?? 'nodePort';
}

export function isNodePort(webhook: WebhookExposureConfig): webhook is NodePortWebhookConfig {
  return exposureKindOf(webhook) === 'nodePort';
}
export function isLoadBalancer(webhook: WebhookExposureConfig): webhook is LoadBalancerWebhookConfig {
  return exposureKindOf(webhook) === 'loadBalancer';
}
export function isGateway(webhook: WebhookExposureConfig): webhook is GatewayWebhookConfig {
  return exposureKindOf(webhook) === 'gateway';
}
export function isIngress(webhook: WebhookExposureConfig): webhook is IngressWebhookConfig {
  return exposureKindOf(webhook) === 'ingress';
}

/**
 * Whether outside traffic reaches notification-controller straight from a Service (nodePort,
 * loadBalancer), so that only a NetworkPolicy of ours admits it, or through an in-cluster proxy
 * (gateway, ingress) that Flux's own allow-webhooks already admits.
 */
export function reachedThroughService(webhook: WebhookExposureConfig): boolean {
  return SERVICE_KINDS.includes(exposureKindOf(webhook));
}

/**
 * Whether a NetworkPolicy at notification-controller sees the Git host's own address: only through
 * a Service with externalTrafficPolicy Local (kube-proxy keeps it), and not behind a load balancer
 * that terminates TLS (a proxy: the pod sees the load balancer). Behind a gateway or an ingress it
 * sees the proxy.
 */
export function callerAddressVisible(webhook: WebhookExposureConfig): boolean {
  if (isLoadBalancer(webhook)) return webhook.externalTrafficPolicy === 'Local' && !webhook.loadBalancer.tls;
  return isNodePort(webhook) && webhook.externalTrafficPolicy === 'Local';
}

/** Why our NetworkPolicy would drop every delivery: `allowFrom` narrowed to addresses it never sees. Undefined when it would not. */
export function narrowedPolicyProblem(webhook: WebhookExposureConfig): string | undefined {
  if (!reachedThroughService(webhook) || !hasNetworkPolicy(webhook) || !allowFromIsNarrowed(webhook) || callerAddressVisible(webhook)) return undefined;
  return isLoadBalancer(webhook) && webhook.loadBalancer.tls
    ? 'a load balancer that terminates TLS calls notification-controller from its own address, so the NetworkPolicy drops every delivery; narrow loadBalancer.sourceRanges instead and leave allowFrom out'
    : 'externalTrafficPolicy is not Local: kube-proxy replaces the Git host\'s address with a node\'s, so the NetworkPolicy drops every delivery; set externalTrafficPolicy: Local';
}

/** Whether the cluster gets our NetworkPolicy: as the fleet says, else only where nothing else admits outside traffic. */
export function hasNetworkPolicy(webhook: WebhookExposureConfig): boolean {
  return webhook.networkPolicy ?? reachedThroughService(webhook);
}

/** Where the Git host calls a cluster's Receivers: `scheme://host[:port]`, and the field (below `webhook`) that names the host. */
export interface ReceiverOrigin {
  readonly origin: string;
  readonly field: readonly string[];
}

function origin(scheme: 'http' | 'https', host: string, port: number | undefined): string {
  const lower = host.toLowerCase();
  const bracketed = ipFamily(lower) === 6 ? `[${lower}]` : lower;
  const defaultPort = scheme === 'https' ? 443 : 80;
  return `${scheme}://${bracketed}${port === undefined || port === defaultPort ? '' : `:${port}`}`;
}

/**
 * `origin` in the one form all its spellings share, for comparing: IPv6 as WHATWG URL writes it
 * (2001:db8:0::0:1 is 2001:db8::1), and an IPv4-mapped IPv6 address (::ffff:203.0.113.10) as the
 * IPv4 address it reaches.
 */
export function canonicalOrigin(origin: string): string {
  const url = new URL(origin);
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(url.hostname);
  if (mapped) {
    const [high, low] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
    url.hostname = [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  return url.origin;
}

/** Whether callers reach the Receivers over TLS (https) or in clear (http), address known or not. */
export function exposureScheme(webhook: WebhookExposureConfig): 'http' | 'https' {
  if (isLoadBalancer(webhook)) return webhook.loadBalancer.tls ? 'https' : 'http';
  if (isGateway(webhook)) return webhook.gateway.tls === false ? 'http' : 'https';
  if (isIngress(webhook)) return webhook.ingress.tls === false ? 'http' : 'https';
  return 'http';
}

/** The origin the Git host calls, or undefined where the fleet file does not say the address (nodePort, loadBalancer). */
export function receiverOrigin(webhook: WebhookExposureConfig): ReceiverOrigin | undefined {
  const scheme = exposureScheme(webhook);
  if (isLoadBalancer(webhook)) {
    const { address } = webhook.loadBalancer;
    return address === undefined ? undefined : { origin: origin(scheme, address, undefined), field: ['loadBalancer', 'address'] };
  }
  if (isGateway(webhook)) {
    const { hostname, parentRef } = webhook.gateway;
    return { origin: origin(scheme, hostname, parentRef.port), field: ['gateway', 'hostname'] };
  }
  if (isIngress(webhook)) return { origin: origin(scheme, webhook.ingress.hostname, undefined), field: ['ingress', 'hostname'] };
  const nodePort = webhook as NodePortWebhookConfig;
  return nodePort.address === undefined ? undefined : { origin: origin(scheme, nodePort.address, nodePort.nodePort), field: ['address'] };
}

/** Whether a list of source CIDRs narrows the sources: anything but the whole IPv4 and IPv6 space. */
export function narrowsSources(cidrs: readonly string[] = []): boolean {
  return cidrs.some((cidr) => !ANYWHERE.includes(cidr));
}

/** Whether `allowFrom` narrows the sources. */
export function allowFromIsNarrowed(webhook: WebhookExposureConfig): boolean {
  return narrowsSources(webhook.allowFrom);
}


/**
 * What is wrong with the choice of exposure in a `webhook:` block as written (before it is typed):
 * none or several chosen, or a field of another exposure. Paths are below `webhook`.
 */
export function exposureChoiceProblems(webhook: Record<string, unknown>): { path: string[]; message: string }[] {
  const chosen = chosenKinds(webhook);
  if (chosen.length === 0) {
    return [{ path: [], message: `chooses no exposure: add one of ${EXPOSURE_KINDS.join(', ')} (see docs/exposure.md)` }];
  }
  if (chosen.length > 1) {
    return [{ path: [chosen[1]], message: `${chosen.join(' and ')} are both given, but a cluster's Receivers are reached one way: keep one` }];
  }
  const kind = chosen[0];
  const aKind = `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind}`;
  const problems: { path: string[]; message: string }[] = [];
  if (webhook.address !== undefined && kind !== 'nodePort') {
    problems.push({ path: ['address'], message: kind === 'loadBalancer'
      ? 'belongs to nodePort: for a load balancer write loadBalancer.address'
      : `belongs to nodePort: ${aKind} is called at its hostname, remove address` });
  }
  if (webhook.externalTrafficPolicy !== undefined && !SERVICE_KINDS.includes(kind)) {
    problems.push({ path: ['externalTrafficPolicy'], message: `applies to nodePort and loadBalancer only: the ${kind}'s proxy is what calls notification-controller, remove it` });
  }
  if (webhook.allowFrom !== undefined && !hasNetworkPolicy(webhook as unknown as WebhookExposureConfig)) {
    problems.push({ path: ['allowFrom'], message: webhook.networkPolicy === false
      ? 'has no effect with networkPolicy: false: remove one of them'
      : `has no effect: ${aKind} has no NetworkPolicy of ours unless networkPolicy: true (its proxy is admitted by Flux's allow-webhooks); filter sources at the ${kind}, or set networkPolicy: true` });
  }
  return problems;
}
