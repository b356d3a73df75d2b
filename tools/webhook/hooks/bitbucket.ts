// Bitbucket Cloud repository webhooks through its REST API 2.0, with fetch: the one npm client
// (bitbucket) has had no release since 2024 and still ships node-fetch 2, so these three calls are
// written here, on the same origin-confined fetch as the others.
import { fullName, RepositoryRef } from '../../../lib/hosts';
import { ApiAnswerError, confinedFetch, oneLine } from './api-client';
import { pageGuard } from '../bounded-fetch';
import { checkedHooks, HookClient, HookClientOptions, HookRequest, HookShape, HookSpec, savedHookId } from './hook-client';

const SHAPE: HookShape = { host: 'Bitbucket', id: (hook) => hook.uuid, url: (hook) => hook.url };

/** One call to Bitbucket's REST API: its JSON answer (undefined where there is none), or an ApiAnswerError. */
export type BitbucketCall = (method: string, url: string, body?: unknown) => Promise<any>;

/** Calls to the API at `apiUrl` with the token, on the origin-confined fetch. */
export function bitbucketCall({ apiUrl, token, bounds }: HookClientOptions): BitbucketCall {
  const fetchOnOrigin = confinedFetch(apiUrl, bounds);
  return async (method, url, body) => {
    const response = await fetchOnOrigin(url, {
      method,
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json: any;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) throw new ApiAnswerError(response.status, oneLine(json?.error?.message ?? text));
    return json;
  };
}

/**
 * Every value of a paginated list from `first` on, following each page's next link, past the page
 * limit refused (pageGuard, naming `list`). A page without a values list ends it: the answer is
 * then `notList(page)` (the caller's check, or its error).
 */
export async function bitbucketPages<T>(call: BitbucketCall, first: string, list: string, notList: (page: unknown) => T): Promise<unknown[] | T> {
  const found: unknown[] = [];
  const received = pageGuard(list);
  for (let next: string | undefined = first; next !== undefined;) {
    const page = await call('GET', next);
    received();
    if (!Array.isArray(page?.values)) return notList(page);
    found.push(...page.values);
    next = typeof page.next === 'string' ? page.next : undefined;
  }
  return found;
}

export function bitbucketHooks(options: HookClientOptions): HookClient {
  const call = bitbucketCall(options);
  const root = options.apiUrl.href.replace(/\/+$/, '');
  const path = (repository: RepositoryRef) => `/repositories/${fullName(repository)}/hooks`;
  const body = (hook: HookSpec) => ({ description: 'Flux Receiver (flux-infra)', url: hook.url, active: true, events: ['repo:push'], secret: hook.secret });
  const request = (repository: RepositoryRef, id: string | undefined, hook: HookSpec): HookRequest => id === undefined
    ? { method: 'POST', path: path(repository), body: body(hook) }
    : { method: 'PUT', path: `${path(repository)}/${encodeURIComponent(id)}`, body: body(hook) };
  return {
    async list(repository) {
      // A page that is not a list is checked as the hooks themselves: a server that answers so is not Bitbucket's API.
      const hooks = await bitbucketPages(call, `${root}${path(repository)}?pagelen=100`, `the list of hooks of ${fullName(repository)}`, (page) => page);
      return checkedHooks(hooks, SHAPE, fullName(repository));
    },
    request,
    async send(repository, id, hook) {
      const { method, path: target, body: payload } = request(repository, id, hook);
      const saved = await call(method, `${root}${target}`, payload);
      return savedHookId(saved, SHAPE, undefined, '…/2.0');
    },
  };
}
