// The fleet as plain data: what the fleet file says, after its checks. The constructs build from
// it; the tools read it. Durations are Go strings (e.g. `1h`).

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
}

/** A Receiver's type: GitHub's unless the fleet says otherwise. */
export function receiverTypeOf(receiver: { readonly type?: `${ReceiverType}` }): ReceiverType {
  return (receiver.type as ReceiverType | undefined) ?? ReceiverType.GITHUB;
}

/** The fleet: every cluster Flux runs on, by name. */
export interface Fleet {
  readonly clusters: ClusterConfig[];
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
}

/** An app of a cluster: one Kustomization of a path of one source. */
export interface AppConfig {
  readonly name: string;
  /** Name of one of the cluster's sources. */
  readonly source: string;
  readonly path: string;
  /** @default '1h' */
  readonly interval?: string;
  /** @default - the interval */
  readonly retryInterval?: string;
  /** @default true */
  readonly prune?: boolean;
  /** @default true */
  readonly wait?: boolean;
  /** @default - Flux's default */
  readonly timeout?: string;
  /** @default - the manifests' own namespaces */
  readonly targetNamespace?: string;
  /** Names of apps of the same cluster that must be ready first. @default none */
  readonly dependsOn?: string[];
}

/** A webhook Receiver of a cluster. */
export interface ReceiverConfig {
  readonly name: string;
  /** @default 'github' */
  readonly type?: `${ReceiverType}`;
  /** @default ['ping', 'push'] for github */
  readonly events?: string[];
  /** Names of the cluster's sources to reconcile on a delivery. */
  readonly sources: string[];
}

/** How the Receivers are exposed outside the cluster. */
export interface WebhookExposureConfig {
  /** A node's IP address or DNS name, for the Payload URL GitHub calls. @default - unknown */
  readonly address?: string;
  /** NodePort of the `webhook-receiver` Service, in 30000-32767. */
  readonly nodePort: number;
  /** Add a NetworkPolicy admitting outside traffic to the webhook port. @default true */
  readonly networkPolicy?: boolean;
  /** Source CIDRs the NetworkPolicy admits. @default ['0.0.0.0/0', '::/0'] */
  readonly allowFrom?: string[];
}

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
}

/** SOPS encryption of a cluster's secrets, decrypted in the cluster by Flux. */
export interface SopsConfig {
  /** age public keys (`age1...`) that can decrypt; the cluster's private key is one of them. */
  readonly ageRecipients: string[];
}
