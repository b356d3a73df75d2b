import { isIP } from 'node:net';
import { Construct } from 'constructs';
import { k8s } from '../imports/k8s';

/** notification-controller's Receiver port (`http-webhook`). */
export const WEBHOOK_PORT = 9292;
/** Anywhere, IPv4 and IPv6. */
export const ANYWHERE = ['0.0.0.0/0', '::/0'];

export interface WebhookNetworkPolicyProps {
  /**
   * Source ranges allowed to call the Receivers. GitHub publishes its webhook ranges
   * (the `hooks` list of https://api.github.com/meta): the tighter choice.
   * @default ANYWHERE (0.0.0.0/0 and ::/0)
   */
  readonly allowFrom?: string[];

  /**
   * The NetworkPolicy's name.
   * @default 'allow-webhooks-external'
   */
  readonly name?: string;

  /**
   * Namespace of Flux's notification-controller.
   * @default 'flux-system'
   */
  readonly namespace?: string;
}

/**
 * Admits traffic from outside the cluster to notification-controller's webhook port, and to
 * nothing else. Flux's own `allow-webhooks` policy admits only in-cluster sources, so on CNIs
 * that enforce policies a NodePort delivery from GitHub is dropped without this.
 */
export class WebhookNetworkPolicy extends Construct {
  public readonly allowFrom: readonly string[];
  public readonly resource: k8s.KubeNetworkPolicy;

  public constructor(scope: Construct, id: string, props: WebhookNetworkPolicyProps = {}) {
    super(scope, id);
    this.allowFrom = props.allowFrom ?? ANYWHERE;
    if (this.allowFrom.length === 0) {
      throw new Error('WebhookNetworkPolicy: allowFrom is empty, which would admit nothing; leave the policy out instead');
    }
    for (const cidr of this.allowFrom) {
      const problem = cidrProblem(cidr);
      if (problem) throw new Error(`WebhookNetworkPolicy: allowFrom ${problem}`);
    }
    this.resource = new k8s.KubeNetworkPolicy(this, 'Resource', {
      metadata: { name: props.name ?? 'allow-webhooks-external', namespace: props.namespace ?? 'flux-system' },
      spec: {
        podSelector: { matchLabels: { app: 'notification-controller' } },
        policyTypes: ['Ingress'],
        ingress: [{
          from: this.allowFrom.map((cidr) => ({ ipBlock: { cidr } })),
          ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(WEBHOOK_PORT) }],
        }],
      },
    });
  }
}

/** Why `cidr` is not an IPv4 or IPv6 CIDR, or undefined when it is. */
export function cidrProblem(cidr: string): string | undefined {
  const [address, prefix, extra] = cidr.split('/');
  const family = isIP(address ?? '');
  const maxPrefix = family === 6 ? 128 : 32;
  if (extra !== undefined || family === 0 || prefix === undefined || !/^\d{1,3}$/.test(prefix) || Number(prefix) > maxPrefix) {
    return `"${cidr}" is not a CIDR: write an address and a prefix length, e.g. 192.30.252.0/22 or 2606:50c0::/32`;
  }
  return undefined;
}
