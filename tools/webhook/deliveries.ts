// `webhook deliveries <cluster>`: what GitHub really delivered to each hook of the cluster (its
// "Recent Deliveries" tab), each answer explained as ping explains it, and redelivery of the failed
// ones (GitHub does not retry on its own and keeps deliveries for three days).
import { ClusterConfig, clusterNamespace, receiverTypeOf } from '../../lib/fleet/model';
import { fullName, receiverEventsOf } from '../../lib/hosts';
import { exposureOf } from '../../lib/constructs/exposures';
import { CommandContext, CommandError, UsageError } from '../common';
import { ContextOptions, requireTokenFor } from './context';
import { explainGithubError, githubClient, githubPages } from './github-client';
import { MAX_PAGES, pageGuard, requestBounds } from './bounded-fetch';
import { HookTarget, hookTargets, matchHook } from './hook';
import { HOOK_RIGHTS } from './hooks';
import { apiOrigin } from './hooks/api-client';
import { requireHostToken } from './host-tokens';
import { explainStatus } from './ping';

export interface DeliveriesOptions extends ContextOptions {
  readonly receiver?: string;
  /** How many deliveries per hook, newest first. @default 10 */
  readonly limit?: number;
  /** Ask GitHub to send this delivery (its id) again. */
  readonly redeliver?: string;
  /** Ask GitHub to send again every delivery whose latest attempt failed. */
  readonly redeliverFailed?: boolean;
  readonly apiUrl?: string;
  readonly allowHttp?: boolean;
  /** The deadline of the whole run (--timeout). @default 60 s */
  readonly timeoutMs?: number;
}

export interface DeliveryRecord {
  readonly id: number;
  /** One delivery and its redeliveries share it. */
  readonly guid: string;
  readonly deliveredAt: string;
  readonly event: string;
  readonly statusCode: number;
  /** Seconds. */
  readonly duration: number;
  readonly redelivery: boolean;
  readonly ok: boolean;
  /** What the answer means, as ping explains it. */
  readonly explanation: string;
}

export interface HookDeliveries {
  readonly repository: string;
  readonly receiver: string;
  /** Undefined when the repository has no hook for this Receiver's URL. */
  readonly hookId?: string;
  readonly deliveries: DeliveryRecord[];
  /** Ids GitHub was asked to deliver again. */
  readonly redelivered: number[];
  /** For a hook or host these deliveries cannot be read from: why. */
  readonly note?: string;
  /** No hook calls the Receiver: every push to the repository waits for polling. */
  readonly missingHook?: boolean;
}

/** GitHub's record of one delivery, explained with the answer table ping uses. */
function record(delivery: any, target: HookTarget, cluster: ClusterConfig, namespace: string): DeliveryRecord {
  const statusCode = Number(delivery.status_code ?? 0);
  const hints = exposureOf(cluster.webhook).deliveryHints(namespace);
  const receiver = cluster.receivers.find((candidate) => candidate.name === target.receiver);
  const type = receiver ? receiverTypeOf(receiver) : 'github';
  // GitHub got no HTTP answer (status 0): its status text says why (a timeout, a refused connection, a TLS error).
  const outcome = statusCode === 0
    ? { accepted: false, explanation: `no answer (${String(delivery.status ?? 'unknown')}): ${hints.noAnswer}; or ${hints.refused}` }
    : explainStatus({ status: statusCode, location: null, body: '' }, String(delivery.event ?? ''), type, target.receiver, 'its sources', hints, undefined, receiver ? receiverEventsOf(type, receiver.events) : undefined);
  return {
    id: Number(delivery.id), guid: String(delivery.guid ?? ''), deliveredAt: String(delivery.delivered_at ?? ''),
    event: String(delivery.event ?? ''), statusCode, duration: Number(delivery.duration ?? 0), redelivery: Boolean(delivery.redelivery),
    ok: outcome.accepted, explanation: outcome.explanation,
  };
}

/** Lists each GitHub hook's recent deliveries, newest first, and redelivers as asked. */
export async function deliveries(clusterName: string, options: DeliveriesOptions = {}): Promise<HookDeliveries[]> {
  const bounds = requestBounds(options.timeoutMs);
  const limit = options.limit ?? 10;
  // Pages of 100, within the page limit every list has.
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGES * 100) throw new UsageError(`--limit must be a whole number of deliveries from 1 to ${MAX_PAGES * 100}`);
  if (options.redeliver !== undefined && !/^\d+$/.test(options.redeliver)) throw new UsageError(`--redeliver "${options.redeliver}" is not a delivery id (a number from the list)`);
  const context = CommandContext.of(options);
  const cluster = context.cluster(clusterName);
  const namespace = clusterNamespace(cluster);
  // generic-oidc Receivers have no Git host webhook (their CI job's log shows each call's answer): skipped, and none left is nothing to list.
  const token = (await requireTokenFor(cluster, options.receiver, { context }))?.token;
  if (token === undefined) return [];
  const targets = hookTargets(cluster, token, { apiUrl: options.apiUrl, receiver: options.receiver }, context.paths.fleetFile, context);
  // Each API's own token (GITHUB_TOKEN for api.github.com only), every one checked before the first call.
  const apis = new Map<string, { apiUrl: URL; token: string }>();
  for (const target of targets) {
    if (target.host.kind !== 'github' || apis.has(target.apiUrl)) continue;
    const apiUrl = apiOrigin(target.apiUrl, options.allowHttp);
    apis.set(target.apiUrl, { apiUrl, token: requireHostToken(apiUrl, context.env, 'GitHub', HOOK_RIGHTS.github) });
  }
  const results: HookDeliveries[] = [];
  for (const target of targets) {
    const repository = fullName(target.repository);
    if (target.host.kind !== 'github') {
      results.push({ repository, receiver: target.receiver, deliveries: [], redelivered: [], note: `${target.host.name}'s deliveries are not read here (GitHub's only): see the hook's settings on ${target.host.name}` });
      continue;
    }
    const api = apis.get(target.apiUrl)!;
    const octokit = githubClient({ ...api, bounds });
    const owner = { owner: target.repository.owner, repo: target.repository.name };
    try {
      const hooks = await githubPages(octokit, 'listWebhooks', target.repository, `the list of hooks of ${repository}`);
      const hook = matchHook(hooks.map((candidate: any) => ({ id: String(candidate.id), url: candidate.config?.url })), target.url, target.previousUrl);
      if (hook === undefined) {
        results.push({ repository, receiver: target.receiver, deliveries: [], redelivered: [], missingHook: true, note: `no hook of ${repository} calls Receiver ${target.receiver}: npm run webhook -- hook ${cluster.name}` });
        continue;
      }
      const hookId = Number(hook.id);
      const listed: DeliveryRecord[] = [];
      const deliveryPage = pageGuard(`the list of deliveries of ${repository}'s hook ${hookId}`);
      for await (const page of octokit.paginate.iterator(octokit.rest.repos.listWebhookDeliveries, { ...owner, hook_id: hookId, per_page: Math.min(limit, 100) })) {
        deliveryPage();
        if (!Array.isArray(page.data)) throw new CommandError(`GitHub's list of deliveries of ${repository} is not a list: check that --api-url is GitHub's REST API`);
        listed.push(...page.data.map((delivery) => record(delivery, target, cluster, namespace)));
        if (listed.length >= limit) break;
      }
      const shown = listed.slice(0, limit);
      // A delivery counts as failed while its latest attempt (the newest with its guid) failed.
      const latestByGuid = new Map<string, DeliveryRecord>();
      for (const delivery of shown) if (!latestByGuid.has(delivery.guid)) latestByGuid.set(delivery.guid, delivery);
      const toRedeliver = options.redeliver !== undefined
        ? shown.filter((delivery) => delivery.id === Number(options.redeliver)).map((delivery) => delivery.id)
        : options.redeliverFailed ? [...latestByGuid.values()].filter((delivery) => !delivery.ok).map((delivery) => delivery.id) : [];
      for (const id of toRedeliver) {
        await octokit.rest.repos.redeliverWebhookDelivery({ ...owner, hook_id: hookId, delivery_id: id });
      }
      results.push({ repository, receiver: target.receiver, hookId: hook.id, deliveries: shown, redelivered: toRedeliver });
    } catch (error) {
      throw explainGithubError(error, repository, api.apiUrl);
    }
  }
  if (options.redeliver !== undefined && !results.some((result) => result.redelivered.length > 0)) {
    throw new CommandError(`delivery ${options.redeliver} is not among the listed deliveries of ${cluster.name}'s hooks: raise --limit, or name its --receiver`);
  }
  return results;
}

/** What deliveries says when no Receiver it was asked about gets Git host webhook deliveries. */
export function noDeliveries(cluster: string): string {
  return `no Receiver of ${cluster} gets Git host webhook deliveries: a generic-oidc Receiver is called by its CI job, whose log shows each call's answer; npm run webhook -- verify ${cluster} checks that the cluster applied the push`;
}

/** Whether every hook exists and its newest delivery was accepted (a hook with none yet counts as not failed). */
export function latestAccepted(results: readonly HookDeliveries[]): boolean {
  return results.every((result) => !result.missingHook && (result.deliveries.length === 0 || result.deliveries[0].ok));
}
