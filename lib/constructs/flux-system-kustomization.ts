import { Yaml } from 'cdk8s';
import { Construct } from 'constructs';
import { KustomizeConfig, KustomizePatch } from '../../imports/kustomize.config.k8s.io';
import { Kustomization } from '../../imports/kustomize.toolkit.fluxcd.io';

/** The files `flux bootstrap` writes into `flux-system/` and owns. */
export const BOOTSTRAP_FILES = ['gotk-components.yaml', 'gotk-sync.yaml'];

export interface FluxSystemKustomizationProps {
  /** Patch files next to the kustomization (ours), each with the object it targets. */
  readonly patches: KustomizePatch[];

  /**
   * Make the `flux-system` Kustomization decrypt SOPS files with the age keys in this Secret
   * (same namespace, keys ending in `.agekey`).
   * @default - no decryption
   */
  readonly sopsAgeSecretName?: string;
}

/**
 * `flux-system/kustomization.yaml`: the bootstrap components plus our patches over them.
 * Flux documents this file as the place to customize bootstrap; bootstrap keeps it.
 */
export class FluxSystemKustomization extends Construct {
  public readonly resource: KustomizeConfig;

  public constructor(scope: Construct, id: string, props: FluxSystemKustomizationProps) {
    super(scope, id);
    const patches = [...props.patches];
    if (props.sopsAgeSecretName !== undefined) {
      patches.push({
        patch: Yaml.stringify({
          apiVersion: Kustomization.GVK.apiVersion,
          kind: Kustomization.GVK.kind,
          metadata: { name: 'flux-system' },
          spec: { decryption: { provider: 'sops', secretRef: { name: props.sopsAgeSecretName } } },
        }),
        target: { kind: Kustomization.GVK.kind, name: 'flux-system' },
      });
    }
    this.resource = new KustomizeConfig(this, 'Resource', {
      resources: [...BOOTSTRAP_FILES],
      // A gateway or an ingress leaves bootstrap's objects as they are: no empty list to read.
      patches: patches.length === 0 ? undefined : patches,
    });
  }
}
