// Gitea and Forgejo: GitHub's payload shape and signature (Flux checks them with the github type),
// with their own headers beside GitHub's. They send no ping: a test delivery is a push.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { HOST_RECEIVER_TYPES } from '../fleet/git-hosts';
import { DeliveryEvent, GitHost, SignedDelivery } from './git-host';
import { githubPushFilter, githubSignatures, payloadCommit, payloadRepository } from './github';
import { RepositoryRef, repositoryOf } from './repository';

function giteaPayload(repository: RepositoryRef, ref: string): Record<string, unknown> {
  const repositoryJson = payloadRepository(repository);
  const after = randomBytes(20).toString('hex');
  const commit = payloadCommit(String(repositoryJson.html_url), after);
  const user = { id: 0, login: 'flux-infra', username: 'flux-infra', email: 'flux-infra@localhost' };
  return {
    ref, before: '0'.repeat(40), after, compare_url: `${repositoryJson.html_url}/compare/${after}`,
    commits: [commit], total_commits: 1, head_commit: commit, repository: repositoryJson, pusher: user, sender: user,
  };
}

function giteaLike(kind: 'gitea' | 'forgejo', name: string, headerPrefix: string): GitHost {
  return {
    kind,
    name,
    receiverType: HOST_RECEIVER_TYPES[kind],
    defaultEvents: ['ping', 'push'],
    pushEvent: 'push',
    testEvents: ['push'],
    secretLabel: 'Secret',
    hookEvents: 'Push events',
    checked: 'the signature (X-Hub-Signature-256)',
    repositoryOf: (url) => repositoryOf(url),
    defaultApiUrl: (host) => `https://${host}/api/v1`,
    async delivery(event: DeliveryEvent, repository, ref, _hookUrl, token): Promise<SignedDelivery> {
      if (event !== 'push') throw new Error(`${name} sends no ${event} event: send a push`);
      const body = JSON.stringify(giteaPayload(repository, ref));
      const id = randomUUID();
      const ownHeaders = (prefix: string) => ({
        [`X-${prefix}-Event`]: 'push', [`X-${prefix}-Event-Type`]: 'push', [`X-${prefix}-Delivery`]: id,
        [`X-${prefix}-Signature`]: createHmac('sha256', token).update(body).digest('hex'),
      });
      return {
        body,
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': `${name}-Hookshot/flux-infra`,
          ...ownHeaders('Gitea'),
          ...(headerPrefix === 'Gitea' ? {} : ownHeaders(headerPrefix)),
          'X-GitHub-Event': 'push',
          'X-GitHub-Delivery': id,
          ...await githubSignatures(body, token),
        },
      };
    },
    pushFilter: githubPushFilter,
  };
}

export const GITEA = giteaLike('gitea', 'Gitea', 'Gitea');
export const FORGEJO = giteaLike('forgejo', 'Forgejo', 'Forgejo');
