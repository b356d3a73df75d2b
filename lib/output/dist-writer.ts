// Replaces the generated part of an output tree (dist/) all or nothing, writing only the files that
// change and keeping every file synth did not generate. This file does I/O: main.ts uses it;
// constructs never do.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, Stats, writeFileSync } from 'node:fs';
import { writeFileAtomically } from '../io/atomic-file';
import { basename, dirname, join, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BOOTSTRAP_FILES } from '../constructs/flux-system-kustomization';
import { failpoint } from '../io/failpoint';
import { refuseSymlink, refuseSymlinkBelow } from '../io/no-symlinks';
import { DEFAULT_READ_LIMIT_BYTES, readRegularFile, readRegularFileBytes, UnsafeFileError } from '../io/safe-read';
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
 * exists, the write may be half done, and recovery puts back every file that still holds what the
 * write left there (and never one changed since: a pull, a checkout, an editor).
 */
interface WriteJournal {
  /** Generated files written, relative to the tree, each with the sha256 of its new content. */
  readonly write: { readonly path: string; readonly sha256: string }[];
  /** Generated files that existed before (replaced or removed): moved into the old folder first. */
  readonly existed: string[];
}

const JOURNAL = 'journal.json';
const STAGED = 'files';

/** Whether `path` names a file inside a tree: relative, `/`-separated, no `.` or `..` part. */
export function isTreePath(path: unknown): path is string {
  return typeof path === 'string' && path.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The journal of a write that had begun, or undefined when there is none; one line when it cannot be trusted. */
function readJournal(next: string): WriteJournal | undefined {
  const file = join(next, JOURNAL);
  let text: string | undefined;
  try {
    text = readRegularFile(file);
  } catch (error) {
    throw journalError(file, error instanceof UnsafeFileError ? 'a link, a special file, too large or not UTF-8' : (error as NodeJS.ErrnoException).code ?? String(error));
  }
  if (text === undefined) return undefined;
  let journal: { write?: unknown; existed?: unknown };
  try {
    journal = JSON.parse(text) as typeof journal;
  } catch {
    throw journalError(file, 'not JSON');
  }
  const isEntry = (entry: unknown): entry is WriteJournal['write'][number] => typeof entry === 'object' && entry !== null
    && isTreePath((entry as { path?: unknown }).path) && /^[0-9a-f]{64}$/.test(String((entry as { sha256?: unknown }).sha256));
  const { write, existed } = journal;
  if (!Array.isArray(write) || !write.every(isEntry) || !Array.isArray(existed) || !existed.every(isTreePath)) {
    throw journalError(file, 'not a journal flux-infra wrote');
  }
  return { write: write.map(({ path, sha256: hash }) => ({ path, sha256: hash })), existed };
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

/** A path's state as rollback compares it: absent, a regular file's sha256, or something else (a folder, a link, a FIFO). */
type FileState = { readonly kind: 'absent' } | { readonly kind: 'file'; readonly sha256: string } | { readonly kind: 'other' };

function stateOf(path: string): FileState {
  const stats = lstatSync(path, { throwIfNoEntry: false });
  if (stats === undefined) return { kind: 'absent' };
  if (!stats.isFile() || stats.size > DEFAULT_READ_LIMIT_BYTES) return { kind: 'other' };
  try {
    const bytes = readRegularFileBytes(path);
    return bytes === undefined ? { kind: 'absent' } : { kind: 'file', sha256: sha256(bytes) };
  } catch (error) {
    if (error instanceof UnsafeFileError) return { kind: 'other' };
    throw error;
  }
}

function sameState(a: FileState, b: FileState): boolean {
  return a.kind === b.kind && (a.kind !== 'file' || a.sha256 === (b as { sha256: string }).sha256);
}

/**
 * What rolling a journaled write back would do, path by path. A path the write touched (its old
 * file moved aside, or its new file moved in) is put back only while it is as the write left it;
 * one that is already as it was before needs nothing; any other state was made since (git, an
 * editor) and is `changed`: rollback never overwrites or removes it.
 */
interface RollbackPlan {
  /** Put back from the old folder. */
  readonly restore: string[];
  /** Created by the write: removed. */
  readonly remove: string[];
  /** Already as before the write. */
  readonly already: string[];
  /** Changed since the write: left as they are. */
  readonly changed: string[];
}

function planRollBack(root: string, { next, old }: { next: string; old: string }, journal: WriteJournal): RollbackPlan {
  const plan: RollbackPlan = { restore: [], remove: [], already: [], changed: [] };
  const existed = new Set(journal.existed);
  const written = new Map(journal.write.map((entry) => [entry.path, entry.sha256]));
  for (const path of [...new Set([...written.keys(), ...existed])].sort()) {
    refuseSymlinkBelow(old, join(old, path));
    refuseSymlinkBelow(next, join(next, STAGED, path));
    refuseSymlinkBelow(root, join(root, path));
    // Not in the old folder: never moved aside, so the write did not take it from the tree.
    const before: FileState = existed.has(path) ? stateOf(join(old, path)) : { kind: 'absent' };
    const movedAside = before.kind !== 'absent';
    // A new file is in place once it has left the staging folder.
    const movedIn = written.has(path) && !existsSync(join(next, STAGED, path));
    if (!movedAside && !movedIn) continue;
    if (before.kind === 'other') throw new Error(`${join(old, path)} is not a regular file: it cannot be put back; check ${old} by hand, then remove it and ${next}`);
    const left: FileState = movedIn ? { kind: 'file', sha256: written.get(path)! } : { kind: 'absent' };
    const now = stateOf(join(root, path));
    if (sameState(now, before)) plan.already.push(path);
    else if (!sameState(now, left)) plan.changed.push(path);
    else if (movedAside) plan.restore.push(path);
    else plan.remove.push(path);
  }
  return plan;
}

/** A write that failed and could not be rolled back: the tree is half-written until the next synth recovers it. */
export class TreeNotRestoredError extends Error {}

/** A file changed since an interrupted write put it there: rolling that write back would overwrite it. */
export class ChangedSinceInterruptedWriteError extends Error {}

function changedSinceMessage(root: string, old: string, changed: readonly string[]): string {
  const files = changed.map((path) => join(root, path)).join(', ');
  const them = changed.length === 1 ? 'it' : 'them';
  return `${files} changed since an interrupted synth wrote ${changed.length === 1 ? 'it' : 'them'} (a pull, a checkout or an edit), so that synth is not rolled back and nothing is overwritten: look at ${them} (${old} keeps the files from before that synth), then run npm run synth -- --keep-changed, which rolls back the rest and keeps ${them} as ${changed.length === 1 ? 'it is' : 'they are'}`;
}

/** What a rollback did, as one line for the user. */
function rollBackSummary(plan: RollbackPlan): string {
  const parts = [`${plan.restore.length} file(s) restored`, `${plan.remove.length} new file(s) removed`];
  if (plan.changed.length > 0) parts.push(`${plan.changed.length} changed since and kept as they are (${plan.changed.join(', ')})`);
  if (plan.already.length > 0) parts.push(`${plan.already.length} already as before`);
  return `an interrupted synth was rolled back: ${parts.join(', ')}`;
}

/**
 * Puts back every file a journaled write had moved that is still as that write left it, never
 * through a link. A file changed since stops it with ChangedSinceInterruptedWriteError, before
 * anything is moved, unless `keepChanged` says to keep such files as they are. Returns what it did.
 */
function rollBack(root: string, trees: { next: string; old: string }, journal: WriteJournal, keepChanged: boolean): RollbackPlan {
  const plan = planRollBack(root, trees, journal);
  if (plan.changed.length > 0 && !keepChanged) throw new ChangedSinceInterruptedWriteError(changedSinceMessage(root, trees.old, plan.changed));
  for (const path of plan.remove) rmSync(join(root, path));
  removeEmptyFolders(root, plan.remove);
  for (const path of plan.restore) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    renameSync(join(trees.old, path), join(root, path));
  }
  rmSync(join(trees.next, JOURNAL));
  return plan;
}

export interface RecoveryOptions {
  /** Roll back the rest, keeping each file changed since the interrupted write as it is. @default false: stop */
  readonly keepChanged?: boolean;
}

/**
 * Undoes what an interrupted write left: a write in place that had begun (its journal is there) is
 * rolled back; one not begun or already finished leaves only temporaries. Then clears them.
 * Safe to call at any time no other synth runs. Returns one line saying what it changed in the
 * tree, or undefined when it changed nothing there. A file changed since the interrupted write
 * stops it (ChangedSinceInterruptedWriteError), changing nothing and keeping the old folder.
 */
export function recoverInterruptedWrite(root: string, options: RecoveryOptions = {}): string | undefined {
  const trees = refuseLinkedTrees(root);
  const journal = readJournal(trees.next);
  let report: string | undefined;
  if (journal !== undefined) {
    report = rollBackSummary(rollBack(root, trees, journal, options.keepChanged ?? false));
  } else if (!existsSync(root) && existsSync(trees.old)) {
    // Left by versions that swapped the whole tree: the old tree was moved aside, the new one not in.
    renameSync(trees.old, root);
    report = `an interrupted synth was rolled back: ${root} put back from ${trees.old}`;
  }
  rmSync(trees.next, { recursive: true, force: true });
  rmSync(trees.old, { recursive: true, force: true });
  return report;
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
  if (left.length === 0) return undefined;
  try {
    const journal = readJournal(next);
    const changed = journal === undefined ? [] : planRollBack(root, { next, old }, journal).changed;
    if (changed.length > 0) return changedSinceMessage(root, old, changed);
  } catch {
    // Synth says what is wrong with the journal; here it is enough that a write was interrupted.
  }
  return `a synth was interrupted (${left.join(', ')} left beside ${root}): run npm run synth, which puts ${root} right, then try again`;
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
    return isGenerated(readTreeFile(full, lstatSync(full)));
  });
}

/**
 * A file of the tree as text, never through a link or from a special file: '' for anything synth
 * cannot have written (not a regular file, larger than any it writes). Not checked as UTF-8: a
 * binary file of yours in dist/ is kept, not refused.
 */
function readTreeFile(full: string, stats: Stats): string {
  if (!stats.isFile() || stats.size > DEFAULT_READ_LIMIT_BYTES) return '';
  return readRegularFileBytes(full)?.toString('utf8') ?? '';
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
  const { written, removed, kept, generated, toWrite } = compareTree(root, files);
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

/**
 * What `writeGeneratedTree` would write to and remove from `root`, reading only: `added` are the
 * written files not there yet. Throws as it does when a file of someone else's is in the way.
 */
export function plannedTreeChange(root: string, files: OutputFile[]): TreeChange & { added: string[] } {
  refuseLinkedTrees(root);
  const { written, removed, kept, existing } = compareTree(root, files);
  const there = new Set(existing);
  return { written, removed, kept, changed: written.length + removed.length > 0, added: written.filter((path) => !there.has(path)) };
}

/** `root`'s generated files against `files`: what changes, what is kept, and what stands in the way. */
function compareTree(root: string, files: OutputFile[]) {
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
    const content = stats.isFile() && onDisk.has(path) ? wanted.get(path)! : readTreeFile(full, stats);
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
  return { written: toWrite.map((file) => file.path), removed, kept, generated, toWrite, existing };
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
  const journal: WriteJournal = {
    write: files.map((file) => ({ path: file.path, sha256: sha256(file.content) })),
    existed: [...write.filter((path) => generated.has(path)), ...removed],
  };
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
    failpoint('dist-moved-in');
    removeEmptyFolders(root, removed);
  } catch (error) {
    try {
      rollBack(root, trees, journal, false);
    } catch (rollBackError) {
      if (rollBackError instanceof ChangedSinceInterruptedWriteError) throw new TreeNotRestoredError(rollBackError.message);
      const failure = writeError(`cannot put ${root} back after a failed write (the journal in ${next} is kept: the next npm run synth puts it back)`, root, rollBackError);
      throw new TreeNotRestoredError(failure.message);
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
