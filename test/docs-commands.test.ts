// Every command README.md and docs/*.md tell a reader to type is run, so that none can rot: README's
// quick start is followed literally in a scratch copy of this checkout (with its own bare remote),
// the other commands of ours are run here too or found in the test that runs them (an argument
// list starting with the same words), `npm ci`/`npm test`/... must be in `.ci/run`, and a `flux`
// command must be the one synth writes into the cluster's README. A command matching none of these
// fails with its file and line.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments, parseDocument } from 'yaml';
import { environment, PROCESS_TEST_TIMEOUT } from './support/cli';
import { parseFleet } from '../lib/fleet/parse';
import { bootstrapCommand } from '../lib/output/cluster-readme';
import { allDocCommands, commandsIn, DocCommand, npmScriptOf, ROOT } from './support/doc-commands';
import { testWith } from './support/external-tools';
import { git } from './support/git';
import { workspaceAt } from './support/tree';

jest.setTimeout(6 * PROCESS_TEST_TIMEOUT);

/** What the docs' placeholders stand for here. */
const PLACEHOLDERS: Record<string, string> = {
  '<cluster>': 'staging',
  '<you>': 'acme',
  '<org>': 'acme',
  '<token>': `ghp_${'x'.repeat(36)}`,
  "<your node's IP>": '198.51.100.7',
};

function substitute(text: string): string {
  return Object.entries(PLACEHOLDERS).reduce((result, [placeholder, value]) => result.split(placeholder).join(value), text);
}

/**
 * Named in prose, not commands to type: npm's own flags, the shape every webhook command has, the
 * program `flux bootstrap` and the mechanism `git ls-remote` (a full form of it is run below).
 */
const NOT_COMMANDS = new Set(['npm run', 'npm run -s', 'npm run webhook -- <command> <cluster>', 'flux bootstrap', 'git ls-remote']);

/**
 * The flux CLI's commands the docs point to. The CLI cannot be built here: the module proxy's copy of
 * flux2 v2.9.4 lacks the manifests its make step generates (`go build ./cmd/flux`: "pattern
 * manifests/*.yaml: no matching files found"), so these are not run; what they show is checked
 * through the API server in the end-to-end suite (Receivers' status.webhookPath, the controller's log).
 */
const FLUX_CLI_ONLY = new Set(['flux get receivers', 'flux events -n <namespace> --for Receiver/<receiver>', 'flux create']);

/**
 * Commands that take minutes and are run by hand only, each with why. `npm run bench` runs 1000-cluster
 * synths and `npm test` twice: it is a measurement, not a check (its code is type-checked by `npm test`).
 */
const BY_HAND = new Map([['npm run bench', 'a measurement of several minutes that runs npm test itself']]);

/** Commands that need GitHub or a cluster: README's quick start cannot run them here; a test with stand-ins does. */
function needsOutside(text: string): boolean {
  const npm = npmScriptOf(text);
  if (npm?.script !== 'webhook') return text.startsWith('kubectl apply');
  const [command] = npm.args;
  return ['ping', 'deliveries', 'verify', 'allowlist'].includes(command) || (command === 'hook' && !npm.args.includes('--dry-run'));
}

// --- the scratch checkout -------------------------------------------------------------------------

/** A copy of this checkout's tracked files as they are now (uncommitted edits too), committed, with a bare `origin`. */
function scratchCheckout(): { root: string; remote: string; remove(): void } {
  const base = mkdtempSync(join(tmpdir(), 'flux-infra-docs-'));
  const root = join(base, 'flux-infra');
  const remote = join(base, 'origin.git');
  const tracked = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  for (const file of tracked) {
    const from = join(ROOT, file);
    let stats;
    try {
      stats = statSync(from);
    } catch {
      continue; // deleted in the working tree, not yet committed
    }
    if (!stats.isFile()) continue;
    mkdirSync(dirname(join(root, file)), { recursive: true });
    copyFileSync(from, join(root, file));
    chmodSync(join(root, file), stats.mode & 0o777);
  }
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  git(base, 'init', '--bare', '-q', remote);
  git(root, 'init', '-q');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'the fleet as cloned');
  git(root, 'remote', 'add', 'origin', remote);
  git(root, 'push', '-q', '-u', 'origin', 'main');
  return { root, remote, remove: () => rmSync(base, { recursive: true, force: true }) };
}

/** The environment a reader's shell has in `root`: this machine's, without our tokens and keys, with a git identity. */
function shellEnvironment(root: string): NodeJS.ProcessEnv {
  const env = environment(workspaceAt(root), {
    GIT_AUTHOR_NAME: 'reader', GIT_AUTHOR_EMAIL: 'reader@example.com', GIT_COMMITTER_NAME: 'reader', GIT_COMMITTER_EMAIL: 'reader@example.com',
  });
  // The reader types `npm run ...` at the root of their clone: paths come from there, not from this run.
  for (const name of Object.keys(env)) if (/^(FLUX_INFRA_(FLEET|DIST|SECRETS|SOPS_CONFIG)|npm_)/.test(name)) delete env[name];
  return env;
}

function runInShell(root: string, command: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('bash', ['-c', command], { cwd: root, env: shellEnvironment(root), encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function expectSuccess(where: string, command: string, result: { status: number | null; stdout: string; stderr: string }): void {
  if (result.status !== 0) throw new Error(`${where}: \`${command}\` exited ${result.status}:\n${result.stdout}${result.stderr}`);
}

// --- where a test runs a command ------------------------------------------------------------------

function testFiles(directory = join(ROOT, 'test')): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' || entry.name === 'go' ? [] : testFiles(full);
    return /\.(ts|js)$/.test(entry.name) && full !== __filename && !full.endsWith(join('support', 'doc-commands.ts')) ? [full] : [];
  });
}

const TEST_SOURCES = new Map(testFiles().map((file) => [file, readFileSync(file, 'utf8')]));

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** What a test calls to run a program with an argument list (our scripts, kubectl, git, jest's list). */
const RUNNERS = '(?:runScript|runScriptOk|startScript|runInShell|run|cli|kubectl|git|runOptions|execFileSync|spawnSync|spawn)';

/** `const name = join(..., 'last')` in `source`: a variable standing for a path ending in `last`. */
function pathVariables(source: string, last: string): string[] {
  return [...source.matchAll(new RegExp(`\\b(?:const|let) (\\w+) = join\\([^)]*'${escape(last)}'\\)`, 'g'))].map((match) => match[1]);
}

/**
 * How an argument may be written in `source`'s argument list: the literal; a placeholder as any
 * literal or variable; a path of the checkout as `join(..., '<its last part>')` or a variable
 * assigned that.
 */
function argumentPattern(source: string, argument: string, placeholder: boolean): string {
  const literal = `'${escape(argument)}'`;
  if (placeholder) return `(?:'[^']*'|[\\w.]+(?:\\(\\))?)`; // `<cluster>`: any cluster
  if (/^[\w.-]+\/[\w./-]+$/.test(argument)) {
    const last = argument.split('/').at(-1)!;
    return `(?:${[literal, `join\\([^)]*'${escape(last)}'\\)`, ...pathVariables(source, last)].join('|')})`;
  }
  return literal;
}

/** The test file that runs `args`: a runner called with an argument list starting with them. */
function testRunning(args: string[], placeholders: boolean[]): string | undefined {
  for (const [file, source] of TEST_SOURCES) {
    const list = args.map((argument, index) => argumentPattern(source, argument, placeholders[index])).join(',\\s*');
    if (new RegExp(`\\b${RUNNERS}\\([^;]*?\\[\\s*${list}\\s*[,\\]]`).test(source)) return file;
  }
  return undefined;
}

/** The test file that runs webhook `command` with `option` somewhere in its argument list, if one does. */
function testRunningWithOption(command: string, option: string): string | undefined {
  const pattern = new RegExp(`\\b${RUNNERS}\\([^;]*?\\[\\s*'${escape(command)}',[^\\]]*'${escape(option)}'`);
  for (const [file, source] of TEST_SOURCES) if (pattern.test(source)) return file;
  return undefined;
}

/** The arguments a test would pass for `text`: after `npm run <script> --`, or after the program's name. */
function argumentsOf(text: string): { args: string[]; placeholders: boolean[] } {
  const npm = npmScriptOf(text);
  const words = npm ? npm.args : text.split(' ').slice(1);
  return { args: words.map(substitute), placeholders: words.map((word) => /^<[^>]+>$/.test(word)) };
}

/** The commands `.ci/run` runs: each line's words after `if !` and `VAR=value` words (no comment, no echo). */
function ciRunCommands(): string[][] {
  return readFileSync(join(ROOT, '.ci', 'run'), 'utf8').split('\n').map((line) => {
    const words = line.trim().split(/\s+/);
    while (words[0] === 'if' || words[0] === '!' || /^[A-Z_][A-Z0-9_]*=/.test(words[0] ?? '')) words.shift();
    return words;
  }).filter((words) => words.length > 0 && !words[0].startsWith('#'));
}

/** Whether `.ci/run` runs `text`: a command of it starting with the same words. */
function ciRuns(text: string): boolean {
  const words = text.split(' ');
  return ciRunCommands().some((command) => words.every((word, index) => command[index] === word));
}

// --- README's quick start, literally ----------------------------------------------------------------

const QUICK_START = commandsIn('README.md').filter((command) => command.step !== undefined);
const QUICK_START_BLOCKS = QUICK_START.filter((command) => command.kind === 'block');
/** Commands this file runs itself, by their text: the quick start's and the ones after it. */
const RUN_HERE = new Set<string>();

/** The quick start's step 1: its fleet.yaml snippet put into the default fleet, as a reader edits it. */
function editFleetAsStepOneSays(root: string): void {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const snippet = /^1\. [\s\S]*?^ *```yaml\n([\s\S]*?)^ *```/m.exec(readme.slice(readme.indexOf('\n## Quick start')));
  if (!snippet) throw new Error('README.md: the quick start\'s step 1 has no ```yaml block with the fleet.yaml edit');
  const edit = parseDocument(substitute(snippet[1].replace(/^ {3}/gm, ''))).toJS();
  const fleet = parseDocument(readFileSync(join(root, 'fleet.yaml'), 'utf8'));
  fleet.set('repository', edit.repository);
  for (const key of Object.keys(edit.clusters.staging)) fleet.setIn(['clusters', 'staging', key], fleet.createNode(edit.clusters.staging[key]));
  writeFileSync(join(root, 'fleet.yaml'), fleet.toString());
}

let scratch: ReturnType<typeof scratchCheckout>;
beforeAll(() => {
  scratch = scratchCheckout();
});
afterAll(() => scratch?.remove());

/** Whether `text` is the `flux bootstrap` line synth writes into the scratch clone's staging README. */
function isClusterReadmeBootstrap(text: string): boolean {
  return readFileSync(join(scratch.root, 'dist', 'clusters', 'staging', 'README.md'), 'utf8').includes(substitute(text));
}

/**
 * Whether `text` is a bootstrap line synth writes: the quick start's (GitHub), or for a fleet
 * repository on Bitbucket, `flux bootstrap git --url=...` (`...` standing for the rest).
 */
function isBootstrapLineOfSynth(text: string): boolean {
  if (isClusterReadmeBootstrap(text)) return true;
  const bitbucket = parseFleet([
    'repository: https://bitbucket.org/acme/flux-infra',
    'clusters:',
    '  staging:',
    '    webhook: {nodePort: 31234, address: 198.51.100.7}',
    '    sources: [{name: app, url: https://bitbucket.org/acme/app, branch: main}]',
    '    apps: [{name: app, source: app, path: ./deploy}]',
    '    receivers: [{name: app, sources: [app]}]',
    '',
  ].join('\n'));
  const line = bootstrapCommand(bitbucket.clusters[0]);
  const [before] = substitute(text).split('...');
  return text.includes('...') ? line.startsWith(before) : line === substitute(text);
}

describe('README\'s quick start, followed literally in a scratch clone', () => {
  test('steps 1 to 7 work as written: your key, your token, synth, doctor clean, commit and push, the bootstrap line, hook --dry-run', () => {
    expect(QUICK_START_BLOCKS.map((command) => command.step)).toEqual([...QUICK_START_BLOCKS.map((command) => command.step)].sort());
    editFleetAsStepOneSays(scratch.root);
    for (const command of QUICK_START_BLOCKS) {
      const text = substitute(command.text);
      if (needsOutside(command.text) || text.startsWith('kubectl ')) continue; // a test with stand-ins runs it; kubectl below
      RUN_HERE.add(command.text);
      if (text.startsWith('flux ')) {
        // Bootstrap needs GitHub: the line must be the one synth wrote for this fleet into the cluster's README.
        expect(`${command.where}: ${isClusterReadmeBootstrap(text) ? 'as in dist/clusters/staging/README.md' : text}`).toBe(`${command.where}: as in dist/clusters/staging/README.md`);
        continue;
      }
      expectSuccess(command.where, text, runInShell(scratch.root, text));
      if (command.step === 3 && text === 'npm run synth') {
        // Step 3 says doctor "should now say `staging: no problem found`".
        const doctor = runInShell(scratch.root, 'npm run --silent webhook -- doctor staging');
        expect(`${doctor.status} ${doctor.stdout}`).toContain('0 staging: no problem found');
      }
    }
    // What the steps left: a token of your own, encrypted for your key only, all of it pushed.
    expect(readFileSync(join(scratch.root, 'secrets', 'staging', 'webhook-token'), 'utf8')).toMatch(/^[0-9a-f]{64}\n?$/);
    expect(git(scratch.root, 'status', '--porcelain')).toBe('');
    expect(git(scratch.root, 'rev-parse', 'HEAD')).toBe(git(scratch.remote, 'rev-parse', 'main'));
    const pushedFleet = parseDocument(git(scratch.root, 'show', 'origin/main:fleet.yaml')).toJS();
    expect(pushedFleet.clusters.staging.sops.ageRecipients).toHaveLength(1);
    expect(pushedFleet.repository).toBe('https://github.com/acme/flux-infra');
  });

  test('the commands README and docs give besides, run in the clone the quick start made', () => {
    const runs: [string, (output: string) => void][] = [
      ['npm run webhook -- url staging', (output) => expect(output).toMatch(/^instavote: http:\/\/198\.51\.100\.7:31234\/hook\/[0-9a-f]{64}$/m)],
      ['cat secrets/staging/webhook-token', (output) => expect(output).toMatch(/^[0-9a-f]{64}$/)],
      ['npm run synth -- --check', (output) => expect(output).toContain('dist: up to date')],
      ['npm run secrets -- rotate-token production', (output) => expect(output).toContain('production')],
      ['git log', (output) => expect(output).toContain('the fleet as cloned')],
      ['git pull', (output) => expect(output).toMatch(/up to date/i)],
      ['git ls-remote <url> refs/heads/<branch>', (output) => expect(output).toMatch(/^[0-9a-f]{40}\trefs\/heads\/main$/)],
      ['npm run synth -- --help', (output) => expect(output).toContain('--check')],
      ['npm run synth:cdk8s', () => undefined],
      ['npm run -s synth:cdk8s -- --stdout', (output) => expect(parseAllDocuments(output).map((document) => document.toJS().kind)).toContain('Receiver')],
      ['npx cdk8s synth --stdout --no-check-upgrade', (output) => expect(parseAllDocuments(output).map((document) => document.toJS().kind)).toContain('Receiver')],
    ];
    for (const [command, check] of runs) {
      RUN_HERE.add(command);
      const result = runInShell(scratch.root, command.replace('<url>', scratch.remote).replace('<branch>', 'main'));
      expectSuccess('docs', command, result);
      check(command.includes('--stdout') ? result.stdout : `${result.stdout}${result.stderr}`.trim());
    }
    expect(git(scratch.root, 'status', '--porcelain')).toBe('');
  });

  testWith('kubectl', 'step 6\'s kubectl command makes the sops-age Secret from the key step 2 wrote (client-side dry run: no cluster here)', () => {
    const steps = QUICK_START_BLOCKS.filter((command) => command.text.startsWith('kubectl '));
    expect(steps.length).toBeGreaterThan(0);
    for (const command of steps) {
      RUN_HERE.add(command.text);
      const result = runInShell(scratch.root, `${substitute(command.text)} --dry-run=client -o yaml`);
      expectSuccess(command.where, command.text, result);
      const secret = parseDocument(result.stdout).toJS();
      expect(secret).toMatchObject({ kind: 'Secret', metadata: { name: 'sops-age', namespace: 'flux-system' } });
      expect(Buffer.from(secret.data['age.agekey'], 'base64').toString()).toBe(readFileSync(join(scratch.root, 'secrets', 'staging', 'age.agekey'), 'utf8'));
    }
  });
});

// --- every other command -------------------------------------------------------------------------

/** Where `part` is run, or why it passes; throws naming the place where nothing runs it. */
function checkCommand(where: string, part: string, kind: DocCommand['kind']): void {
  const npm = npmScriptOf(part);
  if (ciRuns(part) || RUN_HERE.has(part) || RUN_HERE.has(substitute(part))) return;
  if (part.startsWith('flux bootstrap')) {
    // Bootstrap needs the Git host: the line must be what synth writes into a cluster's README.
    if (isBootstrapLineOfSynth(part)) return;
    throw new Error(`${where}: \`${part}\` is not a bootstrap line synth writes into a cluster's README (lib/output/cluster-readme.ts)`);
  }
  if (part.startsWith('flux ')) {
    if (FLUX_CLI_ONLY.has(part)) return;
    throw new Error(`${where}: \`${part}\` needs the flux CLI, which cannot be built here: name it in FLUX_CLI_ONLY in test/docs-commands.test.ts, or write it as a command of ours`);
  }
  if (kind === 'synopsis' && npm?.args.length === 3) {
    const [command, , option] = npm.args;
    if (testRunningWithOption(command, option)) return;
    throw new Error(`${where}: option ${option} of \`webhook ${command}\` is used by no test that runs the command: add one to the test of ${command}`);
  }
  if ((npm && ['synth', 'secrets', 'webhook', 'test:e2e'].includes(npm.script)) || /^(kubectl|git) /.test(part)) {
    const { args, placeholders } = argumentsOf(part);
    if (args.length > 0 && testRunning(args, placeholders)) return;
  }
  throw new Error(`${where}: \`${part}\` is run by no test: run it in test/docs-commands.test.ts, or in the test of what it does (an argument list starting ${JSON.stringify(argumentsOf(part).args)}), or in .ci/run`);
}

describe('every command in README and docs is run by a test or by .ci/run', () => {
  const commands: DocCommand[] = allDocCommands().filter((command) => !NOT_COMMANDS.has(command.text) && !BY_HAND.has(command.text));

  test('the docs have commands to check (the extraction works)', () => {
    expect(commands.length).toBeGreaterThan(100);
    expect(QUICK_START_BLOCKS.length).toBeGreaterThan(8);
    expect(commands.filter((command) => command.kind === 'synopsis').length).toBeGreaterThan(20);
  });

  for (const command of commands) {
    const name = `${command.where} \`${command.text}\``;
    const body = () => command.text.split(' && ').forEach((part) => checkCommand(command.where, part, command.kind));
    // kubectl commands the quick start runs itself (step 6) need kubectl: skipped, and listed so, without it.
    const { args, placeholders } = argumentsOf(command.text);
    if (command.text.startsWith('kubectl ') && !testRunning(args, placeholders)) testWith('kubectl', name, body);
    else test(name, body);
  }
});
