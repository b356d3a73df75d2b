// GitLab (gitlab.com and self-managed): the Push Hook and Tag Push Hook bodies, the X-Gitlab-Token
// header the gitlab Receiver compares, and what a filter reads in them. GitLab sends no ping.
import { randomBytes, randomUUID } from 'node:crypto';
import { HOST_RECEIVER_TYPES } from '../fleet/git-hosts';
import { celString, exactIgnoringCase, present, refTest, ZERO_SHA } from './cel';
import { DeliveryEvent, GitHost, RefMatch, SignedDelivery } from './git-host';
import { fullName, RepositoryRef, repositoryOf } from './repository';

function gitlabPayload(repository: RepositoryRef, ref: string): Record<string, unknown> {
  const path = fullName(repository);
  const webUrl = `https://${repository.host}/${path}`;
  const tag = ref.startsWith('refs/tags/');
  const after = randomBytes(20).toString('hex');
  const project = {
    id: 0, name: repository.name, web_url: webUrl, namespace: repository.owner, path_with_namespace: path, default_branch: 'main',
    git_http_url: `${webUrl}.git`, git_ssh_url: `git@${repository.host}:${path}.git`, http_url: `${webUrl}.git`, ssh_url: `git@${repository.host}:${path}.git`,
  };
  return {
    object_kind: tag ? 'tag_push' : 'push', event_name: tag ? 'tag_push' : 'push',
    before: ZERO_SHA, after, ref, checkout_sha: after, user_id: 0, user_name: 'flux-infra', user_username: 'flux-infra', project_id: 0,
    project,
    commits: [{ id: after, message: 'flux-infra test delivery', timestamp: new Date().toISOString(), url: `${webUrl}/-/commit/${after}`, author: { name: 'flux-infra', email: 'flux-infra@localhost' }, added: [], modified: [], removed: [] }],
    total_commits_count: 1,
    repository: { name: repository.name, url: project.git_ssh_url, homepage: webUrl, git_http_url: project.git_http_url, git_ssh_url: project.git_ssh_url },
  };
}

export const GITLAB: GitHost = {
  kind: 'gitlab',
  name: 'GitLab',
  receiverType: HOST_RECEIVER_TYPES.gitlab,
  defaultEvents: ['Push Hook', 'Tag Push Hook'],
  pushEvent: 'push hook',
  testEvents: ['push'],
  secretLabel: 'Secret token',
  hookEvents: 'Push events and Tag push events',
  checked: 'the X-Gitlab-Token header',
  repositoryOf: (url) => repositoryOf(url, true),
  defaultApiUrl: (host) => `https://${host}/api/v4`,
  async delivery(event: DeliveryEvent, repository, ref, _hookUrl, token): Promise<SignedDelivery> {
    if (event !== 'push') throw new Error(`GitLab sends no ${event} event: its "Test" button sends a push`);
    const body = JSON.stringify(gitlabPayload(repository, ref));
    return {
      body,
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'GitLab/flux-infra',
        'X-Gitlab-Event': ref.startsWith('refs/tags/') ? 'Tag Push Hook' : 'Push Hook',
        'X-Gitlab-Event-UUID': randomUUID(),
        'X-Gitlab-Instance': `https://${repository.host}`,
        // GitLab sends the secret token itself; the gitlab Receiver compares it.
        'X-Gitlab-Token': token,
      },
    };
  },
  pushFilter(repository: RepositoryRef, ref: RefMatch): string {
    if (ref.kind === 'none') return 'false';
    return [
      present('ref'), refTest('req.ref', ref),
      present('project.path_with_namespace'), `req.project.path_with_namespace.matches(${celString(exactIgnoringCase(fullName(repository)))})`,
      // A deleted branch or tag comes as a push whose after is all zeros.
      `!(has(req.after) && req.after == '${ZERO_SHA}')`,
    ].join(' && ');
  },
};
