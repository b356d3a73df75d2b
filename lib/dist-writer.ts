// Replaces the generated part of an output tree (dist/) in one step, keeping every file synth
// did not generate. This file does I/O: main.ts uses it; constructs never do.
import { copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BOOTSTRAP_FILES } from './flux-system-kustomization';
import { GENERATED_HEADER, GENERATED_MARKDOWN_HEADER } from './render';

export interface OutputFile {
  /** Relative to the tree's root, with '/' separators. */
  readonly path: string;
  readonly content: string;
}

export interface TreeChange {
  readonly written: string[];
  readonly removed: string[];
  readonly kept: string[];
  /** False when the tree already held exactly these files: nothing was touched. */
  readonly changed: boolean;
}

/** Whether a file's text marks it as written by synth. */
export function isGenerated(content: string): boolean {
  return content.startsWith(`${GENERATED_HEADER}\n`) || content.startsWith(`${GENERATED_MARKDOWN_HEADER}\n`);
}

/**
 * `flux bootstrap` writes a `flux-system/kustomization.yaml` listing only its own files. We own that
 * file from then on (Flux documents customizing it) and may replace it; any other foreign
 * kustomization.yaml holds someone's edits, which we must not overwrite.
 */
function isBootstrapKustomization(path: string, content: string): boolean {
  if (!path.endsWith('/flux-system/kustomization.yaml')) return false;
  try {
    const document = parseYaml(content);
    const { apiVersion: _apiVersion, kind, resources, ...rest } = document ?? {};
    return kind === 'Kustomization' && Object.keys(rest).length === 0 && Array.isArray(resources)
      && resources.every((resource: unknown) => BOOTSTRAP_FILES.includes(String(resource)));
  } catch {
    return false;
  }
}

/** The temporary siblings of `root` used while swapping. */
function siblings(root: string): { next: string; old: string } {
  const base = join(dirname(root), `.${basename(root)}`);
  return { next: `${base}.next`, old: `${base}.old` };
}

/**
 * Undoes what an interrupted swap left: `root` moved away but the new tree not moved in yet.
 * Then clears leftovers. Safe to call at any time no other synth runs.
 */
export function recoverInterruptedWrite(root: string): void {
  const { next, old } = siblings(root);
  if (!existsSync(root) && existsSync(old)) {
    renameSync(old, root);
  }
  rmSync(next, { recursive: true, force: true });
  rmSync(old, { recursive: true, force: true });
}

function listFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  const found: string[] = [];
  const walk = (directory: string) => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const full = join(directory, entry.name);
      if (entry.isDirectory()) walk(full);
      else found.push(relative(root, full).split(sep).join('/'));
    }
  };
  walk(root);
  return found.sort();
}

/** Creates every folder the paths need, each once (a recursive mkdir per file costs a syscall per level). */
function makeFolders(root: string, paths: readonly string[]): void {
  mkdirSync(root, { recursive: true });
  for (const folder of [...new Set(paths.map((path) => dirname(join(root, path))))].sort()) {
    mkdirSync(folder, { recursive: true });
  }
}

/**
 * Makes `root` hold exactly `files` as its generated files, leaving every other file as it is:
 * - a file synth generated earlier (it starts with GENERATED_HEADER) and no longer produces is removed;
 * - a file synth did not generate is never changed or removed (bootstrap's gotk-*.yaml), and one
 *   standing where a generated file must go is an error, before anything is written;
 * - the new tree is built beside `root` and swapped in with two renames, so a synth that fails
 *   or is killed leaves `root` as it was (an interrupted swap is undone by the next run). Files
 *   that stay as they are are hard-linked into the new tree, not written again.
 */
export function writeGeneratedTree(root: string, files: OutputFile[]): TreeChange {
  recoverInterruptedWrite(root);
  const wanted = new Map(files.map((file) => [file.path, file.content]));
  const existing = listFiles(root);
  const kept: string[] = [];
  const removed: string[] = [];
  const conflicts: string[] = [];
  const unchanged = new Set<string>();
  for (const path of existing) {
    const full = join(root, path);
    const content = lstatSync(full).isFile() ? readFileSync(full, 'utf8') : '';
    const generated = isGenerated(content) || (wanted.has(path) && isBootstrapKustomization(path, content));
    if (!generated) {
      kept.push(path);
      if (wanted.has(path)) conflicts.push(path);
    } else if (!wanted.has(path)) {
      removed.push(path);
    } else if (wanted.get(path) === content) {
      unchanged.add(path);
    }
  }
  if (conflicts.length > 0) {
    throw new Error(conflicts.map((path) => `${join(root, path)} was not written by flux-infra, but synth generates that file: move it away (or merge it into the fleet file), then synth again`).join('\n'));
  }
  const toWrite = files.filter((file) => !unchanged.has(file.path));
  const written = toWrite.map((file) => file.path);
  if (written.length === 0 && removed.length === 0) {
    return { written, removed, kept, changed: false };
  }

  const { next, old } = siblings(root);
  const linked = [...kept, ...unchanged];
  try {
    makeFolders(next, [...linked, ...written]);
    for (const path of linked) {
      try {
        linkSync(join(root, path), join(next, path));
      } catch {
        copyFileSync(join(root, path), join(next, path));
      }
    }
    for (const file of toWrite) writeFileSync(join(next, file.path), file.content);
  } catch (error) {
    rmSync(next, { recursive: true, force: true });
    throw error;
  }
  if (existsSync(root)) renameSync(root, old);
  renameSync(next, root);
  rmSync(old, { recursive: true, force: true });
  return { written, removed, kept, changed: true };
}
