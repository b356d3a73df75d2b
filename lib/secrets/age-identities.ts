// The age identities (private keys) at hand for a cluster, from where sops itself looks for them,
// plus the cluster's own key file. This file does I/O: synth and the tools use it.
import { existsSync } from 'node:fs';
import { readRegularFile, UnsafeFileError } from '../io/safe-read';
import { join } from 'node:path';
import { TokenStore } from './token-store';

export interface AgeIdentity {
  /** `AGE-SECRET-KEY-1...` (X25519) or `AGE-SECRET-KEY-PQ-1...` (hybrid post-quantum). */
  readonly identity: string;
  /** Its public key, `age1...`. */
  readonly recipient: string;
  /** Where it was found, for messages: a file path or a variable name. */
  readonly origin: string;
}

/** Public keys by identity: deriving one is an X25519 (or ML-KEM) computation, repeated for every cluster otherwise. */
const recipients = new Map<string, Promise<string>>();

async function recipientOf(identity: string, origin: string): Promise<string> {
  // age is loaded only by a synth that has keys to use: loading it costs a tenth of a second.
  if (!recipients.has(identity)) recipients.set(identity, import('age-encryption').then((age) => age.identityToRecipient(identity)));
  try {
    return await recipients.get(identity)!;
  } catch {
    recipients.delete(identity);
    throw new Error(`${origin} holds an age identity that is not valid: copy it again from age-keygen's output`);
  }
}

/** The identities in an age key file's text (age-keygen's format: `#` comments, one key per line). */
export function identitiesIn(text: string): string[] {
  return text.split(/\s+/).filter((word) => /^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+$/.test(word));
}

/** A key file's text; a link, FIFO or device in its place is refused in one line, anything else unreadable is no key. */
function readKeyFile(file: string): string | undefined {
  try {
    return readRegularFile(file, { what: `the age key file ${file}` });
  } catch (error) {
    if (error instanceof UnsafeFileError) throw error;
    return undefined;
  }
}

/**
 * Every identity that may open a cluster's committed Secret: `secrets/<cluster>/age.agekey`, then
 * what sops reads: `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY`, and `sops/age/keys.txt` in the user's config
 * folder (`XDG_CONFIG_HOME`, else `HOME/.config`, both from `env`). Duplicates are dropped.
 */
export async function ageIdentitiesFor(cluster: string, store: TokenStore, env: NodeJS.ProcessEnv): Promise<AgeIdentity[]> {
  const found: { identity: string; origin: string }[] = [];
  const fromFile = (file: string | undefined, text = file === undefined || !existsSync(file) ? undefined : readKeyFile(file)) => {
    for (const identity of identitiesIn(text ?? '')) found.push({ identity, origin: file! });
  };
  // The cluster's own key file is in the secrets folder: read it as the other secrets, never through a link.
  fromFile(store.ageKeyFile(cluster), store.readPrivate(store.ageKeyFile(cluster)));
  fromFile(env.SOPS_AGE_KEY_FILE || undefined);
  for (const identity of identitiesIn(env.SOPS_AGE_KEY ?? '')) found.push({ identity, origin: 'SOPS_AGE_KEY' });
  const configHome = env.XDG_CONFIG_HOME || (env.HOME ? join(env.HOME, '.config') : undefined);
  fromFile(configHome === undefined ? undefined : join(configHome, 'sops', 'age', 'keys.txt'));

  const seen = new Set<string>();
  const identities: AgeIdentity[] = [];
  for (const { identity, origin } of found) {
    if (seen.has(identity)) continue;
    seen.add(identity);
    identities.push({ identity, origin, recipient: await recipientOf(identity, origin) });
  }
  return identities;
}
