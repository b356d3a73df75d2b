import { Construct } from 'constructs';
import { HTTPRoute } from '../../imports/gateway.networking.k8s.io';
import { DEFAULT_NAMESPACE } from '../layout';
import { rfc1123LabelProblem, rfc1123SubdomainProblem } from '../fleet/names';
import { dnsNameProblem, portProblem } from '../fleet/network';
import { WEBHOOK_PATH_PREFIX } from './webhook-path';
import { WebhookReceiverService } from './webhook-receiver-service';

/** The Gateway (and optionally one of its listeners) a route attaches to. */
export interface GatewayParentRef {
  readonly name: string;
  /** @default - the route's namespace */
  readonly namespace?: string;
  /** A listener's name. @default - every listener that admits the route */
  readonly sectionName?: string;
  /** A listener's port. @default - every listener that admits the route */
  readonly port?: number;
}

export interface WebhookHttpRouteProps {
  readonly parentRef: GatewayParentRef;
  /** The one host name the Git host calls. */
  readonly hostname: string;
  /**
   * Namespace of Flux's notification-controller: the route must sit beside the Service it points at.
   * @default 'flux-system'
   */
  readonly namespace?: string;
}

/**
 * A Gateway API HTTPRoute from a Gateway's listener to bootstrap's `webhook-receiver` Service, for
 * `/hook/` paths of one host name only. No rewrite: notification-controller matches the exact URI.
 */
export class WebhookHttpRoute extends Construct {
  /** The route's name: the Service it leads to. */
  public static readonly DEFAULT_NAME = WebhookReceiverService.SERVICE_NAME;

  public readonly hostname: string;
  public readonly parentRef: GatewayParentRef;
  public readonly resource: HTTPRoute;

  public constructor(scope: Construct, id: string, props: WebhookHttpRouteProps) {
    super(scope, id);
    const { parentRef } = props;
    const problems = [
      ['hostname', dnsNameProblem(props.hostname)],
      ['parentRef.name', rfc1123SubdomainProblem(parentRef.name)],
      ['parentRef.namespace', parentRef.namespace === undefined ? undefined : rfc1123LabelProblem(parentRef.namespace)],
      ['parentRef.sectionName', parentRef.sectionName === undefined ? undefined : rfc1123SubdomainProblem(parentRef.sectionName)],
      ['parentRef.port', parentRef.port === undefined ? undefined : portProblem(parentRef.port)],
    ].filter(([, problem]) => problem !== undefined);
    if (problems.length > 0) throw new Error(`WebhookHttpRoute: ${problems.map(([field, problem]) => `${field} ${problem}`).join('; ')}`);
    this.hostname = props.hostname;
    this.parentRef = parentRef;
    this.resource = new HTTPRoute(this, 'Resource', {
      metadata: { name: WebhookHttpRoute.DEFAULT_NAME, namespace: props.namespace ?? DEFAULT_NAMESPACE },
      spec: {
        parentRefs: [{ name: parentRef.name, namespace: parentRef.namespace, sectionName: parentRef.sectionName, port: parentRef.port }],
        hostnames: [props.hostname],
        rules: [{
          matches: [{ path: { type: 'PathPrefix', value: WEBHOOK_PATH_PREFIX } }],
          backendRefs: [{ name: WebhookReceiverService.SERVICE_NAME, port: WebhookReceiverService.PORT }],
        }],
      },
    });
  }
}
