import { Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { Receiver, ReceiverOidcProvider } from '../../imports/notification.toolkit.fluxcd.io';
import { IFluxSource } from './flux-source';
import type { IFluxKustomization } from './app-deployment';
import { assertObjectName, controlCharacterInTextProblem } from '../fleet/names';
import { ISecretReference } from './secret-reference';
import { webhookPath } from './webhook-path';
import { DEFAULT_NAMESPACE } from '../layout';
import { ReceiverType } from '../fleet/model';
import { receiverEventsOf } from '../hosts';

export interface WebhookReceiverProps {
  /**
   * The Receiver's name (part of its webhook path).
   * @default - the construct id
   */
  readonly name?: string;

  /**
   * The Receiver's namespace (part of its webhook path).
   * @default 'flux-system'
   */
  readonly namespace?: string;

  /**
   * Which sender's payload format and signature to check.
   * @default ReceiverType.GITHUB
   */
  readonly type?: ReceiverType;

  /**
   * Event names to act on (`X-GitHub-Event` for GitHub); others get HTTP 400.
   * @default - the Git host's default events (ping and push for GitHub); every event for other types
   */
  readonly events?: string[];

  /**
   * The Secret whose `token` key signs deliveries; same namespace as the Receiver.
   * @default - none: only a generic-oidc Receiver goes without (the controller refuses one with a Secret)
   */
  readonly secret?: ISecretReference;

  /**
   * For a generic-oidc Receiver: the issuers it takes ID tokens from, each with the audience and the
   * CEL validations over the token's claims (lib/hosts/oidc.ts builds them from the fleet).
   * @default - none: every other type
   */
  readonly oidcProviders?: ReceiverOidcProvider[];

  /**
   * The sources (or Kustomizations) to reconcile on each accepted delivery. More can be added with `addResource()`.
   * @default - none yet; at least one is required by synth time
   */
  readonly resources?: ReceiverTarget[];
}

/** What a Receiver can reconcile: a source, or a Kustomization (written with its apiVersion: the controller answers 500 without it). */
export type ReceiverTarget = IFluxSource | IFluxKustomization;

/** A Flux webhook endpoint: a `notification.toolkit.fluxcd.io/v1` Receiver. */
export class WebhookReceiver extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly type: ReceiverType;
  public readonly events: readonly string[];
  public readonly secret?: ISecretReference;
  public readonly oidcProviders: readonly ReceiverOidcProvider[];
  public readonly resource: Receiver;
  private readonly triggered: ReceiverTarget[] = [];
  private readonly filters = new Map<ReceiverTarget, string>();

  public constructor(scope: Construct, id: string, props: WebhookReceiverProps) {
    super(scope, id);
    this.name = props.name ?? id;
    this.namespace = props.namespace ?? DEFAULT_NAMESPACE;
    this.type = props.type ?? ReceiverType.GITHUB;
    this.events = receiverEventsOf(this.type, props.events);
    this.secret = props.secret;
    this.oidcProviders = props.oidcProviders ?? [];
    const owner = `WebhookReceiver ${this.name}`;
    assertObjectName(owner, 'name', this.name);
    assertObjectName(owner, 'namespace', this.namespace, 'label');
    if (this.type === ReceiverType.GENERIC_OIDC) {
      // The CRD's rules for the type, said here by the construct's names.
      if (this.secret !== undefined) throw new Error(`${owner}: a generic-oidc Receiver takes no secret (the controller refuses secretRef): remove it`);
      if (this.oidcProviders.length === 0) throw new Error(`${owner}: a generic-oidc Receiver needs oidcProviders (an issuer, audience and validations)`);
    } else {
      if (this.oidcProviders.length > 0) throw new Error(`${owner}: oidcProviders are for a generic-oidc Receiver only, not ${this.type}`);
      if (this.secret === undefined) throw new Error(`${owner}: a ${this.type} Receiver needs the secret whose token it checks`);
    }
    if (this.secret !== undefined && this.secret.namespace !== this.namespace) {
      throw new Error(`${owner}: secret ${this.secret.name} is in namespace ${this.secret.namespace}; a Receiver reads its Secret from its own namespace (${this.namespace})`);
    }
    for (const source of props.resources ?? []) {
      this.addResource(source);
    }

    this.resource = new Receiver(this, 'Resource', {
      metadata: { name: this.name, namespace: this.namespace },
      spec: {
        type: this.type,
        events: this.events.length === 0 ? undefined : [...this.events],
        secretRef: this.secret && { name: this.secret.name },
        oidcProviders: this.oidcProviders.length === 0 ? undefined : this.oidcProviders.map((provider) => ({
          issuerURL: provider.issuerURL,
          audience: provider.audience,
          validations: provider.validations.map(({ expression, message }) => ({ expression, message })),
        })),
        // Lazy, so that sources added with addResource() after construction are included.
        resources: Lazy.any({
          produce: () => this.triggered.map((source) => ({
            apiVersion: source.apiVersion,
            kind: source.kind,
            name: source.name,
            namespace: source.namespace === this.namespace ? undefined : source.namespace,
            filter: this.filters.get(source),
          })),
        }),
      },
    });
    this.node.addValidation({
      validate: () => this.triggered.length === 0
        ? [`${owner}: resources is empty; add the sources a delivery should reconcile (addResource)`]
        : [],
    });
  }

  /**
   * Reconciles `source` whenever a delivery is accepted, or, with `filter`, when that CEL expression
   * over the delivery's body (`req`; a generic-oidc Receiver's token claims, `claims`) is true (notification-controller 1.9+; older ones drop it and
   * reconcile on every delivery).
   */
  public addResource(source: ReceiverTarget, options: { readonly filter?: string } = {}): void {
    if (this.triggered.includes(source)) {
      throw new Error(`WebhookReceiver ${this.name}: ${source.kind} ${source.name} is already a resource`);
    }
    if (options.filter !== undefined && (options.filter.trim() === '' || controlCharacterInTextProblem(options.filter) !== undefined)) {
      throw new Error(`WebhookReceiver ${this.name}: the filter of ${source.kind} ${source.name} is empty or holds a control character`);
    }
    this.triggered.push(source);
    if (options.filter !== undefined) this.filters.set(source, options.filter);
  }


  /** Everything this Receiver reconciles. */
  public get resources(): readonly ReceiverTarget[] {
    return [...this.triggered];
  }

  /** The sources among them (what pushes come from). */
  public get sources(): readonly IFluxSource[] {
    return this.triggered.filter((target): target is IFluxSource => 'url' in target);
  }

  /** The URL path GitHub must call, given the Secret's token (a generic-oidc Receiver's: the empty token). */
  public webhookPath(token: string): string {
    return webhookPath(token, this.name, this.namespace);
  }
}
