// The app run by the real cdk8s CLI (cdk8s-cli in devDependencies), as a cdk8s user runs it:
// `cdk8s synth --stdout` must print YAML that parses as the objects synth writes, with nothing on
// stderr but synth's own report. (kubectl apply --dry-run=client needs an API server: the e2e
// suite's validation scenario pipes the same output to kubectl against the real kube-apiserver.)
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { CDK8S_STREAM_FILE } from '../lib/output/cdk8s-stream';
import { foreignLines, runCdk8s } from './support/cdk8s';
import { PROCESS_TEST_TIMEOUT } from './support/cli';
import { BASE_FLEET } from './support/fleet';
import { readTree, workspace, writeFile } from './support/tree';

jest.setTimeout(PROCESS_TEST_TIMEOUT);

const ROOT = join(__dirname, '..');
const PROJECT_CONFIG = parse(readFileSync(join(ROOT, 'cdk8s.yaml'), 'utf8'));
const SYNTH_SCRIPT = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.synth;

/** Two clusters: twelve .yaml files, more than the ten pipes Node lets onto stdout without a warning. */
const FLEET = `${BASE_FLEET}  production:
    webhook:
      nodePort: 31235
      address: prod.example.org
    sources:
      - name: instavote
        url: https://github.com/lfs269/instavote
        tag: v1.0.0
    apps:
      - name: vote-production
        source: instavote
        path: ./deploy/vote/prod
    receivers:
      - name: instavote
        sources: [instavote]
`;

const ws = workspace(FLEET);
afterAll(() => rmSync(ws.root, { recursive: true, force: true }));
// The project's cdk8s.yaml, its launcher path made absolute so that it runs from the workspace.
writeFile(join(ws.root, 'cdk8s.yaml'), `app: ${PROJECT_CONFIG.app.replace('tools/launch.cjs', join(ROOT, 'tools', 'launch.cjs'))}\noutput: ${PROJECT_CONFIG.output}\n`);

function cdk8s(args: string[]) {
  return runCdk8s(ws, args, { FLUX_INFRA_NO_SECRETS: '1' });
}

test('cdk8s.yaml runs the app npm run synth runs', () => {
  expect(PROJECT_CONFIG.app).toBe(SYNTH_SCRIPT);
});

test('cdk8s synth --stdout: one YAML stream of every object synth writes, and no warning', () => {
  const run = cdk8s(['synth', '--stdout', '--no-check-upgrade']);
  expect(foreignLines(run.stderr)).toEqual([]);
  expect(run.status).toBe(0);
  const documents = parseAllDocuments(run.stdout);
  expect(documents.flatMap((document) => [...document.errors, ...document.warnings].map((problem) => problem.message))).toEqual([]);
  const printed = documents.map((document) => document.toJS());
  // The objects of dist/ in its files' order, but the flux-system folders (kustomize's input).
  const dist = readTree(ws.distDir);
  expect(Object.keys(dist).filter((path) => path.endsWith('.yaml')).length).toBeGreaterThan(10);
  const expected = ['staging', 'production']
    .flatMap((cluster) => Object.keys(dist).filter((path) => path.startsWith(`clusters/${cluster}/`)).sort())
    .filter((path) => path.endsWith('.yaml') && !path.includes('/flux-system/'))
    .flatMap((path) => parseAllDocuments(dist[path]).map((document) => document.toJS()));
  expect(printed).toEqual(expected);
  for (const object of printed) expect(object).toEqual(expect.objectContaining({ apiVersion: expect.any(String), kind: expect.any(String), metadata: expect.objectContaining({ name: expect.any(String) }) }));
  // Each file's objects under a comment naming it.
  expect(run.stdout).toContain(`---\n# ${ws.distDir}/clusters/production/receivers.yaml\napiVersion: notification.toolkit.fluxcd.io/v1\n`);
});

test('cdk8s synth: synth writes dist/, and the CLI lists the one stream file of its output folder', () => {
  const run = cdk8s(['synth', '--no-check-upgrade']);
  expect(foreignLines(run.stderr)).toEqual([]);
  expect(run.status).toBe(0);
  expect(run.stdout).toContain(`  - ${PROJECT_CONFIG.output}/${CDK8S_STREAM_FILE}\n`);
  expect(Object.keys(readTree(join(ws.root, PROJECT_CONFIG.output)))).toEqual([CDK8S_STREAM_FILE]);
  expect(readTree(ws.distDir)['clusters/production/apps.yaml']).toContain('name: vote-production');
});
