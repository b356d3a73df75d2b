// Loopback OIDC issuers for the generic-oidc scenario: one HTTPS server (a certificate of the suite's
// CA, which notification-controller trusts through SSL_CERT_FILE) holding one issuer per path, each
// with its own RS256 key, serving the discovery document and the JWKS where GitHub Actions and
// GitLab CI serve theirs, and minting ID tokens shaped as those two document them. jose signs; the
// controller verifies with go-oidc, so both ends are real implementations.
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, JWTPayload, SignJWT } from 'jose';
import { Certificate } from '../support/certificates';
import { listen } from '../support/servers';

/** Where each platform's issuer serves its keys (its discovery document names it). */
const JWKS_PATH = { github: '/.well-known/jwks', gitlab: '/oauth/discovery/keys' } as const;

export type Platform = keyof typeof JWKS_PATH;

/** What a token is minted with besides its claims. */
export interface Minting {
  readonly audience: string;
  /** Seconds from now of `exp` (GitHub's and GitLab's tokens live 5 to 10 minutes); negative: expired. */
  readonly expiresIn?: number;
  /** Signs with a key this issuer never published (a stolen or forged token's case). */
  readonly unpublishedKey?: boolean;
}

export interface OidcIssuer {
  /** The issuer URL: the token's `iss`, and where discovery starts. */
  readonly url: string;
  readonly platform: Platform;
  /** Requests served, newest last ("GET /github/.well-known/openid-configuration"). */
  readonly requests: string[];
  /** A signed ID token with `claims` (iss, aud, iat, nbf, exp and jti are set here). */
  mint(claims: Record<string, unknown>, minting: Minting): Promise<string>;
}

export interface OidcIssuers {
  readonly issuers: Record<Platform, OidcIssuer>;
  close(): Promise<void>;
}

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

async function keyPair(): Promise<{ pair: KeyPair; kid: string }> {
  return { pair: await generateKeyPair('RS256', { extractable: true }), kid: randomUUID() };
}

/** Starts the server on 127.0.0.1 (a free port) with an issuer for each platform at /<platform>. */
export async function startOidcIssuers(tls: Certificate): Promise<OidcIssuers> {
  const requests: string[] = [];
  const keys = { github: await keyPair(), gitlab: await keyPair() };
  const unpublished = await keyPair();
  const documents = new Map<string, unknown>();
  // By address: the suite's certificates name 127.0.0.1.
  const { url: origin, close } = await listen((request, response) => {
    const path = new URL(request.url ?? '/', 'https://127.0.0.1').pathname;
    requests.push(`${request.method} ${path}`);
    const document = request.method === 'GET' ? documents.get(path) : undefined;
    if (document === undefined) response.writeHead(404).end();
    else response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(document));
  }, tls, '127.0.0.1');
  const issuers = {} as Record<Platform, OidcIssuer>;
  for (const platform of Object.keys(JWKS_PATH) as Platform[]) {
    const url = `${origin}/${platform}`;
    const { pair, kid } = keys[platform];
    // The fields go-oidc reads, plus what the two publish besides (a stricter client may want them).
    documents.set(`/${platform}/.well-known/openid-configuration`, {
      issuer: url,
      jwks_uri: `${url}${JWKS_PATH[platform]}`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public', 'pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf'],
    });
    documents.set(`/${platform}${JWKS_PATH[platform]}`, { keys: [{ ...(await exportJWK(pair.publicKey)), kid, use: 'sig', alg: 'RS256' }] });
    issuers[platform] = {
      url,
      platform,
      requests,
      mint: async (claims, minting) => {
        const now = Math.floor(Date.now() / 1000);
        const expiresIn = minting.expiresIn ?? 300;
        // An expired token was issued as long before its expiry as a valid one.
        const issuedAt = expiresIn > 0 ? now : now + expiresIn - 300;
        const signer = minting.unpublishedKey ? unpublished : { pair, kid };
        return new SignJWT({ jti: randomUUID(), ...claims } as JWTPayload)
          .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: signer.kid })
          .setIssuer(url)
          .setAudience(minting.audience)
          .setIssuedAt(issuedAt)
          .setNotBefore(issuedAt)
          .setExpirationTime(issuedAt + (expiresIn > 0 ? expiresIn : 300))
          .sign(signer.pair.privateKey);
      },
    };
  }
  return { issuers, close };
}

/** Who a GitHub Actions job runs for, as its token says. */
export interface GitHubCaller {
  /** owner/name */
  readonly repository: string;
  readonly repositoryId: number;
  readonly ownerId: number;
  /** refs/heads/<branch> or refs/tags/<tag> */
  readonly ref: string;
  /** push, workflow_dispatch, pull_request... */
  readonly event: string;
  readonly sha?: string;
}

/** The claims of a GitHub Actions ID token (docs.github.com, "OpenID Connect reference"); IDs are strings there. */
export function githubClaims(caller: GitHubCaller): Record<string, unknown> {
  const [owner] = caller.repository.split('/');
  const refType = caller.ref.startsWith('refs/tags/') ? 'tag' : 'branch';
  const workflowRef = `${caller.repository}/.github/workflows/flux-reconcile.yaml@${caller.ref}`;
  return {
    sub: `repo:${caller.repository}:ref:${caller.ref}`,
    ref: caller.ref,
    ref_type: refType,
    ref_protected: 'false',
    sha: caller.sha ?? '0'.repeat(40),
    repository: caller.repository,
    repository_id: String(caller.repositoryId),
    repository_owner: owner,
    repository_owner_id: String(caller.ownerId),
    repository_visibility: 'private',
    actor: 'e2e',
    actor_id: '4242',
    run_id: '1',
    run_number: '1',
    run_attempt: '1',
    runner_environment: 'github-hosted',
    workflow: 'flux reconcile',
    workflow_ref: workflowRef,
    workflow_sha: caller.sha ?? '0'.repeat(40),
    job_workflow_ref: workflowRef,
    job_workflow_sha: caller.sha ?? '0'.repeat(40),
    event_name: caller.event,
    head_ref: '',
    base_ref: '',
  };
}

/** Who a GitLab CI job runs for, as its token says. */
export interface GitLabCaller {
  /** namespace/name */
  readonly projectPath: string;
  readonly projectId: number;
  readonly namespaceId: number;
  readonly refType: 'branch' | 'tag';
  /** The bare name: main, v1.2.0. */
  readonly ref: string;
  /** push, web, schedule, merge_request_event... */
  readonly pipelineSource: string;
  /** The GitLab host, for ci_config_ref_uri. */
  readonly host: string;
  readonly sha?: string;
}

/** The claims of a GitLab CI ID token (docs.gitlab.com, "OpenID Connect (OIDC) authentication using ID tokens"). */
export function gitlabClaims(caller: GitLabCaller): Record<string, unknown> {
  const namespacePath = caller.projectPath.slice(0, caller.projectPath.lastIndexOf('/'));
  const refPath = `refs/${caller.refType === 'tag' ? 'tags' : 'heads'}/${caller.ref}`;
  return {
    sub: `project_path:${caller.projectPath}:ref_type:${caller.refType}:ref:${caller.ref}`,
    namespace_id: String(caller.namespaceId),
    namespace_path: namespacePath,
    project_id: String(caller.projectId),
    project_path: caller.projectPath,
    project_visibility: 'private',
    user_id: '4242',
    user_login: 'e2e',
    user_email: 'e2e@example.com',
    user_access_level: 'developer',
    pipeline_id: '1',
    pipeline_source: caller.pipelineSource,
    job_id: '1',
    ref: caller.ref,
    ref_type: caller.refType,
    ref_path: refPath,
    ref_protected: 'false',
    runner_id: 1,
    runner_environment: 'gitlab-hosted',
    sha: caller.sha ?? '0'.repeat(40),
    ci_config_ref_uri: `${caller.host}/${caller.projectPath}//.gitlab-ci.yml@${refPath}`,
    ci_config_sha: caller.sha ?? '0'.repeat(40),
  };
}
