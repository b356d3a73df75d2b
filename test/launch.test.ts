// tools/launch.cjs, as npm runs it: in a copy of the project (its own cache folder), with real
// esbuild builds, real processes and commands started together.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROCESS_TEST_TIMEOUT } from './support/cli';
import { BASE_FLEET } from './support/fleet';
import { readTree, workspace } from './support/tree';

const ROOT = join(__dirname, '..');

/** A copy of the project's sources, with node_modules linked package by package (its cache folder is its own). */
function projectCopy(): string {
  const copy = mkdtempSync(join(tmpdir(), 'flux-infra-project-'));
  for (const name of ['main.ts', 'lib', 'imports', 'tools', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    cpSync(join(ROOT, name), join(copy, name), { recursive: true });
  }
  mkdirSync(join(copy, 'node_modules'));
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    if (entry !== '.cache') symlinkSync(join(ROOT, 'node_modules', entry), join(copy, 'node_modules', entry));
  }
  return copy;
}

const cacheOf = (project: string) => join(project, 'node_modules', '.cache', 'flux-infra');
const bundles = (project: string) => readdirSync(cacheOf(project)).filter((name) => /^main\.[0-9a-f]{16}\.js$/.test(name));

function environment(ws: ReturnType<typeof workspace>): NodeJS.ProcessEnv {
  return { ...process.env, FLUX_INFRA_FLEET: ws.fleetFile, FLUX_INFRA_DIST: ws.distDir, FLUX_INFRA_SECRETS: ws.secretsDir, FLUX_INFRA_SOPS_CONFIG: ws.sopsConfigFile, FLUX_INFRA_NO_SECRETS: '1' };
}

function synth(project: string, ws: ReturnType<typeof workspace>) {
  return spawnSync(process.execPath, ['--conditions=import', join(project, 'tools', 'launch.cjs'), 'main'], { cwd: ws.root, env: environment(ws), encoding: 'utf8' });
}

describe('the launcher', () => {
  let project: string;
  /** Changes the generated files' header in the copy: a source change that shows in the output. */
  const setNotice = (words: string) => {
    const layout = join(project, 'lib', 'layout.ts');
    writeFileSync(layout, readFileSync(layout, 'utf8').replace(/Do not edit: [^']*'/, `Do not edit: ${words}'`));
  };
  beforeAll(() => {
    project = projectCopy();
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  test('builds a bundle once, runs it from V8\'s code cache after, and builds again when a source changes', () => {
    const ws = workspace(BASE_FLEET);
    expect(synth(project, ws).status).toBe(0);
    const [bundle] = bundles(project);
    expect(readdirSync(cacheOf(project)).filter((name) => name.startsWith(bundle.replace(/\.js$/, '.')) && name.endsWith('.cache'))).toHaveLength(1);
    const built = statSync(join(cacheOf(project), bundle)).mtimeMs;

    const again = synth(project, ws);
    expect({ status: again.status, stderr: again.stderr }).toEqual({ status: 0, stderr: 'dist: up to date\n' });
    expect(bundles(project)).toEqual([bundle]);
    expect(statSync(join(cacheOf(project), bundle)).mtimeMs).toBe(built);

    // A change to a source: the next run builds and runs the new code (its own header, so in a
    // new workspace: the old header's files are no longer its own), and drops the old bundle.
    setNotice('change fleet.yaml.');
    const fresh = workspace(BASE_FLEET);
    expect(synth(project, fresh).status).toBe(0);
    expect(bundles(project)).not.toContain(bundle);
    expect(bundles(project)).toHaveLength(1);
    expect(readFileSync(join(fresh.distDir, 'clusters', 'staging', 'apps.yaml'), 'utf8')).toMatch(/^# .*Do not edit: change fleet\.yaml\.\n/);
    // tsconfig.json is read by esbuild but not listed among its inputs: it counts as one all the same.
    const [current] = bundles(project);
    const builtAt = statSync(join(cacheOf(project), current)).mtimeMs;
    const tsconfig = join(project, 'tsconfig.json');
    writeFileSync(tsconfig, readFileSync(tsconfig, 'utf8').replace('"strict": true,', '"strict": true, '));
    expect(synth(project, fresh).status).toBe(0);
    expect(statSync(join(cacheOf(project), current)).mtimeMs).toBeGreaterThan(builtAt);
    for (const root of [ws.root, fresh.root]) rmSync(root, { recursive: true });
  }, PROCESS_TEST_TIMEOUT);

  test('commands started together after a change all run the new code, and leave one bundle', async () => {
    setNotice('change the fleet file, please.');
    const spaces = Array.from({ length: 2 }, () => workspace(BASE_FLEET));
    const runs = await Promise.all(spaces.map((ws) => new Promise<number | null>((resolve) => {
      spawn(process.execPath, ['--conditions=import', join(project, 'tools', 'launch.cjs'), 'main'], { cwd: ws.root, env: environment(ws), stdio: 'ignore' }).on('close', resolve);
    })));
    expect(runs).toEqual([0, 0]);
    for (const ws of spaces) expect(readTree(ws.distDir)['clusters/staging/apps.yaml']).toMatch(/please\.\n/);
    expect(bundles(project)).toHaveLength(1);
    expect(readdirSync(cacheOf(project)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    for (const ws of spaces) rmSync(ws.root, { recursive: true });
  }, PROCESS_TEST_TIMEOUT);

  test('a source that does not compile fails in one line naming the file, and the last good bundle stays', () => {
    const ws = workspace(BASE_FLEET);
    const synthFile = join(project, 'lib', 'synth.ts');
    const good = readFileSync(synthFile, 'utf8');
    writeFileSync(synthFile, `${good}\nexport const broken = ;\n`);
    const failed = synth(project, ws);
    writeFileSync(synthFile, good);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/^cannot build main\.ts: lib\/synth\.ts:\d+:\d+: Unexpected ";"\n$/);
    expect(bundles(project)).toHaveLength(1);
    rmSync(ws.root, { recursive: true });
  }, PROCESS_TEST_TIMEOUT);

  test('a cache folder that cannot be written fails in one line, with the fix', () => {
    const ws = workspace(BASE_FLEET);
    rmSync(cacheOf(project), { recursive: true, force: true });
    mkdirSync(join(cacheOf(project), '..'), { recursive: true });
    writeFileSync(cacheOf(project), 'not a folder');
    const failed = synth(project, ws);
    rmSync(cacheOf(project));
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/^cannot write .*flux-infra \(E[A-Z]+\): make it writable \(it is only a cache\), then run the command again\n$/);
    rmSync(ws.root, { recursive: true });
  }, PROCESS_TEST_TIMEOUT);

  test('refuses a cache folder that is a symbolic link, in one line', () => {
    const ws = workspace(BASE_FLEET);
    const elsewhere = mkdtempSync(join(tmpdir(), 'flux-infra-elsewhere-'));
    rmSync(cacheOf(project), { recursive: true, force: true });
    mkdirSync(join(cacheOf(project), '..'), { recursive: true });
    symlinkSync(elsewhere, cacheOf(project));
    const refused = synth(project, ws);
    rmSync(cacheOf(project));
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/flux-infra is a symbolic link: remove it \(it is only a cache\) and run the command again\n$/);
    expect(readdirSync(elsewhere)).toEqual([]);
    rmSync(elsewhere, { recursive: true });
    rmSync(ws.root, { recursive: true });
  }, PROCESS_TEST_TIMEOUT);
});
