// source.toolkit.fluxcd.io/v1: the Flux source kinds this project synthesizes.
// Spec types come from @kubernetes-models/flux-cd. Compared with the current CRD (Flux 2.7):
// no field we set is missing from the package, so nothing is extended locally.
import { GroupVersionKind } from 'cdk8s';
import { Construct } from 'constructs';
import { GitRepository as GitRepositoryModel } from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository';
import type { IGitRepositorySpec } from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepositorySpec';
import { OPEN, ObjectShape } from './closed-shape';
import { FluxApiObject, FluxApiObjectProps } from './flux-api-object';

export type GitRepositorySpec = IGitRepositorySpec;
export type GitRepositoryProps = FluxApiObjectProps<GitRepositorySpec>;

const localObjectReference = { name: OPEN } as const;

export const GIT_REPOSITORY_SPEC_SHAPE: ObjectShape<GitRepositorySpec> = {
  ignore: OPEN,
  include: { repository: localObjectReference, fromPath: OPEN, toPath: OPEN },
  interval: OPEN,
  provider: OPEN,
  proxySecretRef: localObjectReference,
  recurseSubmodules: OPEN,
  ref: { branch: OPEN, commit: OPEN, name: OPEN, semver: OPEN, tag: OPEN },
  secretRef: localObjectReference,
  serviceAccountName: OPEN,
  sparseCheckout: OPEN,
  suspend: OPEN,
  timeout: OPEN,
  url: OPEN,
  verify: { mode: OPEN, secretRef: localObjectReference },
};

/** GitRepository: a Git source that source-controller fetches and packages as an artifact. */
export class GitRepository extends FluxApiObject<GitRepositorySpec> {
  public static readonly GVK: GroupVersionKind = { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository' };

  public constructor(scope: Construct, id: string, props: GitRepositoryProps) {
    super(scope, id, GitRepository.GVK, props, GitRepositoryModel, GIT_REPOSITORY_SPEC_SHAPE);
  }
}
