// Gitea and Forgejo repository webhooks through gitea-js (their REST API, generated from its
// OpenAPI description), its requests sent by our origin-confined fetch.
import { giteaApi } from 'gitea-js';
import { fullName, RepositoryRef } from '../../../lib/hosts';
import { confinedFetch } from './api-client';
import { pageGuard } from '../bounded-fetch';
import { checkedHooks, HookClient, HookClientOptions, HookRequest, HookShape, HookSpec, savedHookId } from './hook-client';

export function giteaHooks({ apiUrl, token, bounds }: HookClientOptions, host = 'Gitea'): HookClient {
  const shape: HookShape = { host, id: (hook) => hook.id, url: (hook) => hook.config?.url };
  // gitea-js adds /api/v1 to the instance's root.
  const root = apiUrl.href.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  const api = giteaApi(root, { token, customFetch: confinedFetch(apiUrl, bounds) });
  const config = (hook: HookSpec) => ({ url: hook.url, content_type: 'json', secret: hook.secret });
  const request = (repository: RepositoryRef, id: string | undefined, hook: HookSpec): HookRequest => {
    const path = `/repos/${fullName(repository)}/hooks`;
    return id === undefined
      ? { method: 'POST', path, body: { type: 'gitea', active: true, events: ['push'], config: config(hook) } }
      : { method: 'PATCH', path: `${path}/${id}`, body: { active: true, events: ['push'], config: config(hook) } };
  };
  return {
    async list(repository) {
      const found: unknown[] = [];
      const received = pageGuard(`the list of hooks of ${fullName(repository)}`);
      for (let page = 1; ; page++) {
        const response = await api.repos.repoListHooks(repository.owner, repository.name, { page, limit: 50 });
        received();
        const { data } = response;
        if (!Array.isArray(data)) return checkedHooks(data, shape, fullName(repository));
        found.push(...data);
        // An instance may cap pages below the limit asked for: the total it reports (or an empty page) ends the list.
        const total = Number(response.headers.get('x-total-count') ?? Number.NaN);
        if (data.length === 0 || (Number.isFinite(total) ? found.length >= total : data.length < 50)) break;
      }
      return checkedHooks(found, shape, fullName(repository));
    },
    request,
    async send(repository, id, hook) {
      const { data } = id === undefined
        ? await api.repos.repoCreateHook(repository.owner, repository.name, { type: 'gitea', active: true, events: ['push'], config: config(hook) })
        : await api.repos.repoEditHook(repository.owner, repository.name, Number(id), { active: true, events: ['push'], config: config(hook) });
      return savedHookId(data, shape, undefined, '…/api/v1');
    },
  };
}
