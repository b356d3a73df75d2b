// GitHub (and GitHub Enterprise, Gitea and Forgejo, which Flux checks as github): the body of a
// ping or push event, and its signatures as GitHub makes them.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { GitSourceConfig, ReceiverType } from '../fleet/model';
import { DeliveryEvent, GitHost, SignedDelivery } from './git-host';
import { fullName, githubRepositoryOf } from './repository';

/** A JSON body shaped like GitHub's for `event`, for the source's repository and ref. */
function githubPayload(event: DeliveryEvent, source: GitSourceConfig, hookUrl: string): Record<string, unknown> {
  const repository = githubRepositoryOf(source.url);
  const htmlUrl = `https://${repository.host}/${fullName(repository)}`;
  const repositoryJson = {
    id: 0,
    name: repository.name,
    full_name: fullName(repository),
    private: false,
    owner: { login: repository.owner, type: 'Organization' },
    html_url: htmlUrl,
    clone_url: `${htmlUrl}.git`,
    ssh_url: `git@${repository.host}:${fullName(repository)}.git`,
    default_branch: source.branch ?? 'main',
  };
  const sender = { login: 'flux-infra', type: 'User' };
  if (event === 'ping') {
    return {
      zen: 'Keep it logically awesome.',
      hook_id: 0,
      hook: { type: 'Repository', id: 0, name: 'web', active: true, events: ['push'], config: { content_type: 'json', insecure_ssl: '0', url: hookUrl } },
      repository: repositoryJson,
      sender,
    };
  }
  const ref = source.tag !== undefined ? `refs/tags/${source.tag}` : `refs/heads/${source.branch ?? 'main'}`;
  const after = randomBytes(20).toString('hex');
  const commit = {
    id: after, tree_id: randomBytes(20).toString('hex'), distinct: true, message: 'flux-infra test delivery',
    timestamp: new Date().toISOString(), url: `${htmlUrl}/commit/${after}`,
    author: { name: 'flux-infra', email: 'flux-infra@localhost' }, committer: { name: 'flux-infra', email: 'flux-infra@localhost' },
    added: [], removed: [], modified: [],
  };
  return {
    ref, before: '0'.repeat(40), after, created: false, deleted: false, forced: false, base_ref: null,
    compare: `${htmlUrl}/compare/${after}`, commits: [commit], head_commit: commit,
    repository: repositoryJson, pusher: { name: 'flux-infra', email: 'flux-infra@localhost' }, sender,
  };
}

export const GITHUB: GitHost = {
  name: 'GitHub',
  receiverType: ReceiverType.GITHUB,
  defaultEvents: ['ping', 'push'],
  pushEvent: 'push',
  async delivery(event: DeliveryEvent, source: GitSourceConfig, hookUrl: string, token: string): Promise<SignedDelivery> {
    // Loaded here, not at start-up: synth asks the host for its events and never signs.
    const { sign } = await import('@octokit/webhooks-methods');
    const body = JSON.stringify(githubPayload(event, source, hookUrl));
    return {
      body,
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'GitHub-Hookshot/flux-infra',
        'X-GitHub-Event': event,
        'X-GitHub-Delivery': randomUUID(),
        'X-Hub-Signature-256': await sign(token, body),
        // The legacy header, which GitHub still sends and go-github falls back to.
        'X-Hub-Signature': `sha1=${createHmac('sha1', token).update(body).digest('hex')}`,
      },
    };
  },
};
