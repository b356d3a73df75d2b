// Which age public keys the fleet may encrypt for. Value rule, no I/O.
import { Encrypter } from 'age-encryption';

/** Why `recipient` cannot be used, or undefined when it is an age X25519 or hybrid recipient. */
export function ageRecipientProblem(recipient: string): string | undefined {
  if (!/^age1/.test(recipient)) {
    return `"${recipient}" is not an age recipient: it must start with age1 (the public key age-keygen prints, not the AGE-SECRET-KEY)`;
  }
  if (/^age1tag/.test(recipient)) {
    return `"${recipient}" is a hardware-tag recipient, which sops cannot use: use an X25519 (age1...) or hybrid (age1pq1...) key`;
  }
  try {
    new Encrypter().addRecipient(recipient);
    return undefined;
  } catch {
    return `"${recipient}" is not a valid age recipient (bad checksum or length): copy it again from age-keygen's "public key" line`;
  }
}
