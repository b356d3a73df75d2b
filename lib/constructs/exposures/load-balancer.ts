import { LoadBalancerWebhookConfig } from '../../fleet/model';
import { WebhookNetworkPolicy } from '../webhook-network-policy';
import { WebhookReceiverService } from '../webhook-receiver-service';
import { addExternalPolicy, DeliveryHints, ExposureScope, patchReceiverService, payloadUrlOf, policyWords, proxyFailureHint, ReadmeScope, WebhookExposure } from './exposure';

/**
 * bootstrap's `webhook-receiver` Service patched into a LoadBalancer: the cloud gives it an address,
 * optionally narrowed by `sourceRanges` and terminating TLS on 443 where its annotations say so.
 * The Git host calls `http(s)://<load balancer address>/hook/...`.
 */
export class LoadBalancerExposure implements WebhookExposure {
  public constructor(private readonly config: LoadBalancerWebhookConfig) {}

  public addTo(target: ExposureScope): ReturnType<WebhookExposure['addTo']> {
    const { sourceRanges, annotations, tls } = this.config.loadBalancer;
    const patches = patchReceiverService(target, {
      type: 'LoadBalancer',
      externalTrafficPolicy: this.config.externalTrafficPolicy,
      loadBalancerSourceRanges: sourceRanges,
      annotations,
      httpsPort: tls,
    });
    addExternalPolicy(target, this.config);
    return patches;
  }

  public payloadUrl(path: string): string | undefined {
    return payloadUrlOf(this.config, path);
  }

  public urlTemplate(path: string): string {
    return this.payloadUrl(path) ?? `${this.config.loadBalancer.tls ? 'https' : 'http'}://<load-balancer-address>${path} (set webhook.loadBalancer.address in the fleet file to get the full URL)`;
  }

  public get addressHint(): string {
    return `add webhook.loadBalancer.address: the load balancer's IP address or DNS name (kubectl get svc ${WebhookReceiverService.SERVICE_NAME} shows it as EXTERNAL-IP)`;
  }

  public deliveryHints(namespace: string): DeliveryHints {
    const service = WebhookReceiverService.SERVICE_NAME;
    return {
      noAnswer: `the load balancer drops the caller (loadBalancer.sourceRanges, a security group) or a NetworkPolicy does (see ${WebhookNetworkPolicy.DEFAULT_NAME}), or the address is wrong`,
      refused: `the load balancer does not listen there: check kubectl -n ${namespace} get svc ${service} (type LoadBalancer, EXTERNAL-IP)${this.config.loadBalancer.tls ? ' and that its annotations terminate TLS on 443' : ''}`,
      notFound: 'something in front of the load balancer rewrites the path',
      notReceiver: `check that the LoadBalancer patch targets ${service}`,
      // A load balancer that terminates TLS is a proxy; one that does not passes connections through.
      proxyFailure: this.config.loadBalancer.tls ? proxyFailureHint('the load balancer', namespace) : undefined,
    };
  }

  public readme({ namespace }: ReadmeScope): ReturnType<WebhookExposure['readme']> {
    const { address, tls, sourceRanges } = this.config.loadBalancer;
    const origin = this.payloadUrl('') ?? `${tls ? 'https' : 'http'}://...`;
    return {
      nodes: [
        [`LoadBalancer ${address ?? '(address not set)'}`, `${tls ? '443 (TLS), ' : ''}80${sourceRanges ? `, from ${sourceRanges.join(', ')}` : ''}`],
        [`Service ${WebhookReceiverService.SERVICE_NAME}`, `type LoadBalancer → ${WebhookReceiverService.TARGET_PORT}`],
      ],
      pushEdge: `push: POST ${origin}/hook/...`,
      through: 'through the cloud load balancer of Service webhook-receiver',
      openStep: `Check that the cloud gave Service \`${WebhookReceiverService.SERVICE_NAME}\` an address (\`kubectl -n ${namespace} get svc ${WebhookReceiverService.SERVICE_NAME}\`) and that it is webhook.loadBalancer.address; ${sourceRanges ? 'the load balancer admits only loadBalancer.sourceRanges' : 'the load balancer admits anyone (set loadBalancer.sourceRanges to narrow it)'}; ${policyWords(this.config)}.`,
    };
  }
}
