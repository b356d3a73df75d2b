import { CLUSTER_FILES } from '../../layout';
import { GatewayWebhookConfig } from '../../fleet/model';
import { ManifestFile } from '../manifest-file';
import { WebhookHttpRoute } from '../webhook-http-route';
import { WEBHOOK_PATH_PREFIX } from '../webhook-path';
import { WebhookReceiverService } from '../webhook-receiver-service';
import { addExternalPolicy, DeliveryHints, ExposureScope, payloadUrlOf, policyWords, proxyFailureHint, ReadmeScope, WebhookExposure } from './exposure';

/**
 * A Gateway API HTTPRoute from an existing Gateway to bootstrap's `webhook-receiver` Service: the
 * Gateway terminates TLS for the host name, and the Git host calls `https://<hostname>/hook/...`.
 * bootstrap's Service stays a ClusterIP; the Gateway's proxy runs in the cluster.
 */
export class GatewayExposure implements WebhookExposure {
  public constructor(private readonly config: GatewayWebhookConfig) {}

  public addTo(target: ExposureScope): ReturnType<WebhookExposure['addTo']> {
    new WebhookHttpRoute(new ManifestFile(target.scope, 'HttpRoute', { path: CLUSTER_FILES.httpRoute }), 'Route', {
      parentRef: this.config.gateway.parentRef,
      hostname: this.config.gateway.hostname,
      namespace: target.namespace,
    });
    addExternalPolicy(target, this.config);
    return [];
  }

  public payloadUrl(path: string): string {
    return payloadUrlOf(this.config, path)!;
  }

  public urlTemplate(path: string): string {
    return this.payloadUrl(path);
  }

  /** Never needed: the host name is required. */
  public readonly addressHint = 'set webhook.gateway.hostname';

  private gatewayName(namespace: string): string {
    const { parentRef } = this.config.gateway;
    return `${parentRef.namespace ?? namespace}/${parentRef.name}`;
  }

  public deliveryHints(namespace: string): DeliveryHints {
    const gateway = this.gatewayName(namespace);
    const route = `kubectl -n ${namespace} get httproute ${WebhookHttpRoute.DEFAULT_NAME} -o yaml`;
    return {
      noAnswer: `${this.config.gateway.hostname} does not lead to Gateway ${gateway} (DNS), or a firewall drops the traffic`,
      refused: `Gateway ${gateway} has no listener there: check its listeners' ports and the URL's scheme`,
      notFound: `or the HTTPRoute is not attached to Gateway ${gateway}: see status.parents in ${route} (the listener's allowedRoutes must admit namespace ${namespace}, the hostname must match the listener's)`,
      notReceiver: `another route of Gateway ${gateway} may take ${WEBHOOK_PATH_PREFIX}, or a filter changes the request; see ${route}`,
      proxyFailure: `${proxyFailureHint(`Gateway ${gateway}`, namespace)}; a 500 from the Gateway itself means the route has no valid backend (status.parents[].conditions ResolvedRefs in ${route})`,
    };
  }

  public readme({ namespace }: ReadmeScope): ReturnType<WebhookExposure['readme']> {
    const { parentRef, hostname, tls } = this.config.gateway;
    const listener = [parentRef.sectionName && `listener ${parentRef.sectionName}`, parentRef.port && `port ${parentRef.port}`].filter(Boolean).join(', ');
    const origin = this.payloadUrl('');
    return {
      nodes: [
        [`Gateway ${this.gatewayName(namespace)}`, ...(listener ? [listener] : []), origin],
        [`HTTPRoute ${WebhookHttpRoute.DEFAULT_NAME}`, `PathPrefix ${WEBHOOK_PATH_PREFIX}`],
        [`Service ${WebhookReceiverService.SERVICE_NAME}`, `port ${WebhookReceiverService.PORT} → ${WebhookReceiverService.TARGET_PORT}`],
      ],
      pushEdge: `push: POST ${origin}/hook/...`,
      through: `through Gateway ${this.gatewayName(namespace)} and HTTPRoute ${WebhookHttpRoute.DEFAULT_NAME}`,
      prerequisite: 'Install the Gateway API CRDs (v1.x, standard channel) first: without them the HTTPRoute stops the whole flux-system Kustomization, Flux\'s own included.',
      openStep: `Gateway \`${this.gatewayName(namespace)}\` must admit routes from namespace \`${namespace}\` (its listener's \`allowedRoutes\`), serve \`${hostname}\`${tls === false ? '' : ' with a certificate the Git host trusts'}, and DNS for \`${hostname}\` must lead to it; ${policyWords(this.config)}.`,
    };
  }
}
