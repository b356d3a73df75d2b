import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { GitRepository } from '../../imports/source.toolkit.fluxcd.io';
import { FluxSourceKind, IFluxSource } from './flux-source';
import { GitRef } from './git-ref';
import { toGoDuration } from '../fleet/durations';
import { assertObjectName } from '../fleet/names';
import { ISecretReference } from './secret-reference';
import { DEFAULT_NAMESPACE } from '../layout';
import { DEFAULT_BRANCH, gitUrlProblem } from '../fleet/git';

export interface GitSourceProps {
  /**
   * The GitRepository's name.
   * @default - the construct id
   */
  readonly name?: string;

  /**
   * The namespace of the GitRepository.
   * @default 'flux-system'
   */
  readonly namespace?: string;

  /**
   * The repository URL: `https://host/org/repo` or `ssh://git@host/org/repo`
   * (Flux does not take scp-style `git@host:org/repo`).
   */
  readonly url: string;

  /**
   * The revision to follow.
   * @default GitRef.branch('main')
   */
  readonly ref?: GitRef;

  /**
   * How often source-controller polls the repository. With a webhook Receiver, pushes are
   * picked up at once, so polling is only the fallback and can be slow.
   * @default Duration.minutes(30)
   */
  readonly interval?: Duration;

  /**
   * Timeout for Git operations.
   * @default - Flux's default (60s)
   */
  readonly timeout?: Duration;

  /**
   * A Secret with the credentials for a private repository (same namespace).
   * @default - none: the repository is public
   */
  readonly secret?: ISecretReference;

  /**
   * Extra ignore rules in `.sourceignore` format (what source-controller leaves out of the artifact).
   * @default - Flux's default rules
   */
  readonly ignore?: string;
}

/** A Git repository that Flux watches: a `source.toolkit.fluxcd.io/v1` GitRepository. */
export class GitSource extends Construct implements IFluxSource {
  public readonly apiVersion = GitRepository.GVK.apiVersion;
  public readonly kind: FluxSourceKind = 'GitRepository';
  public readonly name: string;
  public readonly namespace: string;
  public readonly url: string;
  public readonly ref: GitRef;
  public readonly interval: Duration;
  public readonly resource: GitRepository;

  public get summary(): readonly string[] {
    return [`GitRepository ${this.name}`, `${this.ref.kind} ${this.ref.value}`, `polls every ${toGoDuration(this.interval)}`];
  }

  public constructor(scope: Construct, id: string, props: GitSourceProps) {
    super(scope, id);
    this.name = props.name ?? id;
    this.namespace = props.namespace ?? DEFAULT_NAMESPACE;
    const owner = `GitSource ${this.name}`;
    assertObjectName(owner, 'name', this.name);
    assertObjectName(owner, 'namespace', this.namespace, 'label');
    const urlProblem = gitUrlProblem(props.url);
    if (urlProblem) {
      throw new Error(`${owner}: url ${urlProblem}`);
    }
    if (props.secret && props.secret.namespace !== this.namespace) {
      throw new Error(`${owner}: secret ${props.secret.name} is in namespace ${props.secret.namespace}; a GitRepository can only read Secrets of its own namespace (${this.namespace})`);
    }
    this.url = props.url;
    this.ref = props.ref ?? GitRef.branch(DEFAULT_BRANCH);
    this.interval = props.interval ?? Duration.minutes(30);

    this.resource = new GitRepository(this, 'Resource', {
      metadata: { name: this.name, namespace: this.namespace },
      spec: {
        url: this.url,
        ref: this.ref.toSpec(),
        interval: toGoDuration(this.interval),
        timeout: props.timeout && toGoDuration(props.timeout),
        secretRef: props.secret && { name: props.secret.name },
        ignore: props.ignore,
      },
    });
  }
}


/**
 * A GitRepository made outside this app (`flux bootstrap`'s flux-system), referred to by name, for
 * a Receiver to reconcile.
 */
export function gitRepositoryFromName(name: string, namespace: string, url: string, branch: string): IFluxSource {
  return { apiVersion: GitRepository.GVK.apiVersion, kind: 'GitRepository', name, namespace, url, summary: [`GitRepository ${name}`, `branch ${branch}`, 'made by flux bootstrap'] };
}
