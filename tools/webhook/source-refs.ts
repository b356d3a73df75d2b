// `doctor --online`: each source's repository exists and its branch, tag or semver range resolves,
// so that a misspelt branch cannot turn push reconciliation off in silence (the Receiver's filter
// would then match only that branch). Through the host's API where its token variable is set
// (host-tokens.ts), with the same bounded, origin-confined clients as `hook`; through the user's
// `git ls-remote` otherwise (git-heads.ts).
import { Branches, Tags } from '@gitbeaker/core';
import { giteaApi } from 'gitea-js';
import leven from 'leven';
import { satisfies, valid } from 'semver';
import { fleetRepositorySource } from '../../lib/fleet/git-hosts';
import { ClusterConfig, GitSourceConfig } from '../../lib/fleet/model';
import { fullName, GitHost, gitHostOf, refMatchOf, RepositoryRef } from '../../lib/hosts';
import { CommandError, UsageError } from '../common';
import { redact } from '../redact';
import { MAX_PAGES, pageGuard, RequestBounds } from './bounded-fetch';
import { gitRefs } from './git-heads';
import { githubClient, githubPages } from './github-client';
import { confinedFetch, explainApiError, sourceApi, SOURCE_API_SETTING } from './hooks/api-client';
import { gitlabResource } from './hooks/gitlab';
import { bitbucketCall, bitbucketPages } from './hooks/bitbucket';

/** A repository's branches and tags by name. */
export interface RemoteRefs {
  readonly branches: string[];
  readonly tags: string[];
}

/** What the token must be allowed to do to list a repository's refs, for a 403 or 404. */
const READ_RIGHTS = 'read access to the repository\'s contents';

/** Every value of a paginated list: `page(n)` answers page n; stops at an empty or short page, and past MAX_PAGES. */
async function allPages<T>(list: string, perPage: number, page: (number: number) => Promise<T[]>): Promise<T[]> {
  const received = pageGuard(list);
  const found: T[] = [];
  for (let number = 1; ; number++) {
    const values = await page(number);
    received();
    if (!Array.isArray(values)) throw new CommandError(`${list} is not a list: check that the API URL is the host's REST API`);
    found.push(...values);
    if (values.length < perPage) return found;
  }
}

function names(values: unknown[], what: string): string[] {
  return values.map((value: any) => {
    if (typeof value?.name !== 'string') throw new CommandError(`${what} holds an entry without a name: check that the API URL is the host's REST API`);
    return value.name;
  });
}

/** A repository's branches and tags through its host's API, with `token`. */
async function apiRefs(host: GitHost, repository: RepositoryRef, apiUrl: URL, token: string, bounds: RequestBounds): Promise<RemoteRefs> {
  const repo = fullName(repository);
  const list = (what: string) => `the ${what} of ${repo}`;
  switch (host.kind) {
    case 'github': {
      const octokit = githubClient({ apiUrl, token, bounds });
      const read = async (what: 'branches' | 'tags') => names(await githubPages(octokit, what === 'branches' ? 'listBranches' : 'listTags', repository, list(what)), list(what));
      return { branches: await read('branches'), tags: await read('tags') };
    }
    case 'gitlab': {
      const read = async (what: 'branches' | 'tags') => {
        const resource = what === 'branches' ? gitlabResource(Branches, { apiUrl, token, bounds }, list(what)) : gitlabResource(Tags, { apiUrl, token, bounds }, list(what));
        return names(await resource.all(repo, { perPage: 100, maxPages: MAX_PAGES } as never) as unknown[], list(what));
      };
      return { branches: await read('branches'), tags: await read('tags') };
    }
    case 'gitea':
    case 'forgejo': {
      const root = apiUrl.href.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
      const api = giteaApi(root, { token, customFetch: confinedFetch(apiUrl, bounds) });
      const branches = await allPages(list('branches'), 50, async (page) => (await api.repos.repoListBranches(repository.owner, repository.name, { page, limit: 50 })).data as unknown[]);
      const tags = await allPages(list('tags'), 50, async (page) => (await api.repos.repoListTags(repository.owner, repository.name, { page, limit: 50 })).data as unknown[]);
      return { branches: names(branches, list('branches')), tags: names(tags, list('tags')) };
    }
    case 'bitbucket': {
      const call = bitbucketCall({ apiUrl, token, bounds });
      const root = apiUrl.href.replace(/\/+$/, '');
      const read = async (what: 'branches' | 'tags') => names(await bitbucketPages(call, `${root}/repositories/${repo}/refs/${what}?pagelen=100`, list(what), () => {
        throw new CommandError(`${list(what)} is not a list: check that the API URL is Bitbucket's REST API`);
      }), list(what));
      return { branches: await read('branches'), tags: await read('tags') };
    }
  }
}

/** The names closest to `wanted` first (edit distance), at most `count`: what a misspelt ref was meant to be. */
export function closest(wanted: string, candidates: readonly string[], count = 5): string[] {
  return [...candidates].map((name) => ({ name, score: leven(wanted.toLowerCase(), name.toLowerCase()) })).sort((a, b) => a.score - b.score || a.name.localeCompare(b.name)).slice(0, count).map(({ name }) => name);
}

/** The problem with a source's ref among the repository's refs, in one line, or undefined when it resolves. */
export function refProblem(source: GitSourceConfig, label: string, refs: RemoteRefs): string | undefined {
  const match = refMatchOf(source);
  const where = redact(source.url);
  const listed = (what: string, values: string[], wanted?: string) => values.length === 0
    ? `there are no ${what} there`
    : `the ${what} there include ${(wanted === undefined ? values.slice(0, 5) : closest(wanted, values)).join(', ')}`;
  if (match.kind === 'branch' && !refs.branches.includes(match.name)) {
    return `${label}: branch ${match.name} is not on ${where}: ${listed('branches', refs.branches, match.name)}; fix its branch in the fleet file, or pushes reconcile nothing`;
  }
  if (match.kind === 'tag' && !refs.tags.includes(match.name)) {
    return `${label}: tag ${match.name} is not on ${where}: ${listed('tags', refs.tags, match.name)}; fix its tag in the fleet file`;
  }
  if (match.kind === 'anyTag' && !refs.tags.some((tag) => valid(tag) !== null && satisfies(tag, source.semver!))) {
    const versions = refs.tags.filter((tag) => valid(tag) !== null);
    return `${label}: no tag on ${where} is in the semver range "${source.semver}": ${listed('semver tags', versions)}; fix its semver in the fleet file, or push such a tag`;
  }
  return undefined;
}

/** The sources doctor --online reads: the fleet's, and the fleet repository bootstrap follows. */
function sourcesOf(cluster: ClusterConfig): { source: GitSourceConfig; label: string }[] {
  const fleet = fleetRepositorySource(cluster);
  return [
    ...cluster.sources.map((source) => ({ source, label: `source ${source.name}` })),
    ...(fleet ? [{ source: fleet, label: 'the fleet repository' }] : []),
  ];
}

/** How a source's refs are read: its host's API where that host's token variable is set, else git ls-remote. */
async function readRefs(source: GitSourceConfig, env: NodeJS.ProcessEnv, bounds: RequestBounds): Promise<{ refs: RemoteRefs } | { failed: string }> {
  const host = gitHostOf(source);
  let repository: RepositoryRef | undefined;
  try {
    repository = host?.repositoryOf(source.url);
  } catch {
    repository = undefined;
  }
  if (host !== undefined && repository !== undefined && (host.knows?.(repository) ?? true)) {
    let api: ReturnType<typeof sourceApi>;
    try {
      api = sourceApi(source, host, repository, env);
    } catch (error) {
      // A bad API URL (apiOrigin's UsageError) is this source's problem; an unusable token variable stops the command.
      if (!(error instanceof UsageError)) throw error;
      return { failed: `its API URL: ${error.message}` };
    }
    const { apiUrl, token } = api;
    if (token !== undefined) {
      try {
        return { refs: await apiRefs(host, repository, apiUrl, token, bounds) };
      } catch (error) {
        const explained = explainApiError({ name: host.name, apiUrl, rights: READ_RIGHTS, apiSetting: SOURCE_API_SETTING }, error, fullName(repository));
        // The command's time up ends the command; any other failure is this source's problem.
        if (bounds.signal.aborted) throw explained;
        return { failed: explained.message };
      }
    }
  }
  const listed = await gitRefs(source.url, env, bounds);
  return 'failed' in listed ? listed : { refs: listed };
}

/** One line per source whose repository cannot be read or whose branch, tag or semver range does not resolve. */
export async function sourceRefProblems(cluster: ClusterConfig, env: NodeJS.ProcessEnv, bounds: RequestBounds): Promise<string[]> {
  const problems: string[] = [];
  for (const { source, label } of sourcesOf(cluster)) {
    // A pinned commit is fetched by its id: no ref to resolve.
    if (refMatchOf(source).kind === 'none') continue;
    const read = await readRefs(source, env, bounds);
    if ('failed' in read) problems.push(`${label}: cannot list the refs of ${redact(source.url)}: ${read.failed}`);
    else {
      const problem = refProblem(source, label, read.refs);
      if (problem) problems.push(problem);
    }
  }
  return problems;
}
