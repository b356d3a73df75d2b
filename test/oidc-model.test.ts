// The generic-oidc pins, evaluated with a real CEL implementation against claims shaped as GitHub
// Actions and GitLab CI document their ID tokens: the right caller passes every validation and its
// source's filter; each wrong one fails the validation whose message names what it got wrong.
import { GitSourceConfig, ReceiverConfig } from '../lib/fleet/model';
import { evaluateBoolean } from '../lib/hosts/filters';
import { defaultOidcAudience, defaultOidcIssuer, GITHUB_ACTIONS_ISSUER, OidcProviderModel, oidcReceiverModel, OidcReceiverModel } from '../lib/hosts/oidc';

/** What the controller does with a provider's validations: every message whose expression is false; an evaluation error fails the test. */
async function failures(provider: OidcProviderModel, claims: Record<string, unknown>): Promise<string[]> {
  const failed: string[] = [];
  for (const validation of provider.validations) {
    const result = await evaluateBoolean(validation.expression, { claims, vars: {} });
    if (result instanceof Error) throw result;
    if (!result) failed.push(validation.message);
  }
  return failed;
}

async function filterOf(model: OidcReceiverModel, source: string, claims: Record<string, unknown>): Promise<boolean> {
  const result = await evaluateBoolean(model.sources.find((entry) => entry.source === source)!.filter, { claims, req: {}, res: {} });
  if (result instanceof Error) throw result;
  return result;
}

const receiver = (sources: string[], extra: Partial<ReceiverConfig> = {}): ReceiverConfig => ({ name: 'app', type: 'generic-oidc', sources, ...extra });
const cluster = { name: 'staging', namespace: 'flux-system' };

/** A GitHub Actions token's claims (docs.github.com, "OIDC token claims"), for a push of main to octo-org/app. */
function githubClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    jti: 'example-id', sub: 'repo:octo-org/app:ref:refs/heads/main', aud: defaultOidcAudience('staging', 'flux-system', 'app'),
    ref: 'refs/heads/main', sha: 'a'.repeat(40), repository: 'octo-org/app', repository_owner: 'octo-org', actor_id: '12',
    repository_visibility: 'private', repository_id: '74', repository_owner_id: '65', run_id: '1', run_number: '10', run_attempt: '1',
    runner_environment: 'github-hosted', actor: 'octocat', workflow: 'flux', head_ref: '', base_ref: '', event_name: 'push', ref_type: 'branch',
    ref_protected: 'true', workflow_ref: 'octo-org/app/.github/workflows/flux.yml@refs/heads/main', workflow_sha: 'a'.repeat(40),
    job_workflow_ref: 'octo-org/app/.github/workflows/flux.yml@refs/heads/main', job_workflow_sha: 'a'.repeat(40),
    iss: GITHUB_ACTIONS_ISSUER, nbf: 1632492967, exp: 1632493867, iat: 1632493567,
    ...overrides,
  };
}

/** A GitLab CI ID token's claims (docs.gitlab.com, "ID token authentication"), for a push of main to my-group/sub/app. */
function gitlabClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    namespace_id: '72', namespace_path: 'my-group/sub', project_id: '20', project_path: 'my-group/sub/app', user_id: '1', user_login: 'sample-user',
    user_email: 'sample-user@example.com', user_access_level: 'owner', pipeline_id: '574', pipeline_source: 'push', job_id: '302',
    ref: 'main', ref_type: 'branch', ref_path: 'refs/heads/main', ref_protected: 'true', runner_id: 1, runner_environment: 'gitlab-hosted',
    sha: 'b'.repeat(40), project_visibility: 'private', ci_config_ref_uri: 'gitlab.com/my-group/sub/app//.gitlab-ci.yml@refs/heads/main',
    ci_config_sha: 'b'.repeat(40), jti: '235b3a54', iss: 'https://gitlab.com', iat: 1681395193, nbf: 1681395188, exp: 1681398793,
    sub: 'project_path:my-group/sub/app:ref_type:branch:ref:main', aud: defaultOidcAudience('staging', 'flux-system', 'app'),
    ...overrides,
  };
}

const GITHUB_SOURCE: GitSourceConfig = { name: 'app', url: 'https://github.com/octo-org/app', branch: 'main', repositoryId: 74, ownerId: 65 };
const GITLAB_SOURCE: GitSourceConfig = { name: 'app', url: 'https://gitlab.com/my-group/sub/app.git', branch: 'main', repositoryId: 20, ownerId: 72 };

describe('generic-oidc pins for GitHub Actions', () => {
  const model = oidcReceiverModel(cluster, receiver(['app']), [GITHUB_SOURCE]);
  const provider = model.providers[0];

  test('one provider, GitHub Actions\' issuer, the Receiver\'s own audience', () => {
    expect(model.providers).toHaveLength(1);
    expect(provider.issuerURL).toBe('https://token.actions.githubusercontent.com');
    expect(provider.audience).toBe('flux-infra/staging/flux-system/app');
    expect(model.webhookPath).toMatch(/^\/hook\/[0-9a-f]{64}$/);
  });

  test('the pinned caller passes every validation and its source\'s filter', async () => {
    expect(await failures(provider, githubClaims())).toEqual([]);
    expect(await filterOf(model, 'app', githubClaims())).toBe(true);
  });

  test('repository names compare ignoring case, as GitHub treats them', async () => {
    expect(await failures(provider, githubClaims({ repository: 'Octo-Org/App' }))).toEqual([]);
  });

  test('a renamed repository (same ids, new name) is refused until the fleet URL follows the rename', async () => {
    const renamed = githubClaims({ repository: 'octo-org/app-renamed' });
    expect(await failures(provider, renamed)).toEqual([
      'repository must be octo-org/app (the Receiver\'s source)',
      expect.stringContaining('repository_id/repository_owner_id must be the ids in the fleet file (octo-org/app: 74/65)'),
      expect.stringContaining('the ref must be the one the source follows (octo-org/app: branch main)'),
    ]);
    expect(await filterOf(model, 'app', renamed)).toBe(false);
  });

  test('a fork (another owner, other ids) is refused', async () => {
    const fork = githubClaims({ repository: 'mallory/app', repository_owner: 'mallory', repository_id: '9001', repository_owner_id: '9000' });
    expect(await failures(provider, fork)).toContain('repository must be octo-org/app (the Receiver\'s source)');
  });

  test('a deleted and recreated repository of the same name (new id) is refused by the id pin, and only by it', async () => {
    const recreated = githubClaims({ repository_id: '75' });
    expect(await failures(provider, recreated)).toEqual([expect.stringMatching(/^repository_id\/repository_owner_id must be the ids in the fleet file .*deleted and recreated/)]);
    expect(await filterOf(model, 'app', recreated)).toBe(false);
    // Without ids in the fleet, nothing tells it apart: why `webhook ids --write-fleet` exists.
    const unpinned = oidcReceiverModel(cluster, receiver(['app']), [{ ...GITHUB_SOURCE, repositoryId: undefined, ownerId: undefined }]);
    expect(unpinned.providers[0].validations.map((validation) => validation.message)).not.toContainEqual(expect.stringContaining('repository_id'));
    expect(await failures(unpinned.providers[0], recreated)).toEqual([]);
  });

  test('another branch, a tag and another event are each refused with their own message', async () => {
    const refMessage = 'the ref must be the one the source follows (octo-org/app: branch main)';
    expect(await failures(provider, githubClaims({ ref: 'refs/heads/dev' }))).toEqual([refMessage]);
    expect(await failures(provider, githubClaims({ ref: 'refs/tags/main', ref_type: 'tag' }))).toEqual([refMessage]);
    expect(await failures(provider, githubClaims({ event_name: 'workflow_dispatch' }))).toEqual(['event_name must be push']);
    expect(await failures(provider, githubClaims({ event_name: 'pull_request', ref: 'refs/pull/1/merge' }))).toEqual(['event_name must be push', refMessage]);
  });

  test('a token without the claims (or with them of another type) fails the validations, never errs', async () => {
    const bare = { iss: GITHUB_ACTIONS_ISSUER, aud: model.audience, sub: 'repo:octo-org/app:ref:refs/heads/main' };
    expect(await failures(provider, bare)).toHaveLength(provider.validations.length);
    expect(await failures(provider, githubClaims({ repository_id: 74 }))).toEqual([expect.stringContaining('repository_id')]);
    expect(await filterOf(model, 'app', bare)).toBe(false);
  });

  test('a tag source takes its tag; a semver source any tag, never a branch', async () => {
    const tagged = oidcReceiverModel(cluster, receiver(['app']), [{ ...GITHUB_SOURCE, branch: undefined, tag: 'v1.2.0' }]);
    expect(await failures(tagged.providers[0], githubClaims({ ref: 'refs/tags/v1.2.0', ref_type: 'tag' }))).toEqual([]);
    expect(await failures(tagged.providers[0], githubClaims({ ref: 'refs/tags/v1.2.1', ref_type: 'tag' }))).toHaveLength(1);
    const ranged = oidcReceiverModel(cluster, receiver(['app']), [{ ...GITHUB_SOURCE, branch: undefined, semver: '>=1.0.0' }]);
    expect(await failures(ranged.providers[0], githubClaims({ ref: 'refs/tags/v1.3.0', ref_type: 'tag' }))).toEqual([]);
    expect(await failures(ranged.providers[0], githubClaims())).toEqual([expect.stringContaining('octo-org/app: a tag')]);
  });

  test('with two sources, one repository\'s token never passes on the other\'s ref, and each filter selects only its own', async () => {
    const other: GitSourceConfig = { name: 'other', url: 'https://github.com/octo-org/other', branch: 'prod' };
    const both = oidcReceiverModel(cluster, receiver(['app', 'other']), [GITHUB_SOURCE, other]);
    expect(both.providers).toHaveLength(1);
    const forOther = githubClaims({ repository: 'octo-org/other', repository_id: '80', ref: 'refs/heads/prod' });
    expect(await failures(both.providers[0], forOther)).toEqual([]);
    expect(await filterOf(both, 'app', forOther)).toBe(false);
    expect(await filterOf(both, 'other', forOther)).toBe(true);
    expect(await failures(both.providers[0], githubClaims({ ref: 'refs/heads/prod' }))).toEqual([expect.stringContaining('the ref must be')]);
  });

  test('two sources of one repository (main and its releases): the repository and its ids are named and pinned once; each push reconciles only its source', async () => {
    const releases: GitSourceConfig = { ...GITHUB_SOURCE, name: 'releases', branch: undefined, semver: '>=1.0.0 <2.0.0' };
    const pair = oidcReceiverModel(cluster, receiver(['app', 'releases']), [GITHUB_SOURCE, releases]);
    const [repository, ids, event, ref] = pair.providers[0].validations;
    expect([repository.message, ids.message, event.message, ref.message]).toEqual([
      'repository must be octo-org/app (the Receiver\'s sources)',
      'repository_id/repository_owner_id must be the ids in the fleet file (octo-org/app: 74/65): a repository deleted and recreated, or moved to another owner, has new ids',
      'event_name must be push',
      'the ref must be the one the source follows (octo-org/app: branch main, octo-org/app: a tag)',
    ]);
    // The same clause once: the expressions are those of a single source.
    const single = model.providers[0].validations;
    expect([repository.expression, ids.expression]).toEqual([single[0].expression, single[1].expression]);
    expect(await failures(pair.providers[0], githubClaims({ repository: 'octo-org/fork' }))).toEqual(['repository must be octo-org/app (the Receiver\'s sources)', ids.message, ref.message]);
    const tagPush = githubClaims({ ref: 'refs/tags/v3.0.0', ref_type: 'tag' });
    expect(await failures(pair.providers[0], tagPush)).toEqual([]);
    expect([await filterOf(pair, 'app', tagPush), await filterOf(pair, 'releases', tagPush)]).toEqual([false, true]);
    expect([await filterOf(pair, 'app', githubClaims()), await filterOf(pair, 'releases', githubClaims())]).toEqual([true, false]);
  });

  test('two sources of one repository (names ignoring case) pin it once: one clause, named once; each keeps its own ref', async () => {
    const release: GitSourceConfig = { name: 'app-release', url: 'https://github.com/Octo-Org/App', tag: 'v1.0.0', repositoryId: 74, ownerId: 65 };
    const both = oidcReceiverModel(cluster, receiver(['app', 'app-release']), [GITHUB_SOURCE, release]);
    const [repository, ids, event, ref] = both.providers[0].validations;
    expect(repository).toEqual({ expression: provider.validations[0].expression, message: 'repository must be octo-org/app (the Receiver\'s sources)' });
    expect(ids.expression).toBe(provider.validations[1].expression);
    expect(ids.message).toBe('repository_id/repository_owner_id must be the ids in the fleet file (octo-org/app: 74/65): a repository deleted and recreated, or moved to another owner, has new ids');
    expect(event).toEqual(provider.validations[2]);
    expect(ref.message).toBe('the ref must be the one the source follows (octo-org/app: branch main, Octo-Org/App: tag v1.0.0)');
    expect(await failures(both.providers[0], githubClaims({ ref: 'refs/tags/v1.0.0' }))).toEqual([]);
    expect(await failures(both.providers[0], githubClaims({ ref: 'refs/tags/v2.0.0' }))).toEqual([ref.message]);
    // A source of the repository without ids does not undo the id pin of the one with them.
    const unpinned = oidcReceiverModel(cluster, receiver(['app-release', 'app']), [{ ...release, repositoryId: undefined, ownerId: undefined }, GITHUB_SOURCE]);
    expect(await failures(unpinned.providers[0], githubClaims({ repository_id: '99' }))).toEqual([ids.message]);
  });

  test('a token for another cluster\'s audience: each cluster\'s provider asks for its own, which the caller must request', () => {
    const production = oidcReceiverModel({ name: 'production' }, receiver(['app']), [GITHUB_SOURCE]);
    expect(production.audience).toBe('flux-infra/production/flux-system/app');
    expect(production.providers[0].audience).toBe(production.audience);
    expect(production.audience).not.toBe(model.audience);
    // The controller compares aud with the provider's audience before any validation: the caller's token must carry it.
    expect(githubClaims().aud).toBe(provider.audience);
    const chosen = oidcReceiverModel(cluster, receiver(['app'], { oidc: { audience: 'https://flux.example.org/staging' } }), [GITHUB_SOURCE]);
    expect(chosen.providers[0].audience).toBe('https://flux.example.org/staging');
  });

  test('GitHub Enterprise Server tokens come from its /_services/token; oidc.issuer overrides for the whole Receiver', () => {
    expect(defaultOidcIssuer({ url: 'https://ghe.example.org/octo-org/app', host: 'github' })).toBe('https://ghe.example.org/_services/token');
    expect(defaultOidcIssuer({ url: 'ssh://git@github.com/octo-org/app.git' })).toBe(GITHUB_ACTIONS_ISSUER);
    expect(defaultOidcIssuer({ url: 'https://codeberg.org/octo-org/app' })).toBeUndefined();
    const overridden = oidcReceiverModel(cluster, receiver(['app'], { oidc: { issuer: 'https://127.0.0.1:8443' } }), [GITHUB_SOURCE]);
    expect(overridden.providers.map((provider) => provider.issuerURL)).toEqual(['https://127.0.0.1:8443']);
  });
});

describe('generic-oidc pins for GitLab CI', () => {
  const model = oidcReceiverModel(cluster, receiver(['app']), [GITLAB_SOURCE]);
  const provider = model.providers[0];

  test('gitlab.com\'s issuer, nested group path as the project path', () => {
    expect(provider.issuerURL).toBe('https://gitlab.com');
    expect(model.sources[0].repository).toBe('my-group/sub/app');
    expect(defaultOidcIssuer({ url: 'https://git.example.org/team/app', host: 'gitlab' })).toBe('https://git.example.org');
  });

  test('the pinned caller passes every validation and its source\'s filter', async () => {
    expect(await failures(provider, gitlabClaims())).toEqual([]);
    expect(await filterOf(model, 'app', gitlabClaims())).toBe(true);
  });

  test('a renamed or transferred project is refused by its path; a fork by path and ids', async () => {
    expect(await failures(provider, gitlabClaims({ project_path: 'my-group/sub/app2' }))).toContain('project_path must be my-group/sub/app (the Receiver\'s source)');
    const fork = gitlabClaims({ project_path: 'mallory/app', namespace_path: 'mallory', project_id: '900', namespace_id: '901' });
    expect(await failures(provider, fork)).toEqual(expect.arrayContaining([
      'project_path must be my-group/sub/app (the Receiver\'s source)',
      expect.stringContaining('project_id/namespace_id must be the ids in the fleet file (my-group/sub/app: 20/72)'),
    ]));
  });

  test('a deleted and recreated project of the same path (new id) is refused by the id pin alone', async () => {
    expect(await failures(provider, gitlabClaims({ project_id: '21' }))).toEqual([expect.stringContaining('project_id/namespace_id')]);
  });

  test('another branch, a tag of the same name, and another pipeline source are refused', async () => {
    const refMessage = 'the ref must be the one the source follows (my-group/sub/app: branch main)';
    expect(await failures(provider, gitlabClaims({ ref: 'dev', ref_path: 'refs/heads/dev' }))).toEqual([refMessage]);
    expect(await failures(provider, gitlabClaims({ ref_type: 'tag', ref_path: 'refs/tags/main' }))).toEqual([refMessage]);
    expect(await failures(provider, gitlabClaims({ pipeline_source: 'merge_request_event' }))).toEqual(['pipeline_source must be push']);
    expect(await failures(provider, gitlabClaims({ pipeline_source: 'web' }))).toEqual(['pipeline_source must be push']);
  });

  test('a tag source pins ref_type tag and the bare tag name', async () => {
    const tagged = oidcReceiverModel(cluster, receiver(['app']), [{ ...GITLAB_SOURCE, branch: undefined, tag: 'v1.2.0' }]);
    expect(await failures(tagged.providers[0], gitlabClaims({ ref: 'v1.2.0', ref_type: 'tag', ref_path: 'refs/tags/v1.2.0' }))).toEqual([]);
    expect(await failures(tagged.providers[0], gitlabClaims({ ref: 'v1.2.0', ref_type: 'branch' }))).toHaveLength(1);
  });

  test('GitHub and GitLab sources of one Receiver get a provider each, and a GitHub token passes neither\'s GitLab pins', async () => {
    const mixed = oidcReceiverModel(cluster, receiver(['app', 'gh']), [GITLAB_SOURCE, { ...GITHUB_SOURCE, name: 'gh' }]);
    expect(mixed.providers.map((provider) => provider.issuerURL)).toEqual(['https://gitlab.com', GITHUB_ACTIONS_ISSUER]);
    expect(mixed.providers.map((entry) => entry.sources)).toEqual([['app'], ['gh']]);
    expect(await failures(mixed.providers[0], githubClaims())).toHaveLength(mixed.providers[0].validations.length);
    expect(await filterOf(mixed, 'app', githubClaims())).toBe(false);
    expect(await filterOf(mixed, 'gh', githubClaims())).toBe(true);
  });
});
