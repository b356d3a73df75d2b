import { Construct } from 'constructs';
import { AppDeployment } from './app-deployment';
import { FluxSystemKustomization } from './flux-system-kustomization';
import { parseGoDuration } from '../fleet/durations';
import { exposureOf, WebhookExposure } from './exposures';
import { ManifestFile } from './manifest-file';
import { ISecretReference, secretFromName } from './secret-reference';
import { WebhookReceiver } from './webhook-receiver';
import { WebhookTokenSecret } from './webhook-token-secret';
import { CLUSTER_FILES, SOPS_AGE_SECRET } from '../layout';
import { ClusterConfig, clusterNamespace, receiverTypeOf } from '../fleet/model';
import { clusterReceivers, FLEET_REPOSITORY_RECEIVER, fleetRepositorySource } from '../fleet/git-hosts';
import { receiverFilters } from '../hosts/filters';
import { isOidcReceiver, needsWebhookToken, oidcReceiverModel } from '../hosts/oidc';
import { gitRepositoryFromName } from './git-source';
import { unknownReferenceProblem } from '../fleet/references';
import { addSource } from './sources';
import { IFluxSource } from './flux-source';
import { constructIdOf } from './prototype-names';

export interface FluxClusterProps {
  readonly config: ClusterConfig;

  /**
   * The cluster's webhook token. With it, the `webhook-token` Secret is synthesized into a
   * sensitive file; without it, the Receivers refer to the Secret by name only.
   * @default - no Secret manifest
   */
  readonly webhookToken?: string;
}

/**
 * A whole cluster wired for push-based reconciliation: its Git sources, the apps applied from
 * them, the webhook token Secret, the Receivers, and the exposure (NodePort, LoadBalancer, Gateway
 * API route or Ingress, with its NetworkPolicy) that lets the Git host reach them. Each concern is its own manifest file; see `CLUSTER_FILES` in lib/layout.ts.
 */
export class FluxCluster extends Construct {
  public readonly config: ClusterConfig;
  public readonly clusterName: string;
  public readonly namespace: string;
  public readonly sources = new Map<string, IFluxSource>();
  public readonly apps = new Map<string, AppDeployment>();
  public readonly receivers = new Map<string, WebhookReceiver>();
  /** The webhook token Secret: none where every Receiver is generic-oidc. */
  public readonly tokenSecret?: ISecretReference;
  /** How the Receivers are reached from outside (lib/constructs/exposures/). */
  public readonly exposure: WebhookExposure;

  /** The token Secret in its own sensitive file below `scope`: a cluster's, or synth's alone when the rest of the cluster needs no rendering. */
  public static addTokenSecret(scope: Construct, token: string, namespace: string, cluster: string): WebhookTokenSecret {
    return new WebhookTokenSecret(new ManifestFile(scope, 'TokenSecret', { path: CLUSTER_FILES.tokenSecret, sensitive: true }), 'Secret', { token, namespace, cluster });
  }

  public constructor(scope: Construct, id: string, props: FluxClusterProps) {
    super(scope, id);
    const config = props.config;
    this.config = config;
    const files = CLUSTER_FILES;
    this.clusterName = config.name;
    this.namespace = clusterNamespace(config);
    const namespace = this.namespace;

    this.exposure = exposureOf(config.webhook);
    new FluxSystemKustomization(new ManifestFile(this, 'FluxSystem', { path: files.fluxSystemKustomization }), 'Kustomization', {
      patches: this.exposure.addTo({ scope: this, namespace }),
      sopsAgeSecretName: config.sops === undefined ? undefined : SOPS_AGE_SECRET,
    });

    const sourcesFile = new ManifestFile(this, 'Sources', { path: files.sources });
    for (const source of config.sources) {
      this.sources.set(source.name, addSource(sourcesFile, source, namespace));
    }

    const appsFile = new ManifestFile(this, 'Apps', { path: files.apps });
    for (const app of config.apps) {
      this.apps.set(app.name, new AppDeployment(appsFile, constructIdOf(app.name), {
        name: app.name,
        source: this.lookup(this.sources, 'source', app.source, `app ${app.name}`),
        path: app.path,
        interval: app.interval === undefined ? undefined : parseGoDuration(app.interval),
        retryInterval: app.retryInterval === undefined ? undefined : parseGoDuration(app.retryInterval),
        prune: app.prune,
        wait: app.wait,
        timeout: app.timeout === undefined ? undefined : parseGoDuration(app.timeout),
        targetNamespace: app.targetNamespace,
      }));
    }
    for (const app of config.apps) {
      for (const dependency of app.dependsOn ?? []) {
        this.apps.get(app.name)!.addDependsOn(this.lookup(this.apps, 'app', dependency, `app ${app.name}: dependsOn`));
      }
    }

    this.tokenSecret = !needsWebhookToken(config) ? undefined : props.webhookToken === undefined
      ? secretFromName(WebhookTokenSecret.DEFAULT_NAME, namespace)
      : FluxCluster.addTokenSecret(this, props.webhookToken, namespace, config.name);

    const receiversFile = new ManifestFile(this, 'Receivers', { path: files.receivers });
    const fleetRepository = fleetRepositorySource(config);
    for (const { receiver, sources } of clusterReceivers(config)) {
      const type = receiverTypeOf(receiver);
      const oidc = isOidcReceiver(receiver) ? oidcReceiverModel(config, receiver, sources) : undefined;
      const webhookReceiver = new WebhookReceiver(receiversFile, constructIdOf(receiver.name), {
        name: receiver.name,
        namespace,
        type,
        events: receiver.events,
        secret: oidc === undefined ? this.tokenSecret : undefined,
        oidcProviders: oidc?.providers.map(({ issuerURL, audience, validations }) => ({ issuerURL, audience, validations: [...validations] })),
      });
      const filters = oidc === undefined
        ? receiverFilters(receiver, type, sources)
        : new Map(oidc.sources.map((source) => [source.source, receiver.filter === false ? undefined : source.filter]));
      for (const name of receiver.sources) {
        const source = fleetRepository !== undefined && receiver.name === FLEET_REPOSITORY_RECEIVER
          ? gitRepositoryFromName(fleetRepository.name, namespace, fleetRepository.url, fleetRepository.branch!)
          : this.lookup(this.sources, 'source', name, `receiver ${receiver.name}`);
        webhookReceiver.addResource(source, { filter: filters.get(name) });
      }
      this.receivers.set(receiver.name, webhookReceiver);
    }
  }

  private lookup<T>(table: Map<string, T>, kind: string, name: string, field: string): T {
    const unknown = unknownReferenceProblem(kind, name, table.keys());
    if (unknown) throw new Error(`FluxCluster ${this.clusterName}: ${field}: ${unknown}`);
    return table.get(name)!;
  }
}
