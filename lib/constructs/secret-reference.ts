/** A typed reference to a Secret that Flux objects read (a token, Git credentials). */
export interface ISecretReference {
  readonly name: string;
  readonly namespace: string;
}

/** Refers to a Secret made outside this app (by hand, by another tool) by its name. */
export function secretFromName(name: string, namespace: string): ISecretReference {
  return { name, namespace };
}
