// `webhook workflow <cluster> [--write <dir>]`: the CI job each app repository needs to call its
// generic-oidc Receiver after a push (tools/webhook/ci-jobs.ts writes them), printed or written.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomically } from '../../lib/io/atomic-file';
import { refuseSymlinkBelow } from '../../lib/io/no-symlinks';
import { oidcPlainHttp, oidcReceivers } from '../../lib/hosts/oidc';
import { CommandContext, CommandError } from '../common';
import { CallerFile, callerFiles } from './ci-jobs';
import { ContextOptions, receiverTargets, requireUrl } from './context';

export interface WorkflowFile extends CallerFile {
  /** With --write: where it was written. */
  readonly written?: string;
}

export interface WorkflowResult {
  readonly cluster: string;
  readonly files: WorkflowFile[];
  /** One line each: a Receiver whose job sends its token over plain HTTP because the fleet accepts it. */
  readonly warnings: string[];
}

/** Where `file` goes below `dir`: <dir>/<repository path>/<path in the repository>; a CommandError for a path that would leave it. */
function targetOf(dir: string, file: CallerFile): string {
  const parts = [...file.repository.split('/'), ...file.path.split('/')];
  // The repository path comes from a source URL: a segment that is empty, a dot or a dot-dot would leave <dir>.
  const bad = parts.find((part) => part === '' || part === '.' || part === '..' || part.includes('\\'));
  if (bad !== undefined) throw new CommandError(`the repository path "${file.repository}" cannot be a folder below ${dir}: fix the source URL in the fleet file`);
  return join(dir, ...parts);
}

/**
 * The CI files of the cluster's generic-oidc Receivers (or the one named); with `write`, each
 * written atomically below that folder. Every target is checked (no symbolic link on the way, no
 * folder in a file's place, no two files in one place) before the first is written.
 */
export async function workflowFiles(clusterName: string, options: ContextOptions & { receiver?: string; write?: string } = {}): Promise<WorkflowResult> {
  const context = CommandContext.of(options);
  const cluster = context.cluster(clusterName);
  let models = oidcReceivers(cluster);
  if (options.receiver !== undefined) {
    const all = cluster.receivers.map((receiver) => receiver.name);
    if (!all.includes(options.receiver)) throw new CommandError(`cluster ${clusterName} has no receiver "${options.receiver}" (it has: ${all.join(', ') || 'none'})`);
    models = models.filter((model) => model.name === options.receiver);
    if (models.length === 0) throw new CommandError(`receiver ${options.receiver} of ${clusterName} is not generic-oidc: its Git host's webhook calls it (npm run webhook -- hook ${clusterName})`);
  }
  const warnings: string[] = [];
  const files = models.flatMap((model) => {
    // The URL `webhook url` prints (the empty token's path), and the same error when the exposure has no address.
    const url = requireUrl(cluster, receiverTargets(cluster, undefined, model.name)[0], context.paths.fleetFile);
    // doctor's rule: no job that sends a bearer token in clear unless the fleet says so.
    const plain = oidcPlainHttp(cluster, model);
    if (plain && !plain.allowed) throw new CommandError(plain.message);
    if (plain) warnings.push(plain.message);
    try {
      return callerFiles({ ...model, url });
    } catch (error) {
      throw new CommandError((error as Error).message);
    }
  });
  if (options.write === undefined) return { cluster: clusterName, files, warnings };

  const dir = resolve(options.write);
  const targets = files.map((file) => targetOf(dir, file));
  const seen = new Map<string, CallerFile>();
  targets.forEach((target, index) => {
    const other = seen.get(target);
    if (other !== undefined) throw new CommandError(`${other.host} repository ${other.repository} and ${files[index].host} repository ${files[index].repository} would both be written to ${target}: generate them into two folders (--receiver)`);
    seen.set(target, files[index]);
    try {
      refuseSymlinkBelow(dir, target);
    } catch (error) {
      throw new CommandError((error as Error).message);
    }
    if (statSync(target, { throwIfNoEntry: false })?.isDirectory()) throw new CommandError(`${target} is a folder: move it away, a CI file goes there`);
  });
  return {
    cluster: clusterName,
    files: files.map((file, index) => {
      mkdirSync(dirname(targets[index]), { recursive: true });
      writeFileAtomically(targets[index], file.content);
      return { ...file, written: targets[index] };
    }),
    warnings,
  };
}
