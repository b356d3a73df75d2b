// `webhook allowlist <cluster>`: GitHub's webhook source ranges, from its /meta API, into the lists
// that can filter by them (a load balancer's sourceRanges, a NetworkPolicy's allowFrom where it sees
// GitHub's address), so a README never has to list ranges that go stale.
import { readFleetText } from '../../lib/synth';
import { withRecoveredRepository } from '../../lib/repository';
import { writeFileAtomically } from '../../lib/io/atomic-file';
import { listAt, withList } from '../../lib/fleet/edit';
import { callerAddressVisible, exposureKindOf, hasNetworkPolicy, isLoadBalancer, narrowedPolicyProblem, reachedThroughService } from '../../lib/fleet/exposure';
import { ClusterConfig } from '../../lib/fleet/model';
import { needsWebhookToken, OIDC_CALLERS, OIDC_CALLERS_FIX, receiverKinds } from '../../lib/hosts/oidc';
import { cidrProblem } from '../../lib/fleet/network';
import { parseFleet } from '../../lib/fleet/parse';
import { CommandContext, CommandError, CommandOptions, UsageError } from '../common';
import { explainGithubError, githubApi, githubClient } from './github-client';
import { requestBounds } from './bounded-fetch';

export interface AllowlistOptions extends CommandOptions {
  /** Write the ranges into the fleet file instead of only returning them. */
  readonly writeFleet?: boolean;
  /** GitHub Enterprise REST API root. @default https://api.github.com */
  readonly apiUrl?: string;
  readonly allowHttp?: boolean;
  /** The deadline of the whole run (--timeout). @default 60 s */
  readonly timeoutMs?: number;
  /** Write GitHub's ranges although the cluster's generic-oidc Receivers' CI calls do not come from them (--drop-oidc-calls). @default false */
  readonly dropOidcCalls?: boolean;
}

export interface AllowlistResult {
  readonly cluster: string;
  /** GitHub's `hooks` ranges, in its order. */
  readonly ranges: string[];
  /** The fleet file lists, by path, that hold (or with writeFleet now hold) the ranges. */
  readonly fields: string[];
  /** Whether the fleet file was changed (false when it already held these ranges). */
  readonly written: boolean;
  /** Why the ranges may still not work, one line each. */
  readonly warnings: string[];
}

/**
 * The `hooks` CIDRs of GitHub's /meta, checked: a server that answers anything else is not GitHub's API.
 * /meta is public: the API host's token (GITHUB_TOKEN for api.github.com) only raises the rate limit.
 */
export async function githubHookRanges(options: Pick<AllowlistOptions, 'apiUrl' | 'allowHttp' | 'timeoutMs'>, env: NodeJS.ProcessEnv): Promise<string[]> {
  const { base, token } = githubApi(options, env);
  const octokit = githubClient({ apiUrl: base, token, bounds: requestBounds(options.timeoutMs) });
  let hooks: unknown;
  try {
    hooks = (await octokit.rest.meta.get()).data?.hooks;
  } catch (error) {
    throw explainGithubError(error, 'GitHub\'s /meta', base);
  }
  if (!Array.isArray(hooks) || hooks.length === 0 || hooks.some((range) => typeof range !== 'string' || cidrProblem(range) !== undefined)) {
    throw new CommandError('GitHub\'s /meta answer has no list of webhook CIDRs (hooks): check that --api-url is GitHub\'s REST API');
  }
  return [...new Set(hooks as string[])];
}

/**
 * The fleet file lists that GitHub's ranges can filter by, or a CommandError where none can: a
 * NetworkPolicy only while it sees GitHub's own address (callerAddressVisible), a load balancer's
 * sourceRanges always (the cloud filters the caller itself), a gateway or an ingress never from here
 * (a policy sees the proxy: filter at the proxy).
 */
function fieldsOf(cluster: ClusterConfig): string[][] {
  const base = ['clusters', cluster.name, 'webhook'];
  const { webhook } = cluster;
  const kind = exposureKindOf(webhook);
  if (!reachedThroughService(webhook)) {
    throw new CommandError(`cluster ${cluster.name} is reached through ${kind === 'ingress' ? 'an ingress' : 'a gateway'}, whose proxy calls notification-controller from its own address: filter GitHub's ranges at the ${kind} itself (its controller's source-range option), not in a NetworkPolicy`);
  }
  const fields: string[][] = [];
  if (isLoadBalancer(webhook)) fields.push([...base, 'loadBalancer', 'sourceRanges']);
  if (hasNetworkPolicy(webhook) && callerAddressVisible(webhook)) fields.push([...base, 'allowFrom']);
  if (fields.length === 0) {
    throw new CommandError(hasNetworkPolicy(webhook)
      ? `cluster ${cluster.name}'s NetworkPolicy would not see GitHub's address (externalTrafficPolicy is not Local), so GitHub's ranges there would drop every delivery: set clusters.${cluster.name}.webhook.externalTrafficPolicy: Local first`
      : `cluster ${cluster.name} has networkPolicy: false, so no list of ours filters sources: remove it (and set externalTrafficPolicy: Local) to narrow the NetworkPolicy to GitHub's ranges`);
  }
  return fields;
}

/** GitHub's webhook ranges for a cluster; with writeFleet, written into its lists in the fleet file, comments kept. */
export async function allowlist(clusterName: string, options: AllowlistOptions = {}): Promise<AllowlistResult> {
  if (options.dropOidcCalls && !options.writeFleet) throw new UsageError('--drop-oidc-calls is about what --write-fleet writes: give it with --write-fleet');
  const context = CommandContext.of(options);
  const cluster = context.cluster(clusterName);
  // GitHub's hook ranges are its webhooks' senders; a generic-oidc Receiver's caller is a CI runner.
  if (!needsWebhookToken(cluster)) {
    throw new CommandError(`cluster ${cluster.name}'s Receivers are all generic-oidc, and GitHub's webhook ranges would drop every call: ${OIDC_CALLERS}; ${OIDC_CALLERS_FIX}`);
  }
  const { oidc } = receiverKinds(cluster);
  const dropsOidc = oidc.length === 0 ? undefined : `GitHub's webhook ranges would also drop the CI calls of ${cluster.name}'s generic-oidc Receiver${oidc.length === 1 ? '' : 's'} ${oidc.join(', ')}: ${OIDC_CALLERS}`;
  if (dropsOidc !== undefined && options.writeFleet && !options.dropOidcCalls) {
    throw new CommandError(`${dropsOidc}; write them anyway with --drop-oidc-calls (those Receivers' pushes then wait for polling), or ${OIDC_CALLERS_FIX}`);
  }
  const fields = fieldsOf(cluster);
  const ranges = await githubHookRanges(options, context.env);
  const warnings: string[] = dropsOidc === undefined ? [] : [dropsOidc];
  const narrowed = narrowedPolicyProblem(cluster.webhook);
  if (narrowed) warnings.push(`clusters.${cluster.name}.webhook.allowFrom is narrowed already, but ${narrowed}`);
  const names = fields.map((field) => field.join('.'));
  if (!options.writeFleet) return { cluster: clusterName, ranges, fields: names, written: false, warnings };

  const { fleetFile } = context.paths;
  const written = await withRecoveredRepository(context.paths, async () => {
    const before = readFleetText(fleetFile);
    const after = fields.reduce((text, field) => withList(text, field, ranges), before);
    // The edit must say exactly what GitHub said, and leave a fleet that parses.
    parseFleet(after, fleetFile);
    for (const field of fields) {
      if (JSON.stringify(listAt(after, field)) !== JSON.stringify(ranges)) throw new CommandError(`could not write ${field.join('.')} into ${fleetFile} as a plain list: edit it by hand`);
    }
    if (after === before) return false;
    writeFileAtomically(fleetFile, after);
    return true;
  });
  return { cluster: clusterName, ranges, fields: names, written, warnings };
}
