import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';
import { environment } from './cli';
import { Workspace } from './tree';

/** The real cdk8s CLI (cdk8s-cli in devDependencies). */
export const CDK8S_CLI = join(__dirname, '..', '..', 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s');

/** Runs the cdk8s CLI with this Node, from `ws`, in the environment a command gets there plus `env`. */
export function runCdk8s(ws: Workspace, args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CDK8S_CLI, ...args], { cwd: ws.root, env: environment(ws, env), encoding: 'utf8' });
}

/** Lines on the CLI's stderr that are not synth's own report: warnings, stack traces, the CLI's banners. */
export function foreignLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line !== '' && !/^(dist: |note: |apply the token Secret yourself: |new webhook token: |  (removed|encrypted) )/.test(line));
}
