// notification.toolkit.fluxcd.io/v1: Flux Receiver.
// Spec types come from @kubernetes-models/flux-cd. Compared with the current CRD (Flux 2.7), the
// package lacks `spec.oidcProviders`, the `generic-oidc` type and `resources[].filter` (the
// per-resource CEL filter, notification-controller 1.9+). We write per-resource filters, so that
// field is added here; the package's schema check accepts it (its validator allows unknown fields,
// which the closed shape below then governs).
import { GroupVersionKind } from 'cdk8s';
import { Construct } from 'constructs';
import { Receiver as ReceiverModel } from '@kubernetes-models/flux-cd/notification.toolkit.fluxcd.io/v1/Receiver';
import type { IReceiverSpec } from '@kubernetes-models/flux-cd/notification.toolkit.fluxcd.io/v1/ReceiverSpec';
import { OPEN, ObjectShape } from './closed-shape';
import { FluxApiObject, FluxApiObjectProps } from './flux-api-object';

type ReceiverResource = NonNullable<IReceiverSpec['resources']>[number];
export type ReceiverSpec = Omit<IReceiverSpec, 'resources'> & {
  /** The sources to reconcile, each with an optional CEL `filter` over the delivery (`req`). */
  resources: (ReceiverResource & { filter?: string })[];
};
export type ReceiverProps = FluxApiObjectProps<ReceiverSpec>;

export const RECEIVER_SPEC_SHAPE: ObjectShape<ReceiverSpec> = {
  events: OPEN,
  interval: OPEN,
  resourceFilter: OPEN,
  resources: { apiVersion: OPEN, kind: OPEN, name: OPEN, namespace: OPEN, matchLabels: OPEN, filter: OPEN },
  secretRef: { name: OPEN },
  suspend: OPEN,
  type: OPEN,
};

/** Receiver: an HTTP endpoint in notification-controller that turns webhook calls into reconciles. */
export class Receiver extends FluxApiObject<ReceiverSpec> {
  public static readonly GVK: GroupVersionKind = { apiVersion: 'notification.toolkit.fluxcd.io/v1', kind: 'Receiver' };

  public constructor(scope: Construct, id: string, props: ReceiverProps) {
    super(scope, id, Receiver.GVK, props, ReceiverModel, RECEIVER_SPEC_SHAPE);
  }
}
