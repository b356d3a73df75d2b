// `webhook ping <cluster>`: a delivery signed exactly as the Git host signs it, and its answer in words.

import { CommandContext, CommandError, UsageError } from '../common';
import { ContextOptions, receiverTargets, requireToken, requireUrl } from './context';
import { DeliveryEvent, gitHostFor, knownGitHosts, SignedDelivery } from '../../lib/hosts';
import { ClusterConfig, receiverTypeOf } from '../../lib/fleet/model';
import { exposureOf, WebhookExposure } from '../../lib/constructs/exposures';
import { WebhookReceiverService } from '../../lib/constructs/webhook-receiver-service';

/** notification-controller refuses bodies over this with 413. */
export const RECEIVER_BODY_LIMIT = 3 * 1024 * 1024;

export { DeliveryEvent } from '../../lib/hosts';

/** What to check when a delivery fails, in the exposure's terms. */
type DeliveryHints = ReturnType<WebhookExposure['deliveryHints']>;

/** How a delivery went, as notification-controller's answer means it. */
export interface DeliveryOutcome {
  readonly accepted: boolean;
  /** The HTTP status, when there was an answer. */
  readonly status?: number;
  /** One line: what happened and what to check. */
  readonly explanation: string;
}

/** What each of notification-controller's answers means for the person debugging it. */
function explainStatus(status: number, event: DeliveryEvent, receiver: string, resources: string, hints: DeliveryHints): DeliveryOutcome {
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
      return { accepted: false, status, explanation: `answer ${status} is none of a Receiver's: the URL probably reached notification-controller's events server (Service notification-controller) instead of Service ${WebhookReceiverService.SERVICE_NAME}; ${hints.notReceiver}` };
  }
}

function explainFailure(error: any, url: string, timeoutMs: number, urlSource: string, hints: DeliveryHints): DeliveryOutcome {
  const { host } = new URL(url);
  const code = error?.cause?.code ?? error?.code;
  if (error?.name === 'TimeoutError' || error?.name === 'AbortError' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return { accepted: false, explanation: `no answer from ${host} within ${timeoutMs / 1000}s: ${hints.noAnswer}` };
  }
  if (code === 'ECONNREFUSED') {
    return { accepted: false, explanation: `connection refused by ${host}: ${hints.refused}` };
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
  readonly event: DeliveryEvent;
  /** The body and headers, signed as the Git host signs them. */
  readonly delivery: SignedDelivery;
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** For messages: where the URL's host came from. @default 'webhook.address in the fleet file' */
  readonly urlSource?: string;
  /** What to check on each failure, from the cluster's exposure. */
  readonly hints: DeliveryHints;
  /** For messages: the Receiver and what it reconciles. */
  readonly receiver: string;
  readonly resources: string;
}

/** Sends one signed delivery and explains the answer. */
export async function sendDelivery(request: DeliveryRequest): Promise<DeliveryOutcome> {
  const { body, headers } = request.delivery;
  if (Buffer.byteLength(body) > RECEIVER_BODY_LIMIT) {
    return { accepted: false, explanation: 'the body is over notification-controller\'s 3 MiB limit; it would get 413' };
  }
  const timeoutMs = request.timeoutMs ?? 10_000;
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    return explainStatus(response.status, request.event, request.receiver, request.resources, request.hints);
  } catch (error) {
    return explainFailure(error, request.url, timeoutMs, request.urlSource ?? 'webhook.address in the fleet file', request.hints);
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
  const context = CommandContext.of(options);
  const fleetFile = context.paths.fleetFile;
  const cluster: ClusterConfig = context.cluster(clusterName);
  const { token } = await requireToken(cluster, { context });
  const event = options.event ?? 'ping';
  const outcomes = [];
  for (const target of receiverTargets(cluster, token, options.receiver)) {
    const url = options.url === undefined ? requireUrl(cluster, target, fleetFile) : overrideUrl(options.url, target.path);
    const source = cluster.sources.find((candidate) => candidate.name === target.receiver.sources[0]);
    if (!source) throw new CommandError(`receiver ${target.receiver.name} names no source of ${cluster.name}`);
    const type = receiverTypeOf(target.receiver);
    const host = gitHostFor(type);
    if (!host) throw new CommandError(`Receiver ${target.receiver.name} is of type ${type}, and ping can sign deliveries only as ${knownGitHosts()} does`);
    const outcome = await sendDelivery({
      url, event, timeoutMs: options.timeoutMs, urlSource: options.url === undefined ? undefined : '--url',
      delivery: await host.delivery(event, source, url, token),
      hints: exposureOf(cluster.webhook).deliveryHints(target.namespace),
      receiver: target.receiver.name,
      resources: target.receiver.sources.map((name) => `GitRepository ${name}`).join(', '),
    });
    outcomes.push({ ...outcome, receiver: target.receiver.name, url });
  }
  return outcomes;
}
