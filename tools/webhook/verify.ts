// `webhook verify <cluster>`: the walkthrough's last check by a tool. With the user's kubeconfig it
// reads what the cluster did with the last push: each Receiver Ready at the path the local token
// gives (so the cluster holds the token the Git host signs with), each GitRepository at the head
// commit of its branch or tag on the Git host, each Kustomization on it having applied that revision.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createConfiguration, CustomObjectsApi, KubeConfig, ServerConfiguration } from '@kubernetes/client-node';
import { clusterReceivers, fleetRepositorySource } from '../../lib/fleet/git-hosts';
import { ClusterConfig, clusterNamespace, GitSourceConfig } from '../../lib/fleet/model';
import { fullName, gitHost, gitHostOf, refMatchOf } from '../../lib/hosts';
import { CommandContext, CommandError, UsageError } from '../common';
import { ContextOptions, ReceiverTarget, receiverTargets, requireTokenFor } from './context';
import { isOidcReceiver } from '../../lib/hosts/oidc';
import { explainGithubError, githubClient } from './github-client';
import { BoundExceeded, requestBounds, RequestBounds } from './bounded-fetch';
import { boundedKubeHttp } from './kube-http';
import { checkedCredential } from './host-tokens';
import { sourceApi } from './hooks/api-client';
import { holdSecret, redact } from '../redact';
import { gitHead } from './git-heads';

export interface VerifyOptions extends ContextOptions {
  /** @default the first existing file of $KUBECONFIG, else ~/.kube/config */
  readonly kubeconfig?: string;
  /** @default the kubeconfig's current context */
  readonly kubeContext?: string;
  /** Poll until everything matches, for at most this many milliseconds. @default 0: check once */
  readonly waitMs?: number;
  /** @default 5000 */
  readonly pollMs?: number;
  /** GitHub's API for every GitHub source (GitHub Enterprise). @default each source's apiUrl, else the host's */
  readonly apiUrl?: string;
  readonly allowHttp?: boolean;
  /** The time for the reads after --wait's polling: the command stops at waitMs plus this (--timeout). @default 60 s */
  readonly timeoutMs?: number;
  /**
   * How heads are read (--heads): `api`, GitHub's API for GitHub sources (other hosts are skipped);
   * `git`, `git ls-remote` for every source, with the user's git configuration and credentials.
   * @default 'api'
   */
  readonly heads?: 'api' | 'git';
}

const HEADS_MODES = ['api', 'git'] as const;

export interface Finding {
  readonly ok: boolean;
  /** e.g. `Receiver instavote`, `GitRepository instavote`, `Kustomization vote-staging`. */
  readonly object: string;
  readonly detail: string;
}

export interface VerifyReport {
  readonly cluster: string;
  readonly findings: Finding[];
  /** For each app whose applied revision is the pushed commit: seconds from the commit to its Ready transition. */
  readonly applied: { readonly app: string; readonly seconds: number }[];
  /** How many times the cluster was read. */
  readonly rounds: number;
}

interface FluxObject {
  readonly metadata?: { readonly generation?: number };
  readonly spec?: { readonly suspend?: boolean };
  readonly status?: {
    readonly conditions?: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }[];
    readonly webhookPath?: string;
    readonly artifact?: { revision?: string };
    readonly lastAppliedRevision?: string;
    readonly observedGeneration?: number;
  };
}

/** How long a head commit read from the Git host is trusted while --wait polls the cluster. */
const HEADS_MAX_AGE_MS = 30_000;

const KINDS = {
  Receiver: { group: 'notification.toolkit.fluxcd.io', version: 'v1', plural: 'receivers' },
  GitRepository: { group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'gitrepositories' },
  Kustomization: { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', plural: 'kustomizations' },
} as const;

/** The commit a Flux revision names (`main@sha1:<hex>`, `v1.2.0@sha1:<hex>`, or a bare hex). */
export function commitOf(revision: string | undefined): string | undefined {
  // main@sha1:<hex>, v1.0.0@sha1:<hex>, sha1:<hex> (a commit ref), main/<hex> (Flux before v1), or bare.
  return revision?.match(/(?:^|[@/])(?:sha1:|sha256:)?([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/)?.[1]?.toLowerCase();
}

function ready(object: FluxObject): { ok: boolean; message: string; since?: string } {
  if (object.spec?.suspend) return { ok: false, message: 'suspended (flux resume it)' };
  const generation = object.metadata?.generation;
  if (generation !== undefined && object.status?.observedGeneration !== undefined && object.status.observedGeneration < generation) {
    return { ok: false, message: `has not reconciled its latest spec yet (generation ${generation}, observed ${object.status.observedGeneration})` };
  }
  const condition = object.status?.conditions?.find((candidate) => candidate.type === 'Ready');
  if (condition === undefined) return { ok: false, message: 'not reconciled yet (no Ready condition)' };
  // kustomize-controller ends its message with a newline, one line per failing object: one line here.
  const message = condition.message?.trim().split(/\s*\n\s*/).join('; ');
  return { ok: condition.status === 'True', message: `${condition.reason ?? ''}${message ? `: ${message}` : ''}`.replace(/^: /, ''), since: condition.lastTransitionTime };
}

/** The Kubernetes API as the user's kubeconfig reaches it, and where that is, for messages. */
function kubeApi(options: VerifyOptions, env: NodeJS.ProcessEnv, bounds: RequestBounds): { api: CustomObjectsApi; where: string; config: KubeConfig } {
  const config = new KubeConfig();
  const fallback = join(env.HOME ?? homedir(), '.kube', 'config');
  if (!options.kubeconfig && !env.KUBECONFIG && !existsSync(fallback)) {
    // The library would make up a context at localhost:8080 instead.
    throw new CommandError(`no kubeconfig: ${fallback} does not exist and KUBECONFIG is not set; give --kubeconfig, or log in to the cluster first`);
  }
  const source = options.kubeconfig ?? env.KUBECONFIG ?? fallback;
  try {
    // Where kubectl looks: --kubeconfig, else $KUBECONFIG, else ~/.kube/config.
    if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
    else if (env.KUBECONFIG) {
      // kubectl merges a list; the first file that exists holds the current context in practice.
      const files = env.KUBECONFIG.split(delimiter).filter(Boolean);
      config.loadFromFile(files.find((file) => existsSync(file)) ?? files[0]);
    } else config.loadFromFile(fallback);
    if (options.kubeContext) {
      if (!config.getContexts().some((context) => context.name === options.kubeContext)) {
        throw new UsageError(`--context ${options.kubeContext} is not in the kubeconfig (it has: ${config.getContexts().map((context) => context.name).join(', ') || 'none'})`);
      }
      config.setCurrentContext(options.kubeContext);
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new CommandError(`cannot read the kubeconfig ${source}: ${(error as Error).message.split('\n')[0]}`);
  }
  const current = config.getCurrentCluster();
  if (!current) throw new CommandError('the kubeconfig has no current cluster: give --context, or set KUBECONFIG');
  // As makeApiClient makes it, but sent by our bounded HttpLibrary instead of node-fetch.
  const configuration = createConfiguration({ baseServer: new ServerConfiguration(current.server, {}), authMethods: { default: config }, httpApi: boundedKubeHttp(bounds) });
  return { api: new CustomObjectsApi(configuration), where: `the cluster of context ${config.getCurrentContext()} (${current.server})`, config };
}

/**
 * The kubeconfig user's credential (a token, a token file's, an exec plugin's, a password), as the
 * client will send it: checked as a header value before any request, and held for redact().
 */
async function checkKubeCredentials(config: KubeConfig): Promise<void> {
  const user = config.getCurrentUser();
  holdSecret(user?.password);
  const options: { headers?: Record<string, unknown>; auth?: unknown } = {};
  try {
    await config.applyToHTTPSOptions(options as never);
  } catch (error) {
    throw new CommandError(`cannot get the credentials of user ${user?.name} in the kubeconfig: ${redact(String((error as Error).message).split('\n')[0])}`);
  }
  // A user name and password go as Basic base64(user:password): an echo shows that form, not the password.
  if (typeof options.auth === 'string') holdSecret(Buffer.from(options.auth).toString('base64'));
  const authorization = options.headers?.Authorization;
  if (typeof authorization === 'string') checkedCredential(authorization.replace(/^Bearer /, ''), `the token of user ${user?.name} in the kubeconfig`);
}

/** The head commit of a source's branch or tag (on GitHub, with its time), or a reason where it is not read (another host, semver). */
async function headCommit(source: GitSourceConfig, options: VerifyOptions, env: NodeJS.ProcessEnv, bounds: RequestBounds): Promise<{ sha: string; date?: string } | { skipped: string; failed?: boolean }> {
  const match = refMatchOf(source);
  if (match.kind === 'none') return { sha: source.commit!.toLowerCase() };
  if (match.kind === 'anyTag') return { skipped: 'the newest tag in its semver range is Flux\'s choice: not compared with the host' };
  // Any Git server, as the user's git reaches it; no commit date that way.
  if (options.heads === 'git') return gitHead(source.url, match, env, bounds);
  // A host the URL does not name is GitHub Enterprise, as everywhere else.
  const host = gitHostOf(source) ?? gitHost('github');
  if (host.kind !== 'github') return { skipped: `its head on ${host.name} is not read here (GitHub's API only)` };
  let repository;
  try {
    repository = host.repositoryOf(source.url);
  } catch (error) {
    return { skipped: (error as Error).message };
  }
  // The API host's own token only (GITHUB_TOKEN for api.github.com): a public repository is read without one.
  const { apiUrl: base, token } = sourceApi(source, host, repository, env, options);
  const github = githubClient({ apiUrl: base, token, bounds });
  try {
    // heads/ and tags/ keep a branch and a tag of one name apart.
    const { data } = await github.rest.repos.getCommit({ owner: repository.owner, repo: repository.name, ref: `${match.kind === 'branch' ? 'heads' : 'tags'}/${match.name}` });
    if (typeof data?.sha !== 'string') throw new CommandError(`GitHub's answer for ${fullName(repository)} has no commit: check --api-url`);
    return { sha: data.sha, date: data.commit?.committer?.date ?? undefined };
  } catch (error) {
    // One unreadable head (a private repository without its host's token, a rate limit) is that source's finding; the command's time up is the command's end.
    const explained = explainGithubError(error, fullName(repository), base);
    if (bounds.signal.aborted) throw explained;
    return { skipped: explained.message, failed: true };
  }
}

async function read(api: CustomObjectsApi, kind: keyof typeof KINDS, namespace: string, name: string, where: string): Promise<FluxObject | undefined> {
  try {
    return await api.getNamespacedCustomObject({ ...KINDS[kind], namespace, name }) as FluxObject;
  } catch (error: any) {
    if (error instanceof BoundExceeded) throw new CommandError(`reading ${kind} ${namespace}/${name} from ${where} stopped: ${error.message}`);
    let status: any;
    try {
      status = typeof error?.body === 'string' ? JSON.parse(error.body) : error?.body;
    } catch {
      status = undefined;
    }
    // A NotFound that names the object: it is not there. One that does not: the kind itself is unknown here.
    if (error?.code === 404 && status?.details?.name === name) return undefined;
    if (error?.code === 404) throw new CommandError(`${where} does not know Flux's ${kind} (${KINDS[kind].group}): Flux is not installed there, or this is not the cluster's context (--context)`);
    if (error?.code === 401 || error?.code === 403) {
      throw new CommandError(`${where} refused to show ${kind} ${namespace}/${name} (${error.code}): ${error.code === 401 ? 'the kubeconfig\'s credentials are missing or expired (log in again)' : 'your user may not read Flux\'s objects in that namespace'}`);
    }
    const detail = status?.message ?? error?.message;
    // Masked before cut: an API server (or a proxy before it) may echo the request's headers.
    throw new CommandError(`cannot read ${kind} ${namespace}/${name} from ${where} (${error?.code ?? error?.cause?.code ?? 'no answer'}): ${redact(String(detail ?? error)).split('\n')[0]}`);
  }
}

/** What verify reads: the fleet's sources and apps, and bootstrap's flux-system pair for the fleet repository. */
function objectsOf(cluster: ClusterConfig): { sources: GitSourceConfig[]; apps: { name: string; source: string }[] } {
  const fleetRepository = fleetRepositorySource(cluster);
  return {
    sources: [...cluster.sources, ...(fleetRepository ? [fleetRepository] : [])],
    apps: [...cluster.apps, ...(fleetRepository ? [{ name: fleetRepository.name, source: fleetRepository.name }] : [])],
  };
}

type Head = Awaited<ReturnType<typeof headCommit>>;

/** One look at the cluster: every finding, and the apps that applied the pushed commit. */
async function look(cluster: ClusterConfig, receivers: readonly ReceiverTarget[], kube: { api: CustomObjectsApi; where: string }, heads: Map<string, Head>): Promise<Pick<VerifyReport, 'findings' | 'applied'>> {
  const namespace = clusterNamespace(cluster);
  const findings: Finding[] = [];
  // An object, or, where it is missing, that finding.
  const found = async (kind: keyof typeof KINDS, name: string): Promise<FluxObject | undefined> => {
    const object = await read(kube.api, kind, namespace, name, kube.where);
    if (object === undefined) findings.push({ ok: false, object: `${kind} ${name}`, detail: 'is not in the cluster: has dist/ been pushed, and has Flux applied it?' });
    return object;
  };
  const applied: VerifyReport['applied'] = [];
  for (const { receiver, path: expected } of receivers) {
    const object = await found('Receiver', receiver.name);
    if (object === undefined) continue;
    const name = `Receiver ${receiver.name}`;
    const state = ready(object);
    if (isOidcReceiver(receiver)) {
      // No token: its path is sha256 of name and namespace alone, which the cluster must serve too.
      if (!state.ok) findings.push({ ok: false, object: name, detail: `is not Ready: ${state.message} (a generic-oidc Receiver needs notification-controller 1.9+ and valid oidcProviders)` });
      else if (object.status?.webhookPath !== expected) findings.push({ ok: false, object: name, detail: `serves ${object.status?.webhookPath ?? 'no path'}, but a generic-oidc Receiver of this name and namespace is at ${expected}: the Receiver in the cluster is not the fleet file's (push dist/ and let Flux apply it)` });
      else findings.push({ ok: true, object: name, detail: 'Ready, at its generic-oidc path (the CI job calls it)' });
      continue;
    }
    if (!state.ok) findings.push({ ok: false, object: name, detail: `is not Ready: ${state.message} (usually its Secret webhook-token is missing or not decrypted)` });
    else if (object.status?.webhookPath !== expected) findings.push({ ok: false, object: name, detail: `serves ${object.status?.webhookPath ?? 'no path'}, but the local token gives ${expected}: the cluster's Secret holds another token than the one the Git host signs with (apply the Secret, or take the token: npm run secrets -- take-token ${cluster.name})` });
    else findings.push({ ok: true, object: name, detail: 'Ready, at the path the local token gives' });
  }
  const { sources, apps } = objectsOf(cluster);
  const revisions = new Map<string, string | undefined>();
  for (const source of sources) {
    const object = await found('GitRepository', source.name);
    if (object === undefined) continue;
    const name = `GitRepository ${source.name}`;
    const revision = object.status?.artifact?.revision;
    revisions.set(source.name, revision);
    const state = ready(object);
    const head = heads.get(source.name)!;
    if (!state.ok) findings.push({ ok: false, object: name, detail: `cannot fetch: ${state.message}` });
    else if ('skipped' in head) findings.push({ ok: !head.failed, object: name, detail: `at ${revision}; ${head.skipped}` });
    else if (commitOf(revision) !== head.sha) findings.push({ ok: false, object: name, detail: `is at ${revision ?? 'no revision'}, but the head is ${head.sha}: the push has not been fetched (a delivery that failed, a filter that skipped it, or polling not due yet)` });
    else findings.push({ ok: true, object: name, detail: `at the head commit ${head.sha}` });
  }
  for (const app of apps) {
    const object = await found('Kustomization', app.name);
    if (object === undefined) continue;
    const name = `Kustomization ${app.name}`;
    const state = ready(object);
    const appliedRevision = object.status?.lastAppliedRevision;
    const head = heads.get(app.source);
    // What it should have applied: the head where it is known, else what its source fetched.
    const wanted = head && 'sha' in head ? head.sha : commitOf(revisions.get(app.source));
    if (wanted === undefined) {
      findings.push({ ok: false, object: name, detail: `applied ${appliedRevision ?? 'nothing yet'}, but its source ${app.source} has no revision to compare with` });
    } else if (commitOf(appliedRevision) !== wanted) {
      findings.push({ ok: false, object: name, detail: `applied ${appliedRevision ?? 'nothing yet'}, not ${wanted}${state.ok ? '' : `: ${state.message}`}` });
    } else if (!state.ok) {
      findings.push({ ok: false, object: name, detail: `is not Ready: ${state.message}` });
    } else {
      findings.push({ ok: true, object: name, detail: `applied ${appliedRevision}` });
      if (head && 'date' in head && head.date && state.since) {
        const seconds = (Date.parse(state.since) - Date.parse(head.date)) / 1000;
        if (Number.isFinite(seconds) && seconds >= 0) applied.push({ app: app.name, seconds });
      }
    }
  }
  return { findings, applied };
}

/** Checks what the cluster made of the last push; with waitMs, polls until it all matches or the time is up. */
export async function verify(clusterName: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const waitMs = options.waitMs ?? 0;
  if (options.heads !== undefined && !HEADS_MODES.includes(options.heads)) throw new UsageError(`--heads ${options.heads} must be one of ${HEADS_MODES.join(', ')}`);
  const bounds = requestBounds(options.timeoutMs, { ms: waitMs, limit: waitMs > 0 ? `--wait ${waitMs / 1000}s plus ` : '' });
  const context = CommandContext.of(options);
  const cluster = context.cluster(clusterName);
  const token = (await requireTokenFor(cluster, undefined, { context }))?.token;
  // Each Receiver's path, as url and ping give it (receiverTargets refuses a cluster with none).
  const receivers = clusterReceivers(cluster).length === 0 ? [] : receiverTargets(cluster, token);
  const kube = kubeApi(options, context.env, bounds);
  await checkKubeCredentials(kube.config);
  const { sources } = objectsOf(cluster);
  const deadline = Date.now() + waitMs;
  let rounds = 0;
  let heads: Map<string, Head> | undefined;
  let headsReadAt = 0;
  for (;;) {
    rounds++;
    // The heads are read again at most every 30 s: a push may land while we wait, but an
    // unauthenticated client has 60 calls an hour.
    if (heads === undefined || Date.now() - headsReadAt >= HEADS_MAX_AGE_MS) {
      heads = new Map(await Promise.all(sources.map(async (source) => [source.name, await headCommit(source, options, context.env, bounds)] as const)));
      headsReadAt = Date.now();
    }
    const result = await look(cluster, receivers, kube, heads);
    if (result.findings.every((finding) => finding.ok) || Date.now() >= deadline) return { cluster: clusterName, ...result, rounds };
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.pollMs ?? 5000, Math.max(0, deadline - Date.now()))));
  }
}
