// `npm run synth`: the cdk8s app's entry. Reads the arguments and the environment, runs the
// pipeline (lib/synth.ts), prints what it did and sets the exit code. Nothing imports this file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathsFromEnvironment } from './lib/layout';
import { CDK8S_STREAM_FILE, cdk8sStream } from './lib/output/cdk8s-stream';
import { TreeNotRestoredError } from './lib/output/dist-writer';
import { AfterDistWriteError, checkSynth, synthesize } from './lib/synth';
import { maskSecretShapes } from './lib/secrets/secret-shapes';

const USAGE = `Usage: npm run synth [-- <options>]

Synthesizes the fleet file (fleet.yaml, or FLUX_INFRA_FLEET) into dist/clusters/<cluster>/ and
.sops.yaml, generating the webhook token of each cluster new to the fleet. Writes only the files
that change; a wrong fleet file changes nothing.

Options:
  --check         write nothing; exit 1 naming what a synth would change in dist/ or .sops.yaml,
                  0 when they are up to date (what CI runs)
  --no-secrets    read and make no webhook token (also FLUX_INFRA_NO_SECRETS=1)
  --keep-changed  after an interrupted synth, keep the files changed since (a pull) and roll
                  back the rest
  -h, --help      print this and exit
`;

/** The options synth takes: all flags (no values), no positional arguments (it always synthesizes the whole fleet). */
const OPTIONS = { check: { type: 'boolean' }, 'no-secrets': { type: 'boolean' }, 'keep-changed': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;
type Options = { -readonly [name in keyof typeof OPTIONS]?: boolean };

/** A bad command line, as one line (exit code 2). */
class UsageError extends Error {}

/** The options in `argv`; a UsageError for anything else. node:util's parser, as commander costs synth's start-up. */
function parseOptions(argv: string[]): Options {
  const { tokens } = parseArgs({ args: argv, options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const options: Options = {};
  const seeHelp = 'see npm run synth -- --help';
  for (const token of tokens) {
    if (token.kind === 'positional') {
      throw new UsageError(`synth takes no arguments, got "${token.value}": it synthesizes every cluster of the fleet file (${seeHelp})`);
    }
    if (token.kind === 'option-terminator') continue;
    if (!Object.hasOwn(OPTIONS, token.name)) throw new UsageError(`unknown option ${token.rawName} (${seeHelp})`);
    if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value (${seeHelp})`);
    options[token.name as keyof typeof OPTIONS] = true;
  }
  return options;
}

/** The bundle tools/launch.cjs runs this from, which keys the render cache; undefined when run otherwise (from TypeScript). */
function launcherBuild(): string | undefined {
  const build = (globalThis as Record<symbol, unknown>)[Symbol.for('flux-infra.build-id')];
  return typeof build === 'string' ? build : undefined;
}

/** What a failed synth left in dist/, as the start of its message: only what is true. */
function failureHeadline(error: unknown): string {
  if (error instanceof AfterDistWriteError) {
    const { changed, written, removed } = error.dist;
    return changed
      ? `synth failed after writing dist/ (${written.length} file(s) written, ${removed.length} stale file(s) removed)`
      : 'synth failed, dist/ was up to date';
  }
  if (error instanceof TreeNotRestoredError) return 'synth failed, dist/ is half-written';
  return 'synth failed, dist/ is unchanged';
}

/** Every line synth prints: an age secret key or a 64-hex token pasted into the fleet file is never echoed. */
function say(text: string): void {
  console.error(maskSecretShapes(text));
}

async function main(argv: string[]): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    say(error.message);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  // Without secrets (CI, or a machine that must not hold tokens): no token is read or made.
  const secrets = !options['no-secrets'] && process.env.FLUX_INFRA_NO_SECRETS !== '1';
  const paths = pathsFromEnvironment();
  try {
    if (options.check) {
      const changes = await checkSynth({ ...paths, secrets, build: launcherBuild() });
      say(changes.length === 0
        ? `dist: up to date (${paths.distDir}/ and ${paths.sopsConfigFile} are what synth makes)`
        : `synth would change ${changes.length} file(s): ${changes.join(', ')}; run npm run synth and commit the result`);
      return changes.length === 0 ? 0 : 1;
    }
    // After an interrupted synth, files changed since (a pull) are kept and the rest rolled back.
    const keepChanged = options['keep-changed'] === true;
    const result = await synthesize({ ...paths, secrets, build: launcherBuild(), keepChanged });
    const { written, removed } = result.dist;
    say(result.dist.changed
      ? `dist: ${written.length} file(s) written, ${removed.length} stale file(s) removed`
      : 'dist: up to date');
    for (const path of removed) say(`  removed ${path}`);
    for (const file of result.encrypted) say(`  encrypted ${file}`);
    for (const note of result.notes) say(`note: ${note}`);
    for (const file of result.generatedTokens) say(`new webhook token: ${file} (keep it; the Git host's webhook needs the same value)`);
    for (const file of result.secretFiles) say(`apply the token Secret yourself: kubectl apply -f ${file}`);
    // Under `cdk8s synth`: the CLI lists (or, with --stdout, prints) the .yaml files of its output folder.
    const cdk8sOut = process.env.CDK8S_OUTDIR;
    if (cdk8sOut) {
      mkdirSync(cdk8sOut, { recursive: true });
      writeFileSync(join(cdk8sOut, CDK8S_STREAM_FILE), cdk8sStream(result.files, paths.distDir));
    }
    return 0;
  } catch (error) {
    // One problem, one line; a fleet file with several mistakes lists them below the headline.
    const message = (error as Error).message;
    const headline = options.check ? 'synth --check failed, nothing written' : failureHeadline(error);
    say(message.includes('\n') ? `${headline}:\n${message}` : `${headline}: ${message}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
