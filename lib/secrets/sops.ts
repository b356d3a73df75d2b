// SOPS with age keys, for Kubernetes manifests: the file format sops 3.13 writes and reads, so
// that `sops --decrypt` (MAC checked) and Flux's kustomize-controller both accept our output.
// No file I/O: text in, text out. Randomness comes from the OS CSPRNG (data key, IVs, age).
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { Document, isAlias, isMap, isScalar, isSeq, parseAllDocuments, parseDocument, Scalar, visit, YAMLMap } from 'yaml';
import { goYamlValue, GoYamlType } from './go-yaml-scalar';
import { ageRecipientProblem } from '../fleet/age-recipients';

/** age, loaded by the first encryption or decryption: a synth that needs neither never pays for it. */
function loadAge(): Promise<typeof import('age-encryption')> {
  return import('age-encryption');
}

/** The sops release whose format we write (`version` must be semver for `sops --decrypt`). */
export const SOPS_VERSION = '3.13.2';
/** Flux's convention: only Secret payloads are encrypted; apiVersion, kind, metadata stay readable. */
export const KUBERNETES_ENCRYPTED_REGEX = '^(data|stringData)$';

const ENC_VALUE = /^ENC\[AES256_GCM,data:(.*),iv:(.+),tag:(.+),type:(.+)\]$/;
const YAML_OPTIONS = { schema: 'failsafe', uniqueKeys: true } as const;
const STRINGIFY_OPTIONS = { indent: 4, lineWidth: 0 } as const;

export interface SopsEncryptOptions {
  /** age recipients (`age1...`); each gets its own copy of the data key. */
  readonly recipients: readonly string[];
  /** The `lastmodified` time: handed in, as the library reads no clock. */
  readonly now: Date;
  /** @default KUBERNETES_ENCRYPTED_REGEX */
  readonly encryptedRegex?: string;
}

/** The readable part of a sops file's metadata: who can decrypt it, and when it was written. */
export interface SopsMetadata {
  readonly recipients: string[];
  readonly lastModified: string;
  readonly encryptedRegex: string | undefined;
  readonly version: string;
}

/** `a:b:c:`, the additional data sops binds a value to: the mapping keys from the root. */
function aadOf(path: readonly string[]): string {
  return `${path.join(':')}:`;
}

function gcmEncrypt(plaintext: string, key: Buffer, aad: string, type: GoYamlType): string {
  const iv = randomBytes(32);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${cipher.getAuthTag().toString('base64')},type:${type}]`;
}

function gcmDecrypt(value: string, key: Buffer, aad: string, where: string): { bytes: string; type: string } {
  const match = ENC_VALUE.exec(value);
  if (!match) throw new Error(`${where}: "${value.slice(0, 40)}" is not a sops ENC[...] value`);
  const [, data, iv, tag, type] = match;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    const bytes = Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
    return { bytes, type };
  } catch {
    throw new Error(`${where}: cannot decrypt (wrong data key, or the value was moved or edited)`);
  }
}

/** A leaf the MAC covers, in document order. */
interface Leaf {
  readonly path: string[];
  readonly scalar: Scalar;
  readonly encrypted: boolean;
}

/**
 * Visits every non-null scalar below `node` depth-first, in file order, as sops walks a tree.
 * Keys must be strings (sops aborts otherwise); list indices are not part of the path.
 */
function leavesOf(node: unknown, path: string[], encryptedRegex: RegExp, skipTopLevel: string | undefined, out: Leaf[]): Leaf[] {
  if (isAlias(node)) {
    throw new Error(`${path.join('.') || '(document)'}: YAML aliases are not supported: write the value out`);
  }
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isScalar(pair.key) || goYamlValue(pair.key)?.type !== 'str') {
        throw new Error(`${[...path, String((pair.key as Scalar)?.value)].join('.')}: sops needs every key to be a string: quote it`);
      }
      const key = String(pair.key.value);
      if (path.length === 0 && key === skipTopLevel) continue;
      leavesOf(pair.value, [...path, key], encryptedRegex, skipTopLevel, out);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) leavesOf(item, path, encryptedRegex, skipTopLevel, out);
  } else if (isScalar(node) && goYamlValue(node) !== undefined) {
    out.push({ path, scalar: node, encrypted: path.some((key) => encryptedRegex.test(key)) });
  }
  return out;
}

function parseDocuments(text: string): Document.Parsed[] {
  const documents = parseAllDocuments(text, YAML_OPTIONS);
  if (!Array.isArray(documents)) return [];
  for (const document of documents) {
    if (document.errors.length > 0) throw new Error(`not valid YAML: ${document.errors[0].message.split('\n')[0]}`);
  }
  return documents.filter((document) => document.contents !== null);
}

/**
 * Encrypts every value under keys matching the regex (`data`, `stringData`) of every document,
 * with one data key and one MAC over all documents, and appends the same `sops:` block to each.
 * Comments are dropped. The result decrypts with `sops --decrypt` given one of the recipients' keys.
 */
export async function sopsEncrypt(text: string, options: SopsEncryptOptions): Promise<string> {
  if (options.recipients.length === 0) throw new Error('sops needs at least one age recipient');
  for (const recipient of options.recipients) {
    const problem = ageRecipientProblem(recipient);
    if (problem) throw new Error(problem);
  }
  const encryptedRegex = options.encryptedRegex ?? KUBERNETES_ENCRYPTED_REGEX;
  const matcher = new RegExp(encryptedRegex);
  const documents = parseDocuments(text);
  if (documents.length === 0) throw new Error('nothing to encrypt: the input has no YAML document');

  const dataKey = randomBytes(32);
  const mac = createHash('sha512');
  for (const document of documents) {
    if (!isMap(document.contents)) throw new Error('every document must be a mapping (a Kubernetes object)');
    if (document.contents.has('sops')) throw new Error('the input already has a sops: key: it is encrypted already');
    document.commentBefore = null;
    document.comment = null;
    visit(document, (_key, node) => {
      if (isScalar(node) || isMap(node) || isSeq(node)) {
        node.commentBefore = undefined;
        node.comment = undefined;
      }
    });
    for (const leaf of leavesOf(document.contents, [], matcher, undefined, [])) {
      const value = goYamlValue(leaf.scalar)!;
      mac.update(value.bytes, 'utf8');
      if (leaf.encrypted && value.bytes !== '') {
        leaf.scalar.value = gcmEncrypt(value.bytes, dataKey, aadOf(leaf.path), value.type);
        leaf.scalar.type = Scalar.PLAIN;
      }
    }
  }
  const lastModified = options.now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const encryptedMac = gcmEncrypt(mac.digest('hex').toUpperCase(), dataKey, lastModified, 'str');

  const { armor, Encrypter } = await loadAge();
  const ageEntries: { enc: string; recipient: string }[] = [];
  for (const recipient of options.recipients) {
    const encrypter = new Encrypter();
    encrypter.addRecipient(recipient);
    ageEntries.push({ enc: armor.encode(await encrypter.encrypt(dataKey)), recipient });
  }
  return documents.map((document, index) => {
    // Keys in the order sops 3.13 writes them (alphabetical); lastmodified quoted, mac plain.
    const metadata = document.createNode({
      age: ageEntries,
      encrypted_regex: encryptedRegex,
      lastmodified: lastModified,
      mac: encryptedMac,
      version: SOPS_VERSION,
    }) as YAMLMap;
    for (const entry of (metadata.get('age') as any).items) {
      (entry.get('enc', true) as Scalar).type = Scalar.BLOCK_LITERAL;
    }
    (metadata.get('lastmodified', true) as Scalar).type = Scalar.QUOTE_DOUBLE;
    (document.contents as YAMLMap).set('sops', metadata);
    const rendered = document.toString(STRINGIFY_OPTIONS);
    // Documents after the first carry their own `---` when the input had one.
    return index === 0 || rendered.startsWith('---') ? rendered : `---\n${rendered}`;
  }).join('');
}

/** The metadata of a sops file, read without any key. Throws when the file is not one. */
export function readSopsMetadata(text: string): SopsMetadata {
  return readSopsBlock(text).metadata;
}

/** The sops: block's metadata and each `sops.age` entry (its labelled recipient and armored stanza), from one parse. */
function readSopsBlock(text: string): { metadata: SopsMetadata; age: { recipient: string; enc: string }[] } {
  const documents = parseDocuments(text);
  const metadata = documents[0]?.contents && isMap(documents[0].contents) ? documents[0].contents.get('sops') : undefined;
  if (!isMap(metadata)) throw new Error('not a sops file: there is no sops: block');
  const field = (name: string) => {
    const value = metadata.get(name);
    return value === undefined || value === null ? undefined : String(value);
  };
  const entries = metadata.get('age');
  const age = (isSeq(entries) ? entries.items : []).map((entry) => ({
    recipient: String(isMap(entry) ? entry.get('recipient') : ''),
    enc: String(isMap(entry) ? entry.get('enc') : ''),
  }));
  const lastModified = field('lastmodified');
  const mac = field('mac');
  if (!lastModified || !mac || !mac.startsWith('ENC[')) throw new Error('not a sops file: its sops: block has no lastmodified or mac');
  return { metadata: { recipients: age.map((entry) => entry.recipient), lastModified, encryptedRegex: field('encrypted_regex'), version: field('version') ?? '' }, age };
}

export interface SopsDecrypted {
  /** Each document as plain data, without its sops: block. */
  readonly documents: any[];
}

/** An age identity at hand: its key, its public key, and where it was found (for messages). */
export interface SopsIdentity {
  readonly identity: string;
  readonly recipient: string;
  readonly origin: string;
}

/** The age stanza type each kind of recipient gets (age-encryption.org/v1 and its hybrid extension). */
function stanzaTypeFor(recipient: string): string {
  return recipient.startsWith('age1pq1') ? 'mlkem768x25519' : 'X25519';
}

/**
 * What is wrong with a sops file's `age:` entries that shows without any key, or undefined: every
 * recipient listed once, every `enc` its own, and each an age file with exactly one stanza of its
 * recipient's type, as sops writes them (one age file per recipient). The header is read from the
 * armor with base64 alone, so this check needs no age library.
 */
export function ageEntriesProblem(entries: readonly { readonly recipient: string; readonly enc: string }[]): string | undefined {
  for (const [index, { recipient, enc }] of entries.entries()) {
    const earlier = entries.findIndex((entry) => entry.recipient === recipient);
    if (earlier !== index) return `sops.age[${index}] names ${recipient} again (as sops.age[${earlier}]): every recipient has exactly one stanza`;
    const copied = entries.findIndex((entry) => entry.enc.replace(/\s+/g, '') === enc.replace(/\s+/g, ''));
    if (copied !== index) return `sops.age[${index}].enc is a copy of sops.age[${copied}].enc: every recipient has its own stanza`;
    const body = enc.replace(/-----(BEGIN|END) AGE ENCRYPTED FILE-----/g, '').replace(/\s+/g, '');
    const lines = Buffer.from(body, 'base64').toString('latin1').split('\n');
    // The header ends at the line starting with "---"; the binary payload after it may hold any bytes.
    const end = lines.findIndex((line) => line.startsWith('---'));
    const stanzas = lines.slice(1, end < 0 ? 0 : end).filter((line) => line.startsWith('-> ')).map((line) => line.split(' ')[1]);
    if (lines[0] !== 'age-encryption.org/v1' || end < 0) return `sops.age[${index}].enc is not an age v1 file`;
    if (stanzas.length !== 1 || stanzas[0] !== stanzaTypeFor(recipient)) {
      return `sops.age[${index}].enc must hold exactly one ${stanzaTypeFor(recipient)} stanza for ${recipient}, but holds ${stanzas.length === 0 ? 'none' : stanzas.join(', ')}`;
    }
  }
  return undefined;
}

/** The data key a sops file opens to, and the identity whose own stanza opened it. */
export interface SopsOpened {
  readonly dataKey: Buffer;
  readonly identity: SopsIdentity;
}

/**
 * Tries every identity at hand on every age stanza, and checks each against the recipient it is
 * labelled with: a stanza must open with its own recipient's identity, must not open with any other
 * identity (a swapped or copied label), and every stanza that opens gives the same data key.
 * Undefined when no identity at hand opens any stanza. What no identity at hand can open cannot be
 * checked: an age stanza names no recipient, so only its recipient's identity tells whose it is.
 */
export async function sopsOpen(text: string, identities: readonly SopsIdentity[]): Promise<SopsOpened | undefined> {
  const entries = readSopsBlock(text).age;
  const problem = ageEntriesProblem(entries);
  if (problem) throw new Error(problem);
  const { armor, Decrypter } = await loadAge();
  let opened: SopsOpened | undefined;
  for (const [index, { recipient, enc }] of entries.entries()) {
    for (const identity of identities) {
      const decrypter = new Decrypter();
      decrypter.addIdentity(identity.identity);
      let dataKey: Buffer | undefined;
      try {
        dataKey = Buffer.from(await decrypter.decrypt(armor.decode(enc)));
      } catch (error) {
        // typage says exactly this when the identity unwraps no stanza; anything else is a damaged file.
        if ((error as Error).message !== 'no identity matched any of the file\'s recipients') {
          throw new Error(`sops.age[${index}] (${recipient}) is damaged: ${(error as Error).message.split('\n')[0]}`);
        }
      }
      if (dataKey === undefined) {
        if (identity.recipient === recipient) {
          throw new Error(`sops.age[${index}] is labelled ${recipient}, but that recipient's key (${identity.origin}) does not open it: the stanza was replaced or edited`);
        }
        continue;
      }
      if (identity.recipient !== recipient) {
        throw new Error(`sops.age[${index}] is labelled ${recipient}, but it opens with the key in ${identity.origin} (${identity.recipient}): its label was swapped or the stanza copied`);
      }
      if (dataKey.length !== 32) throw new Error(`sops.age[${index}] holds no 32-byte data key: not a sops file`);
      if (opened !== undefined && !opened.dataKey.equals(dataKey)) {
        throw new Error(`sops.age[${index}] (${recipient}) opens to another data key than the stanza of ${opened.identity.recipient}: a stanza was replaced`);
      }
      opened ??= { dataKey, identity };
    }
  }
  return opened;
}

/**
 * Decrypts a sops file as `sops --decrypt` does, MAC included, and more strictly: every stanza is
 * checked with every identity given (see sopsOpen), then every ENC value is decrypted with its key
 * path and the MAC checked over all documents. Each identity, a bare key, gets its public key
 * here. Throws on any mismatch.
 */
export async function sopsDecrypt(text: string, identities: readonly string[]): Promise<SopsDecrypted> {
  const metadata = readSopsMetadata(text);
  const { identityToRecipient } = await loadAge();
  const given = await Promise.all(identities.map(async (identity, index) => ({ identity, recipient: await identityToRecipient(identity), origin: `identity #${index + 1}` })));
  const opened = await sopsOpen(text, given);
  if (opened === undefined) throw new Error(`no given age identity can decrypt the data key (recipients: ${metadata.recipients.join(', ')})`);
  return sopsDecryptWithDataKey(text, opened.dataKey);
}

/** Decrypts every ENC value of a sops file with its data key and checks the MAC; throws on any mismatch. */
export function sopsDecryptWithDataKey(text: string, dataKey: Buffer): SopsDecrypted {
  const metadata = readSopsMetadata(text);
  const documents = parseDocuments(text);
  const sops = (documents[0].contents as YAMLMap).get('sops') as YAMLMap;
  if (!metadata.encryptedRegex) throw new Error('only files written with encrypted_regex are supported');
  const matcher = new RegExp(metadata.encryptedRegex);

  const mac = createHash('sha512');
  const plain = documents.map((document) => {
    for (const leaf of leavesOf(document.contents, [], matcher, 'sops', [])) {
      const raw = String(leaf.scalar.value);
      if (leaf.encrypted && raw !== '') {
        const { bytes, type } = gcmDecrypt(raw, dataKey, aadOf(leaf.path), leaf.path.join('.'));
        mac.update(bytes, 'utf8');
        leaf.scalar.value = bytes;
        leaf.scalar.type = type === 'str' ? Scalar.QUOTE_DOUBLE : Scalar.PLAIN;
      } else {
        mac.update(goYamlValue(leaf.scalar)!.bytes, 'utf8');
      }
    }
    const copy = parseDocument(document.toString(STRINGIFY_OPTIONS)).toJS();
    delete copy.sops;
    return copy;
  });
  const stored = gcmDecrypt(String(sops.get('mac')), dataKey, metadata.lastModified, 'sops.mac').bytes;
  const computed = mac.digest('hex').toUpperCase();
  // Never print either digest: a MAC of the plaintext lets anyone test guesses of a weak token offline.
  if (stored !== computed) throw new Error('MAC mismatch: a value, a key or the metadata was edited after encryption');
  return { documents: plain };
}

/** The MAC sops computes over plaintext YAML: SHA-512 of every non-null leaf, upper-case hex. */
export function sopsMac(text: string): string {
  const mac = createHash('sha512');
  for (const document of parseDocuments(text)) {
    for (const leaf of leavesOf(document.contents, [], /$^/, 'sops', [])) mac.update(goYamlValue(leaf.scalar)!.bytes, 'utf8');
  }
  return mac.digest('hex').toUpperCase();
}
