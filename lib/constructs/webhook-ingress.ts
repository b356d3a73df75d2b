import { Construct } from 'constructs';
import { k8s } from '../../imports/k8s';
import { DEFAULT_NAMESPACE } from '../layout';
import { annotationKeyProblem, rfc1123SubdomainProblem } from '../fleet/names';
import { dnsNameProblem } from '../fleet/network';
import { WEBHOOK_PATH_PREFIX } from './webhook-path';
import { WebhookReceiverService } from './webhook-receiver-service';
import { addAnnotations } from './prototype-names';

/** The annotation that makes cert-manager's ingress-shim issue the TLS Secret. */
export const CERT_MANAGER_CLUSTER_ISSUER = 'cert-manager.io/cluster-issuer';

export interface WebhookIngressProps {
  /** The one host name the Git host calls. */
  readonly hostname: string;
  /** @default - the cluster's default IngressClass */
  readonly className?: string;
  /**
   * TLS for the host name: false for plain HTTP, or the Secret holding its certificate, issued by
   * cert-manager when `clusterIssuer` is given.
   * @default - TLS with the ingress controller's default certificate
   */
  readonly tls?: false | { readonly secretName: string; readonly clusterIssuer?: string };
  /** Annotations of the Ingress (controller options). @default none */
  readonly annotations?: Readonly<Record<string, string>>;
  /**
   * Namespace of Flux's notification-controller: the Ingress must sit beside the Service it points at.
   * @default 'flux-system'
   */
  readonly namespace?: string;
}

/**
 * A networking.k8s.io/v1 Ingress to bootstrap's `webhook-receiver` Service, for `/hook/` paths of
 * one host name only. No rewrite: notification-controller matches the exact URI.
 */
export class WebhookIngress extends Construct {
  /** The Ingress's name: the Service it leads to. */
  public static readonly DEFAULT_NAME = WebhookReceiverService.SERVICE_NAME;

  public readonly hostname: string;
  public readonly resource: k8s.KubeIngress;

  public constructor(scope: Construct, id: string, props: WebhookIngressProps) {
    super(scope, id);
    const tls = props.tls === false ? undefined : props.tls;
    const annotations: Record<string, string> = { ...props.annotations };
    const problems: string[] = [];
    const check = (field: string, problem: string | undefined) => problem && problems.push(`${field} ${problem}`);
    check('hostname', dnsNameProblem(props.hostname));
    if (props.className !== undefined) check('className', rfc1123SubdomainProblem(props.className));
    if (tls) check('tls.secretName', rfc1123SubdomainProblem(tls.secretName));
    for (const key of Object.keys(annotations)) check('annotations', annotationKeyProblem(key));
    if (tls?.clusterIssuer !== undefined) {
      check('tls.clusterIssuer', rfc1123SubdomainProblem(tls.clusterIssuer));
      const given = annotations[CERT_MANAGER_CLUSTER_ISSUER];
      if (given !== undefined && given !== tls.clusterIssuer) check(`annotations.${CERT_MANAGER_CLUSTER_ISSUER}`, `is "${given}" but tls.clusterIssuer is "${tls.clusterIssuer}": keep one`);
      annotations[CERT_MANAGER_CLUSTER_ISSUER] = tls.clusterIssuer;
    }
    if (problems.length > 0) throw new Error(`WebhookIngress: ${problems.join('; ')}`);
    this.hostname = props.hostname;
    this.resource = new k8s.KubeIngress(this, 'Resource', {
      metadata: {
        name: WebhookIngress.DEFAULT_NAME,
        namespace: props.namespace ?? DEFAULT_NAMESPACE,
      },
      spec: {
        ingressClassName: props.className,
        tls: props.tls === false ? undefined : [{ hosts: [props.hostname], secretName: tls?.secretName }],
        rules: [{
          host: props.hostname,
          http: {
            paths: [{
              path: WEBHOOK_PATH_PREFIX,
              pathType: 'Prefix',
              backend: { service: { name: WebhookReceiverService.SERVICE_NAME, port: { number: WebhookReceiverService.PORT } } },
            }],
          },
        }],
      },
    });
    addAnnotations(this.resource, annotations);
  }
}
