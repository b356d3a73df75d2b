// The GitHub repository behind a GitRepository URL: https://host/owner/name(.git) or ssh://git@host/owner/name(.git).

export interface GithubRepository {
  readonly host: string;
  readonly owner: string;
  readonly name: string;
}

export function githubRepositoryOf(url: string): GithubRepository {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`"${url}" is not a URL`);
  }
  const parts = parsed.pathname.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '').split('/');
  if (parts.length !== 2 || parts.some((part) => part === '')) {
    throw new Error(`"${url}" does not name a repository as host/owner/name`);
  }
  return { host: parsed.hostname, owner: parts[0], name: parts[1] };
}

export function fullName(repository: GithubRepository): string {
  return `${repository.owner}/${repository.name}`;
}
