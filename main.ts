// `npm run synth`: the cdk8s app's entry. Reads the arguments and the environment, runs the
// pipeline (lib/synth.ts), prints what it did and sets the exit code. Nothing imports this file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathsFromEnvironment } from './lib/layout';
import { TreeNotRestoredError } from './lib/output/dist-writer';
import { AfterDistWriteError, synthesize } from './lib/synth';
import { maskSecretShapes } from './lib/secrets/secret-shapes';

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
  // Without secrets (CI, or a machine that must not hold tokens): no token is read or made.
  const secrets = !argv.includes('--no-secrets') && process.env.FLUX_INFRA_NO_SECRETS !== '1';
  try {
    // After an interrupted synth, files changed since (a pull) are kept and the rest rolled back.
    const keepChanged = argv.includes('--keep-changed');
    const result = await synthesize({ ...pathsFromEnvironment(), secrets, build: launcherBuild(), keepChanged });
    const { written, removed } = result.dist;
    say(result.dist.changed
      ? `dist: ${written.length} file(s) written, ${removed.length} stale file(s) removed`
      : 'dist: up to date');
    for (const path of removed) say(`  removed ${path}`);
    for (const file of result.encrypted) say(`  encrypted ${file}`);
    for (const note of result.notes) say(`note: ${note}`);
    for (const file of result.generatedTokens) say(`new webhook token: ${file} (keep it; the Git host's webhook needs the same value)`);
    for (const file of result.secretFiles) say(`apply the token Secret yourself: kubectl apply -f ${file}`);
    // The cdk8s CLI expects its output folder and lists the manifests in it; give it a copy.
    const cdk8sOut = process.env.CDK8S_OUTDIR;
    for (const file of cdk8sOut ? result.files : []) {
      const target = join(cdk8sOut!, file.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, file.content);
    }
    return 0;
  } catch (error) {
    // One problem, one line; a fleet file with several mistakes lists them below the headline.
    const message = (error as Error).message;
    const headline = failureHeadline(error);
    say(message.includes('\n') ? `${headline}:\n${message}` : `${headline}: ${message}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
