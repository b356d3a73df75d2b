// The repository behind a GitRepository URL: https://host/owner/name(.git) or
// ssh://git@host/owner/name(.git); GitLab also nests groups (host/group/subgroup/project).

export interface RepositoryRef {
  /** The host name of the URL, e.g. github.com. */
  readonly host: string;
  /** Everything before the repository's name: an owner, a workspace, or GitLab groups. */
  readonly owner: string;
  readonly name: string;
}

/**
 * The repository a URL names: owner and name are its last two path segments (an installation
 * under a sub-path, Bitbucket Server's /scm/<project>/<repo>); with `nested` (GitLab) every segment
 * before the name is its group path. Throws a one-line error when the URL names no owner/name.
 */
export function repositoryOf(url: string, nested = false): RepositoryRef {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`"${url}" is not a URL`);
  }
  const parts = parsed.pathname.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '').split('/');
  if (parts.length < 2 || parts.some((part) => part === '')) {
    throw new Error(`"${url}" does not name a repository as ${nested ? 'host/group[/subgroup...]/project' : 'host/owner/name'}`);
  }
  const owner = nested ? parts.slice(0, -1) : parts.slice(-2, -1);
  return { host: parsed.hostname.toLowerCase(), owner: owner.join('/'), name: parts[parts.length - 1] };
}

/** owner/name (GitHub's full_name, GitLab's path_with_namespace, Bitbucket's full_name). */
export function fullName(repository: RepositoryRef): string {
  return `${repository.owner}/${repository.name}`;
}
