// What every webhook command needs: the cluster from the fleet file, its token, its Receivers' URLs.
import { existsSync } from 'node:fs';
import { missingTokenFix, resolveClusterToken } from '../../lib/secrets/cluster-token';
import { interruptedWriteProblem } from '../../lib/output/dist-writer';

import { tokenEnvironmentVariable, TokenStore } from '../../lib/secrets/token-store';
import { holdSecret, redact } from '../redact';
import { webhookPath } from '../../lib/constructs/webhook-path';

import { CommandContext, CommandError, CommandOptions } from '../common';
import { ClusterConfig, clusterNamespace, GitSourceConfig, ReceiverConfig } from '../../lib/fleet/model';
import { clusterReceivers } from '../../lib/fleet/git-hosts';
import { exposureOf } from '../../lib/constructs/exposures';
import { isOidcReceiver, needsWebhookToken } from '../../lib/hosts/oidc';

/** What a webhook command is given: its context, or the paths and environment to make one from. */
export type ContextOptions = CommandOptions;

export interface FoundToken {
  readonly token: string;
  /** Where it came from: a variable, a file, or the committed encrypted Secret. */
  readonly origin: string;
  /** A stale local token, or one that could not be checked: the commands print these on stderr. */
  readonly warnings: string[];
  /** Only the stale-token warnings: problems, not just risks. */
  readonly stale: string[];
}

/**
 * The cluster's token as synth decides it (lib/secrets/cluster-token.ts): the committed encrypted Secret
 * where a key opens it, else its environment variable or token file. Undefined when none is here;
 * an error when one is there but malformed or edited.
 */
export async function findToken(cluster: ClusterConfig, options: ContextOptions = {}): Promise<FoundToken | undefined> {
  const context = CommandContext.of(options);
  const { distDir, secretsDir } = context.paths;
  const problem = interruptedWriteProblem(distDir);
  if (problem) throw new CommandError(problem);
  const journal = new TokenStore(secretsDir).rotationJournalFile(cluster.name);
  if (existsSync(journal)) {
    throw new CommandError(`a token rotation of ${cluster.name} was interrupted (${journal}): run npm run synth, which finishes or undoes it`);
  }
  const resolved = await resolveClusterToken(cluster, { distDir, secretsDir, env: context.env });
  if (resolved.token === undefined) return undefined;
  holdSecret(resolved.token);
  if (resolved.stale) throw new CommandError(resolved.warnings.join('; '));
  const warnings = [...resolved.warnings];
  if (resolved.committed !== undefined && !resolved.verified) {
    warnings.push(`${resolved.origin} is not checked against the committed ${resolved.committed.file}: no age key for it here; if a rotation was pulled, this token is stale`);
  }
  return { token: resolved.token, origin: resolved.origin!, warnings, stale: resolved.warnings };
}

/** The token, or a CommandError saying where it was looked for. Prints its warnings on stderr. */
export async function requireToken(cluster: ClusterConfig, options: ContextOptions = {}): Promise<FoundToken> {
  const found = await findToken(cluster, options);
  if (found) {
    for (const warning of found.warnings) console.error(redact(`warning: ${warning}`));
    return found;
  }
  const context = CommandContext.of(options);
  const store = new TokenStore(context.paths.secretsDir);
  const where = `not in ${tokenEnvironmentVariable(cluster.name)}, not in ${store.tokenFile(cluster.name)}${cluster.sops ? `, and no age key (${store.ageKeyFile(cluster.name)}, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY) opens the committed one` : ''}`;
  throw new CommandError(`no webhook token for ${cluster.name} here: ${where}; ${missingTokenFix(cluster, { ...context.paths, env: context.env })}`);
}

export interface ReceiverTarget {
  readonly receiver: ReceiverConfig;
  /** Its sources, as the fleet file describes them (the fleet repository's for flux-system). */
  readonly sources: GitSourceConfig[];
  readonly namespace: string;
  readonly path: string;
  /** Undefined when the fleet file does not say where the cluster is reached (a nodePort or loadBalancer without address). */
  readonly url: string | undefined;
}

/** What a command says instead of acting on a generic-oidc Receiver, which has no token, Secret or hook. */
export function oidcNothingToDo(cluster: ClusterConfig, receiver: string): string {
  return `receiver ${receiver} is generic-oidc: no token/hook, its caller is the CI job (npm run webhook -- workflow ${cluster.name})`;
}

/**
 * The token, where one of the Receivers a command acts on (all, or the one named) checks it;
 * undefined where they are all generic-oidc (their path is the empty token's). Prints its warnings.
 */
export async function requireTokenFor(cluster: ClusterConfig, receiverName: string | undefined, options: ContextOptions = {}): Promise<FoundToken | undefined> {
  if (receiverName === undefined) return needsWebhookToken(cluster) ? requireToken(cluster, options) : undefined;
  const chosen = clusterReceivers(cluster).filter(({ receiver }) => receiver.name === receiverName);
  if (chosen.length > 0 && chosen.every(({ receiver }) => isOidcReceiver(receiver))) return undefined;
  return requireToken(cluster, options);
}

/**
 * The cluster's Receivers (or the one named), the fleet repository's included, with their webhook
 * paths and Payload URLs. A generic-oidc Receiver's path is the empty token's; the others need `token`.
 */
export function receiverTargets(cluster: ClusterConfig, token: string | undefined, receiverName?: string): ReceiverTarget[] {
  const all = clusterReceivers(cluster);
  const chosen = receiverName === undefined ? all : all.filter(({ receiver }) => receiver.name === receiverName);
  if (chosen.length === 0) {
    throw new CommandError(receiverName === undefined
      ? `cluster ${cluster.name} has no receivers in the fleet file`
      : `cluster ${cluster.name} has no receiver "${receiverName}" (it has: ${all.map(({ receiver }) => receiver.name).join(', ') || 'none'})`);
  }
  const namespace = clusterNamespace(cluster);
  const exposure = exposureOf(cluster.webhook);
  return chosen.map(({ receiver, sources }) => {
    const oidc = isOidcReceiver(receiver);
    if (!oidc && token === undefined) throw new CommandError(`receiver ${receiver.name} of ${cluster.name} checks the webhook token, and none was read for it`);
    const path = webhookPath(oidc ? '' : token!, receiver.name, namespace);
    return { receiver, sources, namespace, path, url: exposure.payloadUrl(path) };
  });
}

/** The URL of a target, or a CommandError saying how to give the address. */
export function requireUrl(cluster: ClusterConfig, target: ReceiverTarget, fleetFile: string): string {
  if (target.url === undefined) {
    throw new CommandError(`clusters.${cluster.name}.webhook in ${fleetFile} does not say where the cluster is reached: ${exposureOf(cluster.webhook).addressHint} (the path alone is ${target.path})`);
  }
  return target.url;
}

