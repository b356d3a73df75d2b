// Bitbucket Cloud repository webhooks through its REST API 2.0, with fetch: the one npm client
// (bitbucket) has had no release since 2024 and still ships node-fetch 2, so these three calls are
// written here, on the same origin-confined fetch as the others.
import { fullName, RepositoryRef } from '../../../lib/hosts';
import { ApiAnswerError, confinedFetch, oneLine } from './api-client';
import { pageGuard } from '../bounded-fetch';
import { checkedHooks, HookClient, HookClientOptions, HookRequest, HookShape, HookSpec, savedHookId } from './hook-client';

const SHAPE: HookShape = { host: 'Bitbucket', id: (hook) => hook.uuid, url: (hook) => hook.url };

export function bitbucketHooks({ apiUrl, token, bounds }: HookClientOptions): HookClient {
  const fetchOnOrigin = confinedFetch(apiUrl, bounds);
  const root = apiUrl.href.replace(/\/+$/, '');
  const call = async (method: string, url: string, body?: unknown): Promise<any> => {
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
  const path = (repository: RepositoryRef) => `/repositories/${fullName(repository)}/hooks`;
  const body = (hook: HookSpec) => ({ description: 'Flux Receiver (flux-infra)', url: hook.url, active: true, events: ['repo:push'], secret: hook.secret });
  const request = (repository: RepositoryRef, id: string | undefined, hook: HookSpec): HookRequest => id === undefined
    ? { method: 'POST', path: path(repository), body: body(hook) }
    : { method: 'PUT', path: `${path(repository)}/${encodeURIComponent(id)}`, body: body(hook) };
  return {
    async list(repository) {
      const found: unknown[] = [];
      let next: string | undefined = `${root}${path(repository)}?pagelen=100`;
      const received = pageGuard(`the list of hooks of ${fullName(repository)}`);
      while (next !== undefined) {
        const page = await call('GET', next);
        received();
        if (!Array.isArray(page?.values)) return checkedHooks(page, SHAPE, fullName(repository));
        found.push(...page.values);
        next = typeof page.next === 'string' ? page.next : undefined;
      }
      return checkedHooks(found, SHAPE, fullName(repository));
    },
    request,
    async send(repository, id, hook) {
      const { method, path: target, body: payload } = request(repository, id, hook);
      const saved = await call(method, `${root}${target}`, payload);
      return savedHookId(saved, SHAPE, undefined, '…/2.0');
    },
  };
}
