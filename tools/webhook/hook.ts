// `webhook hook <cluster>` (and its alias `github`): creates or updates the repository webhook of each
// source's Git host through that host's API client (tools/webhook/hooks/).
import { TokenStore } from '../../lib/secrets/token-store';
import { webhookTokenProblem } from '../../lib/fleet/webhook-token';
import { ClusterConfig, GitHostKind, receiverTypeOf } from '../../lib/fleet/model';
import { fullName, GitHost, RepositoryRef, sourceHost } from '../../lib/hosts';
import { CommandContext, CommandError, UsageError } from '../common';
import { ContextOptions, oidcNothingToDo, receiverTargets, requireTokenFor, requireUrl } from './context';
import { isOidcReceiver } from '../../lib/hosts/oidc';
import { apiOrigin, explainApiError } from './hooks/api-client';
import { HOOK_RIGHTS, hookClient, HookClient, HookRequest } from './hooks';
import { requestBounds } from './bounded-fetch';
import { requireHostToken, sourceApiUrl } from './host-tokens';
import { holdSecret, MASK } from '../redact';

export { MASK };

export interface HookChange {
  /** The host's name, e.g. GitLab. */
  readonly host: string;
  /** The REST API root the request goes to. */
  readonly api?: string;
  readonly repository: string;
  readonly receiver: string;
  /**
   * skip: a repository whose hook this project cannot make (the reason says why and what to do);
   * oidc: a generic-oidc Receiver, which has no hook (its CI job calls it: the reason says so).
   */
  readonly action: 'create' | 'update' | 'skip' | 'oidc';
  /** Why an existing hook was chosen for update, or why none is made. */
  readonly reason?: string;
  /** As sent, with the secret masked (none for a skip). */
  readonly request?: HookRequest;
  /** The hook's id, after a real run. */
  readonly hookId?: string;
}

export interface HookOptions extends ContextOptions {
  readonly receiver?: string;
  readonly dryRun?: boolean;
  /** Only the repositories on these hosts (the `github` command: GitHub's). @default every host */
  readonly hosts?: readonly GitHostKind[];
  /**
   * REST API root for every repository concerned (one host), instead of each source's apiUrl or the
   * host's public API. The token is always the API host's own variable (host-tokens.ts).
   */
  readonly apiUrl?: string;
  /** Allow a plain-http API URL off loopback. @default false */
  readonly allowHttp?: boolean;
  /** The deadline of the whole run, every API call included (--timeout). @default 60 s */
  readonly timeoutMs?: number;
}

/** Every string equal to the secret, replaced by MASK. */
function masked<T>(value: T, secret: string): T {
  if (value === secret) return MASK as T;
  if (Array.isArray(value)) return value.map((item) => masked(item, secret)) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, masked(item, secret)])) as T;
  return value;
}

/**
 * The hook that points at this Receiver: one whose URL is its current one, or the one before the
 * last rotation (from `webhook-token.previous`). Never a hook that merely shares a host and port:
 * that may be another cluster's, or a rotation this clone does not know about.
 */
export function matchHook(hooks: { id: string; url: string | undefined }[], url: string, previousUrl: string | undefined): { id: string; reason: string } | undefined {
  const normalized = (text: string | undefined) => {
    try {
      return new URL(text ?? '').href;
    } catch {
      return undefined;
    }
  };
  const same = hooks.find((hook) => normalized(hook.url) === normalized(url));
  if (same) return { id: same.id, reason: 'same URL' };
  const previous = previousUrl === undefined ? undefined : hooks.find((hook) => normalized(hook.url) === normalized(previousUrl));
  return previous && { id: previous.id, reason: 'the URL before the last token rotation' };
}

/** The token the last rotation replaced, if this clone made it and it is well formed. */
function readPreviousToken(cluster: ClusterConfig, context: CommandContext): string | undefined {
  const store = new TokenStore(context.paths.secretsDir);
  const previous = store.readPrivate(store.previousTokenFile(cluster.name));
  holdSecret(previous);
  return previous !== undefined && webhookTokenProblem(previous) === undefined ? previous : undefined;
}

export interface HookTarget {
  readonly host: GitHost;
  /** Why no hook can be made here, if so. */
  readonly unsupported?: string;
  readonly repository: RepositoryRef;
  readonly apiUrl: string;
  readonly receiver: string;
  readonly url: string;
  readonly previousUrl: string | undefined;
}

/** The repositories whose pushes each Receiver must hear, on the host whose signature its type checks. */
export function hookTargets(cluster: ClusterConfig, token: string | undefined, options: HookOptions, fleetFile: string, context: CommandContext): HookTarget[] {
  const previousToken = readPreviousToken(cluster, context);
  const targets = new Map<string, HookTarget>();
  for (const target of receiverTargets(cluster, token, options.receiver)) {
    const type = receiverTypeOf(target.receiver);
    const previousUrl = previousToken === undefined ? undefined : receiverTargets(cluster, previousToken, target.receiver.name)[0].url;
    for (const source of target.sources) {
      const host = sourceHost(source, type);
      // A generic or generic-hmac Receiver checks a signature no Git host's webhook makes.
      if (host === undefined || host.receiverType !== type) continue;
      if (options.hosts !== undefined && !options.hosts.includes(host.kind)) continue;
      let repository: RepositoryRef;
      try {
        repository = host.repositoryOf(source.url);
      } catch (error) {
        throw new CommandError(`source ${source.name}: ${(error as Error).message}`);
      }
      const apiUrl = sourceApiUrl(source, host, repository, options.apiUrl);
      const url = requireUrl(cluster, target, fleetFile);
      const unsupported = host.knows?.(repository) === false
        ? `${host.name} Server and Data Center hooks are not made here (Cloud's API only): add it by hand with the Payload URL from npm run webhook -- url ${cluster.name}`
        : undefined;
      // Keyed by installation too: github.com/acme/app and a GitHub Enterprise acme/app are two repositories.
      targets.set(`${host.kind} ${apiUrl} ${repository.host} ${fullName(repository)} ${target.receiver.name}`, { host, unsupported, repository, apiUrl, receiver: target.receiver.name, url, previousUrl });
    }
  }
  const kinds = new Set([...targets.values()].map((target) => target.host.kind));
  if (options.apiUrl !== undefined && kinds.size > 1) {
    throw new UsageError(`--api-url names one API, but the hooks are on ${[...kinds].join(' and ')}: give each source its apiUrl in the fleet file, or choose one host with --host`);
  }
  return [...targets.values()];
}

/**
 * Creates the webhook of each repository a Receiver listens to, or updates the one that already
 * points at it: URL, the token as secret, push events, active. With dryRun no API is called and no
 * token read: each hook is planned as a create (a real run updates one that already points here).
 */
export async function syncHooks(clusterName: string, options: HookOptions = {}): Promise<HookChange[]> {
  const bounds = requestBounds(options.timeoutMs);
  const context = CommandContext.of(options);
  const cluster = context.cluster(clusterName);
  const token = (await requireTokenFor(cluster, options.receiver, { context }))?.token;
  const changes: HookChange[] = receiverTargets(cluster, token, options.receiver).filter(({ receiver }) => isOidcReceiver(receiver)).map(({ receiver, sources }) => ({
    host: 'CI job', repository: sources.map((source) => source.url).join(', '), receiver: receiver.name, action: 'oidc', reason: oidcNothingToDo(cluster, receiver.name),
  }));
  const targets = hookTargets(cluster, token, options, context.paths.fleetFile, context);
  const clients = new Map<string, HookClient | undefined>();
  const clientFor = (target: HookTarget): HookClient | undefined => {
    const key = `${target.host.kind} ${target.apiUrl}`;
    if (!clients.has(key)) {
      const apiUrl = apiOrigin(target.apiUrl, options.allowHttp);
      // A dry run sends nothing, so it needs no token; a real run takes the API host's own.
      const apiToken = options.dryRun ? undefined : requireHostToken(apiUrl, context.env, target.host.name, HOOK_RIGHTS[target.host.kind]);
      clients.set(key, apiToken === undefined ? undefined : hookClient(target.host.kind, { apiUrl, token: apiToken, bounds }));
    }
    return clients.get(key);
  };
  // Every token and API URL is checked before the first hook is written: a run stops whole or not at all.
  for (const target of targets) if (!target.unsupported) clientFor(target);
  for (const target of targets) {
    const name = fullName(target.repository);
    if (target.unsupported) {
      changes.push({ host: target.host.name, repository: name, receiver: target.receiver, action: 'skip', reason: target.unsupported });
      continue;
    }
    const words = { name: target.host.name, apiUrl: new URL(target.apiUrl), rights: HOOK_RIGHTS[target.host.kind] };
    const client = clientFor(target);
    // A target is a token-based Receiver's: the token was read for it.
    const spec = { url: target.url, secret: token! };
    let existing: { id: string; reason: string } | undefined;
    try {
      if (client) existing = matchHook(await client.list(target.repository), target.url, target.previousUrl);
    } catch (error) {
      throw explainApiError(words, error, name);
    }
    const request = masked(client ? client.request(target.repository, existing?.id, spec) : hookClient(target.host.kind, { apiUrl: new URL(target.apiUrl), token: '', bounds }).request(target.repository, undefined, spec), token!);
    const change: HookChange = { host: target.host.name, api: target.apiUrl, repository: name, receiver: target.receiver, action: existing ? 'update' : 'create', reason: existing?.reason, request };
    if (options.dryRun || !client) {
      changes.push(change);
      continue;
    }
    try {
      changes.push({ ...change, hookId: await client.send(target.repository, existing?.id, spec) });
    } catch (error) {
      throw explainApiError(words, error, name);
    }
  }
  return changes;
}

/** `webhook github`: the hooks of the repositories on GitHub (and GitHub Enterprise) only, as before other hosts. */
export function syncGithubHooks(clusterName: string, options: HookOptions = {}): Promise<HookChange[]> {
  return syncHooks(clusterName, { ...options, hosts: ['github'] });
}
