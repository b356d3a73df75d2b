// The committed, SOPS-encrypted form of a plaintext Secret manifest, and the rule that keeps it
// byte-for-byte stable. No file I/O: the caller reads the existing file and writes the result.
//
// SOPS output is random (data key, IVs, lastmodified), so encrypting on every synth would change
// the file every time. Instead the file carries, in a comment, a salted scrypt fingerprint of the
// plaintext it encrypts. Synth re-encrypts only when the recipients or that plaintext (the token,
// or anything else in the manifest) changed:
// - with the token at hand, it rebuilds the plaintext and checks it against the fingerprint;
// - without it (CI, a fresh clone), it cannot have changed the token, so it keeps the file as it
//   is, provided the recipients and the Secret's name and namespace still match.
// Why the fingerprint is safe to publish: it is scrypt (N=2^15, r=8, p=1) over the whole
// manifest with a random 16-byte salt. A generated token has 256 random bits, so the fingerprint
// cannot be inverted or guessed; for a hand-picked token each guess costs one scrypt run.
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { GENERATED_HEADER } from './render';
import { readSopsMetadata, sopsEncrypt } from './sops';

const FINGERPRINT_PREFIX = '# flux-infra plaintext fingerprint: ';
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/** `scrypt$N$r$p$salt$hash`, base64: lets synth tell whether `plaintext` changed without decrypting. */
export function plaintextFingerprint(plaintext: string, salt: Buffer = randomBytes(16)): string {
  const hash = scryptSync(plaintext, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Whether `fingerprint` was made from exactly `plaintext`. */
export function fingerprintMatches(fingerprint: string, plaintext: string): boolean {
  const match = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(fingerprint);
  if (!match || Number(match[1]) !== SCRYPT.N || Number(match[2]) !== SCRYPT.r || Number(match[3]) !== SCRYPT.p) return false;
  const expected = Buffer.from(match[5], 'base64');
  const actual = scryptSync(plaintext, Buffer.from(match[4], 'base64'), expected.length, SCRYPT);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** What can be read from an encrypted Secret file without its key. */
export interface EncryptedSecretState {
  readonly fingerprint: string;
  readonly recipients: string[];
  readonly name: string;
  readonly namespace: string;
}

/** Reads an encrypted Secret file written by `encryptSecretFile`; throws, saying why, if it is not one. */
export function readEncryptedSecret(text: string): EncryptedSecretState {
  const lines = text.split('\n');
  if (lines[0] !== GENERATED_HEADER) throw new Error('it was not written by flux-infra');
  const fingerprintLine = lines.find((line) => line.startsWith(FINGERPRINT_PREFIX));
  if (!fingerprintLine) throw new Error('its fingerprint comment is missing');
  const metadata = readSopsMetadata(text);
  const documents = parseAllDocuments(text);
  const object = Array.isArray(documents) && documents.length === 1 ? documents[0].toJS() : undefined;
  if (object?.kind !== 'Secret' || typeof object?.metadata?.name !== 'string') throw new Error('it does not hold exactly one Secret');
  return {
    fingerprint: fingerprintLine.slice(FINGERPRINT_PREFIX.length),
    recipients: metadata.recipients,
    name: object.metadata.name,
    namespace: object.metadata.namespace ?? 'default',
  };
}

export interface EncryptSecretFileOptions {
  readonly recipients: readonly string[];
  readonly now: Date;
}

/** The committed file: header, fingerprint, then the manifest encrypted with SOPS for the recipients. */
export async function encryptSecretFile(plaintext: string, options: EncryptSecretFileOptions): Promise<string> {
  const encrypted = await sopsEncrypt(plaintext, options);
  return [
    GENERATED_HEADER,
    `${FINGERPRINT_PREFIX}${plaintextFingerprint(plaintext)}`,
    '# Encrypted with SOPS for the age recipients below; Flux decrypts it (spec.decryption). Do not edit: rotate the token instead.',
    encrypted,
  ].join('\n');
}

/** Whether two recipient lists name the same keys, in any order. */
export function sameRecipients(a: readonly string[], b: readonly string[]): boolean {
  const left = [...new Set(a)].sort();
  const right = [...new Set(b)].sort();
  return left.length === right.length && left.every((value, index) => value === right[index]);
}

export interface EncryptedSecretRequest {
  /** Where the file lives, for messages. */
  readonly file: string;
  /** The file's current text, if it exists. */
  readonly existing?: string;
  /** The plaintext manifest, when the token is at hand. */
  readonly plaintext?: string;
  readonly recipients: readonly string[];
  /** The Secret the file must hold. */
  readonly name: string;
  readonly namespace: string;
  readonly now: Date;
}

export interface EncryptedSecretResult {
  readonly content: string;
  /** Why the file was (re)written, or undefined when the existing one was kept byte for byte. */
  readonly rewritten?: string;
}

/**
 * Decides the content of the encrypted Secret file: the existing bytes when nothing it encrypts
 * changed, a fresh encryption otherwise. Throws when the existing file is corrupt or foreign
 * (it is never overwritten then) or when it must change but no token is at hand.
 */
export async function planEncryptedSecret(request: EncryptedSecretRequest): Promise<EncryptedSecretResult> {
  let state: EncryptedSecretState | undefined;
  if (request.existing !== undefined) {
    try {
      state = readEncryptedSecret(request.existing);
    } catch (error) {
      throw new Error(`${request.file} cannot be used: ${(error as Error).message}. It is left as it is: restore it from git, or move it away and rotate the token`);
    }
  }
  const recipientsChanged = state !== undefined && !sameRecipients(state.recipients, request.recipients);
  const secretMoved = state !== undefined && (state.name !== request.name || state.namespace !== request.namespace);
  if (request.plaintext === undefined) {
    if (state === undefined) {
      throw new Error(`${request.file} does not exist yet and there is no webhook token here to encrypt: run synth where the token is, or rotate the token`);
    }
    if (recipientsChanged || secretMoved) {
      throw new Error(`${request.file} must be re-encrypted (${recipientsChanged ? 'its age recipients changed' : 'the Secret was renamed'}), which needs the webhook token: run synth where the token is, or rotate the token`);
    }
    return { content: request.existing! };
  }
  if (state !== undefined && !recipientsChanged && fingerprintMatches(state.fingerprint, request.plaintext)) {
    return { content: request.existing! };
  }
  const rewritten = state === undefined ? 'new' : recipientsChanged ? 'age recipients changed' : 'token or Secret changed';
  return { content: await encryptSecretFile(request.plaintext, { recipients: request.recipients, now: request.now }), rewritten };
}
