import { Construct } from 'constructs';
import { k8s } from '../../imports/k8s';
import { DEFAULT_NAMESPACE } from '../layout';
import { nodePortProblem } from '../fleet/network';

export interface WebhookReceiverServiceProps {
  /** The port opened on every node, in 30000-32767; GitHub calls `http://<node>:<nodePort>/hook/...`. */
  readonly nodePort: number;

  /**
   * Namespace of Flux's notification-controller.
   * @default 'flux-system'
   */
  readonly namespace?: string;
}

/**
 * A kustomize patch that turns the `webhook-receiver` Service that `flux bootstrap` installs
 * (ClusterIP, port 80 -> `http-webhook`) into a NodePort, so GitHub can reach the Receivers.
 * It must be applied as a patch over `gotk-components.yaml`, never on its own.
 */
export class WebhookReceiverService extends Construct {
  /** The bootstrap Service's name. */
  public static readonly SERVICE_NAME = 'webhook-receiver';
  /** notification-controller's named container port for Receivers (9292). */
  public static readonly TARGET_PORT = 'http-webhook';

  public readonly nodePort: number;
  public readonly resource: k8s.KubeService;

  public constructor(scope: Construct, id: string, props: WebhookReceiverServiceProps) {
    super(scope, id);
    const problem = nodePortProblem(props.nodePort);
    if (problem) {
      throw new Error(`WebhookReceiverService: nodePort ${problem}`);
    }
    this.nodePort = props.nodePort;
    this.resource = new k8s.KubeService(this, 'Resource', {
      metadata: { name: WebhookReceiverService.SERVICE_NAME, namespace: props.namespace ?? DEFAULT_NAMESPACE },
      spec: {
        type: 'NodePort',
        selector: { app: 'notification-controller' },
        ports: [{
          name: 'http',
          port: 80,
          protocol: 'TCP',
          targetPort: k8s.IntOrString.fromString(WebhookReceiverService.TARGET_PORT),
          nodePort: this.nodePort,
        }],
      },
    });
  }
}
