// Replaces the generated part of an output tree (dist/) all or nothing, writing only the files that
// change and keeping every file synth did not generate. This file does I/O: main.ts uses it;
// constructs never do.
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { writeFileAtomically } from '../io/atomic-file';
import { basename, dirname, join, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BOOTSTRAP_FILES } from '../constructs/flux-system-kustomization';
import { failpoint } from '../io/failpoint';
import { refuseSymlink, refuseSymlinkBelow } from '../io/no-symlinks';
import { GENERATED_HEADER, GENERATED_MARKDOWN_HEADER } from '../layout';

export interface OutputFile {
  /** Relative to the tree's root, with '/' separators. */
  readonly path: string;
  readonly content: string;
  /** `content` was read from this very file of the tree, under the same lock: it is not read again. @default false */
  readonly onDisk?: boolean;
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

/** The temporary siblings of `root`: the new files staged, and the old ones moved aside while they replace them. */
function siblings(root: string): { next: string; old: string } {
  const base = join(dirname(root), `.${basename(root)}`);
  return { next: `${base}.next`, old: `${base}.old` };
}

/**
 * What a write in place is about to do, written (durably) before it moves anything: while it
 * exists, the write may be half done, and recovery puts every file back as it was.
 */
interface WriteJournal {
  /** Generated files written, relative to the tree. */
  readonly write: string[];
  /** Generated files that existed before (replaced or removed): moved into the old folder first. */
  readonly existed: string[];
}

const JOURNAL = 'journal.json';
const STAGED = 'files';

/** Whether `path` names a file inside a tree: relative, `/`-separated, no `.` or `..` part. */
export function isTreePath(path: unknown): path is string {
  return typeof path === 'string' && path.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/** The journal of a write that had begun, or undefined when there is none; one line when it cannot be trusted. */
function readJournal(next: string): WriteJournal | undefined {
  const file = join(next, JOURNAL);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw journalError(file, (error as NodeJS.ErrnoException).code ?? String(error));
  }
  let journal: Partial<WriteJournal>;
  try {
    journal = JSON.parse(text) as Partial<WriteJournal>;
  } catch {
    throw journalError(file, 'not JSON');
  }
  const valid = (list: unknown): list is string[] => Array.isArray(list) && list.every(isTreePath);
  if (!valid(journal.write) || !valid(journal.existed)) throw journalError(file, 'not a journal flux-infra wrote');
  return { write: journal.write, existed: journal.existed };
}

function journalError(file: string, why: string): Error {
  const old = join(dirname(dirname(file)), basename(dirname(file)).replace(/\.next$/, '.old'));
  return new Error(`${file} cannot be read (${why}): dist/ may be half-written; move the files in ${old} back into place (or git checkout the tree), remove ${dirname(file)}, then synth again`);
}

/** Removes the folders of `paths` below `root` that are empty now, deepest first (a removed cluster leaves none behind). */
function removeEmptyFolders(root: string, paths: readonly string[]): void {
  const folders = new Set<string>();
  for (const path of paths) {
    for (let folder = dirname(path); folder !== '.'; folder = dirname(folder)) folders.add(folder);
  }
  for (const folder of [...folders].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(join(root, folder));
    } catch {
      // Not empty (or gone): it stays.
    }
  }
}

/** Puts back every file a journaled write had moved, never through a link: the tree is as it was before that write. */
function rollBack(root: string, { next, old }: { next: string; old: string }, journal: WriteJournal): void {
  const existed = new Set(journal.existed);
  for (const path of journal.write) {
    // A new file is in place once it has left the staging folder.
    if (!existed.has(path) && !existsSync(join(next, STAGED, path))) {
      refuseSymlinkBelow(root, join(root, path));
      rmSync(join(root, path), { force: true });
    }
  }
  removeEmptyFolders(root, journal.write);
  for (const path of journal.existed) {
    refuseSymlinkBelow(old, join(old, path));
    // Not in the old folder: it was never moved, so it is still in place.
    if (existsSync(join(old, path))) {
      refuseSymlinkBelow(root, join(root, path));
      mkdirSync(dirname(join(root, path)), { recursive: true });
      renameSync(join(old, path), join(root, path));
    }
  }
  rmSync(join(next, JOURNAL));
}

/**
 * Undoes what an interrupted write left: a write in place that had begun (its journal is there) is
 * rolled back; one not begun or already finished leaves only temporaries. Then clears them.
 * Safe to call at any time no other synth runs.
 */
export function recoverInterruptedWrite(root: string): void {
  const trees = refuseLinkedTrees(root);
  const journal = readJournal(trees.next);
  if (journal !== undefined) {
    rollBack(root, trees, journal);
  } else if (!existsSync(root) && existsSync(trees.old)) {
    // Left by versions that swapped the whole tree: the old tree was moved aside, the new one not in.
    renameSync(trees.old, root);
  }
  rmSync(trees.next, { recursive: true, force: true });
  rmSync(trees.old, { recursive: true, force: true });
}

/** A file-system failure in one line that names the folder to check, with the errno code only as a detail. */
function writeError(what: string, folder: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  return new Error(`${what} (${code ?? (error as Error).message}): check that ${folder} and everything in it is writable by you`);
}

/** Refuses `root` and its staging and old folders when any is a symbolic link: synth would read or move another folder. */
function refuseLinkedTrees(root: string): { next: string; old: string } {
  const trees = siblings(root);
  for (const path of [root, trees.next, trees.old]) refuseSymlink(path);
  return trees;
}

/** Why `root` cannot be read as it is (a synth was killed half-way through its write), or undefined. */
export function interruptedWriteProblem(root: string): string | undefined {
  const { next, old } = refuseLinkedTrees(root);
  const left = [old, next].filter((path) => existsSync(path));
  return left.length === 0 ? undefined : `a synth was interrupted (${left.join(', ')} left beside ${root}): run npm run synth, which puts ${root} right, then try again`;
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

/** Whether any file below `folder` (in the tree `root`) was generated by synth: a cluster synthesized before, not just bootstrapped. */
export function hasGeneratedFiles(root: string, folder: string): boolean {
  refuseSymlinkBelow(root, folder);
  return listFiles(folder).some((path) => {
    const full = join(folder, path);
    return lstatSync(full).isFile() && isGenerated(readFileSync(full, 'utf8'));
  });
}

/** Creates every folder the paths need below `root`, each once (a recursive mkdir per file costs a syscall per level). */
function makeFolders(root: string, paths: readonly string[]): void {
  for (const folder of [...new Set(paths.map((path) => dirname(join(root, path))))].sort()) {
    mkdirSync(folder, { recursive: true });
  }
}

/** Writes `files` below `folder`, a new folder: `mkdir` is not recursive, so a folder or link planted there after the checks makes it fail. */
function writeNewTree(folder: string, files: readonly OutputFile[]): void {
  mkdirSync(dirname(folder), { recursive: true });
  mkdirSync(folder);
  makeFolders(folder, files.map((file) => file.path));
  for (const file of files) writeFileSync(join(folder, file.path), file.content);
}

/**
 * Makes `root` hold exactly `files` as its generated files, leaving every other file as it is:
 * - a file synth generated earlier (it starts with GENERATED_HEADER) and no longer produces is removed;
 * - a file synth did not generate is never changed or removed (bootstrap's gotk-*.yaml), and one
 *   standing where a generated file must go is an error, before anything is written;
 * - only the files that change are written, and a file that stays as it is keeps its timestamp;
 * - all or nothing: the new files are staged beside `root` and a journal written before any is
 *   moved in, so a synth that fails or is killed leaves `root` as it was (the next run rolls a
 *   journaled write back before it reads anything: see lib/repository.ts).
 */
export function writeGeneratedTree(root: string, files: OutputFile[]): TreeChange {
  // The caller holds the repository lock and has run recoverInterruptedWrite (lib/repository.ts).
  const trees = refuseLinkedTrees(root);
  const wanted = new Map(files.map((file) => [file.path, file.content]));
  const onDisk = new Set(files.filter((file) => file.onDisk).map((file) => file.path));
  const existing = listFiles(root);
  const kept: string[] = [];
  const removed: string[] = [];
  const conflicts: string[] = [];
  const unchanged = new Set<string>();
  const generated = new Set<string>();
  for (const path of existing) {
    const full = join(root, path);
    const stats = lstatSync(full);
    if (stats.isSymbolicLink() && files.some((file) => file.path === path || file.path.startsWith(`${path}/`))) {
      throw new Error(`${full} is a symbolic link where synth writes: replace it with a real folder or file (and check where it pointed)`);
    }
    const content = !stats.isFile() ? '' : onDisk.has(path) ? wanted.get(path)! : readFileSync(full, 'utf8');
    if (!(isGenerated(content) || (wanted.has(path) && isBootstrapKustomization(path, content)))) {
      kept.push(path);
      if (wanted.has(path)) conflicts.push(path);
      continue;
    }
    generated.add(path);
    if (!wanted.has(path)) removed.push(path);
    else if (wanted.get(path) === content) unchanged.add(path);
  }
  if (conflicts.length > 0) {
    throw new Error(conflicts.map((path) => `${join(root, path)} was not written by flux-infra, but synth generates that file: move it away (or merge it into the fleet file), then synth again`).join('\n'));
  }
  const toWrite = files.filter((file) => !unchanged.has(file.path));
  const written = toWrite.map((file) => file.path);
  if (written.length === 0 && removed.length === 0) {
    return { written, removed, kept, changed: false };
  }
  if (!existsSync(root)) {
    writeWholeTree(root, trees.next, toWrite);
  } else {
    writeInPlace(root, trees, toWrite, removed, generated);
  }
  return { written, removed, kept, changed: true };
}

/** The first synth: the tree is built beside `root` and moved in with one rename. */
function writeWholeTree(root: string, next: string, files: readonly OutputFile[]): void {
  try {
    writeNewTree(next, files);
    renameSync(next, root);
  } catch (error) {
    rmSync(next, { recursive: true, force: true });
    throw writeError(`cannot write the new tree beside ${root} and move it in`, dirname(root), error);
  }
}

/** Replaces the changed files of `root`, journaled: the old ones moved aside, then the new ones moved in, then the journal dropped. */
function writeInPlace(root: string, trees: { next: string; old: string }, files: readonly OutputFile[], removed: readonly string[], generated: ReadonlySet<string>): void {
  const { next, old } = trees;
  const write = files.map((file) => file.path);
  const journal: WriteJournal = { write, existed: [...write.filter((path) => generated.has(path)), ...removed] };
  try {
    writeNewTree(join(next, STAGED), files);
    writeFileAtomically(join(next, JOURNAL), JSON.stringify(journal), { durable: true });
  } catch (error) {
    rmSync(next, { recursive: true, force: true });
    throw writeError(`cannot stage the new files beside ${root}`, dirname(next), error);
  }
  try {
    mkdirSync(old);
    makeFolders(old, journal.existed);
    for (const path of journal.existed) renameSync(join(root, path), join(old, path));
    failpoint('dist-between-renames');
    makeFolders(root, write);
    for (const path of write) {
      renameSync(join(next, STAGED, path), join(root, path));
      failpoint('dist-moving-in');
    }
    removeEmptyFolders(root, removed);
  } catch (error) {
    try {
      rollBack(root, trees, journal);
    } catch (rollBackError) {
      throw writeError(`cannot put ${root} back after a failed write (the journal in ${next} is kept: the next npm run synth puts it back)`, root, rollBackError);
    }
    rmSync(next, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
    throw writeError(`cannot replace the changed files of ${root}`, root, error);
  }
  // The write is done once its journal is gone; the rest is clearing temporaries.
  rmSync(join(next, JOURNAL));
  rmSync(next, { recursive: true, force: true });
  rmSync(old, { recursive: true, force: true });
}
