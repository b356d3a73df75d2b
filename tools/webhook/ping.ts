// `webhook ping <cluster>`: a delivery signed exactly as GitHub signs it, and its answer in words.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';

import { clusterOf, CommandError, UsageError } from '../common';
import { ContextOptions, receiverTargets, requireToken, requireUrl } from './context';
import { fullName, githubRepositoryOf } from './github-repository';
import { DEFAULT_PATHS } from '../../lib/layout';
import { ClusterConfig, GitSourceConfig } from '../../lib/fleet/model';

/** notification-controller refuses bodies over this with 413. */
export const RECEIVER_BODY_LIMIT = 3 * 1024 * 1024;

export type DeliveryEvent = 'ping' | 'push';

/** How a delivery went, as notification-controller's answer means it. */
export interface DeliveryOutcome {
  readonly accepted: boolean;
  /** The HTTP status, when there was an answer. */
  readonly status?: number;
  /** One line: what happened and what to check. */
  readonly explanation: string;
}

/** A JSON body shaped like GitHub's for `event`, for the source's repository and ref. */
export function githubPayload(event: DeliveryEvent, source: GitSourceConfig, hookUrl: string): Record<string, unknown> {
  const repository = githubRepositoryOf(source.url);
  const htmlUrl = `https://${repository.host}/${fullName(repository)}`;
  const repositoryJson = {
    id: 0,
    name: repository.name,
    full_name: fullName(repository),
    private: false,
    owner: { login: repository.owner, type: 'Organization' },
    html_url: htmlUrl,
    clone_url: `${htmlUrl}.git`,
    ssh_url: `git@${repository.host}:${fullName(repository)}.git`,
    default_branch: source.branch ?? 'main',
  };
  const sender = { login: 'flux-infra', type: 'User' };
  if (event === 'ping') {
    return {
      zen: 'Keep it logically awesome.',
      hook_id: 0,
      hook: { type: 'Repository', id: 0, name: 'web', active: true, events: ['push'], config: { content_type: 'json', insecure_ssl: '0', url: hookUrl } },
      repository: repositoryJson,
      sender,
    };
  }
  const ref = source.tag !== undefined ? `refs/tags/${source.tag}` : `refs/heads/${source.branch ?? 'main'}`;
  const after = randomBytes(20).toString('hex');
  const commit = {
    id: after, tree_id: randomBytes(20).toString('hex'), distinct: true, message: 'flux-infra test delivery',
    timestamp: new Date().toISOString(), url: `${htmlUrl}/commit/${after}`,
    author: { name: 'flux-infra', email: 'flux-infra@localhost' }, committer: { name: 'flux-infra', email: 'flux-infra@localhost' },
    added: [], removed: [], modified: [],
  };
  return {
    ref, before: '0'.repeat(40), after, created: false, deleted: false, forced: false, base_ref: null,
    compare: `${htmlUrl}/compare/${after}`, commits: [commit], head_commit: commit,
    repository: repositoryJson, pusher: { name: 'flux-infra', email: 'flux-infra@localhost' }, sender,
  };
}

/** What each of notification-controller's answers means for the person debugging it. */
function explainStatus(status: number, event: DeliveryEvent, receiver: string, resources: string): DeliveryOutcome {
  switch (status) {
    case 200:
      return { accepted: true, status, explanation: `accepted: Receiver ${receiver} checked the signature and asked ${resources} to reconcile` };
    case 400:
      return { accepted: false, status, explanation: `rejected (400): the signature does not match (the cluster's webhook-token Secret holds another token than this one) or the event "${event}" is not in the Receiver's events` };
    case 404:
      return { accepted: false, status, explanation: 'no Receiver at that path (404): the token in the cluster differs from the local one (the path is derived from it), the receiver name or namespace differs, the Receiver has not reconciled yet, or a proxy rewrites the path' };
    case 413:
      return { accepted: false, status, explanation: 'rejected (413): the body is over notification-controller\'s 3 MiB limit' };
    case 500:
      return { accepted: false, status, explanation: `the Receiver could not annotate a resource (500): one of ${resources} does not exist in the cluster` };
    case 503:
      return { accepted: false, status, explanation: `Receiver ${receiver} is not ready or is suspended (503): usually its Secret webhook-token is missing in the cluster (apply it, or check that Flux decrypts it)` };
    default:
      return { accepted: false, status, explanation: `answer ${status} is none of a Receiver's: the URL probably reached notification-controller's events server (Service notification-controller) instead of Service webhook-receiver; check that the NodePort patch targets webhook-receiver (fluxcd/flux2#1115)` };
  }
}

function explainFailure(error: any, url: string, timeoutMs: number, urlSource: string): DeliveryOutcome {
  const { host } = new URL(url);
  const code = error?.cause?.code ?? error?.code;
  if (error?.name === 'TimeoutError' || error?.name === 'AbortError' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return { accepted: false, explanation: `no answer from ${host} within ${timeoutMs / 1000}s: a firewall or a NetworkPolicy drops outside traffic to the NodePort (see allow-webhooks-external), or the node address is wrong` };
  }
  if (code === 'ECONNREFUSED') {
    return { accepted: false, explanation: `connection refused by ${host}: nothing listens there; the NodePort patch is not applied (kubectl -n flux-system get svc webhook-receiver), the port or node address is wrong, or a firewall rejects it` };
  }
  if (error?.cause?.message === 'bad port') {
    return { accepted: false, explanation: `port ${new URL(url).port} is on the list of ports fetch refuses to call: a NodePort (30000-32767) never is, so check the URL` };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return { accepted: false, explanation: `cannot resolve ${host}: fix ${urlSource}` };
  }
  return { accepted: false, explanation: `the delivery to ${host} failed: ${error?.cause?.message ?? error?.message ?? error}` };
}

export interface DeliveryRequest {
  readonly url: string;
  readonly token: string;
  readonly event: DeliveryEvent;
  readonly payload: Record<string, unknown>;
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** For messages: where the URL's host came from. @default 'webhook.address in the fleet file' */
  readonly urlSource?: string;
  /** For messages: the Receiver and what it reconciles. */
  readonly receiver: string;
  readonly resources: string;
}

/** Sends one delivery with GitHub's headers and signatures and explains the answer. */
export async function sendDelivery(request: DeliveryRequest): Promise<DeliveryOutcome> {
  const body = JSON.stringify(request.payload);
  if (Buffer.byteLength(body) > RECEIVER_BODY_LIMIT) {
    return { accepted: false, explanation: 'the body is over notification-controller\'s 3 MiB limit; it would get 413' };
  }
  const timeoutMs = request.timeoutMs ?? 10_000;
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'GitHub-Hookshot/flux-infra',
        'X-GitHub-Event': request.event,
        'X-GitHub-Delivery': randomUUID(),
        'X-Hub-Signature-256': await sign(request.token, body),
        // The legacy header, which GitHub still sends and go-github falls back to.
        'X-Hub-Signature': `sha1=${createHmac('sha1', request.token).update(body).digest('hex')}`,
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    return explainStatus(response.status, request.event, request.receiver, request.resources);
  } catch (error) {
    return explainFailure(error, request.url, timeoutMs, request.urlSource ?? 'webhook.address in the fleet file');
  }
}

export interface PingOptions extends ContextOptions {
  readonly receiver?: string;
  /** @default 'ping' */
  readonly event?: DeliveryEvent;
  /**
   * Send here instead of the fleet file's address (e.g. through a tunnel or port-forward). Without
   * a path, the Receiver's path is appended; with one, it is used as it is.
   */
  readonly url?: string;
  readonly timeoutMs?: number;
}

function overrideUrl(override: string, path: string): string {
  let parsed: URL;
  try {
    parsed = new URL(override);
  } catch {
    throw new UsageError(`--url "${override}" is not a URL: give e.g. http://127.0.0.1:9292`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--url "${override}" must be http:// or https://`);
  return parsed.pathname === '/' && !override.endsWith('/') ? `${override}${path}` : parsed.pathname === '/' ? `${override.replace(/\/$/, '')}${path}` : override;
}

/** Sends a test delivery to each of the cluster's Receivers (or the one named). */
export async function ping(clusterName: string, options: PingOptions = {}): Promise<(DeliveryOutcome & { receiver: string; url: string })[]> {
  const fleetFile = options.fleetFile ?? DEFAULT_PATHS.fleetFile;
  const cluster: ClusterConfig = clusterOf(fleetFile, clusterName);
  const { token } = await requireToken(cluster, options);
  const event = options.event ?? 'ping';
  const outcomes = [];
  for (const target of receiverTargets(cluster, token, options.receiver)) {
    const url = options.url === undefined ? requireUrl(cluster, target, fleetFile) : overrideUrl(options.url, target.path);
    const source = cluster.sources.find((candidate) => candidate.name === target.receiver.sources[0]);
    if (!source) throw new CommandError(`receiver ${target.receiver.name} names no source of ${cluster.name}`);
    const outcome = await sendDelivery({
      url, token, event, timeoutMs: options.timeoutMs, urlSource: options.url === undefined ? undefined : '--url',
      payload: githubPayload(event, source, url),
      receiver: target.receiver.name,
      resources: target.receiver.sources.map((name) => `GitRepository ${name}`).join(', '),
    });
    outcomes.push({ ...outcome, receiver: target.receiver.name, url });
  }
  return outcomes;
}
