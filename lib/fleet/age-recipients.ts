// Which age public keys the fleet may encrypt for. Value rule, no I/O.
// Checked with @scure/base's bech32, as age-encryption parses them, so that parsing the fleet file
// does not load age and its ciphers (a tenth of a second) when nothing is encrypted.
import { bech32 } from '@scure/base';

/** The payload length of an X25519 recipient (a Curve25519 point) and of a hybrid one (ML-KEM-768 key and X25519 point). */
const X25519_BYTES = 32;
const HYBRID_BYTES = 1216;

/** Whether `recipient` decodes as age's parser decodes it: bech32, its checksum, its prefix and its length. */
function decodesAsAgeRecipient(recipient: string): boolean {
  try {
    if (recipient.startsWith('age1pq1')) {
      // Longer than bech32's 90 characters: age lifts the limit for hybrid keys.
      const { prefix, words } = bech32.decode(recipient as `${string}1${string}`, false);
      return prefix.toLowerCase() === 'age1pq' && bech32.fromWords(words).length === HYBRID_BYTES;
    }
    const { prefix, bytes } = bech32.decodeToBytes(recipient);
    return prefix.toLowerCase() === 'age' && bytes.length === X25519_BYTES;
  } catch {
    return false;
  }
}

/** Why `recipient` cannot be used, or undefined when it is an age X25519 or hybrid recipient. */
export function ageRecipientProblem(recipient: string): string | undefined {
  if (/^AGE-SECRET-KEY-/i.test(recipient.trim())) {
    // Never quoted: the message lands in CI logs.
    return 'an age secret key (AGE-SECRET-KEY-..., not shown) is not a recipient: put its public key (age1..., age-keygen -y prints it) here, keep the secret key out of the fleet file, and make a new key if this one was committed or pushed';
  }
  if (!/^age1/.test(recipient)) {
    return `"${recipient}" is not an age recipient: it must start with age1 (the public key age-keygen prints, not the AGE-SECRET-KEY)`;
  }
  if (/^age1tag/.test(recipient)) {
    return `"${recipient}" is a hardware-tag recipient, which sops cannot use: use an X25519 (age1...) or hybrid (age1pq1...) key`;
  }
  return decodesAsAgeRecipient(recipient)
    ? undefined
    : `"${recipient}" is not a valid age recipient (bad checksum or length): copy it again from age-keygen's "public key" line`;
}
