// What every webhook command needs: the cluster from the fleet file, its token, its Receivers' URLs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterConfig, FluxCluster, ReceiverConfig } from '../../lib/flux-cluster';
import { sopsDecrypt } from '../../lib/sops';
import { tokenEnvironmentVariable, TokenStore } from '../../lib/token-store';
import { webhookPath } from '../../lib/webhook-path';
import { webhookTokenProblem } from '../../lib/webhook-token';
import { webhookUrl } from '../../lib/webhook-url';
import { clusterOf, CommandError, PathsOptions } from '../common';

export interface ContextOptions extends PathsOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

export interface FoundToken {
  readonly token: string;
  /** Where it came from: a variable, a file, or the committed encrypted Secret. */
  readonly origin: string;
}

/**
 * The cluster's token, from where synth keeps it: its environment variable, its token file, or
 * else the committed encrypted Secret opened with the cluster's local age key.
 * Undefined when none of these is here; an error when one is there but malformed.
 */
export async function findToken(cluster: ClusterConfig, options: ContextOptions = {}): Promise<FoundToken | undefined> {
  const store = new TokenStore(options.secretsDir ?? 'secrets');
  const local = store.read(cluster.name, options.env ?? process.env);
  if (local) return local;
  const encrypted = join(options.distDir ?? 'dist', 'clusters', cluster.name, FluxCluster.FILES.encryptedTokenSecret);
  const keyFile = store.ageKeyFile(cluster.name);
  if (!cluster.sops || !existsSync(encrypted) || !existsSync(keyFile)) return undefined;
  const identities = readFileSync(keyFile, 'utf8').split('\n').filter((line) => line.startsWith('AGE-SECRET-KEY-'));
  const secret = (await sopsDecrypt(readFileSync(encrypted, 'utf8'), identities)).documents[0];
  const token = String(secret?.stringData?.token ?? Buffer.from(String(secret?.data?.token ?? ''), 'base64').toString('utf8'));
  const problem = webhookTokenProblem(token);
  if (problem) throw new CommandError(`the token in ${encrypted} ${problem}`);
  return { token, origin: `${encrypted} (decrypted with ${keyFile})` };
}

/** The token, or a CommandError saying where it was looked for. */
export async function requireToken(cluster: ClusterConfig, options: ContextOptions = {}): Promise<FoundToken> {
  const found = await findToken(cluster, options);
  if (found) return found;
  const store = new TokenStore(options.secretsDir ?? 'secrets');
  throw new CommandError(`no webhook token for ${cluster.name} here: not in ${tokenEnvironmentVariable(cluster.name)}, not in ${store.tokenFile(cluster.name)}${cluster.sops ? `, and no ${store.ageKeyFile(cluster.name)} to decrypt the committed one` : ''}; run npm run synth (it creates one) or npm run secrets -- rotate-token ${cluster.name}`);
}

export interface ReceiverTarget {
  readonly receiver: ReceiverConfig;
  readonly namespace: string;
  readonly path: string;
  /** Undefined when the fleet file gives no webhook.address. */
  readonly url: string | undefined;
}

/** The cluster's Receivers (or the one named) with their webhook paths and Payload URLs. */
export function receiverTargets(cluster: ClusterConfig, token: string, receiverName?: string): ReceiverTarget[] {
  const receivers = receiverName === undefined ? cluster.receivers : cluster.receivers.filter((receiver) => receiver.name === receiverName);
  if (receivers.length === 0) {
    throw new CommandError(receiverName === undefined
      ? `cluster ${cluster.name} has no receivers in the fleet file`
      : `cluster ${cluster.name} has no receiver "${receiverName}" (it has: ${cluster.receivers.map((receiver) => receiver.name).join(', ') || 'none'})`);
  }
  const namespace = cluster.namespace ?? 'flux-system';
  return receivers.map((receiver) => {
    const path = webhookPath(token, receiver.name, namespace);
    const address = cluster.webhook.address;
    return { receiver, namespace, path, url: address === undefined ? undefined : webhookUrl(address, cluster.webhook.nodePort, path) };
  });
}

/** The URL of a target, or a CommandError saying how to give the address. */
export function requireUrl(cluster: ClusterConfig, target: ReceiverTarget, fleetFile: string): string {
  if (target.url === undefined) {
    throw new CommandError(`clusters.${cluster.name}.webhook.address is not set in ${fleetFile}: add the IP address or DNS name at which GitHub reaches a node (the path alone is ${target.path})`);
  }
  return target.url;
}

export { clusterOf };
