// Local, git-ignored storage of webhook tokens and of the plaintext Secret manifests made from them.
// This file does I/O: synth and the command-line tools use it; constructs never do.
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { readRegularFile } from '../io/safe-read';
import { join } from 'node:path';
import { writeFileAtomically } from '../io/atomic-file';
import { refuseSymlinkBelow, refuseUnsafePrivateFolder } from '../io/no-symlinks';
import { webhookTokenProblem } from '../fleet/webhook-token';
import { AGE_KEY_FILE, CLUSTER_FILES } from '../layout';

/** Where a cluster's token can come from instead of the file: `FLUX_INFRA_WEBHOOK_TOKEN_STAGING`. */
export function tokenEnvironmentVariable(cluster: string): string {
  return `FLUX_INFRA_WEBHOOK_TOKEN_${cluster.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

export interface ResolvedToken {
  readonly token: string;
  /** Where it came from, for messages: an environment variable or a file path. */
  readonly origin: string;
}

/** The local secrets folder: one 0700 directory per cluster, 0600 files. */
export class TokenStore {
  /** Folders made private already by this store: once each, not once per file. */
  private readonly privateFolders = new Set<string>();

  public constructor(public readonly directory: string) {}

  /** Path of a cluster's token file. */
  public tokenFile(cluster: string): string {
    return join(this.directory, cluster, 'webhook-token');
  }

  /** Path of a cluster's plaintext Secret manifest, for `kubectl apply -f`. */
  public secretManifestFile(cluster: string): string {
    return join(this.directory, cluster, CLUSTER_FILES.tokenSecret);
  }

  /** The token its environment variable gives, if set; a malformed one is an error. */
  public fromEnvironment(cluster: string, env: NodeJS.ProcessEnv): ResolvedToken | undefined {
    const variable = tokenEnvironmentVariable(cluster);
    const value = env[variable];
    return value === undefined || value === '' ? undefined : { token: checkToken(value, variable), origin: variable };
  }

  /** The token in the cluster's token file, if there is one; a malformed one is an error. */
  public fromFile(cluster: string): ResolvedToken | undefined {
    const file = this.tokenFile(cluster);
    const text = this.readPrivate(file);
    return text === undefined ? undefined : { token: checkToken(text, file), origin: file };
  }

  /** Removes what a killed writer left in the cluster's folder (`*.tmp`). Call it holding the repository lock. */
  public removeTemporaryFiles(cluster: string): void {
    const folder = join(this.directory, cluster);
    this.checkPath(folder);
    if (!existsSync(folder)) return;
    for (const name of readdirSync(folder)) {
      if (name.endsWith('.tmp')) rmSync(join(folder, name), { force: true });
    }
  }

  /**
   * Writes a 0600 file in a 0700 folder with `writeFileAtomically` (with overwrite false, an
   * existing file is an error, never replaced). A kill leaves at most a `*.tmp` file, which
   * `removeTemporaryFiles` clears. Synced to disk unless `durable` is false.
   */
  public writePrivate(file: string, content: string, options: { overwrite: boolean; durable?: boolean }): void {
    this.checkPath(file);
    this.ensurePrivateDirectory(join(file, '..'));
    // A token must survive a power cut once synth has used it; a cache (durable: false) need not.
    writeFileAtomically(file, content, { mode: 0o600, overwrite: options.overwrite, durable: options.durable ?? true });
  }

  /** Reads a private file, or undefined when it does not exist. Never through a link. */
  public readPrivate(file: string): string | undefined {
    this.checkPath(file);
    return readRegularFile(file);
  }

  /** Refuses a secrets folder that is a link, foreign or writable by others, and a link on the way to `path` below it. */
  private checkPath(path: string): void {
    if (!this.privateFolders.has(this.directory)) refuseUnsafePrivateFolder(this.directory);
    refuseSymlinkBelow(this.directory, path);
  }

  /** Removes a private file if it exists (a link is removed, never followed). */
  public remove(file: string): void {
    this.checkPath(join(file, '..'));
    rmSync(file, { force: true });
  }

  /** Path of the token a rotation replaced: GitHub may still sign with it until it is updated. */
  public previousTokenFile(cluster: string): string {
    return `${this.tokenFile(cluster)}.previous`;
  }

  /** Path of a local token that differed from the committed one, kept aside by `take-token`. */
  public staleTokenFile(cluster: string): string {
    return `${this.tokenFile(cluster)}.stale`;
  }

  /**
   * Path of the record that the token file holds the token of the committed encrypted Secret whose
   * bytes have a given hash, as checked with a key (see cluster-token.ts).
   */
  public committedRecordFile(cluster: string): string {
    return `${this.tokenFile(cluster)}.committed`;
  }

  /** Path of the journal of a token rotation under way (see token-rotation.ts). */
  public rotationJournalFile(cluster: string): string {
    return join(this.directory, cluster, 'rotation.json');
  }

  /** Path of a cluster's age identity (private key), in age-keygen's format. */
  public ageKeyFile(cluster: string): string {
    return join(this.directory, cluster, AGE_KEY_FILE);
  }

  private ensurePrivateDirectory(directory: string): void {
    for (const folder of [this.directory, directory]) {
      if (this.privateFolders.has(folder)) continue;
      refuseUnsafePrivateFolder(folder);
      mkdirSync(folder, { recursive: true, mode: 0o700 });
      chmodSync(folder, 0o700);
      this.privateFolders.add(folder);
    }
  }
}

export function checkToken(token: string, origin: string): string {
  const problem = webhookTokenProblem(token);
  if (problem) {
    throw new Error(`webhook token in ${origin} ${problem}`);
  }
  return token;
}
