// The repository as the writing commands see it: one lock, and what killed commands left put right
// before anything is read. synth, rotate-token, take-token, bind and age-key run inside it. This file does I/O.
import { removeTemporariesOf } from './io/atomic-file';
import { withLock } from './io/repository-lock';
import { lockFileFor, renderCacheFileFor, RepositoryPaths } from './layout';
import { recoverInterruptedWrite, RecoveryOptions } from './output/dist-writer';
import { recoverRotations, RecoveredRotation } from './secrets/token-rotation';
import { TokenStore } from './secrets/token-store';

/** A lock file's temporary this old was left by a killed process (creating one takes microseconds). */
const LOCK_LEFTOVER_AGE_MS = 60_000;

/**
 * Runs `action` holding the repository lock, after putting right whatever a killed synth or
 * rotation left (a half-done dist/ write, a rotation journal, temporary files), so that nothing
 * reads a half-written state. `action` gets what recovery did to rotations; a rolled-back dist/
 * write is printed (stderr) here at once, whatever the command and whether `action` then fails.
 */
export async function withRecoveredRepository<T>(paths: RepositoryPaths, action: (recovered: RecoveredRotation[]) => Promise<T>, options: RecoveryOptions = {}): Promise<T> {
  const lock = lockFileFor(paths.distDir);
  return withLock(lock, () => {
    removeTemporariesOf([paths.fleetFile, paths.sopsConfigFile, renderCacheFileFor(paths.distDir)]);
    // A waiting process may be creating its lock file right now: only old ones are leftovers.
    removeTemporariesOf([lock, `${lock}.takeover`], LOCK_LEFTOVER_AGE_MS);
    const rolledBack = recoverInterruptedWrite(paths.distDir, options);
    if (rolledBack !== undefined) process.stderr.write(`${rolledBack}\n`);
    return action(recoverRotations(new TokenStore(paths.secretsDir), paths.distDir));
  });
}
