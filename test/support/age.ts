import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';

export interface AgeKey {
  readonly file: string;
  readonly identity: string;
  readonly recipient: string;
}

/** A new key pair from the age library, its key file (age-keygen's format) written into `folder`, or a new temporary one. */
export async function ageKeygen(folder = mkdtempSync(join(tmpdir(), 'age-'))): Promise<AgeKey> {
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `${recipient.slice(4, 12)}.agekey`);
  writeFileSync(file, `# public key: ${recipient}\n${identity}\n`, { mode: 0o600 });
  return { file, identity, recipient };
}

/** The data key of a sops `enc` armor, decrypted by the real age CLI (an independent implementation). */
export function ageDecrypt(armored: string, key: AgeKey): Buffer {
  return execFileSync('age', ['--decrypt', '-i', key.file], { input: armored });
}
