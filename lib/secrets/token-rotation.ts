// A token rotation that survives a kill at any point. This file does I/O; call it holding the
// repository lock.
//
// Before anything changes, a journal (secrets/<cluster>/rotation.json, 0600) records the new token
// and everything the rotation replaces: the current token, the previous one, the committed
// encrypted Secret and the local Secret manifest. The rotation is done when the token file holds
// the new token; the journal is then removed. A journal found later means the rotation was cut
// short: if the token file already holds the new token it is finished, otherwise every file is put
// back as it was, so a retried rotation starts from the token GitHub still has.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { writeFileAtomically } from '../io/atomic-file';
import { failpoint } from '../io/failpoint';
import { refuseSymlinkBelow } from '../io/no-symlinks';
import { removeTemporariesOf } from '../io/atomic-file';
import { encryptedSecretFile } from './cluster-token';
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
  /**
   * sha256 of what the rotation writes as the committed Secret and as the manifest: undo puts a
   * file back only while it still holds that, never over a change made since (a pulled rotation).
   */
  readonly writes: { readonly encrypted: string | null; readonly manifest: string | null };
}

/** sha256 of a file's content, hex; null for no file. */
export function contentDigest(content: string | undefined | null): string | null {
  return content === undefined || content === null ? null : createHash('sha256').update(content).digest('hex');
}

/** Writes the journal of a rotation about to start; fails if one exists (recover it first). */
export function beginRotation(store: TokenStore, distDir: string, rotation: { cluster: string; token: string; current: string | undefined; writes: RotationJournal['writes'] }): RotationJournal {
  const { cluster } = rotation;
  refuseSymlinkBelow(distDir, encryptedSecretFile(distDir, cluster));
  const journal: RotationJournal = {
    cluster,
    token: rotation.token,
    current: rotation.current ?? null,
    previous: store.readPrivate(store.previousTokenFile(cluster)) ?? null,
    encrypted: store.readPrivate(encryptedSecretFile(distDir, cluster)) ?? null,
    manifest: store.readPrivate(store.secretManifestFile(cluster)) ?? null,
    writes: rotation.writes,
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

/**
 * Puts back every file the rotation changed, and removes its journal. A committed Secret or
 * manifest that no longer holds what the rotation wrote was changed since (a pull): it is kept.
 */
export function undoRotation(store: TokenStore, distDir: string, journal: RotationJournal): void {
  const { cluster } = journal;
  const encrypted = encryptedSecretFile(distDir, cluster);
  refuseSymlinkBelow(distDir, encrypted);
  removeTemporariesOf([encrypted]);
  if (journal.writes.encrypted !== null && contentDigest(store.readPrivate(encrypted)) === journal.writes.encrypted) {
    if (journal.encrypted === null) rmSync(encrypted, { force: true });
    else writeFileAtomically(encrypted, journal.encrypted);
  }
  const manifest = store.secretManifestFile(cluster);
  if (journal.writes.manifest !== null && contentDigest(store.readPrivate(manifest)) === journal.writes.manifest) {
    if (journal.manifest === null) store.remove(manifest);
    else store.writePrivate(manifest, journal.manifest, { overwrite: true });
  }
  const previous = store.previousTokenFile(cluster);
  if (journal.previous === null) store.remove(previous);
  else if (store.readPrivate(previous) !== journal.previous) store.writePrivate(previous, journal.previous, { overwrite: true });
  store.remove(store.rotationJournalFile(cluster));
}

function readJournal(store: TokenStore, cluster: string): RotationJournal | undefined {
  const file = store.rotationJournalFile(cluster);
  const text = store.readPrivate(file);
  if (text === undefined) return undefined;
  try {
    const journal = JSON.parse(text) as RotationJournal;
    if (journal.cluster === cluster && typeof journal.token === 'string' && typeof journal.writes === 'object') return journal;
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
 * folder. Call it holding the repository lock, after an interrupted dist/ write is rolled back.
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

/** What recovery did, as lines for the user. */
export function recoveryNotes(recovered: readonly RecoveredRotation[]): string[] {
  return recovered.map(({ cluster, outcome }) => `${cluster}: an interrupted token rotation was ${outcome}`);
}
