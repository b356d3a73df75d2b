import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

/** Every file below `root` with its content, for byte-for-byte comparisons. */
export function readTree(root: string): Record<string, string> {
  const tree: Record<string, string> = {};
  const walk = (directory: string) => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const full = join(directory, entry.name);
      if (entry.isDirectory()) walk(full);
      else tree[relative(root, full)] = readFileSync(full, 'utf8');
    }
  };
  walk(root);
  return tree;
}

export function writeFile(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

export function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

export interface Workspace {
  readonly root: string;
  readonly fleetFile: string;
  readonly distDir: string;
  readonly secretsDir: string;
  readonly sopsConfigFile: string;
}

/** The layout of a checkout at `root` (a clone, a second operator's copy). */
export function workspaceAt(root: string): Workspace {
  return { root, fleetFile: join(root, 'fleet.yaml'), distDir: join(root, 'dist'), secretsDir: join(root, 'secrets'), sopsConfigFile: join(root, '.sops.yaml') };
}

/** A fresh folder laid out like a checkout: fleet.yaml, dist/, secrets/, .sops.yaml. Pass it whole to synthesize(). */
export function workspace(fleet: string): Workspace {
  const ws = workspaceAt(mkdtempSync(join(tmpdir(), 'flux-infra-')));
  writeFile(ws.fleetFile, fleet);
  return ws;
}
