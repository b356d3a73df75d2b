// The exposures a cluster's webhook can use. A new one is a file beside node-port.ts implementing
// WebhookExposure, plus its key in lib/fleet (model, EXPOSURE_KINDS, schema) and a line here.
import { exposureChoiceProblems, exposureKindOf } from '../../fleet/exposure';
import { GatewayWebhookConfig, IngressWebhookConfig, LoadBalancerWebhookConfig, NodePortWebhookConfig, WebhookExposureConfig } from '../../fleet/model';
import { WebhookExposure } from './exposure';
import { GatewayExposure } from './gateway';
import { IngressExposure } from './ingress';
import { LoadBalancerExposure } from './load-balancer';
import { NodePortExposure } from './node-port';

export { DeliveryHints, WebhookExposure } from './exposure';

/** The exposure the fleet file's `webhook:` block describes; throws when it names none, several, or another's field. */
export function exposureOf(webhook: WebhookExposureConfig): WebhookExposure {
  const problems = exposureChoiceProblems(webhook as unknown as Record<string, unknown>);
  if (problems.length > 0) throw new Error(`webhook: ${problems.map(({ path, message }) => `${[...path].join('.') || '(block)'} ${message}`).join('; ')}`);
  switch (exposureKindOf(webhook)) {
    case 'loadBalancer': return new LoadBalancerExposure(webhook as LoadBalancerWebhookConfig);
    case 'gateway': return new GatewayExposure(webhook as GatewayWebhookConfig);
    case 'ingress': return new IngressExposure(webhook as IngressWebhookConfig);
    case 'nodePort': return new NodePortExposure(webhook as NodePortWebhookConfig);
  }
}
