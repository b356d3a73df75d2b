// `webhook github <cluster>`: creates or updates the repository webhook through GitHub's REST API.

import { TokenStore } from '../../lib/secrets/token-store';

import { webhookTokenProblem } from '../../lib/fleet/webhook-token';
import { CommandContext, CommandError } from '../common';
import { ContextOptions, receiverTargets, requireToken, requireUrl } from './context';
import { apiOrigin, explainGithubError, githubClient } from './github-client';
import { fullName, GithubRepository, githubRepositoryOf } from '../../lib/hosts/repository';
import { ClusterConfig, ReceiverType, receiverTypeOf } from '../../lib/fleet/model';

export const MASK = '********';

export interface HookRequest {
  readonly method: 'POST' | 'PATCH';
  readonly path: string;
  readonly body: { name?: 'web'; active: true; events: string[]; config: { url: string; content_type: 'json'; insecure_ssl: '0'; secret: string } };
}

export interface HookChange {
  readonly repository: string;
  readonly receiver: string;
  readonly action: 'create' | 'update';
  /** Why an existing hook was chosen for update. */
  readonly reason?: string;
  /** As sent, with the secret masked. */
  readonly request: HookRequest;
  /** The hook's id, after a real run. */
  readonly hookId?: number;
}

export interface GithubOptions extends ContextOptions {
  readonly receiver?: string;
  readonly dryRun?: boolean;
  /** REST API root, for GitHub Enterprise (https://ghe.example.com/api/v3). @default https://api.github.com */
  readonly apiUrl?: string;
  /** @default process.env.GITHUB_TOKEN */
  readonly githubToken?: string;
  /** Allow a plain-http API URL off loopback. @default false */
  readonly allowHttp?: boolean;
}

function masked(request: HookRequest): HookRequest {
  return { ...request, body: { ...request.body, config: { ...request.body.config, secret: MASK } } };
}

/**
 * The hook that points at this Receiver: one whose URL is its current one, or the one before the
 * last rotation (from `webhook-token.previous`). Never a hook that merely shares a host and port:
 * that may be another cluster's, or a rotation this clone does not know about.
 */
function matchHook(hooks: { id: number; config: { url?: string } }[], url: string, previousUrl: string | undefined): { id: number; reason: string } | undefined {
  const normalized = (text: string | undefined) => {
    try {
      return new URL(text ?? '').href;
    } catch {
      return undefined;
    }
  };
  const same = hooks.find((hook) => normalized(hook.config.url) === normalized(url));
  if (same) return { id: same.id, reason: 'same URL' };
  const previous = previousUrl === undefined ? undefined : hooks.find((hook) => normalized(hook.config.url) === normalized(previousUrl));
  return previous && { id: previous.id, reason: 'the URL before the last token rotation' };
}

/** The token the last rotation replaced, if this clone made it and it is well formed. */
function readPreviousToken(cluster: ClusterConfig, context: CommandContext): string | undefined {
  const store = new TokenStore(context.paths.secretsDir);
  const previous = store.readPrivate(store.previousTokenFile(cluster.name));
  return previous !== undefined && webhookTokenProblem(previous) === undefined ? previous : undefined;
}

/** The GitHub repositories whose pushes a Receiver must hear: those of its sources. */
function repositoriesOf(cluster: ClusterConfig, sources: string[], apiUrl: string | undefined): GithubRepository[] {
  const repositories = new Map<string, GithubRepository>();
  for (const name of sources) {
    const source = cluster.sources.find((candidate) => candidate.name === name)!;
    const repository = githubRepositoryOf(source.url);
    if (repository.host !== 'github.com' && apiUrl === undefined) {
      throw new CommandError(`source ${name} is on ${repository.host}, not github.com: give its API with --api-url (e.g. https://${repository.host}/api/v3)`);
    }
    repositories.set(fullName(repository), repository);
  }
  return [...repositories.values()];
}

/**
 * Creates the webhook of each repository a github Receiver listens to, or updates the one that
 * already points at it: URL, the token as secret, JSON, push events, active. With dryRun nothing
 * is written (existing hooks are still looked up when a GitHub token is at hand).
 */
export async function syncGithubHooks(clusterName: string, options: GithubOptions = {}): Promise<HookChange[]> {
  const context = CommandContext.of(options);
  const fleetFile = context.paths.fleetFile;
  const cluster = context.cluster(clusterName);
  const { token } = await requireToken(cluster, { context });
  const githubToken = options.githubToken ?? context.env.GITHUB_TOKEN;
  if (!githubToken && !options.dryRun) {
    throw new CommandError('GITHUB_TOKEN is not set: create a token with admin rights on the repositories (admin:repo_hook) and export it');
  }
  const octokit = githubToken ? githubClient({ apiUrl: options.apiUrl, token: githubToken, allowHttp: options.allowHttp }) : undefined;
  if (!octokit) apiOrigin(options.apiUrl, options.allowHttp);
  const changes: HookChange[] = [];
  const previousToken = readPreviousToken(cluster, context);
  for (const target of receiverTargets(cluster, token, options.receiver)) {
    if (receiverTypeOf(target.receiver) !== ReceiverType.GITHUB) continue;
    const url = requireUrl(cluster, target, fleetFile);
    const previousUrl = previousToken === undefined ? undefined : receiverTargets(cluster, previousToken, target.receiver.name)[0].url;
    for (const repository of repositoriesOf(cluster, target.receiver.sources, options.apiUrl)) {
      const name = fullName(repository);
      const config = { url, content_type: 'json' as const, insecure_ssl: '0' as const, secret: token };
      let existing: { id: number; reason: string } | undefined;
      try {
        if (octokit) {
          const hooks = await octokit.paginate(octokit.rest.repos.listWebhooks, { owner: repository.owner, repo: repository.name, per_page: 100 });
          if (!Array.isArray(hooks) || hooks.some((hook: any) => typeof hook?.id !== 'number' || typeof hook?.config !== 'object' || hook.config === null)) {
            throw new CommandError(`GitHub's list of hooks of ${name} is not what its REST API returns: check that --api-url is GitHub's REST API`);
          }
          existing = matchHook(hooks as any, url, previousUrl);
        }
      } catch (error) {
        throw explainGithubError(error, name);
      }
      const request: HookRequest = existing
        ? { method: 'PATCH', path: `/repos/${name}/hooks/${existing.id}`, body: { active: true, events: ['push'], config } }
        : { method: 'POST', path: `/repos/${name}/hooks`, body: { name: 'web', active: true, events: ['push'], config } };
      const change = { repository: name, receiver: target.receiver.name, action: existing ? 'update' as const : 'create' as const, reason: existing?.reason, request: masked(request) };
      if (options.dryRun || !octokit) {
        changes.push(change);
        continue;
      }
      try {
        const response = existing
          ? await octokit.rest.repos.updateWebhook({ owner: repository.owner, repo: repository.name, hook_id: existing.id, ...request.body })
          : await octokit.rest.repos.createWebhook({ owner: repository.owner, repo: repository.name, ...request.body });
        if (typeof response.data?.id !== 'number') {
          throw new CommandError(`GitHub's answer to ${request.method} ${request.path} has no hook id (HTTP ${response.status}): check that --api-url is GitHub's REST API`);
        }
        changes.push({ ...change, hookId: response.data.id });
      } catch (error) {
        throw explainGithubError(error, name);
      }
    }
  }
  return changes;
}
