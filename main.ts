// The cdk8s app: reads the fleet file, builds one chart tree per cluster, and writes them to
// dist/clusters/<cluster>/. All I/O of synth lives here; the constructs in lib/ do none.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { App } from 'cdk8s';
import { OutputFile, TreeChange, writeGeneratedTree } from './lib/dist-writer';
import { planEncryptedSecret } from './lib/encrypted-secret';
import { Fleet, parseFleet } from './lib/fleet';
import { FluxCluster } from './lib/flux-cluster';
import { renderManifestFiles } from './lib/render';
import { planSopsConfig, SopsConfigPlan, writeSopsConfig } from './lib/sops-config';
import { clusterReadme } from './lib/cluster-readme';
import { TokenStore } from './lib/token-store';
import { generateWebhookToken } from './lib/webhook-token';
import { pathsFromEnvironment } from './lib/paths';

export interface SynthOptions {
  /** @default 'fleet.yaml' */
  readonly fleetFile?: string;
  /** @default 'dist' */
  readonly distDir?: string;
  /** The local, git-ignored folder for tokens and plaintext Secrets. @default 'secrets' */
  readonly secretsDir?: string;
  /** The sops CLI's rules file, generated to match what synth encrypts. @default '.sops.yaml' */
  readonly sopsConfigFile?: string;
  /**
   * Read (and create when missing) each cluster's webhook token: encrypt it into `dist/` for
   * clusters with age recipients, write its Secret manifest to the secrets folder for the others.
   * Off, synth reads no token and keeps the encrypted Secrets in `dist/` as they are.
   * @default true
   */
  readonly secrets?: boolean;
  /** Where tokens given as environment variables are looked up. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Tokens to use instead of the stored ones, by cluster (token rotation). @default none */
  readonly tokenOverrides?: ReadonlyMap<string, string>;
  /** The time written into newly encrypted files. @default now */
  readonly now?: Date;
}

/** What synth would write, computed without writing `dist/`. */
export interface SynthPlan {
  readonly fleet: Fleet;
  /** The generated files of `dist/`, relative to it. */
  readonly files: OutputFile[];
  /** Plaintext Secret manifests for the secrets folder, by cluster. */
  readonly secretManifests: { cluster: string; content: string }[];
  readonly sopsConfig: SopsConfigPlan;
  /** Tokens made for clusters that had none, to be stored before anything else is written. */
  readonly newTokens: { cluster: string; token: string }[];
  /** Encrypted Secret files written anew, with why. */
  readonly encrypted: string[];
  /** Things the user should know that are not errors. */
  readonly notes: string[];
}

export interface SynthResult extends SynthPlan {
  readonly dist: TreeChange;
  /** Plaintext Secret manifests written to the secrets folder, for `kubectl apply -f`. */
  readonly secretFiles: string[];
  /** Token files this run created. */
  readonly generatedTokens: string[];
}

function readIfExists(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

/**
 * Computes every file synth writes, reading the fleet file, the existing encrypted Secrets and
 * the tokens, and writing nothing: a token a cluster needs for the first time is made here and
 * stored by `synthesize` only once the whole fleet has rendered.
 */
export async function planSynth(options: SynthOptions = {}): Promise<SynthPlan> {
  const fleetFile = options.fleetFile ?? 'fleet.yaml';
  const distDir = options.distDir ?? 'dist';
  const store = new TokenStore(options.secretsDir ?? 'secrets');
  const env = options.env ?? process.env;
  const withSecrets = options.secrets ?? true;
  const now = options.now ?? new Date();

  let text: string;
  try {
    text = readFileSync(fleetFile, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the fleet file ${fleetFile}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  const fleet = parseFleet(text, fleetFile);
  // Checked before anything is written: a hand-written .sops.yaml is never replaced.
  const sopsConfig = planSopsConfig(options.sopsConfigFile ?? '.sops.yaml', distDir, options.secretsDir ?? 'secrets', fleet);

  const distFiles: OutputFile[] = [];
  const secretManifests: { cluster: string; content: string }[] = [];
  const newTokens: { cluster: string; token: string }[] = [];
  const encrypted: string[] = [];
  const notes: string[] = [];
  for (const config of fleet.clusters) {
    const clusterDir = `clusters/${config.name}`;
    const encryptedPath = `${clusterDir}/${FluxCluster.FILES.encryptedTokenSecret}`;
    const existingEncrypted = config.sops ? readIfExists(join(distDir, encryptedPath)) : undefined;

    let token = options.tokenOverrides?.get(config.name);
    if (token === undefined && withSecrets) {
      // A committed encrypted Secret means the cluster has a token already, elsewhere: never make a second one.
      token = store.read(config.name, env)?.token;
      if (token === undefined && existingEncrypted === undefined) {
        token = generateWebhookToken();
        newTokens.push({ cluster: config.name, token });
      } else if (token === undefined) {
        notes.push(`${config.name}: the webhook token is only in ${join(distDir, encryptedPath)} (encrypted); kept as it is`);
      }
    }

    // One app per cluster: synthesizing a chart validates its whole app.
    const app = new App();
    const cluster = new FluxCluster(app, config.name, { config, webhookToken: token });
    const rendered = renderManifestFiles(cluster);
    for (const file of rendered) {
      if (!file.sensitive) {
        distFiles.push({ path: `${clusterDir}/${file.path}`, content: file.content });
      } else if (!config.sops) {
        secretManifests.push({ cluster: config.name, content: file.content });
      }
    }
    if (config.sops) {
      const plaintext = rendered.find((file) => file.sensitive)?.content;
      const plan = await planEncryptedSecret({
        file: join(distDir, encryptedPath),
        existing: existingEncrypted,
        plaintext,
        recipients: config.sops.ageRecipients,
        name: cluster.tokenSecret.name,
        namespace: cluster.tokenSecret.namespace,
        now,
      });
      if (plan.rewritten) encrypted.push(`${encryptedPath} (${plan.rewritten})`);
      distFiles.push({ path: encryptedPath, content: plan.content });
    }
    distFiles.push({ path: `${clusterDir}/${FluxCluster.FILES.readme}`, content: clusterReadme(cluster) });
  }
  return { fleet, files: distFiles, secretManifests, sopsConfig, newTokens, encrypted, notes };
}

/** Synthesizes every cluster of the fleet file into `distDir`, or throws without writing it. */
export async function synthesize(options: SynthOptions = {}): Promise<SynthResult> {
  const plan = await planSynth(options);
  const store = new TokenStore(options.secretsDir ?? 'secrets');
  // Tokens first, then Secrets: if writing them fails, dist/ is still untouched, and dist/ never
  // holds an encrypted token that is not also stored here.
  const generatedTokens = plan.newTokens.map(({ cluster, token }) => {
    const file = store.tokenFile(cluster);
    store.writePrivate(file, token, { overwrite: false });
    return file;
  });
  const secretFiles = plan.secretManifests.map(({ cluster, content }) => {
    const file = store.secretManifestFile(cluster);
    store.writePrivate(file, content, { overwrite: true });
    return file;
  });
  const dist = writeGeneratedTree(options.distDir ?? 'dist', plan.files);
  writeSopsConfig(plan.sopsConfig);
  return { ...plan, dist, secretFiles, generatedTokens };
}

async function main(argv: string[]): Promise<number> {
  // Without secrets (CI, or a machine that must not hold tokens): no token is read or made.
  const secrets = !argv.includes('--no-secrets') && process.env.FLUX_INFRA_NO_SECRETS !== '1';
  try {
    const result = await synthesize({ ...pathsFromEnvironment(), secrets });
    const { written, removed } = result.dist;
    console.error(result.dist.changed
      ? `dist: ${written.length} file(s) written, ${removed.length} stale file(s) removed`
      : 'dist: up to date');
    for (const path of removed) console.error(`  removed ${path}`);
    for (const file of result.encrypted) console.error(`  encrypted ${file}`);
    for (const note of result.notes) console.error(`note: ${note}`);
    for (const file of result.generatedTokens) console.error(`new webhook token: ${file} (keep it; GitHub needs the same value)`);
    for (const file of result.secretFiles) console.error(`apply the token Secret yourself: kubectl apply -f ${file}`);
    // The cdk8s CLI expects its output folder and lists the manifests in it; give it a copy.
    const cdk8sOut = process.env.CDK8S_OUTDIR;
    for (const file of cdk8sOut ? result.files : []) {
      const target = join(cdk8sOut!, file.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, file.content);
    }
    return 0;
  } catch (error) {
    console.error(`synth failed, dist/ is unchanged:\n${(error as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
