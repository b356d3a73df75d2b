// The Receivers' CEL filters, evaluated by a real CEL implementation (@bufbuild/cel) against real
// GitHub payloads (@octokit/webhooks-examples) and, for the other hosts, bodies made from their
// documented shapes: each delivery reconciles exactly the sources whose repository and ref it names.
import examples from '@octokit/webhooks-examples';
import { GitHostKind, GitSourceConfig, ReceiverType } from '../lib/fleet/model';
import { gitHost, testRefOf } from '../lib/hosts';
import { evaluateFilter, receiverFilters } from '../lib/hosts/filters';

const github = (name: string) => (examples as { name: string; examples: any[] }[]).find((entry) => entry.name === name)!.examples;
const [tagCreated, ...pushes] = github('push');
const branchPush = pushes.find((example) => example.ref === 'refs/heads/master')!;
const tagDeleted = pushes.find((example) => example.ref.startsWith('refs/tags/') && example.deleted)!;
const pings = github('ping');

/** Which of `sources` a Receiver of `type` reconciles for `body`, as notification-controller decides. */
async function reconciled(type: `${ReceiverType}`, sources: GitSourceConfig[], body: unknown): Promise<string[]> {
  const filters = receiverFilters({}, type, sources);
  const chosen: string[] = [];
  for (const source of sources) {
    const decision = await evaluateFilter(filters.get(source.name)!, JSON.stringify(body));
    if (decision instanceof Error) throw decision;
    if (decision) chosen.push(source.name);
  }
  return chosen;
}

describe('GitHub, with its own example payloads', () => {
  const sources: GitSourceConfig[] = [
    { name: 'tracked', url: 'https://github.com/codertocat/hello-world', branch: 'master' },
    { name: 'other-branch', url: 'https://github.com/Codertocat/Hello-World', branch: 'main' },
    { name: 'releases', url: 'https://github.com/Codertocat/Hello-World', semver: '>=1.0.0' },
    { name: 'pinned-tag', url: 'https://github.com/Codertocat/Hello-World.git', tag: 'simple-tag' },
    { name: 'pinned-commit', url: 'https://github.com/Codertocat/Hello-World', commit: 'a'.repeat(40) },
    { name: 'other-repository', url: 'https://github.com/Codertocat/Another', branch: 'master' },
  ];

  test('a push to the tracked branch reconciles that source only, whatever the case of the URL', async () => {
    expect(await reconciled(ReceiverType.GITHUB, sources, branchPush)).toEqual(['tracked']);
  });

  test('a tag push reconciles the semver and the pinned-tag sources; a deleted tag reconciles nothing', async () => {
    expect(tagCreated.ref).toBe('refs/tags/simple-tag');
    expect(await reconciled(ReceiverType.GITHUB, sources, tagCreated)).toEqual(['releases', 'pinned-tag']);
    expect(await reconciled(ReceiverType.GITHUB, sources, tagDeleted)).toEqual([]);
  });

  test('every ping (repository and organization hooks) reconciles nothing, and fails no filter', async () => {
    for (const ping of pings) expect(await reconciled(ReceiverType.GITHUB, sources, ping)).toEqual([]);
  });

  test('a body that is not JSON is an empty map to the controller: nothing, no 500', async () => {
    const filter = receiverFilters({}, ReceiverType.GITHUB, [sources[0]]).get('tracked')!;
    expect(await evaluateFilter(filter, 'payload=%7B%7D')).toBe(false);
  });

  test('a field of another type than the payload\'s (a number, null, a string for a mapping) is no match, and no 500', async () => {
    for (const body of [{ ref: 5 }, { ref: null }, { ref: 'refs/heads/master', repository: 'Codertocat/Hello-World' }, { ref: 'refs/heads/master', repository: { full_name: 7 } }]) {
      expect(await reconciled(ReceiverType.GITHUB, sources, body)).toEqual([]);
    }
    const bitbucket: GitSourceConfig[] = [{ name: 'b', url: 'https://bitbucket.org/ws/repo', semver: '1.x' }];
    for (const push of [{ changes: 'none' }, { changes: [null, 5, { new: 'x' }, { new: { type: 7 } }] }]) {
      expect(await reconciled(ReceiverType.BITBUCKET, bitbucket, { push, repository: { full_name: 'ws/repo' } })).toEqual([]);
    }
  });

  test('filter: false leaves the sources unfiltered, and generic types get none', () => {
    expect([...receiverFilters({ filter: false }, ReceiverType.GITHUB, sources).values()].every((filter) => filter === undefined)).toBe(true);
    expect([...receiverFilters({}, ReceiverType.GENERIC_HMAC, sources).values()].every((filter) => filter === undefined)).toBe(true);
  });
});

/** A push body of `host` for `repository` (owner/name) and `ref`, from the host's documented shape. */
function documentedPush(host: GitHostKind, repository: string, ref: string, deleted = false): unknown {
  const zero = '0'.repeat(40);
  const sha = 'b'.repeat(40);
  switch (host) {
    case 'gitlab':
      return {
        object_kind: ref.startsWith('refs/tags/') ? 'tag_push' : 'push', ref, before: sha, after: deleted ? zero : sha, checkout_sha: deleted ? null : sha,
        project: { id: 15, name: repository.split('/').at(-1), path_with_namespace: repository, git_http_url: `https://gitlab.com/${repository}.git` },
        commits: [], total_commits_count: 0,
      };
    case 'bitbucket': {
      const name = ref.replace(/^refs\/(heads|tags)\//, '');
      const change = { type: ref.startsWith('refs/tags/') ? 'tag' : 'branch', name, target: { type: 'commit', hash: sha } };
      return { push: { changes: [{ new: deleted ? null : change, old: deleted ? change : null, created: !deleted, closed: deleted }] }, repository: { full_name: repository, type: 'repository' }, actor: {} };
    }
    default:
      // Gitea and Forgejo: GitHub's shape, but no `deleted` field; a deletion shows in `after` alone.
      return { ref, before: zero, after: deleted ? zero : sha, repository: { full_name: repository }, commits: [] };
  }
}

describe.each([
  ['gitlab', 'https://gitlab.com/group/sub/project', 'group/sub/project', ReceiverType.GITLAB],
  ['bitbucket', 'https://bitbucket.org/ws/repo', 'ws/repo', ReceiverType.BITBUCKET],
  ['gitea', 'https://gitea.com/org/app', 'org/app', ReceiverType.GITHUB],
  ['forgejo', 'https://codeberg.org/org/app', 'org/app', ReceiverType.GITHUB],
] as const)('%s, from its documented payload shape', (host, url, repository, type) => {
  const sources: GitSourceConfig[] = [
    { name: 'main', url, branch: 'main' },
    { name: 'releases', url, semver: '1.x' },
    { name: 'elsewhere', url: url.replace(/[^/]+$/, 'another'), branch: 'main' },
  ];

  test('a push to the tracked branch, another branch, a tag, another repository, a deletion', async () => {
    expect(await reconciled(type, sources, documentedPush(host, repository, 'refs/heads/main'))).toEqual(['main']);
    expect(await reconciled(type, sources, documentedPush(host, repository, 'refs/heads/feature'))).toEqual([]);
    expect(await reconciled(type, sources, documentedPush(host, repository, 'refs/tags/v1.2.0'))).toEqual(['releases']);
    expect(await reconciled(type, sources, documentedPush(host, repository.replace(/[^/]+$/, 'another'), 'refs/heads/main'))).toEqual(['elsewhere']);
    expect(await reconciled(type, sources, documentedPush(host, repository, 'refs/heads/main', true))).toEqual([]);
  });

  test('the push ping sends for a source is one its filter reconciles', async () => {
    const source = sources[0];
    const delivery = await gitHost(host).delivery('push', gitHost(host).repositoryOf(source.url), testRefOf(source), 'http://127.0.0.1/hook/x', 'token');
    expect(await reconciled(type, [source], JSON.parse(delivery.body))).toEqual(['main']);
  });
});
