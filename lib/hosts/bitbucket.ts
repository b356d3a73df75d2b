// Bitbucket Cloud: the repo:push body (a list of ref changes), signed in X-Hub-Signature with
// sha256= as the bitbucket Receiver checks it, and what a filter reads in it.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { HOST_RECEIVER_TYPES } from '../fleet/git-hosts';
import { celString, exactIgnoringCase, present } from './cel';
import { DeliveryEvent, GitHost, RefMatch, SignedDelivery } from './git-host';
import { fullName, RepositoryRef, repositoryOf } from './repository';

function bitbucketPayload(repository: RepositoryRef, ref: string): Record<string, unknown> {
  const tag = ref.startsWith('refs/tags/');
  const name = ref.replace(/^refs\/(heads|tags)\//, '');
  const hash = randomBytes(20).toString('hex');
  const htmlUrl = `https://${repository.host}/${fullName(repository)}`;
  const actor = { type: 'user', display_name: 'flux-infra', nickname: 'flux-infra', uuid: `{${randomUUID()}}` };
  return {
    push: {
      changes: [{
        new: { type: tag ? 'tag' : 'branch', name, target: { type: 'commit', hash, message: 'flux-infra test delivery', date: new Date().toISOString() } },
        old: null, created: true, closed: false, forced: false, truncated: false,
        commits: [{ type: 'commit', hash, message: 'flux-infra test delivery' }],
      }],
    },
    repository: {
      type: 'repository', name: repository.name, full_name: fullName(repository), uuid: `{${randomUUID()}}`, is_private: false,
      links: { html: { href: htmlUrl } }, workspace: { type: 'workspace', slug: repository.owner },
    },
    actor,
  };
}

export const BITBUCKET: GitHost = {
  kind: 'bitbucket',
  name: 'Bitbucket',
  receiverType: HOST_RECEIVER_TYPES.bitbucket,
  // repo:push is Bitbucket Cloud's; repo:refs_changed is Server's and Data Center's, which the same Receiver type checks.
  defaultEvents: ['repo:push', 'repo:refs_changed'],
  pushEvent: 'repo:push',
  testEvents: ['push'],
  secretLabel: 'Secret',
  hookEvents: 'Repository push',
  checked: 'the signature (X-Hub-Signature)',
  repositoryOf: (url) => repositoryOf(url),
  defaultApiUrl: () => 'https://api.bitbucket.org/2.0',
  // Bitbucket Server and Data Center sign alike but shape pushes and hooks otherwise: Cloud's only.
  knows: (repository) => repository.host === 'bitbucket.org',
  async delivery(event: DeliveryEvent, repository, ref, _hookUrl, token): Promise<SignedDelivery> {
    if (event !== 'push') throw new Error(`Bitbucket sends no ${event} event: send a push`);
    const body = JSON.stringify(bitbucketPayload(repository, ref));
    return {
      body,
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'Bitbucket-Webhooks/2.0',
        'X-Event-Key': 'repo:push',
        'X-Hook-UUID': randomUUID(),
        'X-Request-UUID': randomUUID(),
        'X-Attempt-Number': '1',
        'X-Hub-Signature': `sha256=${createHmac('sha256', token).update(body).digest('hex')}`,
      },
    };
  },
  pushFilter(repository: RepositoryRef, ref: RefMatch): string {
    if (ref.kind === 'none') return 'false';
    // A push lists its ref changes; `new` is null for a deleted branch or tag.
    const kind = ref.kind === 'branch' ? 'branch' : 'tag';
    const name = ref.kind === 'anyTag' ? [] : [present('new.name', 'string', 'c'), `c.new.name == ${celString(ref.name)}`];
    const change = ['type(c) == map', present('new.type', 'string', 'c'), `c.new.type == '${kind}'`, ...name].join(' && ');
    return [
      present('push.changes', 'list'), present('repository.full_name'),
      `req.repository.full_name.matches(${celString(exactIgnoringCase(fullName(repository)))})`,
      `req.push.changes.exists(c, ${change})`,
    ].join(' && ');
  },
};
