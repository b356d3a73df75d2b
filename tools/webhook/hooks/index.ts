// The hook API client of each Git host: one file per host, registered here.
import { GitHostKind } from '../../../lib/fleet/model';
import { bitbucketHooks } from './bitbucket';
import { giteaHooks } from './gitea';
import { githubHooks } from './github';
import { gitlabHooks } from './gitlab';
import { HookClient, HookClientOptions } from './hook-client';

export { HookClient, HookRequest, HookSpec } from './hook-client';

const CLIENTS: Record<GitHostKind, (options: HookClientOptions) => HookClient> = {
  github: githubHooks, gitlab: gitlabHooks, gitea: (options) => giteaHooks(options, 'Gitea'), forgejo: (options) => giteaHooks(options, 'Forgejo'), bitbucket: bitbucketHooks,
};

/** What a token for each host must be allowed to do, for a 403 or 404. */
export const HOOK_RIGHTS: Record<GitHostKind, string> = {
  github: 'admin on the repository: classic admin:repo_hook scope; fine-grained: Webhooks read and write',
  gitlab: 'Maintainer on the project, scope api',
  gitea: 'admin on the repository, scope write:repository',
  forgejo: 'admin on the repository, scope write:repository',
  bitbucket: 'admin on the repository, scope webhook',
};

export function hookClient(kind: GitHostKind, options: HookClientOptions): HookClient {
  return CLIENTS[kind](options);
}
