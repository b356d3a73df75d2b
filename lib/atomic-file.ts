// Replacing a file in one step. This file does I/O.
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Replaces `file` with `content` in one step: a temporary file beside it, created exclusively
 * (never through a planted link), then renamed over it. Readers see the old or the new file, never
 * half of one; a failure leaves no temporary file, and a kill leaves one `*.tmp` at most.
 */
export function writeFileAtomically(file: string, content: string): void {
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, content, { flag: 'wx' });
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
}
