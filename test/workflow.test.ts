// The GitHub Actions workflow for copies of this repository kept on GitHub. It never runs here, so
// these tests check it as far as can be done offline: the real linter accepts it (and rejects a broken
// copy, so its acceptance means something), it stays pinned and least-privileged, it runs the checks
// .ci/run runs, and its doctor step ignores exactly the missing-token problem that CI always has.
import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as semver from 'semver';
import { parse, parseDocument } from 'yaml';
import { synthesize } from '../lib/synth';
import { actionValidator } from './support/action-validator';
import { runScript } from './support/cli';
import { testWith } from './support/external-tools';
import { BASE_FLEET } from './support/fleet';
import { workspace, writeFile } from './support/tree';

const ROOT = join(__dirname, '..');
const WORKFLOW_FILE = join(ROOT, '.github', 'workflows', 'flux-infra.yml');
const WORKFLOW_TEXT = readFileSync(WORKFLOW_FILE, 'utf8');
const WORKFLOW = parse(WORKFLOW_TEXT);
/** .ci/run's drift check, which the workflow must run the same way: it writes nothing, and exits 1 naming each file a synth would change. */
const DRIFT_CHECK = 'npm run --silent synth -- --check';

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly env?: Record<string, string>;
}

const jobs = Object.values(WORKFLOW.jobs) as any[];
const steps: Step[] = jobs.flatMap((job) => job.steps ?? []);
const stepIndex = (predicate: (step: Step) => boolean, what: string): number => {
  const index = steps.findIndex(predicate);
  if (index < 0) throw new Error(`no step of the workflow ${what}`);
  return index;
};
const runs = (command: RegExp) => (step: Step) => step.run !== undefined && command.test(step.run);

describe('the linter', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'flux-infra-workflow-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** The workflow with `edit` applied, written under its own name (the linter tells workflows from actions by it). */
  function brokenCopy(name: string, edit: (document: ReturnType<typeof parseDocument>) => void): string {
    const document = parseDocument(WORKFLOW_TEXT);
    edit(document);
    const directory = mkdtempSync(join(scratch, `${name}-`));
    const file = join(directory, 'flux-infra.yml');
    writeFileSync(file, document.toString());
    return file;
  }

  test('accepts the workflow', () => {
    const result = actionValidator(WORKFLOW_FILE);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  test('rejects a copy whose job has no runs-on, naming it', () => {
    const jobName = Object.keys(WORKFLOW.jobs)[0];
    const file = brokenCopy('no-runs-on', (document) => document.deleteIn(['jobs', jobName, 'runs-on']));
    const result = actionValidator(file);
    expect(result.status).not.toBe(0);
    // Not failing for another reason (a missing file also exits 1): the error is about this.
    expect(result.stderr).toContain(`/jobs/${jobName}/runs-on`);
  });

  test('rejects a copy triggered by an event GitHub does not have, naming it', () => {
    const file = brokenCopy('unknown-event', (document) => document.setIn(['on', 'pull_requests'], null));
    const result = actionValidator(file);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('Additional property \'pull_requests\' is not allowed');
  });
});

describe('the workflow', () => {
  test('runs on pull requests and on pushes to main', () => {
    expect(Object.keys(WORKFLOW.on).sort()).toEqual(['pull_request', 'push']);
    expect(WORKFLOW.on.push).toEqual({ branches: ['main'] });
  });

  test('can only read the repository, in every job', () => {
    expect(WORKFLOW.permissions).toEqual({ contents: 'read' });
    for (const job of jobs) expect(job.permissions ?? { contents: 'read' }).toEqual({ contents: 'read' });
  });

  test('pins every action to a commit (with its version in a comment) or an exact version', () => {
    const uses = [...steps.map((step) => step.uses), ...jobs.map((job) => job.uses)].filter((use): use is string => use !== undefined);
    expect(uses.length).toBeGreaterThan(0);
    for (const use of uses) expect(use).toMatch(/^[\w.-]+\/[\w./-]+@(?:[0-9a-f]{40}|v\d+\.\d+\.\d+)$/);
    // A bare SHA says nothing to a reader: the line names the version it is.
    const lines = WORKFLOW_TEXT.split('\n').filter((line) => /^\s*(?:-\s+)?uses:/.test(line));
    expect(lines).toHaveLength(uses.length);
    for (const line of lines.filter((line) => /@[0-9a-f]{40}\b/.test(line))) expect(line).toMatch(/@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
  });

  test('tests on Node 20, 22 and 24, each admitted by package.json\'s engines, and so is the Node running this', () => {
    const engines: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node;
    const [job] = jobs;
    expect(jobs).toHaveLength(1);
    expect(job.strategy).toEqual({ 'fail-fast': false, matrix: { node: [20, 22, 24] } });
    const setupNode = steps.find((step) => step.uses?.startsWith('actions/setup-node@')) as Step & { with?: Record<string, unknown> };
    expect(setupNode?.with?.['node-version']).toBe('${{ matrix.node }}');
    // setup-node takes each line's newest release: the engines range must admit it, and refuse the
    // lines nobody tests (18, the odd ones) and a release below its line's floor.
    for (const line of job.strategy.matrix.node as number[]) expect(semver.satisfies(`${line}.999.0`, engines)).toBe(true);
    expect(semver.satisfies(process.version, engines)).toBe(true);
    for (const untested of ['18.20.0', '20.18.0', '21.7.0', '22.11.0', '23.11.0']) expect(semver.satisfies(untested, engines)).toBe(false);
  });

  test('cancels superseded runs and has a time limit', () => {
    expect(WORKFLOW.concurrency).toEqual({ group: expect.stringContaining('github.event.pull_request.number'), 'cancel-in-progress': true });
    for (const job of jobs) expect(job['timeout-minutes']).toEqual(expect.any(Number));
  });

  test('installs, tests with the external tools required, then fails when a synth without secrets would change dist/, in that order', () => {
    const install = stepIndex(runs(/^npm ci\b/m), 'runs npm ci');
    const tests = stepIndex(runs(/^npm test$/m), 'runs npm test');
    expect(steps[tests].env).toEqual(expect.objectContaining({ FLUX_INFRA_REQUIRE_TOOLS: '1' }));
    const drift = stepIndex((step) => step.run?.includes(DRIFT_CHECK) ?? false, 'checks dist/ for drift');
    expect(steps[drift].env).toEqual(expect.objectContaining({ FLUX_INFRA_NO_SECRETS: '1' }));
    expect(readFileSync(join(ROOT, '.ci', 'run'), 'utf8')).toContain(`FLUX_INFRA_NO_SECRETS=1 ${DRIFT_CHECK}`);
    expect(install).toBeLessThan(tests);
    expect(tests).toBeLessThan(drift);
    // A failed check fails the step, with a line saying what to run.
    expect(steps[drift].run).toMatch(/exit 1/);
    expect(steps[drift].run).toContain('run npm run synth and commit them');
    // The tools those tests require are put there first.
    expect(stepIndex(runs(/apt-get install .*\bage\b/), 'installs age')).toBeLessThan(tests);
  });

  test('runs the doctor for every cluster', () => {
    const doctor = steps[stepIndex(runs(/npm run --silent webhook -- doctor "\$c" --json/), 'runs the doctor')];
    expect(doctor.run).toContain('ls dist/clusters');
  });

  testWith('kubectl', 'its kustomize step builds every committed cluster, with the fixtures\' Flux files where bootstrap has not committed them, and fails with kustomize', () => {
    const build = steps[stepIndex(runs(/kubectl kustomize/), 'runs kubectl kustomize')];
    const temp = mkdtempSync(join(tmpdir(), 'runner-'));
    try {
      const runStep = (env: NodeJS.ProcessEnv) => spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', build.run!], { cwd: join(__dirname, '..'), encoding: 'utf8', env: { ...process.env, RUNNER_TEMP: temp, ...env } });
      const built = runStep({});
      expect(built.stderr).toBe('');
      expect(built.status).toBe(0);
      for (const cluster of readdirSync(join(__dirname, '..', 'dist', 'clusters'))) {
        expect(built.stdout).toMatch(new RegExp(`dist/clusters/${cluster}/flux-system builds: \\d+ objects`));
        // The patch reached bootstrap's Service: our NodePort is in the build.
        expect(readFileSync(join(temp, `flux-system-${cluster}.yaml`), 'utf8')).toMatch(/type: NodePort/);
      }
      // A kustomize that fails fails the step.
      writeFileSync(join(temp, 'kubectl'), '#!/bin/sh\necho "error: broken patch" >&2\nexit 1\n', { mode: 0o755 });
      expect(runStep({ PATH: `${temp}:${process.env.PATH}` }).status).not.toBe(0);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });
});

describe('the doctor step', () => {
  const doctorStep = steps.find(runs(/webhook -- doctor/))!;
  const filter = /<<'DOCTOR_FILTER'.*\n([\s\S]*?)\nDOCTOR_FILTER\n/.exec(doctorStep?.run ?? '')?.[1];

  /** Runs the step's report filter as the step does: `node - <cluster> <report file>`. */
  function filterReport(cluster: string, report: string): SpawnSyncReturns<string> {
    const directory = mkdtempSync(join(tmpdir(), 'flux-infra-doctor-report-'));
    try {
      writeFileSync(join(directory, 'report.json'), report);
      return spawnSync(process.execPath, ['-', cluster, join(directory, 'report.json')], { input: filter, encoding: 'utf8' });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }

  test('has its report filter in a DOCTOR_FILTER heredoc', () => {
    expect(filter).toEqual(expect.stringContaining('no webhook token here for ${cluster}: '));
  });

  test('passes the real doctor\'s report of a cluster without a token, and fails when it has another problem', async () => {
    const ws = workspace(BASE_FLEET.replace('      nodePort: 31234\n', '      nodePort: 31234\n      address: 203.0.113.10\n'));
    await synthesize({ ...ws, secrets: false });
    const clean = runScript(ws, 'webhook', ['doctor', 'staging', '--json']);
    // The problem this step exists for: the doctor fails on the missing token alone.
    expect(clean.status).toBe(1);
    expect(JSON.parse(clean.stdout).problems).toEqual([expect.stringMatching(/^no webhook token here for staging: /)]);
    const passed = filterReport('staging', clean.stdout);
    expect(passed.status).toBe(0);
    expect(passed.stdout).not.toContain('::error');

    writeFile(join(ws.distDir, 'clusters', 'staging', 'leak.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked\nstringData:\n  password: hunter2\n');
    const leaking = runScript(ws, 'webhook', ['doctor', 'staging', '--json']);
    expect(leaking.status).toBe(1);
    const failed = filterReport('staging', leaking.stdout);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toMatch(/^::error title=webhook doctor staging::.*leak\.yaml holds a plaintext Secret/m);
    expect(failed.stdout).not.toMatch(/^::error.*no webhook token here/m);
  }, 60_000);

  test('fails on a token problem of another cluster, a report of another cluster, and no report', () => {
    const report = (cluster: string, problems: string[]) => JSON.stringify({ cluster, problems });
    expect(filterReport('staging', report('staging', ['no webhook token here for production: url, ping and hook need it'])).status).toBe(1);
    expect(filterReport('staging', report('production', [])).status).toBe(1);
    expect(filterReport('staging', '').status).not.toBe(0);
    // A problem text cannot inject a workflow command of its own.
    const injected = filterReport('staging', report('staging', ['x\n::error::forged']));
    expect(injected.status).toBe(1);
    expect(injected.stdout).toContain('x%0A::error::forged');
    expect(injected.stdout).not.toMatch(/^::error::forged/m);
  });
});
