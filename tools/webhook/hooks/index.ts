// The hook API client of each Git host: one file per host, registered here.
import { GitHostKind } from '../../../lib/fleet/model';
import { bitbucketHooks } from './bitbucket';
import { giteaHooks } from './gitea';
import { githubHooks } from './github';
import { gitlabHooks } from './gitlab';
import { HookClient, HookClientOptions } from './hook-client';

export { HOOK_RIGHTS, HookClient, HookRequest, HookSpec } from './hook-client';

const CLIENTS: Record<GitHostKind, (options: HookClientOptions) => HookClient> = {
  github: githubHooks, gitlab: gitlabHooks, gitea: (options) => giteaHooks(options, 'Gitea'), forgejo: (options) => giteaHooks(options, 'Forgejo'), bitbucket: bitbucketHooks,
};

export function hookClient(kind: GitHostKind, options: HookClientOptions): HookClient {
  return CLIENTS[kind](options);
}
