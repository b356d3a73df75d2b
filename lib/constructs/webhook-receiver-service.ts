import { Construct } from 'constructs';
import { k8s } from '../../imports/k8s';
import { DEFAULT_NAMESPACE } from '../layout';
import { ExternalTrafficPolicy } from '../fleet/model';
import { annotationKeyProblem } from '../fleet/names';
import { addAnnotations } from './prototype-names';
import { cidrProblem, nodePortProblem } from '../fleet/network';

export interface WebhookReceiverServiceProps {
  /**
   * How the Service is opened to the outside: a port on every node, or a cloud load balancer.
   * @default 'NodePort'
   */
  readonly type?: 'NodePort' | 'LoadBalancer';

  /** The port opened on every node, in 30000-32767; required for a NodePort (the Payload URL names it). @default - none (LoadBalancer) */
  readonly nodePort?: number;

  /** `Local` keeps the caller's address (so a NetworkPolicy can match it), at the price of answering only on nodes running notification-controller. @default - Cluster */
  readonly externalTrafficPolicy?: ExternalTrafficPolicy;

  /** CIDRs a LoadBalancer admits (`loadBalancerSourceRanges`). @default - anywhere */
  readonly loadBalancerSourceRanges?: readonly string[];

  /** The Service's annotations (a cloud load balancer's options). @default none */
  readonly annotations?: Readonly<Record<string, string>>;

  /** Also listen on 443, for a load balancer that terminates TLS there (set up by its annotations). @default false */
  readonly httpsPort?: boolean;

  /**
   * Namespace of Flux's notification-controller.
   * @default 'flux-system'
   */
  readonly namespace?: string;
}

/**
 * A kustomize patch that opens the `webhook-receiver` Service that `flux bootstrap` installs
 * (ClusterIP, port 80 -> `http-webhook`) to the outside, as a NodePort or a LoadBalancer, so the
 * Git host can reach the Receivers. It must be applied as a patch over `gotk-components.yaml`,
 * never on its own.
 */
export class WebhookReceiverService extends Construct {
  /** The bootstrap Service's name. */
  public static readonly SERVICE_NAME = 'webhook-receiver';
  /** The bootstrap Service's port, which routes and Ingresses point at. */
  public static readonly PORT = 80;
  /** notification-controller's named container port for Receivers (9292). */
  public static readonly TARGET_PORT = 'http-webhook';

  public readonly type: 'NodePort' | 'LoadBalancer';
  public readonly nodePort: number | undefined;
  public readonly resource: k8s.KubeService;

  public constructor(scope: Construct, id: string, props: WebhookReceiverServiceProps) {
    super(scope, id);
    this.type = props.type ?? 'NodePort';
    const problems: string[] = [];
    const portProblem = props.nodePort === undefined ? undefined : nodePortProblem(props.nodePort);
    if (portProblem) problems.push(`nodePort ${portProblem}`);
    if (this.type === 'NodePort' && props.nodePort === undefined) problems.push('a NodePort needs nodePort: the Payload URL names it');
    if (this.type === 'NodePort' && (props.loadBalancerSourceRanges !== undefined || props.httpsPort)) problems.push('loadBalancerSourceRanges and httpsPort are for a LoadBalancer');
    for (const cidr of props.loadBalancerSourceRanges ?? []) {
      const problem = cidrProblem(cidr);
      if (problem) problems.push(`loadBalancerSourceRanges ${problem}`);
    }
    for (const key of Object.keys(props.annotations ?? {})) {
      const problem = annotationKeyProblem(key);
      if (problem) problems.push(`annotations ${problem}`);
    }
    if (problems.length > 0) throw new Error(`WebhookReceiverService: ${problems.join('; ')}`);
    this.nodePort = props.nodePort;

    const targetPort = k8s.IntOrString.fromString(WebhookReceiverService.TARGET_PORT);
    this.resource = new k8s.KubeService(this, 'Resource', {
      metadata: { name: WebhookReceiverService.SERVICE_NAME, namespace: props.namespace ?? DEFAULT_NAMESPACE },
      spec: {
        type: this.type,
        selector: { app: 'notification-controller' },
        externalTrafficPolicy: props.externalTrafficPolicy,
        loadBalancerSourceRanges: props.loadBalancerSourceRanges === undefined ? undefined : [...props.loadBalancerSourceRanges],
        ports: [
          { name: 'http', port: WebhookReceiverService.PORT, protocol: 'TCP', targetPort, nodePort: this.nodePort },
          // The load balancer decrypts and forwards plain HTTP, as on port 80.
          ...(props.httpsPort ? [{ name: 'https', port: 443, protocol: 'TCP', targetPort }] : []),
        ],
      },
    });
    addAnnotations(this.resource, props.annotations);
  }
}
