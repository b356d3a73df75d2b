// `webhook ids <cluster> [--write-fleet]`: the ids a generic-oidc Receiver pins beside the repository
// name (GitHub's repository and owner ids, GitLab's project and namespace ids), read from each
// source's host API with that host's own token variable (host-tokens.ts) where set, through the same
// bounded, origin-confined clients as `hook`; written into the fleet file with comments kept.
import { Projects } from '@gitbeaker/core';
import { readFleetText } from '../../lib/synth';
import { withRecoveredRepository } from '../../lib/repository';
import { writeFileAtomically } from '../../lib/io/atomic-file';
import { withScalar } from '../../lib/fleet/edit';
import { parseFleet } from '../../lib/fleet/parse';
import { GitSourceConfig } from '../../lib/fleet/model';
import { gitHost } from '../../lib/hosts';
import { oidcReceivers, oidcClaimNames, OidcHostKind } from '../../lib/hosts/oidc';
import { CommandContext, CommandError, CommandErrors, CommandOptions, UsageError } from '../common';
import { RedirectRefused, RequestBounds, requestBounds } from './bounded-fetch';
import { githubClient } from './github-client';
import { explainApiError, sourceApi, SOURCE_API_SETTING } from './hooks/api-client';
import { gitlabResource } from './hooks/gitlab';

export interface IdsOptions extends CommandOptions {
  /** Write the ids into the sources of the fleet file, comments kept. */
  readonly writeFleet?: boolean;
  /** With writeFleet: replace ids the fleet already has that differ from the host's (else refused). @default false */
  readonly replaceIds?: boolean;
  /** Allow a plain-http apiUrl off loopback. @default false */
  readonly allowHttp?: boolean;
  /** The deadline of the whole run (--timeout). @default 60 s */
  readonly timeoutMs?: number;
}

export interface SourceIds {
  readonly source: string;
  readonly host: OidcHostKind;
  readonly repository: string;
  readonly repositoryId: number;
  readonly ownerId: number;
  /** The repository's path as the host names it now, where it differs from the fleet URL's (renamed or moved). */
  readonly renamedTo?: string;
}

export interface IdsResult {
  readonly cluster: string;
  readonly sources: SourceIds[];
  /** Whether the fleet file was changed (false when it already held these ids, or without writeFleet). */
  readonly written: boolean;
  /** The sources whose earlier, different ids were replaced (replaceIds). */
  readonly replaced: string[];
}

/** A positive integer id from an API answer, or a CommandError: a server that answers otherwise is not the host's API. */
function idOf(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  throw new CommandError(`the answer has no ${what}: check that the source's apiUrl is the host's REST API`);
}

/** The repository's ids through its host's API. */
async function readIds(source: GitSourceConfig, host: OidcHostKind, repository: string, env: NodeJS.ProcessEnv, allowHttp: boolean | undefined, bounds: RequestBounds): Promise<{ repositoryId: number; ownerId: number; path: string }> {
  const ref = gitHost(host).repositoryOf(source.url);
  // Public repositories answer without a token; a private one needs its host's own.
  const { apiUrl, token } = sourceApi(source, gitHost(host), ref, env, { allowHttp });
  const words = { name: gitHost(host).name, apiUrl, rights: 'read access to the repository\'s metadata', apiSetting: SOURCE_API_SETTING };
  try {
    if (host === 'github') {
      const octokit = githubClient({ apiUrl, token, bounds });
      const { data } = await octokit.rest.repos.get({ owner: ref.owner, repo: ref.name });
      return { repositoryId: idOf(data?.id, 'repository id'), ownerId: idOf(data?.owner?.id, 'owner id'), path: String(data?.full_name ?? repository) };
    }
    const project = await gitlabResource(Projects, { apiUrl, token, bounds }).show(repository) as unknown as { id?: unknown; namespace?: { id?: unknown }; path_with_namespace?: unknown };
    return { repositoryId: idOf(project?.id, 'project id'), ownerId: idOf(project?.namespace?.id, 'namespace id'), path: String(project?.path_with_namespace ?? repository) };
  } catch (error) {
    if (error instanceof CommandError) throw error;
    // GitHub answers a repository's old name with 301 to /repositories/<id>; the redirect is not followed (the token would go along).
    if (host === 'github' && [error, (error as { cause?: unknown })?.cause].some((candidate) => candidate instanceof RedirectRefused && candidate.status === 301)) {
      throw new CommandError(`source ${source.name}: GitHub says ${repository} was renamed or moved (301): update the source's url to the repository's new name, then run ids again`);
    }
    throw explainApiError(words, error, repository);
  }
}

/**
 * The sources whose ids the fleet already pins but the host answers differently, and the problem in
 * one line for all: the repository behind the name is not the one the ids were read from.
 */
function changedIds(clusterName: string, found: readonly SourceIds[], sources: readonly GitSourceConfig[]): { sources: string[]; problem: string } | undefined {
  const changed = found.flatMap((entry) => {
    const fleet = sources.find((source) => source.name === entry.source);
    const differs = (pinned: number | undefined, now: number) => pinned !== undefined && pinned !== now;
    if (fleet === undefined || !(differs(fleet.repositoryId, entry.repositoryId) || differs(fleet.ownerId, entry.ownerId))) return [];
    const ids = (repositoryId: number | undefined, ownerId: number | undefined) => `repositoryId ${repositoryId ?? '-'}, ownerId ${ownerId ?? '-'}`;
    return [{ source: entry.source, line: `source ${entry.source} (${entry.repository}): the fleet file pins ${ids(fleet.repositoryId, fleet.ownerId)}, but ${gitHost(entry.host).name} now says ${ids(entry.repositoryId, entry.ownerId)}` }];
  });
  if (changed.length === 0) return undefined;
  const problem = `${changed.map(({ line }) => line).join('; ')}: the repository was deleted and recreated, or moved, since the ids were written; check that it is the one you trust before replacing them (npm run webhook -- ids ${clusterName} --write-fleet --replace-ids)`;
  return { sources: changed.map(({ source }) => source), problem };
}

/** The ids of every source of the cluster's generic-oidc Receivers; with writeFleet, written into the fleet file. */
export async function ids(clusterName: string, options: IdsOptions = {}): Promise<IdsResult> {
  if (options.replaceIds && !options.writeFleet) throw new UsageError('--replace-ids replaces the ids in the fleet file: give it with --write-fleet');
  const bounds = requestBounds(options.timeoutMs);
  const context = CommandContext.of(options);
  const cluster = context.cluster(clusterName);
  const models = oidcReceivers(cluster);
  if (models.length === 0) throw new CommandError(`cluster ${clusterName} has no generic-oidc Receiver: only their sources' ids are pinned (set type: generic-oidc on a Receiver first)`);
  const seen = new Set<string>();
  const found: SourceIds[] = [];
  // Every source is tried: one unreachable host must not hide the others' answers (or failures).
  const failures: string[] = [];
  for (const model of models) {
    for (const entry of model.sources) {
      if (seen.has(entry.source)) continue;
      seen.add(entry.source);
      const source = cluster.sources.find((candidate) => candidate.name === entry.source)!;
      let read: Awaited<ReturnType<typeof readIds>>;
      try {
        read = await readIds(source, entry.host, entry.repository, context.env, options.allowHttp, bounds);
      } catch (error) {
        // The command's time up (or a bad --allow-http use) ends it; any other failure is this source's.
        if (bounds.signal.aborted || !(error instanceof CommandError) || error instanceof UsageError) throw error;
        failures.push(error.message);
        continue;
      }
      const renamed = read.path.toLowerCase() !== entry.repository.toLowerCase() ? read.path : undefined;
      found.push({ source: entry.source, host: entry.host, repository: entry.repository, repositoryId: read.repositoryId, ownerId: read.ownerId, ...(renamed ? { renamedTo: renamed } : {}) });
    }
  }
  if (failures.length > 0) throw new CommandErrors(failures);
  if (!options.writeFleet) {
    const changed = changedIds(clusterName, found, cluster.sources);
    if (changed) throw new CommandError(changed.problem);
    return { cluster: clusterName, sources: found, written: false, replaced: [] };
  }
  let replaced: string[] = [];
  const { fleetFile } = context.paths;
  const written = await withRecoveredRepository(context.paths, async () => {
    const before = readFleetText(fleetFile);
    // Read again under the lock: the sources' places are the file's as it is now.
    const sources = parseFleet(before, fleetFile).clusters.find((entry) => entry.name === clusterName)?.sources ?? [];
    const changed = changedIds(clusterName, found, sources);
    if (changed && !options.replaceIds) throw new CommandError(changed.problem);
    replaced = changed?.sources ?? [];
    let after = before;
    for (const entry of found) {
      const index = sources.findIndex((source) => source.name === entry.source);
      if (index === -1) throw new CommandError(`source ${entry.source} is no longer in cluster ${clusterName} of ${fleetFile}: run the command again`);
      after = withScalar(after, ['clusters', clusterName, 'sources', index, 'repositoryId'], entry.repositoryId);
      after = withScalar(after, ['clusters', clusterName, 'sources', index, 'ownerId'], entry.ownerId);
    }
    // The edit must leave a fleet that parses and says exactly these ids.
    const check = parseFleet(after, fleetFile).clusters.find((entry) => entry.name === clusterName)!;
    for (const entry of found) {
      const source = check.sources.find((candidate) => candidate.name === entry.source);
      if (source?.repositoryId !== entry.repositoryId || source.ownerId !== entry.ownerId) throw new CommandError(`could not write the ids of source ${entry.source} into ${fleetFile}: add repositoryId: ${entry.repositoryId} and ownerId: ${entry.ownerId} by hand`);
    }
    if (after === before) return false;
    writeFileAtomically(fleetFile, after);
    return true;
  });
  return { cluster: clusterName, sources: found, written, replaced };
}

/** The report's lines: each source's ids, in the words of its host's token claims. */
export function idsReport(result: IdsResult, fleetFile: string, writeFleet: boolean | undefined): string {
  const lines = result.sources.map((entry) => {
    const names = oidcClaimNames(entry.host);
    const renamed = entry.renamedTo ? ` (the host names it ${entry.renamedTo} now: update its url in the fleet file, or its tokens' ${names.repository} will not match)` : '';
    return `${entry.source}: ${entry.repository} repositoryId: ${entry.repositoryId} (${names.repositoryId}), ownerId: ${entry.ownerId} (${names.ownerId})${renamed}`;
  });
  if (writeFleet) {
    lines.push(!result.written ? `${fleetFile} already holds them: nothing to write`
      : result.replaced.length > 0 ? `replaced the ids of ${result.replaced.join(', ')} in ${fleetFile}: run npm run synth and commit`
        : `wrote them into ${fleetFile}: run npm run synth and commit`);
  }
  else lines.push('write them into the fleet file with --write-fleet');
  return lines.join('\n');
}
