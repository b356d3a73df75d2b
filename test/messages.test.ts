// Issue 22's first hour: README's path for a default cluster made one's own works as written, every
// message about a missing token gives the one fix, doctor sees a gone age key, and a misspelt
// fleet key gets one line naming the field it stands for. Real processes, as a user runs them.
import { copyFileSync, cpSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { missingTokenFix } from '../lib/secrets/cluster-token';
import { parseFleet } from '../lib/fleet/parse';
import { PROCESS_TEST_TIMEOUT, runScript } from './support/cli';
import { BASE_FLEET } from './support/fleet';
import { workspace, Workspace } from './support/tree';

const REPOSITORY = join(__dirname, '..');
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A fresh copy of the repository's fleet, dist/ and .sops.yaml (no secrets/), with staging given another app. */
function freshCloneWithOwnApp(edit: (fleet: string) => string = (fleet) => fleet): Workspace {
  const fleet = readFileSync(join(REPOSITORY, 'fleet.yaml'), 'utf8')
    .replace('url: https://github.com/lfs269/instavote   # the app repo (use your fork)', 'url: https://github.com/me/myapp')
    .replace('path: ./deploy/vote/staging', 'path: ./deploy/staging');
  expect(fleet).toContain('https://github.com/me/myapp');
  const ws = workspace(edit(fleet));
  roots.push(ws.root);
  cpSync(join(REPOSITORY, 'dist'), ws.distDir, { recursive: true });
  copyFileSync(join(REPOSITORY, '.sops.yaml'), ws.sopsConfigFile);
  return ws;
}

/** The last line age-key prints names the next command: its last `npm run ...`, as argv for runScript. */
function nextCommand(stderr: string): { script: 'synth' | 'secrets'; args: string[] } {
  const last = stderr.trim().split('\n').at(-1)!;
  const command = [...last.matchAll(/npm run (synth|secrets)(?: -- ([^,]*))?/g)].at(-1) ?? null;
  if (command === null) throw new Error(`age-key's last line names no command: ${last}`);
  return { script: command[1] as 'synth' | 'secrets', args: command[2]?.split(' ') ?? [] };
}

/** docs/secrets.md's "Set up a cluster once", followed literally: age-key --write-fleet, then what its last line says. */
function setUpOnce(ws: Workspace, cluster: string): { ageKey: string; next: string } {
  const ageKey = runScript(ws, 'secrets', ['age-key', cluster, '--write-fleet']);
  expect(ageKey.status).toBe(0);
  const next = nextCommand(ageKey.stderr);
  const ran = runScript(ws, next.script, next.args);
  expect([ran.status, ran.stderr]).toEqual([0, expect.not.stringContaining('failed')]);
  return { ageKey: ageKey.stderr, next: `${next.script} ${next.args.join(' ')}`.trim() };
}

/** After set-up: the Payload URL is there, doctor finds nothing, and the committed Secret is the cluster's. */
function expectWorking(ws: Workspace, cluster: string): void {
  const url = runScript(ws, 'webhook', ['url', cluster, '--receiver', 'instavote']);
  expect([url.status, url.stdout]).toEqual([0, expect.stringMatching(/^http:\/\/203\.0\.113\.\d+:\d+\/hook\/[0-9a-f]{64}\n$/)]);
  const doctor = runScript(ws, 'webhook', ['doctor', cluster]);
  expect([doctor.status, doctor.stdout]).toEqual([0, `${cluster}: no problem found\n`]);
  expect(existsSync(join(ws.distDir, 'clusters', cluster, 'webhook-token-secret.sops.yaml'))).toBe(true);
}

describe('a default cluster made your own, as README says', () => {
  test('keeping its sops block: synth notes the fix, age-key names rotate-token, and then everything works', () => {
    const ws = freshCloneWithOwnApp();
    const synth = runScript(ws, 'synth');
    expect(synth.status).toBe(0);
    expect(synth.stderr).toContain('note: staging: the webhook token is only in');
    expect(synth.stderr).toContain('npm run secrets -- age-key staging --replace-recipients, then npm run secrets -- rotate-token staging');

    const { ageKey, next } = setUpOnce(ws, 'staging');
    expect(ageKey).toMatch(/added to the fleet file; next, put an age key that opens .* or give the cluster a new token encrypted for your key: npm run secrets -- rotate-token staging\n$/);
    expect(next).toBe('secrets rotate-token staging');
    expectWorking(ws, 'staging');
  }, PROCESS_TEST_TIMEOUT);

  test('with its sops block removed first (where issue 22 met "no webhook token here to encrypt"): age-key names rotate-token, and then everything works', () => {
    const ws = freshCloneWithOwnApp((fleet) => fleet.replace(/    sops:.*\n      ageRecipients:\n        - age1\w+\n/, ''));
    expect(readFileSync(ws.fleetFile, 'utf8')).not.toContain('sops:');
    expect(runScript(ws, 'synth').status).toBe(0);

    const { next } = setUpOnce(ws, 'staging');
    expect(next).toBe('secrets rotate-token staging');
    expectWorking(ws, 'staging');
    // What the old README step led to is now a failure that names the same fix.
    rmSync(join(ws.distDir, 'clusters', 'staging', 'webhook-token-secret.sops.yaml'));
    rmSync(join(ws.secretsDir, 'staging', 'webhook-token'));
    rmSync(join(ws.secretsDir, 'staging', 'webhook-token.committed'));
    const failed = runScript(ws, 'synth');
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/does not exist yet and there is no webhook token here to encrypt: set FLUX_INFRA_WEBHOOK_TOKEN_STAGING or put the token in .* \(whoever set up the webhook has it\), or give the cluster a new token encrypted for your key: npm run secrets -- rotate-token staging\n$/);
  }, PROCESS_TEST_TIMEOUT);

  test('a cluster new to the fleet: age-key names synth, which makes and encrypts its token', () => {
    const ws = freshCloneWithOwnApp((fleet) => `${fleet}\n  lab:\n    webhook:\n      address: 203.0.113.30\n      nodePort: 31236\n    sources:\n      - name: instavote\n        url: https://github.com/me/myapp\n    receivers:\n      - name: instavote\n        sources: [instavote]\n`);
    const { ageKey, next } = setUpOnce(ws, 'lab');
    expect(ageKey).toMatch(/added to the fleet file; next, run npm run synth, which makes a token for a cluster new to the fleet\n$/);
    expect(next).toBe('synth');
    expectWorking(ws, 'lab');
  }, PROCESS_TEST_TIMEOUT);
});

describe('every message about a missing token', () => {
  test('gives the same fix: synth, url, ping, hook and doctor (age-key above)', () => {
    const ws = freshCloneWithOwnApp();
    const fleet = parseFleet(readFileSync(ws.fleetFile, 'utf8'));
    const fixFor = (cluster: string) => missingTokenFix(fleet.clusters.find((entry) => entry.name === cluster)!, { distDir: ws.distDir, secretsDir: ws.secretsDir, env: {} });
    for (const cluster of ['staging', 'production']) {
      const fix = fixFor(cluster);
      expect(fix).toContain(`npm run secrets -- rotate-token ${cluster}`);
      const outputs = {
        synth: runScript(ws, 'synth').stderr.split('\n').find((line) => line.startsWith(`note: ${cluster}: `)),
        url: runScript(ws, 'webhook', ['url', cluster]).stderr,
        ping: runScript(ws, 'webhook', ['ping', cluster, '--url', 'http://127.0.0.1:9/']).stderr,
        hook: runScript(ws, 'webhook', ['hook', cluster, '--dry-run']).stderr,
        doctor: runScript(ws, 'webhook', ['doctor', cluster]).stdout,
      };
      for (const [command, output] of Object.entries(outputs)) expect([command, output]).toEqual([command, expect.stringContaining(fix)]);
    }
    // staging's committed Secret is another's: a key of one's own comes first, then a token for it.
    expect(fixFor('staging')).toMatch(/^put an age key that opens .*webhook-token-secret\.sops\.yaml in .*, or give the cluster a new token encrypted for your key: npm run secrets -- age-key staging --replace-recipients, then npm run secrets -- rotate-token staging$/);
    expect(fixFor('production')).toMatch(/^set FLUX_INFRA_WEBHOOK_TOKEN_PRODUCTION or put the token in .*secrets\/production\/webhook-token \(whoever set up the webhook has it\), or give the cluster a new one: npm run secrets -- rotate-token production$/);
  }, PROCESS_TEST_TIMEOUT * 2);
});

describe('doctor and the age key', () => {
  test('reports an age key that opened the token and is gone, and nothing once it is back', () => {
    const ws = freshCloneWithOwnApp();
    expect(runScript(ws, 'secrets', ['age-key', 'staging', '--replace-recipients']).status).toBe(0);
    expect(runScript(ws, 'secrets', ['rotate-token', 'staging']).status).toBe(0);
    const keyFile = join(ws.secretsDir, 'staging', 'age.agekey');
    expect(runScript(ws, 'webhook', ['doctor', 'staging']).stdout).toBe('staging: no problem found\n');

    renameSync(keyFile, `${keyFile}.away`);
    const gone = runScript(ws, 'webhook', ['doctor', 'staging']);
    expect(gone.status).toBe(1);
    expect(gone.stdout).toMatch(/^problem: no age key here opens .*webhook-token-secret\.sops\.yaml .*: the token file goes on working, but .* need one; put it back from where you keep it, or give the cluster a new token encrypted for your key: npm run secrets -- age-key staging --replace-recipients, then npm run secrets -- rotate-token staging\n$/);
    // The token file itself still works, as the record vouches for it.
    expect(runScript(ws, 'webhook', ['url', 'staging']).status).toBe(0);

    renameSync(`${keyFile}.away`, keyFile);
    expect(runScript(ws, 'webhook', ['doctor', 'staging']).status).toBe(0);
  }, PROCESS_TEST_TIMEOUT);
});

describe('a misspelt fleet key', () => {
  const problemsOf = (fleet: string): string[] => {
    try {
      parseFleet(fleet, 'fleet.yaml');
    } catch (error) {
      return (error as { problems: string[] }).problems;
    }
    return [];
  };

  test.each([
    ['nodeport', BASE_FLEET.replace('nodePort:', 'nodeport:'), 'clusters.staging.webhook.nodeport: is not a known field: did you mean nodePort?'],
    ['recievers', BASE_FLEET.replace('    receivers:', '    recievers:'), 'clusters.staging.recievers: is not a known field: did you mean receivers?'],
    ['Branch', BASE_FLEET.replace('branch: main', 'Branch: main'), 'clusters.staging.sources[0].Branch: is not a known field: did you mean branch?'],
    ['intervall in an app', BASE_FLEET.replace('path: ./deploy/vote/staging\n        interval:', 'path: ./deploy/vote/staging\n        intervall:'), 'clusters.staging.apps[0].intervall: is not a known field: did you mean interval?'],
    ['brnch in repository:', `repository: {url: "https://github.com/acme/fleet", brnch: main}\n${BASE_FLEET}`, 'repository.brnch: is not a known field: did you mean branch?'],
    ['hostnme in an ingress', BASE_FLEET.replace('nodePort: 31234', 'ingress: {hostnme: hooks.example.com}'), 'clusters.staging.webhook.ingress.hostnme: is not a known field: did you mean hostname?'],
  ])('%s: one line, naming the field it stands for', (_what, fleet, line) => {
    const problems = problemsOf(fleet);
    expect(problems).toEqual([expect.stringContaining(line)]);
  });

  test('a key like no field gets no guess', () => {
    expect(problemsOf(BASE_FLEET.replace('    receivers:', '    colour: blue\n    receivers:'))).toEqual([
      expect.stringContaining('clusters.staging.colour: is not a known field: check its spelling and place'),
    ]);
  });
});
