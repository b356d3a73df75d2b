// What the scenarios share: the control plane `npm run test:e2e` started, kubectl against it, app
// and fleet repositories on a loopback Git server, the bootstrap stand-in, and waiting with a
// message that says what the controllers said.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlPlaneInfo } from './control-plane';
import { GitServer, startGitServer } from './git-server';
import { testCaFromPem } from '../support/certificates';

/** The control plane's description, written by test/e2e/run.ts. */
export function controlPlane(): ControlPlaneInfo {
  const file = process.env.FLUX_INFRA_E2E;
  if (!file) throw new Error('the e2e scenarios run against the control plane npm run test:e2e starts: run that');
  return JSON.parse(readFileSync(file, 'utf8')) as ControlPlaneInfo;
}

/** kubectl with `kubeconfig`, as a user runs it; its stdout, or an Error with its stderr. */
export function kubectlWith(kubeconfig: string, args: string[], input?: string): string {
  try {
    return execFileSync('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfig }, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`kubectl ${args.join(' ')}: ${stderr || (error as Error).message}`);
  }
}

/** kubectl against the control plane, as a user runs it; its stdout, or an Error with its stderr. */
export function kubectl(args: string[], input?: string): string {
  return kubectlWith(controlPlane().kubeconfig, args, input);
}

/** An object as the API server has it, or undefined when there is none. */
export function getObject(kind: string, name: string, namespace: string): any {
  try {
    return JSON.parse(kubectl(['get', kind, name, '-n', namespace, '-o', 'json']));
  } catch (error) {
    if (/NotFound|not found/.test((error as Error).message)) return undefined;
    throw error;
  }
}

/** The annotation that asks a Flux object to reconcile (what a Receiver and `flux reconcile` set). */
export const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';

/** GitRepository `name` in `namespace` as the API server has it, or undefined. */
export function gitRepository(name: string, namespace: string): any {
  return getObject('gitrepository', name, namespace);
}

/** When GitRepository `name` in `namespace` was last asked to reconcile (its REQUESTED_AT), if ever. */
export function requestedAt(name: string, namespace: string): string | undefined {
  return gitRepository(name, namespace)?.metadata?.annotations?.[REQUESTED_AT];
}

/** The revision of GitRepository `name` in `namespace`'s artifact, if it has one. */
export function revision(name: string, namespace: string): string | undefined {
  return gitRepository(name, namespace)?.status?.artifact?.revision;
}

/** The Ready condition's message of a Flux object, for failure messages. */
export function readyMessage(object: any): string {
  const ready = object?.status?.conditions?.find((condition: any) => condition.type === 'Ready');
  return ready ? `Ready=${ready.status} ${ready.reason}: ${ready.message}` : 'no Ready condition yet';
}

/** The last `lines` lines of the log file `file`, for a failure message; '(no log)' when there is none. */
export function fileTail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** The last lines of a controller's log. */
export function logTail(name: string, lines = 15): string {
  return fileTail(controlPlane().logs[name], lines);
}

/**
 * A controller's log from now on: the returned function gives the JSON lines written since, e.g.
 * after a request (the receiver server logs a refusal before it answers). Lines that are not JSON
 * are left out.
 */
export function logFromNow(name: string): () => Record<string, unknown>[] {
  const file = controlPlane().logs[name];
  const offset = statSync(file).size;
  return () => readFileSync(file).subarray(offset).toString('utf8').split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/**
 * Polls `check` until it returns a value (not undefined), at most `timeoutMs`; otherwise fails with
 * `what`, the last state `describe` gives, and the controllers' last log lines.
 */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, options: { timeoutMs?: number; describe?: () => string; logs?: string[] } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(300);
  }
  const state = options.describe?.() ?? (last instanceof Error ? last.message : '');
  const logs = (options.logs ?? []).map((name) => `--- ${name}:\n${logTail(name)}`).join('\n');
  throw new Error(`timed out waiting for ${what}${state ? `\n${state}` : ''}${logs ? `\n${logs}` : ''}`);
}

/** git with a fixed identity and no user configuration; stdout trimmed. */
export function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'e2e', GIT_AUTHOR_EMAIL: 'e2e@example.com', GIT_COMMITTER_NAME: 'e2e', GIT_COMMITTER_EMAIL: 'e2e@example.com' },
  }).trim();
}

/** A bare repository on the Git server with a working clone beside it: commit() pushes to it. */
export class Repository {
  public readonly work: string;

  public constructor(public readonly server: LocalGit, public readonly path: string, branch = 'main') {
    const bare = join(server.root, path);
    mkdirSync(bare, { recursive: true });
    git(bare, ['init', '--bare', '--quiet', `--initial-branch=${branch}`]);
    this.work = mkdtempSync(join(tmpdir(), 'flux-infra-e2e-work-'));
    git(this.work, ['init', '--quiet', `--initial-branch=${branch}`]);
    git(this.work, ['remote', 'add', 'origin', bare]);
  }

  /** https://127.0.0.1:<port>/<path>, as the fleet file names it. */
  public get url(): string {
    return `${this.server.url}/${this.path.replace(/\.git$/, '')}`;
  }

  /** Writes `files` (path -> content; undefined removes), commits and pushes `branch`; the commit's SHA. */
  public commit(files: Record<string, string | undefined>, message: string, branch = 'main'): string {
    // symbolic-ref names the branch before its first commit too (rev-parse HEAD fails there).
    if (git(this.work, ['symbolic-ref', '--short', 'HEAD']) !== branch) git(this.work, ['checkout', '--quiet', '-B', branch]);
    for (const [path, content] of Object.entries(files)) {
      const full = join(this.work, path);
      if (content === undefined) rmSync(full, { recursive: true, force: true });
      else {
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, content);
      }
    }
    git(this.work, ['add', '--all']);
    git(this.work, ['commit', '--quiet', '--allow-empty', '-m', message]);
    git(this.work, ['push', '--quiet', '--force', 'origin', `HEAD:refs/heads/${branch}`]);
    return git(this.work, ['rev-parse', 'HEAD']);
  }

  /** Points tag `name` at the head of `branch` (moving it if it exists, as a re-tag does) and pushes it; the tagged commit's SHA. */
  public tag(name: string, branch = 'main'): string {
    git(this.work, ['tag', '--force', name, branch]);
    git(this.work, ['push', '--quiet', '--force', 'origin', `refs/tags/${name}`]);
    return git(this.work, ['rev-parse', `${name}^{commit}`]);
  }

  /** Replaces everything below `folder` of the work tree with the files of `source` (a folder), then commits. */
  public commitFolder(source: string, folder: string, message: string): string {
    rmSync(join(this.work, folder), { recursive: true, force: true });
    cpSync(source, join(this.work, folder), { recursive: true });
    return this.commit({}, message);
  }

  public remove(): void {
    rmSync(this.work, { recursive: true, force: true });
  }
}

/** The Git server with its folder of bare repositories. */
export interface LocalGit extends GitServer {
  readonly root: string;
  /** The CA (PEM) that signed its certificate: the `ca.crt` of the sources' Secret. */
  readonly ca: string;
}

export async function startLocalGit(): Promise<LocalGit> {
  const plane = controlPlane();
  const ca = await testCaFromPem(readFileSync(plane.caFile, 'utf8'), readFileSync(plane.caKeyFile, 'utf8'));
  const root = mkdtempSync(join(tmpdir(), 'flux-infra-e2e-git-'));
  const server = await startGitServer(root, await ca.issue(['127.0.0.1']));
  return {
    ...server,
    root,
    ca: ca.cert,
    close: async () => {
      await server.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A Secret manifest (stringData) for kubectl apply. */
export function secretManifest(name: string, namespace: string, data: Record<string, string>, labels: Record<string, string> = {}): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels }, type: 'Opaque', stringData: data });
}

/**
 * Bootstrap's part on the cluster, in its order: gotk-components, the sources' CA as Secret git-ca,
 * `secrets` (manifests), then gotk-sync. Server-side and forced as a second bootstrap is: on a control
 * plane kept from an earlier run, kustomize-controller owns these objects since.
 */
export function applyBootstrap(files: Record<string, string>, namespace: string, gitCa: string, secrets: string[] = []): void {
  kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], files['gotk-components.yaml']);
  kubectl(['apply', '-f', '-'], secretManifest('git-ca', namespace, { 'ca.crt': gitCa }));
  for (const manifest of secrets) kubectl(['apply', '-f', '-'], manifest);
  kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], files['gotk-sync.yaml']);
}

/**
 * What `flux bootstrap` would have put in the fleet repository and the cluster, for the parts no
 * process here runs: the gotk-components.yaml objects the webhook chain touches (the namespace,
 * `webhook-receiver`, `allow-webhooks`; the fixture test/fixtures/gotk-components.yaml as bootstrap
 * writes it, moved to `namespace`), and gotk-sync.yaml pointing flux-system at the fleet repository.
 */
export function bootstrapFiles(options: { namespace: string; fleetUrl: string; clusterPath: string; branch?: string; secretName: string }): Record<string, string> {
  const components = readFileSync(join(__dirname, '..', 'fixtures', 'gotk-components.yaml'), 'utf8')
    .replace(/^(\s+)namespace: flux-system$/gm, `$1namespace: ${options.namespace}`)
    .replace(/^(\s+)name: flux-system$/gm, `$1name: ${options.namespace}`);
  const sync = [
    '---',
    'apiVersion: source.toolkit.fluxcd.io/v1',
    'kind: GitRepository',
    `metadata:\n  name: flux-system\n  namespace: ${options.namespace}`,
    `spec:\n  interval: 1h\n  ref:\n    branch: ${options.branch ?? 'main'}\n  secretRef:\n    name: ${options.secretName}\n  url: ${options.fleetUrl}`,
    '---',
    'apiVersion: kustomize.toolkit.fluxcd.io/v1',
    'kind: Kustomization',
    `metadata:\n  name: flux-system\n  namespace: ${options.namespace}`,
    `spec:\n  interval: 1h\n  path: ${options.clusterPath}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system`,
    '',
  ].join('\n');
  return { 'gotk-components.yaml': components, 'gotk-sync.yaml': sync };
}

/** Every file below `folder`, relative, for messages. */
export function listFiles(folder: string, prefix = ''): string[] {
  return readdirSync(join(folder, prefix), { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? listFiles(folder, join(prefix, entry.name)) : [join(prefix, entry.name)]));
}

/**
 * Waits until the CRDs are Established (all CRDs when `names` is omitted). Polled rather than
 * `kubectl wait`: that fails at once on a CRD whose status has no conditions yet.
 */
export async function crdsEstablished(names?: string[], run: (args: string[]) => string = kubectl): Promise<void> {
  const pending = () => {
    const answer = JSON.parse(run(['get', 'crd', ...(names ?? []), '-o', 'json']));
    return (answer.kind === 'List' || answer.kind === 'CustomResourceDefinitionList' ? answer.items : [answer])
      .filter((crd: any) => !crd.status?.conditions?.some((condition: any) => condition.type === 'Established' && condition.status === 'True'))
      .map((crd: any) => crd.metadata.name as string);
  };
  await waitFor(`CRDs to be Established`, () => (pending().length === 0 ? true : undefined), { describe: () => `not yet: ${pending().join(', ')}`, timeoutMs: 60_000 });
}
