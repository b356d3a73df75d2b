// `npm run test:e2e [-- --keep] [-- <jest arguments>]`: builds (once) and starts the real control
// plane and Flux controllers, runs the scenarios in test/e2e/*.e2e.ts against them with jest, then
// stops and removes everything it started, on failure and on Ctrl-C too. With --keep the control
// plane stays up after the scenarios, with its kubeconfig printed, until Ctrl-C.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildComponent, BuiltComponent, goProblem } from './build';
import { COMPONENTS } from './components';
import { ControlPlane } from './control-plane';
import { runOptions } from './run-options';
import { projectRoot } from '../../tools/project-root';

const ROOT = projectRoot(__dirname);

function log(line: string): void {
  process.stderr.write(`e2e: ${line}\n`);
}

function toolProblem(): string | undefined {
  const go = goProblem();
  if (go) return go;
  for (const [tool, args, why] of [['git', ['--version'], 'the Git server and the app repositories'], ['kubectl', ['version', '--client'], 'applying CRDs and reading the cluster as a user does']] as const) {
    try {
      execFileSync(tool, [...args], { stdio: 'ignore' });
    } catch {
      return `npm run test:e2e needs ${tool} on PATH (${why}): install it`;
    }
  }
  return undefined;
}

async function main(): Promise<number> {
  const { keep, jestArgs } = runOptions(process.argv.slice(2));
  const problem = toolProblem();
  if (problem) {
    process.stderr.write(`${problem}\n`);
    return 1;
  }
  const startedAt = Date.now();
  const built: Record<string, BuiltComponent> = {};
  for (const component of COMPONENTS) built[component.name] = await buildComponent(ROOT, component, log);

  // realpath: macOS-style /tmp links would make the controllers' paths differ from ours.
  const dir = mkdtempSync(join(realpathSync(tmpdir()), 'flux-infra-e2e-'));
  let plane: ControlPlane | undefined;
  let jest: ReturnType<typeof spawn> | undefined;
  let ending: Promise<void> | undefined;
  const end = () => {
    ending ??= (async () => {
      jest?.kill('SIGTERM');
      await plane?.stop();
      rmSync(dir, { recursive: true, force: true });
    })();
    return ending;
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping the control plane and removing ${dir}`);
      void end().then(() => process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 })[signal]));
    });
  }
  try {
    const testTemp = join(dir, 'tmp');
    mkdirSync(testTemp);
    log(`starting the control plane in ${dir}`);
    plane = await ControlPlane.start(dir, built, log);
    const versions = Object.values(built).map((item) => `${item.component.name} ${item.version}`).join(', ');
    log(`control plane up (${versions}) after ${Math.round((Date.now() - startedAt) / 1000)}s`);
    const code = await new Promise<number>((resolve) => {
      jest = spawn(process.execPath, [join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--config', join(ROOT, 'test', 'e2e', 'jest.config.js'), ...jestArgs], {
        cwd: ROOT,
        stdio: ['ignore', 'inherit', 'inherit'],
        // The scenarios' temporary files go below the run's folder too: a Ctrl-C that ends jest
        // before its global teardown still leaves nothing behind once the folder is removed.
        env: { ...process.env, FLUX_INFRA_E2E: join(dir, 'control-plane.json'), TMPDIR: testTemp },
      });
      jest.on('close', (status, signal) => resolve(status ?? (signal ? 1 : 0)));
    });
    if (keep) {
      process.stderr.write(`\nThe control plane is still running (--keep):\n  export KUBECONFIG=${plane.info.kubeconfig}\n  kubectl get gitrepositories,kustomizations,receivers -A\nLogs: ${join(dir, 'logs')}. Press Ctrl-C to stop it and remove ${dir}.\n`);
      await new Promise<never>(() => undefined);
    }
    return code;
  } catch (error) {
    await end();
    throw error;
  } finally {
    if (!keep) await end();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`e2e: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
