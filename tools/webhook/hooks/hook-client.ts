import { GitHostKind } from '../../../lib/fleet/model';
import { RepositoryRef } from '../../../lib/hosts';
import { CommandError } from '../../common';
import { RequestBounds } from '../bounded-fetch';

/** What a repository webhook must say for a Receiver: where to deliver, and the token it is checked with. */
export interface HookSpec {
  readonly url: string;
  readonly secret: string;
}

/** A request as the client sends it (dry-run prints it, secret masked). */
export interface HookRequest {
  readonly method: 'POST' | 'PATCH' | 'PUT';
  readonly path: string;
  readonly body: Record<string, unknown>;
}

/** A hook the repository has: its id and the URL it delivers to. */
export interface ExistingHook {
  readonly id: string;
  readonly url: string | undefined;
}

/** One Git host's repository-webhook API, through its maintained client (or its REST API where none is well kept). */
export interface HookClient {
  list(repository: RepositoryRef): Promise<ExistingHook[]>;
  /** The request that creates the hook (no id) or updates the one with `id`. */
  request(repository: RepositoryRef, id: string | undefined, hook: HookSpec): HookRequest;
  /** Sends that request; returns the hook's id. */
  send(repository: RepositoryRef, id: string | undefined, hook: HookSpec): Promise<string>;
}

export interface HookClientOptions {
  /** The API root, already checked (apiOrigin). */
  readonly apiUrl: URL;
  readonly token: string;
  /** The command's deadline and limits, on every request. */
  readonly bounds: RequestBounds;
}

/** How a host's API describes a hook: its id, its URL, and whether an entry looks like a hook at all. */
export interface HookShape {
  readonly host: string;
  id(hook: any): unknown;
  url(hook: any): unknown;
  /** @default - any object with an id */
  valid?(hook: any): boolean;
}

/** A list the API answered, checked to hold hooks: a server that answers otherwise is not the host's API. */
export function checkedHooks(hooks: unknown, shape: HookShape, repository: string): ExistingHook[] {
  const wellFormed = (hook: any) => hook !== null && typeof hook === 'object' && (typeof shape.id(hook) === 'number' || typeof shape.id(hook) === 'string') && (shape.valid?.(hook) ?? true);
  if (!Array.isArray(hooks) || !hooks.every(wellFormed)) {
    throw new CommandError(`${shape.host}'s list of hooks of ${repository} is not what its REST API returns: check that --api-url is ${shape.host}'s REST API`);
  }
  return hooks.map((hook) => ({ id: String(shape.id(hook)), url: typeof shape.url(hook) === 'string' ? String(shape.url(hook)) : undefined }));
}

/** The answer to a create or update, checked to name the hook: its id. */
export function savedHookId(saved: unknown, shape: HookShape, status: number | undefined, api: string): string {
  const id = saved !== null && typeof saved === 'object' ? shape.id(saved) : undefined;
  if (typeof id !== 'number' && typeof id !== 'string') {
    throw new CommandError(`${shape.host}'s answer has no hook id${status === undefined ? '' : ` (HTTP ${status})`}: check that --api-url is ${shape.host}'s REST API (${api})`);
  }
  return String(id);
}

/** What a token for each host must be allowed to do, for a 403 or 404. */
export const HOOK_RIGHTS: Record<GitHostKind, string> = {
  github: 'admin on the repository: classic admin:repo_hook scope; fine-grained: Webhooks read and write',
  gitlab: 'Maintainer on the project, scope api',
  gitea: 'admin on the repository, scope write:repository',
  forgejo: 'admin on the repository, scope write:repository',
  bitbucket: 'admin on the repository, scope webhook',
};
