// Builds each component once with the ordinary `go` command and keeps the binary outside the clone,
// keyed by what it is built from (its go.mod and go.sum, the Go version, the flags), so a second
// clone or a second run reuses it. This file does I/O.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Component } from './components';

export interface BuiltComponent {
  readonly component: Component;
  readonly version: string;
  /** The module's folder in Go's module cache (CRDs are read from there). */
  readonly moduleDir: string;
  readonly binary: string;
}

/** Where built binaries are kept: $FLUX_INFRA_E2E_CACHE, else the user's cache folder. */
export function binaryCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLUX_INFRA_E2E_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'flux-infra', 'e2e');
}

/** `go` with the module's folder as working directory; its errors go to our stderr. */
function go(moduleFolder: string, args: string[]): string {
  return execFileSync('go', args, { cwd: moduleFolder, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, GOFLAGS: '-mod=readonly' } });
}

/** One line saying what `go` is missing, or undefined when a Go toolchain is on PATH. */
export function goProblem(): string | undefined {
  try {
    const version = execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const [major, minor] = version.replace(/^go/, '').split('.').map(Number);
    if (major === 1 && minor < 26) return `npm run test:e2e needs Go 1.26 or newer (found ${version}): the controllers' modules require it`;
    return undefined;
  } catch {
    return 'npm run test:e2e needs Go 1.26 or newer on PATH (the `go` command) to build etcd, kube-apiserver and the Flux controllers from the module proxy: install it, or run npm test alone';
  }
}

function elapsed(startedAt: number): string {
  const seconds = Math.round((Date.now() - startedAt) / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

/** Runs `go build` into `output`, printing a line a minute so a cold build is seen to go on. */
function goBuild(moduleFolder: string, args: string[], label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const child = spawn('go', args, { cwd: moduleFolder, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' } });
    const ticker = setInterval(() => process.stderr.write(`  still building ${label} (${elapsed(startedAt)})\n`), 60_000);
    child.on('error', (error) => {
      clearInterval(ticker);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else reject(new Error(`go build of ${label} failed (${signal ?? `exit ${code}`}): see go's lines above`));
    });
  });
}

/**
 * The component's binary, built now if no binary built from the same go.mod, go.sum, Go version
 * and flags is cached. Prints what it does and how long it took.
 */
export async function buildComponent(root: string, component: Component, log: (line: string) => void): Promise<BuiltComponent> {
  const moduleFolder = join(root, 'test', 'e2e', 'go', component.name);
  const info = JSON.parse(go(moduleFolder, ['list', '-m', '-json', component.module])) as { Version: string; Dir?: string };
  const goVersion = go(moduleFolder, ['env', 'GOVERSION']).trim();
  const ldflags = component.ldflags?.(info.Version) ?? '';
  const key = createHash('sha256')
    .update(readFileSync(join(moduleFolder, 'go.mod')))
    .update(readFileSync(join(moduleFolder, 'go.sum')))
    .update(`${goVersion}\0${ldflags}\0${component.goPackage}`)
    .digest('hex')
    .slice(0, 16);
  const folder = join(binaryCacheDir(), `${component.name}-${info.Version}-${key}`);
  const binary = join(folder, component.name);
  const label = `${component.name} (${component.module} ${info.Version})`;
  if (!existsSync(binary)) {
    const startedAt = Date.now();
    log(`building ${label} with ${goVersion}: the first build takes minutes`);
    mkdirSync(folder, { recursive: true });
    // Built beside its place and renamed: a killed build never leaves a binary that looks finished.
    const partial = `${binary}.${process.pid}.partial`;
    try {
      await goBuild(moduleFolder, ['build', '-ldflags', ldflags, '-o', partial, component.goPackage], label);
      renameSync(partial, binary);
    } finally {
      rmSync(partial, { force: true });
    }
    log(`built ${label} in ${elapsed(startedAt)}`);
  } else {
    log(`${label}: built before (${folder})`);
  }
  // The module's own folder is there after a build; `go mod download` brings it back if the cache was cleaned.
  const moduleDir = info.Dir ?? JSON.parse(go(moduleFolder, ['mod', 'download', '-json', `${component.module}@${info.Version}`])).Dir;
  return { component, version: info.Version, moduleDir, binary };
}
