import { Duration, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { Kustomization } from '../../imports/kustomize.toolkit.fluxcd.io';
import { IFluxSource } from './flux-source';
import { toGoDuration } from '../fleet/durations';
import { assertObjectName } from '../fleet/names';
import { dependencyCycle } from '../fleet/dependencies';
import { sourcePathProblem } from '../fleet/git';

export interface AppDeploymentProps {
  /**
   * The Kustomization's name.
   * @default - the construct id
   */
  readonly name?: string;

  /**
   * The namespace of the Kustomization.
   * @default - the source's namespace
   */
  readonly namespace?: string;

  /** The source whose artifact holds the manifests (a `GitSource`). */
  readonly source: IFluxSource;

  /** Path of the manifests inside the source, starting with `./` (e.g. `./deploy/vote/staging`). */
  readonly path: string;

  /**
   * How often kustomize-controller re-applies (and corrects drift). A new source revision
   * triggers a reconcile at once, so this is only the fallback.
   * @default Duration.hours(1)
   */
  readonly interval?: Duration;

  /**
   * How soon to retry after a failed reconcile.
   * @default - the interval (Flux's default)
   */
  readonly retryInterval?: Duration;

  /**
   * Delete objects that were applied before but are no longer in the path.
   * @default true
   */
  readonly prune?: boolean;

  /**
   * Wait until every applied object is ready before the Kustomization counts as ready.
   * @default true
   */
  readonly wait?: boolean;

  /**
   * Timeout for apply and health checks.
   * @default - Flux's default (the interval)
   */
  readonly timeout?: Duration;

  /**
   * Namespace to put every applied object in.
   * @default - the namespaces written in the manifests
   */
  readonly targetNamespace?: string;

  /**
   * Apps that must be ready before this one is applied.
   * @default - none
   */
  readonly dependsOn?: IFluxKustomization[];
}

/** A Kustomization another one can wait for (`spec.dependsOn`), and what it waits for itself. */
export interface IFluxKustomization {
  readonly name: string;
  readonly namespace: string;
  readonly dependsOn: readonly IFluxKustomization[];
}

/** One application path applied by Flux: a `kustomize.toolkit.fluxcd.io/v1` Kustomization. */
export class AppDeployment extends Construct implements IFluxKustomization {
  public readonly name: string;
  public readonly namespace: string;
  public readonly source: IFluxSource;
  public readonly path: string;
  public readonly interval: Duration;
  public readonly prune: boolean;
  public readonly wait: boolean;
  public readonly resource: Kustomization;
  private readonly dependencies: IFluxKustomization[] = [];

  public constructor(scope: Construct, id: string, props: AppDeploymentProps) {
    super(scope, id);
    this.name = props.name ?? id;
    this.namespace = props.namespace ?? props.source.namespace;
    this.source = props.source;
    const owner = `AppDeployment ${this.name}`;
    assertObjectName(owner, 'name', this.name);
    assertObjectName(owner, 'namespace', this.namespace, 'label');
    if (props.targetNamespace !== undefined) {
      assertObjectName(owner, 'targetNamespace', props.targetNamespace, 'label');
    }
    const pathProblem = sourcePathProblem(props.path);
    if (pathProblem) {
      throw new Error(`${owner}: path ${pathProblem}`);
    }
    this.path = props.path;
    this.interval = props.interval ?? Duration.hours(1);
    this.prune = props.prune ?? true;
    this.wait = props.wait ?? true;
    for (const dependency of props.dependsOn ?? []) {
      this.addDependsOn(dependency);
    }

    this.resource = new Kustomization(this, 'Resource', {
      metadata: { name: this.name, namespace: this.namespace },
      spec: {
        sourceRef: {
          kind: this.source.kind,
          name: this.source.name,
          // Written only across namespaces: Flux looks in the Kustomization's own by default.
          namespace: this.source.namespace === this.namespace ? undefined : this.source.namespace,
        },
        path: this.path,
        interval: toGoDuration(this.interval),
        retryInterval: props.retryInterval && toGoDuration(props.retryInterval),
        prune: this.prune,
        wait: this.wait,
        timeout: props.timeout && toGoDuration(props.timeout),
        targetNamespace: props.targetNamespace,
        // Lazy, so that addDependsOn() after construction still reaches the output.
        dependsOn: Lazy.any({
          produce: () => this.dependencies.length === 0 ? undefined : this.dependencies.map((app) => ({
            name: app.name,
            namespace: app.namespace === this.namespace ? undefined : app.namespace,
          })),
        }),
      },
    });
    this.node.addValidation({ validate: () => this.validateDependencies() });
  }

  /** Makes this app wait for `app` to be ready. */
  public addDependsOn(app: IFluxKustomization): void {
    if (app === this) {
      throw new Error(`AppDeployment ${this.name}: dependsOn must not name the app itself`);
    }
    this.dependencies.push(app);
  }

  /** The apps this one waits for. */
  public get dependsOn(): readonly IFluxKustomization[] {
    return [...this.dependencies];
  }

  private validateDependencies(): string[] {
    // Every Kustomization this one can reach, as names: the same cycle rule as the fleet file's.
    const reachable = new Map<IFluxKustomization, { name: string; dependsOn: string[] }>();
    const key = (app: IFluxKustomization) => `${app.namespace}/${app.name}`;
    const visit = (app: IFluxKustomization) => {
      if (reachable.has(app)) return;
      reachable.set(app, { name: key(app), dependsOn: app.dependsOn.map(key) });
      app.dependsOn.forEach(visit);
    };
    visit(this);
    const cycle = dependencyCycle([...reachable.values()]);
    return cycle?.includes(key(this)) ? [`AppDeployment ${this.name}: dependsOn forms a cycle: ${cycle.map((name) => name.split('/')[1]).join(' -> ')}`] : [];
  }
}
