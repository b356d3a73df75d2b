// GitLab (gitlab.com and self-managed) project webhooks through @gitbeaker, its requests sent by our
// origin-confined fetch: gitbeaker's own requester follows redirects with the token.
import { ProjectHooks } from '@gitbeaker/core';
import { createRequesterFn, GitbeakerRequestError } from '@gitbeaker/requester-utils';
import { fullName, RepositoryRef } from '../../../lib/hosts';
import { confinedFetch } from './api-client';
import { MAX_PAGES, pageGuard } from '../bounded-fetch';
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
export function requestHandler(fetchOnOrigin: typeof fetch, received: () => void) {
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

export function gitlabHooks({ apiUrl, token, bounds }: HookClientOptions): HookClient {
  // gitbeaker takes the instance's root and adds /api/v4 itself.
  const root = apiUrl.href.replace(/\/+$/, '').replace(/\/api\/v4$/, '');
  // The pages of the list being read: its maxPages stops only when pages are full.
  let received: (() => void) | undefined;
  const hooks = new ProjectHooks({
    host: root,
    token,
    requesterFn: createRequesterFn((_, options) => Promise.resolve(options), requestHandler(confinedFetch(apiUrl, bounds), () => received?.())),
  });
  const options = (hook: HookSpec) => ({ token: hook.secret, pushEvents: true, tagPushEvents: true, enableSslVerification: true });
  const request = (repository: RepositoryRef, id: string | undefined, hook: HookSpec): HookRequest => {
    const project = `/projects/${encodeURIComponent(fullName(repository))}/hooks`;
    const body = { url: hook.url, token: hook.secret, push_events: true, tag_push_events: true, enable_ssl_verification: true };
    return id === undefined ? { method: 'POST', path: project, body } : { method: 'PUT', path: `${project}/${id}`, body };
  };
  return {
    async list(repository) {
      received = pageGuard(`the list of hooks of ${fullName(repository)}`);
      try {
        const all = await hooks.all(fullName(repository), { perPage: 100, maxPages: MAX_PAGES } as never);
        return checkedHooks(all, SHAPE, fullName(repository));
      } finally {
        received = undefined;
      }
    },
    request,
    async send(repository, id, hook) {
      const saved = id === undefined
        ? await hooks.add(fullName(repository), hook.url, options(hook))
        : await hooks.edit(fullName(repository), Number(id), hook.url, options(hook));
      return savedHookId(saved, SHAPE, undefined, '…/api/v4');
    },
  };
}
