import { Construct } from 'constructs';
import { KustomizePatch } from '../../../imports/kustomize.config.k8s.io';

/** Where exposure objects go and what they belong to. */
export interface ExposureScope {
  /** The cluster construct: the exposure adds its manifest files below it. */
  readonly scope: Construct;
  /** Flux's namespace, where the webhook-receiver Service and notification-controller run. */
  readonly namespace: string;
}

/**
 * How the Receivers of a cluster are reached from outside: the objects that open the way, the
 * Payload URL the Git host calls, and the words the cluster README uses for it. One file per kind
 * under lib/constructs/exposures/, registered in index.ts.
 */
export interface WebhookExposure {
  /** Adds the exposure's objects (Service patch, NetworkPolicy, route...) and returns the patches flux-system must apply. */
  addTo(target: ExposureScope): KustomizePatch[];
  /** The Payload URL for a Receiver path, or undefined when the fleet file does not say where the cluster is reached. */
  payloadUrl(path: string): string | undefined;
  /** The Payload URL with a placeholder for what the fleet file does not say, for messages. */
  urlTemplate(path: string): string;
  /** What to check when a test delivery gets no answer, is refused, or reaches something that is not a Receiver. */
  deliveryHints(namespace: string): { readonly noAnswer: string; readonly refused: string; readonly notReceiver: string };
  /** The README's words: the diagram node between the Git host and the Receivers, the push edge, and the setup step that opens the way. */
  readonly readme: { readonly node: readonly string[]; readonly pushEdge: string; readonly through: string; readonly openStep: string };
}
