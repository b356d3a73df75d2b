/**
 * A typed reference to a Flux source object, for Kustomizations and Receivers to point at.
 * Implemented by `GitSource`; anything that is not one cannot be passed by mistake.
 */
export interface IFluxSource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
}
