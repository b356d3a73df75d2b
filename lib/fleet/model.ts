// The fleet as plain data: what the fleet file says, after its checks. The constructs build from
// it; the tools read it. Durations are Go strings (e.g. `1h`).
import { DEFAULT_NAMESPACE } from '../layout';

/** The webhook payload formats notification-controller understands. */
export enum ReceiverType {
  GITHUB = 'github',
  GITLAB = 'gitlab',
  BITBUCKET = 'bitbucket',
  GENERIC = 'generic',
  GENERIC_HMAC = 'generic-hmac',
  HARBOR = 'harbor',
  DOCKERHUB = 'dockerhub',
  QUAY = 'quay',
  GCR = 'gcr',
  NEXUS = 'nexus',
  ACR = 'acr',
  CDEVENTS = 'cdevents',
  /** The caller presents an OIDC ID token (a CI job's), checked against the issuer and pinned by CEL validations: no shared token. */
  GENERIC_OIDC = 'generic-oidc',
}

/** A Receiver's type: GitHub's unless the fleet says otherwise. */
export function receiverTypeOf(receiver: { readonly type?: `${ReceiverType}` }): ReceiverType {
  return (receiver.type as ReceiverType | undefined) ?? ReceiverType.GITHUB;
}

/** The Git hosts whose deliveries, payloads and hook APIs the tooling knows. */
export const GIT_HOST_KINDS = ['github', 'gitlab', 'gitea', 'forgejo', 'bitbucket'] as const;
export type GitHostKind = (typeof GIT_HOST_KINDS)[number];

/** The fleet: every cluster Flux runs on, by name. */
export interface Fleet {
  readonly clusters: ClusterConfig[];
  /** The repository this fleet file and dist/ live in, which `flux bootstrap` named GitRepository flux-system. @default - none */
  readonly repository?: FleetRepositoryConfig;
}

/** The fleet repository: pushes to it (a synth committed) reconcile bootstrap's GitRepository flux-system at once. */
export interface FleetRepositoryConfig {
  readonly url: string;
  /** The branch bootstrap follows. @default 'main' */
  readonly branch?: string;
  /** @default - from the URL's host */
  readonly host?: GitHostKind;
  /** The host's REST API root, for a self-hosted host. @default - the host's public API */
  readonly apiUrl?: string;
  /** Give each cluster a Receiver reconciling GitRepository flux-system on pushes here. @default true */
  readonly receiver?: boolean;
}

/** A Git source of a cluster, as plain data (durations as Go strings, e.g. `1h`). */
export interface GitSourceConfig {
  readonly name: string;
  readonly url: string;
  /** Exactly one of branch, tag, semver, commit. @default branch 'main' */
  readonly branch?: string;
  readonly tag?: string;
  readonly semver?: string;
  readonly commit?: string;
  /** @default '30m' */
  readonly interval?: string;
  /** @default - Flux's default */
  readonly timeout?: string;
  /** Name of a Secret (same namespace) with Git credentials. @default - public repository */
  readonly secretName?: string;
  /** @default - Flux's default ignore rules */
  readonly ignore?: string;
  /** The Git host serving `url`. @default - from the URL's host (github.com, gitlab.com, bitbucket.org, codeberg.org, gitea.com) */
  readonly host?: GitHostKind;
  /** The host's REST API root, for a self-hosted host (GitHub Enterprise, self-managed GitLab, Gitea). @default - the host's public API */
  readonly apiUrl?: string;
  /** The repository's id (GitHub `repository_id`, GitLab `project_id`), pinned by generic-oidc Receivers: it survives no delete-and-recreate. @default - not pinned */
  readonly repositoryId?: number;
  /** The id of its owner (GitHub `repository_owner_id`, GitLab `namespace_id`), pinned by generic-oidc Receivers. @default - not pinned */
  readonly ownerId?: number;
}

/** An app of a cluster: one Kustomization of a path of one source. */
export interface AppConfig {
  readonly name: string;
  /** Name of one of the cluster's sources. */
  readonly source: string;
  readonly path: string;
  /** @default '1h' */
  readonly interval?: string;
  /** @default '2m' with wait, else the interval */
  readonly retryInterval?: string;
  /** @default true */
  readonly prune?: boolean;
  /** @default true */
  readonly wait?: boolean;
  /** @default '5m' with wait, else Flux's default (the interval) */
  readonly timeout?: string;
  /** @default - the manifests' own namespaces */
  readonly targetNamespace?: string;
  /** Names of apps of the same cluster that must be ready first. @default none */
  readonly dependsOn?: string[];
}

/** A webhook Receiver of a cluster. */
export interface ReceiverConfig {
  readonly name: string;
  /** @default - the Receiver type of its sources' Git host (github for GitHub, Gitea and Forgejo) */
  readonly type?: `${ReceiverType}`;
  /** @default - the type's push events: ['ping', 'push'] for github, ['Push Hook', 'Tag Push Hook'] for gitlab, ['repo:push'] for bitbucket */
  readonly events?: string[];
  /** Names of the cluster's sources to reconcile on a delivery. */
  readonly sources: string[];
  /** CEL filters so that a delivery reconciles only the sources whose repository and ref it concerns. @default true */
  readonly filter?: boolean;
  /** For a generic-oidc Receiver only: the token it takes. @default - the default audience and the sources' hosts' issuers */
  readonly oidc?: OidcConfig;
}

/** What a generic-oidc Receiver takes from its caller's ID token. */
export interface OidcConfig {
  /** The `aud` the caller must request. @default 'flux-infra/<cluster>/<namespace>/<receiver>' */
  readonly audience?: string;
  /** The token's `iss` (one issuer for the whole Receiver). @default - from each source's host (GitHub Actions, GitHub Enterprise Server, GitLab) */
  readonly issuer?: string;
  /** Let doctor accept this Receiver behind a plain-HTTP exposure (a bearer token in clear can be replayed until it expires). @default false */
  readonly allowPlainHttp?: boolean;
}

/** How kube-proxy routes outside traffic: `Local` keeps the caller's address, so a narrowed allowFrom can match it. */
export type ExternalTrafficPolicy = 'Cluster' | 'Local';

/** What every exposure of the Receivers takes: the NetworkPolicy admitting outside traffic to them. */
interface WebhookPolicyConfig {
  /**
   * Add a NetworkPolicy admitting `allowFrom` to notification-controller's webhook port.
   * @default true for nodePort and loadBalancer; false for gateway and ingress, whose proxy runs in
   * the cluster and is admitted by Flux's own allow-webhooks
   */
  readonly networkPolicy?: boolean;
  /** Source CIDRs the NetworkPolicy admits. @default ['0.0.0.0/0', '::/0'] */
  readonly allowFrom?: string[];
}

/** The walkthrough's exposure: the `webhook-receiver` Service as a NodePort, called over plain HTTP. */
export interface NodePortWebhookConfig extends WebhookPolicyConfig {
  /** NodePort of the `webhook-receiver` Service, in 30000-32767. */
  readonly nodePort: number;
  /** A node's IP address or DNS name, for the Payload URL. @default - unknown */
  readonly address?: string;
  /** @default - Kubernetes' default, Cluster */
  readonly externalTrafficPolicy?: ExternalTrafficPolicy;
}

/** The `webhook-receiver` Service as a cloud LoadBalancer. */
export interface LoadBalancerWebhookConfig extends WebhookPolicyConfig {
  readonly loadBalancer: {
    /** The load balancer's IP address or DNS name, for the Payload URL. @default - unknown */
    readonly address?: string;
    /** `loadBalancerSourceRanges`: CIDRs the load balancer itself admits. @default - anywhere */
    readonly sourceRanges?: string[];
    /** Cloud load balancer annotations of the Service. @default none */
    readonly annotations?: Record<string, string>;
    /** The load balancer terminates TLS on 443 (set up by its annotations): the Payload URL is https. @default false */
    readonly tls?: boolean;
  };
  /** @default - Kubernetes' default, Cluster */
  readonly externalTrafficPolicy?: ExternalTrafficPolicy;
}

/** A Gateway API HTTPRoute from an existing Gateway to `webhook-receiver`. */
export interface GatewayWebhookConfig extends WebhookPolicyConfig {
  readonly gateway: {
    /** The Gateway (and optionally its listener) the route attaches to. */
    readonly parentRef: { readonly name: string; readonly namespace?: string; readonly sectionName?: string; readonly port?: number };
    /** The host name the Git host calls; the route matches only it. */
    readonly hostname: string;
    /** The listener terminates TLS: the Payload URL is https. @default true */
    readonly tls?: boolean;
  };
}

/** A networking.k8s.io/v1 Ingress to `webhook-receiver`. */
export interface IngressWebhookConfig extends WebhookPolicyConfig {
  readonly ingress: {
    /** @default - the cluster's default IngressClass */
    readonly className?: string;
    /** The host name the Git host calls; the Ingress matches only it. */
    readonly hostname: string;
    /**
     * TLS for the hostname: a certificate Secret (issued by cert-manager when `clusterIssuer` is
     * given), or false for plain HTTP. @default - TLS with the ingress controller's default certificate
     */
    readonly tls?: false | { readonly secretName: string; readonly clusterIssuer?: string };
    /** Annotations of the Ingress (controller options). @default none */
    readonly annotations?: Record<string, string>;
  };
}

/** How the Receivers are reached from outside the cluster: exactly one exposure. */
export type WebhookExposureConfig = NodePortWebhookConfig | LoadBalancerWebhookConfig | GatewayWebhookConfig | IngressWebhookConfig;

/** One cluster's whole Flux configuration, as plain data. */
export interface ClusterConfig {
  /** The cluster's name: its directory under `clusters/`. */
  readonly name: string;
  /** @default 'flux-system' */
  readonly namespace?: string;
  readonly sources: GitSourceConfig[];
  readonly apps: AppConfig[];
  readonly receivers: ReceiverConfig[];
  readonly webhook: WebhookExposureConfig;
  /** Commit secrets SOPS-encrypted for these age recipients. @default - secrets stay local */
  readonly sops?: SopsConfig;
  /** The fleet repository, when its pushes should reconcile bootstrap's GitRepository flux-system (the fleet's `repository`). @default - none */
  readonly fleetRepository?: FleetRepositoryConfig;
}

/** The namespace a cluster's Flux objects (and so its Receivers and token Secret) are in. */
export function clusterNamespace(cluster: Pick<ClusterConfig, 'namespace'>): string {
  return cluster.namespace ?? DEFAULT_NAMESPACE;
}

/** SOPS encryption of a cluster's secrets, decrypted in the cluster by Flux. */
export interface SopsConfig {
  /** age public keys (`age1...`) that can decrypt; the cluster's private key is one of them. */
  readonly ageRecipients: string[];
}
