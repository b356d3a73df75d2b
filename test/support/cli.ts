import { spawn, spawnSync, SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';
import { LAUNCH } from './synth';
import { Workspace } from './tree';

/** The launcher's entry of each npm script, by script name. */
export const SCRIPTS = { synth: 'main', secrets: 'tools/secrets', webhook: 'tools/webhook' } as const;

/** The environment a command gets in `ws`: its paths, no token or key from this machine, plus `extra`. */
export function environment(ws: Workspace, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(FLUX_INFRA_|SOPS_AGE_|GITHUB_)/.test(name)) delete env[name];
  }
  return {
    ...env,
    FLUX_INFRA_FLEET: ws.fleetFile, FLUX_INFRA_DIST: ws.distDir, FLUX_INFRA_SECRETS: ws.secretsDir, FLUX_INFRA_SOPS_CONFIG: ws.sopsConfigFile,
    XDG_CONFIG_HOME: join(ws.root, '.config'),
    ...extra,
  };
}

/**
 * Runs an npm script's program as `npm run <script> -- <args>` would, in a real process, from `ws`.
 * With `boundMs`, SIGKILLed if it runs longer (for commands that must not hang, as on a FIFO read):
 * `signal` is then 'SIGKILL', which a test asserts against.
 */
export function runScript(ws: Workspace, script: keyof typeof SCRIPTS, args: string[] = [], env: NodeJS.ProcessEnv = {}, boundMs?: number): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [...LAUNCH, SCRIPTS[script], ...args], { cwd: ws.root, env: environment(ws, env), encoding: 'utf8', timeout: boundMs, killSignal: 'SIGKILL' });
}

/** `runScript` for a step that must succeed: its stdout, or an Error naming the command with its exit status, stdout and stderr. */
export function runScriptOk(ws: Workspace, script: keyof typeof SCRIPTS, args: string[] = [], env: NodeJS.ProcessEnv = {}): string {
  const result = runScript(ws, script, args, env);
  if (result.status !== 0) throw new Error(`npm run ${script} -- ${args.join(' ')} exited ${result.status ?? result.signal}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** The same, started without waiting: resolves with its exit status and output. With `boundMs`, SIGKILLed if it runs longer. */
export function startScript(ws: Workspace, script: keyof typeof SCRIPTS, args: string[] = [], env: NodeJS.ProcessEnv = {}, boundMs?: number): Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, [...LAUNCH, SCRIPTS[script], ...args], { cwd: ws.root, env: environment(ws, env), timeout: boundMs, killSignal: 'SIGKILL' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
}

/** Jest's time for a test that starts the commands as processes: each start takes a fraction of a second, more on a loaded machine. */
export const PROCESS_TEST_TIMEOUT = 30_000;

/** `stderr`'s one line (its trailing newline aside), after asserting it holds no other; a failure lists every line. */
export function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0];
}
