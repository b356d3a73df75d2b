// flux-infra never follows a symbolic link out of the repository: a link planted as dist/, a staging
// folder or anything in secrets/ would make synth read or write another folder (a token planted
// there, an ssh key hard-linked into dist/ and committed). This file does I/O.
import { lstatSync, Stats } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';

function lstatIfExists(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Throws, in one line, when `path` is a symbolic link. A missing path is fine. */
export function refuseSymlink(path: string): void {
  if (lstatIfExists(path)?.isSymbolicLink()) {
    throw new Error(`${path} is a symbolic link, which flux-infra never follows: replace it with a real folder or file (and check where it pointed)`);
  }
}

/** Throws, in one line, when `path` or any folder between `root` and it is a symbolic link. */
export function refuseSymlinkBelow(root: string, path: string): void {
  refuseSymlink(root);
  const below = relative(root, path);
  if (below === '' || below.startsWith('..') || isAbsolute(below)) return refuseSymlink(path);
  let current = root;
  for (const part of below.split(sep)) {
    current = join(current, part);
    refuseSymlink(current);
  }
}

/**
 * Throws, in one line, unless `folder` (if it exists) is a real folder owned by this user that no
 * one else may write to: the local secrets folder holds tokens and private keys.
 */
export function refuseUnsafePrivateFolder(folder: string): void {
  refuseSymlink(folder);
  const stats = lstatIfExists(folder);
  if (stats === undefined) return;
  if (!stats.isDirectory()) throw new Error(`${folder} is not a folder: move it away`);
  if (process.getuid !== undefined && stats.uid !== process.getuid()) {
    throw new Error(`${folder} belongs to another user (uid ${stats.uid}), so it may hold planted secrets: use a folder of your own`);
  }
  if ((stats.mode & 0o022) !== 0) {
    throw new Error(`${folder} can be written by others (mode ${(stats.mode & 0o777).toString(8)}): check its files, then chmod 700 ${folder}`);
  }
}
