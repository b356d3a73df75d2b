// The Octokit client for GitHub's REST API, kept to its origin (hooks/api-client.ts).
import { Octokit } from '@octokit/rest';
import { apiOrigin, confinedFetch, explainApiError } from './hooks/api-client';
import { HOOK_RIGHTS } from './hooks/hook-client';
import { pageGuard, RequestBounds } from './bounded-fetch';
import { RepositoryRef } from '../../lib/hosts';
import { hostToken } from './host-tokens';

export const GITHUB_API = 'https://api.github.com';

export interface GithubClientOptions {
  /** The REST API root, already checked (apiOrigin): https://api.github.com, GitHub Enterprise's …/api/v3. */
  readonly apiUrl: URL;
  /** @default - no token: public endpoints only (such as /meta), at a lower rate limit */
  readonly token?: string;
  /** The command's deadline and limits, on every request. */
  readonly bounds: RequestBounds;
}

/** Octokit whose every request stays on the API's origin, within the command's bounds (no redirect followed, deadline, body and page limits). */
export function githubClient(options: GithubClientOptions): Octokit {
  const base = options.apiUrl;
  // Octokit logs failed requests itself; ours are explained once, by explainGithubError.
  const quiet = { debug: () => undefined, info: () => undefined, warn: console.warn, error: () => undefined };
  return new Octokit({ auth: options.token, baseUrl: base.href.replace(/\/$/, ''), userAgent: 'flux-infra', log: quiet, request: { fetch: confinedFetch(base, options.bounds) } });
}

/**
 * Every entry of one of a repository's lists (hooks, branches, tags), through Octokit's pagination
 * at 100 a page; a list that goes on past the page limit is refused (pageGuard), named `list`.
 */
export async function githubPages(octokit: Octokit, listing: 'listWebhooks' | 'listBranches' | 'listTags', repository: RepositoryRef, list: string): Promise<unknown[]> {
  const page = pageGuard(list);
  return octokit.paginate(octokit.rest.repos[listing], { owner: repository.owner, repo: repository.name, per_page: 100 }, (response) => {
    page();
    return response.data;
  });
}

/** The API root checked, and the token of its host's variable where that is set (never another host's). */
export function githubApi(options: { readonly apiUrl?: string; readonly allowHttp?: boolean }, env: NodeJS.ProcessEnv): { base: URL; token: string | undefined } {
  const base = apiOrigin(options.apiUrl ?? GITHUB_API, options.allowHttp);
  return { base, token: hostToken(base, env).token };
}

/** GitHub's answer at `apiUrl`, or the failure to get one, in the user's words: one line (a 401 names that host's token variable). */
export function explainGithubError(error: any, subject: string, apiUrl: URL): Error {
  return explainApiError({ name: 'GitHub', apiUrl, rights: HOOK_RIGHTS.github }, error, subject);
}
