// Writing a file in one step: the one writer for dist/'s single files, the secrets folder, the
// fleet file and the lock. This file does I/O.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, lstatSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** @default 0o666, less the umask (as fs.writeFileSync) */
  readonly mode?: number;
  /** Replace an existing file; false fails with FileExistsError instead. @default true */
  readonly overwrite?: boolean;
  /** Sync the data to disk before the file appears, so that it survives a power cut. @default false */
  readonly durable?: boolean;
}

/** The file was there already, and `overwrite: false` said not to replace it. */
export class FileExistsError extends Error {}

/**
 * Writes `content` to `file` in one step: a temporary file beside it, created exclusively (never
 * through a planted link), then renamed over the file, or linked to it without overwrite (which
 * fails if the file exists: no check-then-write race). Readers see the old or the new file, never
 * half of one; a failure leaves no temporary file, and a kill leaves one `<file>.<hex>.tmp` at most.
 */
export function writeFileAtomically(file: string, content: string, options: AtomicWriteOptions = {}): void {
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const descriptor = openSync(temporary, 'wx', options.mode ?? 0o666);
    try {
      writeSync(descriptor, content);
      if (options.durable) fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    if (options.overwrite ?? true) {
      renameSync(temporary, file);
      return;
    }
    try {
      linkSync(temporary, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new FileExistsError(`${file} already exists; refusing to replace it`);
      throw error;
    }
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** Whether `name` is a temporary file `writeFileAtomically` left for `file`'s name (a killed writer). */
export function isTemporaryOf(base: string, name: string): boolean {
  return name.startsWith(`${base}.`) && /^\.[0-9a-f]{12}\.tmp$/.test(name.slice(base.length));
}

/**
 * Removes the `<file>.<hex>.tmp` files killed writers left beside each of `files`, those at least
 * `minimumAgeMs` old. Call it holding the repository lock.
 */
export function removeTemporariesOf(files: readonly string[], minimumAgeMs = 0): void {
  for (const file of files) {
    const folder = dirname(file);
    // No folder there (or a file in its place): no temporary either; the write itself says what is wrong.
    if (statSync(folder, { throwIfNoEntry: false })?.isDirectory() !== true) continue;
    for (const name of readdirSync(folder)) {
      if (!isTemporaryOf(basename(file), name)) continue;
      const path = join(folder, name);
      if (minimumAgeMs === 0) {
        rmSync(path, { force: true });
        continue;
      }
      // A waiting process may remove its own temporary between the listing and this look.
      const stat = lstatSync(path, { throwIfNoEntry: false });
      if (stat !== undefined && Date.now() - stat.mtimeMs >= minimumAgeMs) rmSync(path, { force: true });
    }
  }
}
