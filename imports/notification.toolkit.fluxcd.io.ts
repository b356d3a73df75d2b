// notification.toolkit.fluxcd.io/v1: Flux Receiver.
// Spec types come from @kubernetes-models/flux-cd. Compared with the current CRD (Flux 2.7), the
// package lacks `spec.oidcProviders`, the `generic-oidc` type and `resources[].filter`; we use none
// of them, so nothing is extended.
import { GroupVersionKind } from 'cdk8s';
import { Construct } from 'constructs';
import { Receiver as ReceiverModel } from '@kubernetes-models/flux-cd/notification.toolkit.fluxcd.io/v1/Receiver';
import type { IReceiverSpec } from '@kubernetes-models/flux-cd/notification.toolkit.fluxcd.io/v1/ReceiverSpec';
import { OPEN, ObjectShape } from './closed-shape';
import { FluxApiObject, FluxApiObjectProps } from './flux-api-object';

export type ReceiverSpec = IReceiverSpec;
export type ReceiverProps = FluxApiObjectProps<ReceiverSpec>;

export const RECEIVER_SPEC_SHAPE: ObjectShape<ReceiverSpec> = {
  events: OPEN,
  interval: OPEN,
  resourceFilter: OPEN,
  resources: { apiVersion: OPEN, kind: OPEN, name: OPEN, namespace: OPEN, matchLabels: OPEN },
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
