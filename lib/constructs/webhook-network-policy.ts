import { Construct } from 'constructs';
import { k8s } from '../../imports/k8s';
import { DEFAULT_NAMESPACE } from '../layout';
import { ANYWHERE, cidrProblem } from '../fleet/network';

/** notification-controller's Receiver port (`http-webhook`). */
export const WEBHOOK_PORT = 9292;

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
  /** The policy's name unless told otherwise, beside Flux's own allow-webhooks. */
  public static readonly DEFAULT_NAME = 'allow-webhooks-external';

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
      metadata: { name: props.name ?? WebhookNetworkPolicy.DEFAULT_NAME, namespace: props.namespace ?? DEFAULT_NAMESPACE },
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

