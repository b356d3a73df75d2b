// `webhook url <cluster>`: the Payload URL to paste into GitHub, from the fleet file and the local token
// (a generic-oidc Receiver's needs none: its path is not secret).
import { CommandContext } from '../common';
import { ContextOptions, receiverTargets, requireTokenFor, requireUrl } from './context';

export interface UrlResult {
  readonly cluster: string;
  readonly receivers: { name: string; namespace: string; path: string; url: string }[];
}

export async function payloadUrls(clusterName: string, options: ContextOptions & { receiver?: string } = {}): Promise<UrlResult> {
  const context = CommandContext.of(options);
  const fleetFile = context.paths.fleetFile;
  const cluster = context.cluster(clusterName);
  // A generic-oidc Receiver's path is no secret: it needs no token.
  const token = (await requireTokenFor(cluster, options.receiver, { context }))?.token;
  const receivers = receiverTargets(cluster, token, options.receiver).map((target) => ({
    name: target.receiver.name,
    namespace: target.namespace,
    path: target.path,
    url: requireUrl(cluster, target, fleetFile),
  }));
  return { cluster: clusterName, receivers };
}
