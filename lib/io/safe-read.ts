// The one reader for files flux-infra did not just write itself (dist/, secrets/, the fleet file,
// the lock, the render cache): a link or a special file there may have come from a pull or a
// teammate, and reading through it would read /dev/zero to exhaustion, hang on a FIFO, or read a
// file outside the repository. This file does I/O.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** What a read allows at most unless told otherwise: far above any file flux-infra writes. */
export const DEFAULT_READ_LIMIT_BYTES = 16 * 1024 * 1024;

export interface SafeReadOptions {
  /** Refuse a larger file. @default DEFAULT_READ_LIMIT_BYTES */
  readonly maxBytes?: number;
  /** What the refusal calls the file, e.g. "the fleet file". @default the path */
  readonly what?: string;
}

/** A file that is a link, not a regular file, too large, or not UTF-8: its message is one line. */
export class UnsafeFileError extends Error {}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads `path` as bytes without following a link at its last step (O_NOFOLLOW) and without
 * blocking on a FIFO or device (O_NONBLOCK, then refused: only a regular file is read), up to
 * `maxBytes`. Returns undefined when the file does not exist.
 */
export function readRegularFileBytes(path: string, options: SafeReadOptions = {}): Buffer | undefined {
  const maxBytes = options.maxBytes ?? DEFAULT_READ_LIMIT_BYTES;
  const what = options.what ?? path;
  let descriptor: number;
  try {
    descriptor = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new UnsafeFileError(`${what} is a symbolic link, which flux-infra never follows: replace it with a real file (and check where it pointed)`);
    throw new UnsafeFileError(`cannot read ${what} (${code ?? (error as Error).message}): check that it and the folders above it can be read`);
  }
  try {
    const stats = fstatSync(descriptor);
    if (!stats.isFile()) throw new UnsafeFileError(`${what} is not a regular file (a folder, FIFO, socket or device), which flux-infra never reads: move it away`);
    if (stats.size > maxBytes) throw new UnsafeFileError(`${what} is ${stats.size} bytes, over the ${maxBytes} bytes flux-infra reads: check what put it there`);
    // Read one byte past the limit: a file growing while read is refused too, never read without end.
    const buffer = Buffer.alloc(Math.min(stats.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      const read = readSync(descriptor, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > maxBytes) throw new UnsafeFileError(`${what} grew past the ${maxBytes} bytes flux-infra reads while it was read: check what writes it`);
      if (length === buffer.length) break;
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(descriptor);
  }
}

/** `readRegularFileBytes`, decoded as UTF-8; invalid UTF-8 is refused, never replaced by U+FFFD. */
export function readRegularFile(path: string, options: SafeReadOptions = {}): string | undefined {
  const bytes = readRegularFileBytes(path, options);
  if (bytes === undefined) return undefined;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new UnsafeFileError(`${options.what ?? path} is not valid UTF-8: save it as UTF-8`);
  }
}
