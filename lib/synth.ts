// The one pipeline: read the fleet file and the committed Secrets, plan every file synth writes,
// then write them holding the repository lock. main.ts and the tools call it; it does the I/O of synth.
import { join } from 'node:path';
import { App } from 'cdk8s';
import { Construct } from 'constructs';
import { hasGeneratedFiles, interruptedWriteProblem, OutputFile, plannedTreeChange, TreeChange, writeGeneratedTree } from './output/dist-writer';
import { planEncryptedSecret } from './secrets/encrypted-secret';
import { ClusterToken, encryptedSecretFile, missingTokenFix, recordCommittedToken, resolveClusterToken } from './secrets/cluster-token';
import { needsWebhookToken } from './hosts/oidc';
import { failpoint } from './io/failpoint';
import { withSignalsDeferred } from './io/signals';
import { recoveryNotes } from './secrets/token-rotation';
import { FLEET_FILE_LIMIT_BYTES, parseFleet } from './fleet/parse';
import { readRegularFile, UnsafeFileError } from './io/safe-read';
import { FluxCluster } from './constructs/flux-cluster';
import { renderManifestFiles } from './output/render';
import { planSopsConfig, SopsConfigPlan, writeSopsConfig } from './output/sops-config';
import { clusterReadme } from './output/cluster-readme';
import { TokenStore } from './secrets/token-store';
import { generateWebhookToken } from './fleet/webhook-token';
import { CLUSTER_FILES, clusterDir, lockFileFor, PathsOptions, renderCacheFileFor, resolvePaths } from './layout';
import { RenderCache } from './output/render-cache';
import { constructIdOf } from './constructs/prototype-names';
import { clusterNamespace, Fleet } from './fleet/model';
import { withRecoveredRepository } from './repository';
import { withLock } from './io/repository-lock';

export interface SynthOptions extends PathsOptions {
  /** The fleet, when the caller has parsed the fleet file already. @default - read and parsed here */
  readonly fleet?: Fleet;
  /**
   * Read (and create when missing) each cluster's webhook token: encrypt it into `dist/` for
   * clusters with age recipients, write its Secret manifest to the secrets folder for the others.
   * Off, synth reads no token and keeps the encrypted Secrets in `dist/` as they are.
   * @default true
   */
  readonly secrets?: boolean;
  /** Where tokens given as environment variables are looked up. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** New tokens by cluster, written in place of the current ones (token rotation). @default none */
  readonly tokenOverrides?: ReadonlyMap<string, string>;
  /** A cluster whose committed encrypted Secret, bound to no cluster (an older version's), is re-encrypted bound to it (`secrets -- bind`). */
  readonly bind?: string;
  /** The time written into newly encrypted files. @default now */
  readonly now?: Date;
  /**
   * The code that runs (the launcher's bundle). Given, clusters whose fleet entry and files in
   * `dist/` are as this code left them are not rendered again (lib/output/render-cache.ts).
   * @default - every cluster is rendered
   */
  readonly build?: string;
  /**
   * When a write a killed synth left is rolled back, keep each file changed since it (a pull, an
   * edit) as it is instead of stopping (lib/output/dist-writer.ts). @default false
   */
  readonly keepChanged?: boolean;
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
  /** The token each committed encrypted Secret holds, where known: recorded beside the token file. */
  readonly committedTokens: { cluster: string; content: string; token: string }[];
  /** What was rendered from what, saved once `dist/` is written. */
  readonly renderCache?: RenderCache;
}

export interface SynthResult extends SynthPlan {
  readonly dist: TreeChange;
  /** Plaintext Secret manifests written to the secrets folder, for `kubectl apply -f`. */
  readonly secretFiles: string[];
  /** Token files this run created. */
  readonly generatedTokens: string[];
}

/**
 * The fleet file's text, read as every file flux-infra did not write itself (lib/io/safe-read.ts):
 * a link, a FIFO, a file over FLEET_FILE_LIMIT_BYTES or invalid UTF-8 is refused in one line.
 */
export function readFleetText(fleetFile: string): string {
  let text: string | undefined;
  try {
    text = readRegularFile(fleetFile, { maxBytes: FLEET_FILE_LIMIT_BYTES, what: `the fleet file ${fleetFile}` });
  } catch (error) {
    if (error instanceof UnsafeFileError) throw error;
    throw new Error(`cannot read the fleet file ${fleetFile}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  if (text === undefined) throw new Error(`cannot read the fleet file ${fleetFile}: ENOENT`);
  return text;
}

/** Reads and parses the fleet file; one line when it cannot be read, a FleetError when it is wrong. */
export function readFleet(fleetFile: string, cache?: RenderCache): Fleet {
  const text = readFleetText(fleetFile);
  return cache === undefined ? parseFleet(text, fleetFile) : cache.fleet(text, fleetFile);
}

/**
 * Computes every file synth writes, reading the fleet file, the committed encrypted Secrets and
 * the tokens, and writing nothing: a token a new cluster needs is made here and stored by
 * `synthesize` only once the whole fleet has rendered.
 */
export async function planSynth(options: SynthOptions = {}): Promise<SynthPlan> {
  const { fleetFile, distDir, secretsDir, sopsConfigFile } = resolvePaths(options);
  const env = options.env ?? process.env;
  const withSecrets = options.secrets ?? true;
  const now = options.now ?? new Date();
  const store = new TokenStore(secretsDir);
  const cache = options.build === undefined ? undefined : new RenderCache(renderCacheFileFor(distDir), options.build);

  const fleet = options.fleet ?? readFleet(fleetFile, cache);
  // Checked before anything is written: a hand-written .sops.yaml is never replaced.
  const sopsConfig = planSopsConfig(sopsConfigFile, distDir, secretsDir, fleet);

  const distFiles: OutputFile[] = [];
  const secretManifests: { cluster: string; content: string }[] = [];
  const newTokens: { cluster: string; token: string }[] = [];
  const encrypted: string[] = [];
  const notes: string[] = [];
  const committedTokens: { cluster: string; content: string; token: string }[] = [];
  for (const config of fleet.clusters) {
    const treeDir = clusterDir(config.name);
    const rotated = options.tokenOverrides?.get(config.name);
    // A cluster whose Receivers all take OIDC tokens has no webhook token: none made, read or encrypted.
    const tokenless = !needsWebhookToken(config);
    const resolved: ClusterToken = tokenless
      ? { verified: false, warnings: [] }
      : await resolveClusterToken(config, { distDir, secretsDir, env, secrets: withSecrets, replacing: rotated !== undefined, binding: options.bind === config.name });
    notes.push(...resolved.warnings);
    let token = tokenless ? undefined : rotated ?? resolved.token;
    if (token === undefined && withSecrets && !tokenless) {
      if (resolved.committed !== undefined) {
        notes.push(`${config.name}: the webhook token is only in ${resolved.committed.file} (encrypted, no key for it here), kept as it is; to use it here, ${missingTokenFix(config, { distDir, secretsDir, env })}`);
      } else if (hasGeneratedFiles(distDir, join(distDir, treeDir))) {
        // An existing cluster has a token elsewhere: a new one here would not match GitHub's.
        notes.push(`${config.name}: no webhook token here (the cluster exists, so its token is elsewhere), and its Secret manifest is not written; ${missingTokenFix(config, { distDir, secretsDir, env })}`);
      } else {
        token = generateWebhookToken();
        newTokens.push({ cluster: config.name, token });
      }
    }

    const namespace = clusterNamespace(config);
    const inputs = cache?.inputsOf(config, token !== undefined);
    let clusterFiles = inputs === undefined ? undefined : cache!.reuse(config.name, inputs, distDir);
    let plaintext: string | undefined;
    if (clusterFiles === undefined) {
      // One app per cluster: synthesizing a chart validates its whole app.
      const cluster = new FluxCluster(new App(), constructIdOf(config.name), { config, webhookToken: token });
      const rendered = renderManifestFiles(cluster);
      plaintext = rendered.find((file) => file.sensitive)?.content;
      clusterFiles = [
        ...rendered.filter((file) => !file.sensitive).map((file) => ({ path: `${treeDir}/${file.path}`, content: file.content })),
        { path: `${treeDir}/${CLUSTER_FILES.readme}`, content: clusterReadme(cluster) },
      ];
    } else if (token !== undefined) {
      plaintext = renderTokenSecret(token, namespace, config.name);
    }
    if (inputs !== undefined) cache!.record(config.name, inputs, clusterFiles);
    distFiles.push(...clusterFiles);
    if (plaintext !== undefined && !config.sops) secretManifests.push({ cluster: config.name, content: plaintext });
    if (config.sops && !tokenless) {
      const plan = await planEncryptedSecret({
        file: encryptedSecretFile(distDir, config.name),
        committed: resolved.committed,
        plaintext,
        rotated: rotated !== undefined,
        verified: resolved.verified,
        recipients: config.sops.ageRecipients,
        namespace,
        cluster: config.name,
        keyFile: store.ageKeyFile(config.name),
        missingTokenFix: () => missingTokenFix(config, { distDir, secretsDir, env }),
        now,
      });
      if (plan.rewritten) encrypted.push(`${treeDir}/${CLUSTER_FILES.encryptedTokenSecret} (${plan.rewritten})`);
      if (plan.note) notes.push(plan.note);
      const held = plan.rewritten ? token : resolved.verified ? resolved.token : undefined;
      if (held !== undefined) committedTokens.push({ cluster: config.name, content: plan.content, token: held });
      distFiles.push({ path: `${treeDir}/${CLUSTER_FILES.encryptedTokenSecret}`, content: plan.content });
    }
  }
  return { fleet, files: distFiles, secretManifests, sopsConfig, newTokens, encrypted, notes, committedTokens, renderCache: cache };
}

/**
 * What a synth with `options` would change in dist/ and the sops config, one entry per file
 * (`dist/clusters/a/apps.yaml (changed)`), writing nothing: [] when both are up to date; throws
 * when a killed synth left dist/ half-written (the next synth puts it right first). Holds the
 * repository lock, so a synth running now is waited for rather than read half-way.
 */
export async function checkSynth(options: SynthOptions = {}): Promise<string[]> {
  const paths = resolvePaths(options);
  return withLock(lockFileFor(paths.distDir), async () => {
    // A killed synth's leftovers are put right by the next synth, before it compares anything.
    const interrupted = interruptedWriteProblem(paths.distDir);
    if (interrupted !== undefined) throw new Error(interrupted);
    const plan = await planSynth(options);
    const tree = plannedTreeChange(paths.distDir, plan.files);
    const added = new Set(tree.added);
    const changes = [
      ...tree.written.map((path) => `${join(paths.distDir, path)} (${added.has(path) ? 'new' : 'changed'})`),
      ...tree.removed.map((path) => `${join(paths.distDir, path)} (removed)`),
    ];
    const sopsConfig = readRegularFile(plan.sopsConfig.file);
    if (sopsConfig !== plan.sopsConfig.content) {
      changes.push(`${plan.sopsConfig.file} (${plan.sopsConfig.content === undefined ? 'removed' : sopsConfig === undefined ? 'new' : 'changed'})`);
    }
    return changes;
  });
}

/** The token Secret's manifest alone, for a cluster whose other files come from the render cache. */
function renderTokenSecret(token: string, namespace: string, cluster: string): string {
  const scope = new Construct(new App(), 'TokenSecret');
  FluxCluster.addTokenSecret(scope, token, namespace, cluster);
  return renderManifestFiles(scope)[0].content;
}

/** Synthesizes every cluster of the fleet file into `distDir`, holding the repository lock, or throws without writing it. */
export async function synthesize(options: SynthOptions = {}): Promise<SynthResult> {
  return withRecoveredRepository(resolvePaths(options), async (recovered) => {
    const result = await synthesizeHoldingLock(options);
    return { ...result, notes: [...recoveryNotes(recovered), ...result.notes] };
  }, { keepChanged: options.keepChanged });
}

/** `synthesize` for a caller that holds the repository lock and has recovered the repository. */
async function synthesizeHoldingLock(options: SynthOptions = {}): Promise<SynthResult> {
  return writeSynthPlan(await planSynth(options), options);
}

/** A step after the dist/ write failed: dist/ holds what synth wrote (`dist` says what), the rest is left to do. */
export class AfterDistWriteError extends Error {
  constructor(message: string, readonly dist: TreeChange) {
    super(message);
  }
}

/** Runs a step that comes after the dist/ write, saying on failure which step and what is left to do. */
function afterDist(dist: TreeChange, what: string, step: () => void): void {
  try {
    step();
  } catch (error) {
    throw new AfterDistWriteError(`${what} (${(error as Error).message}): fix that and run it again, which writes what is left`, dist);
  }
}

/** Writes what `planSynth` planned, holding the repository lock (token rotation plans first, then journals, then writes). */
export async function writeSynthPlan(plan: SynthPlan, options: SynthOptions = {}): Promise<SynthResult> {
  const { secretsDir, distDir } = resolvePaths(options);
  const store = new TokenStore(secretsDir);
  // Tokens first: dist/ never holds an encrypted token that is not also stored here.
  const generatedTokens = plan.newTokens.map(({ cluster, token }) => {
    const file = store.tokenFile(cluster);
    store.writePrivate(file, token, { overwrite: false });
    return file;
  });
  failpoint('synth-tokens-stored');
  // Ctrl-C or SIGTERM while dist/ is written lets the write finish (or roll back), then ends synth.
  const dist = await withSignalsDeferred(() => writeGeneratedTree(distDir, plan.files));
  plan.renderCache?.save();
  // After dist/: a failed write leaves the Secret manifests as they were, matching the tokens in use.
  const secretFiles = plan.secretManifests.map(({ cluster, content }) => {
    const file = store.secretManifestFile(cluster);
    afterDist(dist, `cannot write the token Secret manifest ${file}`, () => {
      if (store.readPrivate(file) !== content) store.writePrivate(file, content, { overwrite: true });
    });
    return file;
  });
  afterDist(dist, `cannot write ${plan.sopsConfig.file}`, () => writeSopsConfig(plan.sopsConfig));
  for (const { cluster, content, token } of plan.committedTokens) {
    afterDist(dist, `cannot record in ${store.committedRecordFile(cluster)} which committed Secret the token was checked against`, () => recordCommittedToken(store, cluster, content, token));
  }
  return { ...plan, dist, secretFiles, generatedTokens };
}
