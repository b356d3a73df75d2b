// Local, git-ignored storage of webhook tokens and of the plaintext Secret manifests made from them.
// This file does I/O: main.ts and the command-line tools use it; constructs never do.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { webhookTokenProblem } from './webhook-token';

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
  public constructor(public readonly directory: string) {}

  /** Path of a cluster's token file. */
  public tokenFile(cluster: string): string {
    return join(this.directory, cluster, 'webhook-token');
  }

  /** Path of a cluster's plaintext Secret manifest, for `kubectl apply -f`. */
  public secretManifestFile(cluster: string): string {
    return join(this.directory, cluster, 'webhook-token-secret.yaml');
  }

  /**
   * The cluster's token: from its environment variable, else from its file. Returns undefined
   * when neither exists; a malformed token is an error (it would never match GitHub's).
   */
  public read(cluster: string, env: NodeJS.ProcessEnv): ResolvedToken | undefined {
    const variable = tokenEnvironmentVariable(cluster);
    const fromEnv = env[variable];
    if (fromEnv !== undefined && fromEnv !== '') {
      return { token: checkToken(fromEnv, variable), origin: variable };
    }
    const file = this.tokenFile(cluster);
    if (!existsSync(file)) return undefined;
    return { token: checkToken(readFileSync(file, 'utf8'), file), origin: file };
  }

  /**
   * Writes a 0600 file in a 0700 folder, atomically (temp file + rename), so a reader never
   * sees half a file. With overwrite false an existing file is an error, never replaced.
   */
  public writePrivate(file: string, content: string, options: { overwrite: boolean }): void {
    this.ensurePrivateDirectory(join(file, '..'));
    if (!options.overwrite && existsSync(file)) {
      throw new Error(`${file} already exists; refusing to replace it`);
    }
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, content, { mode: 0o600, flag: 'wx' });
      renameSync(temporary, file);
    } finally {
      rmSync(temporary, { force: true });
    }
  }

  /** Path of a cluster's age identity (private key), in age-keygen's format. */
  public ageKeyFile(cluster: string): string {
    return join(this.directory, cluster, 'age.agekey');
  }

  /**
   * Replaces the cluster's token with `token`, keeping the old one as `webhook-token.previous`:
   * a rotation must not lose the token GitHub still signs with until it is updated.
   */
  public replaceToken(cluster: string, token: string): void {
    checkToken(token, 'the new token');
    const file = this.tokenFile(cluster);
    const next = `${file}.next`;
    this.writePrivate(next, token, { overwrite: true });
    if (existsSync(file)) renameSync(file, `${file}.previous`);
    renameSync(next, file);
  }

  private ensurePrivateDirectory(directory: string): void {
    for (const folder of [this.directory, directory]) {
      mkdirSync(folder, { recursive: true, mode: 0o700 });
      chmodSync(folder, 0o700);
    }
  }
}

function checkToken(token: string, origin: string): string {
  const problem = webhookTokenProblem(token);
  if (problem) {
    throw new Error(`webhook token in ${origin} ${problem}`);
  }
  return token;
}
