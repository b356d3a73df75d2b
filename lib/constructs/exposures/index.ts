// The exposures a cluster's webhook can use. A new one (a LoadBalancer, a Gateway API route) is a
// file beside node-port.ts implementing WebhookExposure, plus a line here choosing it from the fleet.
import { WebhookExposureConfig } from '../../fleet/model';
import { WebhookExposure } from './exposure';
import { NodePortExposure } from './node-port';

export { WebhookExposure } from './exposure';

/** The exposure the fleet file's `webhook:` block describes. */
export function exposureOf(webhook: WebhookExposureConfig): WebhookExposure {
  return new NodePortExposure(webhook);
}
