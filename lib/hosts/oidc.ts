// The generic-oidc Receiver's model: which issuer signs each source's CI tokens, the audience a
// caller must request, and exactly which claims pin the caller (as data, and as the CEL the
// controller evaluates). A public issuer signs tokens for every repository on its platform, so these
// pins are the whole security of such a Receiver. Pure: the construct, the commands, `workflow` and
// the tests all build from here.
import { clusterReceivers, hostKindOf } from '../fleet/git-hosts';
import { controlCharacterProblem } from '../fleet/names';
import { ClusterConfig, clusterNamespace, GitHostKind, GitSourceConfig, OidcConfig, ReceiverConfig, ReceiverType } from '../fleet/model';
import { webhookPath } from '../constructs/webhook-path';
import { allowFromIsNarrowed, exposureScheme, isLoadBalancer, narrowsSources } from '../fleet/exposure';
import { isLoopbackHost } from '../fleet/network';
import { celString, exactIgnoringCase, fullRefOf, present } from './cel';
import { RefMatch } from './git-host';
import { fullName, RepositoryRef } from './repository';
import { gitHost, refMatchOf } from './index';

/** The hosts whose CI mints ID tokens this project knows the claims of. */
export const OIDC_HOST_KINDS = ['github', 'gitlab'] as const;
export type OidcHostKind = (typeof OIDC_HOST_KINDS)[number];

export function isOidcHostKind(kind: GitHostKind | undefined): kind is OidcHostKind {
  return (OIDC_HOST_KINDS as readonly string[]).includes(kind ?? '');
}

/** Whether a Receiver authenticates its caller by an OIDC ID token (and so has no token, Secret or hook). */
export function isOidcReceiver(receiver: { readonly type?: `${ReceiverType}` }): boolean {
  return receiver.type === ReceiverType.GENERIC_OIDC;
}

/** GitHub Actions' issuer on github.com. */
export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

/** The audience a Receiver's caller requests unless the fleet says otherwise: one per cluster, namespace and Receiver, so no token opens another's. */
export function defaultOidcAudience(cluster: string, namespace: string, receiver: string): string {
  return `flux-infra/${cluster}/${namespace}/${receiver}`;
}

/** notification-controller's audience when a provider names none: shared by every Receiver that keeps it. */
export const CONTROLLER_DEFAULT_AUDIENCE = 'notification-controller';

/**
 * Why `audience` cannot be an oidc.audience, or undefined: it must be this Receiver's own (the
 * controller's shared default is not), and it lands in the generated CI files as it is.
 */
export function oidcAudienceProblem(audience: string): string | undefined {
  const fallback = defaultOidcAudience('<cluster>', '<namespace>', '<receiver>');
  if (audience.trim() === '') return `must not be empty (or leave it out for the default, ${fallback})`;
  if (audience === CONTROLLER_DEFAULT_AUDIENCE) return `"${audience}" is notification-controller's shared default: a token requested for it by any job on the issuer's platform that uses the default would pass this audience check; leave audience out for ${fallback}, or give one specific to this cluster and Receiver`;
  const control = controlCharacterProblem(audience);
  if (control) return control;
  if (audience.includes('$')) return `"${audience}" holds a "$", which GitHub Actions or GitLab CI would expand in the generated CI job: choose an audience without it`;
  return undefined;
}

/** The scheme-less authority of a repository URL's server: host[:port] for http(s) URLs, the host alone for ssh ones (the port is SSH's). */
function serverOf(url: string): string {
  const parsed = new URL(url);
  return /^https?:$/.test(parsed.protocol) ? parsed.host.toLowerCase() : parsed.hostname.toLowerCase();
}

/**
 * The issuer of the CI tokens of a source's repository: GitHub Actions on github.com, a GitHub
 * Enterprise Server's `/_services/token`, GitLab's instance URL. Undefined for other hosts.
 */
export function defaultOidcIssuer(source: { readonly url: string; readonly host?: GitHostKind }): string | undefined {
  const kind = hostKindOf(source);
  if (!isOidcHostKind(kind)) return undefined;
  const server = serverOf(source.url);
  if (kind === 'github') return server === 'github.com' ? GITHUB_ACTIONS_ISSUER : `https://${server}/_services/token`;
  return `https://${server}`;
}

/** One claim pinned: equal to a value (repository names compared ignoring case), or starting with one (any tag). */
export interface OidcClaimPin {
  readonly claim: string;
  readonly test: 'equals' | 'equalsIgnoringCase' | 'startsWith';
  readonly value: string;
  /** What the pin is for: repository, id, event or ref (validations group pins by it). */
  readonly role: 'repository' | 'id' | 'event' | 'ref';
}

/** A source of a generic-oidc Receiver, as its caller's token must describe it. */
export interface OidcSourceModel {
  /** The GitRepository's name. */
  readonly source: string;
  readonly host: OidcHostKind;
  /** owner/name (GitHub), group[/subgroup...]/project (GitLab), as in the fleet URL. */
  readonly repository: string;
  readonly ref: Exclude<RefMatch, { kind: 'none' }>;
  readonly repositoryId?: number;
  readonly ownerId?: number;
  /** The issuer its tokens come from. */
  readonly issuer: string;
  /** Every claim the token must carry, with its value. */
  readonly pins: readonly OidcClaimPin[];
  /** The Receiver's per-resource filter for this source: a CEL expression over `claims`. */
  readonly filter: string;
}

/** One validation of an oidcProviders entry, as the CRD takes it. */
export interface OidcValidation {
  readonly expression: string;
  readonly message: string;
}

/** One oidcProviders entry. */
export interface OidcProviderModel {
  readonly issuerURL: string;
  readonly audience: string;
  readonly validations: readonly OidcValidation[];
  /** The names of the sources whose tokens it takes. */
  readonly sources: readonly string[];
}

/** A generic-oidc Receiver: what synth writes for it and what its callers must send. */
export interface OidcReceiverModel {
  readonly cluster: string;
  readonly name: string;
  readonly namespace: string;
  /** The `aud` every caller must request (the controller checks it, not a validation). */
  readonly audience: string;
  readonly allowPlainHttp: boolean;
  /** `/hook/` + sha256(name + namespace): not secret. */
  readonly webhookPath: string;
  readonly sources: readonly OidcSourceModel[];
  readonly providers: readonly OidcProviderModel[];
}

/** The claims each host's tokens carry, by what they say. GitLab's ids and ref are as documented for its `id_tokens`. */
const CLAIMS: Record<OidcHostKind, { repository: string; repositoryId: string; ownerId: string; event: string; ref: string }> = {
  github: { repository: 'repository', repositoryId: 'repository_id', ownerId: 'repository_owner_id', event: 'event_name', ref: 'ref' },
  gitlab: { repository: 'project_path', repositoryId: 'project_id', ownerId: 'namespace_id', event: 'pipeline_source', ref: 'ref' },
};

/** The claim names of a host's tokens: what its repository, ids, event and ref are called. */
export function oidcClaimNames(host: OidcHostKind): Readonly<{ repository: string; repositoryId: string; ownerId: string; event: string; ref: string }> {
  return CLAIMS[host];
}

/** The pins of a source's ref: GitHub's `ref` is the full ref; GitLab's is the bare name beside `ref_type`. */
function refPins(host: OidcHostKind, ref: Exclude<RefMatch, { kind: 'none' }>): OidcClaimPin[] {
  if (host === 'github') {
    const full = fullRefOf(ref);
    return [{ claim: 'ref', test: full.test, value: full.value, role: 'ref' }];
  }
  const type: OidcClaimPin = { claim: 'ref_type', test: 'equals', value: ref.kind === 'branch' ? 'branch' : 'tag', role: 'ref' };
  return ref.kind === 'anyTag' ? [type] : [type, { claim: 'ref', test: 'equals', value: ref.name, role: 'ref' }];
}

/** Every claim a source's caller's token must carry. Ids are strings in both hosts' tokens. */
export function oidcPins(host: OidcHostKind, repository: string, ref: Exclude<RefMatch, { kind: 'none' }>, ids: { readonly repositoryId?: number; readonly ownerId?: number } = {}): OidcClaimPin[] {
  const names = CLAIMS[host];
  const pins: OidcClaimPin[] = [{ claim: names.repository, test: 'equalsIgnoringCase', value: repository, role: 'repository' }];
  if (ids.repositoryId !== undefined) pins.push({ claim: names.repositoryId, test: 'equals', value: String(ids.repositoryId), role: 'id' });
  if (ids.ownerId !== undefined) pins.push({ claim: names.ownerId, test: 'equals', value: String(ids.ownerId), role: 'id' });
  pins.push({ claim: names.event, test: 'equals', value: 'push', role: 'event' });
  pins.push(...refPins(host, ref));
  return pins;
}

/** A pin as CEL over `claims`, guarded: a missing or non-string claim is false, never an evaluation error. */
export function pinExpression(pin: OidcClaimPin): string {
  const field = `claims.${pin.claim}`;
  const test = pin.test === 'equals' ? `${field} == ${celString(pin.value)}`
    : pin.test === 'startsWith' ? `${field}.startsWith(${celString(pin.value)})`
      : `${field}.matches(${celString(exactIgnoringCase(pin.value))})`;
  return `${present(pin.claim, 'string', 'claims')} && ${test}`;
}

function all(pins: readonly OidcClaimPin[]): string {
  return pins.map((pin) => `(${pinExpression(pin)})`).join(' && ');
}

/** The clauses ORed, each once: two sources of one repository and ref give one clause. */
function any(clauses: readonly string[]): string {
  const unique = [...new Set(clauses)];
  return unique.length === 1 ? unique[0] : unique.map((clause) => `(${clause})`).join(' || ');
}

/**
 * One source per repository (GitHub and GitLab paths ignore case), in order: the first of each, or
 * a later one that has the ids the first lacks, so a source without ids never undoes the id pin.
 */
function perRepository(sources: readonly OidcSourceModel[]): OidcSourceModel[] {
  const byKey = new Map<string, OidcSourceModel>();
  for (const source of sources) {
    const key = source.repository.toLowerCase();
    const first = byKey.get(key);
    if (first === undefined || pinsOf(source, 'id').length > pinsOf(first, 'id').length) byKey.set(key, source);
  }
  return [...byKey.values()];
}

function describeRef(source: OidcSourceModel): string {
  return source.ref.kind === 'branch' ? `branch ${source.ref.name}` : source.ref.kind === 'tag' ? `tag ${source.ref.name}` : 'a tag';
}

function pinsOf(source: OidcSourceModel, ...roles: OidcClaimPin['role'][]): OidcClaimPin[] {
  return source.pins.filter((pin) => roles.includes(pin.role));
}

/**
 * The validations of one issuer's sources, each with a message naming what it pins. Where there are
 * several sources, a clause is per source (its repository with its ids, its repository with its
 * ref), so one repository's token never passes on another's ref.
 */
export function oidcValidations(sources: readonly OidcSourceModel[]): OidcValidation[] {
  const host = sources[0].host;
  const names = CLAIMS[host];
  const repositories = perRepository(sources);
  const validations: OidcValidation[] = [{
    expression: any(repositories.map((source) => all(pinsOf(source, 'repository')))),
    message: `${names.repository} must be ${repositories.length === 1 ? '' : 'one of '}${repositories.map((source) => source.repository).join(', ')} (the Receiver's source${sources.length === 1 ? '' : 's'})`,
  }];
  const withIds = repositories.filter((source) => pinsOf(source, 'id').length > 0);
  if (withIds.length > 0) {
    validations.push({
      expression: any(repositories.map((source) => all(pinsOf(source, 'repository', 'id')))),
      message: `${names.repositoryId}/${names.ownerId} must be the ids in the fleet file (${withIds.map((source) => `${source.repository}: ${[source.repositoryId, source.ownerId].map((id) => id ?? '-').join('/')}`).join(', ')}): a repository deleted and recreated, or moved to another owner, has new ids`,
    });
  }
  validations.push({ expression: all(pinsOf(sources[0], 'event')), message: `${names.event} must be push` });
  validations.push({
    expression: any(sources.map((source) => all(pinsOf(source, 'repository', 'ref')))),
    message: `the ref must be the one the source follows (${[...new Set(sources.map((source) => `${source.repository}: ${describeRef(source)}`))].join(', ')})`,
  });
  return validations;
}

/** A source's repository path as its host names it (owner/name, or GitLab's group path). */
export function oidcRepositoryOf(source: GitSourceConfig, host: OidcHostKind): RepositoryRef {
  return gitHost(host).repositoryOf(source.url);
}

/**
 * A source of a generic-oidc Receiver, as its caller's token must describe it. Throws a one-line
 * error for what the fleet parser refuses (a host without known CI tokens, a pinned commit).
 */
export function oidcSourceModel(source: GitSourceConfig, oidc: OidcConfig = {}): OidcSourceModel {
  const host = hostKindOf(source);
  if (!isOidcHostKind(host)) throw new Error(`source ${source.name} (${source.url}) is not on GitHub or GitLab: a generic-oidc Receiver knows only their CI tokens`);
  const ref = refMatchOf(source);
  if (ref.kind === 'none') throw new Error(`source ${source.name} is pinned to a commit: no push concerns it, so a generic-oidc Receiver cannot pin its ref`);
  const repository = fullName(oidcRepositoryOf(source, host));
  const pins = oidcPins(host, repository, ref, source);
  return {
    source: source.name, host, repository, ref,
    repositoryId: source.repositoryId, ownerId: source.ownerId,
    issuer: oidc.issuer ?? defaultOidcIssuer(source)!,
    pins,
    filter: all(pins.filter((pin) => pin.role !== 'event')),
  };
}

/** The audience a generic-oidc Receiver's callers must request: the fleet's, or the default one. */
function oidcAudienceOf(cluster: Pick<ClusterConfig, 'name' | 'namespace'>, receiver: ReceiverConfig): string {
  return receiver.oidc?.audience ?? defaultOidcAudience(cluster.name, clusterNamespace(cluster), receiver.name);
}

/** A generic-oidc Receiver of `cluster` with its sources (in the Receiver's order). */
export function oidcReceiverModel(cluster: Pick<ClusterConfig, 'name' | 'namespace'>, receiver: ReceiverConfig, sources: readonly GitSourceConfig[]): OidcReceiverModel {
  const namespace = clusterNamespace(cluster);
  const audience = oidcAudienceOf(cluster, receiver);
  const models = sources.map((source) => oidcSourceModel(source, receiver.oidc));
  const issuers = [...new Set(models.map((source) => source.issuer))];
  return {
    cluster: cluster.name,
    name: receiver.name,
    namespace,
    audience,
    allowPlainHttp: receiver.oidc?.allowPlainHttp ?? false,
    webhookPath: webhookPath('', receiver.name, namespace),
    sources: models,
    providers: issuers.map((issuer) => {
      const own = models.filter((source) => source.issuer === issuer);
      return { issuerURL: issuer, audience, validations: oidcValidations(own), sources: own.map((source) => source.source) };
    }),
  };
}

/** Every generic-oidc Receiver of a (parsed) cluster, in the fleet file's order: what `webhook workflow` generates callers for. */
export function oidcReceivers(cluster: ClusterConfig): OidcReceiverModel[] {
  // The fleet repository's own Receiver, which clusterReceivers adds, is never generic-oidc.
  return clusterReceivers(cluster).filter(({ receiver }) => isOidcReceiver(receiver)).map(({ receiver, sources }) => oidcReceiverModel(cluster, receiver, sources));
}

/** Why `issuer` cannot be an oidc.issuer, or undefined: not a bare URL, or plain http off loopback. */
export function oidcIssuerProblem(issuer: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(issuer);
  } catch {
    return `"${issuer}" is not a URL: write the issuer as its tokens' iss claim says it, e.g. ${GITHUB_ACTIONS_ISSUER}`;
  }
  if (!/^https?:\/\//.test(issuer)) return `"${issuer}" must start with https:// (lower case), as the tokens' iss claim does`;
  if (parsed.username || parsed.password || parsed.search || parsed.hash) return `"${issuer}" must be the bare issuer URL, without credentials, query or fragment`;
  // Off this machine a plain-HTTP issuer's signing keys can be swapped on the way: allowPlainHttp never admits that.
  if (parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname)) {
    return `"${issuer}" is plain HTTP off this machine: the controller would fetch the keys that sign tokens in clear, so anyone on the way could forge tokens; use https:// (plain http:// is taken only for a loopback test issuer: 127.0.0.0/8, ::1, localhost)`;
  }
  return undefined;
}

/**
 * What is wrong with a generic-oidc Receiver's sources, each problem at its field (below the
 * Receiver): a host whose CI tokens are not known, a pinned commit, one issuer for two kinds of host.
 */
export function oidcReceiverProblems(receiver: { readonly type?: `${ReceiverType}`; readonly sources: readonly string[]; readonly oidc?: OidcConfig }, sources: readonly GitSourceConfig[]): { field: (string | number)[]; message: string }[] {
  if (!isOidcReceiver(receiver)) return [];
  const problems: { field: (string | number)[]; message: string }[] = [];
  const kinds = new Set<OidcHostKind>();
  for (const source of sources) {
    const field = ['sources', receiver.sources.indexOf(source.name)];
    const kind = hostKindOf(source);
    if (kind === undefined) {
      problems.push({ field, message: `source ${source.name} (${source.url}) is on a host this project cannot tell: add host: github or host: gitlab to the source (a generic-oidc Receiver takes GitHub Actions and GitLab CI tokens only)` });
    } else if (!isOidcHostKind(kind)) {
      problems.push({ field, message: `source ${source.name} is on ${gitHost(kind).name}, whose CI tokens a generic-oidc Receiver does not know (GitHub and GitLab only): give it a token-based Receiver of its own` });
    } else if (refMatchOf(source).kind === 'none') {
      problems.push({ field, message: `source ${source.name} is pinned to a commit, which no push concerns: follow a branch, tag or semver range, or remove it from this Receiver` });
    } else {
      try {
        oidcRepositoryOf(source, kind);
        kinds.add(kind);
      } catch (error) {
        problems.push({ field, message: `source ${source.name}: ${(error as Error).message}: a generic-oidc Receiver pins the repository by that path` });
      }
    }
  }
  if (receiver.oidc?.issuer !== undefined && kinds.size > 1) {
    problems.push({ field: ['oidc', 'issuer'], message: 'one issuer cannot sign both GitHub Actions and GitLab CI tokens: give the GitHub and the GitLab sources a Receiver each, or leave issuer out' });
  }
  return problems;
}

/** Receivers (after the first) whose audience another generic-oidc Receiver of the fleet already has: a token for one would open both. */
export function oidcAudienceOwners(clusters: readonly ClusterConfig[]): { cluster: string; index: number; audience: string; owner: string; byDefault: boolean }[] {
  const owners = new Map<string, string>();
  const clashes: { cluster: string; index: number; audience: string; owner: string; byDefault: boolean }[] = [];
  for (const cluster of clusters) {
    cluster.receivers.forEach((receiver, index) => {
      if (!isOidcReceiver(receiver)) return;
      const audience = oidcAudienceOf(cluster, receiver);
      const owner = owners.get(audience);
      if (owner === undefined) owners.set(audience, `receiver ${receiver.name} of cluster ${cluster.name}`);
      else clashes.push({ cluster: cluster.name, index, audience, owner, byDefault: receiver.oidc?.audience === undefined });
    });
  }
  return clashes;
}

/**
 * A generic-oidc Receiver behind plain HTTP: its callers' bearer tokens can be read on the way and
 * replayed until they expire. Undefined over TLS; else the line doctor and `workflow` give, refused
 * unless the Receiver's oidc.allowPlainHttp accepts it (then a warning).
 */
export function oidcPlainHttp(cluster: Pick<ClusterConfig, 'name' | 'webhook'>, receiver: { readonly name: string; readonly allowPlainHttp: boolean }): { allowed: boolean; message: string } | undefined {
  if (exposureScheme(cluster.webhook) === 'https') return undefined;
  return receiver.allowPlainHttp
    ? { allowed: true, message: `Receiver ${receiver.name} is generic-oidc on plain HTTP (clusters.${cluster.name}.webhook), as its oidc.allowPlainHttp: true accepts: its CI job's ID token travels in clear and can be replayed until it expires` }
    : { allowed: false, message: `Receiver ${receiver.name} is generic-oidc, but clusters.${cluster.name}.webhook is plain HTTP: its CI job's ID token travels in clear and can be replayed until it expires; expose the Receivers over TLS (gateway, ingress, or loadBalancer.tls), or set oidc.allowPlainHttp: true on the Receiver to accept that` };
}

/**
 * Whether a cluster has a webhook token at all: not when every Receiver it has (the fleet
 * repository's included, which stays token-based) is generic-oidc. A cluster with no Receiver yet
 * keeps one, as before, for the Receivers to come.
 */
export function needsWebhookToken(cluster: ClusterConfig): boolean {
  return !(cluster.receivers.length > 0 && cluster.receivers.every(isOidcReceiver) && cluster.fleetRepository === undefined);
}

/** Who calls a generic-oidc Receiver, for every firewall-like list: CI runners, whose addresses are no Git host's webhook ranges. */
export const OIDC_CALLERS = 'a generic-oidc Receiver is called by CI runners, not by a Git host\'s webhook: GitHub-hosted runners come from the actions ranges of GitHub\'s /meta (thousands of CIDRs), self-hosted runners from your own addresses, and GitLab.com\'s runners have no fixed list';

/** What to do about it: admit the runners, or leave the list open (the validations are the security). */
export const OIDC_CALLERS_FIX = 'admit the runners\' addresses yourself (e.g. your self-hosted runners\' ranges), or leave allowFrom and sourceRanges open: the OIDC audience and validations are the security';

/** The cluster's Receivers (the fleet repository's included) by kind: generic-oidc ones, and the others. */
export function receiverKinds(cluster: ClusterConfig): { oidc: string[]; others: string[] } {
  const all = clusterReceivers(cluster).map(({ receiver }) => receiver);
  return { oidc: all.filter(isOidcReceiver).map((receiver) => receiver.name), others: all.filter((receiver) => !isOidcReceiver(receiver)).map((receiver) => receiver.name) };
}

/** The fleet lists of the cluster that narrow who may call (allowFrom, loadBalancer.sourceRanges) to anything but everywhere. */
export function narrowedCallerLists(cluster: Pick<ClusterConfig, 'name' | 'webhook'>): string[] {
  const { webhook } = cluster;
  return [
    ...(allowFromIsNarrowed(webhook) ? [`clusters.${cluster.name}.webhook.allowFrom`] : []),
    ...(isLoadBalancer(webhook) && narrowsSources(webhook.loadBalancer.sourceRanges) ? [`clusters.${cluster.name}.webhook.loadBalancer.sourceRanges`] : []),
  ];
}
