import { isIP } from 'node:net';
import { CLUSTER_FILES } from '../../layout';
import { WebhookExposureConfig } from '../../fleet/model';
import { ManifestFile } from '../manifest-file';
import { WebhookNetworkPolicy } from '../webhook-network-policy';
import { WebhookReceiverService } from '../webhook-receiver-service';
import { ExposureScope, WebhookExposure } from './exposure';

/**
 * The walkthrough's exposure: bootstrap's `webhook-receiver` Service patched into a NodePort, and a
 * NetworkPolicy admitting outside traffic to notification-controller's webhook port. GitHub calls
 * `http://<node address>:<nodePort>/hook/...`.
 */
export class NodePortExposure implements WebhookExposure {
  public constructor(private readonly config: WebhookExposureConfig) {}

  public addTo({ scope, namespace }: ExposureScope): ReturnType<WebhookExposure['addTo']> {
    const files = CLUSTER_FILES;
    const service = new WebhookReceiverService(new ManifestFile(scope, 'ReceiverServicePatch', { path: files.receiverServicePatch }), 'Service', {
      nodePort: this.config.nodePort,
      namespace,
    });
    if (this.config.networkPolicy ?? true) {
      new WebhookNetworkPolicy(new ManifestFile(scope, 'NetworkPolicy', { path: files.networkPolicy }), 'Policy', {
        allowFrom: this.config.allowFrom,
        namespace,
      });
    }
    return [{ path: files.receiverServicePatch.replace('flux-system/', ''), target: { kind: 'Service', name: service.resource.name } }];
  }

  public payloadUrl(path: string): string | undefined {
    if (this.config.address === undefined) return undefined;
    const host = isIP(this.config.address) === 6 ? `[${this.config.address}]` : this.config.address;
    return `http://${host}:${this.config.nodePort}${path}`;
  }

  public urlTemplate(path: string): string {
    return this.payloadUrl(path) ?? `http://<node-address>:${this.config.nodePort}${path} (set webhook.address in the fleet file to get the full URL)`;
  }

  public deliveryHints(namespace: string): ReturnType<WebhookExposure['deliveryHints']> {
    const service = WebhookReceiverService.SERVICE_NAME;
    return {
      noAnswer: `a firewall or a NetworkPolicy drops outside traffic to the NodePort (see ${WebhookNetworkPolicy.DEFAULT_NAME}), or the node address is wrong`,
      refused: `nothing listens there; the NodePort patch is not applied (kubectl -n ${namespace} get svc ${service}), the port or node address is wrong, or a firewall rejects it`,
      notReceiver: `check that the NodePort patch targets ${service} (fluxcd/flux2#1115)`,
    };
  }

  public get readme(): WebhookExposure['readme'] {
    const port = this.config.nodePort;
    return {
      node: ['Service webhook-receiver', `NodePort ${port} → http-webhook`],
      pushEdge: `push: POST :${port}/hook/...`,
      through: `through NodePort ${port}`,
      openStep: `Open NodePort ${port} to GitHub's webhook addresses (firewall, security group); ${this.config.networkPolicy === false ? 'this cluster has no NetworkPolicy for it (networkPolicy: false)' : `the NetworkPolicy \`${WebhookNetworkPolicy.DEFAULT_NAME}\` admits it in the cluster`}.`,
    };
  }
}
