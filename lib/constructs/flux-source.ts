import { ICrossNamespaceSourceReference } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/CrossNamespaceSourceReference';

/** The source kinds a Kustomization can apply from, as the Flux API names them. */
export type FluxSourceKind = ICrossNamespaceSourceReference['kind'];

/**
 * A typed reference to a Flux source object, for Kustomizations and Receivers to point at.
 * Implemented by `GitSource`; a new source kind (an OCIRepository) implements it too, and no
 * construct needs to know which kind it is.
 */
export interface IFluxSource {
  readonly apiVersion: string;
  readonly kind: FluxSourceKind;
  readonly name: string;
  readonly namespace: string;
  /** Where the source fetches from (a Git or OCI repository URL): what pushes come from. */
  readonly url: string;
  /** How the source follows its repository, in a few short lines (kind and name, reference, polling), for the cluster README. */
  readonly summary: readonly string[];
}
