// A token rotation that survives a kill at any point. This file does I/O; call it holding the
// repository lock.
//
// Before anything changes, a journal (secrets/<cluster>/rotation.json, 0600) records the new token
// and everything the rotation replaces: the current token, the previous one, the committed
// encrypted Secret and the local Secret manifest. The rotation is done when the token file holds
// the new token; the journal is then removed. A journal found later means the rotation was cut
// short: if the token file already holds the new token it is finished, otherwise every file is put
// back as it was, so a retried rotation starts from the token GitHub still has.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomically } from './atomic-file';
import { encryptedSecretFile } from './cluster-token';
import { recoverInterruptedWrite } from './dist-writer';
import { failpoint } from './failpoint';
import { lockFileFor } from './paths';
import { withLock } from './repository-lock';
import { TokenStore } from './token-store';

export interface RotationJournal {
  readonly cluster: string;
  /** The new token. */
  readonly token: string;
  /** The token being replaced, if known here: it becomes `webhook-token.previous`. */
  readonly current: string | null;
  /** The content of `webhook-token.previous` before, to put back on undo. */
  readonly previous: string | null;
  /** The committed encrypted Secret's bytes before, to put back on undo. */
  readonly encrypted: string | null;
  /** The local Secret manifest before, to put back on undo. */
  readonly manifest: string | null;
}

/** Writes the journal of a rotation about to start; fails if one exists (recover it first). */
export function beginRotation(store: TokenStore, distDir: string, cluster: string, token: string, current: string | undefined): RotationJournal {
  const journal: RotationJournal = {
    cluster,
    token,
    current: current ?? null,
    previous: store.readPrivate(store.previousTokenFile(cluster)) ?? null,
    encrypted: store.readPrivate(encryptedSecretFile(distDir, cluster)) ?? null,
    manifest: store.readPrivate(store.secretManifestFile(cluster)) ?? null,
  };
  store.writePrivate(store.rotationJournalFile(cluster), `${JSON.stringify(journal, null, 2)}\n`, { overwrite: false });
  return journal;
}

/** Completes a rotation whose outputs hold the new token: previous <- current, token <- new, journal removed. */
export function finishRotation(store: TokenStore, journal: RotationJournal): void {
  const { cluster } = journal;
  if (journal.current !== null && journal.current !== journal.token) {
    store.writePrivate(store.previousTokenFile(cluster), journal.current, { overwrite: true });
  }
  failpoint('rotation-previous-written');
  if (store.readPrivate(store.tokenFile(cluster)) !== journal.token) {
    store.writePrivate(store.tokenFile(cluster), journal.token, { overwrite: true });
  }
  failpoint('rotation-token-stored');
  store.remove(store.rotationJournalFile(cluster));
}

/** Puts back every file a rotation may have changed, and removes its journal. */
export function undoRotation(store: TokenStore, distDir: string, journal: RotationJournal): void {
  const { cluster } = journal;
  const encrypted = encryptedSecretFile(distDir, cluster);
  if (store.readPrivate(encrypted) !== (journal.encrypted ?? undefined) && existsSync(join(encrypted, '..'))) {
    if (journal.encrypted === null) rmSync(encrypted, { force: true });
    else writeFileAtomically(encrypted, journal.encrypted);
  }
  const restorePrivate = (file: string, content: string | null) => {
    if (content === null) store.remove(file);
    else if (store.readPrivate(file) !== content) store.writePrivate(file, content, { overwrite: true });
  };
  restorePrivate(store.secretManifestFile(cluster), journal.manifest);
  restorePrivate(store.previousTokenFile(cluster), journal.previous);
  store.remove(store.rotationJournalFile(cluster));
}

function readJournal(store: TokenStore, cluster: string): RotationJournal | undefined {
  const file = store.rotationJournalFile(cluster);
  const text = store.readPrivate(file);
  if (text === undefined) return undefined;
  try {
    const journal = JSON.parse(text) as RotationJournal;
    if (journal.cluster === cluster && typeof journal.token === 'string') return journal;
  } catch {
    // Reported below.
  }
  throw new Error(`${file} is not a rotation journal flux-infra wrote: move it away, then check ${store.tokenFile(cluster)} against GitHub's webhook secret`);
}

/** What recovery did for one cluster. */
export interface RecoveredRotation {
  readonly cluster: string;
  readonly outcome: 'finished' | 'undone';
}

/**
 * Finishes or undoes every rotation a kill cut short, for every cluster folder in the secrets
 * folder. Call it holding the repository lock, after the dist/ swap is recovered.
 */
export function recoverRotations(store: TokenStore, distDir: string): RecoveredRotation[] {
  if (!existsSync(store.directory)) return [];
  const recovered: RecoveredRotation[] = [];
  for (const entry of readdirSync(store.directory, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    store.removeTemporaryFiles(entry.name);
    const journal = readJournal(store, entry.name);
    if (journal === undefined) continue;
    if (store.readPrivate(store.tokenFile(entry.name)) === journal.token) {
      finishRotation(store, journal);
      recovered.push({ cluster: entry.name, outcome: 'finished' });
    } else {
      undoRotation(store, distDir, journal);
      recovered.push({ cluster: entry.name, outcome: 'undone' });
    }
  }
  return recovered;
}

/**
 * Runs `action` holding the repository lock, after putting right whatever a killed synth or
 * rotation left (a half-done dist/ swap, a rotation journal, temporary files), so that nothing
 * reads a half-written state. `action` gets what recovery did, as lines for the user.
 */
export async function withRecoveredRepository<T>(distDir: string, secretsDir: string, action: (recovered: string[]) => Promise<T>): Promise<T> {
  return withLock(lockFileFor(distDir), () => {
    recoverInterruptedWrite(distDir);
    const recovered = recoverRotations(new TokenStore(secretsDir), distDir);
    return action(recovered.map(({ cluster, outcome }) => `${cluster}: an interrupted token rotation was ${outcome}`));
  });
}
