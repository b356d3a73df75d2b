// The exposures a cluster's webhook can use. A new one is a file beside node-port.ts implementing
// WebhookExposure, plus its key in lib/fleet (model, EXPOSURE_KINDS, schema) and a line here.
import { exposureKindOf } from '../../fleet/exposure';
import { GatewayWebhookConfig, IngressWebhookConfig, LoadBalancerWebhookConfig, NodePortWebhookConfig, WebhookExposureConfig } from '../../fleet/model';
import { WebhookExposure } from './exposure';
import { GatewayExposure } from './gateway';
import { IngressExposure } from './ingress';
import { LoadBalancerExposure } from './load-balancer';
import { NodePortExposure } from './node-port';

export { DeliveryHints, WebhookExposure } from './exposure';

/** The exposure the fleet file's `webhook:` block describes. */
export function exposureOf(webhook: WebhookExposureConfig): WebhookExposure {
  switch (exposureKindOf(webhook)) {
    case 'loadBalancer': return new LoadBalancerExposure(webhook as LoadBalancerWebhookConfig);
    case 'gateway': return new GatewayExposure(webhook as GatewayWebhookConfig);
    case 'ingress': return new IngressExposure(webhook as IngressWebhookConfig);
    case 'nodePort': return new NodePortExposure(webhook as NodePortWebhookConfig);
  }
}
