// The one place that decides a cluster's webhook token, for synth, rotate-token and every webhook
// command. This file does I/O (dist/, secrets/, the environment); constructs never do.
//
// Where a cluster has sops.ageRecipients, the committed encrypted Secret is the token: whoever holds
// one of its age keys reads the token from it, and a local copy that differs is stale (a rotation
// made in another clone). Without a key, the local token is used as it is, unverified.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hasGeneratedFiles } from '../output/dist-writer';
import { readRegularFile } from '../io/safe-read';
import { join } from 'node:path';
import { AgeIdentity, ageIdentitiesFor } from './age-identities';
import { refuseSymlinkBelow } from '../io/no-symlinks';
import { EncryptedSecretError, EncryptedSecretState, inspectEncryptedSecret, openEncryptedSecret } from './encrypted-secret';
import { tokenEnvironmentVariable, TokenStore } from './token-store';
import { ClusterConfig } from '../fleet/model';
import { CLUSTER_ANNOTATION, CLUSTER_FILES, clusterDir, WEBHOOK_TOKEN_SECRET } from '../layout';

export interface CommittedSecret {
  /** The file's path. */
  readonly file: string;
  /** Its bytes, kept as they are unless something it encrypts changed. */
  readonly text: string;
  readonly state: EncryptedSecretState;
}

export interface ClusterToken {
  /** The token to use, or undefined when none is here. */
  readonly token?: string;
  /** Where it came from, for messages. */
  readonly origin?: string;
  /** The token is the committed one, read with a key: it is what the cluster gets. */
  readonly verified: boolean;
  /** The committed encrypted Secret, for clusters with age recipients that have one. */
  readonly committed?: CommittedSecret;
  /** What the user should know: a stale local token. */
  readonly warnings: string[];
  /** The token may be stale (the committed file changed since it was checked) and no key is here to tell: commands must not use it. */
  readonly stale?: boolean;
}

/** sha256 of a text, hex: identifies committed bytes and tokens in the local record. */
function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * What `secrets/<cluster>/webhook-token.committed` holds: the hashes of the committed file's bytes and
 * of the token file's token when a key showed that the one holds the other. While both still match,
 * the token file is the committed token without opening the file again (age's X25519 is the
 * costly part of a synth), and without a key a committed file that changed since (a pulled
 * rotation) is told apart from one that did not. It stays in the local, 0600 secrets folder.
 */
function committedRecord(committedText: string, token: string): string {
  return `${JSON.stringify({ committed: digest(committedText), token: digest(token) })}\n`;
}

/** Records that the token file holds `token`, the token of the committed file `committedText`, if it does. */
export function recordCommittedToken(store: TokenStore, cluster: string, committedText: string, token: string): void {
  if (store.fromFile(cluster)?.token !== token) return;
  const record = committedRecord(committedText, token);
  if (store.readPrivate(store.committedRecordFile(cluster)) !== record) store.writePrivate(store.committedRecordFile(cluster), record, { overwrite: true, durable: false });
}

type RecordMatch = 'matches' | 'committed-changed' | 'none';

function recordMatch(store: TokenStore, cluster: string, committedText: string, token: string): RecordMatch {
  const text = store.readPrivate(store.committedRecordFile(cluster));
  if (text === undefined) return 'none';
  try {
    const record = JSON.parse(text);
    if (record.token !== digest(token)) return 'none';
    return record.committed === digest(committedText) ? 'matches' : 'committed-changed';
  } catch {
    return 'none';
  }
}

export interface ClusterTokenOptions {
  readonly distDir: string;
  readonly secretsDir: string;
  readonly env: NodeJS.ProcessEnv;
  /**
   * Read tokens and keys at all. Off (CI), only the committed file is read and checked.
   * @default true
   */
  readonly secrets?: boolean;
  /**
   * The committed file is about to be replaced (a rotation): one that is malformed or edited is
   * passed over instead of being an error, since rotating is the way to replace it.
   * @default false
   */
  readonly replacing?: boolean;
  /**
   * A committed file bound to no cluster (written by an older version) is read instead of refused:
   * `secrets -- bind` is about to bind it. The file is then opened with a key whatever the record says.
   * @default false
   */
  readonly binding?: boolean;
}

/** Path of a cluster's committed encrypted Secret. */
export function encryptedSecretFile(distDir: string, cluster: string): string {
  return join(distDir, clusterDir(cluster), CLUSTER_FILES.encryptedTokenSecret);
}

/**
 * Reads and checks a cluster's committed encrypted Secret, if it has one; one line naming the file and
 * the fix otherwise. A file bound to another cluster is refused by that cluster's name; one bound to
 * none (an older version's) is refused with how to bind it, unless `unbound` lets it through.
 */
export function readCommittedSecret(cluster: ClusterConfig, distDir: string, options: { unbound?: boolean } = {}): CommittedSecret | undefined {
  const file = encryptedSecretFile(distDir, cluster.name);
  if (!cluster.sops) return undefined;
  refuseSymlinkBelow(distDir, file);
  const text = readRegularFile(file);
  if (text === undefined) return undefined;
  let state: EncryptedSecretState;
  try {
    state = inspectEncryptedSecret(text);
  } catch (error) {
    if (!(error instanceof EncryptedSecretError)) throw error;
    throw committedFileError(file, error.message);
  }
  if (state.name !== WEBHOOK_TOKEN_SECRET) {
    throw committedFileError(file, `it holds Secret ${state.name}, but the Receivers read ${WEBHOOK_TOKEN_SECRET}`);
  }
  if (state.cluster !== undefined && state.cluster !== cluster.name) {
    throw committedFileError(file, `it is the token Secret of cluster ${JSON.stringify(state.cluster)} (its ${CLUSTER_ANNOTATION} annotation), not of ${cluster.name}: it was copied from there`);
  }
  if (state.cluster === undefined && !options.unbound) {
    throw new Error(`${file}: it is bound to no cluster (no ${CLUSTER_ANNOTATION} annotation: an older flux-infra wrote it); if it is ${cluster.name}'s own (git log -- ${file}), bind it where its age key is: npm run secrets -- bind ${cluster.name}; otherwise rotate the token`);
  }
  return { file, text, state };
}

function committedFileError(file: string, what: string): Error {
  return new Error(`${file}: ${what}; it is left as it is: restore it from git (git checkout -- ${file}), or rotate the token`);
}

/**
 * The cluster's token and where it came from. For a cluster with age recipients and a committed
 * Secret that a key at hand opens, that Secret's token, and:
 * - its environment variable holding another token is an error (it would be encrypted over a rotation);
 * - a local token file holding another one is stale: a warning says how to replace it.
 * Otherwise the variable, else the token file. A committed file that is malformed or does not
 * open with its own recipient's key is an error.
 */
export async function resolveClusterToken(cluster: ClusterConfig, options: ClusterTokenOptions): Promise<ClusterToken> {
  const store = new TokenStore(options.secretsDir);
  let committed: CommittedSecret | undefined;
  try {
    committed = readCommittedSecret(cluster, options.distDir, { unbound: options.binding });
  } catch (error) {
    if (!options.replacing) throw error;
  }
  if (options.secrets === false) return { verified: false, committed, warnings: [] };

  const fromEnvironment = store.fromEnvironment(cluster.name, options.env);
  const fromFile = store.fromFile(cluster.name);
  const local = fromEnvironment ?? fromFile;
  if (committed === undefined) return { ...local, verified: false, warnings: [] };
  const record = fromFile === undefined ? 'none' : recordMatch(store, cluster.name, committed.text, fromFile.token);
  // Binding opens the file again: a record an older version wrote vouches for fewer checks.
  if (record === 'matches' && !options.binding && (fromEnvironment === undefined || fromEnvironment.token === fromFile!.token)) {
    return { token: fromFile!.token, origin: fromFile!.origin, verified: true, committed, warnings: [] };
  }

  const identities: AgeIdentity[] = await ageIdentitiesFor(cluster.name, store, options.env);
  let opened;
  try {
    opened = await openEncryptedSecret(committed.text, identities);
  } catch (error) {
    if (!(error instanceof EncryptedSecretError)) throw error;
    if (options.replacing) return { ...local, verified: false, warnings: [] };
    throw committedFileError(committed.file, error.message);
  }
  if (opened === undefined) {
    // No key: a token file checked against an older committed file may be stale (a rotation was pulled).
    const warnings = record === 'committed-changed' && local === fromFile
      ? [`${fromFile!.origin} may be stale: ${committed.file} changed since this token was checked against it (a rotation or a re-encryption pulled?); put an age key that opens it in ${store.ageKeyFile(cluster.name)} or SOPS_AGE_KEY_FILE and run npm run secrets -- take-token ${cluster.name} (or, if you know the token is current, give it in ${tokenEnvironmentVariable(cluster.name)})`]
      : [];
    return { ...local, verified: false, stale: warnings.length > 0, committed, warnings };
  }

  const origin = `${committed.file} (opened with ${opened.identity.origin})`;
  const warnings: string[] = [];
  if (local !== undefined && local.token !== opened.token) {
    const variable = tokenEnvironmentVariable(cluster.name);
    if (local.origin === variable) {
      throw new Error(`${variable} holds another token than the committed ${committed.file}: unset it (to change the token, run npm run secrets -- rotate-token ${cluster.name})`);
    }
    warnings.push(`${local.origin} is stale: the committed ${committed.file} holds another token (rotated in another clone?), and that one is used; to replace the local copy run npm run secrets -- take-token ${cluster.name}`);
  }
  return { token: opened.token, origin, verified: true, committed, warnings };
}

/**
 * The one fix every message about a missing token suggests (synth's notes and failures, url, ping,
 * hook, doctor, take-token, age-key), so that they never disagree. A token this clone holds but a
 * plan without secrets did not read (doctor's) is encrypted by synth; a cluster synth has not
 * written yet gets a new token from synth. One written before has its token elsewhere: whoever set
 * it up has it (or a key that opens the committed Secret), or a new token replaces it; for a cluster
 * with SOPS and no age key here (a default cluster made one's own), a key of one's own comes first.
 */
export function missingTokenFix(cluster: ClusterConfig, paths: { distDir: string; secretsDir: string; env: NodeJS.ProcessEnv }): string {
  const name = cluster.name;
  const store = new TokenStore(paths.secretsDir);
  if (paths.env[tokenEnvironmentVariable(name)] || existsSync(store.tokenFile(name))) {
    return 'run npm run synth, which uses the token this clone holds';
  }
  if (!hasGeneratedFiles(paths.distDir, join(paths.distDir, clusterDir(name)))) {
    return 'run npm run synth, which makes a token for a cluster new to the fleet';
  }
  const holder = `set ${tokenEnvironmentVariable(name)} or put the token in ${store.tokenFile(name)} (whoever set up the webhook has it)`;
  const committed = encryptedSecretFile(paths.distDir, name);
  const ask = cluster.sops && existsSync(committed) ? `put an age key that opens ${committed} in ${store.ageKeyFile(name)} or SOPS_AGE_KEY_FILE (whoever set up the cluster has one)` : holder;
  return `${ask}, or ${newTokenFix(cluster, paths.secretsDir)}`;
}

/** The second half of missingTokenFix: a new token, for a cluster with SOPS encrypted for a key of one's own (made first if there is none here). */
export function newTokenFix(cluster: ClusterConfig, secretsDir: string): string {
  const rotate = `npm run secrets -- rotate-token ${cluster.name}`;
  if (!cluster.sops) return `give the cluster a new one: ${rotate}`;
  const ownKey = existsSync(new TokenStore(secretsDir).ageKeyFile(cluster.name));
  return `give the cluster a new token encrypted for your key: ${ownKey ? rotate : `npm run secrets -- age-key ${cluster.name} --replace-recipients, then ${rotate}`}`;
}
