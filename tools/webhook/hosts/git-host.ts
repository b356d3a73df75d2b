import { ReceiverType, GitSourceConfig } from '../../../lib/fleet/model';

/** The events a test delivery can be. */
export type DeliveryEvent = 'ping' | 'push';

/** A delivery as it goes over the wire: the body, and the headers that sign and describe it. */
export interface SignedDelivery {
  readonly body: string;
  readonly headers: Record<string, string>;
}

/**
 * What a Git host means for the tooling: the Receiver type that validates its deliveries, and how
 * it shapes and signs them. One file per host under tools/webhook/hosts/, registered in index.ts.
 */
export interface GitHost {
  /** For messages, e.g. GitHub. */
  readonly name: string;
  /** The Receiver type notification-controller checks this host's deliveries with. */
  readonly receiverType: ReceiverType;
  /** A test delivery of `event` from the source's repository to `hookUrl`, signed with `token` as the host signs it. */
  delivery(event: DeliveryEvent, source: GitSourceConfig, hookUrl: string, token: string): Promise<SignedDelivery>;
}
