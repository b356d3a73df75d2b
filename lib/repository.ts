// The repository as the writing commands see it: one lock, and what killed commands left put right
// before anything is read. synth, rotate-token, take-token and age-key run inside it. This file does I/O.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isTemporaryOf } from './io/atomic-file';
import { withLock } from './io/repository-lock';
import { lockFileFor, RepositoryPaths } from './layout';
import { recoverInterruptedWrite } from './output/dist-writer';
import { recoverRotations, RecoveredRotation } from './secrets/token-rotation';
import { TokenStore } from './secrets/token-store';

/** Removes the `<file>.<hex>.tmp` files killed writers left beside each of `files`. */
function removeTemporariesOf(files: readonly string[]): void {
  for (const file of files) {
    const folder = dirname(file);
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder)) {
      if (isTemporaryOf(basename(file), name)) rmSync(join(folder, name), { force: true });
    }
  }
}

/**
 * Runs `action` holding the repository lock, after putting right whatever a killed synth or
 * rotation left (a half-done dist/ swap, a rotation journal, temporary files), so that nothing
 * reads a half-written state. `action` gets what recovery did.
 */
export async function withRecoveredRepository<T>(paths: RepositoryPaths, action: (recovered: RecoveredRotation[]) => Promise<T>): Promise<T> {
  const lock = lockFileFor(paths.distDir);
  return withLock(lock, () => {
    removeTemporariesOf([lock, `${lock}.takeover`, paths.fleetFile, paths.sopsConfigFile]);
    recoverInterruptedWrite(paths.distDir);
    return action(recoverRotations(new TokenStore(paths.secretsDir), paths.distDir));
  });
}
