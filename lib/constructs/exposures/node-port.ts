import { NodePortWebhookConfig } from '../../fleet/model';
import { WebhookNetworkPolicy } from '../webhook-network-policy';
import { WebhookReceiverService } from '../webhook-receiver-service';
import { addExternalPolicy, DeliveryHints, ExposureScope, patchReceiverService, payloadUrlOf, policyWords, ReadmeScope, WebhookExposure } from './exposure';

/**
 * The walkthrough's exposure: bootstrap's `webhook-receiver` Service patched into a NodePort, and a
 * NetworkPolicy admitting outside traffic to notification-controller's webhook port. The Git host
 * calls `http://<node address>:<nodePort>/hook/...`: plain HTTP, a first step rather than production.
 */
export class NodePortExposure implements WebhookExposure {
  public constructor(private readonly config: NodePortWebhookConfig) {}

  public addTo(target: ExposureScope): ReturnType<WebhookExposure['addTo']> {
    const patches = patchReceiverService(target, { type: 'NodePort', nodePort: this.config.nodePort, externalTrafficPolicy: this.config.externalTrafficPolicy });
    addExternalPolicy(target, this.config);
    return patches;
  }

  public payloadUrl(path: string): string | undefined {
    return payloadUrlOf(this.config, path);
  }

  public urlTemplate(path: string): string {
    return this.payloadUrl(path) ?? `http://<node-address>:${this.config.nodePort}${path} (set webhook.address in the fleet file to get the full URL)`;
  }

  public readonly addressHint = 'add webhook.address: the IP address or DNS name at which the Git host reaches a node';

  public deliveryHints(namespace: string): DeliveryHints {
    const service = WebhookReceiverService.SERVICE_NAME;
    const local = this.config.externalTrafficPolicy === 'Local' ? '; with externalTrafficPolicy: Local only the node running notification-controller answers' : '';
    return {
      noAnswer: `a firewall or a NetworkPolicy drops outside traffic to the NodePort (see ${WebhookNetworkPolicy.DEFAULT_NAME}), or the node address is wrong${local}`,
      refused: `nothing listens there; the NodePort patch is not applied (kubectl -n ${namespace} get svc ${service}), the port or node address is wrong, or a firewall rejects it`,
      notFound: 'a proxy in front of the node rewrites the path',
      notReceiver: `check that the NodePort patch targets ${service} (fluxcd/flux2#1115)`,
    };
  }

  public readme({ cluster, hookCallers = true }: ReadmeScope): ReturnType<WebhookExposure['readme']> {
    const port = this.config.nodePort;
    return {
      nodes: [[`Service ${WebhookReceiverService.SERVICE_NAME}`, `NodePort ${port} → ${WebhookReceiverService.TARGET_PORT}`]],
      pushEdge: `push: POST :${port}/hook/...`,
      through: `through NodePort ${port}`,
      openStep: `Open NodePort ${port} to ${hookCallers ? `the Git host's webhook addresses (firewall, security group; GitHub's: \`npm run webhook -- allowlist ${cluster}\`)` : 'the callers\' addresses (firewall, security group)'}; ${policyWords(this.config)}.${this.config.externalTrafficPolicy === 'Local'
        ? ' With `externalTrafficPolicy: Local` only nodes running notification-controller answer: webhook.address must be one of them.'
        : ''}`,
    };
  }
}
