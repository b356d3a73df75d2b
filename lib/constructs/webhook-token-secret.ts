import { Construct } from 'constructs';
import { k8s } from '../../imports/k8s';
import { assertObjectName } from '../fleet/names';
import { ISecretReference } from './secret-reference';
import { webhookTokenProblem } from '../fleet/webhook-token';
import { CLUSTER_ANNOTATION, DEFAULT_NAMESPACE, WEBHOOK_TOKEN_SECRET } from '../layout';

export interface WebhookTokenSecretProps {
  /** The shared token GitHub signs deliveries with. Handed in by the caller, never generated here. */
  readonly token: string;

  /**
   * The Secret's name.
   * @default 'webhook-token'
   */
  readonly name?: string;

  /**
   * The Secret's namespace: the Receiver's.
   * @default 'flux-system'
   */
  readonly namespace?: string;

  /**
   * The cluster it belongs to, written as the annotation flux-infra.io/cluster (see CLUSTER_ANNOTATION).
   * @default - no annotation
   */
  readonly cluster?: string;
}

/**
 * The Secret a Receiver checks signatures with: key `token`. It holds a plaintext credential,
 * so it must never be written to a committed file as it is.
 */
export class WebhookTokenSecret extends Construct implements ISecretReference {
  /** The Secret's name unless told otherwise: the one the walkthrough and `flux create receiver` use. */
  public static readonly DEFAULT_NAME = WEBHOOK_TOKEN_SECRET;

  /** The data key notification-controller reads. */
  public static readonly TOKEN_KEY = 'token';

  /**
   * notification-controller (1.7+) reconciles a Receiver when its Secret changes only if the Secret
   * carries this label; without it a rotated token's path waits for the Receiver's interval (10m).
   */
  public static readonly WATCH_LABEL = { 'reconcile.fluxcd.io/watch': 'Enabled' } as const;

  public readonly name: string;
  public readonly namespace: string;
  public readonly resource: k8s.KubeSecret;

  public constructor(scope: Construct, id: string, props: WebhookTokenSecretProps) {
    super(scope, id);
    this.name = props.name ?? WebhookTokenSecret.DEFAULT_NAME;
    this.namespace = props.namespace ?? DEFAULT_NAMESPACE;
    assertObjectName(`WebhookTokenSecret ${this.name}`, 'name', this.name);
    assertObjectName(`WebhookTokenSecret ${this.name}`, 'namespace', this.namespace, 'label');
    const problem = webhookTokenProblem(props.token);
    if (problem) {
      throw new Error(`WebhookTokenSecret ${this.name}: token ${problem}`);
    }
    this.resource = new k8s.KubeSecret(this, 'Resource', {
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { ...WebhookTokenSecret.WATCH_LABEL },
        ...props.cluster === undefined ? {} : { annotations: { [CLUSTER_ANNOTATION]: props.cluster } },
      },
      type: 'Opaque',
      stringData: { [WebhookTokenSecret.TOKEN_KEY]: props.token },
    });
  }
}
