// kustomize.config.k8s.io/v1beta1: the kustomization.yaml that kustomize (and so Flux) reads.
// No maintained TypeScript package types it; these are the few fields we write, from
// https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/
import { ApiObject, GroupVersionKind } from 'cdk8s';
import { Construct } from 'constructs';

/** Which objects a patch applies to. */
export interface KustomizePatchTarget {
  readonly group?: string;
  readonly version?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly annotationSelector?: string;
}

/** A strategic-merge or JSON6902 patch: a file (`path`) or inline (`patch`). */
export interface KustomizePatch {
  readonly path?: string;
  readonly patch?: string;
  readonly target?: KustomizePatchTarget;
}

export interface KustomizeConfigProps {
  readonly resources?: string[];
  readonly patches?: KustomizePatch[];
}

/** kustomization.yaml. It is not a Kubernetes object, so it is rendered without `metadata`. */
export class KustomizeConfig extends ApiObject {
  public static readonly GVK: GroupVersionKind = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' };

  public constructor(scope: Construct, id: string, props: KustomizeConfigProps) {
    super(scope, id, { ...KustomizeConfig.GVK, ...props });
  }

  public toJson(): any {
    const { metadata: _metadata, ...rest } = super.toJson();
    return rest;
  }
}
