// Runs a command of this project (`npm run synth`, `secrets`, `webhook`, `bench`) from one JavaScript
// bundle per command, built with esbuild only when a file it was built from has changed, and from
// V8's code cache of that bundle. See docs/performance.md for the numbers behind this.
//
//   node --conditions=import tools/launch.cjs <entry> [args...]   entry: main, tools/secrets, ...
//   node tools/launch.cjs --build [--force]                        builds every stale (or every) bundle now
//
// Plain CommonJS on purpose: it is what runs before any TypeScript can, so it cannot use lib/io
// (whose atomic writes it repeats in small: a temporary file opened exclusively, then a rename).
'use strict';
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const ROOT = path.join(__dirname, '..');
const ENTRIES = ['main', 'tools/secrets', 'tools/webhook', 'tools/bench', 'test/e2e/run'];
/** Per clone, like jest's cache here: `npm ci` empties it, and git never sees it. */
const CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'flux-infra');
/** npm's record of the installed packages (node_modules/.package-lock.json). */
const INSTALLED = 'node_modules/.package-lock.json';
/** Read by main.ts: the code that runs, which keys synth's render cache. */
const BUILD_ID = Symbol.for('flux-infra.build-id');

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** A link as the cache folder would make this process write where it points, and run what is there. */
function refuseLinkedCache() {
  let linked = false;
  try {
    linked = fs.lstatSync(CACHE_DIR).isSymbolicLink();
  } catch {
    // Not there yet: made by the first build.
  }
  if (linked) fail(`${CACHE_DIR} is a symbolic link: remove it (it is only a cache) and run the command again`);
}

function cacheDir() {
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  refuseLinkedCache();
  return CACHE_DIR;
}

function writeAtomically(file, content) {
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    fs.writeFileSync(temporary, content, { flag: 'wx' });
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

/** What identifies a file's version without reading it: ctime changes on every write, and no tool sets it back. */
function statOf(file) {
  try {
    const stats = fs.statSync(path.join(ROOT, file));
    return `${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
  } catch {
    return 'missing';
  }
}

const stampFile = (name) => path.join(CACHE_DIR, `${name.replace(/\//g, '-')}.json`);

/** The bundle of `name` when every file it was built from is as it was then, or undefined. */
function freshBundle(name) {
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(stampFile(name), 'utf8'));
  } catch {
    return undefined;
  }
  const fresh = Object.entries(stamp.inputs).every(([file, recorded]) => statOf(file) === recorded);
  return fresh ? stamp.bundle : undefined;
}

/** Builds `name` with esbuild into the cache folder and records what it was built from. */
function build(name) {
  // Only a stale bundle needs esbuild: loading it costs more than running a synth.
  const esbuild = require('esbuild');
  const started = Date.now();
  let result;
  try {
    result = esbuild.buildSync({
      absWorkingDir: ROOT,
      entryPoints: [`${name}.ts`],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      // The @kubernetes-models packages export ES modules only, under `import`.
      conditions: ['import'],
      // Native: the bench loads it from node_modules to compare start-ups; nothing else uses it.
      external: ['@swc/core'],
      // Without comments and blanks the bundle is half the text to read and parse, and pure ASCII
      // (which V8 reads twice as fast); names are kept, so a stack trace still names the functions.
      minifySyntax: true,
      minifyWhitespace: true,
      charset: 'ascii',
      legalComments: 'none',
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
  } catch (error) {
    const first = error.errors?.[0];
    fail(first ? `cannot build ${name}.ts: ${first.location ? `${first.location.file}:${first.location.line}:${first.location.column}: ` : ''}${first.text}` : `cannot build ${name}.ts: ${error.message}`);
  }
  const code = result.outputFiles[0].text;
  const id = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const bundle = `${name.replace(/\//g, '-')}.${id}.js`;
  // The project's files one by one (with tsconfig.json and package.json, which esbuild reads but
  // does not list); the packages through npm's record of what it installed, which every npm
  // install or ci rewrites (a package edited by hand needs `npm run build`).
  const inputs = {};
  for (const input of [path.relative(ROOT, __filename), 'package.json', 'package-lock.json', 'tsconfig.json', INSTALLED, ...Object.keys(result.metafile.inputs)]) {
    if (!input.startsWith('node_modules/') || input === INSTALLED) inputs[input] = statOf(input);
  }
  // A file changed while esbuild read it (ctime is a coarse clock, hence the margin): this bundle
  // may hold the old text, so do not call it fresh.
  const changedDuring = Object.values(inputs).some((recorded) => recorded !== 'missing' && Number(recorded.split(':')[2]) >= started - 20);
  try {
    const dir = cacheDir();
    writeAtomically(path.join(dir, bundle), code);
    if (!changedDuring) writeAtomically(stampFile(name), JSON.stringify({ bundle, inputs }));
    removeLeftovers(dir, name, bundle);
  } catch (error) {
    fail(`cannot write ${CACHE_DIR} (${error.code ?? error.message}): make it writable (it is only a cache), then run the command again`);
  }
  return bundle;
}

/** A temporary file this old was left by a killed build (writing one takes milliseconds). */
const LEFTOVER_AGE_MS = 60_000;

/** Drops older bundles of `name` and their code caches (a process still running one has read it already), and old temporaries. */
function removeLeftovers(dir, name, keep) {
  const prefix = `${name.replace(/\//g, '-')}.`;
  const keepId = keep.slice(prefix.length, -'.js'.length);
  for (const file of fs.readdirSync(dir)) {
    const match = file.startsWith(prefix) && /^([0-9a-f]{16})\.(js|[0-9a-f]{8}\.cache)$/.exec(file.slice(prefix.length));
    if (match && match[1] !== keepId) fs.rmSync(path.join(dir, file), { force: true });
    if (file.endsWith('.tmp') && Date.now() - fs.statSync(path.join(dir, file), { throwIfNoEntry: false })?.mtimeMs > LEFTOVER_AGE_MS) fs.rmSync(path.join(dir, file), { force: true });
  }
}

/** Runs the bundle as the main module, with V8's code cache of it when there is one, and leaves one behind when there was not. */
function run(name, bundle) {
  let file = path.join(CACHE_DIR, bundle);
  let source;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch {
    // Another process built a newer bundle and removed this one since the stamp was read.
    file = path.join(CACHE_DIR, build(name));
    source = fs.readFileSync(file, 'utf8');
  }
  // Named by the bundle's hash (V8 checks a cache only against the source's length) and by what
  // V8 checks it against (Node's version and flags), so that runs with other flags keep their own.
  const runtime = createHash('sha256').update([process.version, ...process.execArgv, process.env.NODE_OPTIONS ?? ''].join('\n')).digest('hex').slice(0, 8);
  const cacheFile = file.replace(/\.js$/, `.${runtime}.cache`);
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) {
    // At exit, so that the functions this run compiled are in it too. Only when there was none:
    // making one costs about 15 ms, more than a run gains from the few functions it would add.
    process.once('exit', () => {
      try {
        writeAtomically(cacheFile, script.createCachedData());
      } catch {
        // Only a cache: the next run compiles again.
      }
    });
  }
  const main = new Module(file, null);
  main.filename = file;
  const requireFromBundle = Module.createRequire(file);
  // The entries run only as the main module (`require.main === module`); tests import them instead.
  requireFromBundle.main = main;
  process.argv.splice(1, 2, file);
  globalThis[BUILD_ID] = path.basename(file);
  script.runInThisContext()(main.exports, requireFromBundle, main, file, path.dirname(file));
}

const [entry] = process.argv.slice(2);
refuseLinkedCache();
if (entry === '--build') {
  const force = process.argv.includes('--force');
  for (const name of ENTRIES) (force ? undefined : freshBundle(name)) ?? build(name);
} else if (ENTRIES.includes(entry)) {
  run(entry, freshBundle(entry) ?? build(entry));
} else {
  fail(`usage: node tools/launch.cjs <${ENTRIES.join('|')}> [arguments] | --build [--force]`);
}
