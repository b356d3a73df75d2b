// Where synth and the tools find the fleet file and write: the defaults, relative to the working
// directory, unless the environment says otherwise (tests, other layouts).
import { dirname, join, resolve } from 'node:path';

export interface PathsOptions {
  /** @default 'fleet.yaml' */
  readonly fleetFile?: string;
  /** @default 'dist' */
  readonly distDir?: string;
  /** @default 'secrets' */
  readonly secretsDir?: string;
  /** @default '.sops.yaml' */
  readonly sopsConfigFile?: string;
}

/** The paths the commands use: the defaults, or FLUX_INFRA_FLEET / _DIST / _SECRETS when set. */
export function pathsFromEnvironment(env: NodeJS.ProcessEnv = process.env): Required<PathsOptions> {
  return {
    fleetFile: env.FLUX_INFRA_FLEET ?? 'fleet.yaml',
    distDir: env.FLUX_INFRA_DIST ?? 'dist',
    secretsDir: env.FLUX_INFRA_SECRETS ?? 'secrets',
    sopsConfigFile: env.FLUX_INFRA_SOPS_CONFIG ?? '.sops.yaml',
  };
}


/**
 * The repository lock that synth, rotate-token and age-key hold while they write: beside `dist/`,
 * so that every command working on the same dist/ and secrets/ takes the same lock.
 */
export function lockFileFor(distDir: string): string {
  return join(dirname(resolve(distDir)), '.flux-infra.lock');
}
