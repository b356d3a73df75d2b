import { Construct } from 'constructs';
import { KustomizeConfig, KustomizePatch } from '../imports/kustomize.config.k8s.io';

/** The files `flux bootstrap` writes into `flux-system/` and owns. */
export const BOOTSTRAP_FILES = ['gotk-components.yaml', 'gotk-sync.yaml'];

export interface FluxSystemKustomizationProps {
  /** Patch files next to the kustomization (ours), each with the object it targets. */
  readonly patches: KustomizePatch[];
}

/**
 * `flux-system/kustomization.yaml`: the bootstrap components plus our patches over them.
 * Flux documents this file as the place to customize bootstrap; bootstrap keeps it.
 */
export class FluxSystemKustomization extends Construct {
  public readonly resource: KustomizeConfig;

  public constructor(scope: Construct, id: string, props: FluxSystemKustomizationProps) {
    super(scope, id);
    this.resource = new KustomizeConfig(this, 'Resource', {
      resources: [...BOOTSTRAP_FILES],
      patches: props.patches,
    });
  }
}
