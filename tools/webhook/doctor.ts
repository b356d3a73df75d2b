// `webhook doctor <cluster>`: every problem visible offline before a push, one line each; with
// --online also what only the Git hosts know: each source's repository and ref (source-refs.ts).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { planSynth } from '../../lib/synth';
import { encryptedSecretFile, missingTokenFix, newTokenFix, readCommittedSecret } from '../../lib/secrets/cluster-token';
import { openEncryptedSecret } from '../../lib/secrets/encrypted-secret';
import { ageIdentitiesFor } from '../../lib/secrets/age-identities';
import { TokenStore } from '../../lib/secrets/token-store';
import { interruptedWriteProblem } from '../../lib/output/dist-writer';
import { FleetError } from '../../lib/fleet/parse';
import { readRegularFile } from '../../lib/io/safe-read';

import { CommandContext } from '../common';
import { ContextOptions, findToken } from './context';
import { clusterDir } from '../../lib/layout';
import { requestBounds } from './bounded-fetch';
import { sourceRefProblems } from './source-refs';
import { ClusterConfig, receiverTypeOf } from '../../lib/fleet/model';
import { receiverEventsOf, sourceHost } from '../../lib/hosts';
import { clusterReceivers } from '../../lib/fleet/git-hosts';
import { exposureOf } from '../../lib/constructs/exposures';
import { narrowedPolicyProblem, receiverOrigin } from '../../lib/fleet/exposure';
import { narrowedCallerLists, needsWebhookToken, OIDC_CALLERS, oidcPlainHttp, OidcReceiverModel, oidcReceivers } from '../../lib/hosts/oidc';

export interface DoctorReport {
  readonly cluster: string;
  /** One line per problem; empty when all is well. */
  readonly problems: string[];
  /** What would make the setup safer but does not stop it working (ids a generic-oidc Receiver could pin). */
  readonly notes: string[];
}

function filesBelow(directory: string): string[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

async function tokenProblems(cluster: ClusterConfig, options: ContextOptions): Promise<string[]> {
  // generic-oidc Receivers only: there is no token to look for.
  if (!needsWebhookToken(cluster)) return [];
  try {
    const found = await findToken(cluster, options);
    if (found) return [...found.stale, ...await keyProblems(cluster, options)];
    const context = CommandContext.of(options);
    return [`no webhook token here for ${cluster.name}: url, ping and hook need it; ${missingTokenFix(cluster, { ...context.paths, env: context.env })}`];
  } catch (error) {
    return [(error as Error).message];
  }
}

/**
 * A token file that a key once showed to be the committed token (its record says so), but no age key
 * here that opens the committed Secret any more: the token file goes on working, yet re-encrypting for new
 * recipients, taking a pulled rotation, and a copy of Flux's sops-age Secret all need the key.
 */
async function keyProblems(cluster: ClusterConfig, options: ContextOptions): Promise<string[]> {
  const { paths, env } = CommandContext.of(options);
  const committed = cluster.sops ? readCommittedSecret(cluster, paths.distDir) : undefined;
  if (committed === undefined) return [];
  const store = new TokenStore(paths.secretsDir);
  if (!existsSync(store.committedRecordFile(cluster.name))) return [];
  if (await openEncryptedSecret(committed.text, await ageIdentitiesFor(cluster.name, store, env)) !== undefined) return [];
  return [`no age key here opens ${committed.file} (not ${store.ageKeyFile(cluster.name)}, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY or sops' keys.txt): the token file goes on working, but taking a pulled rotation, re-encrypting for new recipients and Flux's sops-age Secret need one; put it back from where you keep it, or ${newTokenFix(cluster, paths.secretsDir)}`];
}

function receiverProblems(cluster: ClusterConfig): string[] {
  const receivers = clusterReceivers(cluster);
  if (receivers.length === 0) return ['no Receiver: a push triggers nothing, every change waits for polling'];
  const problems: string[] = [];
  const triggered = new Set(cluster.receivers.flatMap((receiver) => receiver.sources));
  for (const { receiver, sources } of receivers) {
    if (sources.length === 0) problems.push(`Receiver ${receiver.name} has no resources: its deliveries reconcile nothing`);
    const type = receiverTypeOf(receiver);
    // The hosts its sources are on, each with the push event it sends.
    const hosts = [...new Set(sources.map((source) => sourceHost(source, type)).filter((host) => host !== undefined && host.receiverType === type))];
    const events = receiverEventsOf(type, receiver.events);
    for (const host of hosts) {
      if (host && events.length > 0 && !events.some((event) => event.toLowerCase() === host.pushEvent)) {
        problems.push(`Receiver ${receiver.name} does not accept ${host.pushEvent} events (events: ${events.join(', ')}): ${host.name}'s pushes get 400`);
      }
    }
  }
  for (const source of cluster.sources) {
    if (!triggered.has(source.name)) problems.push(`source ${source.name} is in no Receiver's sources: pushes to ${source.url} wait for its polling interval`);
  }
  return problems;
}

/** generic-oidc Receivers behind plain HTTP that the fleet does not accept there (the rule `workflow` applies too). */
function oidcProblems(cluster: ClusterConfig, receivers: readonly OidcReceiverModel[]): string[] {
  return receivers.flatMap((receiver) => {
    const plain = oidcPlainHttp(cluster, receiver);
    return plain && !plain.allowed ? [plain.message] : [];
  });
}

/** Sources of generic-oidc Receivers whose ids the fleet does not pin: a repository deleted and recreated under the same name would pass. */
function oidcNotes(cluster: ClusterConfig, receivers: readonly OidcReceiverModel[]): string[] {
  const unpinned = receivers.flatMap((receiver) => receiver.sources.filter((source) => source.repositoryId === undefined || source.ownerId === undefined).map((source) => `${source.source} (Receiver ${receiver.name})`));
  const notes = unpinned.length === 0 ? [] : [`the generic-oidc pins of ${unpinned.join(', ')} have no repositoryId/ownerId: a repository deleted and recreated (or an owner renamed and taken) under the same name would pass them; fetch the ids with npm run webhook -- ids ${cluster.name} --write-fleet`];
  // A note, not a problem: a self-hosted runner's range is a legitimate list.
  const narrowed = narrowedCallerLists(cluster);
  if (receivers.length > 0 && narrowed.length > 0) {
    notes.push(`${narrowed.join(' and ')} narrow${narrowed.length === 1 ? 's' : ''} who may call, and ${OIDC_CALLERS} (Receiver${receivers.length === 1 ? '' : 's'} ${receivers.map((receiver) => receiver.name).join(', ')}): the CI runners' addresses must be inside it, or their calls are dropped`);
  }
  if (cluster.sops && !needsWebhookToken(cluster)) {
    notes.push(`clusters.${cluster.name}.sops is unused: every Receiver of ${cluster.name} is generic-oidc, so there is no token to encrypt; remove it`);
  }
  return notes;
}

function secretProblems(cluster: ClusterConfig, distDir: string): string[] {
  const problems: string[] = [];
  const directory = join(distDir, clusterDir(cluster.name));
  for (const file of filesBelow(directory).filter((path) => /\.ya?ml$/.test(path))) {
    let text: string | undefined;
    try {
      text = readRegularFile(file);
    } catch (error) {
      problems.push((error as Error).message);
      continue;
    }
    let objects: any[];
    try {
      objects = parseAllDocuments(text ?? '').map((document) => document.toJS());
    } catch {
      continue;
    }
    if (objects.some((object) => object?.kind === 'Secret' && typeof object?.sops?.mac !== 'string')) {
      problems.push(`${file} holds a plaintext Secret: anyone who can read the repository has it`);
    }
  }
  if (!cluster.sops) return problems;
  const encrypted = encryptedSecretFile(distDir, cluster.name);
  // A missing file, and one that must be re-encrypted, are distProblems' lines (synth's own, with the fix).
  if (!existsSync(encrypted)) return problems;
  // A malformed or edited file is reported by tokenProblems, which reads it first.
  let committed;
  try {
    committed = readCommittedSecret(cluster, distDir);
  } catch {
    return problems;
  }
  if (committed?.state.legacyFingerprint) problems.push(`${encrypted} carries the plaintext fingerprint older versions wrote, which lets weak tokens be guessed offline: run npm run synth where its key is, or rotate the token`);
  return problems;
}

/** What in the exposure keeps deliveries from arriving, or the Payload URL from being made. */
function exposureProblems(cluster: ClusterConfig): string[] {
  const problems: string[] = [];
  const { webhook } = cluster;
  if (receiverOrigin(webhook) === undefined) {
    problems.push(`clusters.${cluster.name}.webhook: the Payload URL cannot be made: ${exposureOf(webhook).addressHint}`);
  }
  const narrowed = narrowedPolicyProblem(webhook);
  if (narrowed) problems.push(`clusters.${cluster.name}.webhook.allowFrom is narrowed, but ${narrowed}`);
  return problems;
}

async function distProblems(cluster: ClusterConfig, options: ContextOptions): Promise<string[]> {
  const context = CommandContext.of(options);
  const { distDir } = context.paths;
  try {
    const plan = await planSynth({ ...context.paths, env: context.env, secrets: false, fleet: context.fleet() });
    const prefix = `${clusterDir(cluster.name)}/`;
    // A link, FIFO or device in place of a generated file is refused in one line (lib/io/safe-read.ts), never read through.
    const stale = plan.files
      .filter((file) => file.path.startsWith(prefix))
      .filter((file) => readRegularFile(join(distDir, file.path)) !== file.content)
      .map((file) => file.path);
    return stale.length === 0 ? [] : [`${join(distDir, prefix)} is not what the fleet file synthesizes (${stale.join(', ')}): run npm run synth and commit dist/`];
  } catch (error) {
    return error instanceof FleetError ? [] : [(error as Error).message];
  }
}

export interface DoctorOptions extends ContextOptions {
  /** Also ask each source's Git host that its repository exists and its ref resolves (--online). @default false */
  readonly online?: boolean;
  /** The deadline of the online checks, every request and git ls-remote included (--timeout). @default 60 s */
  readonly timeoutMs?: number;
}

/** Runs every offline check of one cluster, and with `online` the Git hosts' too. A broken fleet file is itself the report. */
export async function doctor(clusterName: string, doctorOptions: DoctorOptions = {}): Promise<DoctorReport> {
  // The deadline starts with the command, before anything is read.
  const bounds = doctorOptions.online ? requestBounds(doctorOptions.timeoutMs) : undefined;
  const context = CommandContext.of(doctorOptions);
  const options: ContextOptions = { context };
  let cluster: ClusterConfig;
  try {
    cluster = context.cluster(clusterName);
  } catch (error) {
    if (error instanceof FleetError) return { cluster: clusterName, problems: error.problems, notes: [] };
    throw error;
  }
  // A half-written dist/ makes every later check wrong: it alone is the report until synth puts it right.
  const interrupted = interruptedWriteProblem(context.paths.distDir);
  if (interrupted) return { cluster: clusterName, problems: [interrupted], notes: [] };
  const oidc = oidcReceivers(cluster);
  const problems = [
    ...await tokenProblems(cluster, options),
    ...receiverProblems(cluster),
    ...exposureProblems(cluster),
    ...oidcProblems(cluster, oidc),
    ...secretProblems(cluster, context.paths.distDir),
    ...await distProblems(cluster, options),
    ...(bounds ? await sourceRefProblems(cluster, context.env, bounds) : []),
  ];
  // The same broken file can stop more than one check: say it once.
  return { cluster: clusterName, problems: [...new Set(problems)], notes: oidcNotes(cluster, oidc) };
}
