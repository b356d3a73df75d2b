// `npm run bench`: synth wall time and peak memory for fleets of 1 to 1000 clusters, each in a
// fresh process, against the stock cdk8s way (cdk8s synth + ts-node with type-checking).
// A benchmark, not a test: it prints numbers and whether the targets hold; it asserts nothing.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { projectRoot } from './project-root';

const ROOT = projectRoot(__dirname);
const SIZES = [1, 10, 100, 1000];
/** Runs per figure, the median reported: this machine's disk and neighbours make single runs vary by a third. */
const RUNS = 5;
/** `npm test` takes most of a minute: fewer runs of it. */
const TEST_RUNS = 3;

/** The webhook block of the bench's cluster `index`: the four exposures in turn, each at its own origin. */
function exposureLines(index: number, name: string): string[] {
  switch (index % 4) {
    case 0: return [`      nodePort: ${30000 + (index % 2768)}`];
    case 1: return ['      loadBalancer:', `        address: ${name}.lb.example.com`, '        sourceRanges: [192.30.252.0/22, 2606:50c0::/32]', '      externalTrafficPolicy: Local'];
    case 2: return ['      gateway:', '        parentRef: {name: public, namespace: gateway-system, sectionName: https}', `        hostname: ${name}.hooks.example.com`];
    default: return ['      ingress:', '        className: traefik', `        hostname: ${name}.hooks.example.org`, `        tls: {secretName: ${name}-hooks-tls, clusterIssuer: letsencrypt}`];
  }
}

/** A fleet of `clusters` clusters, each with 3 sources, 5 apps, one Receiver and one of the four exposures in turn, and with `ageRecipient` its token Secret encrypted. */
export function syntheticFleet(clusters: number, ageRecipient?: string): string {
  const lines = ['clusters:'];
  for (let index = 0; index < clusters; index++) {
    const name = `c${String(index).padStart(4, '0')}`;
    lines.push(`  ${name}:`, '    webhook:', ...exposureLines(index, name), '    sources:');
    for (let source = 0; source < 3; source++) {
      lines.push(`      - name: src-${source}`, `        url: https://github.com/bench/app-${source}`, '        branch: main', '        interval: 1h');
    }
    lines.push('    apps:');
    for (let app = 0; app < 5; app++) {
      lines.push(`      - name: app-${app}`, `        source: src-${app % 3}`, `        path: ./deploy/app-${app}/${name}`, '        interval: 1h');
    }
    lines.push('    receivers:', '      - name: push', '        sources: [src-0, src-1, src-2]');
    if (ageRecipient) lines.push('    sops:', `      ageRecipients: [${ageRecipient}]`);
  }
  return `${lines.join('\n')}\n`;
}

interface Run {
  readonly seconds: number;
  readonly peakRssMb: number;
}

interface MeasureOptions {
  /** Copied in as dist/ before the run. @default an empty dist/ */
  readonly startFrom?: string;
  /** Keep dist/ and secrets/ as the previous run left them (a re-synth). @default false */
  readonly keep?: boolean;
  /** Read and make tokens, with this environment (keys). @default no secrets */
  readonly secretsEnv?: NodeJS.ProcessEnv;
}

/** Runs a command from the repository root with synth's paths in `workdir`, timing it and reading the peak RSS of every node process it started. */
function measure(command: string, args: string[], workdir: string, fleetFile: string, options: MeasureOptions = {}): Run {
  if (!options.keep) {
    // A first synth: no dist/, no secrets, and no render cache (lib/output/render-cache.ts) beside
    // dist/. The old ones are moved aside and deleted at the end: deleting thousands of files just
    // before a run makes the disk slow to create the next ones, which is not synth's time.
    const aside = mkdtempSync(join(workdir, 'old-'));
    for (const name of ['dist', 'secrets', '.flux-infra.cache.json']) {
      if (existsSync(join(workdir, name))) renameSync(join(workdir, name), join(aside, name));
    }
  }
  if (options.startFrom) cpSync(options.startFrom, join(workdir, 'dist'), { recursive: true });
  // Flush what was written before, so that the disk's write-back is not timed in this run.
  spawnSync('sync');
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      NODE_OPTIONS: `--conditions=import --require ${join(ROOT, 'tools', 'bench', 'peak-rss.cjs')}`,
      FLUX_INFRA_FLEET: fleetFile,
      FLUX_INFRA_DIST: join(workdir, 'dist'),
      FLUX_INFRA_SECRETS: join(workdir, 'secrets'),
      FLUX_INFRA_SOPS_CONFIG: join(workdir, '.sops.yaml'),
      CDK8S_CHECK_UPGRADE: 'false',
      ...(options.secretsEnv ?? { FLUX_INFRA_NO_SECRETS: '1' }),
    },
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
  const peaks = [...result.stderr.matchAll(/flux-infra-bench maxrss_kb=(\d+)/g)].map((match) => Number(match[1]));
  return { seconds, peakRssMb: Math.max(...peaks) / 1024 };
}

/**
 * 1000 clusters whose token Secrets are committed encrypted, with the key at hand: the first synth
 * (new tokens, each encrypted) and a re-synth where nothing changed (each committed Secret opened
 * and its MAC checked, then kept).
 */
async function sopsFleet(workdir: string): Promise<{ first: Run; noop: Run }> {
  const { generateX25519Identity, identityToRecipient } = await import('age-encryption');
  const identity = await generateX25519Identity();
  const keyFile = join(workdir, 'bench.agekey');
  writeFileSync(keyFile, `${identity}\n`, { mode: 0o600 });
  const fleetFile = join(workdir, 'fleet-sops-1000.yaml');
  writeFileSync(fleetFile, syntheticFleet(1000, await identityToRecipient(identity)));
  const secretsEnv = { SOPS_AGE_KEY_FILE: keyFile };
  const first = repeat(RUNS, () => measure(SYNTH[0], [...SYNTH[1]], workdir, fleetFile, { secretsEnv }));
  const noop = repeat(RUNS, () => measure(SYNTH[0], [...SYNTH[1]], workdir, fleetFile, { secretsEnv, keep: true }));
  process.stderr.write(`  1000 SOPS clusters: first ${first.seconds.toFixed(2)} s, no-op ${noop.seconds.toFixed(2)} s\n`);
  return { first, noop };
}

function median(runs: Run[]): Run {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return { seconds: sorted[Math.floor(sorted.length / 2)].seconds, peakRssMb: Math.max(...runs.map((run) => run.peakRssMb)) };
}

function repeat(times: number, run: () => Run): Run {
  return median(Array.from({ length: times }, run));
}

// What `npm run synth` runs, without npm's own start-up: the launcher, from its bundle and code cache.
const SYNTH = [process.execPath, [join('tools', 'launch.cjs'), 'main']] as const;

/**
 * The ways the synth process could start, on the default fleet (issue 15's decision): the old way
 * (TypeScript through @swc-node/register), JavaScript compiled per file ahead of time (@swc/core),
 * one esbuild bundle run as it is, and that bundle with V8's code cache (the launcher).
 */
function startupOptions(workdir: string, defaultFleet: (command: string, args: string[]) => Run): { how: string; run: Run }[] {
  const compiled = join(workdir, 'compiled');
  // Loaded here only: a native module, and only the bench compares start-ups.
  const swc = require('@swc/core') as typeof import('@swc/core');
  const sources = spawnSync('git', ['ls-files', '*.ts'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\n').filter((file) => file && !file.startsWith('test/'));
  for (const file of sources) {
    const { code } = swc.transformFileSync(join(ROOT, file), { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } });
    mkdirSync(dirname(join(compiled, file)), { recursive: true });
    writeFileSync(join(compiled, file.replace(/\.ts$/, '.js')), code);
  }
  symlinkSync(join(ROOT, 'node_modules'), join(compiled, 'node_modules'));
  const stamp = JSON.parse(readFileSync(join(ROOT, 'node_modules', '.cache', 'flux-infra', 'main.json'), 'utf8')) as { bundle: string };
  return [
    { how: 'TypeScript through @swc-node/register (before)', run: defaultFleet(process.execPath, ['-r', '@swc-node/register', 'main.ts']) },
    { how: 'JavaScript compiled per file ahead of time', run: defaultFleet(process.execPath, [join(compiled, 'main.js')]) },
    { how: 'one esbuild bundle, no code cache', run: defaultFleet(process.execPath, [join(ROOT, 'node_modules', '.cache', 'flux-infra', stamp.bundle)]) },
    { how: 'the bundle with V8\'s code cache (tools/launch.cjs)', run: defaultFleet(SYNTH[0], [...SYNTH[1]]) },
  ];
}

/** `npm test` as a developer runs it, caches warm (one run first to warm them). */
function npmTest(): Run {
  const run = () => {
    const started = process.hrtime.bigint();
    const result = spawnSync('npm', ['test'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    if (result.status !== 0) throw new Error(`npm test failed:\n${result.stdout}${result.stderr}`);
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRssMb: 0 };
  };
  run();
  return repeat(TEST_RUNS, run);
}
// The stock cdk8s template: `cdk8s synth` with `app: npx ts-node main.ts` (type-checked on every run).
// Its tsconfig is CommonJS; node16 resolution finds the Flux types' `exports`.
const BASELINE = [process.execPath, [
  join(ROOT, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s'), 'synth', '--no-check-upgrade', '--output', '',
  '--app', 'npx ts-node -O \'{"module":"commonjs","moduleResolution":"node16"}\' main.ts',
]] as const;

async function main(): Promise<void> {
  const workdir = mkdtempSync(join(tmpdir(), 'flux-infra-bench-'));
  try {
    const sizes = SIZES.map((clusters) => {
      const fleetFile = join(workdir, `fleet-${clusters}.yaml`);
      writeFileSync(fleetFile, syntheticFleet(clusters));
      const run = repeat(RUNS, () => measure(SYNTH[0], [...SYNTH[1]], workdir, fleetFile));
      process.stderr.write(`  ${clusters} cluster(s): ${run.seconds.toFixed(2)} s\n`);
      return { clusters, ...run, msPerCluster: (run.seconds * 1000) / clusters };
    });
    const baselineArgs = [...BASELINE[1]];
    baselineArgs[4] = join(workdir, '.cdk8s.out');
    const baseline = repeat(RUNS, () => measure(BASELINE[0], baselineArgs, workdir, join(workdir, 'fleet-1.yaml')));
    // The default fleet's encrypted Secret is kept, not made, without its token: start from the committed dist/.
    const defaultFleetWith = (command: string, args: string[]) => repeat(RUNS, () => measure(command, args, workdir, join(ROOT, 'fleet.yaml'), { startFrom: join(ROOT, 'dist') }));
    const defaultFleet = defaultFleetWith(SYNTH[0], [...SYNTH[1]]);
    const startups = startupOptions(workdir, defaultFleetWith);
    const sops = await sopsFleet(workdir);
    // The floor any synth process stands on: node itself, started the same way.
    const nodeAlone = repeat(RUNS, () => measure(process.execPath, ['-e', '0'], workdir, join(workdir, 'fleet-1.yaml')));
    // 1000 clusters again with nothing changed, and with one line of one cluster changed.
    const bigFleet = join(workdir, 'fleet-1000.yaml');
    measure(SYNTH[0], [...SYNTH[1]], workdir, bigFleet);
    const noop1000 = repeat(RUNS, () => measure(SYNTH[0], [...SYNTH[1]], workdir, bigFleet, { keep: true }));
    const oneChanged = repeat(RUNS, () => {
      const text = readFileSync(bigFleet, 'utf8');
      // Alternate the interval of c0500's first app, so every run has a change to write.
      writeFileSync(bigFleet, text.includes('./deploy/app-0/c0500\n        interval: 1h') ? text.replace('./deploy/app-0/c0500\n        interval: 1h', './deploy/app-0/c0500\n        interval: 2h') : text.replace('./deploy/app-0/c0500\n        interval: 2h', './deploy/app-0/c0500\n        interval: 1h'));
      return measure(SYNTH[0], [...SYNTH[1]], workdir, bigFleet, { keep: true });
    });
    process.stderr.write(`  node -e 0: ${nodeAlone.seconds.toFixed(2)} s; 1000 clusters no-op ${noop1000.seconds.toFixed(2)} s, one changed ${oneChanged.seconds.toFixed(2)} s\n`);
    const tests = npmTest();
    process.stderr.write(`  npm test: ${tests.seconds.toFixed(1)} s\n`);
    const at = (clusters: number) => sizes.find((size) => size.clusters === clusters)!.seconds;
    const marginal10to100 = ((at(100) - at(10)) / 90) * 1000;
    const marginal100to1000 = ((at(1000) - at(100)) / 900) * 1000;
    const big = sizes.find((size) => size.clusters === 1000)!;
    const report = {
      node: process.version,
      runsPerPoint: RUNS,
      sizes,
      baseline: { what: 'cdk8s synth + npx ts-node (type-checked), 1 cluster', ...baseline },
      sops1000: sops,
      nodeAlone,
      thousandNoop: noop1000,
      thousandOneChanged: oneChanged,
      startupOptions: startups,
      npmTest: tests.seconds,
      synthOneCluster: at(1),
      ratioToBaseline: at(1) / baseline.seconds,
      defaultFleet: { ...defaultFleet, ratioToBaseline: defaultFleet.seconds / baseline.seconds },
      marginalMsPerCluster: { from10to100: marginal10to100, from100to1000: marginal100to1000, ratio: marginal100to1000 / marginal10to100 },
      targets: {
        defaultFleetAtMost04xBaseline: defaultFleet.seconds / baseline.seconds <= 0.4,
        thousandClustersUnder10s: big.seconds < 10,
        thousandClustersUnder1GiB: big.peakRssMb < 1024,
        marginalCostFlat: marginal100to1000 / marginal10to100 <= 1.3,
        thousandSopsClustersFirstSynthUnder15s: sops.first.seconds < 15,
        thousandSopsClustersNoopUnder10s: sops.noop.seconds < 10,
        // Issue 15's targets.
        defaultFleetProcessAtMost035s: defaultFleet.seconds <= 0.35,
        defaultFleetAtMost5xNode: defaultFleet.seconds <= 5 * nodeAlone.seconds,
        thousandClustersFirstUnder5s: big.seconds < 5,
        thousandClustersNoopUnder2s: noop1000.seconds < 2,
        thousandClustersOneChangedUnder2s: oneChanged.seconds < 2,
        thousandClustersUnder300MiB: Math.max(big.peakRssMb, noop1000.peakRssMb, oneChanged.peakRssMb) < 300,
        npmTestUnder30s: tests.seconds < 30,
      },
    };
    const rows = [
      '| clusters | wall (s) | per cluster (ms) | peak RSS (MiB) |',
      '| ---: | ---: | ---: | ---: |',
      ...sizes.map((size) => `| ${size.clusters} | ${size.seconds.toFixed(2)} | ${size.msPerCluster.toFixed(1)} | ${size.peakRssMb.toFixed(0)} |`),
      `| 1000 with SOPS, first synth (key at hand) | ${sops.first.seconds.toFixed(2)} | ${sops.first.seconds.toFixed(1)} | ${sops.first.peakRssMb.toFixed(0)} |`,
      `| 1000 with SOPS, nothing changed | ${sops.noop.seconds.toFixed(2)} | ${sops.noop.seconds.toFixed(1)} | ${sops.noop.peakRssMb.toFixed(0)} |`,
      `| 1000, nothing changed | ${noop1000.seconds.toFixed(2)} | ${noop1000.seconds.toFixed(1)} | ${noop1000.peakRssMb.toFixed(0)} |`,
      `| 1000, one line of one cluster changed | ${oneChanged.seconds.toFixed(2)} | ${oneChanged.seconds.toFixed(1)} | ${oneChanged.peakRssMb.toFixed(0)} |`,
      `| default fleet, synth process (no npm) | ${defaultFleet.seconds.toFixed(2)} | | ${defaultFleet.peakRssMb.toFixed(0)} |`,
      `| node -e 0 | ${nodeAlone.seconds.toFixed(2)} | | ${nodeAlone.peakRssMb.toFixed(0)} |`,
      `| baseline: cdk8s synth + ts-node, 1 cluster | ${baseline.seconds.toFixed(2)} | | ${baseline.peakRssMb.toFixed(0)} |`,
    ];
    console.log(rows.join('\n'));
    console.log(['', '| default fleet, synth process started as | wall (s) | peak RSS (MiB) |', '| --- | ---: | ---: |', ...startups.map(({ how, run }) => `| ${how} | ${run.seconds.toFixed(2)} | ${run.peakRssMb.toFixed(0)} |`)].join('\n'));
    console.log(`\nnpm test: ${tests.seconds.toFixed(1)} s`);
    console.log(`\ndefault fleet / baseline: ${report.defaultFleet.ratioToBaseline.toFixed(2)}x; 1 cluster / baseline: ${report.ratioToBaseline.toFixed(2)}x`);
    console.log(`default fleet / node -e 0: ${(defaultFleet.seconds / nodeAlone.seconds).toFixed(1)}x (target 5x, and 0.35 s)`);
    console.log(`marginal cost per cluster: ${marginal10to100.toFixed(2)} ms (10->100), ${marginal100to1000.toFixed(2)} ms (100->1000), ratio ${report.marginalMsPerCluster.ratio.toFixed(2)}`);
    console.log(`\n${JSON.stringify(report, null, 2)}`);
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
}

if (require.main === module) void main();
