// kustomize.toolkit.fluxcd.io/v1: Flux Kustomization.
// Spec types come from @kubernetes-models/flux-cd. Compared with the current CRD (Flux 2.7), the
// package lacks `spec.ignore` and `spec.buildMetadata`; we set neither, so nothing is extended.
import { GroupVersionKind } from 'cdk8s';
import { Construct } from 'constructs';
import { Kustomization as KustomizationModel } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization';
import type { IKustomizationSpec } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/KustomizationSpec';
import { OPEN, ObjectShape } from './closed-shape';
import { FluxApiObject, FluxApiObjectProps } from './flux-api-object';

export type KustomizationSpec = IKustomizationSpec;
export type KustomizationProps = FluxApiObjectProps<KustomizationSpec>;

const localObjectReference = { name: OPEN } as const;

export const KUSTOMIZATION_SPEC_SHAPE: ObjectShape<KustomizationSpec> = {
  commonMetadata: { annotations: OPEN, labels: OPEN },
  components: OPEN,
  decryption: { provider: OPEN, secretRef: localObjectReference, serviceAccountName: OPEN },
  deletionPolicy: OPEN,
  dependsOn: { name: OPEN, namespace: OPEN, readyExpr: OPEN },
  force: OPEN,
  healthCheckExprs: { apiVersion: OPEN, kind: OPEN, current: OPEN, failed: OPEN, inProgress: OPEN },
  healthChecks: { apiVersion: OPEN, kind: OPEN, name: OPEN, namespace: OPEN },
  ignoreMissingComponents: OPEN,
  images: { name: OPEN, newName: OPEN, newTag: OPEN, digest: OPEN },
  interval: OPEN,
  kubeConfig: { secretRef: { name: OPEN, key: OPEN }, configMapRef: localObjectReference },
  namePrefix: OPEN,
  nameSuffix: OPEN,
  patches: {
    patch: OPEN,
    target: { group: OPEN, version: OPEN, kind: OPEN, name: OPEN, namespace: OPEN, labelSelector: OPEN, annotationSelector: OPEN },
  },
  path: OPEN,
  postBuild: { substitute: OPEN, substituteFrom: { kind: OPEN, name: OPEN, optional: OPEN } },
  prune: OPEN,
  retryInterval: OPEN,
  serviceAccountName: OPEN,
  sourceRef: { apiVersion: OPEN, kind: OPEN, name: OPEN, namespace: OPEN },
  suspend: OPEN,
  targetNamespace: OPEN,
  timeout: OPEN,
  wait: OPEN,
};

/** Kustomization: applies a path of a Flux source to the cluster and keeps it reconciled. */
export class Kustomization extends FluxApiObject<KustomizationSpec> {
  public static readonly GVK: GroupVersionKind = { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization' };

  public constructor(scope: Construct, id: string, props: KustomizationProps) {
    super(scope, id, Kustomization.GVK, props, KustomizationModel, KUSTOMIZATION_SPEC_SHAPE);
  }
}
