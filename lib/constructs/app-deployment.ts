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
   * @default - with wait, 2m (or the interval if shorter); without, the interval (Flux's default)
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
   * @default - with wait, 5m (or the interval if shorter); without, Flux's default (the interval)
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

/** A Kustomization another one can wait for (`spec.dependsOn`), and what it waits for itself; a Receiver can reconcile it. */
export interface IFluxKustomization {
  readonly apiVersion: string;
  readonly kind: 'Kustomization';
  readonly name: string;
  readonly namespace: string;
  readonly dependsOn: readonly IFluxKustomization[];
}

/** With wait, how long an apply may take before the Kustomization fails, unless the fleet says otherwise. */
export const WAIT_TIMEOUT = Duration.minutes(5);
/** With wait, how soon a failed apply is retried, unless the fleet says otherwise. */
export const WAIT_RETRY_INTERVAL = Duration.minutes(2);

/** One application path applied by Flux: a `kustomize.toolkit.fluxcd.io/v1` Kustomization. */
export class AppDeployment extends Construct implements IFluxKustomization {
  public readonly apiVersion = Kustomization.GVK.apiVersion;
  public readonly kind = 'Kustomization' as const;
  public readonly name: string;
  public readonly namespace: string;
  public readonly source: IFluxSource;
  public readonly path: string;
  public readonly interval: Duration;
  public readonly prune: boolean;
  public readonly wait: boolean;
  /** How long apply and health checks may take; undefined leaves it to Flux (the interval). */
  public readonly timeout: Duration | undefined;
  /** How soon a failed reconcile is retried; undefined leaves it to Flux (the interval). */
  public readonly retryInterval: Duration | undefined;
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
    // With wait, a failing rollout would otherwise be reported and retried only after the interval
    // (1h here): a push is applied at once, and so should its failure be.
    const noLongerThanInterval = (duration: Duration) => (duration.toMilliseconds() < this.interval.toMilliseconds() ? duration : this.interval);
    this.timeout = props.timeout ?? (this.wait ? noLongerThanInterval(WAIT_TIMEOUT) : undefined);
    this.retryInterval = props.retryInterval ?? (this.wait ? noLongerThanInterval(WAIT_RETRY_INTERVAL) : undefined);
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
        retryInterval: this.retryInterval && toGoDuration(this.retryInterval),
        prune: this.prune,
        wait: this.wait,
        timeout: this.timeout && toGoDuration(this.timeout),
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
