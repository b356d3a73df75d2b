// `npm run secrets -- <command>`: a cluster's age key pair and webhook token rotation.
// The logic is exported apart from the command line so tests call it directly.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { Command } from 'commander';
import { isMap, isSeq, parseDocument } from 'yaml';
import { synthesize, SynthResult } from '../main';
import { parseFleet } from '../lib/fleet';
import { ClusterConfig, FluxCluster } from '../lib/flux-cluster';
import { tokenEnvironmentVariable, TokenStore } from '../lib/token-store';
import { receiverTargets } from './webhook/context';
import { clusterOf, CommandError, PathsOptions, pathsFromEnvironment, ProgramOutput, runProgram, runWhenMain } from './common';
import { generateWebhookToken } from '../lib/webhook-token';


export interface AgeKeyResult {
  readonly recipient: string;
  readonly keyFile: string;
  readonly fleetUpdated: boolean;
}

/**
 * Creates a cluster's age identity in the secrets folder (0600, age-keygen's format) and returns
 * its public key; with `writeFleet`, adds that key to the cluster's `sops.ageRecipients`,
 * keeping the fleet file's comments. An existing key is never replaced.
 */
export async function createAgeKey(cluster: string, options: PathsOptions & { writeFleet?: boolean; now?: Date } = {}): Promise<AgeKeyResult> {
  const fleetFile = options.fleetFile ?? 'fleet.yaml';
  clusterOf(fleetFile, cluster);
  const store = new TokenStore(options.secretsDir ?? 'secrets');
  const keyFile = store.ageKeyFile(cluster);
  if (existsSync(keyFile)) {
    throw new CommandError(`${keyFile} exists already; it is kept. To use another key, move it away first (the Secret in the cluster must change with it)`);
  }
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  let fleetText: string | undefined;
  if (options.writeFleet) {
    const document = parseDocument(readFileSync(fleetFile, 'utf8'));
    const path = ['clusters', cluster, 'sops', 'ageRecipients'];
    const existing = document.getIn(path);
    if (isSeq(existing)) existing.add(recipient);
    else if (isMap(document.getIn(['clusters', cluster, 'sops']))) document.setIn(path, [recipient]);
    else document.setIn(['clusters', cluster, 'sops'], { ageRecipients: [recipient] });
    fleetText = document.toString({ lineWidth: 0, flowCollectionPadding: false });
    parseFleet(fleetText, fleetFile);
  }
  const created = (options.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  store.writePrivate(keyFile, `# created: ${created}\n# public key: ${recipient}\n${identity}\n`, { overwrite: false });
  if (fleetText !== undefined) {
    const temporary = `${fleetFile}.${process.pid}.tmp`;
    writeFileSync(temporary, fleetText);
    renameSync(temporary, fleetFile);
  }
  return { recipient, keyFile, fleetUpdated: fleetText !== undefined };
}

export interface RotationResult {
  readonly token: string;
  readonly tokenFile: string;
  readonly previousTokenFile: string | undefined;
  readonly synth: SynthResult;
  /** Receiver name -> Payload URL (undefined where the fleet file has no webhook.address). */
  readonly urls: { receiver: string; path: string; url: string | undefined }[];
  readonly cluster: ClusterConfig;
}

/**
 * Gives a cluster a new token: stores it (the old one kept as `webhook-token.previous`), then
 * synthesizes, which re-encrypts the Secret in `dist/` (or rewrites the local Secret manifest).
 * If synth fails, the old token is put back.
 */
export async function rotateToken(cluster: string, options: PathsOptions & { env?: NodeJS.ProcessEnv; now?: Date } = {}): Promise<RotationResult> {
  const fleetFile = options.fleetFile ?? 'fleet.yaml';
  const config = clusterOf(fleetFile, cluster);
  const env = options.env ?? process.env;
  const variable = tokenEnvironmentVariable(cluster);
  if (env[variable]) {
    throw new CommandError(`${variable} is set and would win over the new token: unset it (or rotate it where it is set)`);
  }
  const store = new TokenStore(options.secretsDir ?? 'secrets');
  const tokenFile = store.tokenFile(cluster);
  const hadToken = existsSync(tokenFile);
  const token = generateWebhookToken();
  store.replaceToken(cluster, token);
  let synth: SynthResult;
  try {
    synth = await synthesize({ ...options, fleetFile, env, now: options.now });
  } catch (error) {
    rmSync(tokenFile, { force: true });
    if (hadToken) renameSync(`${tokenFile}.previous`, tokenFile);
    throw error;
  }
  const targets = config.receivers.length === 0 ? [] : receiverTargets(config, token);
  const urls = targets.map((target) => ({ receiver: target.receiver.name, path: target.path, url: target.url }));
  return { token, tokenFile, previousTokenFile: hadToken ? `${tokenFile}.previous` : undefined, synth, urls, cluster: config };
}

function rotationReport(result: RotationResult): string {
  const { cluster } = result;
  const namespace = cluster.namespace ?? 'flux-system';
  const lines = [`New webhook token for ${cluster.name} in ${result.tokenFile}${result.previousTokenFile ? ` (the old one is in ${result.previousTokenFile})` : ''}.`];
  lines.push(cluster.sops
    ? `1. Commit and push dist/clusters/${cluster.name}/${FluxCluster.FILES.encryptedTokenSecret}; Flux applies the new Secret.`
    : `1. Apply the new Secret: kubectl apply -f ${result.synth.secretFiles.find((file) => file.includes(`/${cluster.name}/`)) ?? 'secrets/<cluster>/webhook-token-secret.yaml'}`);
  lines.push(`2. Let each Receiver pick it up: flux reconcile receiver <name> -n ${namespace}`);
  lines.push('3. In GitHub, for each repository whose webhook points here (Settings -> Webhooks -> Edit):');
  for (const { receiver, path, url } of result.urls) {
    lines.push(`   Receiver ${receiver}: Payload URL ${url ?? `http://<node-address>:${cluster.webhook.nodePort}${path} (set webhook.address in the fleet file to get the full URL)`}`);
  }
  lines.push(`   Secret: the new token (cat ${result.tokenFile}); Content type: application/json.`);
  lines.push('Until both sides have the new token, deliveries get 404 (new path) or 400 (old signature).');
  return lines.join('\n');
}

export function buildProgram(): Command {
  const program = new Command('secrets')
    .description('age keys and webhook tokens of the fleet\'s clusters');
  program.command('age-key')
    .description('create a cluster\'s age key pair: the private key in secrets/<cluster>/age.agekey, the public key printed')
    .argument('<cluster>', 'a cluster of the fleet file')
    .option('--write-fleet', 'also add the public key to the cluster\'s sops.ageRecipients in the fleet file')
    .action(async (cluster: string, flags: { writeFleet?: boolean }) => {
      const result = await createAgeKey(cluster, { ...pathsFromEnvironment(), writeFleet: flags.writeFleet });
      console.log(result.recipient);
      console.error(`private key: ${result.keyFile} (keep it out of git; give it to Flux:)`);
      console.error(`  kubectl -n flux-system create secret generic ${FluxCluster.SOPS_AGE_SECRET} --from-file=age.agekey=${result.keyFile}`);
      console.error(result.fleetUpdated ? 'added to the fleet file; now run npm run synth' : 'add it to the cluster\'s sops.ageRecipients (or run again with --write-fleet)');
    });
  program.command('rotate-token')
    .description('give a cluster a new webhook token, re-encrypt its Secret, and print what to update in GitHub')
    .argument('<cluster>', 'a cluster of the fleet file')
    .action(async (cluster: string) => {
      console.log(rotationReport(await rotateToken(cluster, pathsFromEnvironment())));
    });
  return program;
}

/** Runs the command line; returns the exit code: 0 ok, 1 failed, 2 bad usage. */
export function run(argv: string[], output?: ProgramOutput): Promise<number> {
  return runProgram(buildProgram(), argv, output);
}

runWhenMain(module, buildProgram);
