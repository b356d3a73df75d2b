import { CLUSTER_FILES } from '../../layout';
import { IngressWebhookConfig } from '../../fleet/model';
import { ManifestFile } from '../manifest-file';
import { CERT_MANAGER_CLUSTER_ISSUER, WebhookIngress } from '../webhook-ingress';
import { WEBHOOK_PATH_PREFIX } from '../webhook-path';
import { WebhookReceiverService } from '../webhook-receiver-service';
import { addExternalPolicy, DeliveryHints, ExposureScope, payloadUrlOf, policyWords, proxyFailureHint, ReadmeScope, WebhookExposure } from './exposure';

/**
 * A networking.k8s.io/v1 Ingress to bootstrap's `webhook-receiver` Service: the ingress controller
 * terminates TLS for the host name (a cert-manager certificate when asked), and the Git host calls
 * `https://<hostname>/hook/...`. bootstrap's Service stays a ClusterIP.
 */
export class IngressExposure implements WebhookExposure {
  public constructor(private readonly config: IngressWebhookConfig) {}

  public addTo(target: ExposureScope): ReturnType<WebhookExposure['addTo']> {
    const { hostname, className, tls, annotations } = this.config.ingress;
    new WebhookIngress(new ManifestFile(target.scope, 'Ingress', { path: CLUSTER_FILES.ingress }), 'Ingress', {
      hostname, className, tls, annotations, namespace: target.namespace,
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
  public readonly addressHint = 'set webhook.ingress.hostname';

  public deliveryHints(namespace: string): DeliveryHints {
    const ingress = `kubectl -n ${namespace} describe ingress ${WebhookIngress.DEFAULT_NAME}`;
    return {
      noAnswer: `${this.config.ingress.hostname} does not lead to the ingress controller (DNS, its load balancer), or a firewall drops the traffic`,
      refused: `the ingress controller does not listen there: check the URL's scheme and port and the controller's Service`,
      notFound: `or no ingress controller serves this Ingress: check its class${this.config.ingress.className ? ` (${this.config.ingress.className})` : ''} and ${ingress}; a rewrite annotation would also lose the path`,
      notReceiver: `another Ingress for ${this.config.ingress.hostname} may take ${WEBHOOK_PATH_PREFIX}; see ${ingress}`,
      proxyFailure: proxyFailureHint('the ingress controller', namespace),
    };
  }

  public readme({ namespace }: ReadmeScope): ReturnType<WebhookExposure['readme']> {
    const { hostname, className, tls } = this.config.ingress;
    const origin = this.payloadUrl('');
    const certificate = tls === undefined
      ? 'the ingress controller\'s default certificate, which the Git host must trust (often a self-signed one: then give tls a Secret)'
      : tls === false ? undefined
        : tls.clusterIssuer ? `a certificate cert-manager issues from ClusterIssuer \`${tls.clusterIssuer}\` into Secret \`${tls.secretName}\` (annotation \`${CERT_MANAGER_CLUSTER_ISSUER}\`)`
          : `the certificate in Secret \`${tls.secretName}\` (namespace \`${namespace}\`)`;
    return {
      nodes: [
        [`Ingress ${WebhookIngress.DEFAULT_NAME}`, origin, `Prefix ${WEBHOOK_PATH_PREFIX}${className ? `, class ${className}` : ''}`],
        [`Service ${WebhookReceiverService.SERVICE_NAME}`, `port ${WebhookReceiverService.PORT} → ${WebhookReceiverService.TARGET_PORT}`],
      ],
      pushEdge: `push: POST ${origin}/hook/...`,
      through: `through Ingress ${WebhookIngress.DEFAULT_NAME}`,
      openStep: `DNS for \`${hostname}\` must lead to the ingress controller${className ? ` of class \`${className}\`` : ''}${certificate ? `, which serves it with ${certificate}` : ' (plain HTTP: tls: false)'}; ${policyWords(this.config)}.`,
    };
  }
}
