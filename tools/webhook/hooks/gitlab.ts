// GitLab (gitlab.com and self-managed) project webhooks through @gitbeaker, its requests sent by our
// origin-confined fetch: gitbeaker's own requester follows redirects with the token.
import { ProjectHooks } from '@gitbeaker/core';
import { createRequesterFn, GitbeakerRequestError } from '@gitbeaker/requester-utils';
import { fullName, RepositoryRef } from '../../../lib/hosts';
import { confinedFetch } from './api-client';
import { MAX_PAGES, pageGuard, RequestBounds } from '../bounded-fetch';
import { checkedHooks, HookClient, HookClientOptions, HookRequest, HookShape, HookSpec, savedHookId } from './hook-client';

const SHAPE: HookShape = { host: 'GitLab', id: (hook) => hook.id, url: (hook) => hook.url };

/** GitLab's error message: a string, or per field a list (`{"url": ["is blocked: ..."]}`). */
function gitlabMessage(message: unknown): string {
  if (typeof message === 'string') return message;
  if (message !== null && typeof message === 'object') {
    return Object.entries(message).map(([field, errors]) => `${field} ${Array.isArray(errors) ? errors.join(', ') : String(errors)}`).join('; ');
  }
  return String(message);
}

/** gitbeaker's request handler, on a fetch that stays on the API's origin; `received` counts each GET (gitbeaker's own pagination follows Link: next). */
function requestHandler(fetchOnOrigin: typeof fetch, received: () => void) {
  return async (endpoint: string, options?: Record<string, unknown>) => {
    const { prefixUrl, searchParams, method, headers, body } = (options ?? {}) as { prefixUrl?: string; searchParams?: string; method?: string; headers?: Record<string, string>; body?: string };
    const url = new URL(endpoint, prefixUrl?.endsWith('/') ? prefixUrl : `${prefixUrl}/`);
    url.search = searchParams ?? '';
    const request = new Request(url, { method, headers, body });
    const response = await fetchOnOrigin(request);
    if (request.method === 'GET') received();
    const text = await response.text();
    const json = (response.headers.get('content-type') ?? '').includes('application/json') && text !== '' ? JSON.parse(text) : text;
    if (!response.ok) {
      const description = typeof json === 'object' ? gitlabMessage(json?.message ?? json?.error ?? json) : text;
      throw new GitbeakerRequestError(description, { cause: { description, request, response } });
    }
    return { body: json, headers: Object.fromEntries(response.headers.entries()), status: response.status };
  };
}

/**
 * A gitbeaker resource (ProjectHooks, Projects, Branches...) on the GitLab API at `apiUrl` (the
 * instance's root or its /api/v4), its requests sent by our origin-confined fetch. `list` names the
 * paginated list it is made to read: its pages are counted, as gitbeaker's maxPages stops only
 * when pages are full.
 */
export function gitlabResource<T>(Resource: new (options: never) => T, { apiUrl, token, bounds }: { readonly apiUrl: URL; readonly token: string | undefined; readonly bounds: RequestBounds }, list?: string): T {
  // gitbeaker takes the instance's root and adds /api/v4 itself.
  const root = apiUrl.href.replace(/\/+$/, '').replace(/\/api\/v4$/, '');
  const received = list === undefined ? () => undefined : pageGuard(list);
  const options = { host: root, token, requesterFn: createRequesterFn((_, given) => Promise.resolve(given), requestHandler(confinedFetch(apiUrl, bounds), received)) };
  return new Resource(options as never);
}

export function gitlabHooks(client: HookClientOptions): HookClient {
  const options = (hook: HookSpec) => ({ token: hook.secret, pushEvents: true, tagPushEvents: true, enableSslVerification: true });
  const request = (repository: RepositoryRef, id: string | undefined, hook: HookSpec): HookRequest => {
    const project = `/projects/${encodeURIComponent(fullName(repository))}/hooks`;
    const body = { url: hook.url, token: hook.secret, push_events: true, tag_push_events: true, enable_ssl_verification: true };
    return id === undefined ? { method: 'POST', path: project, body } : { method: 'PUT', path: `${project}/${id}`, body };
  };
  return {
    async list(repository) {
      const all = await gitlabResource(ProjectHooks, client, `the list of hooks of ${fullName(repository)}`).all(fullName(repository), { perPage: 100, maxPages: MAX_PAGES } as never);
      return checkedHooks(all, SHAPE, fullName(repository));
    },
    request,
    async send(repository, id, hook) {
      const hooks = gitlabResource(ProjectHooks, client);
      const saved = id === undefined
        ? await hooks.add(fullName(repository), hook.url, options(hook))
        : await hooks.edit(fullName(repository), Number(id), hook.url, options(hook));
      return savedHookId(saved, SHAPE, undefined, '…/api/v4');
    },
  };
}
