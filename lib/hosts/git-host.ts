import { GitSourceConfig, ReceiverType } from '../fleet/model';

/** The events a test delivery can be. */
export type DeliveryEvent = 'ping' | 'push';

/** A delivery as it goes over the wire: the body, and the headers that sign and describe it. */
export interface SignedDelivery {
  readonly body: string;
  readonly headers: Record<string, string>;
}

/**
 * What a Git host means for the constructs and the tooling: the Receiver type that validates its
 * deliveries, the events it sends, and how it shapes and signs them. One file per host under
 * lib/hosts/, registered in index.ts.
 */
export interface GitHost {
  /** For messages, e.g. GitHub. */
  readonly name: string;
  /** The Receiver type notification-controller checks this host's deliveries with. */
  readonly receiverType: ReceiverType;
  /** The events a Receiver of this type accepts unless the fleet says otherwise. */
  readonly defaultEvents: readonly string[];
  /** The event a push sends: a Receiver that does not accept it reconciles on nothing but tests. */
  readonly pushEvent: string;
  /** A test delivery of `event` from the source's repository to `hookUrl`, signed with `token` as the host signs it. */
  delivery(event: DeliveryEvent, source: GitSourceConfig, hookUrl: string, token: string): Promise<SignedDelivery>;
}
