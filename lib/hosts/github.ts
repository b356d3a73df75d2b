// GitHub and GitHub Enterprise: the body of a ping or push event, its signatures as GitHub makes
// them, and what a Receiver's filter reads in it.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { HOST_RECEIVER_TYPES } from '../fleet/git-hosts';
import { celString, exactIgnoringCase, present, refTest, ZERO_SHA } from './cel';
import { DeliveryEvent, GitHost, RefMatch, SignedDelivery } from './git-host';
import { fullName, RepositoryRef, repositoryOf } from './repository';

/** A commit as push payloads of GitHub, Gitea and Forgejo list it. */
export function payloadCommit(htmlUrl: string, after: string): Record<string, unknown> {
  return {
    id: after, tree_id: randomBytes(20).toString('hex'), distinct: true, message: 'flux-infra test delivery',
    timestamp: new Date().toISOString(), url: `${htmlUrl}/commit/${after}`,
    author: { name: 'flux-infra', email: 'flux-infra@localhost', username: 'flux-infra' },
    committer: { name: 'flux-infra', email: 'flux-infra@localhost', username: 'flux-infra' },
    added: [], removed: [], modified: [],
  };
}

/** The `repository` object of GitHub's (and Gitea's) payloads. */
export function payloadRepository(repository: RepositoryRef): Record<string, unknown> {
  const htmlUrl = `https://${repository.host}/${fullName(repository)}`;
  return {
    id: 0, name: repository.name, full_name: fullName(repository), private: false,
    owner: { login: repository.owner, type: 'Organization' },
    html_url: htmlUrl, clone_url: `${htmlUrl}.git`, ssh_url: `git@${repository.host}:${fullName(repository)}.git`, default_branch: 'main',
  };
}

/** A JSON body shaped like GitHub's for `event`, for the repository and ref. */
function githubPayload(event: DeliveryEvent, repository: RepositoryRef, ref: string, hookUrl: string): Record<string, unknown> {
  const repositoryJson = payloadRepository(repository);
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
  const after = randomBytes(20).toString('hex');
  const commit = payloadCommit(String(repositoryJson.html_url), after);
  return {
    ref, before: '0'.repeat(40), after, created: false, deleted: false, forced: false, base_ref: null,
    compare: `${repositoryJson.html_url}/compare/${after}`, commits: [commit], head_commit: commit,
    repository: repositoryJson, pusher: { name: 'flux-infra', email: 'flux-infra@localhost' }, sender,
  };
}

/**
 * GitHub's push event (and Gitea's and Forgejo's) names the ref pushed; a deleted branch or tag is
 * no revision to fetch (GitHub says deleted, Gitea and Forgejo only send an all-zero after).
 */
export function githubPushFilter(repository: RepositoryRef, ref: RefMatch): string {
  if (ref.kind === 'none') return 'false';
  return [
    present('ref'), refTest('req.ref', ref),
    present('repository.full_name'), `req.repository.full_name.matches(${celString(exactIgnoringCase(fullName(repository)))})`,
    `!(has(req.deleted) && req.deleted == true)`,
    `!(has(req.after) && req.after == '${ZERO_SHA}')`,
  ].join(' && ');
}

/** The signature headers GitHub sends, which go-github checks (the sha256 one first). */
export async function githubSignatures(body: string, token: string): Promise<Record<string, string>> {
  // Loaded here, not at start-up: synth asks the host for its events and never signs.
  const { sign } = await import('@octokit/webhooks-methods');
  return {
    'X-Hub-Signature-256': await sign(token, body),
    // The legacy header, which GitHub still sends and go-github falls back to.
    'X-Hub-Signature': `sha1=${createHmac('sha1', token).update(body).digest('hex')}`,
  };
}

export const GITHUB: GitHost = {
  kind: 'github',
  name: 'GitHub',
  receiverType: HOST_RECEIVER_TYPES.github,
  defaultEvents: ['ping', 'push'],
  pushEvent: 'push',
  testEvents: ['ping', 'push'],
  secretLabel: 'Secret',
  hookEvents: 'Just the push event',
  checked: 'the signature (X-Hub-Signature-256)',
  repositoryOf: (url) => repositoryOf(url),
  defaultApiUrl: (host) => (host === 'github.com' ? 'https://api.github.com' : `https://${host}/api/v3`),
  async delivery(event, repository, ref, hookUrl, token): Promise<SignedDelivery> {
    const body = JSON.stringify(githubPayload(event, repository, ref, hookUrl));
    return {
      body,
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'GitHub-Hookshot/flux-infra',
        'X-GitHub-Event': event,
        'X-GitHub-Delivery': randomUUID(),
        ...await githubSignatures(body, token),
      },
    };
  },
  pushFilter: githubPushFilter,
};
