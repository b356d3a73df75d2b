// GitHub (and GitHub Enterprise) repository webhooks through Octokit.
import { fullName, RepositoryRef } from '../../../lib/hosts';
import { githubClient, githubPages } from '../github-client';
import { checkedHooks, HookClient, HookClientOptions, HookRequest, HookShape, HookSpec, savedHookId } from './hook-client';

const SHAPE: HookShape = { host: 'GitHub', id: (hook) => hook.id, url: (hook) => hook.config?.url, valid: (hook) => typeof hook.config === 'object' && hook.config !== null };

export function githubHooks({ apiUrl, token, bounds }: HookClientOptions): HookClient {
  const octokit = githubClient({ apiUrl, token, bounds });
  const config = (hook: HookSpec) => ({ url: hook.url, content_type: 'json' as const, insecure_ssl: '0' as const, secret: hook.secret });
  const request = (repository: RepositoryRef, id: string | undefined, hook: HookSpec): HookRequest => id === undefined
    ? { method: 'POST', path: `/repos/${fullName(repository)}/hooks`, body: { name: 'web', active: true, events: ['push'], config: config(hook) } }
    : { method: 'PATCH', path: `/repos/${fullName(repository)}/hooks/${id}`, body: { active: true, events: ['push'], config: config(hook) } };
  return {
    async list(repository) {
      const hooks = await githubPages(octokit, 'listWebhooks', repository, `the list of hooks of ${fullName(repository)}`);
      return checkedHooks(hooks, SHAPE, fullName(repository));
    },
    request,
    async send(repository, id, hook) {
      const owner = { owner: repository.owner, repo: repository.name };
      const response = id === undefined
        ? await octokit.rest.repos.createWebhook({ ...owner, name: 'web', active: true, events: ['push'], config: config(hook) })
        : await octokit.rest.repos.updateWebhook({ ...owner, hook_id: Number(id), active: true, events: ['push'], config: config(hook) });
      return savedHookId(response.data, SHAPE, response.status, 'https://api.github.com, or …/api/v3 for GitHub Enterprise');
    },
  };
}
