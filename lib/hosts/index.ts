// The Git hosts the webhook tooling speaks for. Another (GitLab, Bitbucket) is a file beside
// github.ts implementing GitHost, plus its entry in HOSTS. No I/O.
import { ReceiverType } from '../fleet/model';
import { GitHost } from './git-host';
import { GITHUB } from './github';

export { DeliveryEvent, GitHost, SignedDelivery } from './git-host';

const HOSTS: readonly GitHost[] = [GITHUB];

/** The Git host whose deliveries a Receiver of `type` validates, if the tooling knows it. */
export function gitHostFor(type: `${ReceiverType}`): GitHost | undefined {
  return HOSTS.find((host) => host.receiverType === type);
}

/** The hosts the tooling knows, for messages. */
export function knownGitHosts(): string {
  return HOSTS.map((host) => host.name).join(', ');
}
