import { GitHostKind, ReceiverType } from '../fleet/model';
import { RepositoryRef } from './repository';

/** The events a test delivery can be: a hook's ping (GitHub only), or a push of a branch or a tag (by its ref). */
export type DeliveryEvent = 'ping' | 'push';

/** A delivery as it goes over the wire: the body, and the headers that sign and describe it. */
export interface SignedDelivery {
  readonly body: string;
  readonly headers: Record<string, string>;
}

/** Which pushes concern a source: those of one branch or tag, any tag (semver), or none (a pinned commit). */
export type RefMatch =
  | { readonly kind: 'branch'; readonly name: string }
  | { readonly kind: 'tag'; readonly name: string }
  | { readonly kind: 'anyTag' }
  | { readonly kind: 'none' };

/**
 * What a Git host means for the constructs and the tooling: the Receiver type that validates its
 * deliveries, the events it sends, how it shapes and signs a push, what a Receiver's filter reads
 * in its payload, and where its REST API is. One file per host under lib/hosts/, registered in
 * index.ts. No I/O: the hook API clients are in tools/webhook/hooks/.
 */
export interface GitHost {
  readonly kind: GitHostKind;
  /** For messages, e.g. GitHub. */
  readonly name: string;
  /** The Receiver type notification-controller checks this host's deliveries with. */
  readonly receiverType: ReceiverType;
  /** The events a Receiver of this type accepts unless the fleet says otherwise. */
  readonly defaultEvents: readonly string[];
  /** The event a branch push sends, as the Receiver compares it: one a Receiver must accept to reconcile on pushes. */
  readonly pushEvent: string;
  /** The test deliveries the host itself can send: the first is ping's default. */
  readonly testEvents: readonly DeliveryEvent[];
  /** The repository a URL on this host names. */
  repositoryOf(url: string): RepositoryRef;
  /** The REST API root for a repository on `host` (the public one, or the self-hosted default). */
  defaultApiUrl(host: string): string;
  /** A delivery of `event` for `ref` (refs/heads/... or refs/tags/...), shaped and signed as the host does it. */
  delivery(event: DeliveryEvent, repository: RepositoryRef, ref: string, hookUrl: string, token: string): Promise<SignedDelivery>;
  /** A CEL expression over `req` (the delivery's body) that is true only for pushes of `ref` to `repository`. */
  pushFilter(repository: RepositoryRef, ref: RefMatch): string;
  /**
   * Whether this file knows the payloads and hook API of `repository`'s installation (Bitbucket:
   * Cloud only). Where it does not, the Receiver gets no filter and `hook` no hook.
   * @default - every installation
   */
  knows?(repository: RepositoryRef): boolean;
  /** What the host calls the hook's secret in its settings (GitLab: Secret token). */
  readonly secretLabel: string;
  /** The events to tick in the host's hook settings, in its words. */
  readonly hookEvents: string;
  /** What the Receiver compares, for a 400: the signature header, or the token header. */
  readonly checked: string;
}
