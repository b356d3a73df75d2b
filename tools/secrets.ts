// `npm run secrets -- <command>`: a cluster's age key pair and webhook token rotation.
// The logic is exported apart from the command line so tests call it directly.
import { Command } from 'commander';
import { planSynth, readFleetText, SynthResult, writeSynthPlan } from '../lib/synth';
import { identitiesIn } from '../lib/secrets/age-identities';
import { writeFileAtomically } from '../lib/io/atomic-file';
import { encryptedSecretFile, missingTokenFix, readCommittedSecret, recordCommittedToken, resolveClusterToken } from '../lib/secrets/cluster-token';
import { failpoint } from '../lib/io/failpoint';
import { beginRotation, contentDigest, finishRotation, recoveryNotes, undoRotation } from '../lib/secrets/token-rotation';
import { listAt, withList } from '../lib/fleet/edit';
import { clusterReceivers } from '../lib/fleet/git-hosts';
import { GitHost, sourceHost } from '../lib/hosts';
import { parseFleet } from '../lib/fleet/parse';
import { tokenEnvironmentVariable, TokenStore } from '../lib/secrets/token-store';
import { oidcNothingToDo, receiverTargets } from './webhook/context';
import { isOidcReceiver, needsWebhookToken, receiverKinds } from '../lib/hosts/oidc';
import { CommandContext, CommandError, CommandOptions, pathsFromEnvironment, ProgramOutput, runProgram, runWhenMain } from './common';
import { redact } from './redact';
import { generateWebhookToken } from '../lib/fleet/webhook-token';
import { AGE_KEY_FILE, CLUSTER_FILES, clusterDir, DEFAULT_PATHS, SOPS_AGE_SECRET } from '../lib/layout';
import { ClusterConfig, clusterNamespace, receiverTypeOf } from '../lib/fleet/model';
import { withRecoveredRepository } from '../lib/repository';
import { exposureOf } from '../lib/constructs/exposures';

export interface AgeKeyResult {
  readonly recipient: string;
  readonly keyFile: string;
  readonly fleetUpdated: boolean;
  /** The cluster's Flux namespace, where its sops-age Secret goes. */
  readonly namespace: string;
}

export interface AgeKeyOptions extends CommandOptions {
  /** Add the public key to the cluster's sops.ageRecipients in the fleet file. */
  readonly writeFleet?: boolean;
  /** Make the public key the cluster's only recipient (a cluster made your own). Implies writeFleet. */
  readonly replaceRecipients?: boolean;
  /** A hybrid post-quantum key (age1pq1..., sops 3.12+ and Flux 2.9+ decrypt it). @default X25519 */
  readonly postQuantum?: boolean;
  readonly now?: Date;
}

/**
 * Creates a cluster's age identity in the secrets folder (0600, age-keygen's format) and returns
 * its public key; with `writeFleet`, adds that key to the cluster's `sops.ageRecipients` (or, with
 * `replaceRecipients`, makes it the only one), keeping the fleet file's comments. An existing key
 * is never replaced. Holds the repository lock.
 */
export async function createAgeKey(cluster: string, options: AgeKeyOptions = {}): Promise<AgeKeyResult> {
  const context = CommandContext.of(options);
  const { fleetFile } = context.paths;
  const store = new TokenStore(context.paths.secretsDir);
  const keyFile = store.ageKeyFile(cluster);
  return withRecoveredRepository(context.paths, async () => {
    // Loaded here: the other secrets commands need no age.
    const { generateHybridIdentity, generateX25519Identity, identityToRecipient } = await import('age-encryption');
    const config = context.cluster(cluster);
    const writeFleet = options.writeFleet || options.replaceRecipients;
    const existing = identitiesIn(store.readPrivate(keyFile) ?? '')[0];
    if (existing !== undefined) {
      // A kill between writing the key and the fleet file leaves the key alone: finish the job.
      const recipient = await identityToRecipient(existing);
      const recipients = config.sops?.ageRecipients ?? [];
      const done = options.replaceRecipients ? recipients.length === 1 && recipients[0] === recipient : recipients.includes(recipient);
      if (!writeFleet || done) {
        throw new CommandError(`${keyFile} exists already; it is kept. To use another key, move it away first (the Secret in the cluster must change with it)`);
      }
      writeFleetWith(fleetFile, cluster, recipient, options.replaceRecipients ?? false);
      return { recipient, keyFile, fleetUpdated: true, namespace: clusterNamespace(config) };
    }
    const identity = options.postQuantum ? await generateHybridIdentity() : await generateX25519Identity();
    const recipient = await identityToRecipient(identity);
    const created = (options.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    // The fleet file is checked before the key is written, and written after it.
    const fleetText = writeFleet ? fleetWithRecipient(fleetFile, cluster, recipient, options.replaceRecipients ?? false) : undefined;
    store.writePrivate(keyFile, `# created: ${created}\n# public key: ${recipient}\n${identity}\n`, { overwrite: false });
    failpoint('age-key-written');
    if (fleetText !== undefined) writeFileAtomically(fleetFile, fleetText);
    return { recipient, keyFile, fleetUpdated: fleetText !== undefined, namespace: clusterNamespace(config) };
  });
}

/** The fleet file's text with `recipient` added to (or replacing) the cluster's recipients, checked. */
function fleetWithRecipient(fleetFile: string, cluster: string, recipient: string, replace: boolean): string {
  const text = withRecipient(readFleetText(fleetFile), cluster, recipient, replace);
  parseFleet(text, fleetFile);
  return text;
}

function writeFleetWith(fleetFile: string, cluster: string, recipient: string, replace: boolean): void {
  writeFileAtomically(fleetFile, fleetWithRecipient(fleetFile, cluster, recipient, replace));
}

/** The fleet file with `recipient` added to (or replacing) the cluster's age recipients, comments kept (lib/fleet/edit.ts). */
function withRecipient(text: string, cluster: string, recipient: string, replace: boolean): string {
  const path = ['clusters', cluster, 'sops', 'ageRecipients'];
  return withList(text, path, replace ? [recipient] : [...listAt(text, path) ?? [], recipient]);
}

export interface RotationResult {
  readonly token: string;
  readonly tokenFile: string;
  readonly previousTokenFile: string | undefined;
  readonly synth: SynthResult;
  /** Receiver name -> Payload URL (undefined where the fleet file does not say the nodePort's or loadBalancer's address). */
  readonly urls: { receiver: string; path: string; url: string | undefined }[];
  readonly cluster: ClusterConfig;
}

/**
 * Gives a cluster a new token, holding the repository lock: journals the rotation, synthesizes
 * with the new token (re-encrypting the committed Secret, or rewriting the local Secret manifest),
 * then stores it, keeping the one it replaces as `webhook-token.previous`. A failure or a kill at
 * any point leaves either the whole rotation or none of it (see lib/token-rotation.ts).
 */
export async function rotateToken(cluster: string, options: CommandOptions & { now?: Date } = {}): Promise<RotationResult> {
  const context = CommandContext.of(options);
  const { distDir, secretsDir } = context.paths;
  const config = context.cluster(cluster);
  const env = context.env;
  const variable = tokenEnvironmentVariable(cluster);
  if (env[variable]) {
    throw new CommandError(`${variable} is set and would win over the new token: unset it (or rotate it where it is set)`);
  }
  const store = new TokenStore(secretsDir);
  return withRecoveredRepository(context.paths, async (recovered) => {
    if (recovered.some((entry) => entry.cluster === cluster && entry.outcome === 'finished')) {
      // A killed rotation of this cluster was completed just now; another one would replace the
      // token it kept as previous (the one the Git host still has) with one it never had.
      throw new CommandError(`${cluster}: an interrupted token rotation was finished: its new token is in ${store.tokenFile(cluster)} and the one it replaced in ${store.previousTokenFile(cluster)}; update the Git hosts' webhooks (npm run webhook -- hook ${cluster}) before rotating again`);
    }
    const current = await resolveClusterToken(config, { distDir, secretsDir, env, replacing: true });
    if (current.stale) {
      throw new CommandError(`${current.warnings.join('; ')}; rotating now would keep that stale token as previous and lose the one the Git host has`);
    }
    const token = generateWebhookToken();
    const synthOptions = { ...context.paths, env, now: options.now, tokenOverrides: new Map([[cluster, token]]) };
    const plan = await planSynth(synthOptions);
    const written = (path: string) => contentDigest(plan.files.find((file) => file.path === path)?.content);
    const journal = beginRotation(store, distDir, {
      cluster, token, current: current.token,
      writes: {
        encrypted: written(`${clusterDir(cluster)}/${CLUSTER_FILES.encryptedTokenSecret}`),
        manifest: contentDigest(plan.secretManifests.find((entry) => entry.cluster === cluster)?.content),
      },
    });
    failpoint('rotation-journaled');
    let synth: SynthResult;
    try {
      synth = await writeSynthPlan(plan, synthOptions);
      synth = { ...synth, notes: [...recoveryNotes(recovered), ...synth.notes] };
    } catch (error) {
      undoRotation(store, distDir, journal);
      throw error;
    }
    failpoint('rotation-synthesized');
    finishRotation(store, journal);
    const committed = synth.committedTokens.find((entry) => entry.cluster === cluster);
    if (committed) recordCommittedToken(store, cluster, committed.content, token);
    // A generic-oidc Receiver's path does not derive from the token: nothing of it changes here.
    const targets = config.receivers.length === 0 ? [] : receiverTargets(config, token).filter((target) => !isOidcReceiver(target.receiver));
    const urls = targets.map((target) => ({ receiver: target.receiver.name, path: target.path, url: target.url }));
    const previousTokenFile = current.token === undefined ? undefined : store.previousTokenFile(cluster);
    return { token, tokenFile: store.tokenFile(cluster), previousTokenFile, synth, urls, cluster: config };
  });
}

export interface TakeTokenResult {
  readonly tokenFile: string;
  /** Where a differing local token was kept aside. */
  readonly staleFile?: string;
  readonly changed: boolean;
}

/**
 * Makes the local token file hold the committed token (read with a key), keeping a local token that
 * differed as `webhook-token.stale`: what a clone does after pulling a rotation made elsewhere.
 */
export async function takeToken(cluster: string, options: CommandOptions = {}): Promise<TakeTokenResult> {
  const context = CommandContext.of(options);
  const { distDir, secretsDir } = context.paths;
  const config = context.cluster(cluster);
  const store = new TokenStore(secretsDir);
  return withRecoveredRepository(context.paths, async () => {
    const resolved = await resolveClusterToken(config, { distDir, secretsDir, env: { ...context.env, [tokenEnvironmentVariable(cluster)]: undefined } });
    if (!resolved.verified || resolved.token === undefined) {
      throw new CommandError(resolved.committed === undefined
        ? `${cluster} has no committed encrypted Secret to take the token from: ${missingTokenFix(config, { distDir, secretsDir, env: context.env })}`
        : `no age key here opens ${resolved.committed.file} (recipients: ${resolved.committed.state.recipients.join(', ')}): put one in ${store.ageKeyFile(cluster)} or SOPS_AGE_KEY_FILE`);
    }
    const tokenFile = store.tokenFile(cluster);
    const local = store.readPrivate(tokenFile);
    if (local === resolved.token) return { tokenFile, changed: false };
    let staleFile: string | undefined;
    if (local !== undefined) {
      staleFile = store.staleTokenFile(cluster);
      store.writePrivate(staleFile, local, { overwrite: true });
    }
    store.writePrivate(tokenFile, resolved.token, { overwrite: true });
    recordCommittedToken(store, cluster, resolved.committed!.text, resolved.token);
    return { tokenFile, staleFile, changed: true };
  });
}

export interface BindResult {
  readonly file: string;
  /** The file was re-encrypted with the binding; false when it was bound already. */
  readonly changed: boolean;
}

/**
 * Binds a committed encrypted Secret that an older version wrote without a cluster annotation to its
 * cluster: opens it with a key at hand (every stanza and the MAC checked) and encrypts the same token
 * again with the annotation. The caller vouches that the file is the cluster's own. Holds the lock.
 */
export async function bindSecret(cluster: string, options: CommandOptions & { now?: Date } = {}): Promise<BindResult> {
  const context = CommandContext.of(options);
  const config = context.cluster(cluster);
  const file = encryptedSecretFile(context.paths.distDir, cluster);
  if (!config.sops) throw new CommandError(`${cluster} has no sops.ageRecipients: it has no committed encrypted Secret to bind`);
  return withRecoveredRepository(context.paths, async () => {
    const committed = readCommittedSecret(config, context.paths.distDir, { unbound: true });
    if (committed === undefined) throw new CommandError(`${file} does not exist: run npm run synth`);
    if (committed.state.cluster !== undefined) return { file, changed: false };
    const synthOptions = { ...context.paths, env: context.env, now: options.now, bind: cluster };
    // planSynth fails, writing nothing, unless a key at hand opens the file.
    await writeSynthPlan(await planSynth(synthOptions), synthOptions);
    return { file, changed: true };
  });
}

/** The cluster as the fleet file now says, after age-key wrote it (the context holds the file as it was). */
function writtenCluster(context: CommandContext, cluster: string): ClusterConfig {
  return new CommandContext({ ...context.paths, env: context.env }).cluster(cluster);
}

function rotationReport(result: RotationResult): string {
  const { cluster } = result;
  const namespace = clusterNamespace(cluster);
  const lines = [`New webhook token for ${cluster.name} in ${result.tokenFile}${result.previousTokenFile ? ` (the old one is in ${result.previousTokenFile})` : ''}.`];
  lines.push(cluster.sops
    ? `1. Commit and push ${DEFAULT_PATHS.distDir}/${clusterDir(cluster.name)}/${CLUSTER_FILES.encryptedTokenSecret}; Flux applies the new Secret.`
    : `1. Apply the new Secret: kubectl apply -f ${result.synth.secretFiles.find((file) => file.includes(`/${cluster.name}/`)) ?? `${DEFAULT_PATHS.secretsDir}/${cluster.name}/${CLUSTER_FILES.tokenSecret}`}`);
  lines.push(`2. Let each Receiver pick it up: flux reconcile receiver <name> -n ${namespace}`);
  lines.push(`3. Update each repository webhook that points here: npm run webhook -- hook ${cluster.name} does it, or by hand:`);
  const receivers = clusterReceivers(cluster);
  const hosts = new Set<GitHost>();
  for (const { receiver, path, url } of result.urls) {
    const entry = receivers.find((candidate) => candidate.receiver.name === receiver);
    const repositories = (entry?.sources ?? []).map((source) => {
      const host = sourceHost(source, receiverTypeOf(entry!.receiver));
      if (host) hosts.add(host);
      return `${host?.name ?? 'Git'} ${source.url}`;
    });
    lines.push(`   Receiver ${receiver}${repositories.length > 0 ? ` (${[...new Set(repositories)].join(', ')})` : ''}: Payload URL ${url ?? exposureOf(cluster.webhook).urlTemplate(path)}`);
  }
  const secretLabels = [...new Set([...hosts].map((host) => host.secretLabel))].join(' / ') || 'Secret';
  lines.push(`   ${secretLabels}: the new token (cat ${result.tokenFile}); Content type: application/json.`);
  lines.push('Until both sides have the new token, deliveries get 404 (new path) or 400 (old signature).');
  const oidc = receiverKinds(cluster).oidc;
  if (oidc.length > 0) lines.push(`The generic-oidc Receiver${oidc.length === 1 ? '' : 's'} ${oidc.join(', ')} take${oidc.length === 1 ? 's' : ''} no token: ${oidc.length === 1 ? 'its' : 'their'} path and CI job stay as they are.`);
  return lines.join('\n');
}

/**
 * Whether a cluster's Receivers are all generic-oidc, which have no token to make, rotate, take or
 * encrypt: then each is named, one line each, and the command has nothing to do (exit 0).
 */
function saidNothingToDo(context: CommandContext, cluster: string): boolean {
  const config = context.cluster(cluster);
  if (needsWebhookToken(config)) return false;
  for (const receiver of config.receivers) console.log(oidcNothingToDo(config, receiver.name));
  return true;
}

export function buildProgram(): Command {
  // One context for the program, made from the environment, handed to every command.
  const context = new CommandContext(pathsFromEnvironment());
  const program = new Command('secrets')
    .description('age keys and webhook tokens of the fleet\'s clusters');
  program.command('age-key')
    .description('create a cluster\'s age key pair: the private key in secrets/<cluster>/age.agekey, the public key printed')
    .argument('<cluster>', 'a cluster of the fleet file')
    .option('--write-fleet', 'also add the public key to the cluster\'s sops.ageRecipients in the fleet file')
    .option('--replace-recipients', 'make the public key the cluster\'s only recipient in the fleet file (make a cluster your own; then rotate-token)')
    .option('--post-quantum', 'a hybrid post-quantum key (age1pq1...; needs sops 3.12+ and Flux 2.9+)')
    .action(async (cluster: string, flags: { writeFleet?: boolean; replaceRecipients?: boolean; postQuantum?: boolean }) => {
      if (saidNothingToDo(context, cluster)) return;
      const result = await createAgeKey(cluster, { context, ...flags });
      console.log(result.recipient);
      console.error(`private key: ${result.keyFile} (keep it out of git; give it to Flux:)`);
      console.error(`  kubectl -n ${result.namespace} create secret generic ${SOPS_AGE_SECRET} --from-file=${AGE_KEY_FILE}=${result.keyFile}`);
      console.error(!result.fleetUpdated
        ? 'add it to the cluster\'s sops.ageRecipients (or run again with --write-fleet)'
        : flags.replaceRecipients
          ? `it is now the only recipient in the fleet file; give the cluster a token encrypted for it: npm run secrets -- rotate-token ${cluster}`
          : `added to the fleet file; next, ${missingTokenFix(writtenCluster(context, cluster), { ...context.paths, env: context.env })}`);
    });
  program.command('rotate-token')
    .description('give a cluster a new webhook token, re-encrypt its Secret, and print what to update on the Git hosts')
    .argument('<cluster>', 'a cluster of the fleet file')
    .action(async (cluster: string) => {
      if (saidNothingToDo(context, cluster)) return;
      const result = await rotateToken(cluster, { context });
      for (const note of result.synth.notes) console.error(redact(`note: ${note}`));
      console.log(redact(rotationReport(result)));
    });
  program.command('bind')
    .description('bind the committed encrypted Secret an older version wrote to its cluster (re-encrypted with the same token; needs its age key)')
    .argument('<cluster>', 'a cluster of the fleet file, whose committed file is its own')
    .action(async (cluster: string) => {
      if (saidNothingToDo(context, cluster)) return;
      const result = await bindSecret(cluster, { context });
      console.log(result.changed ? `${result.file} is now bound to ${cluster}: commit and push it` : `${result.file} is bound to ${cluster} already`);
    });
  program.command('take-token')
    .description('replace the local token file with the committed token (after pulling a rotation made in another clone)')
    .argument('<cluster>', 'a cluster of the fleet file')
    .action(async (cluster: string) => {
      if (saidNothingToDo(context, cluster)) return;
      const result = await takeToken(cluster, { context });
      console.log(!result.changed
        ? `${result.tokenFile} already holds the committed token`
        : `${result.tokenFile} now holds the committed token${result.staleFile ? ` (the stale one is kept in ${result.staleFile})` : ''}`);
    });
  return program;
}

/** Runs the command line; returns the exit code: 0 ok, 1 failed, 2 bad usage. */
export function run(argv: string[], output?: ProgramOutput): Promise<number> {
  return runProgram(buildProgram(), argv, output);
}

runWhenMain(module, buildProgram);
