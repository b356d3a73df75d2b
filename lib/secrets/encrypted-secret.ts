// The committed, SOPS-encrypted webhook-token Secret: what a well-formed one looks like, how it is
// opened with a key, and when synth rewrites it. No file I/O: callers read and write the files.
//
// The committed file is the cluster's token: whoever holds one of its age keys reads the token
// from it. It changes only when the token is rotated or when its recipients or namespace change;
// otherwise synth keeps it byte for byte (SOPS output is random: data key, IVs, lastmodified). Nothing
// in it but the SOPS ciphertexts depends on the token, so nobody can test token guesses offline.
import { isMap, isScalar, isSeq, parseAllDocuments, Scalar, YAMLMap } from 'yaml';
import { AgeIdentity } from './age-identities';

import { ageEntriesProblem, KUBERNETES_ENCRYPTED_REGEX, sopsDecryptWithDataKey, sopsEncrypt, SopsOpened, sopsOpen } from './sops';
import { webhookTokenProblem } from '../fleet/webhook-token';
import { ageRecipientProblem } from '../fleet/age-recipients';
import { CLUSTER_ANNOTATION, GENERATED_HEADER, WATCH_LABEL } from '../layout';

const SOPS_KEYS = ['age', 'encrypted_regex', 'lastmodified', 'mac', 'version'];
const SECRET_KEYS = ['apiVersion', 'kind', 'metadata', 'stringData', 'type', 'sops'];
const ENC_STRING = /^ENC\[AES256_GCM,data:[A-Za-z0-9+/=]+,iv:[A-Za-z0-9+/=]{44},tag:[A-Za-z0-9+/=]{24},type:str\]$/;
const AGE_ARMOR = /^-----BEGIN AGE ENCRYPTED FILE-----\n[A-Za-z0-9+/=\n]+-----END AGE ENCRYPTED FILE-----\n?$/;
/** A comment older versions wrote: a salted hash of the plaintext, which let weak tokens be guessed offline. */
const LEGACY_FINGERPRINT = '# flux-infra plaintext fingerprint: ';

/** What can be read from a well-formed encrypted Secret file without its key. */
export interface EncryptedSecretState {
  readonly recipients: string[];
  readonly name: string;
  readonly namespace: string;
  /** The cluster its flux-infra.io/cluster annotation binds it to; undefined in files older versions wrote. */
  readonly cluster: string | undefined;
  /** Its Secret carries WATCH_LABEL (files older versions wrote do not). */
  readonly watched: boolean;
  /** The file still carries the old plaintext fingerprint comment. */
  readonly legacyFingerprint: boolean;
}

/** A committed file that is not what flux-infra writes, or that was edited. The message is one line. */
export class EncryptedSecretError extends Error {}

function scalarText(node: unknown): string | undefined {
  return isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
}

/**
 * Checks, without any key, that `text` is an encrypted Secret as flux-infra writes it: our header,
 * one YAML document holding a v1 Secret whose `stringData.token` is a SOPS value, and a `sops:`
 * block as sops 3.13 writes it (semver version, Flux's encrypted_regex, a quoted RFC 3339
 * `lastmodified`, an encrypted mac, valid age stanzas). Throws EncryptedSecretError saying what is wrong.
 */
export function inspectEncryptedSecret(text: string): EncryptedSecretState {
  const fail = (what: string): never => {
    throw new EncryptedSecretError(what);
  };
  if (!text.startsWith(`${GENERATED_HEADER}\n`)) fail('it was not written by flux-infra (no generated header)');
  const documents = parseAllDocuments(text, { schema: 'failsafe', uniqueKeys: true });
  if (!Array.isArray(documents) || documents.length !== 1) fail('it must hold exactly one YAML document');
  const [document] = documents as ReturnType<typeof parseAllDocuments> & unknown[];
  if (document.errors.length > 0) fail(`it is not valid YAML (${document.errors[0].message.split('\n')[0]})`);
  const root = document.contents;
  if (!isMap(root)) fail('it does not hold a Secret');
  const secret = root as YAMLMap;
  for (const pair of secret.items) {
    const key = scalarText(pair.key);
    if (key === undefined || !SECRET_KEYS.includes(key)) fail(`it has an unexpected top-level key "${String(key)}"`);
  }
  if (scalarText(secret.get('apiVersion', true)) !== 'v1' || scalarText(secret.get('kind', true)) !== 'Secret') fail('it does not hold a v1 Secret');
  const metadata = secret.get('metadata');
  const name = isMap(metadata) ? scalarText(metadata.get('name', true)) : undefined;
  const namespace = isMap(metadata) ? scalarText(metadata.get('namespace', true)) : undefined;
  if (name === undefined || namespace === undefined) fail('its Secret has no metadata.name or metadata.namespace');
  const annotations = isMap(metadata) ? metadata.get('annotations') : undefined;
  if (annotations !== undefined && !isMap(annotations)) fail('its metadata.annotations is not a mapping');
  const cluster = isMap(annotations) ? scalarText(annotations.get(CLUSTER_ANNOTATION, true)) : undefined;
  const labels = isMap(metadata) ? metadata.get('labels') : undefined;
  if (labels !== undefined && !isMap(labels)) fail('its metadata.labels is not a mapping');
  const watched = Object.entries(WATCH_LABEL).every(([key, value]) => isMap(labels) && scalarText(labels.get(key, true)) === value);
  const stringData = secret.get('stringData');
  if (!isMap(stringData) || stringData.items.length !== 1 || !ENC_STRING.test(scalarText(stringData.get('token', true)) ?? '')) {
    fail('its stringData must hold exactly the encrypted key token (ENC[AES256_GCM,...,type:str])');
  }

  const sops = secret.get('sops');
  if (!isMap(sops)) fail('it has no sops: block');
  const block = sops as YAMLMap;
  const keys = block.items.map((pair) => scalarText(pair.key));
  const unknown = keys.find((key) => key === undefined || !SOPS_KEYS.includes(key));
  if (unknown !== undefined || keys.length !== SOPS_KEYS.length) {
    fail(`its sops: block must have exactly ${SOPS_KEYS.join(', ')}${unknown === undefined ? '' : ` (found "${String(unknown)}")`}`);
  }
  if (!/^\d+\.\d+\.\d+$/.test(scalarText(block.get('version', true)) ?? '')) fail('its sops.version is not a semver version (sops --decrypt refuses it)');
  if (scalarText(block.get('encrypted_regex', true)) !== KUBERNETES_ENCRYPTED_REGEX) fail(`its sops.encrypted_regex is not ${KUBERNETES_ENCRYPTED_REGEX}`);
  const lastModified = block.get('lastmodified', true);
  if (!isScalar(lastModified) || lastModified.type !== Scalar.QUOTE_DOUBLE || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(String(lastModified.value))) {
    fail('its sops.lastmodified is not a quoted RFC 3339 time in seconds and UTC');
  }
  if (!ENC_STRING.test(scalarText(block.get('mac', true)) ?? '')) fail('its sops.mac is not an encrypted MAC');
  const age = block.get('age');
  if (!isSeq(age) || age.items.length === 0) fail('its sops.age lists no recipient');
  const recipients = (age as { items: unknown[] }).items.map((entry, index) => {
    const recipient = isMap(entry) ? scalarText(entry.get('recipient', true)) : undefined;
    const enc = isMap(entry) ? scalarText(entry.get('enc', true)) : undefined;
    if (!isMap(entry) || entry.items.length !== 2 || recipient === undefined || enc === undefined) fail(`its sops.age[${index}] must have exactly enc and recipient`);
    const problem = ageRecipientProblem(recipient!);
    if (problem) fail(`its sops.age[${index}].recipient: ${problem}`);
    if (!AGE_ARMOR.test(enc!)) fail(`its sops.age[${index}].enc is not an armored age file`);
    return recipient!;
  });
  const entries = (age as { items: YAMLMap[] }).items.map((entry) => ({ recipient: scalarText(entry.get('recipient', true))!, enc: scalarText(entry.get('enc', true))! }));
  const problem = ageEntriesProblem(entries);
  if (problem) fail(`its ${problem}`);
  return { recipients, name: name!, namespace: namespace!, cluster, watched, legacyFingerprint: text.includes(`\n${LEGACY_FINGERPRINT}`) };
}

/** The token a committed file holds, opened with one of `identities`; undefined when none of them is a recipient. */
export interface OpenedSecret {
  readonly token: string;
  /** The identity that opened it. */
  readonly identity: AgeIdentity;
}

/**
 * Opens a well-formed encrypted Secret with the identities at hand, checking every age stanza against
 * its recipient with each of them (lib/secrets/sops.ts sopsOpen) and the MAC as `sops --decrypt` does.
 * Returns undefined when no identity at hand opens any stanza; throws EncryptedSecretError when a
 * stanza does not match its recipient or the file does not open (edited).
 */
export async function openEncryptedSecret(text: string, identities: readonly AgeIdentity[]): Promise<OpenedSecret | undefined> {
  let opened: SopsOpened | undefined;
  try {
    opened = await sopsOpen(text, identities);
  } catch (error) {
    throw new EncryptedSecretError(`its age stanzas do not match their recipients: ${(error as Error).message.split('\n')[0]}`);
  }
  if (opened === undefined) return undefined;
  const identity = opened.identity as AgeIdentity;
  let secret: any;
  try {
    secret = sopsDecryptWithDataKey(text, opened.dataKey).documents[0];
  } catch (error) {
    throw new EncryptedSecretError(`it was edited after encryption: the key in ${identity.origin}, one of its recipients, does not open it (${(error as Error).message.split('\n')[0]})`);
  }
  const token = String(secret?.stringData?.token ?? '');
  const problem = webhookTokenProblem(token);
  if (problem) throw new EncryptedSecretError(`the token it holds ${problem}`);
  return { token, identity };
}

export interface EncryptSecretFileOptions {
  readonly recipients: readonly string[];
  readonly now: Date;
}

/** The committed file: header, a note, then the manifest encrypted with SOPS for the recipients. */
export async function encryptSecretFile(plaintext: string, options: EncryptSecretFileOptions): Promise<string> {
  const encrypted = await sopsEncrypt(plaintext, options);
  return [
    GENERATED_HEADER,
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

/** Why a committed file must be encrypted again for the fleet as it is now, or undefined when it may stay. */
export function reencryptionReason(state: EncryptedSecretState, recipients: readonly string[], namespace: string): string | undefined {
  if (!sameRecipients(state.recipients, recipients)) return 'its age recipients changed';
  if (state.namespace !== namespace) return `the Flux namespace changed from ${state.namespace} to ${namespace}`;
  return undefined;
}

export interface EncryptedSecretRequest {
  /** Where the file lives, for messages. */
  readonly file: string;
  readonly cluster: string;
  /** The committed file, checked, if there is one. */
  readonly committed?: { readonly text: string; readonly state: EncryptedSecretState };
  /** The plaintext manifest, when a token is at hand. */
  readonly plaintext?: string;
  /** The plaintext holds a new token (rotation): encrypt it whatever the committed file holds. */
  readonly rotated: boolean;
  /** The plaintext holds the committed token, read with a key. */
  readonly verified: boolean;
  readonly recipients: readonly string[];
  /** The namespace the Secret must be in. */
  readonly namespace: string;
  /** The cluster's own age key file, for messages. */
  readonly keyFile: string;
  /** What to do when no token is here (lib/secrets/cluster-token.ts's missingTokenFix); made only for the message. */
  readonly missingTokenFix: () => string;
  readonly now: Date;
}

export interface EncryptedSecretResult {
  readonly content: string;
  /** Why the file was (re)written, or undefined when the committed one was kept byte for byte. */
  readonly rewritten?: string;
  /** Something the user should know, when the file was kept. */
  readonly note?: string;
}

/**
 * Decides the content of the committed encrypted Secret. The committed file is kept byte for byte
 * unless a rotation gives a new token, or its recipients or namespace changed; re-encrypting it
 * then needs the committed token read with a key (a local, unverified token might be stale and
 * would undo a rotation made elsewhere). A cluster without a committed file gets the local token.
 */
export async function planEncryptedSecret(request: EncryptedSecretRequest): Promise<EncryptedSecretResult> {
  const encrypt = async (rewritten: string) => ({
    content: await encryptSecretFile(request.plaintext!, { recipients: request.recipients, now: request.now }),
    rewritten,
  });
  const { committed } = request;
  if (request.rotated && request.plaintext !== undefined) return encrypt('token rotated');
  if (committed === undefined) {
    if (request.plaintext === undefined) {
      throw new Error(`${request.file} does not exist yet and there is no webhook token here to encrypt: ${request.missingTokenFix()}`);
    }
    return encrypt('new');
  }
  const reason = reencryptionReason(committed.state, request.recipients, request.namespace);
  const canReencrypt = request.verified && request.plaintext !== undefined;
  if (reason !== undefined) {
    if (!canReencrypt) {
      throw new Error(`${request.file} must be re-encrypted (${reason}), which needs a key that opens it now (${request.keyFile}, SOPS_AGE_KEY_FILE or SOPS_AGE_KEY), or a new token: npm run secrets -- rotate-token ${request.cluster}`);
    }
    return encrypt(reason);
  }
  if (committed.state.cluster === undefined) {
    // Only `secrets -- bind` gets here (readCommittedSecret refuses an unbound file otherwise).
    if (!canReencrypt) {
      throw new Error(`${request.file} is bound to no cluster, and binding it needs a key that opens it now (${request.keyFile}, SOPS_AGE_KEY_FILE or SOPS_AGE_KEY), or a new token: npm run secrets -- rotate-token ${request.cluster}`);
    }
    return encrypt(`bound to cluster ${request.cluster}`);
  }
  if (!committed.state.watched) {
    if (canReencrypt) return encrypt('added the reconcile.fluxcd.io/watch label, so that a new token reaches the Receiver at once');
    return {
      content: committed.text,
      note: `${request.file} lacks the reconcile.fluxcd.io/watch label older versions left out, so a new token reaches the Receiver only at its interval (10 minutes): run npm run synth where its age key is, or rotate the token`,
    };
  }
  if (committed.state.legacyFingerprint) {
    if (canReencrypt) return encrypt('dropped the plaintext fingerprint older versions wrote');
    return {
      content: committed.text,
      note: `${request.file} still carries the plaintext fingerprint older versions wrote, which lets weak tokens be guessed offline: run npm run synth where its age key is, or rotate the token`,
    };
  }
  return { content: committed.text };
}
